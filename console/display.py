"""How the console shows money, times, days and its language: one Jinja filter each (and one for states in words), one
home each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request
from flask_babel import Babel, format_date, get_locale
from flask_babel import gettext as _

from shop.config import BUSINESS_ZONE_NAME

LANGUAGES = ("zh_CN", "en")  # Chinese first: the default when the browser names neither
LANGUAGE_COOKIE = "console_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
CATALOGUES = Path(__file__).resolve().parent / "translations"


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals (``1250`` -> ``¥12.50``); never through a float."""
    if fen is None:
        return ""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def local_time(at: datetime | None, zone: str | None = None) -> str:
    """An aware time in the store's zone (the business zone when none is named), to the minute."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(zone or BUSINESS_ZONE_NAME)).strftime("%Y-%m-%d %H:%M")


def state_words() -> dict[str, str]:
    """Order, refund, payment, shipping-upload and coupon states, and fulfilments, in the reader's words."""
    return {
        "pending_payment": _("awaiting payment"), "paid": _("paid"), "preparing": _("preparing"),
        "ready_for_pickup": _("ready for pickup"), "shipped": _("shipped"), "completed": _("completed"),
        "cancelled": _("cancelled"), "refunded": _("refunded"),
        "processing": _("processing"), "succeeded": _("succeeded"), "failed": _("failed"),
        "pending": _("pending"), "uploaded": _("uploaded"),
        "pickup": _("pickup"), "delivery": _("delivery"), "in_store": _("in store"),
        "available": _("available"), "locked": _("held by an unpaid order"), "used": _("used"),
        "expired": _("expired"),
    }


def state(value: str | None) -> str:
    """A state in words (the value itself when it has none)."""
    return state_words().get(value or "", value or "")


def day_words(day: date) -> str:
    """A calendar day with its weekday in the reader's language (``2026-10-01 周四``, ``2026-10-01 Thu``)."""
    return format_date(day, "yyyy-MM-dd EEE")


def local_date(at: datetime, zone: str | None = None) -> date:
    """The calendar day ``at`` falls on in the store's zone (the business zone when none is named)."""
    return at.astimezone(ZoneInfo(zone or BUSINESS_ZONE_NAME)).date()


def from_today(dated: Iterable[Any], now: datetime, zone: str | None = None) -> list[Any]:
    """The items with a ``day`` (a store's dated exceptions) from today on, today as the store's zone counts days."""
    today = local_date(now, zone)
    return [item for item in dated if item.day >= today]


def start_of_local_day(now: datetime, zone: str | None = None) -> datetime:
    """The UTC instant today began in the store's zone (the business zone when none is named)."""
    local = now.astimezone(ZoneInfo(zone or BUSINESS_ZONE_NAME))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def chosen_language() -> str:
    """``?lang=`` on this request, else the console's language cookie, else the browser's, else Chinese."""
    for asked in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if asked in LANGUAGES:
            return asked
    return request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0])


def remember_language(response):
    """Keep a language chosen with ``?lang=`` for the next pages (a cookie of the console's own)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != asked:
        response.set_cookie(LANGUAGE_COOKIE, asked, max_age=LANGUAGE_COOKIE_SECONDS, httponly=True,
                            samesite="Lax", secure=request.is_secure, path="/console")
    return response


def init_app(app: Flask) -> None:
    """Flask-Babel with the console's catalogues and language choice; the money and time filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", BUSINESS_ZONE_NAME)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(CATALOGUES))
    Babel(app, locale_selector=chosen_language, default_domain="messages")
    app.context_processor(lambda: {"language": get_locale().language})
    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["day"] = day_words
    app.jinja_env.filters["state"] = state
