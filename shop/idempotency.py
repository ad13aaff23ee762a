"""The ``Idempotency-Key`` header of writes a client may retry (order create, claim, ...)."""

from __future__ import annotations

from flask import request

from shop.errors import AppError, ErrorCode

MIN_LENGTH, MAX_LENGTH = 8, 64


class IdempotencyError(ErrorCode):
    KEY_REQUIRED = ("idempotency_key_required", 400)
    KEY_REUSED = ("idempotency_key_reused", 422)  # the key already made something different


def key_doc(description: str) -> list[dict]:
    """The header's OpenAPI parameter, for ``@blp.doc(parameters=...)``."""
    return [{"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"},
             "description": f"{MIN_LENGTH}-{MAX_LENGTH} characters. {description}"}]


def required_key() -> str:
    """The request's Idempotency-Key; 400 ``idempotency_key_required`` when missing or malformed."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not MIN_LENGTH <= len(key) <= MAX_LENGTH:
        raise AppError(IdempotencyError.KEY_REQUIRED,
                       f"Send an Idempotency-Key header of {MIN_LENGTH}-{MAX_LENGTH} characters.")
    return key
