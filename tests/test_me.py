"""A shopper's own profile and phone number, and what tokens let through."""

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import select

from shop.auth import Role, issue_shopper_token
from shop.extensions import db
from shop.members.models import JourneyEvent, Member
from tests.conftest import bearer


def test_a_shopper_sets_a_nickname_and_avatar(client, login):
    token = login("alice:1")["token"]
    response = client.patch("/api/v1/me", headers=bearer(token),
                            json={"nickname": "  Alice  ", "avatar_url": "https://thirdwx.qlogo.cn/a.png"})
    assert response.status_code == 200
    assert response.get_json()["nickname"] == "Alice"
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert me["nickname"] == "Alice" and me["avatar_url"] == "https://thirdwx.qlogo.cn/a.png"


def test_null_clears_a_field_and_absent_fields_stay(client, login):
    token = login("alice:1")["token"]
    client.patch("/api/v1/me", headers=bearer(token), json={"nickname": "Alice", "avatar_url": "https://wx.qlogo.cn/a"})
    response = client.patch("/api/v1/me", headers=bearer(token), json={"avatar_url": None})
    assert response.get_json()["avatar_url"] is None
    assert response.get_json()["nickname"] == "Alice"


def test_bad_profile_changes_get_422_and_change_nothing(client, login):
    token = login("alice:1")["token"]
    client.patch("/api/v1/me", headers=bearer(token), json={"nickname": "Alice"})
    for body, field in (({"nickname": "x" * 33}, "nickname"), ({"nickname": ""}, "nickname"),
                        ({"nickname": "a\x00b"}, "nickname"), ({"nickname": 12}, "nickname"),
                        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
                        ({"avatar_url": "https://x.cn/" + "a" * 600}, "avatar_url"),
                        ({"nickname": "Bob", "openid": "steal"}, "openid")):
        response = client.patch("/api/v1/me", headers=bearer(token), json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], body
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["nickname"] == "Alice"


def test_a_shopper_binds_their_phone_number(app, client, login):
    token = login("alice:1")["token"]
    response = client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:1"})
    assert response.status_code == 200
    assert response.get_json()["phone"] == "13800138000"
    assert response.get_json()["phone_country_code"] == "86"
    with app.app_context():
        assert db.session.scalars(select(JourneyEvent.kind)).all().count("phone_bound") == 1


def test_a_used_phone_code_is_refused_and_the_phone_stays(client, login):
    token = login("alice:1")["token"]
    client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:1"})
    response = client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:1"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "wechat_code_invalid"
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["phone"] == "13800138000"


@pytest.mark.redis_cluster  # wechatpy's RedisStorage on a Cluster client too
def test_an_expired_wechat_access_token_is_refreshed_once_and_the_call_succeeds(client, login, stub):
    token = login("alice:1")["token"]
    client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:1"})
    stub.expire_tokens()
    response = client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13900139000:1"})
    assert response.status_code == 200
    assert response.get_json()["phone"] == "13900139000"
    refreshes = stub.received_on("cgi-bin/stable_token")
    assert len(refreshes) == 2 and refreshes[1]["json"]["force_refresh"] is True


@pytest.mark.redis_cluster  # wechatpy's RedisStorage on a Cluster client too
def test_the_access_token_is_shared_through_redis_not_fetched_per_call(app, make_app, client, login, stub):
    token = login("alice:1")["token"]
    client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:1"})
    other_worker = make_app().test_client()
    other_worker.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:2"})
    assert len(stub.received_on("cgi-bin/stable_token")) == 1
    assert len(stub.received_on("wxa/business/getuserphonenumber")) == 2


