"""The database keeps every total and limit itself: each coupon's numbers (issue number, the member's
sequence, the day's number) are unique, and the one INSERT refuses any beyond the batch's bounds."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coupons.claiming import gate
from coupons.claiming.queries import insert_coupon
from coupons.models import Coupon
from shop.extensions import db, redis_client
from tests.conftest import bearer
from tests.coupons.conftest import new_key

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai


def claim(client, batch_id, token):
    return client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                       headers={**bearer(token), "Idempotency-Key": new_key()})


def numbers(app, batch_id, column=Coupon.issue_number):
    with app.app_context():
        found = db.session.scalars(select(column).where(Coupon.batch_id == batch_id)).all()
        db.session.remove()
        return sorted(found)


def row(batch_id, member_id, **numbers):
    """The columns of a coupon written straight through the one INSERT."""
    return {"batch_id": batch_id, "member_id": member_id, "sequence": 1, "issue_number": 1,
            "claim_day": gate.business_day(NOW), "claim_key": new_key(), "status": "available",
            "source": "public", "valid_from": NOW, "expires_at": NOW + timedelta(days=1), "claimed_at": NOW,
            **numbers}


def write(app, values):
    """insert_coupon in a transaction of its own: the coupon's id, or None if refused for a bound."""
    with app.app_context(), db.engine.begin() as connection:
        return insert_coupon(connection, values)


def test_each_coupon_carries_its_own_issue_number_from_one_to_the_total(app, client, login, active_batch):
    batch_id = active_batch(total=4)
    tokens = [login(f"member{n}:1")["token"] for n in range(5)]
    assert [claim(client, batch_id, token).status_code for token in tokens] == [201, 201, 201, 201, 409]
    assert numbers(app, batch_id) == [1, 2, 3, 4]


def test_an_issue_number_given_twice_is_refused_by_the_database(app, login, active_batch):
    batch_id = active_batch(total=5, per_member_limit=1)
    alice, bob = (login(f"{name}:1")["member"]["id"] for name in ("alice", "bob"))
    assert write(app, row(batch_id, alice, issue_number=3)) is not None
    with pytest.raises(IntegrityError):
        write(app, row(batch_id, bob, issue_number=3))
    assert write(app, row(batch_id, bob, issue_number=4)) is not None


@pytest.mark.parametrize("numbers_beyond", [{"issue_number": 6}, {"issue_number": 0}, {"sequence": 3}])
def test_a_number_beyond_the_batch_is_refused_by_the_database(app, login, active_batch, numbers_beyond):
    batch_id = active_batch(total=5, per_member_limit=2)
    alice = login("alice:1")["member"]["id"]
    try:
        written = write(app, row(batch_id, alice, **numbers_beyond))
    except IntegrityError:  # 0 breaks a CHECK; the rest are beyond the batch's bounds
        written = None
    assert written is None and numbers(app, batch_id) == []


def test_inserting_past_the_daily_limit_is_refused_by_the_database(app, login, active_batch):
    batch_id = active_batch(total=10, per_member_limit=1, daily_limit=2)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(4)]
    assert write(app, row(batch_id, members[0], issue_number=1, day_number=1)) is not None
    assert write(app, row(batch_id, members[1], issue_number=2, day_number=3)) is None  # past the limit
    assert write(app, row(batch_id, members[1], issue_number=2)) is None  # no day's number at all
    with pytest.raises(IntegrityError):  # the day's first number again
        write(app, row(batch_id, members[1], issue_number=2, day_number=1))
    assert write(app, row(batch_id, members[1], issue_number=2, day_number=2)) is not None
    next_day = row(batch_id, members[2], issue_number=3, day_number=1, claim_day=gate.business_day(NOW) + timedelta(1))
    assert write(app, next_day) is not None
    assert numbers(app, batch_id, Coupon.day_number) == [1, 1, 2]


def test_a_day_number_is_only_for_a_batch_with_a_daily_limit(app, login, active_batch):
    batch_id = active_batch(total=10)
    alice = login("alice:1")["member"]["id"]
    assert write(app, row(batch_id, alice, day_number=1)) is None


def test_a_day_past_its_limit_is_refused_even_when_redis_lets_it_through(app, client, login, active_batch):
    """The day's counter lost (evicted, or restored from before the day's claims): the gate hands out
    the day's numbers again, the database refuses them, and the rebuilt gate says the day is done."""
    batch_id = active_batch(total=10, per_member_limit=1, daily_limit=2)
    tokens = [login(f"member{n}:1")["token"] for n in range(4)]
    assert [claim(client, batch_id, token).status_code for token in tokens[:2]] == [201, 201]
    with app.app_context():
        redis_client().delete(*gate.day_keys(batch_id, gate.business_day(datetime.now(UTC))))
    late = claim(client, batch_id, tokens[2])
    assert late.status_code == 409 and late.get_json()["code"] == "coupon_daily_limit_reached"
    assert numbers(app, batch_id, Coupon.day_number) == [1, 2]
    assert numbers(app, batch_id) == [1, 2]


def test_a_number_lost_between_the_gate_and_the_commit_comes_back_at_the_next_rebuild(app, client, login,
                                                                                      active_batch):
    """A process that died after the gate lost #1; the rebuild reads the numbers in use (not a count):
    #1 becomes free again and no number held by a row is handed out, so no claim is refused."""
    batch_id = active_batch(total=4, per_member_limit=1)
    ghost, *members = (login(f"member{n}:1") for n in range(6))
    tokens = [member["token"] for member in members]
    assert claim(client, batch_id, tokens[0]).status_code == 201  # #1
    generation = rebuild(app, batch_id)
    with app.app_context():
        lost = gate.take(redis_client(), batch_id, ghost["member"]["id"], limit=1, total=4, generation=generation)
        assert isinstance(lost, gate.Grant)  # ... and the process dies before writing its row
    assert [claim(client, batch_id, token).status_code for token in tokens[1:4]] == [201, 201, 409]
    assert app.test_cli_runner().invoke(args=["coupons", "rebuild-gates"]).exit_code == 0
    assert claim(client, batch_id, tokens[3]).status_code == 201  # the lost number, issued after all
    assert claim(client, batch_id, tokens[4]).get_json()["code"] == "coupon_out_of_stock"
    assert numbers(app, batch_id) == [1, 2, 3, 4]
    with app.app_context():
        assert gate.generation(redis_client(), batch_id) == generation + 1  # rebuilt once: no number clashed


def rebuild(app, batch_id):
    from coupons.claiming.taking import rebuild_gate  # noqa: PLC0415

    with app.app_context():
        return rebuild_gate(batch_id, now=datetime.now(UTC))
