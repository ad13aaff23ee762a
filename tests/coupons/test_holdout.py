"""A targeted issuance with a holdout: a seeded random share of the members is a control group, assigned and
recorded before any coupon is sent, and never issued a coupon, also when the job runs again."""

from __future__ import annotations

from sqlalchemy import select, update

from coupons.claiming import targeted
from coupons.claiming.holdout import group_of
from coupons.models import CouponIssueAssignment, CouponIssueJob
from shop.extensions import db
from shop.members.models import Member
from tests.coupons.conftest import issued_per_member

URL = "/api/v1/admin/coupon-batches"


def members(committed, count: int) -> list[int]:
    def make():
        rows = [Member(openid=f"holdout-{n}", nickname=f"h{n}") for n in range(count)]
        db.session.add_all(rows)
        db.session.flush()
        return [row.id for row in rows]

    return committed(make)


def groups(app, job_id: str) -> dict[int, str]:
    with app.app_context():
        return dict(db.session.execute(select(CouponIssueAssignment.member_id, CouponIssueAssignment.group)
                                       .where(CouponIssueAssignment.job_id == job_id)).all())


def test_the_draw_holds_out_the_asked_share_at_random_whatever_the_ids():
    ids = range(100_000, 102_000)
    control = [member_id for member_id in ids if group_of("seed-a", member_id, 20) == "control"]
    assert 0.17 < len(control) / 2000 < 0.23
    # independent of where the ids lie: each half holds about its share too
    assert 0.16 < sum(1 for m in control if m < 101_000) / 1000 < 0.24
    assert 0.16 < sum(1 for m in control if m >= 101_000) / 1000 < 0.24
    # another seed draws other members, about as many
    other = {member_id for member_id in ids if group_of("seed-b", member_id, 20) == "control"}
    assert 0.17 < len(other) / 2000 < 0.23 and len(other & set(control)) < len(control) / 2
    # no member outside 0..50%: nobody held out at 0
    assert all(group_of("seed-a", member_id, 0) == "treated" for member_id in ids)


def test_the_same_seed_puts_the_same_members_in_the_same_groups_in_any_order(app, client, committed, marketing,
                                                                             active_batch):
    ids = members(committed, 60)
    first_batch = active_batch(channel="targeted", total=100)
    second_batch = active_batch(channel="targeted", total=100)
    body = {"holdout_percent": 30, "holdout_seed": "spring-2027"}
    first = client.post(f"{URL}/{first_batch}/issue", json={"member_ids": ids, **body}, headers=marketing).get_json()
    second = client.post(f"{URL}/{second_batch}/issue", json={"member_ids": ids[::-1], **body},
                         headers=marketing).get_json()
    assert groups(app, first["id"]) == groups(app, second["id"])
    assert len(groups(app, first["id"])) == 60


def test_control_members_never_get_a_coupon_and_the_job_shows_its_groups(app, client, committed, marketing,
                                                                          active_batch, monkeypatch):
    ids = members(committed, 40)
    batch_id = active_batch(channel="targeted", total=100)
    monkeypatch.setattr(targeted, "CHUNK", 7)  # several chunk transactions
    started = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": ids + [99_999], "holdout_percent": 50},
                          headers=marketing)
    assert started.status_code == 202, started.get_json()
    job = client.get(f"{URL}/{batch_id}/issue-jobs/{started.get_json()['id']}", headers=marketing).get_json()
    assigned = groups(app, job["id"])
    control = {m for m, group in assigned.items() if group == "control"}
    treated = {m for m, group in assigned.items() if group == "treated"}
    assert job["holdout_percent"] == 50 and len(job["holdout_seed"]) == 32  # drawn and recorded
    assert (job["treated"], job["control"]) == (len(treated), len(control)) and control and treated
    assert set(assigned) == set(ids)  # the unknown id is assigned to no group
    assert (job["issued"], job["skipped"], job["skip_reasons"]) == (len(treated), 1, {"unknown_member": 1})
    assert set(issued_per_member(app, batch_id)) == treated

    with app.app_context():  # run again from the start, as a worker that lost its progress would
        db.session.execute(update(CouponIssueJob).where(CouponIssueJob.id == job["id"])
                           .values(status="failed", processed=0))
        db.session.commit()
        targeted.run_issue_job(job["id"])
    assert set(issued_per_member(app, batch_id)) == treated
    assert groups(app, job["id"]) == assigned


def test_a_segment_issue_takes_a_holdout_too(app, client, committed, marketing, active_batch):
    ids = members(committed, 30)
    committed(lambda: db.session.execute(update(Member).where(Member.id.in_(ids)).values(marketing_consent="granted")))
    segment = client.post("/api/v1/admin/segments", headers=marketing, json={
        "name": "all", "rule": {"field": "registered_at", "op": ">", "value": "2000-01-01T00:00:00+00:00"}})
    batch_id = active_batch(channel="targeted", total=100)
    job = client.post(f"/api/v1/admin/segments/{segment.get_json()['id']}/issue", headers=marketing,
                      json={"batch_id": batch_id, "holdout_percent": 40, "holdout_seed": "s1"}).get_json()
    control = {m for m, group in groups(app, job["id"]).items() if group == "control"}
    assert job["control"] == len(control) > 0
    assert set(issued_per_member(app, batch_id)) == set(ids) - control
    assert control == {m for m in ids if group_of("s1", m, 40) == "control"}


def test_a_holdout_beyond_half_or_a_retry_with_another_holdout_is_refused(client, marketing, active_batch, committed):
    ids = members(committed, 2)
    batch_id = active_batch(channel="targeted", total=10)
    too_big = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": ids, "holdout_percent": 51},
                          headers=marketing)
    assert too_big.status_code == 422 and "holdout_percent" in too_big.get_json()["errors"]
    key = {"Idempotency-Key": "k" * 32}
    assert client.post(f"{URL}/{batch_id}/issue", json={"member_ids": ids},
                       headers={**marketing, **key}).status_code == 202
    again = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": ids, "holdout_percent": 10},
                        headers={**marketing, **key})
    assert again.status_code == 422 and again.get_json()["code"] == "idempotency_key_reused"


def test_a_chunk_that_fails_keeps_neither_its_groups_nor_its_coupons_and_the_rerun_keeps_control_out(
        app, client, committed, marketing, active_batch, monkeypatch):
    ids = members(committed, 12)
    batch_id = active_batch(channel="targeted", total=100)
    monkeypatch.setattr(targeted, "CHUNK", 6)
    second_chunk_treated = [m for m in ids[6:] if group_of("fail", m, 50) == "treated"]
    real_issue = targeted.issue

    def fail_in_second_chunk(batch, member_id, **kwargs):
        if member_id == second_chunk_treated[-1]:
            raise RuntimeError("the database went away")
        return real_issue(batch, member_id, **kwargs)

    monkeypatch.setattr(targeted, "issue", fail_in_second_chunk)
    job = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": ids, "holdout_percent": 50,
                                                       "holdout_seed": "fail"}, headers=marketing).get_json()
    assert set(groups(app, job["id"])) == set(ids[:6])  # the second chunk's groups went with its coupons
    assert set(issued_per_member(app, batch_id)) <= set(ids[:6])
    monkeypatch.setattr(targeted, "issue", real_issue)
    with app.app_context():
        targeted.run_issue_job(job["id"])
    control = {m for m, group in groups(app, job["id"]).items() if group == "control"}
    assert len(groups(app, job["id"])) == 12 and control
    assert set(issued_per_member(app, batch_id)) == set(ids) - control
