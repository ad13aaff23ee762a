"""A backup restored into a new database holds every row and the same ledger sums (`make backup`,
`make restore`: shop/backups). PostgreSQL only: backups are pg_dump's."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from coupons.demo import seed_coupon_demo
from referral.demo import seed_referral_demo
from shop.backups import service as backups
from shop.demo import seed_demo
from shop.extensions import db
from tests.orders.conftest import eventually, pickup_basket, place, prepay_id_of, stub_pay


@pytest.fixture
def demo(app) -> None:
    """The demo's stores, coupons, members and paid orders with their points and rewards (seeded through the
    services, before the ``shop`` fixture's products so that its stock stays its own)."""
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("backups are PostgreSQL's (pg_dump); the suite runs on SQLite here")
    with app.app_context():
        seed_demo("demo-password")
        seed_coupon_demo()
        seed_referral_demo()
        db.session.commit()


@pytest.fixture
def source(app, demo, client, stub, shop, alice, live_server) -> str:
    """The suite's database, filled through the app: the demo, and a shopper's order paid through WeChat Pay
    (the stub) and partly refunded."""
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    url = f"/api/v1/orders/{placed['order']['id']}"
    line = next(line for line in client.get(url, headers=alice).get_json()["lines"] if line["sku_id"] == shop.latte)
    asked = client.post(f"{url}/refund", headers=alice,
                        json={"reason": "one latte too many", "lines": [{"line_id": line["id"], "quantity": 1}]})
    assert asked.status_code == 202, asked.get_json()
    assert eventually(lambda: client.get(url, headers=alice).get_json()["refunded_total"] == 2800)
    return app.config["DATABASE_URL"]


@pytest.fixture
def new_database(source):
    """The URL of a database that does not exist yet on the same server; dropped afterwards."""
    url = make_url(source)
    url = url.set(database=f"{url.database}_restored_{secrets.token_hex(4)}")
    yield url.render_as_string(hide_password=False)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def test_a_backup_restored_into_a_new_database_has_every_row_and_the_same_ledger_sums(source, new_database,
                                                                                      tmp_path):
    dump = backups.back_up(source, tmp_path / "backups")
    summary = backups.summary_of(dump).read_text()
    for filled in ("rows:payments", "rows:refunds", "rows:points_ledger", "rows:referral_rewards"):
        assert f'"{filled}": 0' not in summary, filled

    assert backups.restore(dump, new_database) == []


def test_the_check_names_a_restore_that_lost_a_row_or_a_sum(source, new_database, tmp_path):
    dump = backups.back_up(source, tmp_path)
    assert backups.restore(dump, new_database) == []
    engine = create_engine(new_database)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM refunds"))
        connection.execute(text("UPDATE payments SET amount = amount + 1 WHERE id = (SELECT min(id) FROM payments)"))
    engine.dispose()

    found = backups.check(dump, new_database)
    assert any(line.startswith("rows:refunds: backup 1, restored 0") for line in found), found
    assert any(line.startswith("sum:payments.amount[") for line in found), found


def test_a_restore_refuses_a_database_that_already_has_tables(source, tmp_path):
    dump = backups.back_up(source, tmp_path)
    with pytest.raises(backups.BackupError, match="already has tables"):
        backups.restore(dump, source)
