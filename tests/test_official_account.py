"""The official account's server callback: WeChat verifies the URL, then tells us who follows,
unfollows and scans, signed (plain mode) or also encrypted (safe mode). Followers become members'
``is_following`` through their unionid, whichever comes first: the follow or the login."""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import xmltodict
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from shop.events import member_followed, member_unfollowed
from shop.extensions import db
from shop.members.models import JourneyEvent, Member, OfficialAccountFollower
from tests.conftest import OA_TOKEN, OFFICIAL_ACCOUNT, bearer

URL = "/wechat/official-account"
OA_APPID = OFFICIAL_ACCOUNT[0]
OA_ORIGINAL_ID = "gh_ripple0000001"


# -- how WeChat builds, signs and encrypts its calls ---------------------------------------------

def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signed_query(**extra: str) -> dict:
    """The query WeChat puts on every call: timestamp, nonce and signature over (token, timestamp, nonce)."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return {"timestamp": timestamp, "nonce": nonce, "signature": sign(OA_TOKEN, timestamp, nonce), **extra}


def event_xml(openid: str, event: str, event_key: str | None = None, *, create_time: int | None = None) -> str:
    key = "" if event_key is None else f"<EventKey><![CDATA[{event_key}]]></EventKey>"
    return (f"<xml><ToUserName><![CDATA[{OA_ORIGINAL_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{key}</xml>")


def text_xml(openid: str, content: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{OA_ORIGINAL_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>1234567890123456</MsgId></xml>")


def crypto(app, appid: str | None = None) -> WeChatCrypto:
    """The app's own EncodingAESKey, as configured."""
    return WeChatCrypto(OA_TOKEN, app.config["WECHAT_OA_AES_KEY"], appid or OA_APPID)


def post_plain(client, xml: str | bytes, query: dict | None = None):
    return client.post(URL, query_string=query or signed_query(), data=xml, content_type="text/xml")


def post_encrypted(client, xml: str, *, msg_signature: str | None = None):
    """Safe mode: the body is WeChat's envelope; the query carries msg_signature and the plain signature."""
    query = signed_query(encrypt_type="aes")
    envelope = crypto(client.application).encrypt_message(xml, query["nonce"], query["timestamp"])
    query["msg_signature"] = msg_signature or xmltodict.parse(envelope)["xml"]["MsgSignature"]
    return client.post(URL, query_string=query, data=envelope, content_type="text/xml")


def decrypt_reply(app, response) -> dict:
    """Open an encrypted reply as the WeChat server would, checking its signature."""
    envelope = xmltodict.parse(response.get_data(as_text=True))["xml"]
    plain = crypto(app).decrypt_message(response.get_data(as_text=True), envelope["MsgSignature"],
                                     envelope["TimeStamp"], envelope["Nonce"])
    return xmltodict.parse(plain)["xml"]


# -- what we look at ---------------------------------------------------------------------------

@contextmanager
def received(signal):
    """The kwargs of every send of ``signal`` while the block runs."""
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    with signal.connected_to(receiver):
        yield calls


def oa_openid(stub, name: str) -> str:
    return stub.openid_for(name, OA_APPID)


def followers(app) -> list[OfficialAccountFollower]:
    with app.app_context():
        rows = db.session.scalars(select(OfficialAccountFollower)).all()
        db.session.expunge_all()
        return list(rows)


def journey(app, kind: str) -> list[JourneyEvent]:
    with app.app_context():
        rows = db.session.scalars(select(JourneyEvent).where(JourneyEvent.kind == kind)
                                  .order_by(JourneyEvent.id)).all()
        db.session.expunge_all()
        return list(rows)


def is_following(client, token: str) -> bool:
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    return response.get_json()["is_following"]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and response.get_json()["code"] == code


@pytest.fixture
def client(make_app):
    """Plain mode: the official account configured without an EncodingAESKey."""
    return make_app(WECHAT_OA_AES_KEY="").test_client()


@pytest.fixture
def safe_client(app):
    """Safe mode: the suite's app, configured with an EncodingAESKey."""
    return app.test_client()


# -- URL verification ------------------------------------------------------------------------

def test_wechat_verifies_the_server_url_and_gets_its_echostr_back(client):
    response = client.get(URL, query_string=signed_query(echostr="echo-4711"))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "echo-4711"


