"""Store shares and the member's home store: a clerk shares for their store; a member arriving through
it is bound under no one and gets the store as home store. The home store is the first store share or
store purchase, whichever came first, and is never moved."""

from __future__ import annotations

from sqlalchemy import func, select

from referral.sharing.models import ShareOpen, StoreShare, StoreShareOpen
from referral.tree.models import BindHistory
from shop.auth import Role
from shop.extensions import db
from shop.members.models import JourneyEvent
from tests.conftest import bearer
from tests.orders.conftest import place, prepay_id_of, stub_pay
from tests.referral.share_steps import open_share, parent
from tests.till.conftest import code_of, sell

PNG = b"\x89PNG\r\n\x1a\n"


def store_share(client, headers: dict, expect: int = 201, **body) -> dict:
    response = client.post("/api/v1/staff/shares", json=body, headers=headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def me(client, headers: dict) -> dict:
    return client.get("/api/v1/me", headers=headers).get_json()


def pay_pickup(client, stub, shop, headers, store_id: int) -> dict:
    basket = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup", "store_id": store_id}
    placed = place(client, headers, basket).get_json()
    stub_pay(stub, prepay_id_of(placed))
    return client.get(f"/api/v1/orders/{placed['order']['id']}", headers=headers).get_json()


def test_a_clerk_shares_for_their_store_and_the_share_is_the_stores_and_theirs(app, client, shop, staff_token):
    clerk = staff_token(Role.STAFF, store_ids=[shop.store_id])
    body = store_share(client, clerk, campaign="opening-week")

    assert body["scene"].startswith("s.") and len(body["scene"]) <= 32
    assert body["path"] == f"pages/index/index?scene={body['scene']}"
    assert body["store_id"] == shop.store_id and body["campaign"] == "opening-week"
    with app.app_context():
        stored = db.session.get(StoreShare, body["share_id"])
        assert (stored.store_id, stored.staff_id, stored.scene) == (shop.store_id, body["staff_id"], body["scene"])


def test_a_clerk_of_several_stores_names_one_of_theirs(client, shop, staff_token):
    both = staff_token(Role.STAFF, store_ids=[shop.store_id, shop.other_store_id])
    assert store_share(client, both, expect=422)["code"] == "store_share_store_required"
    assert store_share(client, both, store_id=shop.other_store_id)["store_id"] == shop.other_store_id
    one = staff_token(Role.STAFF, store_ids=[shop.store_id])
    assert store_share(client, one, expect=403, store_id=shop.other_store_id)["code"] == "store_share_not_your_store"
    assert store_share(client, one, expect=404, product_id=987654321)["code"] == "product_not_found"


def test_only_clerks_make_store_shares(app, client, shop, login, staff_token):
    for headers in (bearer(login("eve:1")["token"]), staff_token(Role.MARKETING), staff_token(Role.ADMIN)):
        assert store_share(client, headers, expect=403)["code"] == "forbidden"
    assert client.post("/api/v1/staff/shares", json={}).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoreShare)) == 0


def test_a_new_member_arriving_through_a_store_share_is_bound_under_no_one_and_gets_the_store_as_home(
        app, client, shop, login, staff_token):
    scene = store_share(client, staff_token(Role.STAFF, store_ids=[shop.store_id]))["scene"]
    arrived = login("newbie:1", scene=scene)

    member_id = arrived["member"]["id"]
    assert arrived["member"]["home_store_id"] == shop.store_id
    assert arrived["member"]["home_store_source"] == "store_share"
    assert parent(app, member_id) is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BindHistory)) == 0
        assert db.session.scalar(select(func.count()).select_from(ShareOpen)) == 0
        opened = db.session.scalars(select(StoreShareOpen)).one()
        assert (opened.member_id, opened.new_member, opened.home_store_set) == (member_id, True, True)
        event = db.session.scalars(select(JourneyEvent).where(JourneyEvent.kind == "store_share_opened")).one()
        assert event.store_id == shop.store_id


