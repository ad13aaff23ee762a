"""Orders cancelled and refunded: spent points come back, earned points go back, exactly once."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta

from shop.database import utcnow
from shop.extensions import db
from shop.points.service import adjust_points, expire_due_points, spend_for_order
from tests.points.conftest import months_ago


def test_a_cancelled_order_gets_back_all_it_spent_in_the_lots_it_took(orders, committed, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(6))  # lot A: 100, 6 months left
    orders.paid(2, alice, 10_000, paid_at=months_ago(3))  # lot B: 100, 9 months left
    committed(lambda: spend_for_order(member_id=alice, order_id=3, points=150))  # all of A, 50 of B
    orders.cancelled(3, alice)
    orders.cancelled(3, alice)  # the same signal again changes nothing
    assert [(reason, delta) for reason, delta, _, _ in book.entries(alice)] == [
        ("earn", 100), ("earn", 100), ("spend", -150), ("cancel_return", 150)]
    lots = book.lots(alice)
    assert [(amount, remaining) for amount, remaining, _ in lots] == [(100, 0), (100, 50), (100, 100), (50, 50)]
    assert sorted(expires for _, _, expires in lots[2:]) == [lots[0][2], lots[1][2]]  # their own dates back
    assert book.account(alice) == (200, 0)
    assert book.consistent()


def test_points_returned_after_their_date_stay_usable_30_days(app, orders, committed, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(12, days=-2))  # expires in 2 days
    committed(lambda: spend_for_order(member_id=alice, order_id=2, points=100))
    orders.cancelled(2, alice)
    _, _, returned_until = book.lots(alice)[-1]
    assert returned_until - utcnow() > timedelta(days=29)


def test_cancelling_an_order_that_spent_nothing_writes_nothing(orders, member, book):
    alice = member()
    orders.paid(1, alice, 10_000)
    orders.cancelled(9, alice)
    assert [reason for reason, *_ in book.entries(alice)] == ["earn"]


def test_partial_refunds_reverse_in_proportion_and_adding_up_to_the_whole_reverse_exactly_all(
        orders, committed, member, book):
    alice = member()
    committed(lambda: adjust_points(member_id=alice, delta=7, reason="seed", actor_staff_id=None))
    committed(lambda: spend_for_order(member_id=alice, order_id=1, points=7))
    orders.paid(1, alice, 3333)  # earns 33
    refunds = [(1, 1000, 1000), (2, 1000, 2000), (3, 1333, 3333)]
    for refund_id, amount, total in refunds:
        orders.refunded(1, alice, refund_id=refund_id, amount=amount, refunded_total=total, amount_paid=3333)
    moves = [(reason, delta) for reason, delta, _, _ in book.entries(alice)][3:]
    # cumulative: taken back floor(33 x total / 3333) = 9, 19, 33; given back ceil(7 x total / 3333) = 3, 5, 7
    assert moves == [("refund_return", 3), ("refund_reverse", -9), ("refund_return", 2), ("refund_reverse", -10),
                     ("refund_return", 2), ("refund_reverse", -14)]
    assert book.account(alice) == (7, 0)  # as before the order: the 7 seed points
    assert book.consistent()


def test_the_same_refund_signal_twice_reverses_once(orders, member, book):
    alice = member()
    orders.paid(1, alice, 10_000)
    for _ in range(2):
        orders.refunded(1, alice, refund_id=5, amount=4000, refunded_total=4000, amount_paid=10_000)
    assert book.entries(alice) == [("earn", 100, 0, 1), ("refund_reverse", -40, 0, 1)]
    orders.refunded(1, alice, refund_id=6, amount=6000, refunded_total=10_000, amount_paid=10_000)
    orders.refunded(1, alice, refund_id=5, amount=4000, refunded_total=4000, amount_paid=10_000)  # late retry
    assert book.account(alice) == (0, 0)
    assert len(book.entries(alice)) == 3


def test_taking_back_points_already_spent_leaves_a_debt_never_a_negative_balance(orders, committed, member, book):
    alice = member()
    orders.paid(1, alice, 10_000)  # earns 100
    committed(lambda: spend_for_order(member_id=alice, order_id=2, points=100))
    orders.refunded(1, alice, refund_id=1, amount=10_000, refunded_total=10_000, amount_paid=10_000)
    assert book.account(alice) == (0, 100)
    assert book.entries(alice)[-1] == ("refund_reverse", 0, 100, 1)
    orders.paid(3, alice, 3000)  # earns 30: all of it pays the debt
    assert book.account(alice) == (0, 70)
    orders.paid(4, alice, 10_000)  # 100: 70 to the debt, 30 left
    assert book.account(alice) == (30, 0)
    assert [(reason, delta, owed) for reason, delta, owed, _ in book.entries(alice)][-4:] == [
        ("earn", 30, 0), ("debt_settled", -30, -30), ("earn", 100, 0), ("debt_settled", -70, -70)]
    assert book.consistent()


def test_a_refund_gives_spent_points_back_before_taking_earned_ones(orders, committed, member, book):
    alice = member()
    committed(lambda: adjust_points(member_id=alice, delta=50, reason="seed", actor_staff_id=None))
    committed(lambda: spend_for_order(member_id=alice, order_id=1, points=50))
    orders.paid(1, alice, 2000)  # earns 20
    committed(lambda: spend_for_order(member_id=alice, order_id=2, points=20))  # spends them elsewhere
    orders.refunded(1, alice, refund_id=1, amount=2000, refunded_total=2000, amount_paid=2000)
    assert book.account(alice) == (30, 0)  # 50 back, 20 taken from them: nothing owed
    assert book.consistent()


def test_earned_points_that_already_expired_are_not_taken_back_twice(app, orders, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(13))  # 100, expired a month ago
    with app.app_context():
        expire_due_points(now=utcnow())
        db.session.commit()
    orders.paid(2, alice, 5000)  # 50
    orders.refunded(1, alice, refund_id=1, amount=10_000, refunded_total=10_000, amount_paid=10_000)
    assert book.account(alice) == (50, 0)  # the 100 were lost once already
    assert book.entries(alice)[-1] == ("refund_reverse", 0, 0, 1)
    assert book.consistent()


def test_a_refund_of_an_order_that_neither_earned_nor_spent_writes_nothing(orders, member, book):
    alice = member()
    orders.refunded(1, alice, refund_id=1, amount=100, refunded_total=100, amount_paid=100)
    assert book.entries(alice) == []


def test_a_full_refund_after_the_earned_lot_partly_expired_takes_back_only_the_rest(
        app, orders, committed, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(12, days=-1))  # 100, expires tomorrow
    committed(lambda: spend_for_order(member_id=alice, order_id=2, points=40))
    orders.paid(3, alice, 10_000)  # 100 more
    with app.app_context():
        expire_due_points(now=utcnow() + relativedelta(days=2))  # 60 of order 1 expire
        db.session.commit()
    orders.refunded(1, alice, refund_id=1, amount=10_000, refunded_total=10_000, amount_paid=10_000)
    # of the 100 earned: 60 expired (waived), 40 were spent: taken from order 3's lot
    assert book.entries(alice)[-1] == ("refund_reverse", -40, 0, 1)
    assert book.account(alice) == (60, 0)
