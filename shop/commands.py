"""What our `flask` commands share: a pass that could not reach WeChat or WeChat Pay ends with one line
and exit status 1 (what cron and operators look at), never a traceback or a summary that looks fine."""

from __future__ import annotations

import click


class WeChatUnreachable(click.ClickException):
    """A pass that could not reach WeChat (Pay): says what it left for the next pass (exit status 1)."""

    def __init__(self, service: str, left: str) -> None:
        super().__init__(f"{service} unreachable: {left} left for the next pass")
