"""Rate limits: whom each limit counts (its key) and how many it allows (a RATE_LIMIT_* setting).

Shoppers are counted as members, and at login as the openid WeChat names for the code: a carrier's
NAT or a mall's Wi-Fi puts thousands of phones behind one address, so a limit per address alone
would refuse a crowd for what one of them did. Per-address limits stay only as a high ceiling
against floods. Every limit is read from the app's config at each request, so a load test from one
address can raise the ceilings (and tests can lower them). While Redis is away the limits count in
each process's memory (Flask-Limiter's fallback): they fail open to a bound, never closed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import current_app, g, jsonify
from flask.wrappers import Response
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from shop.auth import current_member_id, current_principal
from shop.errors import ErrorCode, error_body
from shop.extensions import limiter

SHOPPER_CEILING = "RATE_LIMIT_SHOPPER_PER_ADDRESS"


def setting(name: str) -> Callable[[], str]:
    """The limit in setting ``name`` of the current app, read when a request is counted."""
    def limit() -> str:
        return current_app.config[name]

    return limit


def per_address() -> str:
    """The client address (the proxies' X-Forwarded-For when TRUSTED_PROXIES says there are some)."""
    return f"address:{get_remote_address()}"


def per_member() -> str:
    return f"member:{current_member_id()}"


def per_staff() -> str:
    return f"staff:{current_principal().staff_id}"


def per_clerk_store(named_store_id: object = None) -> str:
    """The store a clerk works for in this request: the one named (if theirs), else their only store.

    A clerk of several stores who names none is counted on their own bucket: the store is unknown.
    """
    principal = current_principal()
    if named_store_id is None and len(principal.store_ids) == 1:
        named_store_id = principal.store_ids[0]
    return f"store:{named_store_id}" if named_store_id in principal.store_ids else f"staff:{principal.staff_id}"


def refusing_with(code: ErrorCode, message: str) -> Callable[[RequestLimit], Response]:
    """``on_breach`` for a limit that answers with a domain's own 429 code (with Retry-After) instead of ``rate_limited``.

    It returns the answer rather than raising: Flask-Limiter takes an exception from a limit's check
    for its storage failing and would fall back to counting in memory.
    """
    def refuse(breached: RequestLimit) -> Response:
        response = jsonify(error_body(code, message))
        response.status_code = code.status
        response.headers["Retry-After"] = str(max(1, math.ceil(breached.reset_at - time.time())))
        return response

    return refuse


def per_login_openid() -> str:
    return f"openid:{g.login_openid}"


def per_address_limit(name: str) -> Callable:
    """Decorator: the limit in setting ``name`` per client address (for those who are not shoppers, and ceilings)."""
    return limiter.limit(setting(name), key_func=per_address)


def staff_login_limit(*, on_breach: Callable | None = None) -> Callable:
    """Decorator: ``RATE_LIMIT_STAFF_LOGIN_PER_ADDRESS`` per client address, one count for every staff login
    form (the API's and the console's): a guesser gets the allowance once, whichever door they use."""
    return limiter.shared_limit(setting("RATE_LIMIT_STAFF_LOGIN_PER_ADDRESS"), scope="staff-login",
                                key_func=per_address, methods=["POST"], on_breach=on_breach)


def per_member_under_ceiling(member_limit: str, *,
                             deduct_when: Callable[[Response], bool] | None = None) -> Callable:
    """Decorator for a shopper endpoint: ``member_limit`` (a setting) per member, and the per-address ceiling.

    ``deduct_when`` (given the response) decides whether a request counts against the member's limit
    (e.g. only failed guesses); the ceiling counts every request. Put it below ``roles_required``.
    """
    per_member_limit = limiter.limit(setting(member_limit), key_func=per_member, deduct_when=deduct_when)
    ceiling = per_address_limit(SHOPPER_CEILING)

    def decorate(view: Callable) -> Callable:
        return per_member_limit(ceiling(view))

    return decorate


# Checked inside the login view once code2session has named the shopper (Flask-Limiter's limit used
# as a context manager: its storage, its in-memory fallback and its Retry-After headers).
_LOGINS_PER_OPENID = limiter.limit(setting("RATE_LIMIT_LOGIN_PER_OPENID"), key_func=per_login_openid)


def count_login(openid: str) -> None:
    """Count a WeChat login of ``openid``; past RATE_LIMIT_LOGIN_PER_OPENID, 429 ``rate_limited``."""
    g.login_openid = openid
    with _LOGINS_PER_OPENID:
        pass
