"""Optional Sentry: with SENTRY_DSN set, an unhandled error reaches the Sentry server (here a local HTTP
server standing in for it) scrubbed and tagged with the request id; unset, the SDK is not even imported."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import ROOT
from shop.request_log import configure_logging

PHONE = "13912345678"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLWJ5dGVz"
PICKUP_CODE, PASSWORD = "pickup-4821", "pw-1x"


class SentryStandIn(BaseHTTPRequestHandler):
    """Takes Sentry envelopes (POST /api/<project>/envelope/) and keeps their items."""

    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # sentry-sdk prefers brotli when the package is there (locust brings it)
            import brotli  # noqa: PLC0415 - only then

            body = brotli.decompress(body)
        for line in body.splitlines()[1:]:  # the envelope's header, then item headers and payloads
            item = json.loads(line)
            if "exception" in item or "message" in item or "logentry" in item:
                self.received.append(item)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def broken():
    """A view with a bug: Sentry sends its frames with their local variables and source lines."""
    token = JWT
    raise RuntimeError(f"could not reach {PHONE} with {token}")


@pytest.fixture
def sentry_server():
    SentryStandIn.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://public-key@127.0.0.1:{server.server_address[1]}/1", SentryStandIn.received
    server.shutdown()
    thread.join()
    server.server_close()


def test_an_unhandled_error_reaches_sentry_scrubbed_and_tagged_with_the_request_id(app, make_app, sentry_server):
    import sentry_sdk

    dsn, received = sentry_server
    sentry_app = make_app(SENTRY_DSN=dsn)
    try:
        sentry_app.add_url_rule("/broken-for-sentry", "broken_for_sentry", broken, methods=["POST"])
        answer = sentry_app.test_client().post("/broken-for-sentry", json={"code": PICKUP_CODE, "password": PASSWORD},
                                               headers={"X-Request-ID": "sentry-trace-0001",
                                                        "Authorization": f"Bearer {JWT}"})
        assert answer.status_code == 500
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        configure_logging(app.config)
    assert received, "no event reached the Sentry server"
    sent = json.dumps(received)
    assert [secret for secret in (PHONE, JWT, PICKUP_CODE, PASSWORD) if secret in sent] == []
    assert "[scrubbed]" in sent and "RuntimeError" in sent
    assert {event["tags"]["request_id"] for event in received} == {"sentry-trace-0001"}
    assert all("user" not in event or "ip_address" not in event["user"] for event in received)


def test_without_a_dsn_the_sdk_is_not_imported():
    probe = ("import sys; from flask import Flask; from shop.sentry import init_sentry; app = Flask('probe'); "
             "app.config['SENTRY_DSN'] = ''; init_sentry(app); print('sentry_sdk' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    assert result.stdout.strip() == "False"
