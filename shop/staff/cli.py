"""`flask staff ...`: staff, marketing and admin accounts from the shell."""

import getpass

import click
from flask.cli import AppGroup
from sqlalchemy import select

from shop.auth import STAFF_SIDE_ROLES
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.staff import service as staff
from shop.staff.models import StaffAccount

ROLES = click.Choice(sorted(role.value for role in STAFF_SIDE_ROLES))

staff_cli = AppGroup("staff", help="Staff, marketing and admin accounts.")


def _origin() -> staff.Origin:
    """The CLI as the audit's actor: no account, the OS user who ran it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = None
    return staff.Origin(via="cli", details={"os_user": user})


def _account(username: str) -> StaffAccount:
    try:
        return staff.staff_by_username(username)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=ROLES, default="staff", show_default=True)
@click.option("--store-id", "store_ids", type=int, multiple=True, help="A store the clerk works at (repeat).")
@click.option("--name", "display_name", default=None)
@click.password_option(help="Prompted for when not given.")
def create(username: str, role: str, store_ids: tuple[int, ...], display_name: str | None, password: str):
    """Create a staff account."""
    try:
        account = staff.create_staff(username=username, password=password, role=role,
                                     store_ids=list(store_ids), display_name=display_name, origin=_origin())
    except (ValueError, AppError) as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {account.role} {account.username!r} (id {account.id})")


@staff_cli.command("list")
@click.option("--role", type=ROLES, default=None)
@click.option("--active/--disabled", "active", default=None, help="Only active (or only disabled) accounts.")
@click.option("--store-id", type=int, default=None, help="Only clerks of this store.")
@click.option("--locked", is_flag=True, help="Only accounts locked now.")
@click.option("-q", "q", default=None, help="Part of the username or display name.")
def list_staff(role: str | None, active: bool | None, store_id: int | None, locked: bool, q: str | None):
    """List accounts: id, username, role, state, stores, last login."""
    now = utcnow()
    accounts = db.session.scalars(staff.staff_list(role=role, active=active, store_id=store_id, q=q,
                                                   locked=locked or None, at=now)).all()
    click.echo(f"{'id':>6}  {'username':<24} {'role':<10} {'state':<28} {'stores':<16} last login")
    for account in accounts:
        click.echo(f"{account.id:>6}  {account.username:<24} {account.role:<10} {_state(account, now):<28} "
                   f"{','.join(map(str, account.store_ids)) or '-':<16} "
                   f"{account.last_login_at.isoformat(timespec='minutes') if account.last_login_at else '-'}")
    click.echo(f"{len(accounts)} account(s)")


def _state(account: StaffAccount, now) -> str:
    words = ["active" if account.active else "disabled"]
    if account.locked_until and account.locked_until > now:
        words.append(f"locked until {account.locked_until:%H:%M}Z")
    if account.must_change_password:
        words.append("must change password")
    return ", ".join(words)


@staff_cli.command("update")
@click.argument("username")
@click.option("--active/--disabled", "active", default=None, help="Enable, or disable (ends its tokens at once).")
@click.option("--role", type=ROLES, default=None, help="A new role (ends its tokens at once).")
@click.option("--store-id", "store_ids", type=int, multiple=True, help="The stores the clerk works at (repeat; "
              "replaces the list).")
@click.option("--no-stores", is_flag=True, help="Bind the account to no store.")
@click.option("--name", "display_name", default=None)
def update(username: str, active: bool | None, role: str | None, store_ids: tuple[int, ...], no_stores: bool,
           display_name: str | None):
    """Disable or enable an account, change its role, its stores or its display name."""
    changes = {key: value for key, value in (("active", active), ("role", role), ("display_name", display_name))
               if value is not None}
    if store_ids or no_stores:
        changes["store_ids"] = list(store_ids)
    if not changes:
        raise click.UsageError("Say what to change: --active/--disabled, --role, --store-id, --no-stores, --name.")
    try:
        account = staff.update_staff(_account(username).id, changes, _origin())
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"updated {account.username!r}: {account.role}, {'active' if account.active else 'disabled'}, "
               f"stores {account.store_ids or '-'}")


@staff_cli.command("reset-password")
@click.argument("username")
@click.option("--password", default=None, help="The new password (default: a generated one, printed once).")
def reset_password(username: str, password: str | None):
    """Give an account a new password: its tokens end, a lockout lifts, it must choose its own at next login."""
    try:
        account, generated = staff.reset_password(_account(username).id, password, _origin())
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"new password for {account.username!r}" + (f": {generated}" if generated else " set")
               + " (to be changed at the next login)")


@staff_cli.command("unlock")
@click.argument("username")
def unlock(username: str):
    """Lift a lockout after wrong passwords."""
    account = staff.unlock(_account(username).id, _origin())
    db.session.commit()
    click.echo(f"unlocked {account.username!r}")


@staff_cli.command("audit")
@click.argument("username", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def audit(username: str | None, limit: int):
    """The latest audit rows (of one account, or of all)."""
    statement = staff.audit_list(staff_id=_account(username).id if username else None).limit(limit)
    names = dict(db.session.execute(select(StaffAccount.id, StaffAccount.username)).all())
    for row in db.session.scalars(statement):
        actor = names.get(row.actor_id, "-") if row.actor_id else row.via
        click.echo(f"{row.at.isoformat(timespec='seconds')}  {row.action:<16} {names.get(row.staff_id, '-'):<20} "
                   f"by {actor:<16} from {row.address or '-':<15} {row.details or ''}")