def test_a_forged_url_verification_is_refused_without_echoing(client):
    query = signed_query(echostr="echo-4711")
    query["signature"] = sign("not-our-token", query["timestamp"], query["nonce"])
    response = client.get(URL, query_string=query)
    assert_error(response, 403, "wechat_signature_invalid")
    assert "echo-4711" not in response.get_data(as_text=True)
    assert_error(client.get(URL, query_string={"echostr": "echo-4711"}), 403, "wechat_signature_invalid")


def test_a_non_ascii_signature_is_refused_not_a_crash(client, app, stub):
    query = signed_query(echostr="echo-4711", signature="签名" * 20)
    assert_error(client.get(URL, query_string=query), 403, "wechat_signature_invalid")
    query = signed_query(signature="签名" * 20)
    assert_error(post_plain(client, event_xml(oa_openid(stub, "alice"), "subscribe"), query),
                 403, "wechat_signature_invalid")
    assert followers(app) == []


# -- following in plain mode ------------------------------------------------------------------

def test_a_member_who_follows_is_counted_as_following_and_welcomed(app, client, login, stub):
    token = login("alice:1")["token"]
    assert is_following(client, token) is False
    created = int(time.time()) - 60
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(oa_openid(stub, "alice"), "subscribe", create_time=created))
    assert response.status_code == 200
    reply = xmltodict.parse(response.get_data(as_text=True))["xml"]
    assert reply["MsgType"] == "text"
    assert reply["Content"] == app.config["WECHAT_OA_WELCOME"]
    assert reply["ToUserName"] == oa_openid(stub, "alice") and reply["FromUserName"] == OA_ORIGINAL_ID

    assert is_following(client, token) is True
    member_id = login("alice:2")["member"]["id"]
    assert follows == [{"member_id": member_id, "scene": None}]
    [event] = journey(app, "followed")
    assert event.member_id == member_id and event.attributes == {"scene": None}
    assert event.occurred_at == datetime.fromtimestamp(created, UTC)
    [follower] = followers(app)
    assert follower.member_id == member_id and follower.subscribed
    assert follower.unionid == stub.unionid_for("alice")
    assert follower.first_subscribed_at == follower.subscribed_at == datetime.fromtimestamp(created, UTC)


def test_a_follow_through_a_parametric_qr_code_remembers_the_scene(app, client, login, stub):
    member_id = login("alice:1")["member"]["id"]
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(oa_openid(stub, "alice"), "subscribe", "qrscene_store-42"))
    assert response.status_code == 200
    assert follows == [{"member_id": member_id, "scene": "store-42"}]
    [follower] = followers(app)
    assert follower.source_scene == "store-42"
    [event] = journey(app, "followed")
    assert event.attributes == {"scene": "store-42"}


def test_the_same_follow_delivered_twice_counts_once(app, client, login, stub):
    login("alice:1")
    xml = event_xml(oa_openid(stub, "alice"), "subscribe", "qrscene_poster")
    with received(member_followed) as follows:
        first = post_plain(client, xml)
        again = post_plain(client, xml)  # WeChat's own redelivery: a new call (timestamp, nonce)
    assert first.status_code == again.status_code == 200
    assert len(follows) == 1
    assert len(followers(app)) == 1
    assert len(journey(app, "followed")) == 1


def test_a_follower_who_logs_in_later_is_linked_and_counted_as_following(app, client, login, stub):
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(oa_openid(stub, "carol"), "subscribe", "qrscene_mall-entrance"))
        assert response.status_code == 200
        assert follows == []
        [follower] = followers(app)
        assert follower.member_id is None and follower.subscribed
        assert follower.unionid == stub.unionid_for("carol")
        assert journey(app, "followed") == []

        body = login("carol:1")
    member_id = body["member"]["id"]
    assert body["is_new"] is True
    assert follows == [{"member_id": member_id, "scene": "mall-entrance"}]
    assert is_following(client, body["token"]) is True
    [event] = journey(app, "followed")
    assert event.member_id == member_id and event.attributes == {"scene": "mall-entrance"}
    [follower] = followers(app)
    assert follower.member_id == member_id

    with received(member_followed) as again:  # a later login does not announce the follow again
        login("carol:2")
    assert again == []
    assert len(journey(app, "followed")) == 1


