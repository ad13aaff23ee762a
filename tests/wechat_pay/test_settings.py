"""WeChat Pay settings: production needs the merchant's own; development generates a throwaway set once."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask

from shop.config import ConfigError, load_config
from shop.wechat.pay import (
    WeChatPayGateway,
    dev_keys_dir,
    ensure_dev_keys,
    init_wechat_pay,
    stub_pay_config,
)
from shop.wechat.stub.local import stub_for as _stub_for
from tests.test_config_and_health import PRODUCTION_ENV

from .helpers import new_trade_no

PAY_SETTINGS = ["WECHATPAY_MCHID", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_CERT_SERIAL", "WECHATPAY_APIV3_KEY",
                "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID", "WECHATPAY_NOTIFY_URL"]


@pytest.mark.parametrize("missing", PAY_SETTINGS)
def test_production_refuses_to_start_without_each_merchant_setting(missing):
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(environ=environ)


def test_production_talks_to_real_wechat_pay_and_wants_an_https_notify_url():
    assert load_config(environ=PRODUCTION_ENV)["WECHATPAY_API_BASE"] == "https://api.mch.weixin.qq.com"
    with pytest.raises(ConfigError, match="WECHATPAY_NOTIFY_URL"):
        load_config(environ={**PRODUCTION_ENV, "WECHATPAY_NOTIFY_URL": "http://shop.example.com/wechat/pay/notify"})


def test_development_points_at_the_stub_and_our_local_notify_url(monkeypatch):
    monkeypatch.setenv("PORT", "5055")
    config = load_config(environ={"WECHAT_STUB_PORT": "5077"})
    assert config["WECHATPAY_API_BASE"] == "http://127.0.0.1:5077"
    assert config["WECHATPAY_NOTIFY_URL"] == "http://127.0.0.1:5055/wechat/pay/notify"


def _dev_app(instance) -> Flask:
    app = Flask("dev")
    app.config.update(load_config(environ={}, overrides={"RIPPLE_INSTANCE_PATH": str(instance)}))
    return app


def test_development_generates_its_keys_once_and_keeps_them(tmp_path):
    app = _dev_app(tmp_path)
    init_wechat_pay(app)
    directory = dev_keys_dir(app.config)
    assert directory == tmp_path / "wechatpay-dev"
    first = ensure_dev_keys(directory)
    assert stat.S_IMODE((directory / "merchant_private_key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "platform_private_key.pem").stat().st_mode) == 0o600

    init_wechat_pay(_dev_app(tmp_path))  # a second start (or another process) reuses them

    assert ensure_dev_keys(directory) == first
    assert first.merchant_private_key != first.platform_private_key


def test_the_development_stub_and_app_share_the_keys_so_the_journey_runs_offline(tmp_path):
    # What `python app.py` does: the app on the embedded defaults, the stub from _stub_for(config).
    app = _dev_app(tmp_path)
    init_wechat_pay(app)
    with _stub_for(app.config) as stub:
        gateway = WeChatPayGateway.from_config({**app.config, "WECHATPAY_API_BASE": stub.url})
        shopper = stub.openid_for("alice", app.config["WECHAT_APPID"])
        number = new_trade_no()
        prepay_id = gateway.prepay_jsapi(number, "Ripple latte", 1800, shopper,
                                         datetime.now(UTC) + timedelta(minutes=15))
        paid = requests.post(f"{stub.url}stub/pay/{prepay_id}/confirm", json={"deliver": "never"}, timeout=5)
        notify = paid.json()["notify"]

        assert gateway.parse_notify(notify["headers"], notify["body"].encode())["resource"]["trade_state"] == "SUCCESS"
        assert gateway.query_by_out_trade_no(number)["trade_state"] == "SUCCESS"


def test_the_stub_gets_no_merchant_when_the_wechat_pay_key_is_not_the_development_one(tmp_path, app):
    dev = _dev_app(tmp_path)
    init_wechat_pay(dev)
    assert stub_pay_config(dev.config) is not None
    # A real (or any other) WeChat Pay public key: nobody here can sign as that WeChat Pay.
    assert stub_pay_config({**dev.config, "WECHATPAY_PUBLIC_KEY": app.config["WECHATPAY_PUBLIC_KEY"]}) is None


@pytest.mark.parametrize("setting, value", [
    ("WECHATPAY_PRIVATE_KEY", "/nonexistent/apiclient_key.pem"),
    ("WECHATPAY_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"),
    ("WECHATPAY_PUBLIC_KEY", "/nonexistent/pub_key.pem"),
    ("WECHATPAY_APIV3_KEY", "31-characters-is-one-too-few-!!"),
])
def test_a_broken_key_setting_stops_the_start_and_names_the_variable(app, setting, value):
    with pytest.raises(ConfigError, match=setting):
        WeChatPayGateway.from_config({**app.config, setting: value})


def test_a_key_file_path_works_as_well_as_pem_text(app, tmp_path):
    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_text(app.config["WECHATPAY_PRIVATE_KEY"])
    gateway = WeChatPayGateway.from_config({**app.config, "WECHATPAY_PRIVATE_KEY": str(key_file)})
    assert gateway.query_by_out_trade_no(new_trade_no()) is None  # signed well enough for the stub
