"""Merchant transfers (商家转账) through the real wechatpayv3 client, over HTTP, against the stub."""

from __future__ import annotations

import json
import secrets

import pytest
import requests

from shop.errors import AppError
from shop.wechat.errors import WeChatPayError
from tests.conftest import MINIPROGRAM, OFFICIAL_ACCOUNT, WECHATPAY_NOTIFY_URL

from .helpers import other_key, public_pem

TRANSFER = "v3/fund-app/mch-transfer/transfer-bills"
SCENE = [{"info_type": "活动名称", "info_content": "好友推荐有礼"}, {"info_type": "奖励说明", "info_content": "佣金提现"}]


def _bill_no() -> str:
    return "RW" + secrets.token_hex(10)


def _send(pay, bill_no: str, openid: str, amount: int = 300) -> dict:
    return pay.transfer_to_change(bill_no, openid, amount, "推荐佣金提现", scene_id="1000", scene_report=SCENE,
                                  perception="现金奖励")


def test_a_transfer_waits_for_the_member_to_confirm_and_is_then_successful(pay, stub, openid, control):
    number = _bill_no()
    answer = _send(pay, number, openid)
    assert answer["state"] == "WAIT_USER_CONFIRM" and answer["out_bill_no"] == number
    assert answer["package_info"] and answer["transfer_bill_no"]
    [sent] = stub.received_on(TRANSFER)
    assert sent["json"] == {
        "out_bill_no": number, "transfer_scene_id": "1000", "openid": openid, "transfer_amount": 300,
        "transfer_remark": "推荐佣金提现", "user_recv_perception": "现金奖励", "transfer_scene_report_infos": SCENE,
        "appid": MINIPROGRAM[0], "notify_url": WECHATPAY_NOTIFY_URL}
    assert pay.query_transfer(number)["state"] == "WAIT_USER_CONFIRM"

    control("POST", f"transfers/{number}/confirm").raise_for_status()
    bill = pay.query_transfer(number)
    assert (bill["state"], bill["transfer_amount"], bill["openid"]) == ("SUCCESS", 300, openid)


def test_the_same_bill_again_is_the_same_transfer_and_a_changed_one_is_refused(pay, openid):
    number = _bill_no()
    first = _send(pay, number, openid)
    assert _send(pay, number, openid)["transfer_bill_no"] == first["transfer_bill_no"]
    with pytest.raises(AppError) as caught:
        _send(pay, number, openid, amount=301)
    assert caught.value.code == WeChatPayError.FAILED and caught.value.wechat_code == "INVALID_REQUEST"


def test_a_failed_transfer_says_why(pay, openid, control):
    number = _bill_no()
    _send(pay, number, openid)
    control("POST", f"transfers/{number}/fail", json={"reason": "PAYEE_ACCOUNT_ABNORMAL"}).raise_for_status()
    bill = pay.query_transfer(number)
    assert (bill["state"], bill["fail_reason"]) == ("FAIL", "PAYEE_ACCOUNT_ABNORMAL")
    assert control("POST", f"transfers/{number}/confirm").status_code == 409  # ended: stays failed


def test_a_refused_transfer_is_an_error_with_wechats_code(pay, openid, control):
    control("POST", "faults", json={"status": 403, "code": "NOT_ENOUGH", "message": "资金不足", "path": "transfer-bills"})
    with pytest.raises(AppError) as caught:
        _send(pay, _bill_no(), openid)
    assert (caught.value.code, caught.value.wechat_code) == (WeChatPayError.FAILED, "NOT_ENOUGH")


def test_query_of_a_transfer_wechat_pay_never_saw_is_none(pay):
    assert pay.query_transfer(_bill_no()) is None


def test_a_transfer_to_a_payer_of_another_app_is_refused(pay, stub):
    with pytest.raises(AppError) as caught:
        _send(pay, _bill_no(), stub.openid_for("alice", OFFICIAL_ACCOUNT[0]))
    assert caught.value.wechat_code == "PARAM_ERROR"


def test_amounts_that_need_the_payees_name_or_bad_bill_numbers_never_leave(pay, stub, openid):
    for call in (lambda: _send(pay, _bill_no(), openid, amount=200_000), lambda: _send(pay, "RW-1_2", openid),
                 lambda: _send(pay, _bill_no(), openid, amount=0)):
        with pytest.raises(ValueError):
            call()
    assert stub.received_on(TRANSFER) == []


def test_the_transfer_answer_is_signed_and_unsigned_requests_are_refused(make_gateway, stub, openid):
    wrong = make_gateway(WECHATPAY_PUBLIC_KEY=public_pem(other_key()))
    with pytest.raises(AppError) as caught:
        _send(wrong, _bill_no(), openid)
    assert "did not verify" in caught.value.message
    unsigned = requests.post(f"{stub.url}{TRANSFER}", data=json.dumps({"out_bill_no": _bill_no()}), timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "SIGN_ERROR"
