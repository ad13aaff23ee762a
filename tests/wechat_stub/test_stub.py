"""The WeChat stub, driven over HTTP by the real wechatpy client as the app drives WeChat."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import segno
from wechatpy.exceptions import APILimitedException, WeChatClientException

from shop.wechat.stub import WeChatStub

from .client import MP_APPID, MP_SECRET, OA_APPID, StubClient
from .png import SIGNATURE, qr_modules

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBE_SEND = "cgi-bin/message/subscribe/send"
TEMPLATE = "ripple-dev-withdrawal-paid"  # in the stub's template library: amount1, time2, thing3
TEMPLATE_DATA = {"amount1": {"value": "12.50元"}, "time2": {"value": "15:01"}, "thing3": {"value": "Order paid"}}


def errcode_of(call, *args, **kwargs) -> int:
    """The WeChat errcode a client call fails with."""
    with pytest.raises(WeChatClientException) as caught:
        call(*args, **kwargs)
    return caught.value.errcode


# -- login: jscode2session ---------------------------------------------------


def test_login_gives_a_new_person_openid_session_key_and_unionid(stub, mp):
    session = mp.login("alice:1")
    assert session["openid"] == stub.openid_for("alice", MP_APPID)
    assert re.fullmatch(r"o[A-Za-z0-9_-]{27}", session["openid"])
    assert re.fullmatch(r"u[A-Za-z0-9_-]{27}", session["unionid"])
    assert session["unionid"] == stub.unionid_for("alice")
    assert re.fullmatch(r"[A-Za-z0-9+/]{22}==", session["session_key"])


def test_login_needs_no_access_token(stub, mp):
    mp.login("alice:1")
    assert "access_token" not in stub.received_on("sns/jscode2session")[0]["args"]
    assert stub.received_on("cgi-bin/stable_token") == []


def test_the_same_person_gets_the_same_openid_from_any_code(mp):
    first, second = mp.login("alice:1"), mp.login("alice:2")
    assert first["openid"] == second["openid"]
    assert first["session_key"] != second["session_key"]
    assert mp.login("bob:1")["openid"] != first["openid"]


def test_wechatpys_own_code_to_session_works_too(stub, mp):
    assert mp.wxa.code_to_session("alice:1")["openid"] == stub.openid_for("alice", MP_APPID)


def test_a_code_works_once(mp):
    mp.login("alice:1")
    assert errcode_of(mp.login, "alice:1") == 40163


def test_a_code_works_once_under_concurrency(mp):
    def attempt(_: int) -> bool:
        try:
            mp.login("alice:race")
        except WeChatClientException as error:
            assert error.errcode == 40163
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(attempt, range(16))) == 1


@pytest.mark.parametrize(
    ("code", "errcode"),
    [
        ("invalid:1", 40029),
        ("invalid", 40029),
        (":1", 40029),
        ("risky-carol:1", 40226),
        ("ratelimited:1", 45011),
    ],
)
def test_special_codes_fail_as_wechat_does(mp, code, errcode):
    assert errcode_of(mp.login, code) == errcode


def test_ratelimited_codes_hit_the_minute_quota(mp):
    # 45011 is not wechatpy's APILimitedException (that is 45009): the caller must map it.
    with pytest.raises(WeChatClientException) as caught:
        mp.login("ratelimited:1")
    assert caught.value.errcode == 45011
    assert not isinstance(caught.value, APILimitedException)


def test_special_codes_are_not_consumed(mp):
    for _ in range(2):
        assert errcode_of(mp.login, "invalid:1") == 40029


def test_nounion_people_have_no_unionid(mp):
    assert "unionid" not in mp.login("nounion-dave:1")


def test_wrong_credentials_are_refused(make_client):
    assert errcode_of(make_client(MP_APPID, "wrong").login, "alice:1") == 40125
    assert errcode_of(make_client("wx0000000000000bad", MP_SECRET).login, "alice:1") == 40013


def test_jscode2session_checks_its_arguments(stub, mp):
    base = {"appid": MP_APPID, "secret": MP_SECRET, "grant_type": "authorization_code"}
    url = stub.url + "sns/jscode2session"
    assert requests.get(url, params=base, timeout=5).json()["errcode"] == 41008
    wrong_grant = {**base, "js_code": "alice:1", "grant_type": "client_credential"}
    assert requests.get(url, params=wrong_grant, timeout=5).json()["errcode"] == 40002
    no_secret = {**base, "js_code": "alice:1", "secret": ""}
    assert requests.get(url, params=no_secret, timeout=5).json()["errcode"] == 41004


# -- access tokens -----------------------------------------------------------


def test_stable_token_is_the_same_until_force_refresh(mp, make_client):
    first = mp.fetch_access_token()
    assert first["expires_in"] <= 7200
    assert make_client().fetch_access_token()["access_token"] == first["access_token"]
    mp.force_refresh = True
    refreshed = mp.fetch_access_token()["access_token"]
    assert refreshed != first["access_token"]
    # A forced refresh retires the previous stable token, as WeChat does.
    stale = make_client()
    stale.session.set(stale.access_token_key, first["access_token"])
    assert errcode_of(stale.wxa.send_subscribe_message, "o", TEMPLATE, TEMPLATE_DATA) == 40001


def test_stable_tokens_are_per_app(mp, oa):
    assert mp.fetch_access_token()["access_token"] != oa.fetch_access_token()["access_token"]


def test_stable_token_refuses_wrong_credentials(make_client):
    assert errcode_of(make_client(MP_APPID, "wrong").fetch_access_token) == 40125
    assert errcode_of(make_client("wx0000000000000bad", MP_SECRET).fetch_access_token) == 40013


def test_classic_token_endpoint_issues_a_new_token_each_call(stub, mp):
    params = {"grant_type": "client_credential", "appid": MP_APPID, "secret": MP_SECRET}
    first = mp._fetch_access_token(stub.url + "cgi-bin/token", params)
    second = mp._fetch_access_token(stub.url + "cgi-bin/token", params)
    assert first["expires_in"] == 7200
    assert first["access_token"] != second["access_token"]
    wrong = {**params, "secret": "wrong"}
    assert errcode_of(mp._fetch_access_token, stub.url + "cgi-bin/token", wrong) == 40125


def test_expired_tokens_give_40001_until_fetched_again(stub, mp):
    openid = mp.login("alice:1")["openid"]
    mp.wxa.send_subscribe_message(openid, TEMPLATE, TEMPLATE_DATA)
    stub.expire_tokens()
    assert errcode_of(mp.wxa.send_subscribe_message, openid, TEMPLATE, TEMPLATE_DATA) == 40001
    mp.fetch_access_token()
    assert mp.wxa.send_subscribe_message(openid, TEMPLATE, TEMPLATE_DATA)["errcode"] == 0


def test_missing_and_forged_tokens_are_refused(stub):
    url = stub.url + SUBSCRIBE_SEND
    assert requests.post(url, json={}, timeout=5).json()["errcode"] == 41001
    forged = requests.post(url, params={"access_token": "forged"}, json={}, timeout=5)
    assert forged.status_code == 200 and forged.json()["errcode"] == 40001


# -- phone number ------------------------------------------------------------


def phone_of(client: StubClient, code: str) -> dict:
    """Call getuserphonenumber through wechatpy's generic post, as the app does."""
    return client.post(
        "https://api.weixin.qq.com/wxa/business/getuserphonenumber", data={"code": code}
    )


