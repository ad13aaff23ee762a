"""`flask coupons ...`: operator commands."""

import click
from flask.cli import AppGroup

from coupons.claiming.service import rebuild_gates

coupons_cli = AppGroup("coupons", help="Coupons: claim gates.")


@coupons_cli.command("rebuild-gates")
def rebuild_gates_command() -> None:
    """Rebuild the Redis claim gates of active and paused batches from the database, at new generations.

    Safe while claims go on. A gate that is missing or stale rebuilds itself; this is for an operator who
    wants them all fresh at once (after restoring Redis from a backup, say).
    """
    ids = rebuild_gates()
    click.echo(f"rebuilt the claim gates of {len(ids)} batches")
