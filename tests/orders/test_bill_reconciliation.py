"""Each day's WeChat Pay bill, downloaded from the stub over real HTTP and compared with our payments and
refunds: a lost payment is applied once, a refund WeChat Pay finished is settled, everything else that
differs is flagged; a day's report is served to admins and printed by the CLI."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import requests
from sqlalchemy import func, select

from shop.auth import Role
from shop.bills.models import BillRun
from shop.bills.service import reconcile_bill, reconcile_due_bills
from shop.config import WECHAT_PAY_ZONE
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order, Payment, Refund
from shop.wechat.pay import WeChatPayAPIError
from tests.conftest import bearer
from tests.orders.conftest import (
    at_once,
    eventually,
    manual_refunds,
    pickup_basket,
    place,
    prepay_id_of,
    stub_pay,
    wechat_pay_fails,
    wechat_pay_is_back,
)

TRADE_BILL = "v3/bill/tradebill"


def today() -> date:
    """The Beijing-time day of the payments these tests make (the bill's day)."""
    return datetime.now(WECHAT_PAY_ZONE).date()


def bills_of(stub, day: date, **controls) -> dict:
    """Tell the stub's WeChat Pay what its bills of the day are (made or not, differences to put in)."""
    response = requests.post(f"{stub.url}stub/pay/bills/{day.isoformat()}", json=controls, timeout=10)
    assert response.ok, response.text
    return response.json()


def paid_order(client, stub, shop, shopper) -> dict:
    """An order the shopper paid in WeChat, its notify applied."""
    placed = place(client, shopper, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    return placed["order"]


@pytest.fixture
def buying(shop, live_server):
    """The shop, where shoppers pay orders whose notifies reach the live app."""
    return shop


def shopper(login, name: str) -> dict:
    return bearer(login(f"{name}:1")["token"])


def reconciled(app, day: date, now: datetime | None = None) -> dict:
    with app.app_context():
        run = reconcile_bill(day, now or utcnow())
        db.session.commit()
        return {"status": run.status, "rows": run.trade_rows, "paid_fen": run.paid_fen,
                "refunded_fen": run.refunded_fen, "fund": (run.fund_rows, run.fund_income_fen, run.fund_expense_fen),
                "differences": sorted((d.kind, d.resolution, d.reference) for d in run.differences)}


def payments_of(app, order_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(p.outcome, p.source) for p in db.session.scalars(select(Payment).where(Payment.order_id == order_id))]


def refund_number_once_settled(app, order_id: int) -> str:
    """The order's refund number, once WeChat Pay's refund notify (sent just after its answer) arrived."""

    def settled() -> str | None:
        with app.app_context():
            refund = db.session.scalar(select(Refund).where(Refund.order_id == order_id))
            return refund.number if refund is not None and refund.status == "succeeded" else None

    number = eventually(settled)
    assert number, "the refund notify never arrived"
    return number


def order_status(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).status


def test_a_day_whose_payments_and_refunds_match_the_bill_has_no_difference(app, client, stub, login, buying):
    alice, bob = shopper(login, "alice"), shopper(login, "bob")
    first, second = paid_order(client, stub, buying, alice), paid_order(client, stub, buying, bob)
    refund = client.post(f"/api/v1/orders/{second['id']}/refund", headers=bob, json={"reason": "changed my mind"})
    assert refund.status_code == 202, refund.get_json()
    refund_number_once_settled(app, second["id"])
    bills_of(stub, today(), ready=True)
    report = reconciled(app, today())
    assert report["differences"] == []
    paid = first["amount_payable"] + second["amount_payable"]
    assert (report["status"], report["rows"], report["paid_fen"], report["refunded_fen"]) == (
        "done", 3, paid, second["amount_payable"])
    assert report["fund"] == (3, paid, second["amount_payable"])


def test_a_payment_whose_notify_was_lost_is_applied_from_the_bill_once(app, client, stub, login, buying):
    alice = shopper(login, "alice")
    placed = place(client, alice, pickup_basket(buying)).get_json()
    stub_pay(stub, prepay_id_of(placed), deliver="never")  # WeChat Pay took the money; we never heard
    order_id = placed["order"]["id"]
    assert order_status(app, order_id) == "pending_payment"
    bills_of(stub, today(), ready=True)
    reference = f"trade:{placed['order']['number']}"
    assert reconciled(app, today())["differences"] == [("missing_here", "resolved", reference)]
    assert order_status(app, order_id) == "ready_for_pickup"
    assert payments_of(app, order_id) == [("applied", "bill")]
    # Reconciled again (the CLI), the day keeps its resolved difference and the payment is not applied twice.
    assert reconciled(app, today())["differences"] == [("missing_here", "resolved", reference)]
    assert payments_of(app, order_id) == [("applied", "bill")]


def test_the_job_and_the_cli_reconciling_one_day_at_once_apply_a_lost_payment_once(app, client, stub, login, buying):
    placed = place(client, shopper(login, "alice"), pickup_basket(buying)).get_json()
    stub_pay(stub, prepay_id_of(placed), deliver="never")
    bills_of(stub, today(), ready=False)
    assert reconciled(app, today())["status"] == "waiting"  # the day's run exists: both will find it
    bills_of(stub, today(), ready=True, delay_seconds=0.5)  # both are downloading at the same time

    def run() -> list[tuple[str, str]]:
        with app.app_context():
            done = reconcile_bill(today(), utcnow())
            db.session.commit()
            return sorted((d.kind, d.resolution) for d in done.differences)

    first, second = at_once(run, run)
    assert first == second == [("missing_here", "resolved")]
    assert payments_of(app, placed["order"]["id"]) == [("applied", "bill")]
    with app.app_context():
        assert db.session.scalar(select(BillRun.attempts)) == 3  # each try counted: they took turns


def test_a_paid_transaction_we_never_issued_is_flagged(app, client, stub, login, buying):
    bills_of(stub, today(), ready=True, extra=[{"out_trade_no": "NOTOURS0001", "total": 990}])
    report = reconciled(app, today())
    assert report["differences"] == [("missing_here", "flagged", "trade:NOTOURS0001")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_payment_the_bill_lacks_is_flagged_missing_at_wechat(app, client, stub, login, buying):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=True, drop=[order["number"]])
    assert reconciled(app, today())["differences"] == [("missing_at_wechat", "flagged", f"trade:{order['number']}")]


def test_an_amount_that_differs_from_the_bill_is_flagged_and_nothing_changes(app, client, stub, login, buying):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=True, amounts={order["number"]: order["amount_payable"] - 100})
    assert reconciled(app, today())["differences"] == [("amount_differs", "flagged", f"trade:{order['number']}")]
    with app.app_context():
        [difference] = db.session.scalar(select(BillRun)).differences
        assert (difference.ours_fen, difference.wechat_fen) == (order["amount_payable"], order["amount_payable"] - 100)
    assert payments_of(app, order["id"]) == [("applied", "notify")]


def test_a_refund_wechat_pay_finished_whose_notify_was_lost_is_settled(app, client, stub, login, buying):
    manual_refunds(stub)
    alice = shopper(login, "alice")
    order = paid_order(client, stub, buying, alice)
    assert client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice,
                       json={"reason": "changed my mind"}).status_code == 202
    with app.app_context():
        number = db.session.scalar(select(Refund.number).where(Refund.order_id == order["id"]))
    settled = requests.post(f"{stub.url}stub/pay/refunds/{number}/succeed", json={"deliver": "never"}, timeout=10)
    assert settled.ok, settled.text
    bills_of(stub, today(), ready=True)
    assert reconciled(app, today())["differences"] == [("state_differs", "resolved", f"refund:{number}")]
    with app.app_context():
        assert db.session.scalar(select(Refund.status).where(Refund.number == number)) == "succeeded"
    assert order_status(app, order["id"]) == "refunded"


