"""The rule of each kind of template keyword (WeChat's 订阅消息参数值内容限制), in one place.

``fit(kind, value)`` turns a value into the text WeChat accepts for that kind: free text is trimmed
to its length (``thing`` 20 characters, ``name`` 10 Chinese or 20 letters, ``phrase`` 5 Chinese),
money (fen) is written as yuan with ``元``, times and dates in the brand's zone as WeChat's examples
write them. What cannot be trimmed without losing its meaning (an order number over 32 characters,
a phrase that is not Chinese, an amount too large) raises ``ValueError``: the message is ours to fix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from shop.config import BUSINESS_ZONE

ELLIPSIS = "…"
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_CHARACTER_STRING = re.compile(r"[\x21-\x7e]{1,32}")  # digits, letters, symbols: no space, no Chinese
_NUMBER = re.compile(r"\d{1,32}(\.\d+)?")
_AMOUNT = re.compile(r"[￥¥$]?\d{1,10}(\.\d{1,2})?元?")
_CLOCK = r"\d{1,2}:\d{2}"
_DAY = r"\d{4}年\d{1,2}月\d{1,2}日"
_TIME = re.compile(rf"((?:{_DAY} )?{_CLOCK})(~(?:{_DAY} )?{_CLOCK})?")
_DATE = re.compile(rf"({_DAY}(?: {_CLOCK})?)(~{_DAY}(?: {_CLOCK})?)?")
MAX_AMOUNT_FEN = 10**10 * 100 - 1  # 10 digits of yuan


def fit(kind: str, value: Any) -> str:
    """``value`` as the text a keyword of ``kind`` takes; ValueError when it cannot be made to fit."""
    try:
        rule = RULES[kind]
    except KeyError:
        raise ValueError(f"no rule for keyword kind {kind!r}") from None
    text = rule(value)
    if not text:
        raise ValueError(f"a {kind} keyword cannot be empty")
    return text


def _plain(value: Any) -> str:
    """Text on one line without control characters (WeChat shows keywords on one line)."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(value))
    return " ".join(text.split())


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + ELLIPSIS


def thing(value: Any) -> str:
    """Up to 20 characters of any kind."""
    return _cut(_plain(value), 20)


def phrase(value: Any) -> str:
    """Up to 5 Chinese characters."""
    text = _plain(value)
    if not _CHINESE.fullmatch(text):
        raise ValueError(f"a phrase is Chinese characters only: {text!r}")
    return text[:5]


def name(value: Any) -> str:
    """Up to 10 Chinese characters, or up to 20 letters and symbols."""
    text = _plain(value)
    return _cut(text, 10) if _CHINESE.search(text) else _cut(text, 20)


def character_string(value: Any) -> str:
    """Up to 32 digits, letters and symbols (a code or a number: never cut, it would mean another)."""
    text = _plain(value)
    if not _CHARACTER_STRING.fullmatch(text):
        raise ValueError(f"a character_string is 1-32 digits, letters or symbols: {text!r}")
    return text


def number(value: Any) -> str:
    text = _plain(value)
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"a number is up to 32 digits: {text!r}")
    return text


def amount(value: Any) -> str:
    """Fen (an int) as yuan with two decimals and 元; text as given when it is such an amount."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_AMOUNT_FEN:
            raise ValueError(f"an amount is 0 to 10 digits of yuan: {value} fen")
        return f"{value // 100}.{value % 100:02d}元"
    text = _plain(value)
    if not _AMOUNT.fullmatch(text):
        raise ValueError(f"an amount is a number of up to 10 digits with an optional 元: {text!r}")
    return text


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times are aware (UTC in Ripple)")
    return value.astimezone(BUSINESS_ZONE)


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def time(value: Any) -> str:
    """A moment as ``2026年12月7日 15:01`` in the brand's zone (a range with ``~`` when given as text)."""
    if isinstance(value, datetime):
        local = _local(value)
        return f"{_day(local)} {local:%H:%M}"
    text = _plain(value)
    if not _TIME.fullmatch(text):
        raise ValueError(f"a time is 15:01 or 2019年10月1日 15:01: {text!r}")
    return text


def date_(value: Any) -> str:
    """A day as ``2026年12月7日`` (a datetime keeps its time, in the brand's zone)."""
    if isinstance(value, datetime):
        local = _local(value)
        return f"{_day(local)} {local:%H:%M}"
    if isinstance(value, date):
        return _day(value)
    text = _plain(value)
    if not _DATE.fullmatch(text):
        raise ValueError(f"a date is 2019年10月1日 (with an optional 15:01): {text!r}")
    return text


RULES: dict[str, Callable[[Any], str]] = {
    "thing": thing, "phrase": phrase, "name": name, "character_string": character_string,
    "number": number, "amount": amount, "time": time, "date": date_,
}
