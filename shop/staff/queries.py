"""Fast reads of staff accounts (Core statements, no ORM objects): what every staff-side request asks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from shop.extensions import db
from shop.staff.models import StaffAccount, staff_stores

_accounts = StaffAccount.__table__
# One round trip by primary key: the account's state and its stores (none: one row with a NULL store).
_TOKEN_STATE = (select(_accounts.c.active, _accounts.c.role, _accounts.c.token_version,
                       _accounts.c.must_change_password, staff_stores.c.store_id)
                .select_from(_accounts.outerjoin(staff_stores, staff_stores.c.staff_id == _accounts.c.id))
                .where(_accounts.c.id == bindparam("staff_id"))
                .order_by(staff_stores.c.store_id))


@dataclass(frozen=True, slots=True)
class StaffTokenState:
    """What decides whether a staff token still opens anything, as the database has it now."""

    active: bool
    role: str
    token_version: int
    must_change_password: bool
    store_ids: tuple[int, ...]


def staff_token_state(staff_id: int) -> StaffTokenState | None:
    rows = db.session.execute(_TOKEN_STATE, {"staff_id": staff_id}).all()
    if not rows:
        return None
    active, role, token_version, must_change_password, _ = rows[0]
    return StaffTokenState(active=active, role=role, token_version=token_version,
                           must_change_password=must_change_password,
                           store_ids=tuple(row.store_id for row in rows if row.store_id is not None))
