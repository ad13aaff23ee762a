"""The rules of subscribe messages: what a member may still be sent, recording acceptances, queueing a
message (taking one send in the caller's transaction) and sending it (the outbox's job)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from shop.database import dialect_insert, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.jobs import enqueue
from shop.members.models import Member
from shop.messages import keywords
from shop.messages.errors import MessageError
from shop.messages.models import (
    MAX_SENDS_LEFT,
    MessageAcceptance,
    MessageSend,
    MessageSubscription,
    SendStatus,
)
from shop.messages.templates import Purpose, Template, configured_templates, template_for
from shop.wechat.gateway import wechat
from shop.wechat.subscribe_messages import USER_REFUSED, send_subscribe_message

log = logging.getLogger(__name__)
LANG = "zh_CN"
subscriptions = MessageSubscription.__table__
sends = MessageSend.__table__


# --- what the member accepted -----------------------------------------------------------------

def list_subscriptions(member_id: int) -> dict[str, Any]:
    """The templates Ripple sends, each with the sends this member has left."""
    templates = configured_templates(current_app.config)
    left = dict(db.session.execute(
        select(subscriptions.c.template_id, subscriptions.c.sends_left)
        .where(subscriptions.c.member_id == member_id,
               subscriptions.c.template_id.in_([t.template_id for t in templates]))).all())
    return {"templates": [{"template_id": t.template_id, "purpose": t.purpose.value,
                           "sends_left": left.get(t.template_id, 0)} for t in templates]}


def accept(member_id: int, *, asked: list[str], accepted: list[str], key: str | None,
           now: datetime | None = None) -> dict[str, Any]:
    """Record what the shopper accepted in ``wx.requestSubscribeMessage``: one more send of each accepted
    template (at most ``MAX_SENDS_LEFT``). A retry with the same Idempotency-Key adds nothing again."""
    now = now or utcnow()
    known = {t.template_id for t in configured_templates(current_app.config)}
    unknown = sorted({*asked, *accepted} - known)
    if unknown:
        raise AppError(MessageError.TEMPLATE_UNKNOWN, "Ripple sends no such template.",
                       errors={"template_ids": [f"Unknown: {', '.join(unknown)}."]})
    accepted = list(dict.fromkeys(accepted))
    if key is not None and _seen(member_id, key, asked, accepted):
        return list_subscriptions(member_id)
    try:
        with db.session.begin_nested():  # the same key sent twice at once: one row, the other sees it
            db.session.add(MessageAcceptance(member_id=member_id, idempotency_key=key,
                                             asked=list(dict.fromkeys(asked)), accepted=accepted, created_at=now))
    except IntegrityError:
        if key is not None and _seen(member_id, key, asked, accepted):
            return list_subscriptions(member_id)
        raise
    for template_id in accepted:
        _add_send(member_id, template_id, now)
    db.session.flush()
    return list_subscriptions(member_id)


def _seen(member_id: int, key: str, asked: list[str], accepted: list[str]) -> bool:
    """Whether this key was recorded already (the same request); 422 if it recorded something else."""
    first = db.session.scalar(select(MessageAcceptance).where(MessageAcceptance.member_id == member_id,
                                                               MessageAcceptance.idempotency_key == key))
    if first is None:
        return False
    if set(first.accepted) != set(accepted) or set(first.asked) != set(asked):
        raise AppError(IdempotencyError.KEY_REUSED, "This Idempotency-Key recorded other acceptances.")
    return True


def _add_send(member_id: int, template_id: str, now: datetime) -> None:
    insert = dialect_insert(db.session)
    statement = insert(subscriptions).values(member_id=member_id, template_id=template_id, sends_left=1,
                                             updated_at=now)
    grown = subscriptions.c.sends_left + 1
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[subscriptions.c.member_id, subscriptions.c.template_id],
        set_={"sends_left": case((grown > MAX_SENDS_LEFT, MAX_SENDS_LEFT), else_=grown), "updated_at": now}))


def _take_send(member_id: int, template_id: str, now: datetime) -> bool:
    """One send of this template taken from the member's, if any is left (a conditional UPDATE: two
    messages at once with one left send one)."""
    return bool(db.session.execute(
        update(subscriptions).where(subscriptions.c.member_id == member_id,
                                    subscriptions.c.template_id == template_id, subscriptions.c.sends_left > 0)
        .values(sends_left=subscriptions.c.sends_left - 1, updated_at=now)).rowcount)


def _give_back_send(member_id: int, template_id: str, now: datetime) -> None:
    db.session.execute(
        update(subscriptions).where(subscriptions.c.member_id == member_id,
                                    subscriptions.c.template_id == template_id,
                                    subscriptions.c.sends_left < MAX_SENDS_LEFT)
        .values(sends_left=subscriptions.c.sends_left + 1, updated_at=now))


def _forget_sends(member_id: int, template_id: str, now: datetime) -> None:
    db.session.execute(update(subscriptions).where(subscriptions.c.member_id == member_id,
                                                   subscriptions.c.template_id == template_id)
                       .values(sends_left=0, updated_at=now))


# --- queueing a message -----------------------------------------------------------------------

def queue_message(purpose: Purpose, *, member_id: int, subject_id: int, values: Mapping[str, Any],
                  now: datetime | None = None) -> str | None:
    """Queue a message in the caller's transaction; what became of it (a ``SendStatus``), or None when
    this deployment has no template for the purpose or the message was queued before (same purpose,
    member and subject). It never raises for a member without sends left (``no_subscription``) or for
    values that do not fit (``failed``, logged as an error): a message must not undo the change it reports."""
    now = now or utcnow()
    template = template_for(current_app.config, purpose)
    if template is None:
        return None
    try:
        data = {keyword: {"value": keywords.fit(kind, values[keyword])}
                for keyword, kind in template.layout.keywords.items()}
    except (KeyError, ValueError) as error:
        log.error("subscribe message %s for member %s (subject %s) not queued: its values do not fit the "
                  "template: %r", purpose.value, member_id, subject_id, error)
        _record(template, member_id=member_id, subject_id=subject_id, data={}, now=now,
                status=SendStatus.FAILED, errmsg=f"values do not fit: {error}"[:256])
        return SendStatus.FAILED.value
    send_id = _record(template, member_id=member_id, subject_id=subject_id, data=data, now=now)
    if send_id is None:
        return None
    if not _take_send(member_id, template.template_id, now):
        db.session.execute(update(sends).where(sends.c.id == send_id)
                           .values(status=SendStatus.NO_SUBSCRIPTION.value))
        return SendStatus.NO_SUBSCRIPTION.value
    enqueue(send_message, send_id, key=send_id)
    return SendStatus.QUEUED.value


def _record(template: Template, *, member_id: int, subject_id: int, data: dict[str, Any], now: datetime,
            status: SendStatus = SendStatus.QUEUED, errmsg: str | None = None) -> int | None:
    """The send's row; None when this message was recorded before (the unique key)."""
    insert = dialect_insert(db.session)
    page = template.layout.page.format(subject_id=subject_id)
    return db.session.scalar(
        insert(sends).values(purpose=template.purpose.value, member_id=member_id, subject_id=subject_id,
                             template_id=template.template_id, page=page, data=data,
                             status=status.value, errmsg=errmsg, created_at=now)
        .on_conflict_do_nothing(index_elements=[sends.c.purpose, sends.c.member_id, sends.c.subject_id])
        .returning(sends.c.id))


