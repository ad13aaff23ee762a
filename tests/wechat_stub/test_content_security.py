"""The stub's msg_sec_check (version 2): its verdicts by marker word, WeChat's error shapes, its failure control."""

from __future__ import annotations

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from .client import MP_APPID, OA_APPID

CHECK = "wxa/msg_sec_check"


def check(mp, **body):
    return mp.post(CHECK, data=body, api_base_url=mp.base_url)


@pytest.mark.parametrize(("content", "suggest", "label"), [
    ("a latte please", "pass", 100), ("cheap review-word here", "review", 21000), ("risky-word!", "risky", 20006)])
def test_the_stub_judges_text_by_its_marker_words(stub, mp, content, suggest, label):
    answer = check(mp, content=content, version=2, scene=1, openid=stub.openid_for("alice", MP_APPID))
    assert answer["errcode"] == 0 and answer["result"] == {"suggest": suggest, "label": label}
    assert answer["trace_id"] and answer["detail"][0]["strategy"] == "content_model"
    assert [d.get("keyword") for d in answer["detail"][1:]] == ([] if suggest == "pass" else [f"{suggest}-word"])


@pytest.mark.parametrize(("body", "errcode"), [
    ({"version": 2, "scene": 1}, 47001),  # no content
    ({"content": "x" * 2501, "version": 2, "scene": 1}, 47001),
    ({"content": "hi", "version": 1, "scene": 1}, 40097),
    ({"content": "hi", "version": 2, "scene": 9}, 40097),
    ({"content": "hi", "version": 2, "scene": 1, "openid": "o-nobody"}, 40003),
])
def test_the_stub_answers_wechats_error_codes_for_bad_calls(stub, mp, body, errcode):
    body.setdefault("openid", stub.openid_for("alice", MP_APPID))
    with pytest.raises(WeChatClientException) as caught:
        check(mp, **body)
    assert caught.value.errcode == errcode


def test_an_openid_of_another_app_is_refused(stub, mp):
    with pytest.raises(WeChatClientException) as caught:
        check(mp, content="hi", version=2, scene=1, openid=stub.openid_for("alice", OA_APPID))
    assert caught.value.errcode == 40003


def test_the_failure_control_makes_checks_fail_until_cleared_or_reset(stub, mp):
    openid = stub.openid_for("alice", MP_APPID)
    requests.post(f"{stub.url}stub/content-security/fail", json={"mode": "busy"}, timeout=5).raise_for_status()
    with pytest.raises(WeChatClientException) as busy:
        check(mp, content="hi", version=2, scene=1, openid=openid)
    assert busy.value.errcode == -1
    requests.post(f"{stub.url}stub/content-security/fail", json={"mode": "unreachable"}, timeout=5)
    with pytest.raises(WeChatClientException) as down:
        check(mp, content="hi", version=2, scene=1, openid=openid)
    assert down.value.errcode is None  # an HTTP 503, not a WeChat answer
    requests.post(f"{stub.url}stub/content-security/fail", json={"mode": None}, timeout=5)
    assert check(mp, content="hi", version=2, scene=1, openid=openid)["result"]["suggest"] == "pass"
    requests.post(f"{stub.url}stub/content-security/fail", json={"mode": "busy"}, timeout=5)
    stub.reset()
    assert stub.content_failure is None
    bad = requests.post(f"{stub.url}stub/content-security/fail", json={"mode": "sometimes"}, timeout=5)
    assert bad.status_code == 400