def test_a_member_who_unfollows_is_no_longer_following(app, client, login, stub):
    body = login("alice:1")
    member_id, token = body["member"]["id"], body["token"]
    openid = oa_openid(stub, "alice")
    first_follow = int(time.time()) - 3600
    post_plain(client, event_xml(openid, "subscribe", create_time=first_follow))
    assert is_following(client, token) is True

    left = int(time.time()) - 60
    with received(member_unfollowed) as unfollows:
        response = post_plain(client, event_xml(openid, "unsubscribe", create_time=left))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert unfollows == [{"member_id": member_id}]
    assert is_following(client, token) is False
    [event] = journey(app, "unfollowed")
    assert event.member_id == member_id and event.occurred_at == datetime.fromtimestamp(left, UTC)
    [follower] = followers(app)
    assert follower.unsubscribed_at == datetime.fromtimestamp(left, UTC)

    with received(member_unfollowed) as repeated:  # WeChat's retry of the unfollow
        post_plain(client, event_xml(openid, "unsubscribe", create_time=left))
    assert repeated == []
    assert len(journey(app, "unfollowed")) == 1

    with received(member_followed) as follows:  # and back: a new follow, the first one remembered
        post_plain(client, event_xml(openid, "subscribe", "qrscene_comeback"))
    assert follows == [{"member_id": member_id, "scene": "comeback"}]
    assert is_following(client, token) is True
    [follower] = followers(app)
    assert follower.first_subscribed_at == datetime.fromtimestamp(first_follow, UTC)
    assert follower.subscribed_at > follower.first_subscribed_at and follower.unsubscribed_at is None
    assert len(journey(app, "followed")) == 2


def test_a_follower_who_scans_a_parametric_qr_code_is_recorded_with_the_scene(app, client, login, stub):
    member_id = login("alice:1")["member"]["id"]
    openid = oa_openid(stub, "alice")
    post_plain(client, event_xml(openid, "subscribe"))
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(openid, "SCAN", "counter-7"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert follows == []
    [event] = journey(app, "scanned_qr")
    assert event.member_id == member_id and event.attributes == {"scene": "counter-7"}
    [follower] = followers(app)
    assert follower.subscribed and follower.source_scene is None  # a scan is not where the follow came from


def test_a_scan_from_someone_who_followed_before_our_records_links_them(app, client, login, stub):
    token = login("alice:1")["token"]
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(oa_openid(stub, "alice"), "SCAN", "counter-7"))
    assert response.status_code == 200
    assert is_following(client, token) is True
    assert len(follows) == 1
    assert [e.attributes for e in journey(app, "scanned_qr")] == [{"scene": "counter-7"}]


def test_a_follower_whose_unionid_was_unknown_is_linked_on_their_next_scan(app, client, login, stub, make_app):
    token = login("alice:1")["token"]
    openid = oa_openid(stub, "alice")
    wechat_down = make_app(WECHAT_API_BASE="http://127.0.0.1:9/", WECHAT_TIMEOUT_SECONDS=1, WECHAT_OA_AES_KEY="").test_client()
    assert post_plain(wechat_down, event_xml(openid, "subscribe")).status_code == 200
    assert is_following(client, token) is False
    post_plain(client, event_xml(openid, "SCAN", "counter-7"))
    assert is_following(client, token) is True


def test_a_follower_without_a_unionid_is_kept_but_not_linked(app, client, login, stub):
    token = login("nounion-dan:1")["token"]
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(oa_openid(stub, "nounion-dan"), "subscribe"))
    assert response.status_code == 200
    [follower] = followers(app)
    assert follower.oa_openid == oa_openid(stub, "nounion-dan") and follower.subscribed
    assert follower.unionid is None and follower.member_id is None
    assert follows == []
    assert journey(app, "followed") == []
    assert is_following(client, token) is False


