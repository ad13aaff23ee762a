"""Tags: manual ones set by marketing (one member, a list as a job, a CSV as a job), computed ones kept
fresh by the periodic job from their rules."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from coupons.models import Coupon, CouponBatch, CouponRedemption
from crm.tags.computed import refresh_computed_tags, refresh_when_due
from crm.tags.models import MemberProfile, MemberTag, Tag
from shop.auth import Role
from shop.extensions import db
from shop.jobs import PERIODIC
from shop.points.models import PointsEntry
from shop.staff.service import create_staff
from tests.conftest import STAFF_PASSWORD
from tests.crm.conftest import NOW, follow, make_member, paid_order, place, share
from tests.factories import make_store


def _tags_of(member_id: int) -> set[str]:
    return set(db.session.scalars(select(Tag.name).join(MemberTag, MemberTag.tag_id == Tag.id)
                                  .where(MemberTag.member_id == member_id)))


def _create_tag(client, headers, name="vip-event") -> int:
    response = client.post("/api/v1/admin/tags", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_marketing_tags_one_member_and_the_tag_list_counts_them(app, client, committed, marketing):
    alice = committed(lambda: make_member("alice"))
    tag_id = _create_tag(client, marketing)
    first = client.put(f"/api/v1/admin/members/{alice}/tags/{tag_id}", headers=marketing)
    again = client.put(f"/api/v1/admin/members/{alice}/tags/{tag_id}", headers=marketing)
    assert (first.get_json(), again.get_json()) == ({"changed": True}, {"changed": False})
    listed = client.get("/api/v1/admin/tags?kind=manual", headers=marketing).get_json()
    assert [(t["name"], t["members"]) for t in listed["items"]] == [("vip-event", 1)]
    removed = client.delete(f"/api/v1/admin/members/{alice}/tags/{tag_id}", headers=marketing)
    assert removed.get_json() == {"changed": True}
    with app.app_context():
        assert _tags_of(alice) == set()


def test_a_tag_name_is_unique_and_computed_names_are_reserved(client, marketing):
    _create_tag(client, marketing, "vip")
    taken = client.post("/api/v1/admin/tags", json={"name": "vip"}, headers=marketing)
    reserved = client.post("/api/v1/admin/tags", json={"name": "lapsed"}, headers=marketing)
    colon = client.post("/api/v1/admin/tags", json={"name": "tier:gold"}, headers=marketing)
    assert (taken.status_code, taken.get_json()["code"]) == (409, "tag_name_taken")
    assert (reserved.status_code, reserved.get_json()["code"]) == (409, "tag_computed")
    assert colon.status_code == 422


def test_a_computed_tag_cannot_be_set_by_hand(app, client, committed, marketing):
    alice = committed(lambda: make_member("alice"))
    with app.app_context():
        refresh_computed_tags(NOW)
        db.session.commit()
        follower_tag = db.session.scalar(select(Tag.id).where(Tag.name == "follower"))
    response = client.put(f"/api/v1/admin/members/{alice}/tags/{follower_tag}", headers=marketing)
    assert (response.status_code, response.get_json()["code"]) == (409, "tag_computed")


def test_a_list_of_members_is_tagged_by_a_job_that_reports_its_progress(app, client, committed, marketing):
    ids = committed(lambda: [make_member(f"m{i}") for i in range(3)])
    tag_id = _create_tag(client, marketing)
    response = client.post(f"/api/v1/admin/tags/{tag_id}/jobs", headers=marketing,
                           json={"action": "add", "member_ids": [*ids, ids[0], 999_999]})
    assert response.status_code == 202, response.get_json()
    job = client.get(f"/api/v1/admin/tags/{tag_id}/jobs/{response.get_json()['id']}", headers=marketing).get_json()
    assert {k: job[k] for k in ("status", "requested", "processed", "changed", "unknown")} == {
        "status": "finished", "requested": 4, "processed": 4, "changed": 3, "unknown": 1}
    removal = client.post(f"/api/v1/admin/tags/{tag_id}/jobs", headers=marketing,
                          json={"action": "remove", "member_ids": ids[:2]}).get_json()
    assert client.get(f"/api/v1/admin/tags/{tag_id}/jobs/{removal['id']}", headers=marketing).get_json()["changed"] == 2
    with app.app_context():
        assert [bool(_tags_of(m)) for m in ids] == [False, False, True]


def test_a_csv_of_member_ids_tags_them_and_a_bad_row_starts_nothing(app, client, committed, marketing):
    ids = committed(lambda: [make_member(f"c{i}") for i in range(2)])
    tag_id = _create_tag(client, marketing)
    bad = client.post(f"/api/v1/admin/tags/{tag_id}/jobs/csv?action=add", headers={
        **marketing, "Content-Type": "text/csv"}, data=f"member_id\n{ids[0]}\nbob\n")
    assert (bad.status_code, bad.get_json()["code"], bad.get_json()["details"]) == (
        422, "tag_csv_invalid", {"rows": [3]})
    with app.app_context():
        assert _tags_of(ids[0]) == set()
    good = client.post(f"/api/v1/admin/tags/{tag_id}/jobs/csv?action=add", headers={
        **marketing, "Content-Type": "text/csv"}, data=f"member_id\n{ids[0]}\n\n{ids[1]}\n")
    assert good.status_code == 202, good.get_json()
    with app.app_context():
        assert [_tags_of(m) for m in ids] == [{"vip-event"}, {"vip-event"}]


def test_shoppers_and_clerks_cannot_touch_tags(client, login, staff_token):
    shopper = {"Authorization": f"Bearer {login('tag-shopper')['token']}"}
    assert client.get("/api/v1/admin/tags", headers=shopper).status_code == 403
    assert client.get("/api/v1/admin/tags", headers=staff_token(Role.STAFF)).status_code == 403


def test_each_computed_tag_follows_its_rule(app, committed):
    def build():
        store_a, store_b = make_store().id, make_store().id
        m = {name: make_member(name) for name in ("fan", "unfollowed", "sharer", "parent", "friend", "big",
                                                 "small", "gone", "recent", "regular", "nobody")}
        m["newbie"] = make_member("newbie", joined=NOW - timedelta(days=3))
        follow(m["fan"])
        follow(m["unfollowed"], subscribed=False)
        share(m["sharer"])
        place(m["parent"], None, descendants=1)
        place(m["friend"], m["parent"], depth=1, first_paid_at=NOW - timedelta(days=2))
        paid_order(m["friend"], 500, paid_at=NOW - timedelta(days=2))
        paid_order(m["big"], 60_000, paid_at=NOW - timedelta(days=30))
        paid_order(m["big"], 50_000, paid_at=NOW - timedelta(days=300))
        paid_order(m["small"], 60_000, paid_at=NOW - timedelta(days=30))
        paid_order(m["small"], 50_000, paid_at=NOW - timedelta(days=400))  # outside the 12 months
        paid_order(m["small"], 90_000, paid_at=NOW - timedelta(days=20), status="refunded", refunded=90_000)
        paid_order(m["gone"], 1000, paid_at=NOW - timedelta(days=120))
        paid_order(m["recent"], 1000, paid_at=NOW - timedelta(days=120))
        paid_order(m["recent"], 1000, paid_at=NOW - timedelta(days=10))
        paid_order(m["regular"], 1000, paid_at=NOW - timedelta(days=10), store_id=store_b)
        paid_order(m["regular"], 1000, paid_at=NOW - timedelta(days=9), store_id=store_a)
        _redeem(m["regular"], store_b)
        return m, store_b

    m, store_b = committed(build)
    with app.app_context():
        refresh_computed_tags(NOW)
        db.session.commit()
        tags = {name: _tags_of(member_id) - {"tier:member"} for name, member_id in m.items()}
    assert tags["fan"] == {"follower"} and tags["unfollowed"] == set()
    assert tags["newbie"] == {"new_member"}
    assert tags["sharer"] == {"sharer"}
    assert tags["parent"] == {"promoter"} and "promoter" not in tags["friend"]
    assert "high_value" in tags["big"] and "high_value" not in tags["small"]
    assert "lapsed" in tags["gone"] and "lapsed" not in tags["recent"] and "lapsed" not in tags["nobody"]
    assert f"regular_store:{store_b}" in tags["regular"]
    assert not any(t.startswith("regular_store:") for t in tags["recent"])  # orders of no store
    assert tags["nobody"] == set()


def _redeem(member_id: int, store_id: int) -> None:
    batch = CouponBatch(name="in store", kind="amount_off", amount_off=100, total=10, status="active")
    db.session.add(batch)
    db.session.flush()
    coupon = Coupon(batch_id=batch.id, member_id=member_id, sequence=1, issue_number=1, claim_day=NOW.date(),
                    source="public", status="used", valid_from=NOW - timedelta(days=1),
                    expires_at=NOW + timedelta(days=5))
    db.session.add(coupon)
    clerk = create_staff(username=f"clerk-{member_id}", password=STAFF_PASSWORD, role=Role.STAFF, store_ids=[store_id])
    db.session.flush()
    db.session.add(CouponRedemption(coupon_id=coupon.id, store_id=store_id, staff_id=clerk.id, redeemed_at=NOW))
    db.session.flush()


def test_a_refresh_removes_tags_whose_rule_no_longer_holds_and_keeps_manual_ones(app, committed):
    def build():
        fan = make_member("fan")
        follow(fan)
        manual = Tag(name="hand-picked", kind="manual", created_at=NOW)
        db.session.add(manual)
        db.session.flush()
        db.session.add(MemberTag(member_id=fan, tag_id=manual.id, source="manual", added_at=NOW))
        return fan

    fan = committed(build)
    with app.app_context():
        refresh_computed_tags(NOW)
        db.session.commit()
        assert _tags_of(fan) == {"follower", "hand-picked", "tier:member"}
        db.session.execute(db.update(db.Model.metadata.tables["oa_followers"]).values(subscribed=False))
        refresh_computed_tags(NOW + timedelta(hours=2))
        db.session.commit()
        assert _tags_of(fan) == {"hand-picked", "tier:member"}


def test_tier_tags_follow_the_points_earned_in_twelve_months(app, committed, monkeypatch):
    monkeypatch.setitem(app.config, "POINTS_TIERS", "member:0:1.0,silver:1000:1.2")

    def build():
        gold, plain = make_member("earner"), make_member("plain")
        order = paid_order(gold, 100_000, paid_at=NOW - timedelta(days=5))
        db.session.add(PointsEntry(member_id=gold, reason="earn", source="order", source_id=str(order), order_id=order,
                                   points=1500, delta=1500, balance_after=1500, created_at=NOW - timedelta(days=5)))
        return gold, plain

    gold, plain = committed(build)
    with app.app_context():
        refresh_computed_tags(NOW)
        db.session.commit()
        assert "tier:silver" in _tags_of(gold) and "tier:member" in _tags_of(plain)
        assert db.session.get(MemberProfile, gold).tier == "silver"


def test_a_later_refresh_rewrites_only_the_profiles_whose_figures_changed(app, committed, monkeypatch):
    """The points of a year ago age out of the tier window: that member's tier and tag follow; the member
    whose tier and regular store stayed the same keeps the row as written (a refresh writes what changed)."""
    monkeypatch.setitem(app.config, "POINTS_TIERS", "member:0:1.0,silver:1000:1.2")

    def build():
        earner, plain = make_member("earner"), make_member("plain")
        order = paid_order(earner, 100_000, paid_at=NOW - timedelta(days=360))
        db.session.add(PointsEntry(member_id=earner, reason="earn", source="order", source_id=str(order),
                                   order_id=order, points=1500, delta=1500, balance_after=1500,
                                   created_at=NOW - timedelta(days=360)))
        return earner, plain

    earner, plain = committed(build)
    later = NOW + timedelta(days=10)
    with app.app_context():
        refresh_computed_tags(NOW)
        db.session.commit()
        assert "tier:silver" in _tags_of(earner)
        refresh_computed_tags(later)
        db.session.commit()
        assert "tier:member" in _tags_of(earner) and "tier:silver" not in _tags_of(earner)
        assert (db.session.get(MemberProfile, earner).tier, db.session.get(MemberProfile, earner).refreshed_at) == (
            "member", later)
        assert db.session.get(MemberProfile, plain).refreshed_at == NOW


def test_the_periodic_job_refreshes_once_within_its_interval(app, committed):
    fan = committed(lambda: make_member("fan"))
    assert PERIODIC["crm computed tags refreshed"] is refresh_when_due
    with app.app_context():
        assert isinstance(refresh_when_due(NOW), dict)
        db.session.commit()
        follow(fan)
        db.session.commit()
        assert refresh_when_due(NOW + timedelta(minutes=5)) == "fresh"
        assert "follower" not in _tags_of(fan)
        refresh_when_due(NOW + timedelta(minutes=61))
        assert "follower" in _tags_of(fan)


def test_a_tag_job_run_again_resumes_after_its_last_committed_chunk(app, committed, monkeypatch):
    from crm.tags import service

    def build():
        ids = [make_member(f"r{i}") for i in range(5)]
        tag = Tag(name="resumed", kind="manual", created_at=NOW)
        db.session.add(tag)
        db.session.flush()
        return ids, tag.id

    ids, tag_id = committed(build)
    monkeypatch.setattr(service, "CHUNK", 2)
    with app.app_context():
        job = service.TagJob(id="a" * 32, tag_id=tag_id, action="add", status="running", member_ids=ids,
                             requested=5, processed=2, changed=2, unknown=0, created_at=NOW)
        db.session.add(job)  # as if a runner died after its first chunk (whose rows it did not write here)
        db.session.commit()
        service.run_tag_job(job.id)
        job = db.session.get(service.TagJob, "a" * 32)
        assert (job.status, job.processed, job.changed) == ("finished", 5, 5)
        assert [bool(_tags_of(m)) for m in ids] == [False, False, True, True, True]


def test_the_same_tag_put_on_a_member_at_once_by_many_is_one_row_and_no_error(app, client, committed, marketing,
                                                                            live_server):
    import threading

    import requests

    member = committed(lambda: make_member("busy"))
    tag_id = _create_tag(client, marketing, "rush")
    statuses, changed, barrier = [], [], threading.Barrier(6)

    def put() -> None:
        barrier.wait()
        response = requests.put(f"{live_server}/api/v1/admin/members/{member}/tags/{tag_id}", headers=marketing,
                                timeout=30)
        statuses.append(response.status_code)
        changed.append(response.json().get("changed"))

    threads = [threading.Thread(target=put) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6 and changed.count(True) == 1
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(MemberTag)) == 1
