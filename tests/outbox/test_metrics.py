"""The outbox's metrics: each run of background work by job and outcome (a retry is watched), and the
backlog as the readiness probe last counted it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from shop.database import utcnow
from shop.extensions import db
from shop.jobs import job_kind
from shop.orders.refunds import send_refund
from shop.outbox.models import OutboxEntry
from tests.metric_samples import moved, sample
from tests.outbox.conftest import entry_for, sweep, wechat_pay_fails, wechat_pay_recovers

REFUND = job_kind(send_refund)


def test_a_refund_that_failed_at_first_counts_a_retry_then_its_success(app, stub, paid_order, ask_refund):
    order = paid_order()
    wechat_pay_fails(stub)
    with moved("ripple_outbox_runs_total", kind=REFUND, outcome="retrying") as retried, \
            moved("ripple_outbox_runs_total", kind=REFUND, outcome="done") as done:
        number = ask_refund(order)
        assert (retried(), done()) == (1, 0)
        wechat_pay_recovers(stub)
        sweep(app, utcnow() + timedelta(minutes=2))
    assert entry_for(app, number)["status"] == "done"
    assert (retried(), done()) == (1, 1)


def test_the_readiness_probe_sets_the_outbox_backlog_it_counted(app, client, stub, paid_order, ask_refund):
    order = paid_order()
    wechat_pay_fails(stub)
    number = ask_refund(order)
    assert client.get("/readyz").status_code == 200
    assert sample("ripple_outbox_overdue") == 0
    with app.app_context():  # nothing handed it on for ten minutes (no sweep, the queue lost)
        db.session.execute(update(OutboxEntry).where(OutboxEntry.id == entry_for(app, number)["id"])
                           .values(next_attempt_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    client.get("/readyz")
    assert sample("ripple_outbox_overdue") == 1 and sample("ripple_outbox_failed") == 0
