"""Targeted issuance: marketing issues a batch to chosen members in a background job with progress."""

import pytest
from sqlalchemy import func, select

from coupons.claiming import targeted
from coupons.models import CouponIssueJob
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from tests.conftest import bearer
from tests.coupons.conftest import batch_body, issued_per_member, new_key

URL = "/api/v1/admin/coupon-batches"


def issue(client, headers, batch_id, member_ids, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"{URL}/{batch_id}/issue", json={"member_ids": member_ids}, headers={**headers, **extra})


def test_marketing_issues_to_members_and_follows_the_jobs_progress(app, client, login, marketing, active_batch):
    batch_id = active_batch(channel="targeted", total=3, per_member_limit=1)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(4)]
    asked = [members[0], members[1], 99999, members[0], members[2], members[3]]
    started = issue(client, marketing, batch_id, asked)
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert job["batch_id"] == batch_id and job["requested"] == 6
    progress = client.get(f"{URL}/{batch_id}/issue-jobs/{job['id']}", headers=marketing).get_json()
    assert progress["status"] == "finished" and progress["finished_at"] is not None
    assert (progress["processed"], progress["issued"], progress["skipped"]) == (6, 3, 3)
    assert progress["skip_reasons"] == {"unknown_member": 1, "already_issued": 1, "out_of_stock": 1}
    assert progress["skipped_members"] == [
        {"member_id": 99999, "reason": "unknown_member"}, {"member_id": members[0], "reason": "already_issued"},
        {"member_id": members[3], "reason": "out_of_stock"}]
    assert issued_per_member(app, batch_id) == {members[0]: 1, members[1]: 1, members[2]: 1}
    wallet = client.get("/api/v1/me/coupons", headers=bearer(login("member0:2")["token"])).get_json()
    assert [item["batch"]["id"] for item in wallet["items"]] == [batch_id]
    listed = client.get(f"{URL}/{batch_id}/issue-jobs", headers=marketing).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]


def test_a_second_job_respects_the_per_member_limit(app, client, login, marketing, active_batch):
    batch_id = active_batch(channel="targeted", total=10, per_member_limit=2)
    alice = login("alice:1")["member"]["id"]
    for expected in ({"issued": 1}, {"issued": 1}, {"issued": 0, "skip_reasons": {"limit_reached": 1}}):
        job = issue(client, marketing, batch_id, [alice]).get_json()
        assert {key: job[key] for key in expected} == expected
    assert issued_per_member(app, batch_id) == {alice: 2}


def test_a_retried_request_with_its_key_starts_no_second_job(app, client, login, marketing, active_batch):
    batch_id = active_batch(channel="targeted", total=10, per_member_limit=5)
    alice = login("alice:1")["member"]["id"]
    key = new_key()
    first = issue(client, marketing, batch_id, [alice], key=key)
    again = issue(client, marketing, batch_id, [alice], key=key)
    assert first.status_code == 202 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    other = issue(client, marketing, batch_id, [alice, alice], key=key)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    assert issued_per_member(app, batch_id) == {alice: 1}


def test_a_job_source_can_be_any_iterable_of_member_ids(app, login, active_batch, monkeypatch):
    """A segment is one more source: here a generator standing in for one."""
    batch_id = active_batch(channel="targeted", total=10)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(3)]
    monkeypatch.setitem(targeted.SOURCES, "segment_id", lambda segment: (m for m in members if segment == 7))
    monkeypatch.setattr(targeted, "CHUNK", 2)  # several chunks, each its own transaction
    with app.app_context():
        job, _ = targeted.start_job(batch_id, {"segment_id": 7}, requested=3, key=None, staff_id=None, now=utcnow())
        job_id = job.id
        db.session.commit()  # runs the job (in-process)
        job = db.session.get(CouponIssueJob, job_id)
        assert (job.status, job.processed, job.issued) == ("finished", 3, 3)
    assert issued_per_member(app, batch_id) == dict.fromkeys(members, 1)