def test_phone_code_with_a_number_gives_that_number(mp):
    info = phone_of(mp, "13800138000:1")["phone_info"]
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13800138000"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == MP_APPID
    assert isinstance(info["watermark"]["timestamp"], int)


def test_phone_code_of_a_name_gives_a_stable_mainland_number(mp):
    first = phone_of(mp, "alice:1")["phone_info"]["phoneNumber"]
    assert re.fullmatch(r"13\d{9}", first)
    assert phone_of(mp, "alice:2")["phone_info"]["phoneNumber"] == first
    assert phone_of(mp, "bob:1")["phone_info"]["phoneNumber"] != first


def test_phone_codes_work_once_and_invalid_ones_never(mp):
    phone_of(mp, "alice:1")
    assert errcode_of(phone_of, mp, "alice:1") == 40029
    assert errcode_of(phone_of, mp, "invalid:1") == 40029


# -- mini-program codes ------------------------------------------------------


def expected_modules(content: str) -> list[list[bool]]:
    """The QR modules segno makes for `content`."""
    return [[bool(v) for v in row] for row in segno.make_qr(content).matrix]


def test_wxacode_is_a_png_qr_code_of_page_and_scene(mp):
    res = mp.wxa.get_wxa_code_unlimited("s=Ab3_x.y", page="pages/product/detail", width=430)
    assert res.headers["Content-Type"] == "image/png"
    assert res.content.startswith(SIGNATURE)
    assert qr_modules(res.content) == expected_modules("pages/product/detail?scene=s=Ab3_x.y")


def test_wxacode_defaults_to_the_home_page(mp):
    res = mp.post("https://api.weixin.qq.com/wxa/getwxacodeunlimit", data={"scene": "a" * 32})
    assert qr_modules(res.content) == expected_modules(f"pages/index/index?scene={'a' * 32}")


