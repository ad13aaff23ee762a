"""Incrementality: what a targeted issuance caused, from its holdout (coupons/claiming/holdout.py).

For each issue job of the campaign's batches that held out a control group, over its window (from the job's
start to the report's ``to``, at most ``CRM_HOLDOUT_WINDOW_DAYS``), per member of each group: whether they
paid an order placed in the window (paid-order rate), the GMV of those orders net of refunds (fen per
member), and in-store visits (``picked_up``, ``till_sale`` and ``coupon_redeemed`` journey events, less
``coupon_redemption_reverted``). The uplift is treated minus control with a 95% confidence interval by the
normal approximation with unpooled standard errors: for the rate sqrt(p1(1-p1)/n1 + p0(1-p0)/n0), for the
means sqrt(s1^2/n1 + s0^2/n0) with sample variances (n - 1). The incremental GMV is the GMV uplift per
member times the treated members, set against the discount of the coupons the job issued that were used.

Figures are SQL aggregates over the job's assignment rows and the members' orders and events (indexed by
member and time); only the per-group sums reach Python.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from coupons.models import (
    Coupon,
    CouponBatch,
    CouponIssueAssignment,
    CouponIssueJob,
    CouponStatus,
    HoldoutGroup,
)
from shop.extensions import db
from shop.members.journey import JourneyKind
from shop.members.models import JourneyEvent
from shop.orders.models import Order

Z_95 = 1.96  # the two-sided 95% normal quantile, as marketing reads it
VISITS = (JourneyKind.PICKED_UP.value, JourneyKind.TILL_SALE.value, JourneyKind.COUPON_REDEEMED.value,
          JourneyKind.COUPON_REDEMPTION_REVERTED.value)
METRICS = ("paid_order_rate", "gmv_per_member", "visits_per_member")


def holdout_results(campaign: str, *, last_moment: datetime, now: datetime) -> list[dict[str, Any]]:
    """Each holdout job of the campaign started before ``last_moment``: its groups, uplifts and incremental GMV."""
    jobs = db.session.scalars(
        select(CouponIssueJob).join(CouponBatch, CouponBatch.id == CouponIssueJob.batch_id)
        .where(CouponBatch.campaign == campaign, CouponIssueJob.holdout_percent > 0,
               CouponIssueJob.started_at.is_not(None), CouponIssueJob.started_at < last_moment)
        .order_by(CouponIssueJob.started_at, CouponIssueJob.id)).all()
    window = timedelta(days=current_app.config["CRM_HOLDOUT_WINDOW_DAYS"])
    return [job_result(job, start=job.started_at, end=min(last_moment, job.started_at + window)) for job in jobs]


def job_result(job: CouponIssueJob, *, start: datetime, end: datetime) -> dict[str, Any]:
    sums = _group_sums(job.id, start, end)
    groups = {group.value: _group_view(sums.get(group.value)) for group in HoldoutGroup}
    uplift = {metric: _uplift(sums.get("treated"), sums.get("control"), metric) for metric in METRICS}
    treated = groups["treated"]["members"]
    gmv = uplift["gmv_per_member"]
    incremental = None if gmv is None else {
        "estimate": round(gmv["difference"] * treated), "ci_low": round(gmv["ci_low"] * treated),
        "ci_high": round(gmv["ci_high"] * treated)}
    cost = _coupon_cost(job)
    return {"job_id": job.id, "batch_id": job.batch_id, "holdout_percent": job.holdout_percent,
            "window_from": start, "window_to": end, "groups": groups, "uplift": uplift,
            "incremental_gmv": incremental, "coupon_cost": cost,
            "incremental_return": round(incremental["estimate"] / cost, 2) if incremental and cost else None}


def _group_sums(job_id: str, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Per group: members, buyers, and the sums and sums of squares of GMV and visits per member."""
    audience = select(CouponIssueAssignment.member_id).where(CouponIssueAssignment.job_id == job_id)
    paid = (select(Order.member_id, func.sum(Order.amount_paid - Order.refunded_total).label("gmv"))
            .where(Order.member_id.in_(audience), Order.paid_at.is_not(None),
                   Order.created_at >= start, Order.created_at < end)
            .group_by(Order.member_id).subquery())
    reverted = JourneyEvent.kind == JourneyKind.COUPON_REDEMPTION_REVERTED.value
    visits = (select(JourneyEvent.member_id, func.sum(case((reverted, -1), else_=1)).label("visits"))
              .where(JourneyEvent.member_id.in_(audience), JourneyEvent.kind.in_(VISITS),
                     JourneyEvent.occurred_at >= start, JourneyEvent.occurred_at < end)
              .group_by(JourneyEvent.member_id).subquery())
    assignment = CouponIssueAssignment
    member = (select(assignment.group.label("grp"),
                     case((paid.c.member_id.is_not(None), 1), else_=0).label("buyer"),
                     func.coalesce(paid.c.gmv, 0).label("gmv"), func.coalesce(visits.c.visits, 0).label("visits"))
              .select_from(assignment)
              .outerjoin(paid, paid.c.member_id == assignment.member_id)
              .outerjoin(visits, visits.c.member_id == assignment.member_id)
              .where(assignment.job_id == job_id).subquery())
    rows = db.session.execute(
        select(member.c.grp, func.count().label("members"), func.sum(member.c.buyer).label("buyers"),
               func.sum(member.c.gmv).label("gmv"), func.sum(member.c.gmv * member.c.gmv).label("gmv_sq"),
               func.sum(member.c.visits).label("visits"), func.sum(member.c.visits * member.c.visits).label("visits_sq"))
        .group_by(member.c.grp)).all()
    return {row.grp: {key: int(getattr(row, key) or 0) for key in ("members", "buyers", "gmv", "gmv_sq", "visits",
                                                                    "visits_sq")} for row in rows}