def test_a_follow_is_recorded_even_when_wechat_cannot_tell_the_unionid(app, make_app, client, login, stub):
    token = login("alice:1")["token"]
    openid = oa_openid(stub, "alice")
    xml = event_xml(openid, "subscribe", "qrscene_offline")
    cut_off = make_app(WECHAT_API_BASE="http://127.0.0.1:9/", WECHAT_OA_AES_KEY="")
    with received(member_followed) as follows:
        response = post_plain(cut_off.test_client(), xml)
    assert response.status_code == 200
    assert xmltodict.parse(response.get_data(as_text=True))["xml"]["Content"] == app.config["WECHAT_OA_WELCOME"]
    [follower] = followers(app)
    assert follower.subscribed and follower.unionid is None and follower.member_id is None
    assert follower.source_scene == "offline"
    assert follows == []

    # WeChat delivers the event again (a new call); now user/info answers and the follower is linked.
    with received(member_followed) as follows:
        assert post_plain(client, xml).status_code == 200
    member_id = login("alice:2")["member"]["id"]
    assert follows == [{"member_id": member_id, "scene": "offline"}]
    [follower] = followers(app)
    assert follower.unionid == stub.unionid_for("alice") and follower.member_id == member_id
    assert is_following(client, token) is True


def test_a_forged_event_is_refused_and_changes_nothing(app, client, login, stub):
    token = login("alice:1")["token"]
    query = signed_query()
    query["signature"] = sign("not-our-token", query["timestamp"], query["nonce"])
    with received(member_followed) as follows:
        response = post_plain(client, event_xml(oa_openid(stub, "alice"), "subscribe"), query)
        unsigned = client.post(URL, data=event_xml(oa_openid(stub, "alice"), "subscribe"), content_type="text/xml")
    assert_error(response, 403, "wechat_signature_invalid")
    assert_error(unsigned, 403, "wechat_signature_invalid")
    assert follows == []
    assert followers(app) == []
    assert journey(app, "followed") == []
    assert stub.received_on("cgi-bin/user/info") == []
    assert is_following(client, token) is False


# -- encrypted (safe) mode ----------------------------------------------------------------------

