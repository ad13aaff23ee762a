"""The demo's coupon batches: seeded once, claimable, and in-store at the demo clerk's store."""

from sqlalchemy import func, select

from coupons.demo import seed_coupon_demo
from coupons.models import CouponBatch
from shop.demo import seed_demo
from shop.extensions import db
from shop.stores.models import Store
from tests.conftest import bearer
from tests.coupons.conftest import new_key


def test_without_the_demo_brand_no_demo_batches_are_made(app):
    with app.app_context():
        assert seed_coupon_demo() == []
        assert db.session.scalar(select(func.count()).select_from(CouponBatch)) == 0


def test_the_demo_has_a_public_a_new_member_and_an_in_store_batch_once(app, client, login):
    with app.app_context():
        seed_demo("demo-password")
        created = seed_coupon_demo()
        db.session.commit()
        assert len(created) == 3 and seed_coupon_demo() == []  # a restart adds nothing
        batches = {batch.channel + "/" + batch.usage: batch for batch in db.session.scalars(select(CouponBatch))}
        assert set(batches) == {"public/both", "new_member/both", "public/in_store"}
        assert {batch.status for batch in batches.values()} == {"active"}
        square = db.session.scalar(select(Store.id).where(Store.name == "Ripple People's Square"))
        in_store = batches["public/in_store"]
        scoped_cities = set(db.session.scalars(select(Store.city).where(Store.id.in_(in_store.scope_store_ids))))
        public_id, in_store_id = batches["public/both"].id, in_store.id
        assert square in in_store.scope_store_ids and scoped_cities == {"Shanghai"}
        assert len(in_store.scope_store_ids) == 5
        db.session.remove()
    token = login("alice:1")["token"]
    listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
    assert {item["batch"]["id"] for item in listed["items"]} == {public_id, in_store_id}
    claimed = client.post(f"/api/v1/coupon-batches/{public_id}/claim",
                          headers={**bearer(token), "Idempotency-Key": new_key()})
    assert claimed.status_code == 201 and claimed.get_json()["batch"]["amount_off"] == 500
