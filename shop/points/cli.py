"""`flask points ...`: the expiry job and a consistency check, from the shell (or cron)."""

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from shop.database import utcnow
from shop.extensions import db
from shop.points.service import expire_due_points, verify_ledger

points_cli = AppGroup("points", help="Loyalty points: expiry and checks.")
BATCH_MEMBERS = 200


def expire_sweep(now: datetime) -> str:
    """Expire every lot due by ``now``, committing every 200 members; for `flask points expire` and
    the periodic sweep (``shop.orders.cli.SWEEPS``). Safe to run again or concurrently."""
    total = 0
    while expired := expire_due_points(now=now, max_members=BATCH_MEMBERS):
        db.session.commit()
        total += expired
    db.session.commit()
    return f"expired {total} lots due by {now.isoformat()}"


@points_cli.command("expire")
@click.option("--now", "now_text", default=None, metavar="ISO8601",
              help="Expire what is due at this time (default: now); naive times are UTC.")
def expire(now_text: str | None) -> None:
    """Expire every lot whose date has come. Safe to run again."""
    click.echo(expire_sweep(_parse_time(now_text) if now_text else utcnow()))


@points_cli.command("verify")
def verify() -> None:
    """Check that every balance equals its ledger and its lots; exits 1 listing the members that do not."""
    problems = verify_ledger()
    for line in problems:
        click.echo(line, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("every balance matches its ledger and its lots")


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--now") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
