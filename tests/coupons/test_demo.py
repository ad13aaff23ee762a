"""The demo's coupon batches: seeded once, claimable, and in-store at the demo clerk's store."""

from sqlalchemy import func, select

from coupons.demo import seed_coupon_demo
from coupons.models import CouponBatch
from shop.catalog.models import Product
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
        assert len(created) == 5 and seed_coupon_demo() == []  # a restart adds nothing
        everything = db.session.scalars(select(CouponBatch)).all()
        coffee_kinds = {batch.name: batch.id for batch in everything if batch.kind in ("nth_item_percent", "free_item")}
        batches = {batch.channel + "/" + batch.usage: batch for batch in everything if batch.id not in coffee_kinds.values()}
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
    assert {item["batch"]["id"] for item in listed["items"]} == {public_id, in_store_id, *coffee_kinds.values()}
    claimed = client.post(f"/api/v1/coupon-batches/{public_id}/claim",
                          headers={**bearer(token), "Idempotency-Key": new_key()})
    assert claimed.status_code == 201 and claimed.get_json()["batch"]["amount_off"] == 500


def test_the_demo_has_second_latte_half_price_online_and_a_free_americano(app, client, login):
    with app.app_context():
        seed_demo("demo-password")
        seed_coupon_demo()
        db.session.commit()
    token = login("alice:1")["token"]
    listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
    shown = {item["batch"]["name"]: item["batch"] for item in listed["items"]}
    half, free = shown["Second latte half price"], shown["A free Americano"]
    assert (half["kind"], half["usage"], half["description"]) == ("nth_item_percent", "online", "Second item half price")
    assert (free["kind"], free["usage"], free["description"]) == ("free_item", "both", "A free item up to ¥22")
    with app.app_context():
        titles = {batch: set(db.session.scalars(select(Product.title).where(Product.id.in_(shown[batch]["scope_product_ids"]))))
                  for batch in shown if batch in ("Second latte half price", "A free Americano")}
    assert titles == {"Second latte half price": {"Latte"}, "A free Americano": {"Americano"}}
