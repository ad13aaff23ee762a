"""`flask coupons ...`: operator commands."""

import click
from flask.cli import AppGroup

from coupons.claiming.reminders import remind_expiring
from coupons.claiming.service import rebuild_gates
from shop.database import utcnow

coupons_cli = AppGroup("coupons", help="Coupons: claim gates, reminders of coupons about to expire.")


@coupons_cli.command("rebuild-gates")
def rebuild_gates_command() -> None:
    """Rebuild the Redis claim gates of active and paused batches from the database, at new generations.

    Safe while claims go on. A gate that is missing or stale rebuilds itself; this is for an operator who
    wants them all fresh at once (after restoring Redis from a backup, say).
    """
    ids = rebuild_gates()
    click.echo(f"rebuilt the claim gates of {len(ids)} batches")


@coupons_cli.command("remind-expiring")
def remind_expiring_command() -> None:
    """Announce coupons expiring within COUPON_EXPIRY_REMINDER_DAYS to their members (once per coupon), as the
    periodic job does."""
    click.echo(f"reminded {remind_expiring(utcnow())['reminded']} coupons")
