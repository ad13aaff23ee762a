"""The holdout of a targeted issuance: a random share of its audience kept as a control group.

A job with ``holdout_percent`` > 0 assigns each known member to ``treated`` or ``control`` before its
coupon would be sent, in the chunk's transaction, and records it (``coupon_issue_assignments``, one row per
job and member). The draw is HMAC-SHA256(seed, member id) read as a uniform number in [0, 1): random
(independent of the order of the ids and of the ids' values), and stable (the same seed gives the same
groups, so a job run again or resumed puts every member where it put them first). A control member is never
issued the job's coupon. The CRM's campaign report compares the two groups' purchases.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from coupons.models import CouponIssueAssignment, CouponIssueJob, HoldoutGroup
from shop.extensions import db

MAX_HOLDOUT_PERCENT = 50
_SCALE = 2**64


def new_seed() -> str:
    return secrets.token_hex(16)


def draw(seed: str, member_id: int) -> float:
    """A member's uniform number in [0, 1) under ``seed``."""
    digest = hmac.new(seed.encode(), str(member_id).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def group_of(seed: str, member_id: int, percent: int) -> HoldoutGroup:
    """``control`` for a ``percent`` share of members (by their draw), ``treated`` for the others."""
    return HoldoutGroup.CONTROL if draw(seed, member_id) * 100 < percent else HoldoutGroup.TREATED


def assign(job: CouponIssueJob, member_ids: Iterable[int], *, now: datetime) -> set[int]:
    """Record the groups of a chunk's members not assigned yet and count them on the job: the control ids.

    A member listed twice (or in a chunk run again) keeps the group recorded first."""
    ids = set(member_ids)
    if job.holdout_percent <= 0 or not ids:
        return set()
    recorded = dict(db.session.execute(
        select(CouponIssueAssignment.member_id, CouponIssueAssignment.group)
        .where(CouponIssueAssignment.job_id == job.id, CouponIssueAssignment.member_id.in_(ids))).all())
    for member_id in sorted(ids - recorded.keys()):
        group = group_of(job.holdout_seed, member_id, job.holdout_percent)
        db.session.add(CouponIssueAssignment(job_id=job.id, member_id=member_id, group=group.value, assigned_at=now))
        recorded[member_id] = group.value
        if group is HoldoutGroup.CONTROL:
            job.control += 1
        else:
            job.treated += 1
    db.session.flush()
    return {member_id for member_id, group in recorded.items() if group == HoldoutGroup.CONTROL}
