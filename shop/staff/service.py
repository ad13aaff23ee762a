"""Staff accounts: creation, management by admins, password login with a per-account lockout, the audit.

Every change that must end an account's sessions (a disable, a role change, a new password) raises
its ``token_version``, which every token carries: ``shop.auth`` compares the two on each staff-side
request. The lockout and the audit are rows in the database, so no state of Redis lifts or loses them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, bindparam, case, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from shop.auth import STAFF_SIDE_ROLES, Role
from shop.database import UTCDateTime, storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.staff.errors import StaffError
from shop.staff.models import StaffAccount, StaffAudit, staff_stores
from shop.stores.errors import StoreError
from shop.stores.models import Store

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # hashing is deliberately slow: longer input is refused before it is hashed
GENERATED_PASSWORD_BYTES = 12  # 16 URL-safe characters, 96 random bits
# The first guesses of any attacker (and of a tired clerk); the rest of the policy is length (NIST 800-63B).
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password123", "passw0rd", "12345678", "123456789", "1234567890", "87654321",
    "11111111", "00000000", "88888888", "66666666", "qwertyui", "qwerty123", "1qaz2wsx", "abc12345",
    "abcd1234", "iloveyou", "admin123", "administrator", "welcome1", "letmein1", "woaini1314", "5201314520",
})
# Compared against when the username is unknown, so both failures take the same time.
_UNKNOWN_USER_HASH = generate_password_hash("no-such-user-placeholder")


class StaffAction(StrEnum):
    """What an audit row records."""

    CREATED = "created"
    UPDATED = "updated"  # the display name
    DISABLED = "disabled"
    ENABLED = "enabled"
    ROLE_CHANGED = "role_changed"
    STORES_CHANGED = "stores_changed"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an audit action's name; by an admin (API or CLI)
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an audit action's name; by the account itself
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    LOGIN_FAILED = "login_failed"
    LOGGED_IN = "logged_in"


@dataclass(frozen=True)
class Origin:
    """Who acts and from where, for the audit: an admin's account (or none), the channel, the address."""

    actor_id: int | None = None
    via: str = "system"  # api, cli, system (the demo seed, tests)
    address: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # e.g. the OS user of a CLI command


SYSTEM = Origin()


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int
    window: timedelta
    duration: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LockoutPolicy:
        return cls(attempts=config["STAFF_LOCKOUT_ATTEMPTS"],
                   window=timedelta(seconds=config["STAFF_LOCKOUT_WINDOW_SECONDS"]),
                   duration=timedelta(seconds=config["STAFF_LOCKOUT_SECONDS"]))


@dataclass(frozen=True)
class LoginOutcome:
    """A login attempt: the account, or why not. Kept apart so the caller commits the failure's bookkeeping."""

    account: StaffAccount | None
    refusal: AppError | None = None


# -- the password policy ----------------------------------------------------------------------------

