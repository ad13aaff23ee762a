"""Consent and personal data (PIPL): consent with its history, the export of one's own data, and deleting the
account: refused while money is in flight, else anonymised with the accounts kept whole, and no second
welcome coupon or new sharer for the same WeChat identity coming back."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import func, select

from coupons.models import Coupon
from crm.privacy.models import MemberDeletion
from referral.sharing.models import Share, ShareOpen
from referral.withdrawals.models import Withdrawal
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import ConsentRecord, DeletedIdentity, JourneyEvent, Member
from shop.members.privacy import identity_hash, purge_deleted_identities
from shop.orders.models import Order, OrderLine, Refund
from shop.points.models import PointsEntry
from tests.conftest import bearer
from tests.orders.conftest import at_once, pickup_basket, place, prepay_id_of, stub_pay
from tests.referral.share_steps import parent, share


def me(client, token):
    return client.get("/api/v1/me", headers=bearer(token)).get_json()


def consent(client, token, granted):
    return client.patch("/api/v1/me", headers=bearer(token), json={"marketing_consent": granted})


def history(app, member_id):
    with app.app_context():
        return [(row.granted, row.text_version) for row in db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.member_id == member_id).order_by(ConsentRecord.id))]


def openid_of(app, member_id):
    with app.app_context():
        return db.session.get(Member, member_id).openid


def paid_order(client, stub, headers, basket) -> dict:
    placed = place(client, headers, basket)
    assert placed.status_code == 201, placed.get_json()
    stub_pay(stub, prepay_id_of(placed.get_json()))
    return client.get(f"/api/v1/orders/{placed.get_json()['order']['id']}", headers=headers).get_json()


# --- consent ---------------------------------------------------------------------------------------------


def test_a_member_starts_unknown_grants_and_withdraws_and_each_is_recorded(app, client, login):
    logged = login("alice:1")
    token, member_id = logged["token"], logged["member"]["id"]
    assert logged["member"]["marketing_consent"] == "unknown"  # the mini-program asks at this login
    assert me(client, token)["marketing_consent"] == "unknown"

    granted = consent(client, token, True)
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json()["marketing_consent"] == "granted"
    assert granted.get_json()["marketing_consent_version"] == app.config["PRIVACY_CONSENT_VERSION"]
    assert granted.get_json()["marketing_consent_at"] is not None
    withdrawn = consent(client, token, False)
    assert withdrawn.get_json()["marketing_consent"] == "withdrawn"
    assert me(client, token)["marketing_consent"] == "withdrawn"
    version = app.config["PRIVACY_CONSENT_VERSION"]
    assert history(app, member_id) == [(True, version), (False, version)]


def test_a_nickname_change_records_no_consent_and_bad_consent_values_change_nothing(app, client, login):
    logged = login("alice:1")
    token = logged["token"]
    client.patch("/api/v1/me", headers=bearer(token), json={"nickname": "Alice"})
    for body in ({"marketing_consent": "yes"}, {"marketing_consent": None}, {"marketing_consent": 1}):
        response = client.patch("/api/v1/me", headers=bearer(token), json=body)
        assert response.status_code == 422, body
        assert "marketing_consent" in response.get_json()["errors"]
    assert me(client, token)["marketing_consent"] == "unknown"
    assert history(app, logged["member"]["id"]) == []


# --- export ----------------------------------------------------------------------------------------------


def test_the_export_holds_the_members_own_data_and_friends_only_as_masked_nicknames(
        app, client, login, stub, shop, live_server):
    sharer = login("sharer:1")
    client.patch("/api/v1/me", headers=bearer(sharer["token"]), json={"nickname": "Sharer Sun"})
    scene = share(client, bearer(sharer["token"]))["scene"]
    alice = login("alice:1", scene=scene)
    headers = bearer(alice["token"])
    client.patch("/api/v1/me", headers=headers, json={"nickname": "Alice", "marketing_consent": True})
    friend = login("friend:1", scene=share(client, headers)["scene"])
    client.patch("/api/v1/me", headers=bearer(friend["token"]), json={"nickname": "Friend Fu"})
    order = paid_order(client, stub, headers, pickup_basket(shop))
    other = login("bob:1")
    place(client, bearer(other["token"]), pickup_basket(shop))

    response = client.get("/api/v1/me/export", headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["profile"]["openid"] == openid_of(app, alice["member"]["id"]) and data["profile"]["nickname"] == "Alice"
    assert data["profile"]["marketing_consent"] == "granted"
    assert [row["granted"] for row in data["consent_history"]["items"]] == [True]
    assert [row["id"] for row in data["orders"]["items"]] == [order["id"]]
    assert len(data["orders"]["items"][0]["lines"]) == 2
    assert data["points"]["total"] >= 1 and all(row["member_id"] == alice["member"]["id"]
                                                 for row in data["points"]["items"])
    assert data["shares"]["total"] == 1 and data["share_opens"]["total"] == 1
    assert data["referral"]["parent"] == {"nickname": "S**"}
    assert data["downline"]["items"] == [{"nickname": "F**", "bound_at": data["downline"]["items"][0]["bound_at"]}]
    assert {event["member_id"] for event in data["events"]["items"]} == {alice["member"]["id"]}
    text = response.get_data(as_text=True)
    others = [openid_of(app, someone["member"]["id"]) for someone in (sharer, friend, other)]
    for foreign in ("Sharer Sun", "Friend Fu", "session_key", '"secret"', *others):
        assert foreign not in text, foreign


def test_large_parts_are_paged_with_their_total_and_next_page(app, client, login):
    app.config["PRIVACY_EXPORT_PAGE_SIZE"] = 2
    try:
        logged = login("alice:1")
        headers = bearer(logged["token"])
        for granted in (True, False, True):
            consent(client, logged["token"], granted)
        first = client.get("/api/v1/me/export", headers=headers).get_json()["consent_history"]
        assert (len(first["items"]), first["total"]) == (2, 3)
        assert first["next"] == "/api/v1/me/export/consent_history?page=2&page_size=2"
        second = client.get(first["next"], headers=headers).get_json()
        assert [row["granted"] for row in second["items"]] == [True] and second["next"] is None
    finally:
        app.config["PRIVACY_EXPORT_PAGE_SIZE"] = 100
    unknown = client.get("/api/v1/me/export/passwords", headers=headers)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "export_part_not_found"
    too_big = client.get("/api/v1/me/export/orders?page_size=1000", headers=headers)
    assert too_big.status_code == 422


# --- deletion --------------------------------------------------------------------------------------------


def test_deletion_is_refused_while_an_order_is_unpaid(app, client, login, shop):
    logged = login("alice:1")
    placed = place(client, bearer(logged["token"]), pickup_basket(shop))
    assert placed.status_code == 201
    response = client.delete("/api/v1/me", headers=bearer(logged["token"]))
    assert response.status_code == 409 and response.get_json()["code"] == "deletion_unpaid_order"
    assert me(client, logged["token"])["id"] == logged["member"]["id"]  # nothing changed, token still good


def test_deletion_is_refused_while_a_refund_or_a_withdrawal_is_open(app, client, login, stub, shop, live_server):
    logged = login("alice:1")
    headers = bearer(logged["token"])
    order = paid_order(client, stub, headers, pickup_basket(shop))
    with app.app_context():
        refund = Refund(order_id=order["id"], number="R-open-1", amount=100, reason="test", lines=[],
                        requested_by=f"member:{logged['member']['id']}")
        db.session.add(refund)
        db.session.commit()
        refund_id = refund.id
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 409 and response.get_json()["code"] == "deletion_refund_open"
    with app.app_context():
        db.session.get(Refund, refund_id).status = "succeeded"
        db.session.add(Withdrawal(member_id=logged["member"]["id"], amount=100, out_bill_no="W-open-1"))
        db.session.commit()
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 409 and response.get_json()["code"] == "deletion_withdrawal_open"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemberDeletion)) == 0
        assert db.session.get(Member, logged["member"]["id"]).deleted_at is None


def test_deletion_anonymises_keeps_the_accounts_and_stops_the_tokens_at_once(
        app, client, login, stub, shop, live_server):
    sharer = login("sharer:1")
    scene = share(client, bearer(sharer["token"]))["scene"]
    logged = login("alice:1", scene=scene)
    member_id, headers = logged["member"]["id"], bearer(logged["token"])
    openid = openid_of(app, member_id)
    second_token = bearer(login("alice:2")["token"])
    client.patch("/api/v1/me", headers=headers, json={"nickname": "Alice", "avatar_url": "https://wx.qlogo.cn/a"})
    client.post("/api/v1/me/phone", headers=headers, json={"code": "13800138000:1"})
    client.post("/api/v1/shares", json={}, headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    order = paid_order(client, stub, headers, pickup_basket(shop))
    with app.app_context():
        db.session.add(JourneyEvent(member_id=member_id, kind="view_product", occurred_at=utcnow(),
                                    attributes={"product_id": 1, "ip": "10.1.2.3", "device_id": "dev-1"}))
        db.session.execute(ShareOpen.__table__.update().where(ShareOpen.member_id == member_id)
                           .values(ip="10.9.9.9", device_id="dev-1"))
        db.session.commit()
        points_before = db.session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.member_id == member_id))
        lines_before = db.session.scalar(select(func.sum(OrderLine.amount_payable)).where(OrderLine.order_id == order["id"]))
        assert points_before

    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["identity_kept_until"] > response.get_json()["deleted_at"]
    for token in (headers, second_token):  # every token of the member, at once
        refused = client.get("/api/v1/me", headers=token)
        assert refused.status_code == 401 and refused.get_json()["code"] == "token_invalid"

    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.openid == f"deleted:{member_id}"
        assert (member.unionid, member.session_key, member.nickname, member.avatar_url, member.phone) == (None,) * 5
        assert member.deleted_at is not None and member.marketing_consent == "withdrawn"
        events = db.session.scalars(select(JourneyEvent.attributes).where(JourneyEvent.member_id == member_id)).all()
        assert not any({"ip", "device_id"} & set(attributes) for attributes in events)
        assert {"product_id": 1} in events  # what the step was stays for the funnel
        assert db.session.execute(select(ShareOpen.ip, ShareOpen.device_id)
                                  .where(ShareOpen.member_id == member_id)).all() == [(None, None)]
        assert db.session.execute(select(Share.ip, Share.device_id).where(Share.sharer_id == member_id)).all() == [
            (None, None)]
        # The accounts keep their meaning: the order, its lines, the ledger and the tree are as they were.
        kept = db.session.get(Order, order["id"])
        assert (kept.member_id, kept.amount_paid, kept.status) == (member_id, order["amount_paid"], order["status"])
        assert db.session.scalar(select(func.sum(OrderLine.amount_payable))
                                 .where(OrderLine.order_id == order["id"])) == lines_before
        assert db.session.scalar(select(func.sum(PointsEntry.points))
                                 .where(PointsEntry.member_id == member_id)) == points_before
        deletion = db.session.scalar(select(MemberDeletion).where(MemberDeletion.member_id == member_id))
        assert deletion.changes["journey_events"] >= 1 and deletion.changes["share_opens"] == 1
        assert openid not in str(deletion.changes) and "13800138000" not in str(deletion.changes)
        assert db.session.scalar(select(DeletedIdentity.openid_hash)) == identity_hash(openid) != openid
    assert parent(app, member_id) == sharer["member"]["id"]


def test_the_same_wechat_identity_returns_as_a_new_member_without_a_welcome_coupon_or_a_new_sharer(
        app, client, login, active_batch):
    welcome = active_batch(channel="new_member")
    first = login("alice:1")
    client.delete("/api/v1/me", headers=bearer(first["token"]))
    sharer = login("sharer:1")
    scene = share(client, bearer(sharer["token"]))["scene"]

    again = login("alice:3", scene=scene)
    assert again["is_new"] and again["member"]["id"] != first["member"]["id"]
    assert again["member"]["nickname"] is None and again["member"]["marketing_consent"] == "unknown"
    with app.app_context():
        holders = db.session.scalars(select(Coupon.member_id).where(Coupon.batch_id == welcome)).all()
        assert holders == [first["member"]["id"], sharer["member"]["id"]]  # none for the returning identity
        assert db.session.scalar(select(ShareOpen.outcome).where(ShareOpen.member_id == again["member"]["id"])) \
            == "returning"
    assert parent(app, again["member"]["id"]) is None
    opened = client.post("/api/v1/shares/open", json={"scene": scene}, headers=bearer(again["token"]))
    assert opened.status_code in (200, 201)
    assert parent(app, again["member"]["id"]) is None


def test_the_kept_hash_ends_with_its_period_and_then_the_identity_is_new_again(app, client, login, active_batch):
    welcome = active_batch(channel="new_member")
    first = login("alice:1")
    client.delete("/api/v1/me", headers=bearer(first["token"]))
    with app.app_context():
        assert purge_deleted_identities(utcnow()) == 0
        assert purge_deleted_identities(utcnow() + timedelta(days=app.config["PRIVACY_RETURNING_IDENTITY_DAYS"] + 1)) == 1
        db.session.commit()
    again = login("alice:2")
    with app.app_context():
        assert db.session.scalar(select(Coupon.id).where(Coupon.batch_id == welcome,
                                                         Coupon.member_id == again["member"]["id"])) is not None


def test_only_shoppers_export_and_delete(client, staff_token):
    for method, path in (("get", "/api/v1/me/export"), ("get", "/api/v1/me/export/orders"), ("delete", "/api/v1/me")):
        assert getattr(client, method)(path).status_code == 401
        for role in (Role.STAFF, Role.MARKETING, Role.ADMIN):
            response = getattr(client, method)(path, headers=staff_token(role))
            assert response.status_code == 403, (path, role)


def test_the_export_is_rate_limited_per_member(make_app):
    strict = make_app(RATE_LIMIT_PRIVACY_EXPORT_PER_MEMBER="2 per minute").test_client()
    alice, bob = (bearer(strict.post("/api/v1/auth/wechat-login", json={"code": f"{name}:1"}).get_json()["token"])
                  for name in ("alice", "bob"))
    assert strict.get("/api/v1/me/export", headers=alice).status_code == 200
    assert strict.get("/api/v1/me/export", headers=alice).status_code == 200
    limited = strict.get("/api/v1/me/export", headers=alice)
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    assert strict.get("/api/v1/me/export", headers=bob).status_code == 200


def test_two_deletions_sent_at_once_delete_once(app, login, live_server):
    logged = login("alice:1")
    headers = bearer(logged["token"])
    answers = at_once(*[lambda: requests.delete(f"{live_server}/api/v1/me", headers=headers, timeout=30)] * 3)
    assert {answer.status_code for answer in answers} <= {200, 401}
    assert 200 in {answer.status_code for answer in answers}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemberDeletion)) == 1
        assert db.session.scalar(select(func.count()).select_from(DeletedIdentity)) == 1
