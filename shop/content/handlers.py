"""Content security in the app: its setting checked at start, and nicknames taken back when rejected."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shop import events
from shop.config import ConfigError
from shop.content.models import ContentSubject
from shop.content.service import WHEN_DOWN
from shop.members.service import take_back_nickname


def on_content_rejected(sender: Any, **kw: Any) -> None:
    """A rejected nickname goes back to the previous one (share titles are referral's)."""
    if kw["subject"] == ContentSubject.NICKNAME:
        take_back_nickname(kw["target_id"], text=kw["text"], previous=kw["previous_text"])


def wire_content(app: Flask) -> None:
    """Refuse an unknown CONTENT_CHECK_WHEN_WECHAT_DOWN at start; connect the receiver (idempotent)."""
    if app.config["CONTENT_CHECK_WHEN_WECHAT_DOWN"] not in WHEN_DOWN:
        raise ConfigError(f"CONTENT_CHECK_WHEN_WECHAT_DOWN must be one of {', '.join(WHEN_DOWN)}, "
                          f"got {app.config['CONTENT_CHECK_WHEN_WECHAT_DOWN']!r}")
    events.content_rejected.connect(on_content_rejected)