def test_a_refund_the_bill_shows_failed_while_we_hold_it_done_is_flagged(app, client, stub, login, buying):
    alice = shopper(login, "alice")
    order = paid_order(client, stub, buying, alice)
    assert client.post(f"/api/v1/orders/{order['id']}/refund", headers=alice,
                       json={"reason": "changed my mind"}).status_code == 202
    number = refund_number_once_settled(app, order["id"])
    bills_of(stub, today(), ready=True, refund_status={number: "ABNORMAL"})
    assert reconciled(app, today())["differences"] == [("state_differs", "flagged", f"refund:{number}")]


def test_a_bill_whose_hash_is_not_the_files_is_refused_and_tried_again(app, client, stub, login, buying):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=True, corrupt_hash=True)
    with app.app_context():
        with pytest.raises(WeChatPayAPIError) as refused:
            reconcile_bill(today(), utcnow())
        db.session.commit()
        run = db.session.scalar(select(BillRun))
        assert refused.value.code.value == "wechatpay_bill_corrupt"
        assert (run.status, run.differences, run.trade_rows) == ("failed", [], 0)
        assert "SHA1" in run.last_error and run.next_attempt_at is not None
    assert payments_of(app, order["id"]) == [("applied", "notify")]


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=WECHAT_PAY_ZONE)


