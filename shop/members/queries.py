"""Fast reads of members on every request (SQLAlchemy Core, one primary-key read)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from shop.extensions import db
from shop.members.models import Member


def member_token_version(member_id: int, connection: Connection | None = None) -> int | None:
    """The member's token version (None: no such member, so no token of theirs is valid); read on
    ``connection`` when given (inside a write's own transaction), else in the session."""
    statement = select(Member.__table__.c.token_version).where(Member.__table__.c.id == member_id)
    return (connection or db.session).execute(statement).scalar()