def test_a_job_run_again_resumes_after_its_last_chunk(app, login, active_batch, monkeypatch):
    batch_id = active_batch(channel="targeted", total=10, per_member_limit=3)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(3)]
    monkeypatch.setattr(targeted, "CHUNK", 2)
    with app.app_context():
        job = CouponIssueJob(id="resumed", batch_id=batch_id, status="failed", source={"member_ids": members},
                             requested=3, processed=2, issued=2, skipped=0, skip_reasons={}, skipped_members=[])
        db.session.add(job)
        db.session.commit()
        targeted.run_issue_job("resumed")
        job = db.session.get(CouponIssueJob, "resumed")
        assert (job.status, job.processed, job.issued, job.error) == ("finished", 3, 3, None)
    assert issued_per_member(app, batch_id) == {members[2]: 1}  # the first chunk was done before


def test_a_paused_batch_stops_issuing_mid_job(app, client, login, marketing, active_batch, monkeypatch):
    batch_id = active_batch(channel="targeted", total=10)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(4)]
    monkeypatch.setattr(targeted, "CHUNK", 2)
    real_chunk = targeted._issue_chunk
    calls = []

    def pause_after_first_chunk(job_id, member_ids, *, now):
        if calls:
            client.post(f"{URL}/{batch_id}/pause", headers=marketing)
        calls.append(member_ids)
        real_chunk(job_id, member_ids, now=now)

    monkeypatch.setattr(targeted, "_issue_chunk", pause_after_first_chunk)
    job = issue(client, marketing, batch_id, members).get_json()
    assert (job["issued"], job["skip_reasons"]) == (2, {"batch_not_active": 2})
    assert set(issued_per_member(app, batch_id)) == set(members[:2])


def test_only_targeted_active_batches_are_issued_to(client, login, marketing, active_batch):
    alice = login("alice:1")["member"]["id"]
    public = active_batch()
    wrong = issue(client, marketing, public, [alice])
    assert wrong.status_code == 409 and wrong.get_json()["code"] == "coupon_batch_wrong_channel"
    draft = client.post(URL, json=batch_body(channel="targeted"), headers=marketing).get_json()["id"]
    inactive = issue(client, marketing, draft, [alice])
    assert inactive.status_code == 409 and inactive.get_json()["code"] == "coupon_batch_not_active"
    assert issue(client, marketing, 4242, [alice]).status_code == 404
    assert client.get(f"{URL}/{draft}/issue-jobs/nope", headers=marketing).get_json()["code"] == \
        "coupon_issue_job_not_found"
    assert client.get(f"{URL}/{draft}/issue-jobs", headers=marketing).get_json()["total"] == 0


@pytest.mark.parametrize("member_ids", [[], ["1"], [1.5], [0], [-3], [2**63], None, "1,2", [True],
                                        list(range(1, 100_002))])
def test_bad_member_lists_are_422_and_start_nothing(app, client, marketing, active_batch, member_ids):
    batch_id = active_batch(channel="targeted")
    response = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": member_ids}, headers=marketing)
    assert response.status_code == 422, response.get_json()
    assert "member_ids" in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CouponIssueJob)) == 0


def test_a_hundred_thousand_ids_are_accepted(client, marketing, active_batch):
    """The most a request takes; unknown members are counted, not issued."""
    batch_id = active_batch(channel="targeted")
    response = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": list(range(1, 100_001))},
                           headers=marketing)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["skip_reasons"] == {"unknown_member": 100_000}


@pytest.mark.parametrize("role", [Role.STAFF, Role.SHOPPER])
def test_only_marketing_and_admins_issue_and_see_jobs(client, login, staff_token, active_batch, role):
    batch_id = active_batch(channel="targeted")
    headers = bearer(login("alice:1")["token"]) if role is Role.SHOPPER else staff_token(role)
    assert issue(client, headers, batch_id, [1]).status_code == 403
    assert client.get(f"{URL}/{batch_id}/issue-jobs", headers=headers).status_code == 403
    admin = staff_token(Role.ADMIN)
    assert issue(client, admin, batch_id, [1]).status_code == 202
