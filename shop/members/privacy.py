"""A member's consent and personal data: consent with its history, the anonymisation of a deleted
account, and the kept hash of a deleted openid that stops delete-and-return farming (docs/privacy.md).

Nothing here commits. ``crm.privacy`` orchestrates export and deletion over all packages; coupons and
referral ask ``returning_identity`` (they may not import crm).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, delete, select, update

from shop.database import utcnow
from shop.extensions import db
from shop.members.models import (
    ConsentRecord,
    DeletedIdentity,
    JourneyEvent,
    MarketingConsent,
    Member,
    OfficialAccountFollower,
)
from shop.members.service import get_member

MARKETING = "marketing"
# Attributes of journey events that say who or where a person is; the rest (kinds, amounts, outcomes)
# keeps its meaning for the funnel once the member is gone.
PERSONAL_EVENT_FIELDS = frozenset({"ip", "device_id", "user_agent", "phone", "nickname", "avatar_url",
                                   "address", "q", "query", "latitude", "longitude", "lat", "lng"})


def set_marketing_consent(member_id: int, *, granted: bool, text_version: str, now: datetime) -> Member:
    """Grant or withdraw consent to personalised marketing; each call is a row of the history."""
    member = get_member(member_id)
    member.marketing_consent = (MarketingConsent.GRANTED if granted else MarketingConsent.WITHDRAWN).value
    member.marketing_consent_at, member.marketing_consent_version = now, text_version
    db.session.add(ConsentRecord(member_id=member_id, purpose=MARKETING, granted=granted,
                                 text_version=text_version, recorded_at=now))
    return member


def consent_history(member_id: int) -> Select:
    """The member's consent grants and withdrawals, oldest first (a statement, for paginate)."""
    return (select(ConsentRecord).where(ConsentRecord.member_id == member_id)
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id))


def identity_hash(openid: str) -> str:
    """HMAC-SHA256 of an openid under the privacy salt (PRIVACY_IDENTITY_SALT, else derived from SECRET_KEY)."""
    config = current_app.config
    salt = config["PRIVACY_IDENTITY_SALT"] or hmac.new(
        str(config["SECRET_KEY"]).encode(), b"ripple:privacy:openid", hashlib.sha256).hexdigest()
    return hmac.new(salt.encode(), openid.encode(), hashlib.sha256).hexdigest()


def returning_identity(member_id: int, now: datetime | None = None) -> bool:
    """Whether this member's WeChat identity belonged to an account deleted within the kept period.

    Used only to refuse a second welcome coupon and a new bind under a sharer (docs/privacy.md).
    """
    openid = db.session.scalar(select(Member.openid).where(Member.id == member_id, Member.deleted_at.is_(None)))
    if openid is None:
        return False
    return db.session.scalar(select(DeletedIdentity.id).where(
        DeletedIdentity.openid_hash == identity_hash(openid), DeletedIdentity.expires_at > (now or utcnow()))) is not None


def anonymise(member_id: int, *, now: datetime) -> dict[str, int]:
    """Erase who the member is, keep what they did: the row stays (orders, ledgers and the tree point at
    it), its tokens end, and the openid's salted hash is kept for PRIVACY_RETURNING_IDENTITY_DAYS."""
    member = get_member(member_id)
    _remember_identity(member.openid, now=now)
    for name in ("unionid", "session_key", "nickname", "avatar_url", "phone", "phone_country_code"):
        setattr(member, name, None)
    member.openid = f"deleted:{member.id}"  # unique and never a WeChat openid: the identity logs in anew
    member.marketing_consent = MarketingConsent.WITHDRAWN.value
    member.marketing_consent_at = now
    member.token_version = (member.token_version or 0) + 1
    member.deleted_at = now
    followers = db.session.execute(update(OfficialAccountFollower).where(OfficialAccountFollower.member_id == member_id)
                                   .values(member_id=None, unionid=None)).rowcount
    return {"official_account_links": followers, "journey_events": _scrub_events(member_id)}


def _remember_identity(openid: str, *, now: datetime) -> None:
    expires_at = now + timedelta(days=current_app.config["PRIVACY_RETURNING_IDENTITY_DAYS"])
    digest = identity_hash(openid)
    kept = db.session.scalar(select(DeletedIdentity).where(DeletedIdentity.openid_hash == digest))
    if kept is None:
        db.session.add(DeletedIdentity(openid_hash=digest, expires_at=expires_at))
    else:  # deleted again after coming back: the period starts again
        kept.expires_at = expires_at


def _scrub_events(member_id: int) -> int:
    """Drop the personal attributes of the member's journey events; how many were changed."""
    changed, last_id = 0, 0
    while True:
        rows = db.session.execute(select(JourneyEvent.id, JourneyEvent.attributes).where(
            JourneyEvent.member_id == member_id, JourneyEvent.id > last_id).order_by(JourneyEvent.id).limit(500)).all()
        if not rows:
            return changed
        for row in rows:
            attributes = row.attributes or {}
            if PERSONAL_EVENT_FIELDS & attributes.keys():
                kept = {key: value for key, value in attributes.items() if key not in PERSONAL_EVENT_FIELDS}
                db.session.execute(update(JourneyEvent).where(JourneyEvent.id == row.id).values(attributes=kept))
                changed += 1
        last_id = rows[-1].id


def purge_deleted_identities(now: datetime) -> int:
    """Forget the hashes whose period is over (a periodic job); how many."""
    return db.session.execute(delete(DeletedIdentity).where(DeletedIdentity.expires_at <= now)).rowcount
