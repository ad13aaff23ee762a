"""Segments: preview a rule (count and a sample), save it by name, list, read and delete; the members
of a saved segment for targeting (only those who granted marketing consent), a page of ids at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from coupons.claiming import targeted
from coupons.models import CouponIssueJob
from crm.errors import CrmError
from crm.segments import rules
from crm.segments.models import Segment
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member
from shop.replica import reading_replica

SAMPLE_SIZE = 20
TARGET_PAGE = 1000
# Each condition of a rule is a set of member ids that PostgreSQL hashes once (crm/segments/rules.py); a set
# that does not fit work_mem (4 MB by default: some 100k ids) is scanned again for every member instead,
# which made a complement over 40k ids take 51 s in place of 0.3 s. 64 MB holds a million members' ids.
SET_MEMORY = "64MB"


def make_room_for_sets() -> None:
    """Let this transaction hash a condition's set of a million member ids (PostgreSQL; SQLite has no such
    limit). Call it before running a statement with a rule's condition."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL work_mem = '{SET_MEMORY}'"))
        # A parallel plan has every worker build the same grouped set again (3 times the work on 2 cores).
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def count(rule: dict, now: datetime) -> int:
    make_room_for_sets()
    return db.session.scalar(select(func.count()).select_from(rules.members_of(rule, now).subquery()))


@reading_replica()
def preview(rule: dict, *, now: datetime) -> dict[str, Any]:
    """How many members the rule holds, and the newest few of them: one statement, so the rule's sets
    (a grouped pass over a period's orders) are computed once for both."""
    rules.check(rule)
    make_room_for_sets()
    held = rules.members_of(rule, now).cte("held")
    newest = select(held.c.id).order_by(held.c.id.desc()).limit(SAMPLE_SIZE)
    rows = db.session.execute(
        select(Member.id, Member.nickname, Member.created_at,
               select(func.count()).select_from(held).scalar_subquery().label("held"))
        .where(Member.id.in_(newest)).order_by(Member.id.desc())).all()
    return {"count": rows[0].held if rows else 0, "sample": [
        {"id": row.id, "nickname": row.nickname, "registered_at": row.created_at} for row in rows]}


def create_segment(name: str, rule: dict, *, staff_id: int | None, now: datetime) -> Segment:
    rules.check(rule)
    if db.session.scalar(select(Segment.id).where(Segment.name == name)) is not None:
        raise AppError(CrmError.SEGMENT_NAME_TAKEN, f"A segment named {name!r} exists.")
    segment = Segment(name=name, rule=rule, created_by_staff_id=staff_id, created_at=now)
    db.session.add(segment)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise AppError(CrmError.SEGMENT_NAME_TAKEN, f"A segment named {name!r} exists.") from None
    return segment


def get_segment(segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None:
        raise AppError(CrmError.SEGMENT_NOT_FOUND, "No such segment.")
    return segment


def segment_view(segment: Segment, now: datetime) -> dict[str, Any]:
    return {"id": segment.id, "name": segment.name, "rule": segment.rule, "created_at": segment.created_at,
            "members": count(segment.rule, now)}


def list_segments(*, page: int, page_size: int) -> dict[str, Any]:
    total = db.session.scalar(select(func.count()).select_from(Segment))
    segments = db.session.scalars(select(Segment).order_by(Segment.name)
                                  .limit(page_size).offset((page - 1) * page_size)).all()
    return {"items": [{"id": s.id, "name": s.name, "rule": s.rule, "created_at": s.created_at} for s in segments],
            "total": total, "page": page, "page_size": page_size}


def delete_segment(segment_id: int) -> None:
    db.session.delete(get_segment(segment_id))


def targetable(rule: dict, now: datetime):
    """select(Member.id) of the rule's members that may be targeted: marketing consent granted (PIPL)."""
    return rules.members_of(rule, now).where(Member.marketing_consent == "granted")


def target_member_ids(segment_id: int, now: datetime | None = None) -> Iterator[int]:
    """The issuing job's source ``{"segment_id": N}``: the segment's consenting members by id, a page a
    query (keyset), so the job may commit between chunks and nothing holds all ids."""
    segment = get_segment(segment_id)
    statement = targetable(segment.rule, now or utcnow())
    last = 0
    while True:
        make_room_for_sets()  # again each page: the job may commit between them
        ids = list(db.session.scalars(statement.where(Member.id > last).order_by(Member.id).limit(TARGET_PAGE)))
        if not ids:
            return
        yield from ids
        last = ids[-1]


def issue_batch(segment_id: int, batch_id: int, *, staff_id: int | None, now: datetime, holdout_percent: int = 0,
                holdout_seed: str | None = None) -> CouponIssueJob:
    """Start the batch's targeted issuance to the segment's consenting members (read as the job runs)."""
    segment = get_segment(segment_id)
    job, _ = targeted.start_job(batch_id, {"segment_id": segment_id}, requested=count_targetable(segment.rule, now),
                                key=None, staff_id=staff_id, now=now, holdout_percent=holdout_percent,
                                holdout_seed=holdout_seed)
    return job


def count_targetable(rule: dict, now: datetime) -> int:
    """How many members ``targetable`` holds."""
    make_room_for_sets()
    return db.session.scalar(select(func.count()).select_from(targetable(rule, now).subquery()))