def test_the_daily_job_asks_until_wechat_pay_has_made_the_bill_then_reconciles_once(app, client, stub, login, buying):
    paid_order(client, stub, buying, shopper(login, "alice"))
    tomorrow = today() + timedelta(days=1)
    with app.app_context():
        assert reconcile_due_bills(beijing(tomorrow, 9, 30))["date"] != today().isoformat()  # too early for it
        db.session.rollback()
    before = len(stub.received_on(TRADE_BILL))
    with app.app_context():
        first = reconcile_due_bills(beijing(tomorrow, 10, 5))
        db.session.commit()
    assert first == {"date": today().isoformat(), "status": "waiting"}  # 400 NO_STATEMENT_EXIST
    with app.app_context():
        assert reconcile_due_bills(beijing(tomorrow, 10, 20))["status"] == "waiting"  # not asked again yet
    assert len(stub.received_on(TRADE_BILL)) == before + 1
    bills_of(stub, today(), ready=True)
    with app.app_context():
        later = reconcile_due_bills(beijing(tomorrow, 10, 40))
        db.session.commit()
        again = reconcile_due_bills(beijing(tomorrow, 11, 40))
    assert later == {"date": today().isoformat(), "status": "done", "differences": 0}
    assert again == {"date": today().isoformat(), "status": "done"}
    assert len(stub.received_on(TRADE_BILL)) == before + 2


def test_a_day_left_waiting_while_the_scheduler_was_down_is_reconciled_by_a_later_run(app, client, stub, login,
                                                                                      buying):
    paid_order(client, stub, buying, shopper(login, "alice"))
    tomorrow, two_days_on = today() + timedelta(days=1), today() + timedelta(days=2)
    with app.app_context():
        assert reconcile_due_bills(beijing(tomorrow, 10, 5))["status"] == "waiting"  # no bill yet
        db.session.commit()
    bills_of(stub, today(), ready=True)  # made later that day, while no scheduler ran
    with app.app_context():
        caught_up = reconcile_due_bills(beijing(two_days_on, 10, 5))
        db.session.commit()
        run = db.session.scalar(select(BillRun).where(BillRun.bill_date == today()))
        assert (run.status, run.differences) == ("done", [])
    assert caught_up["date"] == tomorrow.isoformat()
    assert caught_up["earlier"] == [{"date": today().isoformat(), "status": "done", "differences": 0}]


