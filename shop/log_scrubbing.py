"""What never reaches a log line or an error report: tokens, phone numbers, codes, keys and passwords.

The first defence is not to log them at all; this is the second, applied where a line is written (the
log formatters of shop/request_log.py) and where an error report leaves (Sentry's ``before_send``):
a field whose name says it holds a secret is replaced whatever its value, and text is searched for
values that look like one (a JWT, a bearer credential, a mainland mobile number, a PEM key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

SCRUBBED = "[scrubbed]"

# Names (any case, inside a longer name too) of fields that hold a secret: `code` alone or as a suffix
# (`pickup_code`, `member_code`), not inside `error_code`'s siblings such as `codes_total`.
SECRET_FIELD = re.compile(
    r"token|passw|secret|authori[sz]ation|cookie|session_key|api_?key|apiv3|private_key|signature|dsn|phone"
    r"|mobile|(?:^|[_-])code$|^x-member-code$", re.IGNORECASE)

SECRET_TEXT = re.compile(
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # a JWT (header.payload.signature)
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"  # an Authorization header's credential
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
    r"|(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9]{9}(?![0-9])"  # a mainland mobile number, 11 digits
)


# A URL's query parameter whose name says it holds a secret (WeChat's `secret=`, `js_code=`,
# `access_token=`), as an HTTP client's exception quotes the URL it failed to reach.
SECRET_QUERY = re.compile(
    r"([?&][A-Za-z_]*(?:secret|token|passw|code|key|signature)[A-Za-z_]*=)[^&\s'\"#]+", re.IGNORECASE)


@lru_cache(maxsize=4096)  # the same few dozen field names, on every line
def is_secret_field(name: str) -> bool:
    return bool(SECRET_FIELD.search(name))


ELEVEN_DIGITS = re.compile(r"[0-9]{11}")


def may_hold_secret(text: str) -> bool:
    """What every pattern above needs before it can match (a JWT's ``eyJ``, ``bearer``, ``PRIVATE KEY``, a
    mobile number's 11 digits, a query's ``=``): tested first, as most log text holds none of them and the
    patterns' own search costs about ten times as much (it ran on every field of every request's line)."""
    return ("=" in text or "eyJ" in text or "PRIVATE KEY" in text or "bearer" in text.lower()
            or ELEVEN_DIGITS.search(text) is not None)


def scrub_text(text: str) -> str:
    """The text with every value that looks like a secret replaced."""
    if not may_hold_secret(text):
        return text
    return SECRET_QUERY.sub(rf"\1{SCRUBBED}", SECRET_TEXT.sub(SCRUBBED, text))


def scrub(value: Any, name: str = "") -> Any:
    """A copy of ``value`` (plain data: dicts, lists, strings, numbers) with secret fields and values replaced."""
    if name and value is not None and not isinstance(value, bool) and is_secret_field(name):
        return SCRUBBED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {key: scrub(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value
