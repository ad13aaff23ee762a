"""Shopper rate limits while Redis is away: they fail open to counts in the process's memory, still per
shopper, so one shopper hammering login is held back and the crowd on the same address logs in."""

from __future__ import annotations

import logging

import requests


def _login(target, code: str) -> requests.Response:
    return requests.post(f"{target.base_url}/api/v1/auth/wechat-login", json={"code": code}, timeout=10)


def test_with_redis_down_a_shopper_hammering_login_is_still_held_back_and_the_crowd_logs_in(target, caplog):
    target.redis.kill()
    with caplog.at_level(logging.INFO):
        hammering = [_login(target, f"mallory:{n}").status_code for n in range(11)]
        crowd = [_login(target, f"shopper{n}:1").status_code for n in range(35)]

    assert hammering == [200] * 10 + [429]
    assert crowd == [200] * 35
    assert not [r for r in caplog.records if r.exc_info]
