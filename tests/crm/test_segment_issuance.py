"""A targeted batch issued to a segment (source {"segment_id": N}) reaches only members who granted
marketing consent (members.marketing_consent)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from coupons.models import Coupon
from shop.extensions import db
from shop.members.models import Member
from tests.coupons.conftest import batch_body
from tests.crm.conftest import make_member

RULE = {"field": "registered_at", "op": ">", "value": "2000-01-01T00:00:00+00:00"}


def _targeted_batch(client, marketing) -> int:
    created = client.post("/api/v1/admin/coupon-batches", json=batch_body(channel="targeted", total=10),
                          headers=marketing)
    assert created.status_code == 201, created.get_json()
    batch_id = created.get_json()["id"]
    assert client.post(f"/api/v1/admin/coupon-batches/{batch_id}/activate", headers=marketing).status_code == 200
    return batch_id


def _segment(client, marketing) -> int:
    created = client.post("/api/v1/admin/segments", json={"name": "everyone", "rule": RULE}, headers=marketing)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def test_members_without_granted_consent_get_no_targeted_coupon(app, client, committed, marketing):
    committed(lambda: [make_member(f"u{i}") for i in range(3)])
    batch_id, segment_id = _targeted_batch(client, marketing), _segment(client, marketing)
    response = client.post(f"/api/v1/admin/segments/{segment_id}/issue", json={"batch_id": batch_id},
                           headers=marketing)
    assert response.status_code == 202, response.get_json()
    job = client.get(f"/api/v1/admin/coupon-batches/{batch_id}/issue-jobs/{response.get_json()['id']}",
                     headers=marketing).get_json()
    assert (job["status"], job["requested"], job["issued"]) == ("finished", 0, 0)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Coupon)) == 0


def test_members_who_granted_consent_get_the_segments_coupon(app, client, committed, marketing):
    ids = committed(lambda: [make_member(f"c{i}") for i in range(3)])
    committed(lambda: db.session.execute(update(Member).where(Member.id.in_(ids[:2]))
                                         .values(marketing_consent="granted")))
    batch_id, segment_id = _targeted_batch(client, marketing), _segment(client, marketing)
    client.post(f"/api/v1/admin/segments/{segment_id}/issue", json={"batch_id": batch_id}, headers=marketing)
    with app.app_context():
        assert set(db.session.scalars(select(Coupon.member_id))) == set(ids[:2])


def test_issuing_to_a_missing_segment_or_a_public_batch_is_refused(client, marketing):
    segment_id = _segment(client, marketing)
    public = client.post("/api/v1/admin/coupon-batches", json=batch_body(), headers=marketing).get_json()["id"]
    missing = client.post("/api/v1/admin/segments/999/issue", json={"batch_id": public}, headers=marketing)
    wrong = client.post(f"/api/v1/admin/segments/{segment_id}/issue", json={"batch_id": public}, headers=marketing)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "segment_not_found")
    assert (wrong.status_code, wrong.get_json()["code"]) == (409, "coupon_batch_wrong_channel")
