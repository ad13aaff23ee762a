"""A shopper spends points at checkout: quoted within the balance and the cap, oldest lots first, once."""

import threading

import pytest
from sqlalchemy import select

from shop import pricing
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.points.models import PointsEntry, PointsLotUse
from shop.points.provider import PointsDiscountProvider
from shop.points.service import adjust_points, earn_for_order, points_quote, spend_for_order
from shop.pricing import PricedLine, PricingRequest
from tests.points.conftest import months_ago


def _give(committed, member_id: int, points: int) -> None:
    committed(lambda: adjust_points(member_id=member_id, delta=points, reason="seed", actor_staff_id=None))


def test_a_quote_stays_within_the_balance_and_half_of_what_is_left_to_pay(committed, member):
    alice = member()
    _give(committed, alice, 1000)

    def quote(requested: int, remaining: int):
        return committed(lambda: points_quote(member_id=alice, requested_points=requested, remaining_fen=remaining))

    assert quote(300, 10_000) == (300, 300)  # 100 points = 1 yuan
    assert quote(5000, 10_000) == (1000, 1000)  # the balance
    assert quote(5000, 1500) == (750, 750)  # 50 % of 15 yuan
    assert quote(5000, 1) == (0, 0)  # half a fen rounds down to nothing
    assert quote(0, 10_000) == (0, 0)
    assert quote(300, 0) == (0, 0)


def test_a_quote_never_spends_points_that_buy_nothing(app, committed, member, monkeypatch):
    alice = member()
    _give(committed, alice, 1000)
    monkeypatch.setitem(app.config, "POINTS_PER_YUAN_DEDUCTED", 1000)  # 10 points a fen
    assert committed(lambda: points_quote(member_id=alice, requested_points=95, remaining_fen=10_000)) == (90, 9)


def test_spending_takes_the_lots_that_expire_first(app, orders, committed, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(3))  # 100, expires in 9 months
    orders.paid(2, alice, 10_000, paid_at=months_ago(6))  # 100, expires in 6 months: the oldest
    orders.paid(3, alice, 10_000)  # 100, expires in 12 months
    committed(lambda: spend_for_order(member_id=alice, order_id=4, points=150))
    assert [(amount, remaining) for amount, remaining, _ in book.lots(alice)] == [(100, 50), (100, 0), (100, 100)]
    with app.app_context():
        spend = db.session.scalar(select(PointsEntry).where(PointsEntry.reason == "spend"))
        uses = db.session.scalars(select(PointsLotUse).where(PointsLotUse.entry_id == spend.id)
                                  .order_by(PointsLotUse.id)).all()
        assert [use.points for use in uses] == [100, 50]  # recorded lot by lot, for an exact return
    assert book.account(alice) == (150, 0)
    assert book.consistent()


def test_spending_never_uses_points_past_their_date(committed, orders, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(13))  # 100, expired a month ago (the job has not run)
    orders.paid(2, alice, 5000)  # 50
    assert committed(lambda: points_quote(member_id=alice, requested_points=100, remaining_fen=100_000)) == (50, 50)
    with pytest.raises(AppError) as refused:
        committed(lambda: spend_for_order(member_id=alice, order_id=3, points=100))
    assert refused.value.code == "points_insufficient" and refused.value.status == 409
    committed(lambda: spend_for_order(member_id=alice, order_id=4, points=50))
    assert [reason for reason, *_ in book.entries(alice)] == ["earn", "earn", "expire", "spend"]
    assert book.account(alice) == (0, 0)
    assert book.consistent()


def test_a_spend_is_once_per_order_and_refused_when_the_balance_moved(committed, member, book):
    alice = member()
    _give(committed, alice, 100)
    first = committed(lambda: spend_for_order(member_id=alice, order_id=7, points=60).id)
    again = committed(lambda: spend_for_order(member_id=alice, order_id=7, points=60).id)
    assert again == first
    with pytest.raises(AppError) as different:
        committed(lambda: spend_for_order(member_id=alice, order_id=7, points=10))
    assert different.value.code == "points_already_spent"
    with pytest.raises(AppError) as short:
        committed(lambda: spend_for_order(member_id=alice, order_id=8, points=41))
    assert short.value.code == "points_insufficient"
    assert book.account(alice) == (40, 0)
    assert [reason for reason, *_ in book.entries(alice)] == ["adjust", "spend"]


