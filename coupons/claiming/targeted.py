"""Targeted issuance: marketing issues a `targeted` batch to chosen members, in a background job.

The job (a CouponIssueJob row) names a *source* of member ids: ``{"member_ids": [...]}`` today; a
segment becomes one more entry in ``SOURCES`` (``{"segment_id": 7}`` -> its members). The job
walks the ids a chunk at a time, each chunk one transaction that issues through the gate
(coupons/claiming/issuing.py: total, per-member and daily limits) and moves the progress counters with it,
so the counters always match the coupons written and a job run again (an RQ retry) resumes after
the last committed chunk. Each member's coupon is keyed ``job:<job id>``: a member listed twice
gets one coupon (the second is skipped as ``already_issued``). A job may hold out a random share of its
members as a control group that gets no coupon (coupons/claiming/holdout.py), assigned in each chunk's
transaction before its coupons are issued.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from itertools import islice
from typing import Any

from sqlalchemy import select

from coupons.batches.service import get_batch
from coupons.claiming import holdout
from coupons.claiming.issuing import Skip, is_open, issue
from coupons.errors import CouponError
from coupons.models import BatchChannel, CouponBatch, CouponIssueJob
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.jobs import enqueue
from shop.members.models import Member
from shop.pagination import paginate

log = logging.getLogger(__name__)
MAX_MEMBER_IDS = 100_000  # a request's list; larger audiences are segments
CHUNK = 500  # members a transaction
SHOWN_SKIPS = 100  # skipped members listed by id (all are counted by reason)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


# Where member ids come from: a job's ``source`` is ``{kind: value}``; SOURCES[kind](value) yields the ids.
SOURCES: dict[str, Callable[[Any], Iterable[int]]] = {"member_ids": lambda ids: ids}


def member_ids_of(source: Mapping[str, Any]) -> Iterable[int]:
    """The member ids a job's source names."""
    ((kind, value),) = source.items()
    return SOURCES[kind](value)


def start_job(batch_id: int, source: dict[str, Any], *, requested: int, key: str | None,
              staff_id: int | None, now: datetime, holdout_percent: int = 0,
              holdout_seed: str | None = None) -> tuple[CouponIssueJob, bool]:
    """(job, created): a queued job that runs once this transaction commits, or the one ``key`` started.

    With ``holdout_percent`` > 0 that share of the members is held out as a control group, drawn with
    ``holdout_seed`` (a new random seed when none is given; recorded on the job)."""
    job_id = _job_id(batch_id, key)
    existing = db.session.get(CouponIssueJob, job_id)
    if existing is not None:
        if existing.source != source or existing.holdout_percent != holdout_percent:
            raise AppError(IdempotencyError.KEY_REUSED,
                           "This Idempotency-Key started a job for other members or another holdout; use a new key.")
        return existing, False
    batch = get_batch(batch_id)
    if batch.channel != BatchChannel.TARGETED:
        raise AppError(CouponError.COUPON_BATCH_WRONG_CHANNEL,
                       f"This batch's channel is {batch.channel}; only targeted batches are issued to members.")
    if not is_open(batch, now):
        raise AppError(CouponError.COUPON_BATCH_NOT_ACTIVE,
                       f"This batch is {batch.status} or outside its window; activate it first.")
    job = CouponIssueJob(id=job_id, batch_id=batch_id, status=JobStatus.QUEUED.value, source=source,
                         requested=requested, processed=0, issued=0, skipped=0, skip_reasons={},
                         skipped_members=[], created_by_staff_id=staff_id, created_at=now,
                         holdout_percent=holdout_percent, treated=0, control=0,
                         holdout_seed=(holdout_seed or holdout.new_seed()) if holdout_percent > 0 else None)
    db.session.add(job)
    db.session.flush()
    enqueue(run_issue_job, job_id, key=job_id)
    return job, True


_JOB_ID = re.compile(r"[0-9a-f]{32}")