def test_wechat_pay_down_during_the_download_is_recorded_and_the_job_tries_again(app, client, stub, login, buying):
    paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=True)
    wechat_pay_fails(stub, path="/v3/bill")
    tomorrow = today() + timedelta(days=1)
    with app.app_context():
        failed = reconcile_due_bills(beijing(tomorrow, 10, 5))
        db.session.commit()
        run = db.session.scalar(select(BillRun))
        assert (run.status, run.attempts) == ("failed", 1) and "busy" in run.last_error
    assert failed == {"date": today().isoformat(), "status": "failed", "error": "wechatpay_unavailable"}
    wechat_pay_is_back(stub)
    with app.app_context():
        assert reconcile_due_bills(beijing(tomorrow, 10, 40))["status"] == "done"


def test_a_payment_recorded_just_before_midnight_but_billed_the_next_day_is_no_difference(app, client, stub, login,
                                                                                           buying):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    yesterday = today() - timedelta(days=1)
    with app.app_context():  # our clock said 23:59 yesterday; WeChat Pay's success_time (its bill) says today
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order["id"]))
        payment.paid_at = beijing(today(), 0) - timedelta(minutes=1)
        db.session.commit()
    assert reconciled(app, yesterday)["differences"] == []
    bills_of(stub, today(), ready=True)
    assert reconciled(app, today())["differences"] == []


def test_a_day_wechat_pay_makes_no_bill_for_is_reconciled_empty_after_the_wait(app, client, stub, login, buying):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=False)
    tomorrow = today() + timedelta(days=1)
    assert reconciled(app, today(), now=beijing(tomorrow, 12))["status"] == "waiting"
    report = reconciled(app, today(), now=beijing(tomorrow + timedelta(days=1), 1))
    assert report["status"] == "done"
    assert report["differences"] == [("missing_at_wechat", "flagged", f"trade:{order['number']}")]


def test_admins_read_the_days_report(app, client, stub, login, buying, staff_token):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    bills_of(stub, today(), ready=True, drop=[order["number"]])
    reconciled(app, today())
    response = client.get(f"/api/v1/admin/reconciliation/{today().isoformat()}", headers=staff_token(Role.ADMIN))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["flagged"], body["bill_date"]) == ("done", 1, today().isoformat())
    [difference] = body["differences"]
    assert difference["kind"] == "missing_at_wechat" and difference["out_trade_no"] == order["number"]
    assert difference["ours_fen"] == order["amount_payable"] and difference["details"]["note"]


@pytest.mark.parametrize(("who", "status"), [("marketing", 403), ("staff", 403), ("shopper", 403), ("nobody", 401)])
def test_only_admins_read_a_report(app, client, login, staff_token, who, status):
    headers = {"marketing": lambda: staff_token(Role.MARKETING), "staff": lambda: staff_token(Role.STAFF, []),
               "shopper": lambda: shopper(login, "alice"), "nobody": dict}[who]()
    assert client.get(f"/api/v1/admin/reconciliation/{today().isoformat()}", headers=headers).status_code == status


@pytest.mark.parametrize(("day", "status", "code"), [
    ("2026-13-01", 422, "validation_error"), ("yesterday", 422, "validation_error"),
    ("2020-01-01", 404, "reconciliation_not_found")])
def test_a_report_of_a_bad_or_unreconciled_day_is_a_clear_error(client, staff_token, day, status, code):
    response = client.get(f"/api/v1/admin/reconciliation/{day}", headers=staff_token(Role.ADMIN))
    assert (response.status_code, response.get_json()["code"]) == (status, code)


def test_the_cli_reconciles_a_day_and_prints_its_differences(app, client, stub, login, buying):
    order = paid_order(client, stub, buying, shopper(login, "alice"))
    runner = app.test_cli_runner()
    waiting = runner.invoke(args=["orders", "reconcile-bill", "--date", today().isoformat()])
    assert waiting.exit_code == 1 and "not made the bill yet" in waiting.output
    bills_of(stub, today(), ready=True, amounts={order["number"]: 1})
    result = runner.invoke(args=["orders", "reconcile-bill", "--date", today().isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 differences (1 flagged)" in result.output and f"trade:{order['number']}" in result.output
    bad = runner.invoke(args=["orders", "reconcile-bill", "--date", "06/12/2026"])
    assert bad.exit_code == 2
