"""Following the official account, and linking followers to members by unionid."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop import events
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.members.models import Member, OfficialAccountFollower
from shop.wechat.gateway import OfficialAccountGateway

log = logging.getLogger(__name__)


def follow(gateway: OfficialAccountGateway, *, oa_openid: str, scene: str | None,
           at: datetime) -> OfficialAccountFollower:
    """A subscribe event (plain, or through a parametric QR code carrying ``scene``)."""
    follower = _follower(oa_openid)
    newly = not follower.subscribed
    follower.subscribed = True
    follower.subscribed_at = at
    follower.unsubscribed_at = None
    follower.first_subscribed_at = follower.first_subscribed_at or at
    follower.source_scene = scene or follower.source_scene
    if follower.member_id is None:
        _link_to_member(gateway, follower)
    elif newly:
        _announce_follow(follower)
    return follower


def unfollow(*, oa_openid: str, at: datetime) -> OfficialAccountFollower:
    follower = _follower(oa_openid)
    was_subscribed = follower.subscribed
    follower.subscribed = False
    follower.unsubscribed_at = at
    if was_subscribed and follower.member_id is not None:
        record_event(follower.member_id, JourneyKind.UNFOLLOWED, occurred_at=at)
        events.member_unfollowed.send(member_id=follower.member_id)
    return follower


def scan(gateway: OfficialAccountGateway, *, oa_openid: str, scene: str | None,
         at: datetime) -> OfficialAccountFollower:
    """A follower scanned a parametric QR code (only followers get SCAN)."""
    follower = _follower(oa_openid)
    if not follower.subscribed:  # followed before we kept records
        follower.subscribed, follower.subscribed_at = True, at
        follower.first_subscribed_at = follower.first_subscribed_at or at
    if follower.member_id is None:
        _link_to_member(gateway, follower)
    if follower.member_id is not None:
        record_event(follower.member_id, JourneyKind.SCANNED_QR, occurred_at=at, scene=scene)
    return follower


def link_follower(member: Member) -> None:
    """On login: attach the follower with the member's unionid, seen before the member logged in."""
    if member.follower is not None or not member.unionid:
        return
    follower = db.session.scalar(select(OfficialAccountFollower).where(
        OfficialAccountFollower.unionid == member.unionid, OfficialAccountFollower.member_id.is_(None)))
    if follower is not None:
        _attach(follower, member)


def _link_to_member(gateway: OfficialAccountGateway, follower: OfficialAccountFollower) -> None:
    """Link by unionid, asking WeChat for it if an earlier event could not get it."""
    if follower.unionid is None:
        follower.unionid = _unionid(gateway, follower.oa_openid)
    if not follower.unionid:
        return
    member = db.session.scalar(select(Member).where(Member.unionid == follower.unionid))
    if member is not None and member.follower is None:
        _attach(follower, member)


def _attach(follower: OfficialAccountFollower, member: Member) -> None:
    follower.member = member
    follower.member_id = member.id  # now, not at flush: the follow below is recorded against it
    if follower.subscribed:
        _announce_follow(follower)


def _announce_follow(follower: OfficialAccountFollower) -> None:
    record_event(follower.member_id, JourneyKind.FOLLOWED, occurred_at=follower.subscribed_at,
                 scene=follower.source_scene)
    events.member_followed.send(member_id=follower.member_id, scene=follower.source_scene)


def _follower(oa_openid: str) -> OfficialAccountFollower:
    """The follower row, created if new; WeChat's retries of the same event may race to create it."""
    query = select(OfficialAccountFollower).where(OfficialAccountFollower.oa_openid == oa_openid)
    follower = db.session.scalar(query)
    if follower is not None:
        return follower
    follower = OfficialAccountFollower(oa_openid=oa_openid, subscribed=False)
    try:
        with db.session.begin_nested():
            db.session.add(follower)
    except IntegrityError:
        follower = db.session.scalar(query)
        if follower is None:
            raise
    return follower


def _unionid(gateway: OfficialAccountGateway, oa_openid: str) -> str | None:
    """Best effort: a follow must be recorded even when WeChat cannot tell us the unionid now."""
    try:
        return gateway.unionid_of(oa_openid)
    except AppError as exc:
        log.warning("no unionid for follower %s: %s", oa_openid, exc.message)
        return None
