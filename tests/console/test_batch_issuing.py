"""A batch's own work from its page: targeted issuance to a list or a segment with its progress bar, exchange
codes generated and downloaded as CSV; the rules and refusals are the services' and the API schemas'."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select, update

from coupons.models import Coupon, CouponExchangeCode, CouponIssueJob
from shop.auth import Role
from shop.extensions import db
from shop.members.models import Member
from tests.console.conftest import text_of

BATCHES = "/console/batches"
JOB_PAGE = re.compile(r"/console/batches/(\d+)/issue-jobs/([0-9a-f]{32})$")


@pytest.fixture
def marketer(browser, account):
    user = browser()
    assert user.login(account(Role.MARKETING)).status_code == 302
    return user


def open_batch(user, batch_id: int) -> str:
    """The batch's page in English (its forms' CSRF token kept)."""
    page = user.get(f"{BATCHES}/{batch_id}?lang=en")
    assert page.status_code == 200
    return text_of(page)


def test_marketing_issues_a_targeted_batch_to_a_list_and_follows_its_progress_to_the_end(
        app, marketer, active_batch, login):
    batch_id = active_batch(channel="targeted", total=2, per_member_limit=1)
    members = [login(f"listed{n}:1")["member"]["id"] for n in range(3)]
    assert "Issue to these members" in open_batch(marketer, batch_id)

    started = marketer.post(f"{BATCHES}/{batch_id}/issue/members",
                            {"member_ids": f"{members[0]}, {members[1]}\n{members[2]} 99999", "holdout_percent": "0"})
    assert started.status_code == 302
    job_url = JOB_PAGE.search(started.headers["Location"]).group(0)
    page = text_of(marketer.get(f"{job_url}?lang=en"))
    assert '<progress id="job-bar" max="4" value="4"' in page and "Finished" in page
    assert "issued 2" in page and "skipped 2" in page and "all coupons issued: 1" in page and "no such member: 1" in page
    assert "hx-trigger" not in page  # a finished job's bar asks no more
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.batch_id == batch_id)) == 2
    assert "Recent issuance" in open_batch(marketer, batch_id)


def test_a_running_jobs_bar_asks_again_until_the_job_has_finished(app, marketer, active_batch, login):
    batch_id = active_batch(channel="targeted", total=5)
    member = login("running:1")["member"]["id"]
    open_batch(marketer, batch_id)
    job_id = JOB_PAGE.search(marketer.post(f"{BATCHES}/{batch_id}/issue/members",
                                           {"member_ids": str(member)}).headers["Location"]).group(2)
    with app.app_context():  # as a worker elsewhere sees it halfway
        db.session.execute(update(CouponIssueJob).where(CouponIssueJob.id == job_id)
                           .values(status="running", processed=0, requested=2))
        db.session.commit()
    running = marketer.get(f"{BATCHES}/{batch_id}/issue-jobs/{job_id}/progress?lang=en",
                           headers={"HX-Request": "true"})
    fragment = text_of(running)
    assert running.status_code == 200 and 'hx-trigger="every 1s"' in fragment and 'value="0"' in fragment
    assert "<html" not in fragment and "Running" in fragment
    with app.app_context():
        db.session.execute(update(CouponIssueJob).where(CouponIssueJob.id == job_id)
                           .values(status="finished", processed=2))
        db.session.commit()
    done = text_of(marketer.get(f"{BATCHES}/{batch_id}/issue-jobs/{job_id}/progress?lang=en"))
    assert 'value="2"' in done and "hx-trigger" not in done and "Finished" in done
    assert marketer.get(f"{BATCHES}/{batch_id}/issue-jobs/{'0' * 32}").status_code == 404


def test_the_apis_rules_refuse_a_bad_list_in_place_and_issue_nothing(app, marketer, active_batch):
    batch_id = active_batch(channel="targeted", total=5)
    open_batch(marketer, batch_id)
    wrong = marketer.post(f"{BATCHES}/{batch_id}/issue/members?lang=en", {"member_ids": "12, twelve"})
    page = text_of(wrong)
    assert wrong.status_code == 422 and 'id="member_ids-error"' in page and "item 2: Not a valid integer." in page
    assert "12, twelve" in page  # what was typed stays to be corrected
    empty = marketer.post(f"{BATCHES}/{batch_id}/issue/members?lang=en", {"member_ids": " "})
    assert empty.status_code == 422 and "Length must be between 1 and 100000." in text_of(empty)
    high = marketer.post(f"{BATCHES}/{batch_id}/issue/members?lang=en", {"member_ids": "1", "holdout_percent": "99"})
    assert high.status_code == 422 and 'id="holdout_percent-error"' in text_of(high)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CouponIssueJob)) == 0


def test_a_paused_or_public_batch_is_refused_in_words(marketer, active_batch, client, marketing):
    paused = active_batch(channel="targeted")
    assert client.post(f"/api/v1/admin/coupon-batches/{paused}/pause", headers=marketing).status_code == 200
    open_batch(marketer, paused)
    refused = marketer.post(f"{BATCHES}/{paused}/issue/members?lang=en", {"member_ids": "1"})
    assert refused.status_code == 409 and "activate it first" in text_of(refused)
    public = active_batch()
    assert "Issue to these members" not in open_batch(marketer, public)  # only a targeted batch shows the forms
    assert marketer.post(f"{BATCHES}/{public}/issue/members", {"member_ids": "1"}).status_code == 409
    assert marketer.post(f"{BATCHES}/999999/issue/members", {"member_ids": "1"}).status_code == 404


def test_marketing_issues_to_a_segment_its_consenting_members_only(app, marketer, active_batch, client, marketing,
                                                                   login):
    ids = [login(f"segment{n}:1")["member"]["id"] for n in range(3)]
    with app.app_context():
        db.session.execute(update(Member).where(Member.id.in_(ids[:2])).values(marketing_consent="granted"))
        db.session.commit()
    segment = client.post("/api/v1/admin/segments", headers=marketing, json={
        "name": "Everyone", "rule": {"field": "registered_at", "op": ">", "value": "2000-01-01T00:00:00+00:00"}})
    assert segment.status_code == 201, segment.get_json()
    batch_id = active_batch(channel="targeted", total=10)
    assert f'<option value="{segment.get_json()["id"]}">Everyone</option>' in open_batch(marketer, batch_id)
    started = marketer.post(f"{BATCHES}/{batch_id}/issue/segment", {"segment_id": str(segment.get_json()["id"])})
    assert started.status_code == 302
    page = text_of(marketer.get(started.headers["Location"] + "?lang=en"))
    assert "To a segment" in page and '<progress id="job-bar" max="2" value="2"' in page and "issued 2" in page
    open_batch(marketer, batch_id)
    missing = marketer.post(f"{BATCHES}/{batch_id}/issue/segment?lang=en", {"segment_id": "999999"})
    assert missing.status_code == 404 and "No such segment" in text_of(missing)


def test_marketing_generates_exchange_codes_and_downloads_them_as_csv(app, marketer, active_batch):
    batch_id = active_batch(channel="exchange_code", total=5)
    assert "Generate codes" in open_batch(marketer, batch_id)
    made = marketer.post(f"{BATCHES}/{batch_id}/codes", {"count": "3"})
    assert made.status_code == 302
    assert "3 codes generated; the batch has 3." in open_batch(marketer, batch_id)
    too_many = marketer.post(f"{BATCHES}/{batch_id}/codes?lang=en", {"count": "3"})
    assert too_many.status_code == 422 and "At most 2 more" in text_of(too_many)
    download = marketer.get(f"{BATCHES}/{batch_id}/codes.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    with app.app_context():
        stored = set(db.session.scalars(select(CouponExchangeCode.code).where(CouponExchangeCode.batch_id == batch_id)))
    assert {row["code"] for row in rows} == stored and len(stored) == 3
    assert marketer.get(f"{BATCHES}/999999/codes.csv").status_code == 404
    targeted = active_batch(channel="targeted")
    open_batch(marketer, targeted)
    assert marketer.post(f"{BATCHES}/{targeted}/codes", {"count": "1"}).status_code == 409


def test_clerks_may_not_issue_nor_download_and_a_form_without_its_token_is_refused(
        app, marketer, clerk_at_counter, active_batch):
    batch_id = active_batch(channel="exchange_code", total=5)
    assert clerk_at_counter.post(f"{BATCHES}/{batch_id}/codes", {"count": "1"}).status_code == 403
    assert clerk_at_counter.get(f"{BATCHES}/{batch_id}/codes.csv").status_code == 403
    open_batch(marketer, batch_id)
    assert marketer.post(f"{BATCHES}/{batch_id}/codes", {"count": "1"}, csrf=False).status_code == 400
    targeted = active_batch(channel="targeted")
    assert marketer.post(f"{BATCHES}/{targeted}/issue/members", {"member_ids": "1"}, csrf=False).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CouponExchangeCode)) == 0
        assert db.session.scalar(select(func.count()).select_from(CouponIssueJob)) == 0


def test_a_long_list_of_wrong_ids_names_the_first_ten_and_counts_the_rest(marketer, active_batch):
    batch_id = active_batch(channel="targeted", total=5)
    open_batch(marketer, batch_id)
    page = text_of(marketer.post(f"{BATCHES}/{batch_id}/issue/members?lang=en",
                                 {"member_ids": " ".join(f"x{n}" for n in range(25))}))
    assert "item 10: Not a valid integer." in page and "item 11:" not in page and "and 15 more items" in page
