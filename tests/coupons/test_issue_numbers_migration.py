"""The migration that brought issue numbers numbers the coupons already written, as the gate would have."""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import ROOT
from shop.database import UTCDateTime
from shop.extensions import db
from shop.members.models import Member

BEFORE = "677df7562847"  # the revision before issue numbers
_batches = sa.table("coupon_batches", *(sa.column(name) for name in (
    "id", "name", "kind", "amount_off", "min_spend", "valid_days", "total", "per_member_limit", "channel", "status",
    "usage", "daily_limit")), sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
_coupons = sa.table("coupons", *(sa.column(name) for name in (
    "id", "batch_id", "member_id", "sequence", "status", "source", "secret")),
    *(sa.column(name, UTCDateTime) for name in ("valid_from", "expires_at", "claimed_at")))
# 23:59:59 on 1 March and midnight on 2 March in Shanghai, written in UTC
LAST_SECOND, MIDNIGHT = datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


def _batch(connection, batch_id: int, daily_limit: int | None) -> None:
    connection.execute(sa.insert(_batches).values(
        id=batch_id, name=f"batch {batch_id}", kind="amount_off", amount_off=500, min_spend=0, valid_days=7,
        total=100, per_member_limit=5, channel="public", status="active", usage="both", daily_limit=daily_limit,
        created_at=LAST_SECOND, updated_at=LAST_SECOND))


def _coupon(connection, coupon_id: int, batch_id: int, member_id: int, sequence: int, claimed_at: datetime) -> None:
    connection.execute(sa.insert(_coupons).values(
        id=coupon_id, batch_id=batch_id, member_id=member_id, sequence=sequence, status="available", source="public",
        secret="s" * 64, valid_from=claimed_at, expires_at=claimed_at, claimed_at=claimed_at))


def test_existing_coupons_get_issue_numbers_claim_days_and_day_numbers_in_the_order_written(app):
    migrations = str(ROOT / "migrations")
    with app.app_context():
        alice, bob = Member(openid="openid-alice"), Member(openid="openid-bob")
        db.session.add_all([alice, bob])
        db.session.flush()
        alice, bob = alice.id, bob.id
        db.session.commit()  # and no transaction left open: the downgrade drops tables that refer to members
        downgrade(directory=migrations, revision=BEFORE)
        try:
            with db.engine.begin() as connection:
                _batch(connection, 1, daily_limit=None)
                _batch(connection, 2, daily_limit=2)
                _coupon(connection, 10, 1, alice, 1, LAST_SECOND)
                _coupon(connection, 11, 2, alice, 1, LAST_SECOND)
                _coupon(connection, 12, 1, bob, 1, LAST_SECOND)
                _coupon(connection, 13, 2, bob, 1, MIDNIGHT)
                _coupon(connection, 14, 2, alice, 2, MIDNIGHT)
                _coupon(connection, 15, 1, alice, 2, MIDNIGHT)
        finally:
            upgrade(directory=migrations)
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, issue_number, claim_day, day_number FROM coupons ORDER BY id"))
            numbered = [(id_, number, str(day), day_number) for id_, number, day, day_number in rows]
            generations = connection.execute(sa.text("SELECT gate_generation FROM coupon_batches")).scalars().all()
    assert numbered == [(10, 1, "2026-03-01", None), (11, 1, "2026-03-01", 1), (12, 2, "2026-03-01", None),
                        (13, 2, "2026-03-02", 1), (14, 3, "2026-03-02", 2), (15, 3, "2026-03-02", None)]
    assert generations == [0, 0]
