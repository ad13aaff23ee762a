"""The WeChat stub server: a Flask app per stub, served from a background thread."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from shop.config import PRODUCTION, test_doubles_acknowledged

from . import (
    access_token,
    bills,
    content_security,
    control,
    miniprogram,
    official_account,
    pay,
    shipping,
    subscribe_messages,
)
from .pay import PayConfig
from .protocol import ErrCode, WeChatError, current_stub
from .state import StubState

# One blueprint per WeChat product.
PRODUCT_BLUEPRINTS = (access_token.bp, miniprogram.bp, official_account.bp, pay.bp, bills.bp, content_security.bp,
                      shipping.bp, shipping.control_bp, subscribe_messages.bp, subscribe_messages.control_bp)


def create_app(stub: StubState) -> Flask:
    """A Flask app speaking WeChat's HTTP protocol over `stub`'s state."""
    app = Flask(__name__)
    app.extensions["wechat_stub"] = stub
    for blueprint in PRODUCT_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(control.bp)
    app.before_request(_record)
    app.register_error_handler(WeChatError, _wechat_error)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _record() -> None:
    """Record every WeChat request (not the control ones) for tests to inspect."""
    if request.path.startswith("/stub/"):
        return
    current_stub().record(
        {
            "method": request.method,
            "path": request.path.lstrip("/"),
            "args": request.args.to_dict(),
            "json": _parse_json(request.get_data()),
        }
    )


def _parse_json(data: bytes) -> Any:
    """The body as JSON, or None when empty or not JSON."""
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _wechat_error(error: WeChatError) -> Response:
    """WeChat reports errors in an HTTP 200 JSON body."""
    return Response(json.dumps(error.body()), status=200, mimetype="application/json")


def _http_error(error: HTTPException) -> Response:
    """Unknown paths and methods answer JSON too, never an HTML page."""
    body = {"errcode": int(ErrCode.SYSTEM_ERROR), "errmsg": f"{error.code} {error.name}"}
    return Response(json.dumps(body), status=error.code or 500, mimetype="application/json")


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1, so clients keep their connection open between calls, as they do with WeChat's servers."""

    protocol_version = "HTTP/1.1"


class _QuietHandler(_KeepAliveHandler):
    """A request handler that does not log every request."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class WeChatStub(StubState):
    """A WeChat API server for offline runs: state, a Flask app, and a background thread."""

    def __init__(self, apps: dict[str, str], pay: PayConfig | None = None) -> None:
        super().__init__(apps, pay)
        self.app = create_app(self)
        self.url: str | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0, *, log_requests: bool = False) -> str:
        """Serve in a daemon thread (port 0 picks a free port); return the base URL."""
        if self._server is not None:
            raise RuntimeError("the WeChat stub is already running")
        handler = _KeepAliveHandler if log_requests else _QuietHandler
        self._server = make_server(host, port, self.app, threaded=True, request_handler=handler)
        # A short poll interval keeps stop() quick; tests start and stop stubs often.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="wechat-stub", daemon=True
        )
        self._thread.start()
        self.url = f"http://{host}:{self._server.server_port}/"
        return self.url

    def stop(self) -> None:
        """Stop serving and free the port; a stopped stub can start again."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None
        self.url = None

    def __enter__(self) -> WeChatStub:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_forever(stub: WeChatStub, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve `stub` until interrupted, printing its URL first (for CLIs)."""
    done = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # Supervisors and subprocess.terminate() send SIGTERM: stop cleanly as on Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(stub.start(host, port, log_requests=True), flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()


def parse_apps(pairs: Sequence[str]) -> dict[str, str]:
    """Parse 'appid=secret' pairs into a mapping."""
    apps = {}
    for pair in pairs:
        appid, sep, secret = pair.partition("=")
        if not sep or not appid or not secret:
            raise ValueError(f"expected APPID=SECRET, got {pair!r}")
        apps[appid] = secret
    return apps


def refused_beside_production(environ: Mapping[str, str]) -> bool:
    """A stub must not answer for WeChat where the production profile runs, unless test doubles are acknowledged."""
    return environ.get("RIPPLE_ENV") == PRODUCTION and not test_doubles_acknowledged(environ)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: python -m shop.wechat.stub --port 5001 --app wxAPPID=SECRET ..."""
    parser = argparse.ArgumentParser(
        prog="python -m shop.wechat.stub", description="Serve a stub of WeChat's HTTP API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001, help="0 picks a free port")
    parser.add_argument(
        "--app", action="append", default=[], metavar="APPID=SECRET", help="repeat for each app"
    )
    args = parser.parse_args(argv)
    if refused_beside_production(os.environ):
        parser.exit(2, "python -m shop.wechat.stub: RIPPLE_ENV=production; the stub runs beside the production "
                       "profile only with RIPPLE_TEST_DOUBLES=acknowledged\n")
    try:
        apps = parse_apps(args.app)
    except ValueError as error:
        parser.error(str(error))
    if not apps:
        parser.error("give at least one --app APPID=SECRET")
    run_forever(WeChatStub(apps), args.host, args.port)


if __name__ == "__main__":
    main()
