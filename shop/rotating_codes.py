"""Rotating codes a shopper shows at a counter (a coupon's, the member code): TOTP with HMAC-SHA256.

A code is the id of what it names followed by 8 digits that change every 60 seconds: HMAC-SHA256 of
the time step under a secret of that thing, truncated as RFC 4226/6238 do. The id lets the clerk's
request find the row with one primary-key read; the digits prove the code was read off the shopper's
screen within the last two steps, so a screenshot forwarded to someone else stops working a minute or
two later. Digits are compared in constant time.

Typed, a code is at most 14 digits while ids stay below a million (``1234 5678 9012`` style groups
are for reading only: spaces and dashes are ignored). The QR payload carries the same code behind a
prefix naming its kind, so a scanner tells a coupon code from a member code or a pickup code.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import segno

STEP_SECONDS = 60
DIGITS = 8
ACCEPTED_STEPS = 2  # the current step and the one before it
STALE_STEPS = 10  # older codes up to this many steps back are told apart from forged ones
QR_SCALE = 8  # pixels per module: about 250 px square for a typical code, crisp on a phone
_TYPED = re.compile(r"^[1-9]\d{0,17}$")  # an id (no leading zero) then the digits
_SEPARATORS = re.compile(r"[\s-]+")


class Verdict(StrEnum):
    CURRENT = "current"  # the digits of this step or the previous one
    STALE = "stale"  # the digits of an older step: a screenshot or a code left on screen
    INVALID = "invalid"  # not this subject's digits at all


@dataclass(frozen=True)
class ShownCode:
    """The code of one time step, as the shopper's screen shows it."""

    code: str
    qr_payload: str
    step: int
    valid_until: datetime  # when the next step's code replaces it on screen

    @property
    def display(self) -> str:
        """The code in groups of four from the right, for reading it aloud or typing it."""
        head, tail = divmod(len(self.code), 4)
        groups = [self.code[:tail]] if tail else []
        groups += [self.code[tail + 4 * i: tail + 4 * (i + 1)] for i in range(head)]
        return " ".join(groups)


def time_step(at: datetime) -> int:
    """The 60-second step ``at`` falls in, counted from the Unix epoch (RFC 6238's T)."""
    return int(at.timestamp()) // STEP_SECONDS


def step_digits(key: bytes, step: int, digits: int = DIGITS) -> str:
    """RFC 6238 with HMAC-SHA256: the step as an 8-byte counter, dynamic truncation, ``digits`` long."""
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def shown_code(subject_id: int, key: bytes, at: datetime, *, qr_prefix: str) -> ShownCode:
    """The code the subject (a coupon, a member) shows at ``at``."""
    step = time_step(at)
    code = f"{subject_id}{step_digits(key, step)}"
    valid_until = datetime.fromtimestamp((step + 1) * STEP_SECONDS, UTC)
    return ShownCode(code=code, qr_payload=qr_prefix + code, step=step, valid_until=valid_until)


def parse(raw: str, *, qr_prefix: str) -> tuple[int, str] | None:
    """(subject id, digits) from a typed code or a QR payload; None if it cannot be one."""
    text = _SEPARATORS.sub("", raw.strip())
    text = text.removeprefix(qr_prefix)
    if len(text) <= DIGITS or not _TYPED.match(text):
        return None
    return int(text[:-DIGITS]), text[-DIGITS:]


def named_id(raw: str) -> int | None:
    """The id a code names (behind any QR prefix), without checking its digits: to tell a retry from another request."""
    parsed = parse(raw.rsplit(":", 1)[-1], qr_prefix="")
    return parsed[0] if parsed else None


def check(key: bytes, digits: str, at: datetime) -> Verdict:
    """Whether ``digits`` are the code under ``key`` now (or a step ago), an older one, or neither.

    Every candidate step is compared, in constant time, so the answer's timing says nothing about
    which digits were close.
    """
    step, given = time_step(at), digits.encode()
    matches = [hmac.compare_digest(step_digits(key, step - back).encode(), given)
               for back in range(STALE_STEPS + 1)]
    if any(matches[:ACCEPTED_STEPS]):
        return Verdict.CURRENT
    return Verdict.STALE if any(matches[ACCEPTED_STEPS:]) else Verdict.INVALID


def seconds_left(shown: ShownCode, at: datetime) -> int:
    """Whole seconds until the shown code rotates (at least 1 while it is on screen)."""
    return max(1, math.ceil((shown.valid_until - at) / timedelta(seconds=1)))


def qr_png(payload: str) -> bytes:
    """The payload as a PNG QR code (error correction M: readable off a scratched phone screen)."""
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=QR_SCALE, border=4)
    return out.getvalue()
