"""A shopper pays and earns points at their tier; tiers follow the trailing 12 months."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta

from shop.database import utcnow
from shop.points.service import adjust_points, earn_for_order
from shop.points.tiers import tier_status
from tests.points.conftest import months_ago


def test_a_paid_order_earns_a_point_per_yuan_rounded_down_in_a_lot_that_expires_in_12_months(
        orders, member, book):
    alice = member()
    paid_at = utcnow() - timedelta(minutes=5)
    orders.paid(1, alice, 2850, paid_at=paid_at)  # 28.50 yuan
    assert book.entries(alice) == [("earn", 28, 0, 1)]  # not 29: never a fraction of a point
    assert book.account(alice) == (28, 0)
    assert book.lots(alice) == [(28, 28, paid_at + relativedelta(months=12))]
    assert book.consistent()


def test_the_same_order_paid_signal_twice_earns_once(orders, member, book):
    alice = member()
    orders.paid(1, alice, 5000)
    orders.paid(1, alice, 5000)
    assert book.entries(alice) == [("earn", 50, 0, 1)]
    assert book.account(alice) == (50, 0)


def test_reaching_silver_multiplies_what_the_next_order_earns(orders, member, book):
    alice = member()
    orders.paid(1, alice, 99_900)  # 999 yuan: still member (silver at 1000)
    orders.paid(2, alice, 2850)  # x1.0 -> 28
    orders.paid(3, alice, 2850)  # now 1027 in 12 months: silver x1.2 -> floor(34.2) = 34
    assert [delta for _, delta, _, _ in book.entries(alice)] == [999, 28, 34]


def test_the_tier_counts_only_points_earned_in_the_trailing_12_months(app, orders, member, book):
    alice = member()
    orders.paid(1, alice, 500_000, paid_at=months_ago(25))  # 5000 points, too old to count
    orders.paid(2, alice, 60_000, paid_at=months_ago(11))  # 600
    with app.app_context():
        status = tier_status(alice, utcnow())
    assert (status.name, status.earned_12m, status.next_tier, status.points_to_next) == ("member", 600, "silver", 400)
    orders.paid(3, alice, 40_000)  # 400 (at x1.0: earned before this order is 600)
    with app.app_context():
        status = tier_status(alice, utcnow())
        a_year_on = tier_status(alice, utcnow() + relativedelta(months=11, days=15))
    assert (status.name, str(status.multiplier), status.earned_12m) == ("silver", "1.2", 1000)
    assert (a_year_on.name, a_year_on.earned_12m) == ("member", 400)  # order 2 left the window


def test_a_refund_lowers_the_tier_and_adjustments_never_raise_it(app, orders, member, committed, book):
    alice = member()
    orders.paid(1, alice, 100_000)  # 1000: silver
    committed(lambda: adjust_points(member_id=alice, delta=5000, reason="goodwill", actor_staff_id=None))
    orders.refunded(1, alice, refund_id=1, amount=50_000, refunded_total=50_000, amount_paid=100_000)
    with app.app_context():
        status = tier_status(alice, utcnow())
    assert (status.name, status.earned_12m) == ("member", 500)
    assert book.consistent()  # the account's kept "earned" (1000 - 500) agrees with the ledger
    orders.paid(2, alice, 10_000)  # 500 + 100: no tier above member, whichever way it is counted
    assert [entry for entry in book.entries(alice) if entry[0] == "earn"][-1][1] == 100


def test_earning_at_a_higher_tier_uses_its_multiplier_and_zero_points_write_nothing(committed, member, book):
    alice = member()
    committed(lambda: earn_for_order(member_id=alice, order_id=1, amount_paid_fen=500_000, at=months_ago(1)))
    committed(lambda: earn_for_order(member_id=alice, order_id=2, amount_paid_fen=1001, at=utcnow()))
    assert committed(lambda: earn_for_order(member_id=alice, order_id=3, amount_paid_fen=50, at=utcnow())) is None
    assert [delta for _, delta, _, _ in book.entries(alice)] == [5000, 15]  # gold x1.5: floor(15.015)
