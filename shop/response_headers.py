"""Headers every answer carries, so browsers and caches treat tokens, codes and the docs safely.

- ``X-Content-Type-Options: nosniff`` everywhere: a JSON answer is never run as a script or page.
- ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``: no page of ours (the docs, later the
  console) can be framed by another site to trick a click.
- ``Cache-Control: no-store`` on the answers that carry tokens, codes or a person's data: every
  answer to a request with credentials, and the logins (their answer is a token). A view that set its
  own ``Cache-Control`` (a private poster image) keeps it; public reads (catalogue, stores) stay
  cacheable.
"""

from __future__ import annotations

from flask import Flask, Response, request

TOKEN_ANSWERS = "/api/v1/auth/"  # noqa: S105 - a path prefix, not a secret


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    if "Cache-Control" not in headers and _carries_credentials():
        headers["Cache-Control"] = "no-store"
    return response


def _carries_credentials() -> bool:
    return ("Authorization" in request.headers or "Cookie" in request.headers
            or request.path.startswith(TOKEN_ANSWERS))


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
