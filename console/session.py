"""Who is logged in to the console: a signed session cookie naming a staff account, checked on every page.

The cookie holds the account's id, its token version (``tv``, as a bearer token does) and when the
session was last used. Every request reads the account's state from the database
(``shop.staff.queries.staff_token_state``, the check bearer tokens get), so a disabled account, a
changed role or a new password ends its console sessions at once, and a session left alone longer
than ``CONSOLE_IDLE_MINUTES`` ends at its next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import abort, current_app, g, redirect, request, session, url_for

from shop.auth import Principal, Role
from shop.staff.models import StaffAccount
from shop.staff.queries import staff_token_state

STAFF_ID, TOKEN_VERSION, LAST_SEEN = "staff_id", "tv", "seen"


def sign_in(account: StaffAccount) -> None:
    """Start a fresh session for the account (anything the cookie held before is dropped)."""
    session.clear()
    session[STAFF_ID], session[TOKEN_VERSION], session[LAST_SEEN] = account.id, account.token_version, int(time.time())
    session.permanent = False  # ends with the browser too


def sign_out() -> None:
    session.clear()


def signed_in() -> Principal | None:
    """The session's account as a principal if it still stands (active, same role and version, not idle)."""
    staff_id = session.get(STAFF_ID)
    if staff_id is None:
        return None
    idle_seconds = current_app.config["CONSOLE_IDLE_MINUTES"] * 60
    if time.time() - session.get(LAST_SEEN, 0) > idle_seconds:
        session.clear()
        g.console_idle = True
        return None
    state = staff_token_state(staff_id)
    if state is None or not state.active or state.token_version != session.get(TOKEN_VERSION):
        session.clear()
        return None
    session[LAST_SEEN] = int(time.time())
    return Principal(role=Role(state.role), staff_id=staff_id, store_ids=state.store_ids,
                     password_change_required=state.must_change_password)


def page_for(*roles: Role, roles_of: Callable[[], Iterable[Role]] | None = None) -> Callable:
    """Open the page (or action) only to these roles (or those ``roles_of`` gives when asked): others see 403; no
    session goes to the login page."""
    fixed = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            principal = signed_in()
            if principal is None:
                idle = 1 if g.get("console_idle") else None  # the login page says why
                login = url_for("console_auth.login", next=request.path, idle=idle)
                if request.headers.get("HX-Request"):  # a part of a page (a poll): the whole page goes to log in
                    return "", 204, {"HX-Redirect": login}
                return redirect(login)
            if principal.password_change_required:  # an admin set the password: the account chooses its own first
                return redirect(url_for("console_auth.password"))
            if principal.role not in (frozenset(roles_of()) if roles_of else fixed):
                abort(403)
            g.principal = principal  # what shop.auth.current_principal and the rate limits' keys read
            return view(*args, **kwargs)

        return wrapper

    return decorator


def landing_page(role: Role) -> str:
    """Where an account lands after login: the counter for a clerk, the console's start page for others."""
    return url_for("console_counter.counter") if role is Role.STAFF else url_for("console_home.home")
