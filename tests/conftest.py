"""Fixtures: one app per test session on real parts, cleaned after every test.

By default: SQLite and an embedded Redis in a temporary folder. CI runs the same suite with
``TEST_DATABASE_URL`` (PostgreSQL) and ``TEST_REDIS_URL`` (a Redis server). WeChat is the in-project
stub over real HTTP, driven by the real wechatpy client.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
import threading
import time

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from app import ROOT, create_app
from shop.auth import Role
from shop.extensions import db, limiter, redis_client
from shop.staff.service import create_staff
from shop.wechat.pay import WeChatPayKeys, generate_keys
from shop.wechat.stub.pay import PayConfig
from shop.wechat.stub.server import WeChatStub

MINIPROGRAM = ("wxtest0miniprogram", "test-miniprogram-secret")
OFFICIAL_ACCOUNT = ("wxtest0officialacct", "test-official-account-secret")
OA_TOKEN = "test-oa-token"
OA_AES_KEY = "c3R1Yi1vZmZpY2lhbC1hY2NvdW50LWFlcy1rZXktMzI"  # 43 characters, as WeChat gives
STAFF_PASSWORD = "counter-password-1"
WECHATPAY_MCHID = "1230000109"
WECHATPAY_CERT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD2C1AAF6D"
WECHATPAY_APIV3_KEY = "test-apiv3-key-0123456789abcdef!"  # 32 characters
WECHATPAY_PUBLIC_KEY_ID = "PUB_KEY_ID_0112300001092025010100000000"

pytest_plugins = ["tests.log_scan", "pytester"]  # log_scan: the run fails if a secret it made appears in its logs



def pytest_configure(config) -> None:
    """Under pytest-xdist, each worker gets a PostgreSQL database and a Redis database of its own on the
    shared servers (``<name>_gw0``, Redis db 1 + the worker's number), so the workers never meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    database_url = os.environ.get("TEST_DATABASE_URL")
    if worker and database_url and database_url.startswith("postgresql"):
        os.environ["TEST_DATABASE_URL"] = _create_worker_database(database_url, worker)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if worker and redis_url and redis_url.startswith("redis://"):  # a Cluster has db 0 only: run it without -n
        os.environ["TEST_REDIS_URL"] = str(make_url(redis_url).set(database=str(1 + int(worker.removeprefix("gw")))))


def _create_worker_database(database_url: str, worker: str) -> str:
    url = make_url(database_url)
    name = f"{url.database}_{worker}"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The app is served here (the live_server fixture) so WeChat Pay's notifies reach it over HTTP;
# until a test asks for the live server, nothing listens and notifies go nowhere.
LIVE_PORT = _free_port()
WECHATPAY_NOTIFY_URL = f"http://127.0.0.1:{LIVE_PORT}/wechat/pay/notify"


@functools.cache
def wechatpay_keys() -> WeChatPayKeys:
    """This session's merchant and WeChat Pay key pairs, shared by the app and the stub."""
    return generate_keys()


def stub_pay_config() -> PayConfig:
    """The stub's WeChat Pay merchant, matching test_config."""
    keys = wechatpay_keys()
    return PayConfig(mchid=WECHATPAY_MCHID, appid=MINIPROGRAM[0], merchant_public_key=keys.merchant_public_key,
                     platform_private_key=keys.platform_private_key, public_key_id=WECHATPAY_PUBLIC_KEY_ID,
                     apiv3_key=WECHATPAY_APIV3_KEY, merchant_serial=WECHATPAY_CERT_SERIAL)


def test_config(tmp_path_factory, wechat_api_base: str) -> dict:
    """The configuration every test app shares; tests may override keys."""
    instance = tmp_path_factory.mktemp("instance")
    return {
        "RIPPLE_ENV": "development",
        "RIPPLE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance}/test.db",
        "REDIS_URL": os.environ.get("TEST_REDIS_URL") or None,
        "RQ_REDIS_URL": os.environ.get("TEST_RQ_REDIS_URL") or None,  # set where TEST_REDIS_URL is a Cluster
        "SECRET_KEY": secrets.token_hex(32),
        "WECHAT_API_BASE": wechat_api_base,
        "WECHAT_APPID": MINIPROGRAM[0], "WECHAT_SECRET": MINIPROGRAM[1],
        "WECHAT_OA_APPID": OFFICIAL_ACCOUNT[0], "WECHAT_OA_SECRET": OFFICIAL_ACCOUNT[1],
        "WECHAT_OA_TOKEN": OA_TOKEN, "WECHAT_OA_AES_KEY": OA_AES_KEY,
        "WECHAT_TIMEOUT_SECONDS": 3,
        "WECHATPAY_API_BASE": wechat_api_base, "WECHATPAY_NOTIFY_URL": WECHATPAY_NOTIFY_URL,
        "WECHATPAY_MCHID": WECHATPAY_MCHID, "WECHATPAY_CERT_SERIAL": WECHATPAY_CERT_SERIAL,
        "WECHATPAY_PRIVATE_KEY": wechatpay_keys().merchant_private_key,
        "WECHATPAY_APIV3_KEY": WECHATPAY_APIV3_KEY, "WECHATPAY_PUBLIC_KEY": wechatpay_keys().platform_public_key,
        "WECHATPAY_PUBLIC_KEY_ID": WECHATPAY_PUBLIC_KEY_ID,
    }


@pytest.fixture(scope="session")
def stub():
    with WeChatStub(dict([MINIPROGRAM, OFFICIAL_ACCOUNT]), pay=stub_pay_config()) as running:
        yield running


@pytest.fixture(scope="session")
def base_config(tmp_path_factory, stub) -> dict:
    return test_config(tmp_path_factory, stub.url)


@pytest.fixture(scope="session")
def app(base_config):
    app = create_app(base_config)
    with app.app_context():
        _drop_everything()
        upgrade(directory=str(ROOT / "migrations"))
    yield app
    with app.app_context():
        db.engine.dispose()


def _drop_everything() -> None:
    """Start from an empty database, also when a previous run on PostgreSQL was interrupted."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


@pytest.fixture(autouse=True)
def _clean(request, stub):
    """Every test starts with empty tables, an empty Redis and a fresh stub."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        _empty_tables()
        redis_client().flushdb()
    stub.reset()


def _empty_tables(attempts: int = 5) -> None:
    """Empty every table. A background thread of the test's app (the nearby index's rebuild) may still be
    reading the stores: PostgreSQL then picks the TRUNCATE as a deadlock's victim, and it is tried again."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    for attempt in range(attempts):
        try:
            with db.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                else:
                    for table in tables:
                        connection.execute(text(f"DELETE FROM {table}"))
            return
        except OperationalError as error:
            if attempt == attempts - 1 or "deadlock detected" not in str(error.orig):
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def live_server(app):
    """The session app served over real HTTP (threaded), for notifies and concurrency; its base URL."""
    server = make_server("127.0.0.1", LIVE_PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{LIVE_PORT}"
    server.shutdown()
    thread.join()


@pytest.fixture
def make_app(app, base_config):
    """Another app on the same database and Redis, with some settings changed (e.g. WeChat down).

    Flask-Limiter keeps one storage per process: the second app rebinds it until the test ends,
    so such a test must not point REDIS_URL elsewhere and still use the first app's client.
    """
    limiter_state = dict(vars(limiter))

    def build(**overrides) -> Flask:
        # The first app's Redis by its address: an embedded one would refuse an app on another database.
        return create_app({**base_config, "REDIS_URL": app.extensions["redis"].url, **overrides})

    yield build
    vars(limiter).update(limiter_state)


@pytest.fixture
def committed(app):
    """Run ``work()`` in an app context and commit; returns what it returned (plain values, not rows)."""

    def run(work):
        with app.app_context():
            result = work()
            db.session.commit()
            return result

    return run


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """Log a shopper in through the stub; returns the login response body (token, member, is_new)."""

    def login_as(code: str, scene: str | None = None) -> dict:
        body = {"code": code} if scene is None else {"code": code, "scene": scene}
        response = client.post("/api/v1/auth/wechat-login", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return login_as


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def staff_token(app, client):
    """Create a staff-side account with a role and log it in; returns its bearer headers."""
    counter = iter(range(1, 1000))

    def token_for(role: Role, store_ids: list[int] | None = None) -> dict:
        username = f"{role.value}-{next(counter)}"
        with app.app_context():
            create_staff(username=username, password=STAFF_PASSWORD, role=role, store_ids=store_ids)
            db.session.commit()
        response = client.post("/api/v1/auth/staff-login", json={"username": username, "password": STAFF_PASSWORD})
        assert response.status_code == 200, response.get_json()
        return bearer(response.get_json()["token"])

    return token_for
