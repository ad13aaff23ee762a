"""Which errors say a dependency is down (503, one log line per outage) and which are bugs (500)."""

import logging
import sqlite3

import psycopg
import pytest
import redis
from redis.exceptions import CrossSlotTransactionError, RedisClusterException
from sqlalchemy import exc

from shop.config import load_config
from shop.dependencies import DATABASE, REDIS, down_dependency, down_reason, redis_down
from shop.redis_connections import REDIS_ERRORS
from tests.faults.servers import free_port


def _sqlite_error(make) -> exc.OperationalError:
    try:
        make()
    except sqlite3.OperationalError as error:
        return exc.OperationalError("SELECT 1", {}, error)
    raise AssertionError("no error")


def _refused_postgres() -> exc.OperationalError:
    try:
        psycopg.connect(f"host=127.0.0.1 port={free_port()} dbname=x connect_timeout=2")
    except psycopg.OperationalError as error:
        return exc.OperationalError(None, None, error)
    raise AssertionError("connected to nothing")


def _wrapped(error: Exception) -> Exception:
    try:
        raise RuntimeError("the claim failed") from error
    except RuntimeError as wrapper:
        return wrapper


SCRIPT_OOM = ("Error running script (call to f_0123): @user_script:7: @user_script: 7: "
              "-OOM command not allowed when used memory > 'maxmemory'.")


DOWN_OR_NOT = {
    "redis refused": (lambda: redis.exceptions.ConnectionError("Error 111 connecting. Connection refused."), REDIS),
    "redis timed out": (lambda: redis.exceptions.TimeoutError("Timeout reading from socket"), REDIS),
    "redis read-only": (lambda: redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
                        REDIS),
    "redis full": (lambda: redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
                   REDIS),
    "redis full inside a script": (lambda: redis.exceptions.ResponseError(SCRIPT_OOM), REDIS),
    "redis wrong type": (lambda: redis.exceptions.ResponseError("WRONGTYPE Operation against a key"), None),
    "redis bad argument": (lambda: redis.exceptions.DataError("Invalid input of type: 'dict'"), None),
    "postgresql refused": (_refused_postgres, DATABASE),
    "postgresql shutting down": (lambda: exc.OperationalError(None, None, psycopg.errors.AdminShutdown("bye")),
                                 DATABASE),
    "postgresql disk full": (lambda: exc.OperationalError(None, None, psycopg.errors.DiskFull("no space")),
                             DATABASE),
    "postgresql limit exceeded": (lambda: exc.OperationalError(
        None, None, psycopg.errors.ProgramLimitExceeded("index row too big")), None),
    "postgresql missing table": (lambda: exc.ProgrammingError(None, None, psycopg.errors.UndefinedTable("x")), None),
    "sqlite cannot open": (lambda: _sqlite_error(lambda: sqlite3.connect("/no-such-folder/x.db").execute("SELECT 1")),
                           DATABASE),
    "sqlite missing table": (lambda: _sqlite_error(lambda: sqlite3.connect(":memory:").execute("SELECT * FROM x")),
                             None),
    "pool exhausted": (lambda: exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), DATABASE),
    "unique key": (lambda: exc.IntegrityError(None, None, Exception("duplicate key")), None),
    "redis refused, wrapped": (lambda: _wrapped(redis.exceptions.ConnectionError("refused")), REDIS),
    "a bug": (lambda: ValueError("a bug"), None),
}


@pytest.mark.parametrize("case", DOWN_OR_NOT)
def test_what_says_a_dependency_is_down(case):
    make_error, dependency = DOWN_OR_NOT[case]
    assert down_dependency(make_error()) == dependency


def test_readiness_words_for_how_redis_is_down():
    assert down_reason(redis.exceptions.OutOfMemoryError("command not allowed")) == "out_of_memory"
    assert down_reason(redis.exceptions.ResponseError(SCRIPT_OOM)) == "out_of_memory"
    assert down_reason(redis.exceptions.ReadOnlyError("read only replica")) == "read_only"
    assert down_reason(redis.exceptions.ConnectionError("refused")) == "unavailable"


def test_timeouts_come_from_the_environment_and_reach_the_clients(make_app):
    config = load_config(environ={"REDIS_TIMEOUT_SECONDS": "0.5", "DATABASE_URL": "postgresql+psycopg://db/x"})
    assert config["REDIS_TIMEOUT_SECONDS"] == 0.5 and config["REDIS_CONNECT_TIMEOUT_SECONDS"] == 1.0
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 2, "options": "-c jit=off"}
    assert "connect_args" not in load_config(environ={})["SQLALCHEMY_ENGINE_OPTIONS"]  # SQLite has no such thing
    app = make_app(REDIS_CONNECT_TIMEOUT_SECONDS=0.25, REDIS_TIMEOUT_SECONDS=0.75)
    pool_settings = app.extensions["redis"].client.connection_pool.connection_kwargs
    assert (pool_settings["socket_connect_timeout"], pool_settings["socket_timeout"]) == (0.25, 0.75)


