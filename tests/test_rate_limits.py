"""Shopper rate limits count the shopper, not the address: a crowd behind one carrier NAT or a mall's
Wi-Fi (here: the test client's one address) is not refused for what one of them does. Per-address
limits are a high ceiling against floods, and every limit is a setting read per request."""

from __future__ import annotations

import pytest

from shop.config import RATE_LIMIT_SETTINGS, ConfigError, load_config
from tests.conftest import bearer

pytestmark = pytest.mark.redis_cluster  # also run on a Redis Cluster (.ci/run)

LOGIN = "/api/v1/auth/wechat-login"
MALL_WIFI = {"REMOTE_ADDR": "198.51.100.50"}
OTHER_ADDRESS = {"REMOTE_ADDR": "203.0.113.80"}


def _login(client, code: str, environ: dict | None = None):
    return client.post(LOGIN, json={"code": code}, environ_base=environ or MALL_WIFI)


def _assert_rate_limited(response) -> None:
    assert response.status_code == 429
    assert response.get_json()["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_a_crowd_behind_one_address_all_log_in_beyond_what_one_address_used_to_get(client):
    statuses = [_login(client, f"shopper{n}:1").status_code for n in range(45)]  # once 30 a minute per address

    assert statuses == [200] * 45


def test_one_shopper_hammering_login_is_refused_while_their_neighbour_logs_in(client):
    statuses = [_login(client, f"alice:{n}").status_code for n in range(10)]
    hammered = _login(client, "alice:10")

    assert statuses == [200] * 10
    _assert_rate_limited(hammered)
    assert _login(client, "bob:1").status_code == 200  # same address, another shopper
    _assert_rate_limited(_login(client, "alice:11", OTHER_ADDRESS))  # the shopper is counted wherever they are


def test_a_flood_from_one_address_meets_the_ceiling_and_other_addresses_do_not(client):
    # Bodies without a code: counted by the ceiling before anything else is done with them.
    statuses = [client.post(LOGIN, json={}, environ_base=MALL_WIFI).status_code for _ in range(600)]

    assert statuses == [422] * 600
    _assert_rate_limited(_login(client, "carol:1"))
    assert _login(client, "carol:2", OTHER_ADDRESS).status_code == 200


def test_a_load_test_from_one_address_can_raise_the_login_ceiling(make_app, client):
    for _ in range(600):
        client.post(LOGIN, json={}, environ_base=MALL_WIFI)
    _assert_rate_limited(_login(client, "dave:1"))

    raised = make_app(RATE_LIMIT_LOGIN_PER_ADDRESS="100000 per minute").test_client()

    assert _login(raised, "dave:2").status_code == 200


def test_a_lowered_per_member_limit_applies_at_the_next_request(make_app):
    strict = make_app(RATE_LIMIT_LOGIN_PER_OPENID="2 per minute").test_client()

    assert [_login(strict, f"erin:{n}").status_code for n in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(("path", "body"), [("/api/v1/me/phone", {}), ("/api/v1/me/withdrawals", {"amount": 0})])
def test_authenticated_shopper_limits_count_the_member_not_the_address(client, login, path, body):
    alice, bob = (bearer(login(f"{name}:1")["token"]) for name in ("alice", "bob"))
    statuses = [client.post(path, json=body, headers=alice, environ_base=MALL_WIFI).status_code for _ in range(10)]

    assert 429 not in statuses
    _assert_rate_limited(client.post(path, json=body, headers=alice, environ_base=MALL_WIFI))
    assert client.post(path, json=body, headers=bob, environ_base=MALL_WIFI).status_code != 429


def test_authenticated_shopper_endpoints_have_a_per_address_ceiling(make_app, login):
    ceilinged = make_app(RATE_LIMIT_SHOPPER_PER_ADDRESS="5 per minute").test_client()
    shoppers = [bearer(login(f"crowd{n}:1")["token"]) for n in range(6)]
    statuses = [ceilinged.post("/api/v1/me/phone", json={}, headers=headers, environ_base=MALL_WIFI).status_code
                for headers in shoppers]

    assert statuses == [422] * 5 + [429]
    elsewhere = ceilinged.post("/api/v1/me/phone", json={}, headers=shoppers[5], environ_base=OTHER_ADDRESS)
    assert elsewhere.status_code == 422


@pytest.mark.parametrize("name", RATE_LIMIT_SETTINGS)
def test_a_limit_that_cannot_be_read_stops_the_start_naming_the_variable(name):
    for value in ("lots", "10 per fortnight"):
        with pytest.raises(ConfigError, match=name):
            load_config(environ={name: value})
    with pytest.raises(ConfigError, match=name):
        load_config(environ={}, overrides={name: ""})
    assert load_config(environ={name: "5 per minute;100 per day"})[name] == "5 per minute;100 per day"
