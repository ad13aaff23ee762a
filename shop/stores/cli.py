"""`flask stores ...`: the store network and its nearby index from the shell."""

import click
from flask.cli import AppGroup

from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.stores import service
from shop.stores.geo import RebuildBusy, index_marker, reindex_all

stores_cli = AppGroup("stores", help="The store network and its nearby-search index.")


@stores_cli.command("reindex")
def reindex() -> None:
    """Rebuild the Redis nearby-store index from the database (after a rebuild already running)."""
    try:
        count = reindex_all()
    except RebuildBusy as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"indexed {count} open stores (store-set version {index_marker(redis_client())})")


@stores_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def import_file(file) -> None:
    """Create or update stores from a CSV file (all rows or none)."""
    try:
        result = service.import_stores_csv(file.read())
    except AppError as exc:
        lines = [f"  {where}: {'; '.join(messages)}" for where, messages in (exc.errors or {}).items()]
        raise click.ClickException("\n".join([exc.message, *lines])) from exc
    db.session.commit()
    click.echo(f"created {result['created']}, updated {result['updated']}")
