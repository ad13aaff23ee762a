"""Manual tags: marketing creates them and adds or removes them for one member, or for many through a
job (a list of ids, or a CSV of ids) that works a chunk a transaction and keeps its progress."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import BigInteger, String, delete, func, literal, select
from sqlalchemy.exc import IntegrityError

from crm.errors import CrmError
from crm.tags.computed import COMPUTED, is_reserved
from crm.tags.models import MemberTag, Tag, TagJob
from shop.database import MAX_ID, dialect_insert, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.jobs import enqueue
from shop.members.models import Member

MANUAL = "manual"
CHUNK = 500
MAX_JOB_MEMBERS = 100_000


def create_tag(name: str, *, now: datetime) -> Tag:
    if is_reserved(name):
        raise AppError(CrmError.TAG_COMPUTED, f"{name!r} is a computed tag's name; pick another.")
    if db.session.scalar(select(Tag.id).where(Tag.name == name)) is not None:
        raise AppError(CrmError.TAG_NAME_TAKEN, f"A tag named {name!r} exists.")
    tag = Tag(name=name, kind=MANUAL, created_at=now)
    db.session.add(tag)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent create of the same name
        raise AppError(CrmError.TAG_NAME_TAKEN, f"A tag named {name!r} exists.") from None
    return tag


def get_tag(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        raise AppError(CrmError.TAG_NOT_FOUND, "No such tag.")
    return tag


def manual_tag(tag_id: int) -> Tag:
    tag = get_tag(tag_id)
    if tag.kind == COMPUTED:
        raise AppError(CrmError.TAG_COMPUTED, f"{tag.name!r} is computed by its rule; it cannot be set by hand.")
    return tag


def list_tags(*, kind: str | None, page: int, page_size: int) -> dict[str, Any]:
    """Tags by name with how many members carry each (one grouped query)."""
    counts = (select(MemberTag.tag_id, func.count().label("members")).group_by(MemberTag.tag_id).subquery())
    statement = (select(Tag, func.coalesce(counts.c.members, 0))
                 .outerjoin(counts, counts.c.tag_id == Tag.id).order_by(Tag.name))
    if kind:
        statement = statement.where(Tag.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.execute(statement.limit(page_size).offset((page - 1) * page_size)).all()
    items = [{**tag_view(tag), "members": members} for tag, members in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def tag_view(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "kind": tag.kind, "created_at": tag.created_at,
            "refreshed_at": tag.refreshed_at}


def _require_member(member_id: int) -> None:
    if db.session.get(Member, member_id) is None:
        raise AppError(CrmError.MEMBER_NOT_FOUND, "No such member.")


def tag_member(tag_id: int, member_id: int, *, now: datetime) -> bool:
    """Add a manual tag to a member; False when they carried it already."""
    manual_tag(tag_id)
    _require_member(member_id)
    return _add(tag_id, [member_id], source=MANUAL, now=now) == 1


def untag_member(tag_id: int, member_id: int) -> bool:
    manual_tag(tag_id)
    _require_member(member_id)
    return _remove(tag_id, [member_id]) == 1


def _add(tag_id: int, member_ids: list[int], *, source: str, now: datetime) -> int:
    """Tag those of ``member_ids`` who are members and untagged; how many were tagged. One INSERT ... SELECT
    that skips rows already there, so a concurrent add of the same tag is no error."""
    rows = select(Member.id, literal(tag_id, BigInteger), literal(source, String), literal(now, MemberTag.added_at.type)
                  ).where(Member.id.in_(member_ids))
    statement = dialect_insert(db.session)(MemberTag).from_select(["member_id", "tag_id", "source", "added_at"], rows)
    return len(db.session.execute(statement.on_conflict_do_nothing().returning(MemberTag.member_id)).all())


def _remove(tag_id: int, member_ids: list[int]) -> int:
    return db.session.execute(delete(MemberTag).where(MemberTag.tag_id == tag_id,
                                                      MemberTag.member_id.in_(member_ids))).rowcount


def parse_csv_ids(raw: bytes) -> list[int]:
    """Member ids from a CSV: the first column of each row; a header row and blank rows are skipped."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AppError(CrmError.TAG_CSV_INVALID, "The CSV is not UTF-8.") from None
    ids, bad = [], []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (number == 1 and not cell.isdigit()):
            continue
        if not cell.isdigit() or not 0 < int(cell) <= MAX_ID:
            bad.append(number)
        else:
            ids.append(int(cell))
        if len(ids) > MAX_JOB_MEMBERS:
            raise AppError(CrmError.TAG_CSV_INVALID, f"At most {MAX_JOB_MEMBERS} member ids a job.")
    if bad:
        raise AppError(CrmError.TAG_CSV_INVALID, "Some rows hold no member id.", details={"rows": bad[:20]})
    if not ids:
        raise AppError(CrmError.TAG_CSV_INVALID, "The CSV holds no member id.")
    return ids


def start_job(tag_id: int, action: str, member_ids: list[int], *, staff_id: int | None, now: datetime) -> TagJob:
    """A queued job that adds or removes the tag for ``member_ids`` once this transaction commits."""
    manual_tag(tag_id)
    ids = list(dict.fromkeys(member_ids))  # each member once, in the given order
    job = TagJob(id=uuid.uuid4().hex, tag_id=tag_id, action=action, status="queued", member_ids=ids,
                 requested=len(ids), processed=0, changed=0, unknown=0, created_by_staff_id=staff_id, created_at=now)
    db.session.add(job)
    db.session.flush()
    enqueue(run_tag_job, job.id, key=job.id)
    return job


def get_job(tag_id: int, job_id: str) -> TagJob:
    job = db.session.get(TagJob, job_id) if len(job_id) == 32 and job_id.isalnum() else None
    if job is None or job.tag_id != tag_id:
        raise AppError(CrmError.TAG_JOB_NOT_FOUND, "No such job for this tag.")
    return job


def run_tag_job(job_id: str) -> None:
    """The background job: a chunk a transaction, the progress moved with it, so a rerun resumes."""
    job = db.session.get(TagJob, job_id)
    if job is None or job.status == "finished":
        return
    job.status = "running"
    db.session.commit()
    while True:
        job = db.session.get(TagJob, job_id)
        chunk = list(islice(job.member_ids, job.processed, job.processed + CHUNK))
        if not chunk:
            break
        known = set(db.session.scalars(select(Member.id).where(Member.id.in_(chunk))))
        changed = (_add(job.tag_id, chunk, source="job", now=utcnow()) if job.action == "add"
                   else _remove(job.tag_id, chunk))
        job.processed += len(chunk)
        job.changed += changed
        job.unknown += len(chunk) - len(known)
        db.session.commit()
    job.status, job.finished_at = "finished", utcnow()
    db.session.commit()
