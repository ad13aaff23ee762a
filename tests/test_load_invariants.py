"""The load proof's invariants (tests/bench/journey_invariants.py) hold on the demo brand and each one
catches what it is there to catch."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import seed_all_demo
from shop.extensions import db
from tests.bench.journey_invariants import CHECKS

COUPON = ("INSERT INTO coupons (batch_id, member_id, sequence, issue_number, claim_day, status, valid_from, "
          "expires_at, claimed_at, source, secret) SELECT b.id, (SELECT min(id) FROM members), {n}, {n}, "
          "'2026-12-07', 'available', '2026-12-07', '2027-01-07', '2026-12-07', 'public', 'load-{n}' "
          "FROM coupon_batches b WHERE b.name = 'In store: 8 yuan off a drink'")
REDEMPTION = ("INSERT INTO coupon_redemptions (coupon_id, store_id, staff_id, redeemed_at) SELECT max(id), "
              "(SELECT min(id) FROM stores), (SELECT min(id) FROM staff_accounts), '2026-12-07' FROM coupons")
BREAKS = {
    "coupons_within_member_limits": [COUPON.format(n=1), COUPON.format(n=2)],  # the batch allows one each
    "coupons_within_totals": [COUPON.format(n=1), "UPDATE coupon_batches SET total = 1 WHERE name = "
                              "'In store: 8 yuan off a drink'", COUPON.format(n=2)],
    # Redeemed in a store and spent online too (a second standing redemption the database refuses itself:
    # tests/coupons/test_redemption.py).
    "no_coupon_redeemed_twice": [COUPON.format(n=1), REDEMPTION,
                                 "UPDATE coupons SET status = 'used', used_in = 'online' WHERE id = (SELECT max(id) FROM coupons)"],
    "points_ledger_sums_equal_balances": [
        "UPDATE points_accounts SET balance = balance + 5 WHERE member_id = (SELECT min(member_id) FROM points_accounts)"],
    "rewards_equal_rates_of_paid_minus_refunded": [
        "UPDATE referral_rewards SET amount = amount + 1 WHERE id = (SELECT min(id) FROM referral_rewards)"],
    "orders_paid_equal_payments_applied": [  # a paid order of WeChat Pay without its applied payment
        "UPDATE orders SET prepay_id = 'wx-load' WHERE id = (SELECT min(id) FROM orders WHERE paid_at IS NOT NULL)"],
}


def violations(name: str) -> int:
    return CHECKS[name](db.session.connection())[0]


@pytest.mark.parametrize("broken", sorted(BREAKS))
def test_each_load_invariant_holds_on_the_demo_and_catches_its_break(app, broken):
    with app.app_context():
        seed_all_demo(app.config)
        assert {name: violations(name) for name in CHECKS} == dict.fromkeys(CHECKS, 0)
        for statement in BREAKS[broken]:
            db.session.execute(text(statement))
        assert violations(broken) >= 1
        db.session.rollback()
