"""Incrementality in the campaign report: for a targeted issuance that held out a control group, per member of
each group the paid-order rate, GMV and in-store visits over the window, the uplift with its 95% interval
(normal approximation, unpooled standard errors) checked against a hand computation, and the incremental GMV
against the coupon cost; the control group, issued through the real job, never got a coupon."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coupons.models import Coupon, CouponIssueAssignment, CouponIssueJob
from crm.rollups.service import business_day
from shop.extensions import db
from tests.crm.campaign_rows import batch, coupon, event
from tests.crm.conftest import make_member, paid_order

STARTED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
URL = "/api/v1/admin/campaigns/spring?from=2026-12-01&to=2026-12-05"
TREATED_GMV, CONTROL_GMV = [3_000, 1_000, 0, 0], [1_000, 0, 0]
TREATED_VISITS, CONTROL_VISITS = [1, 2, 0, 0], [1, 0, 0]


def scenario() -> str:
    batch_id = batch("spring")
    job = CouponIssueJob(id="a" * 32, batch_id=batch_id, status="finished", source={"member_ids": []}, requested=7,
                         processed=7, issued=4, skipped=0, skip_reasons={}, skipped_members=[], holdout_percent=40,
                         holdout_seed="s", treated=4, control=3, created_at=STARTED, started_at=STARTED)
    db.session.add(job)
    treated = [make_member(f"t{n}") for n in range(4)]
    control = [make_member(f"c{n}") for n in range(3)]
    for members, group in ((treated, "treated"), (control, "control")):
        db.session.add_all(CouponIssueAssignment(job_id=job.id, member_id=m, group=group, assigned_at=STARTED)
                           for m in members)
    db.session.flush()
    day = timedelta(days=1)
    t1, t2, t3, t4 = treated
    first = paid_order(t1, 2_000, paid_at=STARTED + day)
    paid_order(t1, 1_500, paid_at=STARTED + 2 * day, refunded=500)  # 1,000 net
    paid_order(t2, 1_000, paid_at=STARTED + day)
    paid_order(control[0], 1_000, paid_at=STARTED + day)
    paid_order(control[1], 5_000, paid_at=STARTED - day)  # before the issuance: outside the window
    paid_order(t3, 9_000, paid_at=STARTED + 40 * day)  # after the report's `to`
    event(t1, "till_sale", STARTED + day)
    event(t2, "picked_up", STARTED + day)
    event(t2, "coupon_redeemed", STARTED + day)
    event(t4, "coupon_redeemed", STARTED + day)
    event(t4, "coupon_redemption_reverted", STARTED + day)  # taken back: no visit
    event(control[0], "till_sale", STARTED + day)
    coupon(batch_id, t1, used_at=STARTED + day, discount=500, order_id=first, claim_key=f"job:{job.id}")
    coupon(batch_id, t2, claim_key=f"job:{job.id}")  # issued, not used: no cost
    return job.id


def hand_uplift(treated: list[float], control: list[float], *, proportion: bool = False) -> tuple[float, float, float]:
    mean_t, mean_c = statistics.fmean(treated), statistics.fmean(control)
    if proportion:
        error = math.sqrt(mean_t * (1 - mean_t) / len(treated) + mean_c * (1 - mean_c) / len(control))
    else:
        error = math.sqrt(statistics.variance(treated) / len(treated) + statistics.variance(control) / len(control))
    difference = mean_t - mean_c
    return difference, difference - 1.96 * error, difference + 1.96 * error


def test_the_uplift_and_its_interval_match_a_hand_computation(client, committed, marketing):
    job_id = committed(scenario)
    report = client.get(URL, headers=marketing).get_json()
    (result,) = report["incrementality"]
    assert result["job_id"] == job_id and result["holdout_percent"] == 40
    assert result["groups"]["treated"] == {"members": 4, "buyers": 2, "gmv": 4_000, "visits": 3,
                                           "paid_order_rate": 0.5, "gmv_per_member": 1_000.0, "visits_per_member": 0.75}
    assert result["groups"]["control"]["gmv"] == 1_000 and result["groups"]["control"]["buyers"] == 1
    for metric, treated, control, proportion in (
            ("paid_order_rate", [1, 1, 0, 0], [1, 0, 0], True),
            ("gmv_per_member", TREATED_GMV, CONTROL_GMV, False),
            ("visits_per_member", TREATED_VISITS, CONTROL_VISITS, False)):
        difference, low, high = hand_uplift(treated, control, proportion=proportion)
        got = result["uplift"][metric]
        assert (got["difference"], got["ci_low"], got["ci_high"]) == pytest.approx((difference, low, high), abs=1e-3)
    # by hand: rate 1/2 - 1/3, se sqrt(.25/4 + (2/9)/3) = 0.36956
    assert result["uplift"]["paid_order_rate"]["standard_error"] == pytest.approx(0.3696, abs=1e-4)
    gmv_difference, gmv_low, gmv_high = hand_uplift(TREATED_GMV, CONTROL_GMV)
    assert result["incremental_gmv"] == {"estimate": round(gmv_difference * 4), "ci_low": round(gmv_low * 4),
                                         "ci_high": round(gmv_high * 4)}
    assert result["incremental_gmv"]["estimate"] == 2_667
    assert (result["coupon_cost"], result["incremental_return"]) == (500, 5.33)


def test_the_window_is_capped_by_the_setting(app, client, committed, marketing):
    committed(scenario)
    app.config["CRM_HOLDOUT_WINDOW_DAYS"] = 1  # the orders a day after the start fall out
    (result,) = client.get(URL, headers=marketing).get_json()["incrementality"]
    assert result["window_to"] == "2026-12-02T02:00:00+00:00"
    assert result["groups"]["treated"]["buyers"] == 0


def test_a_job_of_the_campaign_run_with_a_holdout_gives_its_control_group_no_coupon(app, client, committed,
                                                                                      marketing, active_batch):
    members = committed(lambda: [make_member(f"m{n}") for n in range(20)])
    batch_id = active_batch(channel="targeted", total=100, campaign="spring")
    job = client.post(f"/api/v1/admin/coupon-batches/{batch_id}/issue", headers=marketing,
                      json={"member_ids": members, "holdout_percent": 50, "holdout_seed": "x"}).get_json()
    today = business_day(datetime.now(UTC))  # the report's days are the business zone's, not UTC's
    report = client.get(f"/api/v1/admin/campaigns/spring?from={today - timedelta(days=1)}&to={today}",
                        headers=marketing).get_json()
    (result,) = report["incrementality"]
    assert result["job_id"] == job["id"]
    with app.app_context():
        control = set(db.session.scalars(select(CouponIssueAssignment.member_id).where(
            CouponIssueAssignment.job_id == job["id"], CouponIssueAssignment.group == "control")))
        holders = set(db.session.scalars(select(Coupon.member_id).where(Coupon.batch_id == batch_id)))
    assert result["groups"]["control"]["members"] == len(control) == job["control"] > 0
    assert result["groups"]["treated"]["members"] == len(holders) == 20 - len(control)
    assert not holders & control
