"""The WeChat Pay gateway through the real wechatpayv3 client, over HTTP, against the stub."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from wechatpayv3.utils import build_authorization

from shop.errors import AppError
from shop.wechat.errors import WeChatPayError
from shop.wechat.pay import WeChatPayAPIError
from tests.conftest import (
    MINIPROGRAM,
    OFFICIAL_ACCOUNT,
    WECHATPAY_CERT_SERIAL,
    WECHATPAY_MCHID,
    WECHATPAY_NOTIFY_URL,
    wechatpay_keys,
)

from .helpers import in_15_minutes, new_trade_no, other_key, pem, public_pem, wait_for

JSAPI = "v3/pay/transactions/jsapi"


def merchant_public_key():
    return serialization.load_pem_public_key(wechatpay_keys().merchant_public_key.encode())


def failure(call, *args, **kwargs) -> AppError:
    with pytest.raises(AppError) as caught:
        call(*args, **kwargs)
    return caught.value


# -- prepay and the request signature -------------------------------------------------------


def test_prepay_sends_the_order_in_fen_and_returns_the_prepay_id(pay, stub, openid):
    number = new_trade_no()
    expires = datetime(2100, 1, 1, 4, 0, tzinfo=UTC)

    prepay_id = pay.prepay_jsapi(number, "Ripple latte", 1800, openid, expires, attach="order:7")

    assert re.fullmatch(r"wx\w{30,}", prepay_id)
    [sent] = stub.received_on(JSAPI)
    assert sent["json"] == {
        "notify_url": WECHATPAY_NOTIFY_URL, "description": "Ripple latte", "out_trade_no": number,
        "amount": {"total": 1800, "currency": "CNY"}, "payer": {"openid": openid},
        "time_expire": "2100-01-01T12:00:00+08:00", "attach": "order:7",
        "appid": MINIPROGRAM[0], "mchid": WECHATPAY_MCHID}
    assert stub.pay.transaction(number).prepay_id == prepay_id


def test_a_naive_time_expire_is_taken_as_utc(pay, stub, openid):
    # SQLite gives our UTC columns back without their zone.
    number = new_trade_no()
    pay.prepay_jsapi(number, "Ripple latte", 1800, openid, datetime(2100, 1, 1, 4, 0))
    assert stub.received_on(JSAPI)[0]["json"]["time_expire"] == "2100-01-01T12:00:00+08:00"


def test_a_request_signed_with_another_merchant_key_is_refused(make_gateway, stub, openid):
    impostor = make_gateway(WECHATPAY_PRIVATE_KEY=pem(other_key()))
    number = new_trade_no()

    error = failure(impostor.prepay_jsapi, number, "Ripple latte", 1800, openid, in_15_minutes())

    assert isinstance(error, WeChatPayAPIError)
    assert (error.code, error.status) == (WeChatPayError.FAILED, 502)
    assert (error.wechat_code, error.http_status) == ("SIGN_ERROR", 401)
    assert "SIGN_ERROR" in error.message
    with pytest.raises(Exception, match="ORDER_NOT_EXIST"):
        stub.pay.transaction(number)


def _signed_request(stub, path: str, body: str, *, sign_body: str | None = None, timestamp: int | None = None):
    """POST `body` to the stub with an Authorization over `sign_body` (default: the same body)."""
    private_key = serialization.load_pem_private_key(wechatpay_keys().merchant_private_key.encode(), None)
    if timestamp is None:
        authorization = build_authorization(path, "POST", WECHATPAY_MCHID, WECHATPAY_CERT_SERIAL, private_key,
                                            data=sign_body if sign_body is not None else body)
    else:
        nonce = "N" * 32
        message = f"POST\n{path}\n{timestamp}\n{nonce}\n{body}\n".encode()
        signature = base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        authorization = (f'WECHATPAY2-SHA256-RSA2048 mchid="{WECHATPAY_MCHID}",nonce_str="{nonce}",'
                         f'signature="{signature}",timestamp="{timestamp}",serial_no="{WECHATPAY_CERT_SERIAL}"')
    return requests.post(stub.url.rstrip("/") + path, data=body.encode(), timeout=5,
                         headers={"Authorization": authorization, "Content-Type": "application/json"})


def test_the_stub_checks_the_signature_covers_this_body_and_is_fresh(stub, openid):
    path = "/v3/pay/transactions/jsapi"
    body = json.dumps({"appid": MINIPROGRAM[0], "mchid": WECHATPAY_MCHID, "description": "Ripple latte",
                       "out_trade_no": new_trade_no(), "notify_url": WECHATPAY_NOTIFY_URL,
                       "amount": {"total": 1800}, "payer": {"openid": openid}})
    cheaper = body.replace('"total": 1800', '"total": 1')

    assert _signed_request(stub, path, body).status_code == 200  # the control: a genuine request passes
    tampered = _signed_request(stub, path, cheaper, sign_body=body)
    stale = _signed_request(stub, path, body.replace("Ripple", "Stale"), timestamp=int(time.time()) - 330)
    unsigned = requests.post(stub.url.rstrip("/") + path, data=body, timeout=5)

    for answer in (tampered, stale, unsigned):
        assert answer.status_code == 401
        assert answer.json()["code"] == "SIGN_ERROR"


def test_the_answers_signature_is_checked_with_the_wechat_pay_public_key(make_gateway, openid):
    # Configured with a public key WeChat Pay did not sign with: every answer is suspect.
    wrong = make_gateway(WECHATPAY_PUBLIC_KEY=public_pem(other_key()))
    error = failure(wrong.prepay_jsapi, new_trade_no(), "Ripple latte", 1800, openid, in_15_minutes())
    assert (error.code, error.status) == (WeChatPayError.FAILED, 502)
    assert "did not verify" in error.message


def test_the_same_prepay_again_gives_the_same_prepay_id_and_a_changed_one_is_refused(pay, openid):
    number = new_trade_no()
    first = pay.prepay_jsapi(number, "Ripple latte", 1800, openid, in_15_minutes())
    assert pay.prepay_jsapi(number, "Ripple latte", 1800, openid, in_15_minutes()) == first

    error = failure(pay.prepay_jsapi, number, "Ripple latte", 900, openid, in_15_minutes())
    assert (error.code, error.wechat_code) == (WeChatPayError.FAILED, "INVALID_REQUEST")


@pytest.mark.parametrize("number, amount, description", [
    ("T" * 33, 1800, "Ripple latte"),           # WeChat Pay's limit is 32 characters
    ("T123", 1800, "Ripple latte"),             # and 6 at least
    ("T12345/../close", 1800, "Ripple latte"),  # it goes into URL paths: nothing outside its alphabet
    ("T123456", 18.0, "Ripple latte"),          # money is integer fen
    ("T123456", True, "Ripple latte"),
    ("T123456", 0, "Ripple latte"),
    ("T123456", 1800, "x" * 128),               # WeChat Pay's description limit is 127
])
def test_a_prepay_wechat_pay_would_refuse_never_leaves(pay, stub, openid, number, amount, description):
    with pytest.raises(ValueError):
        pay.prepay_jsapi(number, description, amount, openid, in_15_minutes())
    assert stub.received == []


def test_a_bad_out_trade_no_or_amount_never_reaches_a_url_or_wechat_pay(pay, stub):
    for call in (lambda: pay.query_by_out_trade_no("T1234/../../refund"), lambda: pay.close("T1234?mchid=1"),
                 lambda: pay.refund("T123456", "T123456-R1", 1900, 1800, None),
                 lambda: pay.refund("T123456", "T123456 R1", 100, 1800, None),
                 lambda: pay.query_refund("R1/../x")):
        with pytest.raises(ValueError):
            call()
    assert stub.received == []


# -- wx.requestPayment --------------------------------------------------------------------------


def test_the_payment_params_are_signed_with_the_merchant_key(pay, prepaid):
    _, prepay_id = prepaid()
    params = pay.request_payment_params(prepay_id)

    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == MINIPROGRAM[0]
    assert params["package"] == f"prepay_id={prepay_id}"
    assert params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - time.time()) < 5
    message = "\n".join([params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]) + "\n"
    merchant_public_key().verify(base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(),
                                 hashes.SHA256())
    with pytest.raises(InvalidSignature):  # it signs this prepay_id, not any
        merchant_public_key().verify(base64.b64decode(params["paySign"]), message.replace("wx", "wy").encode(),
                                     padding.PKCS1v15(), hashes.SHA256())
    assert pay.request_payment_params(prepay_id)["nonceStr"] != params["nonceStr"]


# -- query and close ---------------------------------------------------------------------------


def test_query_before_and_after_the_shopper_pays(pay, prepaid, control, openid):
    number, prepay_id = prepaid()

    before = pay.query_by_out_trade_no(number)
    assert before["trade_state"] == "NOTPAY"
    assert "transaction_id" not in before and "success_time" not in before

    assert control("POST", f"{prepay_id}/confirm", json={"deliver": "never"}).status_code == 200
    after = pay.query_by_out_trade_no(number)

    assert after["trade_state"] == "SUCCESS"
    assert re.fullmatch(r"42\d{26}", after["transaction_id"])
    assert after["amount"]["total"] == after["amount"]["payer_total"] == 1800
    assert after["payer"] == {"openid": openid}
    assert (after["mchid"], after["appid"], after["out_trade_no"]) == (WECHATPAY_MCHID, MINIPROGRAM[0], number)
    assert datetime.fromisoformat(after["success_time"]) > datetime.now(UTC) - timedelta(minutes=1)


def test_query_of_a_transaction_wechat_pay_never_saw_is_none(pay):
    assert pay.query_by_out_trade_no(new_trade_no()) is None


def test_a_failed_payment_leaves_the_transaction_payable(pay, prepaid, control):
    number, prepay_id = prepaid()
    failed = control("POST", f"{prepay_id}/fail", json={"state": "PAYERROR"})
    assert failed.status_code == 200
    assert pay.query_by_out_trade_no(number)["trade_state"] == "PAYERROR"
    assert control("GET", "notifies", params={"out_trade_no": number}).json()["notifies"] == []
    assert control("POST", f"{prepay_id}/confirm", json={"deliver": "never"}).status_code == 200
    assert pay.query_by_out_trade_no(number)["trade_state"] == "SUCCESS"


def test_close_makes_the_transaction_unpayable(pay, prepaid, control, openid):
    number, prepay_id = prepaid()

    pay.close(number)

    assert pay.query_by_out_trade_no(number)["trade_state"] == "CLOSED"
    refused = control("POST", f"{prepay_id}/confirm")
    assert refused.status_code == 409 and refused.json()["code"] == "ORDER_CLOSED"
    pay.close(number)  # closing again is fine
    pay.close(new_trade_no())  # and closing what WeChat Pay never saw
    error = failure(pay.prepay_jsapi, number, "Ripple latte", 1800, openid, in_15_minutes())
    assert error.code == WeChatPayError.ORDER_CLOSED and error.status == 409


def test_closing_or_prepaying_a_paid_transaction_says_it_is_paid(pay, prepaid, control, openid):
    number, prepay_id = prepaid()
    control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})

    for call in (lambda: pay.close(number),
                 lambda: pay.prepay_jsapi(number, "Ripple latte", 1800, openid, in_15_minutes())):
        error = failure(call)
        assert (error.code, error.status, error.wechat_code) == (WeChatPayError.ORDER_PAID, 409, "ORDERPAID")
    assert pay.query_by_out_trade_no(number)["trade_state"] == "SUCCESS"


# -- refunds -----------------------------------------------------------------------------------


def test_a_refund_succeeds_is_queryable_and_notified(pay, prepaid, control):
    number, prepay_id = prepaid()
    control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})

    refund = pay.refund(number, f"{number}-R1", 800, 1800, "one latte spilt")

    assert refund["status"] == "SUCCESS"
    assert (refund["out_trade_no"], refund["out_refund_no"]) == (number, f"{number}-R1")
    assert (refund["amount"]["refund"], refund["amount"]["total"]) == (800, 1800)
    assert pay.query_refund(f"{number}-R1")["refund_id"] == refund["refund_id"]
    assert pay.query_by_out_trade_no(number)["trade_state"] == "REFUND"
    notified = wait_for(lambda: control("GET", "notifies", params={"out_refund_no": f"{number}-R1"})
                        .json()["notifies"])
    assert [n["event_type"] for n in notified] == ["REFUND.SUCCESS"]
    assert wait_for(lambda: control("GET", "notifies", params={"out_refund_no": f"{number}-R1"})
                    .json()["notifies"][0]["deliveries"])[0]["headers"]["Wechatpay-Signature"]
    # The same refund asked again is the same refund, not a second one.
    assert pay.refund(number, f"{number}-R1", 800, 1800, "one latte spilt")["refund_id"] == refund["refund_id"]


def test_a_refund_beyond_what_was_paid_is_refused(pay, prepaid, control):
    number, prepay_id = prepaid()
    control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})
    pay.refund(number, f"{number}-R1", 1500, 1800, None)

    error = failure(pay.refund, number, f"{number}-R2", 301, 1800, None)

    assert (error.code, error.status, error.wechat_code) == (WeChatPayError.FAILED, 502, "INVALID_REQUEST")
    assert pay.query_refund(f"{number}-R2") is None
    assert pay.refund(number, f"{number}-R3", 300, 1800, None)["status"] == "SUCCESS"  # the rest is fine


def test_a_refund_of_an_unpaid_transaction_is_refused(pay, prepaid):
    number, _ = prepaid()
    error = failure(pay.refund, number, f"{number}-R1", 100, 1800, None)
    assert error.wechat_code == "INVALID_REQUEST"


def test_manual_refunds_stay_processing_until_wechat_pay_settles_them(pay, prepaid, control):
    number, prepay_id = prepaid()
    control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})
    assert control("POST", "settings", json={"refunds": "manual"}).json() == {"refunds": "manual"}

    assert pay.refund(number, f"{number}-R1", 1800, 1800, None)["status"] == "PROCESSING"
    assert pay.query_refund(f"{number}-R1")["status"] == "PROCESSING"
    assert control("GET", "notifies", params={"out_refund_no": f"{number}-R1"}).json()["notifies"] == []

    settled = control("POST", f"refunds/{number}-R1/succeed", json={"deliver": "never"})

    assert settled.status_code == 200
    assert pay.query_refund(f"{number}-R1")["status"] == "SUCCESS"
    notify = settled.json()["notify"]
    parsed = pay.parse_notify(notify["headers"], notify["body"].encode())
    assert parsed["event_type"] == "REFUND.SUCCESS"
    assert parsed["resource"]["refund_status"] == "SUCCESS"
    assert parsed["resource"]["out_refund_no"] == f"{number}-R1"
    assert parsed["resource"]["amount"]["refund"] == 1800


def test_an_abnormal_refund_is_notified_as_such(pay, prepaid, control):
    number, prepay_id = prepaid()
    control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})
    control("POST", "settings", json={"refunds": "manual"})
    pay.refund(number, f"{number}-R1", 1800, 1800, None)

    notify = control("POST", f"refunds/{number}-R1/abnormal", json={"deliver": "never"}).json()["notify"]

    assert pay.parse_notify(notify["headers"], notify["body"].encode())["event_type"] == "REFUND.ABNORMAL"
    assert pay.query_refund(f"{number}-R1")["status"] == "ABNORMAL"


def test_query_of_an_unknown_refund_is_none(pay):
    assert pay.query_refund("R-nobody-asked") is None


# -- WeChat Pay down or refusing ----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_wechat_pay_is_503(make_gateway, openid):
    down = make_gateway(WECHATPAY_API_BASE=f"http://127.0.0.1:{_closed_port()}")
    number = new_trade_no()
    for call in (lambda: down.prepay_jsapi(number, "Ripple latte", 1800, openid, in_15_minutes()),
                 lambda: down.query_by_out_trade_no(number), lambda: down.close(number),
                 lambda: down.refund(number, f"{number}-R1", 100, 1800, None)):
        error = failure(call)
        assert (error.code, error.status) == (WeChatPayError.UNAVAILABLE, 503)


def test_wechat_pay_busy_is_503_and_any_other_refusal_502_with_its_code(pay, prepaid, control):
    number, _ = prepaid()
    control("POST", "faults", json={"status": 500, "code": "SYSTEM_ERROR", "times": 1})
    busy = failure(pay.query_by_out_trade_no, number)
    assert (busy.code, busy.status, busy.wechat_code) == (WeChatPayError.UNAVAILABLE, 503, "SYSTEM_ERROR")

    control("POST", "faults", json={"status": 403, "code": "NO_AUTH", "message": "商户无权限", "times": 1})
    refused = failure(pay.query_by_out_trade_no, number)
    assert (refused.code, refused.status) == (WeChatPayError.FAILED, 502)
    assert "NO_AUTH" in refused.message

    assert pay.query_by_out_trade_no(number)["trade_state"] == "NOTPAY"  # the faults were used up


def test_wechat_pay_refuses_a_payer_from_another_app(pay, stub):
    # An openid only means something in the app it was issued for (here the official account's).
    stranger = stub.openid_for("alice", OFFICIAL_ACCOUNT[0])
    error = failure(pay.prepay_jsapi, new_trade_no(), "Ripple latte", 1800, stranger, in_15_minutes())
    assert (error.code, error.wechat_code) == (WeChatPayError.FAILED, "PARAM_ERROR")


def test_a_transaction_cannot_be_paid_after_its_time_expire(pay, openid, control):
    number = new_trade_no()
    prepay_id = pay.prepay_jsapi(number, "Ripple latte", 1800, openid, datetime.now(UTC) + timedelta(seconds=2))
    time.sleep(2.2)  # time_expire has whole seconds

    late = control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})

    assert late.status_code == 409 and late.json()["code"] == "ORDER_EXPIRED"
    assert pay.query_by_out_trade_no(number)["trade_state"] == "NOTPAY"
    # Tests of a payment racing a cancellation may pay it anyway.
    assert control("POST", f"{prepay_id}/confirm", json={"deliver": "never", "ignore_expiry": True}).ok
