"""Payment notifies: the stub delivers them over HTTP; parse_notify accepts WeChat Pay's and only those."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from shop.errors import AppError
from shop.wechat.errors import WeChatPayError
from tests.conftest import MINIPROGRAM, WECHATPAY_MCHID

from .helpers import other_key, public_pem, signed_headers, wait_for

# -- a genuine notify ---------------------------------------------------------------------------


def test_a_genuine_notify_is_verified_and_decrypted(pay, prepaid, control, openid):
    number, prepay_id = prepaid()
    confirmed = control("POST", f"{prepay_id}/confirm", json={"deliver": "never"}).json()
    notify = confirmed["notify"]
    assert notify["deliveries"] == []

    parsed = pay.parse_notify(notify["headers"], notify["body"].encode())

    assert parsed["id"] == notify["id"] == json.loads(notify["body"])["id"]
    assert parsed["event_type"] == "TRANSACTION.SUCCESS"
    resource = parsed["resource"]
    assert resource == pay.query_by_out_trade_no(number)  # the same transaction the query tells
    assert (resource["out_trade_no"], resource["trade_state"]) == (number, "SUCCESS")
    assert (resource["mchid"], resource["appid"]) == (WECHATPAY_MCHID, MINIPROGRAM[0])
    assert resource["amount"]["total"] == 1800 and resource["payer"]["openid"] == openid
    assert resource["transaction_id"] == confirmed["transaction"]["transaction_id"]
    assert "ciphertext" in notify["body"] and number not in notify["body"]  # it was encrypted


def test_the_stub_delivers_the_notify_over_http_and_records_our_answer(make_gateway, prepaid, control, receiver):
    gateway = make_gateway(WECHATPAY_NOTIFY_URL=receiver.url)
    number, prepay_id = prepaid(gateway)

    notify = control("POST", f"{prepay_id}/confirm").json()["notify"]

    [(headers, body)] = receiver.received
    assert body == notify["body"].encode()
    assert headers["Wechatpay-Serial"] == notify["deliveries"][0]["headers"]["Wechatpay-Serial"]
    assert receiver.parsed[0]["resource"]["out_trade_no"] == number
    assert [(d["status"], d["error"]) for d in notify["deliveries"]] == [(204, None)]
    listed = control("GET", "notifies", params={"out_trade_no": number}).json()["notifies"]
    assert [n["id"] for n in listed] == [notify["id"]]


def test_a_notify_delivered_twice_is_the_same_notify_signed_twice(make_gateway, prepaid, control, receiver):
    _, prepay_id = prepaid(make_gateway(WECHATPAY_NOTIFY_URL=receiver.url))

    notify = control("POST", f"{prepay_id}/confirm", json={"deliver": "twice"}).json()["notify"]

    assert [d["status"] for d in notify["deliveries"]] == [204, 204]
    assert [p["id"] for p in receiver.parsed] == [notify["id"], notify["id"]]
    first, second = (d["headers"]["Wechatpay-Nonce"] for d in notify["deliveries"])
    assert first != second


def test_concurrent_copies_all_reach_us(make_gateway, prepaid, control, receiver):
    _, prepay_id = prepaid(make_gateway(WECHATPAY_NOTIFY_URL=receiver.url))

    notify = control("POST", f"{prepay_id}/confirm", json={"deliver": "twice", "concurrent": True}).json()["notify"]

    assert sorted(d["status"] for d in notify["deliveries"]) == [204, 204]
    assert len(receiver.received) == 2


def test_a_late_notify_arrives_after_the_confirm_answered(make_gateway, prepaid, control, receiver):
    _, prepay_id = prepaid(make_gateway(WECHATPAY_NOTIFY_URL=receiver.url))

    notify = control("POST", f"{prepay_id}/confirm", json={"delay_seconds": 0.5}).json()["notify"]

    assert notify["deliveries"] == [] and receiver.received == []
    assert wait_for(lambda: receiver.parsed)[0]["id"] == notify["id"]


def test_resending_replays_the_same_notify(make_gateway, prepaid, control, receiver):
    number, prepay_id = prepaid(make_gateway(WECHATPAY_NOTIFY_URL=receiver.url))
    control("POST", f"{prepay_id}/confirm", json={"deliver": "never"})

    resent = control("POST", "notify/resend", json={"out_trade_no": number, "same_headers": True}).json()["notify"]

    [(headers, body)] = receiver.received
    assert body == resent["body"].encode()
    # A byte-for-byte replay: the very headers the notify was built with, still fresh, so accepted;
    # applying it once is the caller's job (a natural key on transaction_id).
    assert {k: headers[k] for k in resent["headers"]} == resent["headers"]
    assert [d["status"] for d in resent["deliveries"]] == [204]


def test_a_refused_notify_is_recorded_with_our_answer(make_gateway, prepaid, control, receiver):
    # Our side holds the wrong WeChat Pay public key: every notify is refused, and WeChat Pay would retry.
    receiver.gateway = make_gateway(WECHATPAY_PUBLIC_KEY=public_pem(other_key()))
    _, prepay_id = prepaid(make_gateway(WECHATPAY_NOTIFY_URL=receiver.url))

    notify = control("POST", f"{prepay_id}/confirm").json()["notify"]

    [delivery] = notify["deliveries"]
    assert delivery["status"] == 401
    assert json.loads(delivery["answer"])["code"] == "FAIL"
    assert receiver.parsed == []


def test_a_reset_drops_deliveries_still_waiting(make_gateway, prepaid, control, receiver, stub):
    _, prepay_id = prepaid(make_gateway(WECHATPAY_NOTIFY_URL=receiver.url))
    control("POST", f"{prepay_id}/confirm", json={"delay_seconds": 0.3})
    stub.reset()
    time.sleep(0.6)
    assert receiver.received == []


# -- what parse_notify refuses ------------------------------------------------------------------


@pytest.fixture
def genuine(prepaid, control):
    """A genuine notify the stub built and did not deliver: (headers, body)."""
    _, prepay_id = prepaid()
    notify = control("POST", f"{prepay_id}/confirm", json={"deliver": "never"}).json()["notify"]
    return notify["headers"], notify["body"].encode()


def refusal(gateway, headers, body) -> AppError:
    with pytest.raises(AppError) as caught:
        gateway.parse_notify(headers, body)
    return caught.value


def test_a_forged_signature_is_refused(pay, genuine):
    _, body = genuine
    error = refusal(pay, signed_headers(body, key=other_key()), body)
    assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)
    assert "does not match" in error.message


def test_a_tampered_body_is_refused(pay, genuine):
    headers, body = genuine
    envelope = json.loads(body)
    envelope["event_type"] = "REFUND.SUCCESS"
    for tampered in (json.dumps(envelope).encode(), body + b" ", body.replace(b'"resource"', b'"Resource"')):
        error = refusal(pay, headers, tampered)
        assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)
    assert pay.parse_notify(headers, body)["event_type"] == "TRANSACTION.SUCCESS"  # the original still passes


@pytest.mark.parametrize("age, accepted", [(330, False), (-330, False), (240, True), (-60, True)])
def test_a_notify_signed_more_than_5_minutes_from_now_is_refused(pay, genuine, age, accepted):
    _, body = genuine
    headers = signed_headers(body, timestamp=int(time.time()) - age)
    if accepted:
        assert pay.parse_notify(headers, body)["event_type"] == "TRANSACTION.SUCCESS"
        return
    error = refusal(pay, headers, body)
    assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)
    assert "5 minutes" in error.message


def test_a_notify_naming_another_key_is_refused(pay, genuine):
    headers, body = genuine
    for serial in ("PUB_KEY_ID_0000000000000000000000000000OTHER", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"):
        error = refusal(pay, {**headers, "Wechatpay-Serial": serial}, body)
        assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)
        assert "not our WeChat Pay public key" in error.message


@pytest.mark.parametrize("change", [
    {"Wechatpay-Signature": None}, {"Wechatpay-Timestamp": None}, {"Wechatpay-Nonce": None},
    {"Wechatpay-Serial": None}, {"Wechatpay-Signature": "not base64!"}, {"Wechatpay-Timestamp": "soon"},
    {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
])
def test_missing_or_garbled_signature_headers_are_refused(pay, genuine, change):
    headers, body = genuine
    headers = {k: v for k, v in {**headers, **change}.items() if v is not None}
    error = refusal(pay, headers, body)
    assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)


@pytest.mark.parametrize("body", [
    b"{not json",
    b'["a", "list"]',
    b'{"id": "EV-1", "event_type": "TRANSACTION.SUCCESS", "resource_type": "plain"}',
    b'{"id": "EV-1", "event_type": "TRANSACTION.SUCCESS", "resource_type": "encrypt-resource", '
    b'"resource": {"algorithm": "AES_128_CBC", "nonce": "n", "ciphertext": "c"}}',
    b'{"id": "EV-1", "event_type": "TRANSACTION.SUCCESS", "resource_type": "encrypt-resource", '
    b'"resource": {"algorithm": "AEAD_AES_256_GCM", "nonce": ""}}',
])
def test_a_signed_body_that_is_not_a_notify_is_malformed(pay, body):
    error = refusal(pay, signed_headers(body), body)
    assert (error.code, error.status) == (WeChatPayError.NOTIFY_MALFORMED, 400)


def test_a_notify_that_does_not_decrypt_with_our_apiv3_key_is_refused(make_gateway, genuine):
    headers, body = genuine
    ours_wrong = make_gateway(WECHATPAY_APIV3_KEY="another-apiv3-key-0123456789abcd")
    error = refusal(ours_wrong, headers, body)
    assert (error.code, error.status) == (WeChatPayError.NOTIFY_UNDECRYPTABLE, 400)


def test_a_resource_garbled_inside_a_valid_signature_does_not_decrypt(pay, genuine):
    _, body = genuine
    envelope = json.loads(body)
    envelope["resource"]["ciphertext"] = "AAAA" + envelope["resource"]["ciphertext"][4:]
    garbled = json.dumps(envelope).encode()
    error = refusal(pay, signed_headers(garbled), garbled)
    assert error.code == WeChatPayError.NOTIFY_UNDECRYPTABLE


def test_parse_notify_reads_headers_in_any_case(pay, genuine):
    headers, body = genuine
    lowered = {k.lower(): v for k, v in headers.items()}
    assert pay.parse_notify(lowered, body)["event_type"] == "TRANSACTION.SUCCESS"


# -- the switch from platform certificates to the public key ---------------------------------------

def platform_certificate(key, *, days: int = 365, serial: int = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1) -> str:
    """A platform certificate as WeChat Pay issued them (self-signed here), PEM."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(serial).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def test_during_the_switch_a_notify_signed_by_the_platform_certificate_is_accepted(make_gateway, genuine):
    _, body = genuine
    switching = make_gateway(WECHATPAY_PLATFORM_CERT=platform_certificate(other_key()))
    by_certificate = signed_headers(body, key=other_key(), serial=CERT_SERIAL)
    assert switching.parse_notify(by_certificate, body)["event_type"] == "TRANSACTION.SUCCESS"
    assert switching.parse_notify(signed_headers(body), body)["event_type"] == "TRANSACTION.SUCCESS"


