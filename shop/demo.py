"""Demo data for `python app.py` on a fresh database (never in production)."""

from __future__ import annotations

from sqlalchemy import select

from shop.auth import Role
from shop.extensions import db
from shop.stores.models import StaffAccount
from shop.stores.service import create_staff

DEMO_ACCOUNTS = (
    ("admin", Role.ADMIN, "Demo admin"),
    ("marketing", Role.MARKETING, "Demo marketer"),
    ("clerk", Role.STAFF, "Demo store clerk"),
)


def seed_demo_accounts(password: str) -> list[str]:
    """Create the demo staff accounts on a database that has none; the names created."""
    if db.session.scalar(select(StaffAccount.id).limit(1)) is not None:
        return []
    for username, role, name in DEMO_ACCOUNTS:
        create_staff(username=username, password=password, role=role, display_name=name)
    return [username for username, _, _ in DEMO_ACCOUNTS]
