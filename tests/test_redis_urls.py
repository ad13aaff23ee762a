"""One REDIS_URL names a server, a Sentinel set or a Cluster (the `limits` package's schemes), and RQ's
queues are refused a Cluster at startup, naming the setting to change."""

from __future__ import annotations

import pytest
from redis.sentinel import SentinelConnectionPool

from app import create_app
from shop.config import ConfigError
from shop.redis_connections import RedisUrlError, is_cluster_url, redis_from_url


def test_a_sentinel_url_names_its_sentinels_service_database_and_password():
    client = redis_from_url("redis+sentinel://:s%40cret@10.0.0.1:26380,10.0.0.2/ripple/3", socket_timeout=1.5)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "ripple"
    assert pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["password"] == "s@cret"
    assert pool.connection_kwargs["socket_timeout"] == 1.5
    sentinels = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(s["host"], s["port"]) for s in sentinels] == [("10.0.0.1", 26380), ("10.0.0.2", 26379)]
    assert {s["password"] for s in sentinels} == {"s@cret"}  # the sentinels' too, as `limits` reads it


def test_a_sentinel_url_without_a_service_name_is_refused():
    with pytest.raises(RedisUrlError, match="service name"):
        redis_from_url("redis+sentinel://10.0.0.1:26379")


def test_a_plain_url_is_one_server():
    client = redis_from_url("redis://127.0.0.1:6390/2")
    assert client.connection_pool.connection_kwargs["db"] == 2
    assert not is_cluster_url("redis://127.0.0.1:6390/2")
    assert is_cluster_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7000")


def test_a_cluster_redis_url_without_rq_redis_url_is_refused_at_startup(base_config):
    with pytest.raises(ConfigError, match="REDIS_URL names a Redis Cluster.*set RQ_REDIS_URL"):
        create_app({**base_config, "REDIS_URL": "redis+cluster://127.0.0.1:1"})


def test_a_cluster_rq_redis_url_is_refused_at_startup(base_config):
    with pytest.raises(ConfigError, match="RQ_REDIS_URL names a Redis Cluster"):
        create_app({**base_config, "RQ_REDIS_URL": "redis+cluster://127.0.0.1:1"})


def test_rq_queues_use_rq_redis_url_and_default_to_redis_url(app, make_app):
    assert app.extensions["redis"].rq_client is app.extensions["redis"].client
    other = make_app(RQ_REDIS_URL="redis://127.0.0.1:6390/5").extensions["redis"].rq_client
    assert other.connection_pool.connection_kwargs["db"] == 5