def test_in_encrypted_mode_a_follow_works_and_the_welcome_is_encrypted(app, safe_client, login, stub):
    member_id = login("alice:1")["member"]["id"]
    openid = oa_openid(stub, "alice")
    with received(member_followed) as follows:
        response = post_encrypted(safe_client, event_xml(openid, "subscribe", "qrscene_secret-scene"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert app.config["WECHAT_OA_WELCOME"] not in body
    assert "<Encrypt>" in body
    reply = decrypt_reply(app, response)
    assert reply["Content"] == app.config["WECHAT_OA_WELCOME"]
    assert reply["ToUserName"] == openid
    assert follows == [{"member_id": member_id, "scene": "secret-scene"}]
    [follower] = followers(app)
    assert follower.member_id == member_id and follower.source_scene == "secret-scene"


def test_in_encrypted_mode_an_unfollow_is_acknowledged_with_success(app, safe_client, login, stub):
    token = login("alice:1")["token"]
    openid = oa_openid(stub, "alice")
    post_encrypted(safe_client, event_xml(openid, "subscribe"))
    response = post_encrypted(safe_client, event_xml(openid, "unsubscribe"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert is_following(safe_client, token) is False
    assert len(journey(app, "unfollowed")) == 1


def test_in_encrypted_mode_a_wrong_message_signature_is_refused_and_changes_nothing(app, safe_client, stub):
    with received(member_followed) as follows:
        response = post_encrypted(safe_client, event_xml(oa_openid(stub, "alice"), "subscribe"),
                                  msg_signature=sign("forged"))
    assert_error(response, 403, "wechat_signature_invalid")
    assert follows == []
    assert followers(app) == []


def test_in_encrypted_mode_a_message_for_another_app_is_refused(app, safe_client, stub):
    query = signed_query(encrypt_type="aes")
    other = crypto(app, appid="wxsomeoneelse000")
    envelope = other.encrypt_message(event_xml(oa_openid(stub, "alice"), "subscribe"),
                                     query["nonce"], query["timestamp"])
    query["msg_signature"] = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    response = safe_client.post(URL, query_string=query, data=envelope, content_type="text/xml")
    assert_error(response, 403, "wechat_signature_invalid")
    assert followers(app) == []


def test_in_encrypted_mode_a_body_without_an_envelope_is_malformed(app, safe_client, stub):
    query = signed_query(encrypt_type="aes", msg_signature=sign("anything"))
    for body in (b"<xml><oops", event_xml(oa_openid(stub, "alice"), "subscribe")):
        response = safe_client.post(URL, query_string=query, data=body, content_type="text/xml")
        assert_error(response, 400, "wechat_message_malformed")
    assert followers(app) == []


# -- what is not a follow ---------------------------------------------------------------------

def test_malformed_xml_is_a_bad_request(app, client):
    for body in (b"<xml><oops", b"", b"not xml at all", "<xml><FromUserName>é".encode("latin-1")):
        assert_error(post_plain(client, body), 400, "wechat_message_malformed")
    assert followers(app) == []


def test_xml_that_is_not_a_wechat_message_is_a_bad_request(app, client, stub):
    openid = oa_openid(stub, "alice")
    for body in ("<xml><hello>world</hello></xml>",
                 "<xml/>",
                 "<xml><MsgType>event</MsgType><Event>subscribe</Event></xml>",
                 f"<xml><FromUserName>{openid}</FromUserName><Event>subscribe</Event></xml>",
                 f"<note><FromUserName>{openid}</FromUserName><MsgType>event</MsgType></note>"):
        assert_error(post_plain(client, body), 400, "wechat_message_malformed")
    assert followers(app) == []


def test_an_event_with_a_nonsense_create_time_is_a_bad_request(app, client, stub):
    for nonsense in ("yesterday", "9" * 30, "1e9"):
        body = event_xml(oa_openid(stub, "alice"), "subscribe", create_time=1700000000).replace(
            "1700000000", nonsense)
        assert f"<CreateTime>{nonsense}</CreateTime>" in body
        assert_error(post_plain(client, body), 400, "wechat_message_malformed")
    assert followers(app) == []


def test_a_text_message_is_acknowledged_and_changes_nothing(app, client, login, stub):
    login("alice:1")
    with app.app_context():
        events_before = len(db.session.scalars(select(JourneyEvent)).all())
    with received(member_followed) as follows:
        response = post_plain(client, text_xml(oa_openid(stub, "alice"), "hello"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert follows == []
    assert followers(app) == []
    with app.app_context():
        assert len(db.session.scalars(select(JourneyEvent)).all()) == events_before
        assert db.session.scalars(select(Member)).one().follower is None



# -- forged and replayed calls -----------------------------------------------------------------

def test_with_a_key_configured_a_plain_mode_event_is_refused_and_changes_nothing(app, safe_client, login, stub):
    login("alice:1")
    with received(member_followed) as follows:
        response = post_plain(safe_client, event_xml(oa_openid(stub, "alice"), "subscribe"))
    assert_error(response, 403, "wechat_signature_invalid")
    assert follows == [] and followers(app) == []


def test_a_call_signed_long_ago_is_refused_in_either_mode(app, client, safe_client, login, stub):
    login("alice:1")
    old = str(int(time.time()) - 301)
    nonce = secrets.token_hex(8)
    query = {"timestamp": old, "nonce": nonce, "signature": sign(OA_TOKEN, old, nonce)}
    assert_error(post_plain(client, event_xml(oa_openid(stub, "alice"), "unsubscribe"), query),
                 403, "wechat_signature_invalid")
    assert_error(client.get(URL, query_string={**query, "echostr": "x"}), 403, "wechat_signature_invalid")
    assert followers(app) == []


def test_a_captured_call_posted_again_is_refused_and_applied_once(app, client, login, stub):
    token = login("alice:1")["token"]
    openid = oa_openid(stub, "alice")
    post_plain(client, event_xml(openid, "subscribe"))
    unfollow, query = event_xml(openid, "unsubscribe"), signed_query()
    assert post_plain(client, unfollow, query).status_code == 200
    post_plain(client, event_xml(openid, "subscribe"))  # followed again since
    replay = post_plain(client, unfollow, query)
    assert_error(replay, 409, "wechat_call_replayed")
    assert is_following(client, token) is True
    assert len(journey(app, "unfollowed")) == 1


def test_a_call_that_failed_on_our_side_can_be_delivered_again(app, client, login, stub, make_app):
    login("alice:1")
    xml, query = event_xml(oa_openid(stub, "alice"), "subscribe"), signed_query()
    broken = make_app(WECHAT_OA_AES_KEY="", DATABASE_URL="sqlite:////nonexistent-folder/ripple.db").test_client()
    assert post_plain(broken, xml, query).status_code >= 500
    assert post_plain(client, xml, query).status_code == 200
    assert len(followers(app)) == 1
