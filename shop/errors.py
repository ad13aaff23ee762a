"""One JSON error shape for every failure: {"code", "message", "errors"?, "details"?}.

Each domain declares its codes as an ``ErrorCode`` enum (code and HTTP status together), so the
mini-program can branch on ``code`` and the status is never chosen at the raise site. The OpenAPI
spec takes its error responses from the same members: a view names the codes it answers with
``@raises(...)`` (``roles_required`` adds its 401/403 ones, ``@blp.arguments`` the 422
``validation_error``), and ``ErrorResponses`` groups them by status.

A database or Redis error that says the part is down (shop/dependencies.py) is 503
``service_unavailable`` with Retry-After and one log line per outage; any other is a bug: 500 with
its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, Response, request
from flask_smorest import Blueprint
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shop.dependencies import down_dependency, outages
from shop.extensions import db
from shop.redis_connections import REDIS_ERRORS

log = logging.getLogger(__name__)
MAX_ERRORS_SHOWN = 20  # a list of 450,000 bad elements once answered 20 MB of errors
RETRY_AFTER_SECONDS = 5  # what a client waits before retrying when a dependency is down or we are not ready


class ErrorCode(StrEnum):
    """Base for error enums: each member is ("machine_code", http_status)."""

    def __new__(cls, code: str, status: int):
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        return member

    def __str__(self) -> str:
        return self.value


class CommonError(ErrorCode):
    BAD_REQUEST = ("bad_request", 400)
    UNAUTHORIZED = ("unauthorized", 401)
    TOKEN_MISSING = ("token_missing", 401)
    TOKEN_INVALID = ("token_invalid", 401)
    TOKEN_EXPIRED = ("token_expired", 401)
    FORBIDDEN = ("forbidden", 403)
    NOT_FOUND = ("not_found", 404)
    METHOD_NOT_ALLOWED = ("method_not_allowed", 405)
    CONFLICT = ("conflict", 409)
    PAYLOAD_TOO_LARGE = ("payload_too_large", 413)
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type", 415)
    VALIDATION_ERROR = ("validation_error", 422)
    RATE_LIMITED = ("rate_limited", 429)
    INTERNAL_ERROR = ("internal_error", 500)
    SERVICE_UNAVAILABLE = ("service_unavailable", 503)


# The generic code of each status, for HTTP errors raised without one of ours (abort, werkzeug, webargs).
_CODE_BY_STATUS = {code.status: code for code in (
    CommonError.BAD_REQUEST, CommonError.UNAUTHORIZED, CommonError.FORBIDDEN, CommonError.NOT_FOUND,
    CommonError.METHOD_NOT_ALLOWED, CommonError.CONFLICT, CommonError.PAYLOAD_TOO_LARGE,
    CommonError.UNSUPPORTED_MEDIA_TYPE, CommonError.VALIDATION_ERROR, CommonError.RATE_LIMITED,
    CommonError.INTERNAL_ERROR, CommonError.SERVICE_UNAVAILABLE)}


class ErrorSchema(ma.Schema):
    """The error body, for the OpenAPI spec."""

    code = ma.fields.String(required=True, metadata={"description": "Stable machine code"})
    message = ma.fields.String(required=True, metadata={"description": "Human-readable message"})
    errors = ma.fields.Dict(metadata={"description": "Per-field messages, for invalid input (the first 20 "
                                                     "fields; list elements by index)"})
    errors_total = ma.fields.Integer(metadata={"description": "How many fields had errors, when more than "
                                                             "`errors` shows"})
    details = ma.fields.Dict(metadata={"description": "Facts about the refusal a client may act on; their keys "
                                                      "are documented with the codes that carry them"})


ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/Error"}  # ErrorSchema, as RippleApi names it
ERRORS_DOC_KEY = "x-errors"  # an operation's codes while the spec is built; ErrorResponses turns them into responses


def raises(*codes: ErrorCode, notes: Mapping[ErrorCode, str] | None = None) -> Callable:
    """Document that the view answers these codes (stackable; ``notes`` adds words to a code, e.g. its details)."""
    return Blueprint.doc(**error_doc(*codes, notes=notes))


def error_doc(*codes: ErrorCode, notes: Mapping[ErrorCode, str] | None = None) -> dict[str, dict]:
    """``@blp.doc`` keywords naming these codes; decorators merge them, the spec turns them into responses."""
    return {ERRORS_DOC_KEY: _named(codes, notes)}


def _named(codes: tuple[ErrorCode, ...], notes: Mapping[ErrorCode, str] | None) -> dict[str, dict]:
    """Plain data for the spec (it is deep-copied and merged): {code: {"status", "note"}}."""
    notes = notes or {}
    return {code.value: {"status": code.status, "note": notes.get(code, "")} for code in codes}


def _error_responses(codes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """One response per status; ``x-codes`` lists its codes for machines, the description for people."""
    by_status: dict[int, dict[str, str]] = {}
    for code, doc in codes.items():
        by_status.setdefault(int(doc["status"]), {})[code] = doc.get("note", "")
    return {str(status): {
        "description": f"{HTTPStatus(status).phrase}. " + "; ".join(
            f"`{code}`: {note}" if note else f"`{code}`" for code, note in named.items()) + ".",
        "x-codes": list(named),
        "content": {"application/json": {"schema": dict(ERROR_SCHEMA_REF)}}}
        for status, named in sorted(by_status.items())}


class ErrorResponses(BasePlugin):
    """apispec plugin: an operation's error responses from the codes its decorators named (``raises``,
    ``roles_required``), plus ``validation_error`` where its arguments are validated (flask-smorest's 422)
    and ``bad_request`` where it reads a JSON body (one that does not parse is 400 before any validation)."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            codes = dict(operation.pop(ERRORS_DOC_KEY, {}))
            responses = operation.setdefault("responses", {})
            if "422" in responses or 422 in responses:
                responses.pop(422, None)
                codes.update(error_doc(CommonError.VALIDATION_ERROR)[ERRORS_DOC_KEY])
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                codes.update(error_doc(CommonError.BAD_REQUEST, notes={
                    CommonError.BAD_REQUEST: "the body is not JSON (malformed, not UTF-8)"})[ERRORS_DOC_KEY])
            errors = _error_responses(codes)
            rest = {status: response for status, response in responses.items() if status not in errors}
            default = rest.pop("default", None)
            responses.clear()
            responses.update(rest | errors | ({"default": default} if default else {}))


class AppError(Exception):
    """A failure the client should see, with its stable code."""

    def __init__(self, code: ErrorCode, message: str, *, errors: dict | None = None,
                 headers: dict | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.details = details

    @property
    def status(self) -> int:
        return self.code.status


def error_body(code: ErrorCode | str, message: str, errors: dict | None = None,
               details: dict | None = None) -> dict[str, Any]:
    """The JSON body of an error response; at most ``MAX_ERRORS_SHOWN`` field errors, and how many there were."""
    body: dict[str, Any] = {"code": str(code), "message": message}
    if errors:
        shown, total = _first_errors(errors, MAX_ERRORS_SHOWN)
        body["errors"] = shown
        if total > MAX_ERRORS_SHOWN:
            body["errors_total"] = total
    if details:
        body["details"] = details
    return body


def _first_errors(errors: dict, limit: int) -> tuple[dict, int]:
    """The first ``limit`` fields' messages (nested as given) and the number of fields with messages."""
    shown: dict = {}
    total = 0
    for key, value in errors.items():
        if isinstance(value, dict):
            inner, count = _first_errors(value, max(limit - total, 0))
            if inner:
                shown[key] = inner
            total += count
        else:
            if total < limit:
                shown[key] = value
            total += 1
    return shown, total


def _validation_errors(messages: dict) -> dict:
    """Flatten webargs' {location: {field: [...]}} into {field: [...]}: clients know where they sent it."""
    flat: dict = {}
    for location_errors in messages.values():
        if isinstance(location_errors, dict):
            flat.update(location_errors)
    return flat


def handle_http_exception(error: HTTPException):
    """Render werkzeug/webargs/limiter HTTP errors in our shape."""
    status = error.code or 500
    if status == 429 and isinstance(getattr(error, "response", None), Response):
        return error.response  # a limit's own answer (shop.rate_limits.refusing_with)
    code = _CODE_BY_STATUS.get(status, CommonError.BAD_REQUEST if status < 500 else CommonError.INTERNAL_ERROR)
    data = getattr(error, "data", None) or {}
    errors = data.get("errors")
    if errors is None and "messages" in data:
        errors = _validation_errors(data["messages"])
    if status == 500:
        return _internal_error(getattr(error, "original_exception", None) or error)
    message = data.get("message") or error.description or error.name
    if status == 422:
        message = data.get("message") or "The request has invalid fields; see errors."
    details = None
    if status == 413 and request:
        message, details = _too_large()
    headers = dict(data.get("headers") or {})
    if status == 429:
        headers.update(dict(error.get_headers() if hasattr(error, "get_headers") else []))
        headers.pop("Content-Type", None)
    return error_body(code, message, errors, details), status, headers


def handle_app_error(error: AppError):
    _roll_back()  # an AppError may come half-way through a change: none of it stands
    headers = error.headers
    if error.status == 503 and "Retry-After" not in headers:  # a part that is down: say when to come back
        headers = {**headers, "Retry-After": str(RETRY_AFTER_SECONDS)}
    return error_body(error.code, error.message, error.errors, error.details), error.status, headers


def handle_dependency_error(error: Exception):
    """A database or Redis error: 503 if it says the part is down, else a bug (500)."""
    dependency = down_dependency(error)
    if dependency is None:
        return _internal_error(error)
    outages().begin(dependency, error)
    _roll_back()
    return unavailable("A service we depend on is unavailable; try again shortly.")


def size_text(size: int) -> str:
    """A byte count as people read a limit, exactly: "8 MiB", "1.5 MiB", "512 KiB", "500,000 bytes"."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and (size * 100) % scale == 0:
            return f"{size / scale:g} {unit}"
    return f"{size:,} bytes"


def too_large_error(what: str, limit: int) -> AppError:
    """413 naming the limit ``what`` ("The body", "The file") went over, with the limit in bytes."""
    return AppError(CommonError.PAYLOAD_TOO_LARGE, f"{what} is larger than the {size_text(limit)} limit.",
                    details={"limit_bytes": limit})


def _too_large() -> tuple[str, dict]:
    """The message and details of werkzeug's 413: the body's limit, or else the form's (a field, the parts)."""
    limit, length = request.max_content_length, request.content_length
    if limit is not None and (length is None or length > limit):
        error = too_large_error("The body", limit)
        return error.message, error.details
    field_limit, parts = request.max_form_memory_size, request.max_form_parts
    return (f"A form field is larger than the {size_text(field_limit)} limit, or the form has more than {parts} "
            "parts.", {"limit_bytes": field_limit, "max_parts": parts})


def unavailable(message: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A 503 response with Retry-After."""
    return (error_body(CommonError.SERVICE_UNAVAILABLE, message), 503,
            {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _internal_error(original: BaseException):
    if down_dependency(original) is not None:  # raised where no handler of ours saw it (an after-request hook)
        return handle_dependency_error(original)
    _roll_back()
    log.error("unhandled error", exc_info=original)
    return error_body(CommonError.INTERNAL_ERROR, "Something went wrong on our side."), 500


def _roll_back() -> None:
    """End the request's transaction, also when the database went away under it.

    Rolling back a transaction whose connection is gone fails too: the server has dropped the
    transaction already, so nothing of it stands and the session is simply closed.
    """
    try:
        db.session.rollback()
    except SQLAlchemyError as error:
        dependency = down_dependency(error)
        if dependency is None:
            raise
        outages().begin(dependency, error)
        db.session.close()


def register_error_handlers(app: Flask) -> None:
    """Make every error JSON, including those raised before a view runs."""
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for family in (SQLAlchemyError, *REDIS_ERRORS):
        app.register_error_handler(family, handle_dependency_error)
