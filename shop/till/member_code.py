"""The member code: a rotating code the shopper shows at a store's till so a clerk can record the sale.

Its digits (``shop.rotating_codes``: 60-second steps, this and the previous step accepted) are keyed
by a member's own key derived from ``SECRET_KEY``, so no secret per member is stored and a code
cannot be made without the server's key. The QR payload says ``ripple:member:``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from flask import current_app

from shop import rotating_codes
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member
from shop.till.errors import TillError

QR_PREFIX = "ripple:member:"


def member_key(member_id: int) -> bytes:
    """The member's code key: HMAC-SHA256 of the member id under the app's secret."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"member-code:{member_id}".encode(), hashlib.sha256).digest()


def shown_code(member_id: int, at: datetime) -> rotating_codes.ShownCode:
    """The member code the shopper's screen shows at ``at``."""
    return rotating_codes.shown_code(member_id, member_key(member_id), at, qr_prefix=QR_PREFIX)


def code_view(member_id: int, *, now: datetime) -> dict[str, Any]:
    """What ``GET /me/member-code`` answers."""
    shown = shown_code(member_id, now)
    return {"member_id": member_id, "code": shown.code, "display": shown.display, "qr_payload": shown.qr_payload,
            "valid_until": shown.valid_until, "seconds_left": rotating_codes.seconds_left(shown, now),
            "step_seconds": rotating_codes.STEP_SECONDS}


def member_showing(raw: str, *, now: datetime) -> int:
    """The member whose screen shows ``raw`` now (or a step ago); 404 invalid (counted), 409 stale."""
    parsed = rotating_codes.parse(raw, qr_prefix=QR_PREFIX)
    verdict = rotating_codes.Verdict.INVALID
    if parsed is not None and db.session.get(Member, parsed[0]) is not None:
        verdict = rotating_codes.check(member_key(parsed[0]), parsed[1], now)
    if verdict is rotating_codes.Verdict.INVALID:
        raise AppError(TillError.MEMBER_CODE_INVALID, "No member shows this code; check it and scan it again.",
                       errors={"member_code": ["Matches no member."]})
    if verdict is rotating_codes.Verdict.STALE:
        raise AppError(TillError.MEMBER_CODE_STALE, "This member code is out of date: ask the shopper to open "
                       "it again and show the current code.", errors={"member_code": ["Out of date."]})
    return parsed[0]
