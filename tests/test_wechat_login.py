"""A shopper logs in with the code from wx.login(), through the real wechatpy client and the stub."""

from sqlalchemy import func, select

from shop.events import member_registered
from shop.extensions import db
from shop.members.models import JourneyEvent, Member
from tests.conftest import bearer


def member_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Member))


def test_a_new_shopper_gets_a_token_and_is_registered(app, client, stub):
    received = []
    with member_registered.connected_to(lambda sender, **kw: received.append(kw)):
        response = client.post("/api/v1/auth/wechat-login", json={"code": "alice:1", "scene": "s=abc123"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["is_new"] is True
    assert body["member"]["arrival_scene"] == "s=abc123"
    assert received == [{"member_id": body["member"]["id"], "scene": "s=abc123"}]
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.get_json()["id"] == body["member"]["id"]
    with app.app_context():
        member = db.session.get(Member, body["member"]["id"])
        assert member.openid == stub.openid_for("alice", app.config["WECHAT_APPID"])
        assert member.unionid == stub.unionid_for("alice")
        kinds = db.session.scalars(select(JourneyEvent.kind).order_by(JourneyEvent.id)).all()
    assert kinds == ["registered", "logged_in"]


def test_a_returning_shopper_is_the_same_member_and_not_registered_again(app, login):
    received = []
    first = login("alice:1", scene="first-share")
    with member_registered.connected_to(lambda sender, **kw: received.append(kw)):
        again = login("alice:2", scene="second-share")

    assert again["is_new"] is False
    assert again["member"]["id"] == first["member"]["id"]
    assert again["member"]["arrival_scene"] == "first-share"  # first arrival is kept
    assert received == []
    assert member_count(app) == 1


def test_two_people_are_two_members(app, login):
    assert login("alice:1")["member"]["id"] != login("bob:1")["member"]["id"]
    assert member_count(app) == 2


def test_a_reused_code_is_refused_and_creates_nothing_more(app, client, login):
    login("alice:1")
    response = client.post("/api/v1/auth/wechat-login", json={"code": "alice:1"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "wechat_code_invalid"
    assert member_count(app) == 1


def test_an_invalid_code_is_refused(app, client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "invalid-code"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "wechat_code_invalid"
    assert member_count(app) == 0


def test_wechat_rate_limit_is_passed_on_as_429(app, client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "ratelimited:1"})
    assert response.status_code == 429
    assert response.get_json()["code"] == "wechat_rate_limited"
    assert member_count(app) == 0


def test_a_high_risk_account_is_refused_with_403(app, client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "risky:1"})
    assert response.status_code == 403
    assert response.get_json()["code"] == "wechat_user_high_risk"


def test_wechat_unreachable_is_a_503_not_a_500(make_app):
    down = make_app(WECHAT_API_BASE="http://127.0.0.1:9/", WECHAT_TIMEOUT_SECONDS=1)
    response = down.test_client().post("/api/v1/auth/wechat-login", json={"code": "alice:1"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert member_count(down) == 0


def test_login_needs_no_access_token(client, stub):
    client.post("/api/v1/auth/wechat-login", json={"code": "alice:1"})
    assert stub.received_on("cgi-bin/stable_token") == []
    assert stub.received_on("cgi-bin/token") == []
    [call] = stub.received_on("sns/jscode2session")
    assert "access_token" not in call["args"]


def test_a_shopper_without_unionid_still_logs_in(client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "nounion-carol:1"})
    assert response.status_code == 200
    assert response.get_json()["is_new"] is True


def test_bad_login_bodies_get_422_naming_the_field(client):
    for body, field in (({}, "code"), ({"code": 42}, "code"), ({"code": ""}, "code"),
                        ({"code": "x" * 500}, "code"), ({"code": "a:1", "scene": "has space"}, "scene"),
                        ({"code": "a:1", "extra": 1}, "extra")):
        response = client.post("/api/v1/auth/wechat-login", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["code"] == "validation_error"
        assert field in response.get_json()["errors"], body


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post("/api/v1/auth/wechat-login", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_a_wechat_answer_without_an_openid_is_a_502_and_registers_nobody(app, client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "hollow:1"})
    assert (response.status_code, response.get_json()["code"]) == (502, "wechat_bad_answer")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 0
