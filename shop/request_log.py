"""Logs: one line per request and one per event the code logs, as JSON (production) or readable text.

Every line written while a request is handled carries its request id, and the member's or staff
account's id once the request has been authorised. The request id is the client's (or nginx's)
``X-Request-ID`` when it looks like one (deploy/nginx.conf keeps the same rule), else a new one; every
answer carries it back, errors included. Lines go to standard error, where gunicorn writes its own and
a container runtime collects both. Secrets are scrubbed as each line is formatted (shop/log_scrubbing.py).
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.orjson import OrjsonFormatter

from shop.log_scrubbing import scrub, scrub_text

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")  # as deploy/nginx.conf's map: bounded, no spaces or quotes
LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

request_log = logging.getLogger("ripple.request")


def request_id() -> str:
    """This request's id: the one it was sent with when sane, else a new one (kept for the request)."""
    known = g.get("request_id")
    if known is None:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        known = g.request_id = sent if SANE_REQUEST_ID.fullmatch(sent) else secrets.token_hex(16)
    return known


class RequestContext(logging.Filter):
    """Adds the request id and who is calling to every record written while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request_id()
            principal = g.get("principal")
            if principal is not None:
                if principal.member_id is not None:
                    record.member_id = principal.member_id
                if principal.staff_id is not None:
                    record.staff_id = principal.staff_id
        return True


class JsonLogFormatter(OrjsonFormatter):
    """One JSON object a line: time, level, logger, message, then the record's extra fields, scrubbed."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return scrub({"time": log_data.pop("time"), **log_data})


class TextLogFormatter(logging.Formatter):
    """A readable line for a developer's terminal (``python app.py``), scrubbed as the JSON one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        return scrub_text(super().format(record))


class StandardErrorHandler(logging.StreamHandler):
    """Writes to the process's standard error (file descriptor 2), never to a ``sys.stderr`` swapped in
    for a while: a command's own output, captured by click's runner or piped by an operator, stays its
    own, and whatever holds descriptor 2 (a terminal, gunicorn, a container runtime, a test's capture)
    gets the lines."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestContext())

    @property
    def stream(self):
        return sys.__stderr__ or sys.stderr  # __stderr__ is None only without a console (pythonw)

    @stream.setter
    def stream(self, value) -> None:
        pass  # always descriptor 2


def configure_logging(config: Mapping[str, Any]) -> None:
    """The root logger writes through one handler of ours, in the configured format and level.

    Building the app again (tests, tools) replaces its format rather than adding a second handler.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StandardErrorHandler)), None)
    if handler is None:
        handler = StandardErrorHandler()
        root.addHandler(handler)
    handler.setFormatter(JsonLogFormatter() if config["LOG_FORMAT"] == "json" else TextLogFormatter())
    root.setLevel(config["LOG_LEVEL"])
    # Our request line replaces the development server's own (which would also write query strings).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _start() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    if request_log.isEnabledFor(logging.INFO):
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
        rule = request.url_rule.rule if request.url_rule is not None else None
        request_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "rule": rule, "status": response.status_code,
            "duration_ms": duration_ms, "client_addr": request.remote_addr})
    return response


def init_app(app: Flask) -> None:
    """Logging as configured; the request id and the request line around every request.

    The hooks go first in their lists: the id exists before any other hook may log, and the request
    line is written after every other after-request hook has settled the answer.
    """
    configure_logging(app.config)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)  # after-request hooks run last-first
