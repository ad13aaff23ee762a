"""The rotating in-store code: TOTP-style digits, which steps a clerk accepts, and the shopper's endpoint."""

from datetime import UTC, datetime, timedelta

import pytest
import segno
from sqlalchemy import update

from coupons.models import Coupon, CouponStatus
from coupons.redemption import code
from shop.auth import Role
from shop.extensions import db
from tests.wechat_stub.png import qr_modules

SECRET = "ab" * 32
NOON = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)  # half-way through a step


@pytest.mark.parametrize(("unix_time", "expected"), [
    (59, "46119246"), (1111111109, "68084774"), (1111111111, "67062674"),
    (1234567890, "91819424"), (2000000000, "90698825"), (20000000000, "77737706")])
def test_the_digits_follow_rfc_6238_with_sha256(unix_time, expected):
    # RFC 6238 appendix B: the SHA-256 seed, 30-second steps, 8 digits.
    assert code.step_digits(b"12345678901234567890123456789012", unix_time // 30) == expected


def test_the_code_carries_the_coupon_id_and_changes_every_minute():
    shown = code.shown_code(4321, SECRET, NOON)
    assert shown.code.startswith("4321") and len(shown.code) == 4 + code.DIGITS
    assert shown.qr_payload == "ripple:coupon:" + shown.code
    assert shown.display.replace(" ", "") == shown.code and shown.display.startswith("4321 ")
    assert shown.valid_until == datetime(2026, 11, 23, 12, 1, tzinfo=UTC)
    assert code.seconds_left(shown, NOON) == 30
    assert code.shown_code(4321, SECRET, NOON + timedelta(seconds=29)).code == shown.code
    assert code.shown_code(4321, SECRET, NOON + timedelta(seconds=30)).code != shown.code
    assert code.shown_code(4321, "cd" * 32, NOON).code != shown.code  # each coupon has its own secret


def test_current_and_previous_step_are_accepted_older_is_stale_and_forged_is_invalid():
    def digits_at(at: datetime, secret: str = SECRET) -> str:
        return code.parse(code.shown_code(7, secret, at).code)[1]

    assert code.check(SECRET, digits_at(NOON), NOON) is code.Verdict.CURRENT
    assert code.check(SECRET, digits_at(NOON - timedelta(seconds=60)), NOON) is code.Verdict.CURRENT
    assert code.check(SECRET, digits_at(NOON - timedelta(seconds=120)), NOON) is code.Verdict.STALE
    assert code.check(SECRET, digits_at(NOON - timedelta(minutes=10)), NOON) is code.Verdict.STALE
    assert code.check(SECRET, digits_at(NOON - timedelta(minutes=11)), NOON) is code.Verdict.INVALID
    assert code.check(SECRET, digits_at(NOON + timedelta(seconds=60)), NOON) is code.Verdict.INVALID  # no future
    assert code.check(SECRET, digits_at(NOON, secret="cd" * 32), NOON) is code.Verdict.INVALID
    forged = str((int(digits_at(NOON)) + 1) % 10**code.DIGITS).zfill(code.DIGITS)
    assert code.check(SECRET, forged, NOON) is code.Verdict.INVALID


@pytest.mark.parametrize(("raw", "parsed"), [
    ("4321 1234 5678", (4321, "12345678")), ("ripple:coupon:412345678", (4, "12345678")),
    (" 43-2112-345678 ", (4321, "12345678")), ("12345678", None), ("0412345678", None), ("43a112345678", None),
    ("", None), ("ripple:coupon:", None), ("9" * 30, None)])
def test_typed_and_scanned_codes_are_read_alike(raw, parsed):
    assert code.parse(raw) == parsed


def fetch_code(client, coupon):
    return client.get(f"/api/v1/me/coupons/{coupon.id}/code", headers=coupon.shopper)


def test_a_shopper_sees_the_code_of_an_in_store_coupon_and_until_when_it_holds(client, in_store_coupon, stores):
    coupon = in_store_coupon(scope_store_ids=[stores[0]])
    response = fetch_code(client, coupon)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert code.parse(body["code"])[0] == coupon.id
    assert body["qr_payload"] == "ripple:coupon:" + body["code"] and body["display"].replace(" ", "") == body["code"]
    assert len(body["code"]) <= 14 and body["step_seconds"] == 60 and 1 <= body["seconds_left"] <= 60
    until = datetime.fromisoformat(body["valid_until"])
    assert until.second == 0 and timedelta(0) < until - datetime.now(UTC) <= timedelta(seconds=60)
    assert body["store_ids"] == [stores[0]]


def test_a_coupon_usable_online_and_in_store_has_a_code_too(client, in_store_coupon):
    coupon = in_store_coupon(usage="both")
    response = fetch_code(client, coupon)
    assert response.status_code == 200 and response.get_json()["store_ids"] is None


def test_another_members_coupon_has_no_code_for_you(client, in_store_coupon):
    coupon = in_store_coupon(shopper="alice:1")
    bob = in_store_coupon(shopper="bob:1")
    response = client.get(f"/api/v1/me/coupons/{coupon.id}/code", headers=bob.shopper)
    assert response.status_code == 404 and response.get_json()["code"] == "coupon_not_found"
    missing = client.get("/api/v1/me/coupons/999999/code", headers=bob.shopper)
    assert missing.status_code == 404 and missing.get_json()["code"] == "coupon_not_found"


def test_staff_cannot_ask_for_a_shoppers_code(client, in_store_coupon, staff_token, stores):
    coupon = in_store_coupon()
    response = client.get(f"/api/v1/me/coupons/{coupon.id}/code", headers=staff_token(Role.STAFF, [stores[0]]))
    assert response.status_code == 403


@pytest.mark.parametrize(("change", "expected"), [
    ({"status": CouponStatus.USED.value, "used_in": "online"}, "coupon_used"),
    ({"status": CouponStatus.LOCKED.value}, "coupon_locked"),
    ({"expires_at": datetime.now(UTC) - timedelta(seconds=1)}, "coupon_expired"),
    ({"status": CouponStatus.EXPIRED.value}, "coupon_expired"),
    ({"valid_from": datetime.now(UTC) + timedelta(days=1)}, "coupon_not_yet_valid"),
])
def test_a_coupon_that_cannot_be_redeemed_shows_no_code(app, client, in_store_coupon, change, expected):
    coupon = in_store_coupon()
    with app.app_context():
        db.session.execute(update(Coupon).where(Coupon.id == coupon.id).values(**change))
        db.session.commit()
    response = fetch_code(client, coupon)
    assert response.status_code == 409 and response.get_json()["code"] == expected


def test_an_online_only_coupon_shows_no_code(client, in_store_coupon):
    response = fetch_code(client, in_store_coupon(usage="online"))
    assert response.status_code == 409 and response.get_json()["code"] == "coupon_online_only"


def test_the_code_comes_as_a_qr_image_too(client, in_store_coupon):
    coupon = in_store_coupon()
    response = client.get(f"/api/v1/me/coupons/{coupon.id}/code/qr.png", headers=coupon.shopper)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    typed = response.headers["X-Coupon-Code"]
    assert code.parse(typed)[0] == coupon.id
    assert qr_modules(response.data) == [[bool(v) for v in row]
                                         for row in segno.make_qr(code.QR_PREFIX + typed, error="m").matrix]
    other = client.get(f"/api/v1/me/coupons/{coupon.id + 1}/code/qr.png", headers=coupon.shopper)
    assert other.status_code == 404 and other.get_json()["code"] == "coupon_not_found"
