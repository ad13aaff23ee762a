"""`flask backup create|restore|check`: backups of DATABASE_URL from the shell (`make backup`, `make restore`)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from shop.backups import service

backup_cli = AppGroup("backup", help="Back up DATABASE_URL (PostgreSQL), restore a backup and check it.")


@backup_cli.command("create")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=Path("backups"),
              show_default=True)
def create(directory: Path) -> None:
    """Dump DATABASE_URL (pg_dump, custom format) with its row counts and ledger sums beside it."""
    dump = _done(lambda: service.back_up(current_app.config["DATABASE_URL"], directory))
    click.echo(f"{dump}\n{service.summary_of(dump)}")


@backup_cli.command("restore")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--into", "database_url", required=True,
              help="A new database (made if missing), e.g. postgresql+psycopg://ripple@new-host/ripple.")
def restore(dump: Path, database_url: str) -> None:
    """Restore DUMP into a new database, then check its row counts and ledger sums against the backup."""
    _report(_done(lambda: service.restore(dump, database_url)))


@backup_cli.command("check")
@click.argument("dump", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--against", "database_url", required=True, help="The restored database.")
def check(dump: Path, database_url: str) -> None:
    """Compare a database's row counts and ledger sums with the backup DUMP's."""
    _report(_done(lambda: service.check(dump, database_url)))


def _done(work):
    try:
        return work()
    except service.BackupError as error:
        raise click.ClickException(str(error)) from None


def _report(differences: list[str]) -> None:
    if differences:
        raise click.ClickException("the restore differs from the backup:\n" + "\n".join(differences))
    click.echo("every table's row count and every ledger's sums equal the backup's")