def test_without_a_token_me_is_401_token_missing(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_missing"


def test_a_malformed_or_forged_token_is_401_token_invalid(app, client):
    with app.app_context():
        forged = issue_shopper_token(1)[:-4] + "AAAA"
    for headers in ({"Authorization": "Bearer not-a-jwt"}, bearer(forged)):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["code"] == "token_invalid"


def test_a_token_signed_with_another_key_is_refused(make_app, client):
    other = make_app(SECRET_KEY="another-secret-key-another-secret-key", JWT_SECRET_KEY=None)
    with other.app_context():
        foreign = issue_shopper_token(1)
    response = client.get("/api/v1/me", headers=bearer(foreign))
    assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"


def test_an_expired_token_is_401_token_expired(app, client, login):
    member_id = login("alice:1")["member"]["id"]
    with app.app_context():
        expired = create_access_token(identity=f"member:{member_id}", additional_claims={"role": "shopper"},
                                      expires_delta=timedelta(seconds=-10))
    response = client.get("/api/v1/me", headers=bearer(expired))
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_expired"


def test_an_authorization_header_without_a_bearer_token_is_401_token_missing(client):
    for value in ("Bearer", "Bearer   ", "Basic YWxpY2U6c2VjcmV0", "token-without-scheme"):
        response = client.get("/api/v1/me", headers={"Authorization": value})
        assert response.status_code == 401 and response.get_json()["code"] == "token_missing", value


def test_a_refresh_token_or_a_token_that_never_expires_opens_nothing(app, client, login):
    member_id = login("alice:1")["member"]["id"]
    with app.app_context():
        claims = {"role": "shopper"}
        refresh = create_refresh_token(identity=f"member:{member_id}", additional_claims=claims)
        endless = create_access_token(identity=f"member:{member_id}", additional_claims=claims, expires_delta=False)
    for token in (refresh, endless):
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"


def test_a_token_for_a_role_that_does_not_match_its_subject_is_refused(app, client):
    with app.app_context():
        confused = create_access_token(identity="member:1", additional_claims={"role": "admin"})
    response = client.get("/api/v1/admin/members", headers=bearer(confused))
    assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"


def test_staff_cannot_use_shopper_endpoints(client, staff_token):
    response = client.get("/api/v1/me", headers=staff_token(Role.STAFF))
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_the_member_list_is_for_marketing_and_admins_only(client, login, staff_token):
    shopper = login("alice:1")["token"]
    assert client.get("/api/v1/admin/members", headers=bearer(shopper)).status_code == 403
    assert client.get("/api/v1/admin/members", headers=staff_token(Role.STAFF)).status_code == 403
    response = client.get("/api/v1/admin/members", headers=staff_token(Role.MARKETING))
    assert response.status_code == 200
    assert response.get_json()["total"] == 1


def test_the_member_list_pages_filters_and_caps_the_page_size(app, client, login, staff_token):
    for name in ("alice", "bob", "carol"):
        login(f"{name}:1")
    token = login("dave:1")["token"]
    client.post("/api/v1/me/phone", headers=bearer(token), json={"code": "13800138000:1"})
    admin = staff_token(Role.ADMIN)

    page = client.get("/api/v1/admin/members?page=2&page_size=3", headers=admin).get_json()
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (4, 2, 3, 1)
    with_phone = client.get("/api/v1/admin/members?has_phone=true", headers=admin).get_json()
    assert [m["phone"] for m in with_phone["items"]] == ["13800138000"]
    assert client.get("/api/v1/admin/members?q=138", headers=admin).get_json()["total"] == 1
    too_big = client.get("/api/v1/admin/members?page_size=1000", headers=admin)
    assert too_big.status_code == 422 and "page_size" in too_big.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(Member.phone).where(Member.phone.is_not(None))) == "13800138000"


def test_a_wechat_answer_without_the_phone_is_a_502_and_the_profile_stays(client, login):
    token = login("alice:1")["token"]
    response = client.post("/api/v1/me/phone", json={"code": "hollow-phone:1"}, headers=bearer(token))
    assert (response.status_code, response.get_json()["code"]) == (502, "wechat_bad_answer")
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["phone"] is None
