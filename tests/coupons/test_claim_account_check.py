"""The flash claim checks the shopper's account late (shop/auth.py ``late_account_check``): "sold out"
comes from Redis alone, but a deleted account's token never gets or sees a coupon."""

from contextlib import contextmanager

from sqlalchemy import event, func, select

from coupons.models import Coupon
from shop.extensions import db
from tests.conftest import bearer
from tests.coupons.conftest import new_key
from tests.coupons.test_claims import claim


def coupons_of(app, batch_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.batch_id == batch_id))


@contextmanager
def statements_counted(app):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_deleted_members_token_claims_nothing_and_the_coupon_stays_for_others(app, client, login, active_batch):
    batch_id = active_batch(total=1)
    alice = login("alice:1")["token"]
    assert client.delete("/api/v1/me", headers=bearer(alice)).status_code == 200

    refused = claim(client, batch_id, alice)
    assert refused.status_code == 401 and refused.get_json()["code"] == "token_invalid"
    assert coupons_of(app, batch_id) == 0
    bob = claim(client, batch_id, login("bob:1")["token"])  # the gate gave the refused take back
    assert bob.status_code == 201, bob.get_json()


def test_a_retried_claim_after_the_account_was_deleted_shows_no_coupon(app, client, login, active_batch):
    batch_id = active_batch()
    alice, key = login("alice:1")["token"], new_key()
    assert claim(client, batch_id, alice, key).status_code == 201
    assert client.delete("/api/v1/me", headers=bearer(alice)).status_code == 200

    again = claim(client, batch_id, alice, key)  # answered from the row the key wrote: checked before it leaves
    assert again.status_code == 401 and again.get_json()["code"] == "token_invalid"


def test_a_sold_out_claim_is_answered_without_a_database_round_trip(app, client, login, active_batch):
    batch_id = active_batch(total=1)
    assert claim(client, batch_id, login("bob:1")["token"]).status_code == 201
    alice = login("alice:1")["token"]

    with statements_counted(app) as statements:
        refused = claim(client, batch_id, alice)
    assert refused.status_code == 409 and refused.get_json()["code"] == "coupon_out_of_stock"
    assert statements == []
