"""Guessing member codes at the till is stopped: wrong codes are limited per clerk and per store, like coupon
codes at redemption; a wrong coupon code with a sale counts against the coupon codes' limits."""

from datetime import timedelta

from shop.auth import Role
from shop.database import utcnow
from tests.coupons.checkout_fixtures import give_coupon
from tests.till.conftest import code_of, sell


def wrong_member_codes(client, clerk, count: int, start: int = 0) -> list[int]:
    return [sell(client, clerk, f"{900000 + start + n}12345678").status_code for n in range(count)]


def test_a_clerk_guessing_member_codes_is_stopped_after_ten_wrong_ones(app, client, staff_token, shop, alice_id):
    clerk, colleague = (staff_token(Role.STAFF, store_ids=[shop.store_id]) for _ in range(2))
    assert wrong_member_codes(client, clerk, 10) == [404] * 10
    blocked = sell(client, clerk, code_of(app, alice_id))  # even a right code, until the window ends
    assert blocked.status_code == 429 and blocked.get_json()["code"] == "rate_limited"
    assert "Retry-After" in blocked.headers
    assert sell(client, colleague, code_of(app, alice_id)).status_code == 201


def test_a_store_whose_clerks_guess_member_codes_is_stopped_after_thirty(app, client, staff_token, shop, alice_id):
    clerks = [staff_token(Role.STAFF, store_ids=[shop.store_id]) for _ in range(4)]
    for n, clerk in enumerate(clerks[:3]):
        assert wrong_member_codes(client, clerk, 10, start=10 * n) == [404] * 10
    assert sell(client, clerks[3], code_of(app, alice_id)).status_code == 429
    elsewhere = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    assert sell(client, elsewhere, code_of(app, alice_id)).status_code == 201


def test_stale_member_codes_and_refused_sales_are_not_guesses(app, client, clerk, alice_id):
    stale = code_of(app, alice_id, at=utcnow() - timedelta(minutes=5))
    assert [sell(client, clerk, stale).status_code for _ in range(12)] == [409] * 12
    assert sell(client, clerk, code_of(app, alice_id)).status_code == 201


def test_wrong_coupon_codes_with_sales_count_as_coupon_code_guesses(app, client, clerk, alice_id):
    give_coupon(app, alice_id)
    statuses = [sell(client, clerk, code_of(app, alice_id), coupon_code=f"{900000 + n}12345678").status_code
                for n in range(10)]
    assert statuses == [404] * 10
    assert sell(client, clerk, code_of(app, alice_id)).status_code == 429
