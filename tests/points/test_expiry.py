"""Lots expire on their date: the job writes one expire entry per lot with points left, oldest first."""

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from shop.database import utcnow
from shop.extensions import db
from shop.points.models import PointsEntry
from shop.points.service import expire_due_points, points_overview, spend_for_order
from tests.points.conftest import months_ago


def test_the_job_expires_what_is_left_of_each_due_lot_oldest_first_and_only_once(
        app, orders, committed, member, book):
    alice, bob = member("alice"), member("bob")
    orders.paid(1, alice, 3000, paid_at=months_ago(10))  # 30, expires in 2 months
    orders.paid(2, alice, 5000, paid_at=months_ago(11))  # 50, expires in 1 month
    orders.paid(3, alice, 4000)  # 40, expires in 12 months
    orders.paid(4, bob, 2000, paid_at=months_ago(11))  # 20
    committed(lambda: spend_for_order(member_id=alice, order_id=5, points=60))  # all of order 2's, 10 of 1's
    in_3_months = utcnow() + relativedelta(months=3)
    assert committed(lambda: expire_due_points(now=in_3_months)) == 2  # alice's order-1 lot and bob's
    assert committed(lambda: expire_due_points(now=in_3_months)) == 0
    with app.app_context():
        expired = db.session.execute(select(PointsEntry.member_id, PointsEntry.delta)
                                     .where(PointsEntry.reason == "expire").order_by(PointsEntry.id)).all()
    assert [tuple(row) for row in expired] == [(alice, -20), (bob, -20)]  # a spent-out lot writes nothing
    assert book.account(alice) == (40, 0) and book.account(bob) == (0, 0)
    assert book.consistent()


def test_a_members_due_lots_expire_in_date_order(orders, committed, member, book):
    alice = member()
    orders.paid(1, alice, 2000, paid_at=months_ago(13))  # expired 1 month ago
    orders.paid(2, alice, 3000, paid_at=months_ago(14))  # expired 2 months ago: first
    committed(lambda: expire_due_points())
    assert [(reason, delta) for reason, delta, _, _ in book.entries(alice)][2:] == [("expire", -30), ("expire", -20)]


def test_due_points_leave_the_balance_at_once_and_the_next_expiry_is_shown(app, orders, member):
    alice = member()
    eleven_months_ago = months_ago(11)
    orders.paid(1, alice, 10_000, paid_at=months_ago(13))  # due, though the job has not run
    orders.paid(2, alice, 2000, paid_at=eleven_months_ago)
    orders.paid(3, alice, 3000, paid_at=eleven_months_ago)  # expires with order 2's
    orders.paid(4, alice, 4000, paid_at=months_ago(10))
    with app.app_context():
        overview = points_overview(alice, page=1, page_size=20)
    assert overview["balance"] == 90
    assert overview["expiring"] == {"points": 50, "at": eleven_months_ago + relativedelta(months=12)}


def test_the_expire_command_commits_and_reports(app, orders, member, book):
    alice = member()
    orders.paid(1, alice, 10_000, paid_at=months_ago(13))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["points", "expire"])
    assert result.exit_code == 0 and "expired 1 lots" in result.output
    assert book.account(alice) == (0, 0)
    assert "expired 0 lots" in runner.invoke(args=["points", "expire"]).output
    future = runner.invoke(args=["points", "expire", "--now", "soon"])
    assert future.exit_code != 0 and "ISO 8601" in future.output
    verified = runner.invoke(args=["points", "verify"])
    assert verified.exit_code == 0 and "every balance matches" in verified.output