@pytest.mark.parametrize("scene", ["a" * 33, "", "has space", "中文", "a%20"])
def test_wxacode_refuses_invalid_scenes(mp, scene):
    assert errcode_of(mp.wxa.get_wxa_code_unlimited, scene) == 40097


def test_wxacode_accepts_every_allowed_scene_character(mp):
    scene = "!#$&'()*+,/:;=?@._~-"
    assert mp.wxa.get_wxa_code_unlimited(scene).content.startswith(SIGNATURE)


# -- subscribe messages ------------------------------------------------------


def test_subscribe_message_is_sent_and_recorded(stub, mp):
    openid = mp.login("alice:1")["openid"]
    result = mp.wxa.send_subscribe_message(openid, TEMPLATE, TEMPLATE_DATA, page="pages/o/o")
    assert result["errcode"] == 0 and isinstance(result["msgid"], int)
    [sent] = stub.received_on(SUBSCRIBE_SEND)
    assert sent["method"] == "POST"
    assert sent["args"]["access_token"]
    assert sent["json"] == {
        "touser": openid,
        "template_id": TEMPLATE,
        "page": "pages/o/o",
        "data": TEMPLATE_DATA,
    }


def test_subscribe_message_to_a_derived_openid(stub, mp):
    assert mp.wxa.send_subscribe_message(stub.openid_for("bob", MP_APPID), TEMPLATE, TEMPLATE_DATA)


def test_subscribe_message_refuses_unknown_or_foreign_openids(stub, mp):
    assert errcode_of(mp.wxa.send_subscribe_message, "o" + "x" * 27, TEMPLATE, TEMPLATE_DATA) == 40003
    official_openid = stub.openid_for("alice", OA_APPID)
    assert errcode_of(mp.wxa.send_subscribe_message, official_openid, TEMPLATE, TEMPLATE_DATA) == 40003


@pytest.mark.parametrize(
    "body",
    [
        {"template_id": TEMPLATE, "data": TEMPLATE_DATA},
        {"touser": "OPENID", "data": TEMPLATE_DATA},
        {"touser": "OPENID", "template_id": TEMPLATE},
        {"touser": "OPENID", "template_id": TEMPLATE, "data": {"thing1": "not an object"}},
        {"touser": "OPENID", "template_id": TEMPLATE, "data": TEMPLATE_DATA, "lang": "fr"},
        {"touser": "OPENID", "template_id": TEMPLATE, "data": {**TEMPLATE_DATA, "thing3": {"value": "x" * 21}}},
        {"touser": "OPENID", "template_id": TEMPLATE, "data": {**TEMPLATE_DATA, "amount1": {"value": "lots"}}},
        {"touser": "OPENID", "template_id": TEMPLATE, "data": {**TEMPLATE_DATA, "time2": {"value": "2026-12-07"}}},
        {"touser": "OPENID", "template_id": TEMPLATE, "data": {"amount1": {"value": "1元"}}},  # keywords missing
        {"touser": "OPENID", "template_id": TEMPLATE, "data": {**TEMPLATE_DATA, "phrase9": {"value": "好"}}},
    ],
)
def test_subscribe_message_checks_its_arguments(stub, mp, body):
    body = {k: stub.openid_for("alice", MP_APPID) if v == "OPENID" else v for k, v in body.items()}
    assert errcode_of(mp.post, "https://api.weixin.qq.com/" + SUBSCRIBE_SEND, data=body) == 47003


def test_a_template_the_app_never_picked_is_40037_and_a_page_it_lacks_41030(stub, mp):
    openid = stub.openid_for("alice", MP_APPID)
    assert errcode_of(mp.wxa.send_subscribe_message, openid, "tmpl-unknown", TEMPLATE_DATA) == 40037
    assert errcode_of(mp.wxa.send_subscribe_message, openid, TEMPLATE, TEMPLATE_DATA, page="/pages x") == 41030


def test_the_next_answers_can_be_set_for_tests(stub, mp):
    openid = stub.openid_for("alice", MP_APPID)
    requests.post(f"{stub.url}stub/subscribe/answers", json={"errcodes": [47003, 43101]}, timeout=5).raise_for_status()
    assert errcode_of(mp.wxa.send_subscribe_message, openid, TEMPLATE, TEMPLATE_DATA) == 47003
    assert errcode_of(mp.wxa.send_subscribe_message, openid, TEMPLATE, TEMPLATE_DATA) == 43101
    assert mp.wxa.send_subscribe_message(openid, TEMPLATE, TEMPLATE_DATA)["errcode"] == 0
    assert requests.post(f"{stub.url}stub/subscribe/answers", json={"errcodes": [12]}, timeout=5).status_code == 400


