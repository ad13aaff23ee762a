"""`flask staff ...`: manage staff accounts from the shell."""

import click
from flask.cli import AppGroup

from shop.auth import STAFF_SIDE_ROLES
from shop.errors import AppError
from shop.extensions import db
from shop.stores import service

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
        account = service.create_staff(username=username, password=password, role=role,
                                       store_ids=list(store_ids), display_name=display_name)
    except (ValueError, AppError) as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {account.role} {account.username!r} (id {account.id})")
