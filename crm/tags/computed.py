"""Computed tags, kept fresh by a periodic job: each family's members are a select of (member_id, name)
pairs (crm/tags/queries.py); a refresh inserts the pairs that are missing and deletes the rows no longer
in them, in SQL (set differences: INSERT ... SELECT ... EXCEPT, DELETE ... WHERE (member, tag) IN (... EXCEPT
...)), so no member is loaded into Python and only what changed is written.

Families: ``follower``, ``new_member``, ``sharer``, ``promoter``, ``high_value``, ``lapsed``,
``regular_store:<store id>`` and ``tier:<tier name>``; thresholds are CRM_* settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    tuple_,
    update,
)

from crm.tags import queries
from crm.tags.models import MemberProfile, MemberTag, Tag
from shop.database import dialect_insert
from shop.extensions import db

log = logging.getLogger(__name__)
COMPUTED = "computed"
FIXED_FAMILIES = ("follower", "new_member", "sharer", "promoter", "high_value", "lapsed")
PREFIXED_FAMILIES = ("regular_store", "tier")  # tags named <family>:<value>


def is_reserved(name: str) -> bool:
    """A name the computed families own: manual tags cannot take it."""
    return name in FIXED_FAMILIES or name.split(":", 1)[0] in PREFIXED_FAMILIES and ":" in name


def _family_pairs(now: datetime) -> dict[str, Callable[[], Select]]:
    config = current_app.config
    profile = MemberProfile
    return {
        "follower": queries.follower_pairs,
        "new_member": lambda: queries.new_member_pairs(now, config["CRM_NEW_MEMBER_DAYS"]),
        "sharer": queries.sharer_pairs,
        "promoter": queries.promoter_pairs,
        "high_value": lambda: queries.high_value_pairs(now, config["CRM_HIGH_VALUE_FEN"]),
        "lapsed": lambda: queries.lapsed_pairs(now, config["CRM_LAPSED_DAYS"]),
        "regular_store": lambda: select(
            profile.member_id.label(queries.MEMBER_ID),
            (literal("regular_store:", String) + cast(profile.regular_store_id, String)).label(queries.NAME),
        ).where(profile.regular_store_id.is_not(None)),
        "tier": lambda: select(profile.member_id.label(queries.MEMBER_ID),
                               (literal("tier:", String) + profile.tier).label(queries.NAME))
        .where(profile.tier.is_not(None)),
    }


def refresh_profiles(now: datetime) -> None:
    """Bring every member's tier and regular store up to date, writing only the rows whose figures changed
    (the computed rows EXCEPT the stored ones, upserted; ``refreshed_at``: when they last changed): rewriting
    every member's row each time was most of a refresh, and at a million members the whole budget."""
    tiers = queries.member_tiers(now).subquery()
    regular = queries.regular_stores(current_app.config["CRM_REGULAR_MIN_VISITS"]).subquery()
    computed = (select(tiers.c.member_id, tiers.c.tier, regular.c.store_id.label("regular_store_id"))
                .outerjoin(regular, regular.c.member_id == tiers.c.member_id))
    stored = select(MemberProfile.member_id, MemberProfile.tier, MemberProfile.regular_store_id)
    changed = computed.except_(stored).subquery()
    statement = dialect_insert(db.session)(MemberProfile).from_select(
        ["member_id", "tier", "regular_store_id", "refreshed_at"],
        select(changed.c.member_id, changed.c.tier, changed.c.regular_store_id,
               literal(now, MemberProfile.refreshed_at.type)).where(true()))  # SQLite: ON CONFLICT after a WHERE
    new = statement.excluded
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[MemberProfile.member_id],
        set_={"tier": new.tier, "regular_store_id": new.regular_store_id, "refreshed_at": new.refreshed_at}))


def refresh_family(family: str, pairs: Select, now: datetime) -> None:
    """Make the family's tags hold exactly ``pairs``: new tag names created, missing rows added, stale removed.
    The stale and the missing rows are each one set difference (EXCEPT) computed once, not a NOT EXISTS
    the planner may run per tagged row against the family's query."""
    wanted = pairs.subquery()
    db.session.execute(insert(Tag).from_select(
        ["name", "kind", "family", "created_at"],
        select(wanted.c.name, literal(COMPUTED, String), literal(family, String),
               literal(now, Tag.created_at.type)).distinct()
        .where(~exists().where(Tag.name == wanted.c.name))))
    wanted_rows = (select(wanted.c.member_id, Tag.id)
                   .join(Tag, and_(Tag.name == wanted.c.name, Tag.family == family)))
    held_rows = (select(MemberTag.member_id, MemberTag.tag_id)
                 .join(Tag, Tag.id == MemberTag.tag_id).where(Tag.family == family))
    stale = held_rows.except_(wanted_rows).subquery()
    db.session.execute(delete(MemberTag).where(
        tuple_(MemberTag.member_id, MemberTag.tag_id).in_(select(stale.c.member_id, stale.c.tag_id))))
    missing = wanted_rows.except_(held_rows).subquery()
    db.session.execute(insert(MemberTag).from_select(
        ["member_id", "tag_id", "source", "added_at"],
        select(missing.c.member_id, missing.c.id, literal(COMPUTED, String),
               literal(now, MemberTag.added_at.type))))
    db.session.execute(update(Tag).where(Tag.family == family).values(refreshed_at=now))


def _ensure_fixed_tags(now: datetime) -> None:
    known = set(db.session.scalars(select(Tag.name).where(Tag.name.in_(FIXED_FAMILIES))))
    for name in FIXED_FAMILIES:
        if name not in known:
            db.session.add(Tag(name=name, kind=COMPUTED, family=name, created_at=now))
    db.session.flush()


def refresh_computed_tags(now: datetime) -> dict[str, int]:
    """Recompute every computed tag now (the caller commits); rows per family afterwards."""
    _ensure_fixed_tags(now)
    refresh_profiles(now)
    for family, pairs in _family_pairs(now).items():
        refresh_family(family, pairs(), now)
    counts = db.session.execute(
        select(Tag.family, func.count(MemberTag.member_id)).join(MemberTag, MemberTag.tag_id == Tag.id)
        .where(Tag.kind == COMPUTED).group_by(Tag.family)).all()
    return {family: count for family, count in counts}


def refresh_when_due(now: datetime) -> dict[str, int] | str:
    """The periodic job: refresh when the last refresh is older than CRM_TAG_REFRESH_MINUTES."""
    last = db.session.scalar(select(func.min(Tag.refreshed_at)).where(Tag.family.in_(FIXED_FAMILIES)))
    every = timedelta(minutes=current_app.config["CRM_TAG_REFRESH_MINUTES"])
    if last is not None and now - last < every:
        return "fresh"
    summary = refresh_computed_tags(now)
    log.info("computed tags refreshed: %s", summary)
    return summary
