"""The fault harness itself: a Redis of the test's own comes back empty, or as an older snapshot."""

import requests


def test_a_redis_restarted_from_a_snapshot_forgets_what_came_after(own_redis):
    client = own_redis.client()
    client.set("kept", "1")
    snapshot = own_redis.snapshot()
    client.set("lost", "1")
    own_redis.restart_from(snapshot)
    assert own_redis.client().get("kept") == b"1"
    assert own_redis.client().get("lost") is None
    own_redis.restart_empty()
    assert own_redis.client().dbsize() == 0


def test_the_target_serves_the_app_over_http_and_survives_a_restart(target):
    assert requests.get(f"{target.base_url}/healthz", timeout=5).status_code == 200
    target.restart_app()
    assert requests.get(f"{target.base_url}/healthz", timeout=5).status_code == 200
