"""`flask orders reconcile-bill --date YYYY-MM-DD`: reconcile one day's WeChat Pay bill now."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from shop.bills import service
from shop.bills.models import Resolution, RunStatus
from shop.database import utcnow
from shop.extensions import db
from shop.wechat.pay import WeChatPayAPIError


def add_commands(group: AppGroup) -> None:
    """Add the bill commands to `flask orders`."""
    group.add_command(reconcile_bill)


@click.command("reconcile-bill")
@with_appcontext
@click.option("--date", "bill_date", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="The Beijing-time day whose bill to reconcile (again).")
def reconcile_bill(bill_date) -> None:
    """Download a day's WeChat Pay bills and compare them with our payments and refunds."""
    try:
        run = service.reconcile_bill(bill_date.date(), utcnow())
    except WeChatPayAPIError as error:
        db.session.commit()  # the failure, for the report
        raise click.ClickException(error.message) from None
    db.session.commit()
    if run.status != RunStatus.DONE:
        raise click.ClickException(f"{run.last_error}; the job asks again from {run.next_attempt_at:%H:%M} UTC")
    flagged = [d for d in run.differences if d.resolution == Resolution.FLAGGED]
    click.echo(f"{run.bill_date}: {run.trade_rows} bill rows, {len(run.differences)} differences "
               f"({len(flagged)} flagged)")
    for difference in run.differences:
        click.echo(f"  {difference.resolution:8} {difference.kind:17} {difference.reference}: "
                   f"{difference.details.get('note', '')}")