def password_problems(password: str, username: str) -> list[str]:
    """Why ``password`` is not good enough for ``username`` (empty: it is)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    folded = password.casefold()
    if len(username) >= 3 and username.casefold() in folded:
        problems.append("A password must not contain the username.")
    if folded in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append("This password is among the first an attacker would try.")
    return problems


def check_password_policy(password: str, username: str) -> None:
    problems = password_problems(password, username)
    if problems:
        raise AppError(StaffError.PASSWORD_WEAK, " ".join(problems), errors={"password": problems})


def generated_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


# -- accounts ---------------------------------------------------------------------------------------

def create_staff(*, username: str, password: str, role: Role, store_ids: list[int] | None = None,
                 display_name: str | None = None, must_change_password: bool = False,
                 origin: Origin = SYSTEM) -> StaffAccount:
    if role not in STAFF_SIDE_ROLES:
        raise ValueError(f"staff accounts have one of the roles {sorted(STAFF_SIDE_ROLES)}, not {role!r}")
    check_password_policy(password, username)
    if db.session.scalar(select(StaffAccount.id).where(StaffAccount.username == username)) is not None:
        raise AppError(StaffError.USERNAME_TAKEN, f"The username {username!r} is taken.")
    now = utcnow()
    account = StaffAccount(username=username, password_hash=generate_password_hash(password),
                           role=Role(role).value, stores=stores_by_id(store_ids or []),
                           display_name=display_name, active=True, created_at=now, token_version=0,
                           must_change_password=must_change_password, password_changed_at=now, failed_logins=0)
    db.session.add(account)
    db.session.flush()
    record(StaffAction.CREATED, account.id, origin, now, role=account.role, store_ids=account.store_ids)
    return account


def stores_by_id(store_ids: list[int]) -> list[Store]:
    """The stores with these ids; every id must exist."""
    wanted = set(store_ids)
    known = {store_id for store_id in wanted if storable_id(store_id)}
    stores = db.session.scalars(select(Store).where(Store.id.in_(known)).order_by(Store.id)).all() if known else []
    missing = wanted - {store.id for store in stores}
    if missing:
        raise AppError(StoreError.STORE_NOT_FOUND, f"No store with id {', '.join(map(str, sorted(missing)))}.")
    return list(stores)


def get_staff(staff_id: int) -> StaffAccount:
    account = db.session.get(StaffAccount, staff_id)
    if account is None:
        raise AppError(StaffError.STAFF_NOT_FOUND, "No such staff account.")
    return account


def staff_by_username(username: str) -> StaffAccount:
    account = db.session.scalar(select(StaffAccount).where(StaffAccount.username == username))
    if account is None:
        raise AppError(StaffError.STAFF_NOT_FOUND, f"No staff account {username!r}.")
    return account


def staff_list(*, role: str | None = None, active: bool | None = None, store_id: int | None = None,
               q: str | None = None, locked: bool | None = None, at: datetime | None = None) -> Select:
    """Accounts matching the filters, by id (a statement, for paginate); ``locked`` compares with ``at``."""
    statement = select(StaffAccount).order_by(StaffAccount.id)
    if role is not None:
        statement = statement.where(StaffAccount.role == role)
    if active is not None:
        statement = statement.where(StaffAccount.active.is_(active))
    if store_id is not None:
        statement = statement.where(StaffAccount.id.in_(
            select(staff_stores.c.staff_id).where(staff_stores.c.store_id == store_id)))
    if q:
        statement = statement.where(StaffAccount.username.contains(q, autoescape=True)
                                    | StaffAccount.display_name.contains(q, autoescape=True))
    if locked is not None:
        is_locked = StaffAccount.locked_until > (at or utcnow())
        statement = statement.where(is_locked if locked else or_(StaffAccount.locked_until.is_(None), ~is_locked))
    return statement


def update_staff(staff_id: int, changes: Mapping[str, Any], origin: Origin) -> StaffAccount:
    """Change ``active``, ``role``, ``store_ids``, ``display_name``; a disable or a role change ends its tokens."""
    account = get_staff(staff_id)
    now = utcnow()
    losing_admin = account.active and account.role == Role.ADMIN and (
        changes.get("active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN)
    if losing_admin:
        _keep_another_admin(account.id)
    if "role" in changes and changes["role"] != account.role:
        record(StaffAction.ROLE_CHANGED, account.id, origin, now, **{"from": account.role, "to": changes["role"]})
        account.role = Role(changes["role"]).value
        _end_tokens(account)
    if "active" in changes and changes["active"] != account.active:
        account.active = changes["active"]
        record(StaffAction.ENABLED if account.active else StaffAction.DISABLED, account.id, origin, now)
        if not account.active:
            _end_tokens(account)
    if "store_ids" in changes and sorted(set(changes["store_ids"])) != account.store_ids:
        before = account.store_ids
        account.stores = stores_by_id(changes["store_ids"])
        record(StaffAction.STORES_CHANGED, account.id, origin, now, **{"from": before, "to": account.store_ids})
    if "display_name" in changes and changes["display_name"] != account.display_name:
        record(StaffAction.UPDATED, account.id, origin, now,
               display_name={"from": account.display_name, "to": changes["display_name"]})
        account.display_name = changes["display_name"]
    db.session.flush()
    return account


def reset_password(staff_id: int, password: str | None, origin: Origin) -> tuple[StaffAccount, str | None]:
    """An admin sets (or, without one, generates) a new password: tokens end, the lock lifts, and the
    account must choose its own at the next login. Returns the account and the generated password."""
    account = get_staff(staff_id)
    generated = None
    if password is None:
        password = generated = generated_password()
    else:
        check_password_policy(password, account.username)
    now = utcnow()
    _set_password(account, password, now)
    account.must_change_password = True
    _clear_lockout(account)
    record(StaffAction.PASSWORD_RESET, account.id, origin, now, generated=generated is not None)
    db.session.flush()
    return account, generated


def unlock(staff_id: int, origin: Origin) -> StaffAccount:
    """Lift a lockout and forget the wrong passwords counted so far."""
    account = get_staff(staff_id)
    if account.locked_until is not None or account.failed_logins:
        record(StaffAction.UNLOCKED, account.id, origin, utcnow(), locked_until=_iso(account.locked_until),
               failed_logins=account.failed_logins)
        _clear_lockout(account)
        db.session.flush()
    return account


def change_own_password(staff_id: int, current: str, new: str, origin: Origin,
                        policy: LockoutPolicy) -> LoginOutcome:
    """The account's own new password, given its current one (a wrong one counts toward the lockout).

    Every other token of the account ends; the caller issues a fresh one."""
    account = get_staff(staff_id)
    now = utcnow()
    valid = check_password_hash(account.password_hash, current)
    if _locked(account, now):
        return LoginOutcome(None, _locked_refusal(account, now))
    if not valid:
        refusal = _count_failure(account, origin, now, policy, reason="wrong_current_password")
        return LoginOutcome(None, refusal or AppError(StaffError.CURRENT_PASSWORD_WRONG,
                                                      "The current password is wrong.",
                                                      errors={"current_password": ["Wrong password."]}))
    problems = password_problems(new, account.username)
    if new == current:
        problems.append("The new password must differ from the current one.")
    if problems:
        return LoginOutcome(None, AppError(StaffError.PASSWORD_WEAK, " ".join(problems),
                                           errors={"new_password": problems}))
    _set_password(account, new, now)
    account.must_change_password = False
    _clear_lockout(account)
    record(StaffAction.PASSWORD_CHANGED, account.id, origin, now)
    db.session.flush()
    return LoginOutcome(account)


# -- login and the lockout --------------------------------------------------------------------------

def attempt_login(username: str, password: str, origin: Origin, policy: LockoutPolicy) -> LoginOutcome:
    """The active, unlocked account with this username and password, or why not.

    Wrong username, wrong password and a disabled account are refused alike; a locked account says so
    whatever the password (so a lock never tells a guesser whether a guess was right)."""
    account = db.session.scalar(select(StaffAccount).where(StaffAccount.username == username))
    valid = check_password_hash(account.password_hash if account else _UNKNOWN_USER_HASH, password)
    now = utcnow()
    if account is None or not account.active:
        record(StaffAction.LOGIN_FAILED, account and account.id, origin, now,
               reason="unknown_username" if account is None else "disabled", username=username)
        return LoginOutcome(None, _login_failed())
    if _locked(account, now):
        record(StaffAction.LOGIN_FAILED, account.id, origin, now, reason="locked")
        return LoginOutcome(None, _locked_refusal(account, now))
    if not valid:
        return LoginOutcome(None, _count_failure(account, origin, now, policy, reason="wrong_password")
                            or _login_failed())
    _clear_lockout(account)
    account.last_login_at = now
    record(StaffAction.LOGGED_IN, account.id, origin, now)
    db.session.flush()
    return LoginOutcome(account)


def _login_failed() -> AppError:
    return AppError(StaffError.LOGIN_FAILED, "Wrong username or password, or the account is disabled.")


def _locked(account: StaffAccount, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def _locked_refusal(account: StaffAccount, now: datetime) -> AppError:
    seconds = max(1, int((account.locked_until - now).total_seconds() + 0.999))
    return AppError(StaffError.LOGIN_LOCKED,
                    f"Too many wrong passwords: this account is locked until {account.locked_until:%H:%M} UTC; "
                    "an admin can unlock it sooner.", headers={"Retry-After": str(seconds)})


def _count_failure(account: StaffAccount, origin: Origin, now: datetime, policy: LockoutPolicy,
                   reason: str) -> AppError | None:
    """Count one wrong password (atomically: parallel guesses all count); lock at the limit.

    Returns the refusal of a lock this failure caused, else None."""
    fresh = or_(StaffAccount.failed_since.is_(None), StaffAccount.failed_since < now - policy.window)
    at = bindparam("failed_at", now, type_=UTCDateTime)
    failures = db.session.execute(
        update(StaffAccount).where(StaffAccount.id == account.id)
        .values(failed_logins=case((fresh, 1), else_=StaffAccount.failed_logins + 1),
                failed_since=case((fresh, at), else_=StaffAccount.failed_since))
        .returning(StaffAccount.failed_logins),
        execution_options={"synchronize_session": "fetch"}).scalar_one()
    record(StaffAction.LOGIN_FAILED, account.id, origin, now, reason=reason, failures=failures)
    if failures < policy.attempts:
        return None
    account.locked_until = now + policy.duration
    account.failed_logins, account.failed_since = 0, None
    record(StaffAction.LOCKED, account.id, origin, now, until=_iso(account.locked_until), failures=failures)
    db.session.flush()
    return _locked_refusal(account, now)


def _clear_lockout(account: StaffAccount) -> None:
    if account.failed_logins or account.failed_since is not None or account.locked_until is not None:
        account.failed_logins, account.failed_since, account.locked_until = 0, None, None


def _set_password(account: StaffAccount, password: str, now: datetime) -> None:
    account.password_hash = generate_password_hash(password)
    account.password_changed_at = now
    _end_tokens(account)


def _end_tokens(account: StaffAccount) -> None:
    """Every token issued so far stops opening anything at this change's commit."""
    account.token_version = StaffAccount.token_version + 1  # in SQL: two changes at once both count


