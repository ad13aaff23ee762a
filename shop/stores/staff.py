"""Staff accounts: creation, store binding and password login."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from shop.auth import STAFF_SIDE_ROLES, Role
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.stores.errors import StaffError, StoreError
from shop.stores.models import StaffAccount, Store

MIN_PASSWORD_LENGTH = 8
# Compared against when the username is unknown, so both failures take the same time.
_UNKNOWN_USER_HASH = generate_password_hash("no-such-user-placeholder")


def create_staff(*, username: str, password: str, role: Role, store_ids: list[int] | None = None,
                 display_name: str | None = None) -> StaffAccount:
    if role not in STAFF_SIDE_ROLES:
        raise ValueError(f"staff accounts have one of the roles {sorted(STAFF_SIDE_ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.scalar(select(StaffAccount.id).where(StaffAccount.username == username)) is not None:
        raise AppError(StaffError.USERNAME_TAKEN, f"The username {username!r} is taken.")
    account = StaffAccount(username=username, password_hash=generate_password_hash(password),
                           role=Role(role).value, stores=stores_by_id(store_ids or []),
                           display_name=display_name, active=True, created_at=utcnow())
    db.session.add(account)
    db.session.flush()
    return account


def stores_by_id(store_ids: list[int]) -> list[Store]:
    """The stores with these ids; every id must exist."""
    wanted = set(store_ids)
    stores = db.session.scalars(select(Store).where(Store.id.in_(wanted)).order_by(Store.id)).all() if wanted else []
    missing = wanted - {store.id for store in stores}
    if missing:
        raise AppError(StoreError.STORE_NOT_FOUND, f"No store with id {', '.join(map(str, sorted(missing)))}.")
    return list(stores)


def authenticate(username: str, password: str) -> StaffAccount:
    """The active account with this username and password, or a login failure (same for every cause)."""
    account = db.session.scalar(select(StaffAccount).where(StaffAccount.username == username))
    valid = check_password_hash(account.password_hash if account else _UNKNOWN_USER_HASH, password)
    if account is None or not valid or not account.active:
        raise AppError(StaffError.LOGIN_FAILED, "Wrong username or password, or the account is disabled.")
    account.last_login_at = utcnow()
    return account
