"""`flask referral ...`: the reward release and the withdrawal sweep, from the shell (or cron)."""

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from referral.rewards.service import release_sweep
from referral.withdrawals.service import sync_withdrawals
from shop.commands import WeChatUnreachable
from shop.database import utcnow
from shop.extensions import db

referral_cli = AppGroup("referral", help="Referral: release rewards, settle withdrawals.")


@referral_cli.command("release-rewards")
@click.option("--now", "now_text", default=None, metavar="ISO8601",
              help="Release what is due at this time (default: now); naive times are UTC.")
def release_rewards(now_text: str | None) -> None:
    """Make frozen rewards past their refund window available (flagged buyers' stay frozen). Safe to rerun."""
    summary = release_sweep(_parse_time(now_text) if now_text else utcnow())
    db.session.commit()
    click.echo(f"released {summary['released']} rewards")


@referral_cli.command("sync-withdrawals")
def sync() -> None:
    """Settle paying transfers from WeChat Pay's answer; hand approved ones the outbox lacks to it."""
    summary = sync_withdrawals()
    db.session.commit()
    if summary["unreachable"]:
        raise WeChatUnreachable("WeChat Pay", f"{summary['unreachable']} withdrawals")
    click.echo(f"checked {summary['checked']} withdrawals: {summary['paid']} paid, {summary['failed']} failed")


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--now") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
