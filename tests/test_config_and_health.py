"""Settings from the environment; the production profile refuses embedded defaults; probes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from crm.journey import partitions
from shop.config import ConfigError, load_config, settings_table
from shop.extensions import db

PRODUCTION_ENV = {
    "RIPPLE_ENV": "production",
    "SECRET_KEY": "q8Zr2xWfK4mPtY7vNc1LsB9dHe3Ju6Ga0RoT5kXw",
    "TRUSTED_PROXIES": "1",
    "DATABASE_URL": "postgresql+psycopg://ripple@db/ripple",
    "REDIS_URL": "redis://cache:6379/0",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "real-secret",
    "WECHAT_OA_APPID": "wxfedcba0987654321",
    "WECHAT_OA_SECRET": "real-oa-secret",
    "WECHAT_OA_TOKEN": "real-oa-token",
    "WECHATPAY_MCHID": "1230000109",
    "WECHATPAY_PRIVATE_KEY": "/etc/ripple/wechatpay/apiclient_key.pem",
    "WECHATPAY_CERT_SERIAL": "3775B6A45ACD588826D15E583A95F5DD2C1AAF6D",
    "WECHATPAY_APIV3_KEY": "a" * 32,
    "WECHATPAY_PUBLIC_KEY": "/etc/ripple/wechatpay/pub_key.pem",
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0112300001092025010100000000",
    "WECHATPAY_NOTIFY_URL": "https://shop.example.com/wechat/pay/notify",
}


def test_development_runs_on_embedded_defaults():
    config = load_config(environ={})
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["REDIS_URL"] is None
    assert config["WECHAT_API_BASE"] == "http://127.0.0.1:5001/"


def test_production_with_every_variable_set_loads_and_talks_to_real_wechat():
    config = load_config(environ=PRODUCTION_ENV)
    assert config["WECHAT_API_BASE"] == "https://api.weixin.qq.com/"
    assert config["JWT_SECRET_KEY"] == PRODUCTION_ENV["SECRET_KEY"]


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET",
                                     "WECHAT_OA_APPID", "WECHAT_OA_SECRET", "WECHAT_OA_TOKEN", "SECRET_KEY"])
def test_production_refuses_an_embedded_default_and_names_the_variable(missing):
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(environ=environ)


def test_production_refuses_sqlite_and_a_weak_secret():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config(environ={**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///x.db"})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(environ={**PRODUCTION_ENV, "SECRET_KEY": "short"})


def test_the_app_itself_refuses_to_start_in_production_on_defaults(monkeypatch):
    for name in PRODUCTION_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RIPPLE_ENV", "production")
    with pytest.raises(ConfigError, match="RIPPLE_ENV=production refuses"):
        create_app()


def test_a_malformed_number_or_profile_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="WECHAT_TIMEOUT_SECONDS"):
        load_config(environ={"WECHAT_TIMEOUT_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="RIPPLE_ENV"):
        load_config(environ={"RIPPLE_ENV": "staging"})


def test_the_migrations_build_exactly_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        # journey_events' monthly partitions (PostgreSQL) are the migration's and the job's, not the models'.
        opts = {"compare_type": True, "include_name": lambda name, kind, _parent: not (
            kind == "table" and partitions.is_partition(name))}
        differences = compare_metadata(MigrationContext.configure(connection, opts=opts), db.metadata)
    assert differences == []


def test_ci_runs_on_the_backend_it_asked_for(app):
    wanted = os.environ.get("TEST_DATABASE_URL", "sqlite")
    with app.app_context():
        assert wanted.startswith(db.engine.dialect.name)


def test_healthz_and_readyz_answer_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "serving": "ok",
                                                            "outbox": "ok"}}


def test_readyz_says_which_part_is_down(make_app):
    broken = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert response.get_json()["checks"] == {"database": "unavailable", "redis": "ok", "serving": "ok",
                                             "outbox": "unavailable"}


def test_with_rate_limits_turned_off_the_app_starts_and_limits_nothing(make_app):
    relaxed = make_app(RATELIMIT_ENABLED=False).test_client()
    body = {"username": "nobody", "password": "wrong-password"}
    statuses = [relaxed.post("/api/v1/auth/staff-login", json=body).status_code for _ in range(12)]
    assert statuses == [401] * 12  # the limit is 10 a minute when on


@pytest.mark.parametrize("key", ["dev-only-insecure-secret-change-me", "s" * 40, "changeme" * 5, "short-key"])
@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_a_guessable_signing_key(name, key):
    with pytest.raises(ConfigError, match=name):
        load_config(environ={**PRODUCTION_ENV, name: key})


@pytest.mark.parametrize("key", ["too-short", "c3R1Yi1vZmZpY2lhbC1hY2NvdW50LWFlcy1rZXktMzI" + "x",
                                 "!" * 43])
def test_an_encoding_aes_key_of_the_wrong_shape_is_refused_in_every_profile(key):
    for environ in ({}, PRODUCTION_ENV):
        with pytest.raises(ConfigError, match="WECHAT_OA_AES_KEY"):
            load_config(environ={**environ, "WECHAT_OA_AES_KEY": key})
    assert load_config(environ={"WECHAT_OA_AES_KEY": "c3R1Yi1vZmZpY2lhbC1hY2NvdW50LWFlcy1rZXktMzI"})


@pytest.mark.parametrize(("name", "value"), [
    ("WECHAT_API_BASE", "http://api.weixin.qq.com/"),
    ("WECHAT_API_BASE", "https://wechat.example.com/"),
    ("WECHATPAY_API_BASE", "http://127.0.0.1:5001"),
    ("WECHAT_SECRET", "stub-miniprogram-secret"),
    ("WECHATPAY_APIV3_KEY", "ripple-dev-apiv3-key-not-secret!"),
    ("RATELIMIT_ENABLED", "false"),
    ("WECHATPAY_NOTIFY_URL", "http://shop.example.com/wechat/pay/notify"),
])
def test_production_refuses_test_doubles_unless_they_are_acknowledged(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(environ={**PRODUCTION_ENV, name: value})
    assert load_config(environ={**PRODUCTION_ENV, name: value, "RIPPLE_TEST_DOUBLES": "acknowledged"})


def test_production_needs_the_proxies_in_front_declared_even_when_none():
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != "TRUSTED_PROXIES"}
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_config(environ=environ)
    assert load_config(environ={**environ, "TRUSTED_PROXIES": "0"})["TRUSTED_PROXIES"] == 0


def test_the_test_doubles_switch_takes_one_word_only():
    with pytest.raises(ConfigError, match="RIPPLE_TEST_DOUBLES"):
        load_config(environ={**PRODUCTION_ENV, "RIPPLE_TEST_DOUBLES": "yes"})


def test_a_production_app_on_test_doubles_warns_at_every_start(make_app, caplog):
    with caplog.at_level("WARNING", logger="ripple"):
        make_app(**{"RIPPLE_ENV": "production", "RIPPLE_TEST_DOUBLES": "acknowledged",
                    "TRUSTED_PROXIES": 0, "DATABASE_URL": os.environ.get("TEST_DATABASE_URL")
                    or "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    assert any("RIPPLE_TEST_DOUBLES=acknowledged" in record.getMessage() for record in caplog.records)


def test_the_stubs_own_entry_point_refuses_beside_production_unless_acknowledged():
    result = subprocess.run([sys.executable, "-m", "shop.wechat.stub", "--port", "0", "--app", "wxa=b"],
                            env={**os.environ, "RIPPLE_ENV": "production"}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "RIPPLE_TEST_DOUBLES=acknowledged" in result.stderr


def test_flask_commands_find_the_stub_that_make_run_started(tmp_path):
    (tmp_path / "wechat-stub.url").write_text("http://127.0.0.1:5077/\n")
    config = load_config(environ={"RIPPLE_INSTANCE_PATH": str(tmp_path)})
    assert config["WECHAT_API_BASE"] == "http://127.0.0.1:5077/"
    assert config["WECHATPAY_API_BASE"] == "http://127.0.0.1:5077"
    told = load_config(environ={"RIPPLE_INSTANCE_PATH": str(tmp_path), "WECHAT_STUB_PORT": "5099"})
    assert told["WECHAT_API_BASE"] == "http://127.0.0.1:5099/"
    assert load_config(environ={"RIPPLE_INSTANCE_PATH": str(tmp_path / "fresh")})["WECHAT_API_BASE"] == \
        "http://127.0.0.1:5001/"


def test_the_readme_configuration_table_is_the_one_generated_from_the_settings():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert settings_table() in readme, "regenerate it: flask --app app config-table"
