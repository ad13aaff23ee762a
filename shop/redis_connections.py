"""One Redis URL for a server, a Sentinel set or a Cluster, in the schemes the ``limits`` package reads.

- ``redis://host:6379/0``, ``rediss://...``, ``unix:///path/redis.sock``: one server (redis-py's own URLs);
- ``redis+sentinel://[:password@]host:port[,host:port]/service_name[/db]``: the master the sentinels
  name for ``service_name``, found again after a failover;
- ``redis+cluster://[:password@]host:port[,host:port]``: a Redis Cluster, from any of its nodes (db 0 only).

A password in a Sentinel URL is the master's and the sentinels' alike, as ``limits`` reads it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
DEFAULT_PORT = {SENTINEL_SCHEME: 26379, CLUSTER_SCHEME: 6379}

AnyRedis = redis.Redis | RedisCluster

# Every error our clients raise. A Cluster client's own (SlotNotCoveredError, and the plain one it raises
# when no node answers or a slot has no node) are RedisClusterExceptions, not RedisErrors: an
# ``except redis.RedisError`` alone lets them through.
REDIS_ERRORS = (redis.exceptions.RedisError, RedisClusterException)
_SLOT_SEARCH = 1 << 16  # hash tags tried to find a key on each master: 16,384 slots, all met long before


class RedisUrlError(ValueError):
    """A Redis URL that names no server, Sentinel set or Cluster we can reach."""


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower()


def is_cluster_url(url: str) -> bool:
    return scheme_of(url) == CLUSTER_SCHEME


def is_cluster(client: Any) -> bool:
    """Whether ``client`` talks to a Redis Cluster (keys on several nodes, no per-client connection pool)."""
    return isinstance(client, RedisCluster)


def keys_on_every_master(client: AnyRedis, key: str) -> list[str]:
    """``key`` on one server; on a Cluster, one key per master (``key:{n}``, ``n`` found so the key's slot
    is that master's), so a probe that writes them all hears from every master."""
    if not is_cluster(client):
        return [key]
    masters = {node.name for node in client.get_primaries()}
    found: dict[str, str] = {}
    for n in range(_SLOT_SEARCH):
        tagged = f"{key}:{{{n}}}"
        found.setdefault(client.get_node_from_key(tagged).name, tagged)  # SlotNotCoveredError: a slot has no master
        if masters <= found.keys():
            break
    return list(found.values())


def redis_from_url(url: str, **options: Any) -> AnyRedis:
    """A client for what ``url`` names; ``options`` (timeouts, health checks) apply to every connection."""
    scheme = scheme_of(url)
    if scheme == CLUSTER_SCHEME:
        auth, hosts, _ = _parts(url)
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in hosts], **auth, **options)
    if scheme == SENTINEL_SCHEME:
        auth, hosts, path = _parts(url)
        service, _, db = path.strip("/").partition("/")
        if not service:
            raise RedisUrlError(f"{SENTINEL_SCHEME} URL without a service name: {SENTINEL_SCHEME}://host:port/mymaster")
        if db and not db.isdigit():
            raise RedisUrlError(f"the database after the service name must be a number, got {db!r}")
        timeouts = {name: options[name] for name in ("socket_timeout", "socket_connect_timeout") if name in options}
        sentinel = Sentinel(hosts, sentinel_kwargs={**auth, **timeouts}, **auth, **options)
        return sentinel.master_for(service, db=int(db or 0))
    return redis.Redis.from_url(url, **options)


def _parts(url: str) -> tuple[dict[str, str], list[tuple[str, int]], str]:
    """(username/password, [(host, port)], path) of a URL naming several hosts, which urllib cannot split."""
    split = urlsplit(url)
    credentials, _, locations = split.netloc.rpartition("@")
    auth = {}
    if credentials:
        username, _, password = credentials.partition(":")
        auth = {key: unquote(value) for key, value in (("username", username), ("password", password)) if value}
    hosts = []
    for location in filter(None, locations.split(",")):
        host, _, port = location.rpartition(":") if ":" in location else (location, "", "")
        if port and not port.isdigit():
            raise RedisUrlError(f"not a port: {port!r} in {split.scheme}://...{location}")
        hosts.append((host.strip("[]"), int(port or DEFAULT_PORT[split.scheme.lower()])))
    if not hosts:
        raise RedisUrlError(f"{split.scheme} URL names no host: {split.scheme}://host:port[,host:port]")
    return auth, hosts, split.path
