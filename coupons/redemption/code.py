"""The rotating in-store code of a coupon: what the shopper shows, what the clerk types or scans.

The arithmetic (TOTP with HMAC-SHA256, 60-second steps, the current and previous step accepted) is
``shop.rotating_codes``; a coupon's code is keyed by the coupon's own secret and its QR payload says
``ripple:coupon:``, so a scanner can tell it from a member code or a pickup code.
"""

from __future__ import annotations

from datetime import datetime

from shop.rotating_codes import (
    DIGITS,
    STEP_SECONDS,
    ShownCode,
    Verdict,
    qr_png,
    seconds_left,
    step_digits,
)
from shop.rotating_codes import check as check_digits
from shop.rotating_codes import parse as parse_code
from shop.rotating_codes import shown_code as shown_rotating_code

__all__ = ["DIGITS", "QR_PREFIX", "STEP_SECONDS", "ShownCode", "Verdict", "check", "parse", "qr_png",
           "seconds_left", "shown_code", "step_digits"]

QR_PREFIX = "ripple:coupon:"


def shown_code(coupon_id: int, secret: str, at: datetime) -> ShownCode:
    """The code a coupon shows at ``at``."""
    return shown_rotating_code(coupon_id, bytes.fromhex(secret), at, qr_prefix=QR_PREFIX)


def parse(raw: str) -> tuple[int, str] | None:
    """(coupon id, digits) from a typed code or a QR payload; None if it cannot be one."""
    return parse_code(raw, qr_prefix=QR_PREFIX)


def check(secret: str, digits: str, at: datetime) -> Verdict:
    """Whether ``digits`` are this coupon's code now (or a step ago), an older one, or neither."""
    return check_digits(bytes.fromhex(secret), digits, at)
