"""journey_events by month on PostgreSQL: rows land in their month, the job makes months ahead, a
row that fell into the default partition moves when its month is made. On SQLite a plain table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from crm.journey import partitions
from crm.journey.jobs import make_partitions_ahead
from shop.database import utcnow
from shop.extensions import db
from shop.members.journey import record_event
from shop.members.models import Member


def _on_postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


@pytest.fixture
def postgresql(app):
    if not _on_postgresql(app):
        pytest.skip("journey_events is partitioned on PostgreSQL only")


@pytest.fixture
def member_id(app) -> int:
    with app.app_context():
        member = Member(openid="partition-openid")
        db.session.add(member)
        db.session.commit()
        return member.id


def _holder(event_id: int) -> str:
    return db.session.scalar(text("SELECT tableoid::regclass::text FROM journey_events WHERE id = :id"),
                             {"id": event_id})


def _drop(name: str) -> None:
    db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    db.session.commit()


def test_months_are_counted_in_utc_across_a_year_end():
    month = partitions.month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert partitions.months_after(month, 1) == datetime(2027, 1, 1, tzinfo=UTC)
    assert partitions.partition_name(partitions.months_after(month, 13)) == "journey_events_p202801"
    assert partitions.is_partition("journey_events_p202801") and partitions.is_partition("journey_events_default")
    assert not partitions.is_partition("journey_events") and not partitions.is_partition("journey_events_px")


def test_on_sqlite_the_job_has_nothing_to_do(app):
    if _on_postgresql(app):
        pytest.skip("SQLite keeps a plain table")
    with app.app_context():
        assert make_partitions_ahead(utcnow()) == {"created": []}


def test_an_event_lands_in_its_month_and_the_key_holds_the_month(app, postgresql, member_id):
    with app.app_context():
        event = record_event(member_id, "logged_in")
        db.session.commit()
        assert _holder(event.id) == partitions.partition_name(partitions.month_of(event.occurred_at))
        key = db.session.scalars(text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'journey_events'::regclass AND i.indisprimary "
            "ORDER BY a.attname")).all()
        assert key == ["id", "occurred_at"]


def test_the_job_makes_the_coming_months_ahead(app, postgresql):
    later = datetime(2031, 5, 10, tzinfo=UTC)
    with app.app_context():
        try:
            made = make_partitions_ahead(later)
            db.session.commit()
            assert made == {"created": ["journey_events_p203105", "journey_events_p203106", "journey_events_p203107"]}
            assert make_partitions_ahead(later) == {"created": []}  # made once
        finally:
            for name in ("journey_events_p203105", "journey_events_p203106", "journey_events_p203107"):
                _drop(name)


def test_a_row_in_the_default_partition_moves_into_its_month_when_it_is_made(app, postgresql, member_id):
    far = datetime(2040, 3, 3, tzinfo=UTC)
    with app.app_context():
        try:
            event = record_event(member_id, "view_product", occurred_at=far)
            db.session.commit()
            assert _holder(event.id) == partitions.DEFAULT_PARTITION
            assert partitions.create_month(db.session.connection(), partitions.month_of(far))
            db.session.commit()
            assert _holder(event.id) == "journey_events_p204003"
            assert db.session.scalar(text("SELECT count(*) FROM journey_events WHERE id = :id"), {"id": event.id}) == 1
        finally:
            db.session.rollback()
            db.session.execute(text("DELETE FROM journey_events WHERE member_id = :id"), {"id": member_id})
            db.session.commit()
            _drop("journey_events_p204003")
