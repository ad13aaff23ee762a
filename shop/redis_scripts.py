"""Lua scripts run on hot paths: EVALSHA over each thread's own Redis connection.

redis-py's command path (a pool checkout that polls the socket, the retry wrapper, metrics hooks)
costs more CPU than the round trip itself: about 20 us a call, measured in-process. A hot script
(the nearby search, the coupon claim gate) is sent by its SHA1 over a connection the thread keeps
for its life, outside the pool. On a connection or timeout error (the connection is then closed,
and reopens on next use) the call goes through the client instead, with its retries; a server
that does not know the script (restarted, flushed) is given it once, by EVAL. On a Redis Cluster the
call goes through the client, which routes it by its keys (all under one hash tag). As with redis-py's own
retries, a reply lost to a connection error means the script may run twice: the claim gate then
hands out a number no row gets (fewer coupons, never more) until its next rebuild frees it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any

import redis

_threads = threading.local()


class RedisScript:
    """A Lua script; ``script(client, keys, args)`` runs it on ``client``'s server and returns its reply."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()  # the name EVALSHA knows a script by

    def __call__(self, client: redis.Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        try:
            return self._evalsha(client, keys, args)
        except redis.exceptions.NoScriptError:
            # EVAL goes to the keys' node only, which keeps the script: a Cluster client's SCRIPT LOAD goes
            # to every master and fails while any one is lost, even for keys the others serve.
            return client.eval(self.source, len(keys), *keys, *args)

    def _evalsha(self, client: redis.Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        pool = getattr(client, "connection_pool", None)
        if pool is None:  # a Cluster's client: it sends the script to the node of the keys' hash tag
            return client.evalsha(self.sha, len(keys), *keys, *args)
        connection = own_connection(pool)
        try:
            connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
            return connection.read_response()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return client.evalsha(self.sha, len(keys), *keys, *args)


def own_connection(pool: redis.ConnectionPool) -> redis.connection.AbstractConnection:
    """This thread's connection made with ``pool``'s settings, kept for the thread's life (not in the pool)."""
    connections = _threads.__dict__.setdefault("connections", {})
    key = (id(pool), os.getpid())  # a forked child makes its own
    found = connections.get(key)
    if found is None or found[0] is not pool:
        found = connections[key] = (pool, pool.connection_class(**pool.connection_kwargs))
    return found[1]
