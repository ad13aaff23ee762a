"""Fast reads of members on every request (SQLAlchemy Core, one primary-key read)."""

from __future__ import annotations

from sqlalchemy import select

from shop.extensions import db
from shop.members.models import Member


def member_token_version(member_id: int) -> int | None:
    """The member's token version (None: no such member, so no token of theirs is valid)."""
    return db.session.execute(select(Member.__table__.c.token_version)
                              .where(Member.__table__.c.id == member_id)).scalar()