# --- sending (the outbox's job) ---------------------------------------------------------------

def send_message(send_id: int) -> None:
    """Send a queued message to WeChat once. Refused (43101): recorded, not retried, and the member's
    count of that template set to 0 (WeChat says they have none). Any other final error is our request's
    fault (47003 data, 41030 page, ...): logged as an error, not retried, and the send given back. Busy
    or unreachable: raises, and the outbox tries again."""
    send = db.session.get(MessageSend, send_id, with_for_update=True)
    if send is None or send.status != SendStatus.QUEUED:
        return
    openid = db.session.scalar(select(Member.openid).where(Member.id == send.member_id))
    answer = send_subscribe_message(wechat().miniprogram, openid=openid, template_id=send.template_id,
                                    data=send.data, page=send.page, lang=LANG,
                                    miniprogram_state=current_app.config["MESSAGE_MINIPROGRAM_STATE"])
    now = utcnow()
    send.errcode, send.errmsg = answer.errcode, answer.errmsg
    if answer.sent:
        send.status, send.msgid, send.sent_at = SendStatus.SENT.value, answer.msgid, now
    elif answer.errcode == USER_REFUSED:
        send.status = SendStatus.REFUSED.value
        _forget_sends(send.member_id, send.template_id, now)
        log.info("member %s refuses template %s (43101): not sent", send.member_id, send.template_id)
    else:
        send.status = SendStatus.FAILED.value
        _give_back_send(send.member_id, send.template_id, now)
        log.error("subscribe message %s (%s, template %s) refused by WeChat with %s %s: our request is wrong "
                  "(data, page or template); not retried", send.id, send.purpose, send.template_id,
                  answer.errcode, answer.errmsg)
    db.session.flush()