@pytest.fixture
def failing_views(make_app):
    app = make_app()

    @app.get("/redis-refused")
    def redis_refused():
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    @app.get("/redis-misused")
    def redis_misused():
        raise redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

    return app


def test_a_dependency_down_is_503_with_retry_after_and_logged_once_a_misuse_is_a_500(failing_views, caplog):
    client = failing_views.test_client()
    with caplog.at_level(logging.INFO):
        answers = [client.get("/redis-refused") for _ in range(3)]
        misused = client.get("/redis-misused")
    for answer in answers:
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        assert answer.get_json()["code"] == "service_unavailable"
    outage = [r for r in caplog.records if r.name == "shop.dependencies" and "unavailable" in r.getMessage()]
    assert [r.getMessage().split(" (")[0] for r in outage] == ["redis unavailable"] and not outage[0].exc_info
    assert misused.status_code == 500 and misused.get_json()["code"] == "internal_error"
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [redis.exceptions.ResponseError]


def _no_cluster_node_answers() -> RedisClusterException:
    """What a Cluster client raises when no node it knows answers (as redis-py builds it)."""
    try:
        raise RedisClusterException("Redis Cluster cannot be connected. Please provide at least one reachable "
                                    "node: Error 111 connecting to 127.0.0.1:7000.") from (
            redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:7000. Connection refused."))
    except RedisClusterException as error:
        return error


# Each way a Redis Cluster says it cannot serve, as its client raises it after its own retries.
CLUSTER_DOWN = {
    "clusterdown": lambda: redis.exceptions.ClusterDownError("The cluster is down"),
    "slot not served": lambda: redis.exceptions.ClusterDownError("Hash slot not served"),
    "masterdown": lambda: redis.exceptions.MasterDownError("Link with MASTER is down and replica-serve-stale-data "
                                                           "is set to 'no'."),
    "slots moving past the client's redirections": lambda: redis.exceptions.ClusterError("TTL exhausted."),
    "slot half migrated": lambda: redis.exceptions.TryAgainError("Multiple keys request during rehashing of slot"),
    "slot not covered": lambda: redis.exceptions.SlotNotCoveredError('Slot "1234" is not covered by the cluster.'),
    "no connection left to a node": lambda: redis.exceptions.MaxConnectionsError("Too many connections"),
    "node lost": lambda: redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:7001. Connection refused."),
    "slots not covered on a fresh look": lambda: RedisClusterException(
        "All slots are not covered after query all startup_nodes. 10923 of 16384 covered..."),
    "no node answers": _no_cluster_node_answers,
    "nodes disagree on the slots": lambda: RedisClusterException(
        "startup_nodes could not agree on a valid slots cache: 127.0.0.1:7000 vs 127.0.0.1:7001 on slot: 5"),
}
# The Cluster client used wrongly: bugs, never hidden as an outage.
CLUSTER_MISUSED = {
    "keys of several slots": lambda: redis.exceptions.ClusterCrossSlotError("Keys in request don't hash to the same slot"),
    "a transaction across slots": lambda: CrossSlotTransactionError("All keys involved in a cluster transaction "
                                                                    "must map to the same slot"),
    "a command it cannot route": lambda: RedisClusterException("No way to dispatch this command to Redis Cluster. "
                                                               "Missing key."),
}


@pytest.mark.parametrize("case", CLUSTER_DOWN)
def test_every_way_a_cluster_cannot_serve_is_redis_down(case):
    error = CLUSTER_DOWN[case]()
    assert isinstance(error, REDIS_ERRORS)  # caught wherever we catch Redis's errors (caches, the nearby search)
    assert redis_down(error) and down_dependency(error) == REDIS
    assert down_reason(error) == "unavailable"


@pytest.mark.parametrize("case", CLUSTER_MISUSED)
def test_a_cluster_client_used_wrongly_is_a_bug(case):
    error = CLUSTER_MISUSED[case]()
    assert isinstance(error, REDIS_ERRORS)
    assert not redis_down(error) and down_dependency(error) is None


@pytest.fixture
def failing_cluster_views(make_app):
    app = make_app()

    @app.get("/slot-not-covered")
    def slot_not_covered():
        raise redis.exceptions.SlotNotCoveredError('Slot "1234" is not covered by the cluster.')

    @app.get("/cluster-misused")
    def cluster_misused():
        raise RedisClusterException("No way to dispatch this command to Redis Cluster. Missing key.")

    return app


def test_a_cluster_error_that_is_no_redis_error_is_still_503_when_down_and_500_when_a_bug(failing_cluster_views):
    client = failing_cluster_views.test_client()
    down, misused = client.get("/slot-not-covered"), client.get("/cluster-misused")
    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
    assert down.get_json()["code"] == "service_unavailable"
    assert misused.status_code == 500 and misused.get_json()["code"] == "internal_error"
