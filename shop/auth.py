"""Bearer tokens and roles.

A token's subject is ``member:<id>`` for shoppers and ``staff:<id>`` for staff, marketing and admin
accounts; its ``role`` claim says which. Every token carries its account's token version (``tv``) and is
checked against the account on every request, by one primary-key read in the database
(``shop.staff.queries``, ``shop.members.queries``; no Redis: nothing a cache could hold stale): a
disabled staff account, a changed role or a new password, or a deleted member (each raises the
version) ends the account's tokens at once, and a change of stores applies to the next request.

One shopper view may check the version late (``late_account_check``): the flash claim, whose most
answers are "sold out" from Redis alone, about the batch and nothing of the member. It reads the version
in the coupon's own write transaction (``confirm_account``), and whatever such a view answers with
success is checked before it leaves; only its refusals go out unchecked.

flask-jwt-extended issues the tokens (its settings: ``JWT_SECRET_KEY``, ``JWT_ALGORITHM``,
``JWT_DECODE_LEEWAY``); a request's token is verified here by one PyJWT decode with those settings.
flask-jwt-extended's own ``verify_jwt_in_request`` parses a token four times (the claims and the
header unverified, twice, then verified), and PyJWT since 2.14 checks every character of each part
in Python: 260 µs of CPU per authenticated request, against 70 µs for the one decode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from functools import wraps
from typing import Any

import jwt as pyjwt
from flask import current_app, g, request
from flask_jwt_extended import create_access_token
from flask_smorest import Blueprint
from sqlalchemy import Connection

from shop.errors import AppError, CommonError, error_doc
from shop.members.queries import member_token_version
from shop.staff.errors import StaffError
from shop.staff.models import StaffAccount
from shop.staff.queries import staff_token_state


class Role(StrEnum):
    SHOPPER = "shopper"
    STAFF = "staff"
    MARKETING = "marketing"
    ADMIN = "admin"


STAFF_SIDE_ROLES = frozenset({Role.STAFF, Role.MARKETING, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    role: Role
    member_id: int | None = None
    staff_id: int | None = None
    store_ids: tuple[int, ...] = field(default_factory=tuple)
    password_change_required: bool = False
    unchecked_version: int | None = None  # a shopper token's version not yet compared with the member's


def issue_shopper_token(member_id: int) -> str:
    """A shopper token carrying the member's token version: deleting the account raises it (ends its tokens)."""
    return create_access_token(
        identity=f"member:{member_id}",
        additional_claims={"role": Role.SHOPPER.value, "tv": member_token_version(member_id)},
        expires_delta=timedelta(seconds=current_app.config["JWT_SHOPPER_EXPIRES_SECONDS"]))


def issue_staff_token(account: StaffAccount) -> str:
    return create_access_token(
        identity=f"staff:{account.id}", additional_claims={"role": account.role, "tv": account.token_version},
        expires_delta=timedelta(seconds=current_app.config["JWT_STAFF_EXPIRES_SECONDS"]))