def test_a_member_opening_a_store_share_is_told_it_is_a_stores_and_a_repeat_answers_the_first(
        client, shop, alice, staff_token):
    scene = store_share(client, staff_token(Role.STAFF, store_ids=[shop.store_id]))["scene"]
    first = open_share(client, alice, scene)
    assert first.status_code == 201
    assert {k: first.get_json()[k] for k in ("outcome", "bound", "store_id", "repeat")} == {
        "outcome": "store", "bound": False, "store_id": shop.store_id, "repeat": False}
    again = open_share(client, alice, scene)
    assert again.status_code == 200 and again.get_json()["repeat"] is True
    assert me(client, alice)["home_store_id"] == shop.store_id
    assert open_share(client, alice, "s.NoSuchScene").get_json()["code"] == "share_not_found"


def test_the_first_store_share_wins_over_a_later_purchase_elsewhere(client, stub, shop, alice, staff_token,
                                                                   live_server):
    scene = store_share(client, staff_token(Role.STAFF, store_ids=[shop.other_store_id]))["scene"]
    open_share(client, alice, scene)
    pay_pickup(client, stub, shop, alice, shop.store_id)
    assert (me(client, alice)["home_store_id"], me(client, alice)["home_store_source"]) == (
        shop.other_store_id, "store_share")


def test_the_first_store_purchase_makes_the_home_store_and_a_later_store_share_does_not_move_it(
        app, client, stub, shop, alice, staff_token, live_server):
    placed = place(client, alice, {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup",
                                   "store_id": shop.store_id})
    assert me(client, alice)["home_store_id"] is None  # an order placed is no purchase yet
    stub_pay(stub, prepay_id_of(placed.get_json()))
    client.get(f"/api/v1/orders/{placed.get_json()['order']['id']}", headers=alice)
    assert (me(client, alice)["home_store_id"], me(client, alice)["home_store_source"]) == (shop.store_id, "purchase")

    scene = store_share(client, staff_token(Role.STAFF, store_ids=[shop.other_store_id]))["scene"]
    opened = open_share(client, alice, scene).get_json()
    assert opened["outcome"] == "store" and opened["store_id"] == shop.other_store_id
    pay_pickup(client, stub, shop, alice, shop.other_store_id)
    assert me(client, alice)["home_store_id"] == shop.store_id
    with app.app_context():
        assert db.session.scalars(select(StoreShareOpen.home_store_set)).one() is False


def test_a_delivery_order_makes_no_home_store(client, stub, shop, alice, live_server):
    basket = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "delivery",
              "address": {"name": "Alice", "phone": "13800138000", "region": "Shanghai Huangpu",
                          "detail": "1 Nanjing Road"}}
    placed = place(client, alice, basket).get_json()
    stub_pay(stub, prepay_id_of(placed))
    assert client.get(f"/api/v1/orders/{placed['order']['id']}", headers=alice).get_json()["status"] == "paid"
    assert me(client, alice)["home_store_id"] is None


def test_a_till_sale_at_a_store_makes_it_home(app, client, shop, alice, staff_token):
    """A till sale is an order paid at the store: its payment is the first store purchase."""
    member_id = me(client, alice)["id"]
    clerk = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    assert sell(client, clerk, code_of(app, member_id), amount=1200).status_code == 201
    assert (me(client, alice)["home_store_id"], me(client, alice)["home_store_source"]) == (
        shop.other_store_id, "purchase")


def test_a_clerk_gets_the_poster_of_their_stores_share_and_not_of_another_stores(client, shop, staff_token):
    clerk = staff_token(Role.STAFF, store_ids=[shop.store_id])
    share_id = store_share(client, clerk)["share_id"]
    poster = client.get(f"/api/v1/staff/shares/{share_id}/poster", headers=clerk)
    assert poster.status_code == 200 and poster.data.startswith(PNG)
    elsewhere = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    refused = client.get(f"/api/v1/staff/shares/{share_id}/poster", headers=elsewhere)
    assert refused.status_code == 404 and refused.get_json()["code"] == "share_not_found"
