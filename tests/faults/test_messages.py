"""Subscribe messages survive Redis and a busy WeChat: the send taken and the message to send live in
the database (counts and outbox), so a queue lost in a Redis restart or WeChat answering "busy" for a
while delays the message and never loses it, sends it twice, or takes a second send."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select, update

from shop.database import utcnow
from shop.extensions import db
from shop.messages.models import MessageSend, MessageSubscription
from shop.messages.service import queue_message
from shop.messages.templates import Purpose
from shop.outbox.models import OutboxEntry
from tests.messages.conftest import send_jobs, sent, stub_answers, template_id
from tests.outbox.conftest import sweep


def _member_who_accepted(target, name: str, times: int) -> int:
    answer = requests.post(f"{target.base_url}/api/v1/auth/wechat-login", json={"code": f"{name}:1"}, timeout=10)
    assert answer.status_code == 200, answer.text
    ids = [template_id(Purpose.WITHDRAWAL_PAID)]
    for _ in range(times):
        accepted = requests.post(f"{target.base_url}/api/v1/me/subscriptions", timeout=10,
                                 json={"template_ids": ids, "accepted": ids},
                                 headers={"Authorization": f"Bearer {answer.json()['token']}"})
        assert accepted.status_code == 200, accepted.text
    return answer.json()["member"]["id"]


def _withdrawal_paid(app, member_id: int, withdrawal_id: int) -> str | None:
    """What referral does when a transfer succeeds: the message queued in that transaction."""
    with app.app_context():
        outcome = queue_message(Purpose.WITHDRAWAL_PAID, member_id=member_id, subject_id=withdrawal_id,
                                values={"amount1": 300, "time2": utcnow(), "thing3": "提现已到账"})
        db.session.commit()
        return outcome


def _backoff_passes(app) -> None:
    with app.app_context():
        db.session.execute(update(OutboxEntry).where(OutboxEntry.status == "pending")
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _invariants(app, member_id: int, *, sent_rows: int, left: int) -> None:
    with app.app_context():
        statuses = list(db.session.scalars(select(MessageSend.status)))
        assert statuses.count("sent") == sent_rows and "queued" not in statuses
        assert db.session.scalar(select(MessageSubscription.sends_left)
                                 .where(MessageSubscription.member_id == member_id)) == left
        assert set(db.session.scalars(select(OutboxEntry.status))) <= {"done"}


def test_a_message_whose_queued_job_was_lost_in_a_redis_restart_is_sent_once_by_the_sweep(queued_target, stub):
    target = queued_target
    member_id = _member_who_accepted(target, "wendy", times=1)
    assert _withdrawal_paid(target.app, member_id, 41) == "queued"

    target.redis.restart_empty()  # the RQ job is gone; the outbox row and the count are in the database
    target.extra["run_worker"]()
    assert sent(stub) == []
    assert sweep(target.app, utcnow()) == {"dispatched": 1}
    target.extra["run_worker"]()
    assert sweep(target.app, utcnow()) == {"dispatched": 0}
    assert len(sent(stub)) == 1
    _invariants(target.app, member_id, sent_rows=1, left=0)


def test_wechat_busy_for_a_while_delays_the_message_and_sends_it_once(queued_target, stub):
    target = queued_target
    member_id = _member_who_accepted(target, "xavier", times=1)
    stub_answers(stub, -1, -1, 45011)
    assert _withdrawal_paid(target.app, member_id, 42) == "queued"
    assert _withdrawal_paid(target.app, member_id, 43) == "no_subscription"  # one acceptance: one message
    target.extra["run_worker"]()
    for _ in range(3):
        assert send_jobs(target.app) == [("pending", len(sent(stub)))]
        _backoff_passes(target.app)
        assert sweep(target.app, utcnow()) == {"dispatched": 1}
        target.extra["run_worker"]()
    bodies = sent(stub)
    assert len(bodies) == 4 and len({b["template_id"] for b in bodies}) == 1  # three busy answers, then sent
    _invariants(target.app, member_id, sent_rows=1, left=0)
