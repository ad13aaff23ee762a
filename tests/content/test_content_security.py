"""Content security: nicknames and share titles go through WeChat's msg_sec_check (the stub, over HTTP)
before they are kept; reviews wait for an admin; WeChat down follows the setting; avatars only from
WeChat's hosts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from referral.sharing.models import Share
from shop.auth import Role
from shop.config import ConfigError
from shop.content.models import ContentReview
from shop.database import utcnow
from shop.extensions import db
from shop.jobs import sweep_outbox
from shop.members.models import Member
from shop.outbox.models import OutboxEntry
from tests.conftest import bearer

CHECKS = "wxa/msg_sec_check"


@pytest.fixture
def alice(login) -> dict:
    body = login("alice:1")
    return {"id": body["member"]["id"], "headers": bearer(body["token"])}


@pytest.fixture
def admin(staff_token) -> dict:
    return staff_token(Role.ADMIN)


def wechat_content_check_fails(stub, mode: str | None) -> None:
    requests.post(f"{stub.url}stub/content-security/fail", json={"mode": mode}, timeout=5).raise_for_status()


def set_nickname(client, who: dict, nickname, **more):
    return client.patch("/api/v1/me", headers=who["headers"], json={"nickname": nickname, **more})


def nickname_of(app, member_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Member, member_id).nickname


def reviews(client, admin: dict, **query) -> dict:
    response = client.get("/api/v1/admin/content-reviews", headers=admin, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def review_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ContentReview))


def share(client, who: dict, **body):
    return client.post("/api/v1/shares", headers=who["headers"], json=body)


def share_title(app, share_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Share, share_id).title


def sweep(app, now) -> dict:
    with app.app_context():
        return sweep_outbox(now)


# --- nickname ---------------------------------------------------------------------------------


def test_a_clean_nickname_is_checked_with_wechat_as_profile_text_and_kept(app, client, stub, alice, admin):
    response = set_nickname(client, alice, "Alice in town")
    assert response.status_code == 200 and response.get_json()["nickname"] == "Alice in town"
    [call] = stub.received_on(CHECKS)
    with app.app_context():
        openid = db.session.get(Member, alice["id"]).openid
    assert call["json"] == {"content": "Alice in town", "version": 2, "scene": 1, "openid": openid}
    assert reviews(client, admin)["total"] == 0


def test_a_risky_nickname_is_refused_and_not_kept(app, client, stub, alice):
    set_nickname(client, alice, "Alice")
    response = set_nickname(client, alice, "I sell risky-word here", avatar_url="https://wx.qlogo.cn/new.png")
    assert response.status_code == 422
    assert response.get_json()["code"] == "content_risky"
    assert nickname_of(app, alice["id"]) == "Alice"
    with app.app_context():
        assert db.session.get(Member, alice["id"]).avatar_url is None  # nothing of the refused change stands
    assert review_count(app) == 0


def test_a_nickname_wechat_wants_reviewed_is_kept_and_listed_for_an_admin(app, client, alice, admin):
    set_nickname(client, alice, "Alice")
    response = set_nickname(client, alice, "Alice review-word")
    assert response.status_code == 200 and response.get_json()["nickname"] == "Alice review-word"
    listed = reviews(client, admin)
    assert listed["total"] == 1
    [entry] = listed["items"]
    assert (entry["subject"], entry["target_id"], entry["member_id"]) == ("nickname", alice["id"], alice["id"])
    assert (entry["text"], entry["previous_text"], entry["status"], entry["scene"]) == (
        "Alice review-word", "Alice", "review", 1)
    assert entry["trace_id"] and entry["label"] == 21000


def test_an_unchanged_or_cleared_nickname_is_not_sent_to_wechat(client, stub, alice):
    set_nickname(client, alice, "Alice")
    assert set_nickname(client, alice, "Alice").status_code == 200
    assert set_nickname(client, alice, None).get_json()["nickname"] is None
    assert len(stub.received_on(CHECKS)) == 1


# --- the admin's decisions ------------------------------------------------------------------


def test_an_admin_rejecting_a_nickname_puts_the_previous_one_back(app, client, alice, admin):
    set_nickname(client, alice, "Alice")
    set_nickname(client, alice, "Alice review-word")
    [entry] = reviews(client, admin)["items"]
    response = client.post(f"/api/v1/admin/content-reviews/{entry['id']}/reject", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected" and response.get_json()["decided_by"]
    assert nickname_of(app, alice["id"]) == "Alice"
    assert reviews(client, admin)["total"] == 0
    assert reviews(client, admin, status="rejected")["total"] == 1
    again = client.post(f"/api/v1/admin/content-reviews/{entry['id']}/clear", headers=admin)
    assert again.status_code == 409 and again.get_json()["code"] == "content_review_decided"


def test_a_first_nickname_rejected_is_blanked(app, client, alice, admin):
    set_nickname(client, alice, "review-word Alice")
    [entry] = reviews(client, admin)["items"]
    client.post(f"/api/v1/admin/content-reviews/{entry['id']}/reject", headers=admin)
    assert nickname_of(app, alice["id"]) is None


def test_a_rejection_leaves_a_nickname_the_member_changed_since(app, client, alice, admin):
    set_nickname(client, alice, "Alice review-word")
    set_nickname(client, alice, "Alice B.")
    [entry] = reviews(client, admin)["items"]
    client.post(f"/api/v1/admin/content-reviews/{entry['id']}/reject", headers=admin)
    assert nickname_of(app, alice["id"]) == "Alice B."


def test_an_admin_clearing_a_nickname_lets_it_stand(app, client, alice, admin):
    set_nickname(client, alice, "Alice review-word")
    [entry] = reviews(client, admin)["items"]
    response = client.post(f"/api/v1/admin/content-reviews/{entry['id']}/clear", headers=admin)
    assert response.status_code == 200 and response.get_json()["status"] == "cleared"
    assert nickname_of(app, alice["id"]) == "Alice review-word"
    assert reviews(client, admin, status="cleared")["total"] == 1


def test_the_review_list_is_paginated_newest_first(client, login, admin):
    for n in range(3):
        who = bearer(login(f"shopper{n}:1")["token"])
        client.patch("/api/v1/me", headers=who, json={"nickname": f"review-word {n}"})
    page = reviews(client, admin, page=1, page_size=2)
    assert page["total"] == 3 and page["page_size"] == 2
    assert [e["text"] for e in page["items"]] == ["review-word 2", "review-word 1"]
    assert [e["text"] for e in reviews(client, admin, page=2, page_size=2)["items"]] == ["review-word 0"]


def test_only_admins_see_and_decide_reviews(client, alice, staff_token, admin):
    set_nickname(client, alice, "review-word")
    [entry] = reviews(client, admin)["items"]
    for headers in (alice["headers"], staff_token(Role.MARKETING), staff_token(Role.STAFF)):
        assert client.get("/api/v1/admin/content-reviews", headers=headers).status_code == 403
        assert client.post(f"/api/v1/admin/content-reviews/{entry['id']}/reject", headers=headers).status_code == 403
    assert client.get("/api/v1/admin/content-reviews").status_code == 401


def test_unknown_reviews_and_statuses_are_refused(client, admin):
    missing = client.post("/api/v1/admin/content-reviews/999/clear", headers=admin)
    assert missing.status_code == 404 and missing.get_json()["code"] == "content_review_not_found"
    assert client.post("/api/v1/admin/content-reviews/1/approve", headers=admin).status_code == 404
    bad = client.get("/api/v1/admin/content-reviews", headers=admin, query_string={"status": "nope"})
    assert bad.status_code == 422


# --- WeChat down --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["unreachable", "busy"])
def test_wechat_down_refuses_a_nickname_by_default_with_retry_after(app, client, stub, alice, mode):
    set_nickname(client, alice, "Alice")
    wechat_content_check_fails(stub, mode)
    response = set_nickname(client, alice, "Alice again")
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_unavailable" and int(response.headers["Retry-After"]) > 0
    assert nickname_of(app, alice["id"]) == "Alice"
    assert review_count(app) == 0


def test_wechat_down_accepts_a_nickname_and_checks_it_later_when_set_to_accept(
        app, client, stub, alice, admin, monkeypatch):
    monkeypatch.setitem(app.config, "CONTENT_CHECK_WHEN_WECHAT_DOWN", "accept")
    set_nickname(client, alice, "Alice")
    wechat_content_check_fails(stub, "unreachable")
    response = set_nickname(client, alice, "Alice risky-word")
    assert response.status_code == 200 and response.get_json()["nickname"] == "Alice risky-word"
    [entry] = reviews(client, admin)["items"]
    assert (entry["status"], entry["checked_at"]) == ("unchecked", None)
    with app.app_context():
        outbox = db.session.scalars(select(OutboxEntry)).one()
        assert (outbox.status, outbox.attempts) == ("pending", 1)  # tried after the commit: WeChat still down

    # WeChat comes back: the sweep rechecks, finds it risky and takes it back.
    wechat_content_check_fails(stub, None)
    assert sweep(app, utcnow() + timedelta(minutes=2))["done"] == 1
    assert nickname_of(app, alice["id"]) == "Alice"
    assert reviews(client, admin, status="removed")["items"][0]["label"] == 20006
    assert reviews(client, admin)["total"] == 0


@pytest.mark.parametrize(("text", "status"), [("Alice B.", "passed"), ("Alice review-word", "review")])
def test_a_nickname_accepted_unchecked_is_settled_by_its_recheck(app, client, stub, alice, monkeypatch, text, status):
    monkeypatch.setitem(app.config, "CONTENT_CHECK_WHEN_WECHAT_DOWN", "accept")
    wechat_content_check_fails(stub, "busy")
    assert set_nickname(client, alice, text).status_code == 200
    wechat_content_check_fails(stub, None)
    sweep(app, utcnow() + timedelta(minutes=2))
    with app.app_context():
        assert db.session.scalars(select(ContentReview.status)).one() == status
    assert nickname_of(app, alice["id"]) == text


def test_a_review_an_admin_decided_before_the_recheck_stays_decided(app, client, stub, alice, admin, monkeypatch):
    monkeypatch.setitem(app.config, "CONTENT_CHECK_WHEN_WECHAT_DOWN", "accept")
    wechat_content_check_fails(stub, "unreachable")
    set_nickname(client, alice, "risky-word")
    [entry] = reviews(client, admin)["items"]
    assert client.post(f"/api/v1/admin/content-reviews/{entry['id']}/clear", headers=admin).status_code == 200
    wechat_content_check_fails(stub, None)
    calls = len(stub.received_on(CHECKS))
    sweep(app, utcnow() + timedelta(minutes=2))
    assert len(stub.received_on(CHECKS)) == calls  # nothing left to check
    assert reviews(client, admin, status="cleared")["total"] == 1
    assert nickname_of(app, alice["id"]) == "risky-word"


def test_an_unknown_setting_for_wechat_down_stops_the_start(make_app):
    with pytest.raises(ConfigError, match="CONTENT_CHECK_WHEN_WECHAT_DOWN"):
        make_app(CONTENT_CHECK_WHEN_WECHAT_DOWN="sometimes")


# --- share titles -------------------------------------------------------------------------------


def test_a_share_title_is_checked_as_comment_text_and_shown_on_the_share(app, client, stub, alice):
    response = share(client, alice, title="  Try the new latte  ")
    assert response.status_code == 201 and response.get_json()["title"] == "Try the new latte"
    [call] = stub.received_on(CHECKS)
    assert (call["json"]["content"], call["json"]["scene"], call["json"]["version"]) == ("Try the new latte", 2, 2)
    assert share(client, alice).get_json()["title"] is None
    assert len(stub.received_on(CHECKS)) == 1  # no title: nothing to check


def test_a_risky_share_title_makes_no_share(app, client, alice):
    response = share(client, alice, title="buy risky-word")
    assert response.status_code == 422 and response.get_json()["code"] == "content_risky"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Share)) == 0


def test_a_share_title_in_review_is_blanked_when_an_admin_rejects_it(app, client, alice, admin):
    made = share(client, alice, title="review-word deal").get_json()
    [entry] = reviews(client, admin)["items"]
    assert (entry["subject"], entry["target_id"], entry["scene"]) == ("share_title", made["share_id"], 2)
    client.post(f"/api/v1/admin/content-reviews/{entry['id']}/reject", headers=admin)
    assert share_title(app, made["share_id"]) is None


def test_a_share_title_while_wechat_is_down_follows_the_setting(app, client, stub, alice, admin, monkeypatch):
    wechat_content_check_fails(stub, "unreachable")
    refused = share(client, alice, title="risky-word later")
    assert refused.status_code == 503 and "Retry-After" in refused.headers
    monkeypatch.setitem(app.config, "CONTENT_CHECK_WHEN_WECHAT_DOWN", "accept")
    made = share(client, alice, title="risky-word later")
    assert made.status_code == 201
    wechat_content_check_fails(stub, None)
    sweep(app, utcnow() + timedelta(minutes=2))
    assert share_title(app, made.get_json()["share_id"]) is None
    assert reviews(client, admin, status="removed")["total"] == 1


def test_a_share_title_is_bounded(client, alice):
    response = share(client, alice, title="x" * 41)
    assert response.status_code == 422 and "title" in response.get_json()["errors"]


# --- avatars ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132", "http://wx.qlogo.cn/mmhead/x/0",
                                 "https://mmbiz.qpic.cn/mmbiz/icTdbq/0"])
def test_avatars_from_wechats_hosts_are_kept(client, alice, url):
    response = client.patch("/api/v1/me", headers=alice["headers"], json={"avatar_url": url})
    assert response.status_code == 200 and response.get_json()["avatar_url"] == url


@pytest.mark.parametrize("url", ["https://evil.example/a.png", "https://thirdwx.qlogo.cn.evil.example/a.png",
                                 "https://evil.example/?u=https://thirdwx.qlogo.cn/a", "https://user@evil.example/a"])
def test_avatars_from_other_hosts_are_refused(app, client, alice, url):
    response = client.patch("/api/v1/me", headers=alice["headers"], json={"avatar_url": url, "nickname": "Al"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "avatar_host_not_allowed" and "avatar_url" in response.get_json()["errors"]
    assert nickname_of(app, alice["id"]) is None


def test_the_brands_upload_host_is_allowed_when_configured(app, client, alice, monkeypatch):
    url = "https://cdn.brand.example/avatars/1.png"
    assert client.patch("/api/v1/me", headers=alice["headers"], json={"avatar_url": url}).status_code == 422
    monkeypatch.setitem(app.config, "CONTENT_AVATAR_HOSTS", "cdn.brand.example, img.brand.example")
    assert client.patch("/api/v1/me", headers=alice["headers"], json={"avatar_url": url}).status_code == 200