_SUMS = {"paid_order_rate": ("buyers", None), "gmv_per_member": ("gmv", "gmv_sq"),
         "visits_per_member": ("visits", "visits_sq")}


def _mean_and_variance(sums: dict[str, int], metric: str) -> tuple[float, float]:
    """The group's mean of the metric and the variance of that mean (unpooled: its own variance over n)."""
    n = sums["members"]
    total, squares = _SUMS[metric]
    mean = sums[total] / n
    if squares is None:  # a proportion
        return mean, mean * (1 - mean) / n
    sample_variance = (sums[squares] - sums[total] ** 2 / n) / (n - 1)
    return mean, max(sample_variance, 0.0) / n


def _group_view(sums: dict[str, int] | None) -> dict[str, Any]:
    if not sums:
        return {"members": 0, "buyers": 0, "gmv": 0, "visits": 0, **dict.fromkeys(METRICS)}
    return {"members": sums["members"], "buyers": sums["buyers"], "gmv": sums["gmv"], "visits": sums["visits"],
            **{metric: round(sums[_SUMS[metric][0]] / sums["members"], 4) for metric in METRICS}}


def _uplift(treated: dict[str, int] | None, control: dict[str, int] | None, metric: str) -> dict[str, float] | None:
    """Treated minus control with its 95% interval; None while a group has fewer than two members."""
    if not treated or not control or treated["members"] < 2 or control["members"] < 2:
        return None
    mean_t, var_t = _mean_and_variance(treated, metric)
    mean_c, var_c = _mean_and_variance(control, metric)
    difference, error = mean_t - mean_c, math.sqrt(var_t + var_c)
    return {"difference": round(difference, 4), "standard_error": round(error, 4),
            "ci_low": round(difference - Z_95 * error, 4), "ci_high": round(difference + Z_95 * error, 4)}


def _coupon_cost(job: CouponIssueJob) -> int:
    """The discount of the job's coupons that were used (online or in store)."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Coupon.discount_amount), 0))
        .where(Coupon.batch_id == job.batch_id, Coupon.claim_key == f"job:{job.id}",
               Coupon.status == CouponStatus.USED.value)) or 0)
