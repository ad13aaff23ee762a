"""A dependency that is down (Redis killed or full, PostgreSQL unreachable) answers 503 with Retry-After
and one log line per outage; rate limits fail open (login keeps working), the claim gate stays closed,
and everything comes back by itself."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
import requests
from sqlalchemy import func, select, text

from coupons.models import Coupon
from shop.auth import Role
from shop.errors import AppError, CommonError
from shop.extensions import db
from shop.staff.service import create_staff
from tests.conftest import STAFF_PASSWORD, bearer
from tests.coupons.conftest import batch_body
from tests.faults.servers import free_port

OUTAGE_LOGGER = "shop.dependencies"


def _staff(target, role: Role) -> dict:
    username = f"{role.value}-{uuid.uuid4().hex[:8]}"
    with target.app.app_context():
        create_staff(username=username, password=STAFF_PASSWORD, role=role)
        db.session.commit()
    return {"username": username, "password": STAFF_PASSWORD}


def _staff_login(target, credentials: dict) -> requests.Response:
    return requests.post(f"{target.base_url}/api/v1/auth/staff-login", json=credentials, timeout=10)


def _active_batch(target, **fields) -> int:
    marketing = bearer(_staff_login(target, _staff(target, Role.MARKETING)).json()["token"])
    created = requests.post(f"{target.base_url}/api/v1/admin/coupon-batches", json=batch_body(**fields),
                            headers=marketing, timeout=10)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    activated = requests.post(f"{target.base_url}/api/v1/admin/coupon-batches/{batch_id}/activate",
                              headers=marketing, timeout=10)
    assert activated.status_code == 200, activated.text
    return batch_id


def _shopper(target, code: str) -> dict:
    response = requests.post(f"{target.base_url}/api/v1/auth/wechat-login", json={"code": code}, timeout=10)
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


def _claim(target, batch_id: int, shopper: dict) -> requests.Response:
    return requests.post(f"{target.base_url}/api/v1/coupon-batches/{batch_id}/claim", timeout=10,
                         headers={**shopper, "Idempotency-Key": uuid.uuid4().hex})


def _coupons(target, batch_id: int) -> int:
    with target.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.batch_id == batch_id))
        db.session.rollback()
        return count


def _outage_lines(caplog, dependency: str, *, back: bool = False) -> list[logging.LogRecord]:
    word = "is back" if back else "unavailable"
    return [r for r in caplog.records if r.name == OUTAGE_LOGGER and r.getMessage().startswith(dependency)
            and word in r.getMessage()]


def _tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


def _wait_for(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    return condition()


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["code"] == "service_unavailable" and response.json()["message"]


def test_with_redis_down_claims_are_503_issue_nothing_and_the_outage_is_logged_once(target, caplog):
    batch_id = _active_batch(target, total=5, per_member_limit=5)
    shopper = _shopper(target, "alice:1")
    assert _claim(target, batch_id, shopper).status_code == 201
    target.redis.kill()
    with caplog.at_level(logging.INFO):
        answers = [_claim(target, batch_id, shopper) for _ in range(5)]
        for answer in answers:
            _assert_unavailable(answer)
        assert _coupons(target, batch_id) == 1  # the gate failed closed: nothing issued without it
        assert len(_outage_lines(caplog, "redis")) == 1
        assert _tracebacks(caplog) == []

        target.redis.restart_empty()  # a Redis without persistence comes back empty
        assert _wait_for(lambda: _outage_lines(caplog, "redis", back=True))
        assert _claim(target, batch_id, shopper).status_code == 201  # the gate is rebuilt from the database
        assert len(_outage_lines(caplog, "redis")) == 1 and len(_outage_lines(caplog, "redis", back=True)) == 1
    assert _coupons(target, batch_id) == 2


def test_with_redis_down_staff_and_shoppers_still_log_in_and_guessing_stays_bounded(target, caplog):
    credentials = _staff(target, Role.STAFF)
    target.redis.kill()
    with caplog.at_level(logging.INFO):
        assert _staff_login(target, credentials).status_code == 200
        assert requests.post(f"{target.base_url}/api/v1/auth/wechat-login", json={"code": "bob:1"},
                             timeout=10).status_code == 200
        # Guesses at many usernames: one account would lock itself after 5 (the lockout is in the database).
        statuses = [_staff_login(target, {"username": f"guess-{n}", "password": "not-the-password"}).status_code
                    for n in range(11)]
    # The limit (10 a minute) is counted in this process's memory while Redis is away.
    assert statuses[:9] == [401] * 9 and statuses[-1] == 429
    fallbacks = [r for r in caplog.records if "falling back to in-memory" in r.getMessage()]
    assert len(fallbacks) == 1
    assert _tracebacks(caplog) == []


def test_with_redis_full_logins_go_on_and_the_limiter_falls_back_once_without_flapping(target, caplog):
    target.redis.limit_memory(1)  # PING answers, counting a login is refused
    with caplog.at_level(logging.INFO):
        statuses = []
        started = time.monotonic()
        while time.monotonic() - started < 3.5:  # past the limiter's rechecks of its storage at 1 s and 2 s
            # A crowd (one shopper is limited to RATE_LIMIT_LOGIN_PER_OPENID, 10 logins a minute).
            response = requests.post(f"{target.base_url}/api/v1/auth/wechat-login",
                                     json={"code": f"dave{len(statuses)}:1"}, timeout=10)
            statuses.append(response.status_code)
            time.sleep(0.25)
    assert set(statuses) == {200}
    limiter_lines = [r.getMessage() for r in caplog.records if r.name == "flask-limiter"]
    assert limiter_lines == ["Rate limit storage unreachable - falling back to in-memory storage"]


def test_redis_out_of_memory_makes_readyz_fail_naming_redis_until_it_has_room(target):
    assert requests.get(f"{target.base_url}/readyz", timeout=10).status_code == 200
    target.redis.limit_memory(1)  # PING still answers; every write is refused (OOM)
    ready = requests.get(f"{target.base_url}/readyz", timeout=10)
    _assert_retry_after(ready)
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["redis"] == "out_of_memory"
    assert ready.json()["checks"]["database"] == "ok"

    target.redis.client().config_set("maxmemory", "0")
    assert requests.get(f"{target.base_url}/readyz", timeout=10).status_code == 200


def test_a_claim_while_redis_refuses_writes_is_503_and_issues_nothing(target):
    batch_id = _active_batch(target)
    shopper = _shopper(target, "carol:1")
    target.redis.limit_memory(1)
    _assert_unavailable(_claim(target, batch_id, shopper))
    assert _coupons(target, batch_id) == 0
    target.redis.client().config_set("maxmemory", "0")
    assert _claim(target, batch_id, shopper).status_code == 201


def _assert_retry_after(response: requests.Response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
def test_a_database_out_of_reach_is_503_with_one_log_line(make_app, tmp_path, caplog, where):
    url = (f"postgresql+psycopg://ripple@127.0.0.1:{free_port()}/nothing" if where == "postgresql"
           else f"sqlite:///{tmp_path}/no-such-folder/ripple.db")
    client = make_app(DATABASE_URL=url).test_client()
    with caplog.at_level(logging.INFO):
        answers = [client.get("/api/v1/stores/1") for _ in range(4)]
        answers.append(client.post("/api/v1/auth/staff-login", json={"username": "x", "password": "y" * 12}))
    for answer in answers:
        assert answer.status_code == 503, answer.get_json()
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.get_json()["code"] == "service_unavailable"
    assert len(_outage_lines(caplog, "database")) == 1
    assert _tracebacks(caplog) == []
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"] == "unavailable"


def test_a_bug_is_still_a_500_with_its_traceback(make_app, caplog):
    app = make_app()

    @app.get("/bad-sql")
    def bad_sql():
        db.session.execute(text("SELECT * FROM no_such_table"))

    with caplog.at_level(logging.INFO):
        response = app.test_client().get("/bad-sql")
    assert response.status_code == 500 and response.get_json()["code"] == "internal_error"
    assert len(_tracebacks(caplog)) == 1
    assert _outage_lines(caplog, "database") == []


@pytest.fixture
def connection_killer(make_app):
    """An app whose views lose their PostgreSQL connection mid-transaction (the server terminates it)."""
    app = make_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("terminating a server connection needs PostgreSQL")

    def lose_connection() -> None:
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()

    @app.get("/lost-mid-request")
    def lost_mid_request():
        lose_connection()
        db.session.execute(text("SELECT 1"))
        return {"reached": True}

    @app.get("/refused-after-the-loss")
    def refused_after_the_loss():
        lose_connection()
        raise AppError(CommonError.CONFLICT, "Refused for the client's reasons.")

    @app.get("/fine")
    def fine():
        return {"one": db.session.execute(text("SELECT 1")).scalar_one()}

    return app


def test_a_connection_lost_mid_request_is_503_and_the_next_request_is_served(connection_killer, caplog):
    client = connection_killer.test_client()
    with caplog.at_level(logging.INFO):
        lost = client.get("/lost-mid-request")
        assert lost.status_code == 503 and lost.get_json()["code"] == "service_unavailable"
        # The rollback of a transaction whose connection is gone fails too: the client's answer stands.
        refused = client.get("/refused-after-the-loss")
        assert refused.status_code == 409 and refused.get_json()["code"] == "conflict"
        assert client.get("/fine").get_json() == {"one": 1}
    assert _tracebacks(caplog) == []
