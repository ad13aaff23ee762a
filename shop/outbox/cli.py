"""`flask outbox list|retry`: the outbox from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.jobs import dispatch_after_commit
from shop.outbox import service
from shop.outbox.models import OutboxStatus

outbox_cli = AppGroup("outbox", help="Work handed on after a commit: list it, send failed work again.")


@outbox_cli.command("list")
@click.option("--status", type=click.Choice([s.value for s in OutboxStatus]), default=None)
@click.option("--kind", default=None, help="Only this job, e.g. shop.orders.refunds:send_refund.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def list_entries(status: str | None, kind: str | None, limit: int) -> None:
    """Entries, newest first: id, status, attempts, job and arguments, next attempt, last error."""
    found = service.list_entries(status=status, kind=kind, page=1, page_size=limit)
    for entry in found["items"]:
        click.echo(f"{entry.id}\t{entry.status}\t{entry.attempts}\t{entry.kind}{tuple(entry.args)!r}\t"
                   f"{entry.next_attempt_at.isoformat()}\t{entry.last_error or ''}")
    click.echo(f"{found['total']} entr{'y' if found['total'] == 1 else 'ies'}"
               + (f" (showing {len(found['items'])})" if found["total"] > len(found["items"]) else ""))


@outbox_cli.command("retry")
@click.argument("entry_id", type=int)
def retry(entry_id: int) -> None:
    """Send a failed entry again (pending, due now, attempts from 0)."""
    try:
        entry = service.retry(entry_id, now=utcnow())
    except AppError as error:
        raise click.ClickException(error.message) from None
    dispatch_after_commit(entry.id, attempts=entry.attempts)
    db.session.commit()
    click.echo(f"outbox entry {entry.id} ({entry.kind}) is {entry.status}")
