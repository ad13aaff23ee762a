"""Fixtures: the app's WeChat Pay gateway against the session stub, and a notify receiver over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shop.errors import AppError
from shop.wechat.pay import WeChatPayGateway
from tests.conftest import MINIPROGRAM

from .helpers import in_15_minutes, new_trade_no


@pytest.fixture
def pay(app) -> WeChatPayGateway:
    """The gateway create_app built."""
    return app.extensions["wechat_pay"]


@pytest.fixture
def make_gateway(app) -> Callable[..., WeChatPayGateway]:
    """A gateway on the app's settings with some changed (another key, a dead host, ...)."""
    return lambda **overrides: WeChatPayGateway.from_config({**app.config, **overrides})


@pytest.fixture
def openid(stub) -> str:
    return stub.openid_for("alice", MINIPROGRAM[0])


@pytest.fixture
def prepaid(pay, openid) -> Callable[..., tuple[str, str]]:
    """A new 18.00 yuan transaction: (out_trade_no, prepay_id)."""

    def create(gateway: WeChatPayGateway | None = None, amount_fen: int = 1800) -> tuple[str, str]:
        number = new_trade_no()
        prepay_id = (gateway or pay).prepay_jsapi(number, "Ripple latte", amount_fen, openid, in_15_minutes())
        return number, prepay_id

    return create


@pytest.fixture
def control(stub) -> Callable[..., requests.Response]:
    """Call a stub control endpoint under /stub/pay/ over HTTP, as tests in other processes would."""

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{stub.url}stub/pay/{path}", timeout=10, **kwargs)

    return call


class NotifyReceiver:
    """A tiny HTTP server standing in for our notify endpoint: parse_notify, then answer as WeChat expects."""

    def __init__(self, app, gateway: WeChatPayGateway) -> None:
        self.app, self.gateway = app, gateway
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.parsed: list[dict[str, Any]] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/wechat/pay/notify"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        headers, body = dict(request.headers), request.get_data()
        self.received.append((headers, body))
        with self.app.app_context():
            try:
                self.parsed.append(self.gateway.parse_notify(request.headers, body))
                response = Response(status=204)
            except AppError as error:  # WeChat Pay retries on any status but 200/204
                response = Response(json.dumps({"code": "FAIL", "message": error.message}), status=error.status,
                                    content_type="application/json")
        return response(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def receiver(app, pay) -> Iterator[NotifyReceiver]:
    running = NotifyReceiver(app, pay)
    yield running
    running.stop()
