"""Subscribe-message helpers: the templates a shopper accepts, what reached WeChat, the sends recorded."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from sqlalchemy import select

from shop.extensions import db
from shop.messages.models import MessageSend
from shop.messages.templates import LAYOUTS, Purpose
from shop.outbox.models import OutboxEntry
from tests.coupons.conftest import active_batch, marketing  # noqa: F401  (fixtures)
from tests.orders.conftest import alice, shop  # noqa: F401  (fixtures)
from tests.referral.rewards.conftest import buy, chain, configure, release_after  # noqa: F401  (fixtures)

SEND_PATH = "cgi-bin/message/subscribe/send"


def template_id(purpose: Purpose) -> str:
    """The development template id of a purpose (what the test app and the stub use)."""
    return LAYOUTS[purpose].dev_template_id


def subscriptions(client, headers) -> dict[str, int]:
    """Sends left per purpose, as GET /me/subscriptions lists them."""
    response = client.get("/api/v1/me/subscriptions", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {t["purpose"]: t["sends_left"] for t in response.get_json()["templates"]}


def accept(client, headers, *purposes: Purpose, key: str | None = None):
    """The shopper accepts these templates in wx.requestSubscribeMessage (once each)."""
    ids = [template_id(p) for p in purposes]
    return client.post("/api/v1/me/subscriptions", json={"template_ids": ids, "accepted": ids},
                       headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def sent(stub) -> list[dict[str, Any]]:
    """The bodies of the subscribe messages WeChat was asked to send, oldest first."""
    return [entry["json"] for entry in stub.received_on(SEND_PATH)]


def sends(app) -> list[dict[str, Any]]:
    """The sends Ripple recorded, oldest first."""
    with app.app_context():
        return [{"purpose": s.purpose, "member_id": s.member_id, "subject_id": s.subject_id, "status": s.status,
                 "errcode": s.errcode, "msgid": s.msgid, "data": s.data}
                for s in db.session.scalars(select(MessageSend).order_by(MessageSend.id))]


def send_jobs(app) -> list[tuple[str, int]]:
    """(status, attempts) of each outbox entry that sends a message."""
    with app.app_context():
        return [(e.status, e.attempts) for e in db.session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind.like("shop.messages%")).order_by(OutboxEntry.id))]


def stub_answers(stub, *errcodes: int) -> None:
    """WeChat answers the next sends with these errcodes, one each."""
    requests.post(f"{stub.url}stub/subscribe/answers", json={"errcodes": list(errcodes)}, timeout=5).raise_for_status()
