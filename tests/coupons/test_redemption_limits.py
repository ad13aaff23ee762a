"""Guessing coupon codes at the counter is stopped: wrong codes are limited per clerk and per store."""

from shop.auth import Role
from tests.coupons.test_redemption import post_redeem, shown_code


def wrong_codes(client, clerk, count: int, start: int = 0) -> list[int]:
    return [post_redeem(client, clerk, f"{900000 + start + n}12345678").status_code for n in range(count)]


def test_a_clerk_guessing_codes_is_stopped_after_ten_wrong_ones(client, in_store_coupon, stores, staff_token):
    coupon = in_store_coupon()
    clerk, colleague = (staff_token(Role.STAFF, store_ids=[stores[0]]) for _ in range(2))
    assert wrong_codes(client, clerk, 10) == [404] * 10
    blocked = post_redeem(client, clerk, shown_code(client, coupon))  # even a right code, until the window ends
    assert blocked.status_code == 429 and blocked.get_json()["code"] == "rate_limited"
    assert "Retry-After" in blocked.headers
    assert post_redeem(client, colleague, shown_code(client, coupon)).status_code == 201


def test_a_store_whose_clerks_guess_codes_is_stopped_after_thirty_wrong_ones(client, in_store_coupon, stores,
                                                                              staff_token):
    coupon = in_store_coupon()
    clerks = [staff_token(Role.STAFF, store_ids=[stores[0]]) for _ in range(4)]
    for n, clerk in enumerate(clerks[:3]):
        assert wrong_codes(client, clerk, 10, start=10 * n) == [404] * 10
    fourth = post_redeem(client, clerks[3], shown_code(client, coupon))
    assert fourth.status_code == 429 and fourth.get_json()["code"] == "rate_limited"
    elsewhere = staff_token(Role.STAFF, store_ids=[stores[1]])
    assert post_redeem(client, elsewhere, shown_code(client, coupon)).status_code == 201


def test_a_clerk_of_several_stores_counts_against_the_store_named(client, in_store_coupon, stores, staff_token):
    coupon = in_store_coupon()
    roaming = [staff_token(Role.STAFF, store_ids=list(stores)) for _ in range(3)]
    for n, clerk in enumerate(roaming):
        statuses = [post_redeem(client, clerk, f"{800000 + 10 * n + k}12345678", store_id=stores[1]).status_code
                    for k in range(10)]
        assert statuses == [404] * 10
    local = staff_token(Role.STAFF, store_ids=[stores[0]])
    assert post_redeem(client, local, shown_code(client, coupon)).status_code == 201
    there = staff_token(Role.STAFF, store_ids=[stores[1]])
    assert post_redeem(client, there, shown_code(client, in_store_coupon(shopper="bob:1"))).status_code == 429


def test_refusals_of_real_codes_do_not_count_as_guesses(app, client, in_store_coupon, stores, staff_token):
    coupon = in_store_coupon()
    clerk, colleague = (staff_token(Role.STAFF, store_ids=[stores[0]]) for _ in range(2))
    typed = shown_code(client, coupon)
    assert post_redeem(client, clerk, typed).status_code == 201
    refused = [post_redeem(client, colleague, typed).status_code for _ in range(12)]
    assert refused == [409] * 12  # already used, twelve times: not guessing
    assert post_redeem(client, colleague, shown_code(client, in_store_coupon(shopper="bob:1"))).status_code == 201
