"""WeChat's content check down for a while under CONTENT_CHECK_WHEN_WECHAT_DOWN=accept: every nickname
written meanwhile is kept and listed unchecked; while WeChat stays down the sweeps keep trying; once it
answers, each is settled and no risky nickname stands. Against the target over HTTP."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select

from shop.content.models import ContentReview
from shop.database import utcnow
from shop.extensions import db
from shop.jobs import run_periodic
from shop.members.models import Member


def content_check(stub, mode: str | None) -> None:
    requests.post(f"{stub.url}stub/content-security/fail", json={"mode": mode}, timeout=5).raise_for_status()


def shopper_headers(base: str, code: str) -> dict:
    login = requests.post(f"{base}/api/v1/auth/wechat-login", json={"code": code}, timeout=10)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def statuses(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(ContentReview.text, ContentReview.status)).all())


def test_nicknames_kept_while_wechat_was_down_are_all_settled_once_it_answers(target, stub):
    target.app.config["CONTENT_CHECK_WHEN_WECHAT_DOWN"] = "accept"
    names = {"pat:1": "Pat", "quinn:1": "Quinn review-word", "rob:1": "Rob risky-word", "sam:1": "Sam risky-word"}
    headers = {code: shopper_headers(target.base_url, code) for code in names}
    content_check(stub, "unreachable")
    for code, nickname in names.items():
        response = requests.patch(f"{target.base_url}/api/v1/me", json={"nickname": nickname}, headers=headers[code],
                                  timeout=10)
        assert response.status_code == 200, response.text
    assert set(statuses(target.app).values()) == {"unchecked"}

    now = utcnow()
    for _ in range(3):  # still down: every sweep tries again, nothing is settled or lost
        now += timedelta(minutes=2)
        with target.app.app_context():
            run_periodic(now)
        assert set(statuses(target.app).values()) == {"unchecked"}

    content_check(stub, None)
    with target.app.app_context():
        run_periodic(now + timedelta(minutes=2))
    assert statuses(target.app) == {"Pat": "passed", "Quinn review-word": "review", "Rob risky-word": "removed",
                                    "Sam risky-word": "removed"}
    with target.app.app_context():
        kept = db.session.scalars(select(Member.nickname)).all()
    assert sorted(n for n in kept if n) == ["Pat", "Quinn review-word"]