def test_the_serial_chooses_the_key_so_neither_key_passes_for_the_other(make_gateway, genuine):
    _, body = genuine
    switching = make_gateway(WECHATPAY_PLATFORM_CERT=platform_certificate(other_key()))
    for headers in (signed_headers(body, key=other_key()),  # the certificate's key, naming the public key
                    signed_headers(body, serial=CERT_SERIAL),  # the public key, naming the certificate
                    signed_headers(body, key=other_key(), serial="PUB_KEY_ID_0000000000000000000000000000OTHER"),
                    signed_headers(body, key=other_key(), serial="0123456789ABCDEF")):
        error = refusal(switching, headers, body)
        assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)


def test_without_a_platform_certificate_configured_certificate_signed_notifies_are_refused(pay, genuine):
    _, body = genuine
    error = refusal(pay, signed_headers(body, key=other_key(), serial=CERT_SERIAL), body)
    assert (error.code, error.status) == (WeChatPayError.SIGNATURE_INVALID, 401)


def test_a_platform_certificate_past_its_end_signs_nothing(make_gateway, genuine):
    _, body = genuine
    expired = make_gateway(WECHATPAY_PLATFORM_CERT=platform_certificate(other_key(), days=-1))
    error = refusal(expired, signed_headers(body, key=other_key(), serial=CERT_SERIAL), body)
    assert "not valid now" in error.message