def test_people_who_refuse_messages_get_43101(stub, mp):
    openid = stub.openid_for("refuse-erin", MP_APPID)
    assert errcode_of(mp.wxa.send_subscribe_message, openid, TEMPLATE, TEMPLATE_DATA) == 43101


# -- official account --------------------------------------------------------


def test_user_info_shares_the_unionid_with_the_mini_program(stub, mp, oa):
    unionid = mp.login("alice:1")["unionid"]
    info = oa.user.get(stub.openid_for("alice", OA_APPID))
    assert info["unionid"] == unionid
    assert info["subscribe"] == 1
    assert (
        info["openid"] == stub.openid_for("alice", OA_APPID) != stub.openid_for("alice", MP_APPID)
    )
    assert info["language"] == "zh_CN"
    assert info["subscribe_scene"] == "ADD_SCENE_QR_CODE"
    assert isinstance(info["subscribe_time"], int)


def test_user_info_refuses_unknown_or_foreign_openids(stub, oa):
    assert errcode_of(oa.user.get, "o" + "x" * 27) == 40003
    assert errcode_of(oa.user.get, stub.openid_for("alice", MP_APPID)) == 40003


def test_user_info_of_nounion_and_unfollowed_people(stub, oa):
    assert "unionid" not in oa.user.get(stub.openid_for("nounion-dave", OA_APPID))
    info = oa.user.get(stub.openid_for("unfollowed-fay", OA_APPID))
    assert info["subscribe"] == 0 and "subscribe_time" not in info


# -- control endpoints, records, lifecycle -----------------------------------


def test_control_endpoints_over_http(stub, mp):
    ids = requests.get(
        stub.url + "stub/openid", params={"appid": MP_APPID, "name": "gus"}, timeout=5
    )
    assert ids.json() == {
        "openid": stub.openid_for("gus", MP_APPID),
        "unionid": stub.unionid_for("gus"),
    }
    mp.login("gus:1")
    received = requests.get(
        stub.url + "stub/received", params={"path": "sns/jscode2session"}, timeout=5
    )
    assert [r["args"]["js_code"] for r in received.json()["received"]] == ["gus:1"]

    mp.wxa.send_subscribe_message(ids.json()["openid"], TEMPLATE, TEMPLATE_DATA)
    assert requests.post(stub.url + "stub/expire-tokens", timeout=5).json() == {"ok": True}
    assert (
        errcode_of(mp.wxa.send_subscribe_message, ids.json()["openid"], TEMPLATE, TEMPLATE_DATA) == 40001
    )

    assert requests.post(stub.url + "stub/reset", timeout=5).json() == {"ok": True}
    assert requests.get(stub.url + "stub/received", timeout=5).json() == {"received": []}
    assert mp.login("gus:1")["openid"] == ids.json()["openid"]  # codes are usable again


def test_control_openid_of_unknown_app_or_nounion_person(stub):
    unknown = requests.get(
        stub.url + "stub/openid", params={"appid": "wxnope", "name": "a"}, timeout=5
    )
    assert unknown.status_code == 404
    hidden = requests.get(
        stub.url + "stub/openid", params={"appid": OA_APPID, "name": "nounion-x"}, timeout=5
    )
    assert hidden.json()["unionid"] is None


def test_openid_for_an_unknown_app_is_an_error(stub):
    with pytest.raises(ValueError):
        stub.openid_for("alice", "wxnope")


def test_unknown_paths_answer_json(stub):
    res = requests.get(stub.url + "cgi-bin/nope", timeout=5)
    assert res.status_code == 404 and res.json()["errcode"] == -1
    assert stub.received_on("/cgi-bin/nope")[0]["method"] == "GET"


def test_malformed_json_bodies_get_47001(stub, mp):
    token = mp.access_token
    res = requests.post(
        stub.url + SUBSCRIBE_SEND, params={"access_token": token}, data=b"{", timeout=5
    )
    assert res.json()["errcode"] == 47001


def test_several_stubs_run_side_by_side(stub):
    with WeChatStub({MP_APPID: "other-secret"}) as other:
        assert other.url != stub.url
        StubClient(MP_APPID, "other-secret", other.url).login("alice:1")
        assert len(other.received) == 1 and stub.received == []
        # Ids are derived, so every stub agrees on who is who.
        assert other.openid_for("alice", MP_APPID) == stub.openid_for("alice", MP_APPID)
    assert other.url is None


def test_runs_standalone_from_the_command_line():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shop.wechat.stub",
            "--port",
            "0",
            "--app",
            f"{MP_APPID}={MP_SECRET}",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        assert StubClient(MP_APPID, MP_SECRET, url).login("alice:1")["openid"].startswith("o")
    finally:
        proc.terminate()
        # SIGTERM stops the stub cleanly rather than killing it.
        assert proc.wait(timeout=10) == 0
