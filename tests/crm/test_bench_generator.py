"""The CRM bench's generator (tests/bench/crm_load.py) at a tiny size: the traffic it makes is shaped as
the app records it, so the bench measures reports over rows like production's. PostgreSQL only (it
generates with generate_series), in a throwaway database of the same cluster."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import make_url

from app import create_app
from shop.extensions import db
from tests.bench import crm_load
from tests.bench.loading import MIGRATIONS, libpq_url

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not DATABASE_URL.startswith("postgresql"),
                                reason="the generator writes with PostgreSQL's generate_series")


@pytest.fixture
def empty_database(base_config):
    """A migrated database of its own, dropped afterwards."""
    name = f"crm_generator_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(DATABASE_URL), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    app = create_app({**base_config, "DATABASE_URL": url})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()
    yield url
    with psycopg.connect(libpq_url(DATABASE_URL), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _one(url: str, sql: str) -> tuple:
    with psycopg.connect(libpq_url(url)) as connection:
        return connection.execute(sql).fetchone()


def test_a_generated_year_holds_the_events_asked_for_with_the_hot_day_and_attributed_orders(empty_database):
    size = crm_load.Size.of(4000, members=400, day_events=1200)
    made = crm_load.generate(empty_database, size, datetime.now(UTC))

    assert made.counts["journey_events"] == 4000
    assert made.counts["members"] == 400
    assert 1100 <= made.counts["journey_events_on_hot_day"] <= 1500
    # Every order has its order_placed step, and the hot day's buyers are attributed to its campaign.
    assert _one(empty_database, "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM journey_events e "
                "WHERE e.kind = 'order_placed' AND (e.attributes->>'order_id')::bigint = o.id)") == (0,)
    hot, touched = _one(empty_database, "SELECT count(*) FILTER (WHERE campaign = 'hot-day'), "
                        "count(*) FILTER (WHERE attributes->>'attributed_to' IS NOT NULL) FROM journey_events "
                        "WHERE kind = 'order_placed'")
    assert hot >= size.hot_orders * 0.9 and touched >= hot
    # Bound members sit below a sharer who joined before them; the tree's counters match its closure.
    assert _one(empty_database, "SELECT count(*) FROM referral_nodes WHERE parent_id >= member_id") == (0,)
    assert _one(empty_database, "SELECT count(*) FROM referral_nodes n WHERE descendants <> (SELECT count(*) "
                "FROM referral_closure c WHERE c.ancestor_id = n.member_id)") == (0,)
    assert _one(empty_database, "SELECT count(*) FROM till_sales t JOIN orders o ON o.id = t.order_id "
                "WHERE o.fulfilment <> 'in_store' OR o.paid_at IS NULL") == (0,)
