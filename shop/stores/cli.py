"""`flask staff ...` and `flask stores ...`: staff accounts and the store network from the shell."""

import click
from flask.cli import AppGroup

from shop.auth import STAFF_SIDE_ROLES
from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.stores import service, staff
from shop.stores.geo import RebuildBusy, index_marker, reindex_all

staff_cli = AppGroup("staff", help="Staff, marketing and admin accounts.")


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(sorted(role.value for role in STAFF_SIDE_ROLES)), default="staff", show_default=True)
@click.option("--store-id", "store_ids", type=int, multiple=True, help="A store the clerk works at (repeat).")
@click.option("--name", "display_name", default=None)
@click.password_option(help="Prompted for when not given.")
def create(username: str, role: str, store_ids: tuple[int, ...], display_name: str | None, password: str):
    """Create a staff account."""
    try:
        account = staff.create_staff(username=username, password=password, role=role,
                                       store_ids=list(store_ids), display_name=display_name)
    except (ValueError, AppError) as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {account.role} {account.username!r} (id {account.id})")


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