def _job_id(batch_id: int, key: str | None) -> str:
    """A new id, or (with an Idempotency-Key) the same id for the same batch and key."""
    if key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{batch_id}:{key}".encode()).hexdigest()[:32]


def get_job(batch_id: int, job_id: str) -> CouponIssueJob:
    # Ids are 32 hex digits; anything else is no job (and a NUL would be a PostgreSQL error).
    job = db.session.get(CouponIssueJob, job_id) if _JOB_ID.fullmatch(job_id) else None
    if job is None or job.batch_id != batch_id:
        raise AppError(CouponError.COUPON_ISSUE_JOB_NOT_FOUND, "No such issue job for this batch.")
    return job


def list_jobs(batch_id: int, *, page: int, page_size: int) -> dict[str, Any]:
    get_batch(batch_id)
    return paginate(select(CouponIssueJob).where(CouponIssueJob.batch_id == batch_id)
                    .order_by(CouponIssueJob.created_at.desc(), CouponIssueJob.id), page=page, page_size=page_size)


def run_issue_job(job_id: str) -> None:
    """The background job: issue to every member of the source, a chunk a transaction; commits."""
    job = db.session.get(CouponIssueJob, job_id)
    if job is None or job.status == JobStatus.FINISHED:
        return
    job.status, job.started_at, job.error = JobStatus.RUNNING.value, job.started_at or utcnow(), None
    resume_at = job.processed
    db.session.commit()
    try:
        for chunk in _chunks(islice(iter(member_ids_of(job.source)), resume_at, None)):
            _issue_chunk(job_id, chunk, now=utcnow())
            db.session.commit()
    except Exception as error:
        db.session.rollback()  # the chunk's coupons go, and their gates are given back
        job = db.session.get(CouponIssueJob, job_id)
        job.status, job.error, job.finished_at = JobStatus.FAILED.value, str(error)[:1000], utcnow()
        db.session.commit()
        raise
    job = db.session.get(CouponIssueJob, job_id)
    job.status, job.finished_at = JobStatus.FINISHED.value, utcnow()
    db.session.commit()
    log.info("issue job %s finished: %s issued, %s skipped", job_id, job.issued, job.skipped)


def _chunks(ids: Iterator[int]) -> Iterator[list[int]]:
    while chunk := list(islice(ids, CHUNK)):
        yield chunk


def _issue_chunk(job_id: str, member_ids: list[int], *, now: datetime) -> None:
    job = db.session.get(CouponIssueJob, job_id)
    batch = db.session.get(CouponBatch, job.batch_id)  # read each chunk: marketing may pause it meanwhile
    known = set(db.session.scalars(select(Member.id).where(Member.id.in_(set(member_ids)))))
    control = holdout.assign(job, known, now=now)  # before any coupon of the chunk is sent
    reasons, shown = dict(job.skip_reasons or {}), list(job.skipped_members or [])
    for member_id in member_ids:
        if member_id in control:
            continue  # held out: never issued; counted in ``control``, not as skipped
        skipped = _issue_one(batch, member_id, known, job_id=job_id, now=now)
        if skipped is None:
            job.issued += 1
            continue
        job.skipped += 1
        reasons[skipped.value] = reasons.get(skipped.value, 0) + 1
        if len(shown) < SHOWN_SKIPS:
            shown.append({"member_id": member_id, "reason": skipped.value})
    job.processed += len(member_ids)
    job.skip_reasons, job.skipped_members = reasons, shown  # new objects: JSON columns see the change


def _issue_one(batch: CouponBatch, member_id: int, known: set[int], *, job_id: str, now: datetime) -> Skip | None:
    if member_id not in known:
        return Skip.UNKNOWN_MEMBER
    if not is_open(batch, now):
        return Skip.BATCH_NOT_ACTIVE
    return issue(batch, member_id, key=f"job:{job_id}", now=now).skipped
