"""`flask crm rebuild-rollups --from --to`: rebuild the CRM's daily rollups from the raw rows."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.rollups.service import ROLLUPS, rebuild
from shop.database import utcnow

crm_cli = AppGroup("crm", help="CRM: rebuild the reports' daily rollups.")


@crm_cli.command("rebuild-rollups")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First business day.")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last business day.")
@click.option("--only", "names", multiple=True, metavar="NAME", help="Only this rollup (repeatable); all by default.")
def rebuild_rollups(first, last, names: tuple[str, ...]) -> None:
    """Recompute every day from --from to --to (business days, Asia/Shanghai); safe to rerun."""
    start, end = first.date(), last.date()
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if unknown := sorted(set(names) - set(ROLLUPS)):
        raise click.BadParameter(f"{', '.join(unknown)}: the rollups are {', '.join(sorted(ROLLUPS))}", param_hint="--only")
    built = rebuild(start, end, utcnow(), names)
    click.echo(f"rebuilt {built} rollup days from {start.isoformat()} to {end.isoformat()}")

