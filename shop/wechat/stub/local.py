"""The stub beside an app on one machine: `python app.py` starts it, `flask wechat-stub` runs it standalone."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import current_app

from shop.config import (
    DEVELOPMENT,
    PRODUCTION,
    STUB_URL_FILE,
    ConfigError,
    test_doubles_acknowledged,
)
from shop.wechat.pay import prepare_dev_keys, stub_pay_config
from shop.wechat.stub.server import WeChatStub, run_forever


def stub_for(config: Mapping[str, Any]) -> WeChatStub:
    """A stub that knows this app's mini-program, official account and (development keys) WeChat Pay merchant."""
    return WeChatStub({config["WECHAT_APPID"]: config["WECHAT_SECRET"],
                       config["WECHAT_OA_APPID"]: config["WECHAT_OA_SECRET"]}, pay=stub_pay_config(config))


def start_stub(config: Mapping[str, Any]) -> str | None:
    """Start the WeChat stub in development and note its URL in the instance folder, where this app and
    `flask` commands of the instance find it.

    On WECHAT_STUB_PORT when set; unset, on 5001, or on a free port when 5001 is taken (another
    instance's stub), so instances side by side need no port of their own for it.
    """
    if config["RIPPLE_ENV"] != DEVELOPMENT or not config["WECHAT_API_BASE"].startswith("http://127.0.0.1:"):
        return None
    port = config["WECHAT_STUB_PORT"]
    if not _port_free(port):
        if "WECHAT_STUB_PORT" not in config["EMBEDDED_OPTIONAL"]:
            raise ConfigError(f"WECHAT_STUB_PORT {port} is in use (another instance's WeChat stub?): "
                              "choose a free port, or leave it unset for any free one")
        port = 0
    prepare_dev_keys(config)  # a fresh instance's: the stub signs as WeChat Pay with them
    url = stub_for(config).start("127.0.0.1", port)
    instance = Path(config["RIPPLE_INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    (instance / STUB_URL_FILE).write_text(url)
    return url


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the stub's server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@click.command("wechat-stub")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: WECHAT_STUB_PORT.")
def wechat_stub(host: str, port: int | None) -> None:
    """Run the WeChat stub standalone, knowing this app's mini-program and official account."""
    config = current_app.config
    if config["RIPPLE_ENV"] == PRODUCTION and not test_doubles_acknowledged(config):
        raise click.ClickException("the WeChat stub runs beside the production profile only with "
                                   "RIPPLE_TEST_DOUBLES=acknowledged")
    click.echo("WeChat stub (Ctrl-C stops it):")
    run_forever(stub_for(config), host, port or config["WECHAT_STUB_PORT"])