@pytest.mark.parametrize(("threads", "each", "balance"), [(12, 60, 100), (20, 10, 100)])
def test_concurrent_spends_never_overspend(app, committed, member, book, threads, each, balance):
    alice = member()
    _give(committed, alice, balance)
    start, spent, refused, errors = threading.Barrier(threads), [], [], []

    def checkout(order_id: int) -> None:
        try:
            with app.app_context():
                start.wait()
                try:
                    spend_for_order(member_id=alice, order_id=order_id, points=each)
                    db.session.commit()
                    spent.append(order_id)
                except AppError as exc:
                    db.session.rollback()
                    refused.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=checkout, args=(100 + n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(spent) == balance // each
    assert refused == ["points_insufficient"] * (threads - balance // each)
    assert book.account(alice) == (balance - len(spent) * each, 0)
    assert book.consistent()


def test_concurrent_first_earnings_of_a_new_member_all_count(app, member, book):
    alice = member()
    start, errors = threading.Barrier(8), []

    def pay(order_id: int) -> None:
        try:
            with app.app_context():
                start.wait()
                earn_for_order(member_id=alice, order_id=order_id, amount_paid_fen=1000, at=utcnow())
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=pay, args=(n,)) for n in range(1, 9)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert book.account(alice) == (80, 0)
    assert book.consistent()


def _request(member_id: int, total: int, points=None) -> PricingRequest:
    choices = {} if points is None else {"points": {"points": points}}
    return PricingRequest(member_id=member_id, lines=(PricedLine(1, 1, (1,), 1, total),), fulfilment="pickup",
                          store_id=None, shipping_fee=0, choices=choices)


def test_the_pricing_provider_takes_what_points_may_and_commits_the_spend(app, committed, member, book):
    alice = member()
    _give(committed, alice, 2000)
    provider = PointsDiscountProvider()
    assert (provider.name, provider.priority) == ("points", 100)
    with app.app_context():
        discount, suggestion = provider.quote(_request(alice, 3000, points=5000), 2400)  # a coupon took 6 yuan
        assert (discount.source, discount.amount, discount.details) == ("points", 1200, {"points": 1200})
        assert suggestion == {"balance": 2000, "max_usable": 1200, "discount_for_max": 1200}
        assert provider.quote(_request(alice, 3000), 3000) == (None, {  # no choice: only the suggestion
            "balance": 2000, "max_usable": 1500, "discount_for_max": 1500})
        quote = pricing.quote(_request(alice, 1500, points=300))
        assert [(d.source, d.amount) for d in quote.discounts] == [("points", 300)]
        assert quote.amount_payable == 1200
        pricing.commit(quote, order_id=41)
        db.session.commit()
    assert book.entries(alice)[-1] == ("spend", -300, 0, 41)
    assert book.account(alice) == (1700, 0)


def test_the_pricing_provider_never_takes_more_than_what_is_left(app, committed, member, monkeypatch):
    alice = member()
    _give(committed, alice, 1000)
    monkeypatch.setitem(app.config, "POINTS_MAX_DEDUCTION_PERCENT", 100)
    with app.app_context():
        for remaining in (0, 1, 7, 999):
            discount, suggestion = PointsDiscountProvider().quote(_request(alice, 3000, points=1000), remaining)
            assert (discount.amount if discount else 0) == remaining
            assert suggestion["discount_for_max"] == remaining


@pytest.mark.parametrize("bad", [-1, "300", 1.5, True, 10**12])
def test_the_pricing_provider_refuses_a_bad_points_choice(app, member, bad):
    alice = member()
    with app.app_context(), pytest.raises(AppError) as refused:
        PointsDiscountProvider().quote(_request(alice, 3000, points=bad), 3000)
    assert refused.value.status == 422 and "points" in refused.value.errors