def _keep_another_admin(account_id: int) -> None:
    """Refuse to take away the last active admin.

    The active admins are locked (in id order) until commit, so two admins demoting each other at once
    cannot both succeed: FOR UPDATE on PostgreSQL; on SQLite the savepoint takes the database's write
    lock first (shop.database.use_real_sqlite_transactions), so the count is read under it."""
    with db.session.begin_nested():
        admins = db.session.scalars(select(StaffAccount.id).where(StaffAccount.role == Role.ADMIN.value,
                                                                  StaffAccount.active.is_(True))
                                    .order_by(StaffAccount.id).with_for_update()).all()
    if not set(admins) - {account_id}:
        raise AppError(StaffError.LAST_ADMIN, "This is the last active admin: make another admin first.")


# -- the audit --------------------------------------------------------------------------------------

def record(action: StaffAction, staff_id: int | None, origin: Origin, at: datetime, **details: Any) -> None:
    """One audit row."""
    db.session.add(StaffAudit(at=at, action=action.value, staff_id=staff_id, actor_id=origin.actor_id,
                              via=origin.via, address=(origin.address or None) and origin.address[:64],
                              details={**origin.details, **details}))


def audit_list(*, staff_id: int | None = None, action: str | None = None, actor_id: int | None = None,
               since: datetime | None = None, until: datetime | None = None) -> Select:
    """Audit rows matching the filters, newest first (a statement, for paginate)."""
    statement = select(StaffAudit).order_by(StaffAudit.id.desc())
    if staff_id is not None:
        statement = statement.where(StaffAudit.staff_id == staff_id)
    if action is not None:
        statement = statement.where(StaffAudit.action == action)
    if actor_id is not None:
        statement = statement.where(StaffAudit.actor_id == actor_id)
    if since is not None:
        statement = statement.where(StaffAudit.at >= since)
    if until is not None:
        statement = statement.where(StaffAudit.at < until)
    return statement


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
