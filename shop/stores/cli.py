"""`flask stores ...`: the store network and its nearby index from the shell."""

import click
from flask.cli import AppGroup

from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.stores import service
from shop.stores.geo import RebuildBusy, index_marker, reindex_all
from shop.stores.importing import FORMAT_HELP, MAX_FILE_BYTES

stores_cli = AppGroup("stores", help="The store network and its nearby-search index.")


@stores_cli.command("reindex")
def reindex() -> None:
    """Rebuild the Redis nearby-store index from the database (after a rebuild already running)."""
    try:
        count = reindex_all()
    except RebuildBusy as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"indexed {count} open stores (store-set version {index_marker(redis_client())})")


def _verbatim(text: str) -> str:
    """Help text whose blocks click shows as written (it rewraps a paragraph not marked with \\b)."""
    return "\n\n".join(f"\b\n{block}" for block in text.split("\n\n"))


@stores_cli.command("import", help="Create or update stores from a CSV file (all rows or none); - reads stdin.\n\n"
                    + _verbatim(FORMAT_HELP))
@click.argument("file", type=click.File("rb"))
def import_file(file) -> None:
    try:
        # One more byte than allowed, so a larger file is refused without reading all of it.
        result = service.import_stores_file(file.read(MAX_FILE_BYTES + 1))
    except AppError as exc:
        lines = [f"  {where}: {'; '.join(messages)}" for where, messages in (exc.errors or {}).items()]
        raise click.ClickException("\n".join([exc.message, *lines])) from exc
    db.session.commit()
    click.echo(f"created {result['created']}, updated {result['updated']}, unchanged {result['unchanged']}")
