"""The admin's member list and member view: filters, the relationship at a glance, roles and masking."""

from __future__ import annotations

from datetime import timedelta

from crm.tags.models import MemberTag, Tag
from shop.extensions import db
from shop.members.journey import record_event
from tests.crm.conftest import NOW, follow, make_member, paid_order, place, points


def _people():
    parent = make_member("Parent", phone="13800001111")
    alice = make_member("Alice", phone="13812345678", arrival_scene="s1")
    make_member("Bob")
    place(parent, None, descendants=1)
    place(alice, parent, depth=1)
    follow(alice)
    points(alice, 120)
    paid_order(alice, 3000, paid_at=NOW - timedelta(days=3))
    paid_order(alice, 2000, paid_at=NOW - timedelta(days=2), status="refunded", refunded=2000)
    tag = Tag(name="vip", kind="manual", created_at=NOW)
    db.session.add(tag)
    db.session.flush()
    db.session.add(MemberTag(member_id=alice, tag_id=tag.id, source="manual", added_at=NOW))
    for i in range(25):
        record_event(alice, "view_product", occurred_at=NOW - timedelta(minutes=i), product_id=i)
    return {"parent": parent, "alice": alice}


def test_marketing_sees_a_members_relationship_with_the_phone_masked(client, committed, marketing):
    people = committed(_people)
    view = client.get(f"/api/v1/admin/members/{people['alice']}", headers=marketing).get_json()
    assert view["phone"] == "138****5678"
    assert view["follow"]["following"] is True and view["is_following"] is True and view["tags"] == ["vip"]
    assert view["points"]["balance"] == 120 and view["points"]["tier"]
    assert (view["orders"]["paid_count"], view["orders"]["spend_fen"], len(view["orders"]["recent"])) == (1, 3000, 2)
    assert view["referral"]["referrer"] == {"id": people["parent"], "nickname": "Parent"}
    assert view["journey"]["total"] == 25 and len(view["journey"]["items"]) == 20
    page2 = client.get(f"/api/v1/admin/members/{people['alice']}/journey?page=2", headers=marketing).get_json()
    assert [e["attributes"]["product_id"] for e in page2["items"]] == [20, 21, 22, 23, 24]
    parent = client.get(f"/api/v1/admin/members/{people['parent']}", headers=marketing).get_json()
    assert (parent["referral"]["direct"], parent["referral"]["descendants"]) == (1, 1)


def test_admins_see_the_whole_phone_number(client, committed, admin):
    people = committed(_people)
    assert client.get(f"/api/v1/admin/members/{people['alice']}", headers=admin).get_json()["phone"] == "13812345678"
    listed = client.get("/api/v1/admin/members?q=138123", headers=admin).get_json()
    assert [m["phone"] for m in listed["items"]] == ["13812345678"]


def test_the_member_list_filters_by_tag_segment_and_search(client, committed, marketing):
    people = committed(_people)
    by_tag = client.get("/api/v1/admin/members?tag=vip", headers=marketing).get_json()
    assert [m["id"] for m in by_tag["items"]] == [people["alice"]] and by_tag["items"][0]["phone"] == "138****5678"
    segment = client.post("/api/v1/admin/segments", headers=marketing, json={
        "name": "in the tree", "rule": {"field": "referral_depth", "op": ">=", "value": 1}}).get_json()
    by_segment = client.get(f"/api/v1/admin/members?segment_id={segment['id']}", headers=marketing).get_json()
    assert [m["id"] for m in by_segment["items"]] == [people["alice"]]
    by_name = client.get("/api/v1/admin/members?q=Ali", headers=marketing).get_json()
    assert [m["id"] for m in by_name["items"]] == [people["alice"]]
    everyone = client.get("/api/v1/admin/members?page_size=2", headers=marketing).get_json()
    assert (everyone["total"], len(everyone["items"])) == (3, 2)
    wildcard = client.get("/api/v1/admin/members?q=%25", headers=marketing).get_json()
    assert wildcard["total"] == 0
    following = client.get("/api/v1/admin/members?following=true&tag=vip", headers=marketing).get_json()
    assert [m["id"] for m in following["items"]] == [people["alice"]]
    listed_phones = client.get("/api/v1/admin/members?has_phone=true", headers=marketing).get_json()
    assert sorted(m["phone"] for m in listed_phones["items"]) == ["138****1111", "138****5678"]


def test_unknown_members_segments_and_callers_are_refused(client, login, marketing):
    missing = client.get("/api/v1/admin/members/999999", headers=marketing)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "crm_member_not_found")
    no_segment = client.get("/api/v1/admin/members?segment_id=77", headers=marketing)
    assert (no_segment.status_code, no_segment.get_json()["code"]) == (404, "segment_not_found")
    assert client.get("/api/v1/admin/members?colour=red", headers=marketing).status_code == 422
    shopper = {"Authorization": f"Bearer {login('members-shopper')['token']}"}
    assert client.get("/api/v1/admin/members", headers=shopper).status_code == 403