def _bearer_claims() -> dict[str, Any]:
    """The verified claims of the request's ``Authorization: Bearer`` token; 401 with why not."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AppError(CommonError.TOKEN_MISSING, "Log in first: send 'Authorization: Bearer <token>'.")
    config = current_app.config
    try:
        claims = pyjwt.decode(token, config["JWT_SECRET_KEY"], algorithms=[config["JWT_ALGORITHM"]],
                              leeway=config["JWT_DECODE_LEEWAY"], options={"require": ["exp", "sub"]})
    except pyjwt.ExpiredSignatureError:
        raise AppError(CommonError.TOKEN_EXPIRED, "The token has expired; log in again.") from None
    except pyjwt.InvalidTokenError as error:
        raise AppError(CommonError.TOKEN_INVALID, f"The token is invalid: {error}.") from None
    if claims.get("type", "access") != "access":  # flask-jwt-extended's refresh tokens open nothing here
        raise AppError(CommonError.TOKEN_INVALID, "The token is invalid: not an access token.")
    return claims


def _principal_from_token(late_account_check: bool = False) -> Principal:
    claims = _bearer_claims()
    kind, _, raw_id = str(claims.get("sub", "")).partition(":")
    try:
        role, subject_id = Role(claims.get("role")), int(raw_id)
    except (ValueError, TypeError):
        raise AppError(CommonError.TOKEN_INVALID, "The token is not one of ours.") from None
    if role is Role.SHOPPER and kind == "member":
        # A token from before token versions has none: version 0, what every member starts with.
        principal = Principal(role=role, member_id=subject_id, unchecked_version=claims.get("tv", 0))
        return principal if late_account_check else _checked(principal)
    if role in STAFF_SIDE_ROLES and kind == "staff":
        state = staff_token_state(subject_id)
        if (state is None or not state.active or state.role != role
                or claims.get("tv") != state.token_version):
            raise AppError(CommonError.TOKEN_INVALID, "This account is disabled or has changed; log in again.")
        return Principal(role=role, staff_id=subject_id, store_ids=state.store_ids,
                         password_change_required=state.must_change_password)
    raise AppError(CommonError.TOKEN_INVALID, "The token is not one of ours.")


def _checked(principal: Principal, connection: Connection | None = None) -> Principal:
    """The shopper's principal once its token's version is the member's (401 if the account was deleted)."""
    if principal.unchecked_version is None:
        return principal
    if principal.unchecked_version != member_token_version(principal.member_id, connection):
        raise AppError(CommonError.TOKEN_INVALID, "This account was deleted; log in again.")
    return replace(principal, unchecked_version=None)


def confirm_account(connection: Connection | None = None) -> None:
    """Check the calling shopper's token version now, on ``connection`` if given (``late_account_check``)."""
    g.principal = _checked(g.principal, connection)


def roles_required(*roles: Role, before_password_change: bool = False, late_account_check: bool = False) -> Callable:
    """Let only these roles call the view; documents the roles and the bearer scheme in OpenAPI.

    An account whose password an admin set must change it first: only views with
    ``before_password_change`` open to it until then. ``late_account_check``: see the module's docstring.
    """
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            principal = authorize(allowed, names, late_account_check=late_account_check)
            if principal.password_change_required and not before_password_change:
                raise AppError(StaffError.PASSWORD_CHANGE_REQUIRED, "Choose a new password first: "
                               "POST /api/v1/staff/password with the current one and a new one.")
            answer = view(*args, **kwargs)
            confirm_account()  # a no-op unless checked late and not yet: nothing leaves unchecked
            return answer

        refusals = error_doc(*_refusals(allowed, before_password_change))
        documented = Blueprint.doc(security=[{"bearerAuth": []}], **refusals)(wrapper)
        documented._apidoc["manual_doc"]["x-roles"] = sorted(r.value for r in allowed)
        documented.roles_required = allowed
        return documented

    return decorator


def _refusals(allowed: frozenset[Role], before_password_change: bool) -> tuple:
    """The codes ``roles_required`` answers before the view runs, for the view's OpenAPI."""
    codes = (CommonError.TOKEN_MISSING, CommonError.TOKEN_INVALID, CommonError.TOKEN_EXPIRED, CommonError.FORBIDDEN)
    if allowed & STAFF_SIDE_ROLES and not before_password_change:
        codes += (StaffError.PASSWORD_CHANGE_REQUIRED,)
    return codes


def authorize(allowed: frozenset[Role], names: str | None = None, *, late_account_check: bool = False) -> Principal:
    """The request's principal if its role is one of ``allowed`` (401 without a valid token, else 403)."""
    principal = _principal_from_token(late_account_check)
    if principal.role not in allowed:
        names = names or ", ".join(sorted(r.value for r in allowed))
        raise AppError(CommonError.FORBIDDEN, f"This needs one of the roles: {names}.")
    g.principal = principal
    return principal


def current_principal() -> Principal:
    return g.principal


def current_member_id() -> int:
    """The calling shopper's member id (inside a shopper-only view)."""
    member_id = g.principal.member_id
    if member_id is None:
        raise AppError(CommonError.FORBIDDEN, "Only shoppers have this.")
    return member_id
