"""A Redis that comes back stale (a snapshot restored, a lagging replica promoted) cannot over-issue.

The gate carries a generation the batch row also knows: a gate from before the last rebuild is
rebuilt before it serves. A gate that is behind at the current generation hands out numbers the
rows hold: the database refuses them and the gate is rebuilt at once. Either way the claim goes on.
Every issuing path (claims, targeted jobs, the automatic channels, exchange codes) follows the rule.
"""

import pytest
from sqlalchemy import select

from coupons.claiming import gate, taking
from coupons.models import Coupon, CouponBatch
from shop.extensions import db, redis_client
from tests.conftest import bearer
from tests.coupons.conftest import copy_gate, issued_per_member, new_key, restore_gate

pytestmark = pytest.mark.redis_cluster  # also run on a Redis Cluster (.ci/run)

URL = "/api/v1/admin/coupon-batches"


def claim(client, batch_id, token):
    return client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                       headers={**bearer(token), "Idempotency-Key": new_key()})


def generations(app, batch_id) -> tuple[int, int | None]:
    """(the batch row's generation, the gate's)."""
    with app.app_context():
        stored = db.session.scalar(select(CouponBatch.gate_generation).where(CouponBatch.id == batch_id))
        db.session.remove()
        return stored, gate.generation(redis_client(), batch_id)


def issue_numbers(app, batch_id):
    with app.app_context():
        found = db.session.scalars(select(Coupon.issue_number).where(Coupon.batch_id == batch_id)).all()
        db.session.remove()
        return sorted(found)


def copied(app, batch_id):
    with app.app_context():
        return copy_gate(redis_client(), batch_id)


def restored(app, batch_id, copy):
    with app.app_context():
        restore_gate(redis_client(), batch_id, copy)


def rebuilds(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "rebuilt from the coupon rows" in record.getMessage()]


def test_the_batch_row_and_its_gate_share_a_generation_bumped_at_every_rebuild(app, client, login, active_batch):
    batch_id = active_batch()
    assert generations(app, batch_id) == (0, None)
    assert claim(client, batch_id, login("alice:1")["token"]).status_code == 201  # the first claim builds the gate
    assert generations(app, batch_id) == (1, 1)
    assert app.test_cli_runner().invoke(args=["coupons", "rebuild-gates"]).exit_code == 0
    assert generations(app, batch_id) == (2, 2)


def test_a_gate_of_an_older_generation_serves_nothing_and_is_rebuilt_before_the_claim(app, client, login,
                                                                                       active_batch, caplog):
    batch_id = active_batch(total=5, per_member_limit=1)
    alice, bob, carol = (login(f"{name}:1") for name in ("alice", "bob", "carol"))
    assert claim(client, batch_id, alice["token"]).status_code == 201
    snapshot = copied(app, batch_id)  # generation 1
    assert app.test_cli_runner().invoke(args=["coupons", "rebuild-gates"]).exit_code == 0
    assert claim(client, batch_id, bob["token"]).status_code == 201
    restored(app, batch_id, snapshot)  # generation 1 again, without bob
    with app.app_context():
        refused = gate.take(redis_client(), batch_id, carol["member"]["id"], limit=1, total=5, generation=2)
        assert refused == gate.REBUILD and redis_client().hget(gate.keys(batch_id)[0], "next") == b"2"
    caplog.clear()
    assert claim(client, batch_id, carol["token"]).status_code == 201
    assert claim(client, batch_id, bob["token"]).get_json()["code"] == "coupon_limit_reached"
    assert rebuilds(caplog) == [f"coupon gate of batch {batch_id} rebuilt from the coupon rows at generation 3 "
                                "(it was of generation 1, not the batch's)"]  # never served a number
    assert issue_numbers(app, batch_id) == [1, 2, 3]
    assert generations(app, batch_id) == (3, 3)


def test_a_gate_whose_keys_lost_their_generation_is_rebuilt_before_it_serves(app, client, login, active_batch,
                                                                             caplog):
    batch_id = active_batch(total=5, per_member_limit=1)
    assert claim(client, batch_id, login("alice:1")["token"]).status_code == 201
    with app.app_context():
        redis_client().hdel(gate.keys(batch_id)[0], "gen")  # the counter and the members are still there
    caplog.clear()
    assert claim(client, batch_id, login("bob:1")["token"]).status_code == 201
    assert [message.endswith("(it was missing)") for message in rebuilds(caplog)] == [True]
    assert issue_numbers(app, batch_id) == [1, 2]


def test_a_gate_restored_from_an_earlier_copy_never_issues_beyond_the_total(app, client, login, active_batch, caplog):
    """The copy is of the current generation: it hands out numbers the rows hold, the database refuses
    them, and the gate heals at once, without a command."""
    batch_id = active_batch(total=6, per_member_limit=1)
    tokens = [login(f"member{n}:1")["token"] for n in range(10)]
    assert [claim(client, batch_id, token).status_code for token in tokens[:3]] == [201] * 3
    snapshot = copied(app, batch_id)
    assert [claim(client, batch_id, token).status_code for token in tokens[3:5]] == [201] * 2
    restored(app, batch_id, snapshot)  # the gate believes 3 are issued, and knows only the first three members
    caplog.clear()
    statuses = [claim(client, batch_id, token).status_code for token in tokens[3:]]
    assert statuses == [409, 409, 201, 409, 409, 409, 409]  # members 3 and 4 hold theirs; one coupon was left
    assert issue_numbers(app, batch_id) == [1, 2, 3, 4, 5, 6]
    assert set(issued_per_member(app, batch_id).values()) == {1}
    assert len(rebuilds(caplog)) == 1 and "numbers the coupon rows hold" in rebuilds(caplog)[0]


def test_a_claim_that_meets_a_gate_being_rebuilt_for_too_long_is_told_to_retry(app, client, login, active_batch,
                                                                                monkeypatch):
    batch_id = active_batch(total=5)
    alice = login("alice:1")["token"]
    assert claim(client, batch_id, alice).status_code == 201
    monkeypatch.setattr(taking, "REBUILD_WAIT_S", 0.2)
    with app.app_context():
        redis_client().delete(gate.keys(batch_id)[0])
        redis_client().set(gate.lock_key(batch_id), "another process", px=60_000)  # a slow rebuild elsewhere
    bob = login("bob:1")["token"]
    waiting = claim(client, batch_id, bob)
    assert waiting.status_code == 503 and waiting.get_json()["code"] == "coupon_gate_rebuilding"
    assert waiting.headers["Retry-After"] == "1"
    assert issue_numbers(app, batch_id) == [1]
    with app.app_context():
        redis_client().delete(gate.lock_key(batch_id))
    assert claim(client, batch_id, bob).status_code == 201


# Every issuing path goes through the same rule.

def test_a_restored_gate_does_not_over_issue_a_targeted_batch(app, client, login, marketing, active_batch):
    batch_id = active_batch(channel="targeted", total=4)
    members = [login(f"member{n}:1")["member"]["id"] for n in range(8)]

    def issue(member_ids):
        started = client.post(f"{URL}/{batch_id}/issue", json={"member_ids": member_ids}, headers=marketing)
        return client.get(f"{URL}/{batch_id}/issue-jobs/{started.get_json()['id']}", headers=marketing).get_json()

    assert issue(members[:2])["issued"] == 2
    snapshot = copied(app, batch_id)
    assert issue(members[2:4])["issued"] == 2
    restored(app, batch_id, snapshot)
    job = issue(members[4:])
    assert (job["issued"], job["skip_reasons"]) == (0, {"out_of_stock": 4})
    assert issue_numbers(app, batch_id) == [1, 2, 3, 4]


def test_a_restored_gate_does_not_over_issue_welcome_coupons(app, login, active_batch):
    batch_id = active_batch(channel="new_member", total=2)
    login("alice:1")
    snapshot = copied(app, batch_id)
    login("bob:1")
    restored(app, batch_id, snapshot)
    for name in ("carol", "dave"):
        assert login(f"{name}:1")["is_new"]  # registrations go on, coupon or not
    assert issue_numbers(app, batch_id) == [1, 2]


def test_a_restored_gate_does_not_over_issue_exchange_codes(app, client, login, marketing, active_batch):
    batch_id = active_batch(channel="exchange_code", total=2)
    client.post(f"{URL}/{batch_id}/exchange-codes", json={"count": 2}, headers=marketing)
    codes = client.get(f"{URL}/{batch_id}/exchange-codes.csv", headers=marketing).get_data(as_text=True).split()[1:]
    codes = [line.split(",")[0] for line in codes]
    extra = _more_codes(app, batch_id)

    def exchange(name, code):
        return client.post("/api/v1/me/coupons/exchange", json={"code": code},
                           headers=bearer(login(f"{name}:1")["token"]))

    assert exchange("alice", codes[0]).status_code == 201
    snapshot = copied(app, batch_id)
    assert exchange("bob", codes[1]).status_code == 201
    restored(app, batch_id, snapshot)
    refused = exchange("carol", extra[0])
    assert refused.status_code == 409 and refused.get_json()["code"] == "coupon_out_of_stock"
    assert issue_numbers(app, batch_id) == [1, 2]


def _more_codes(app, batch_id) -> list[str]:
    """A code beyond the total (printed by mistake, say): its exchange must still find no coupon."""
    from coupons.models import CouponExchangeCode  # noqa: PLC0415
    from shop.database import utcnow  # noqa: PLC0415

    with app.app_context():
        db.session.add(CouponExchangeCode(batch_id=batch_id, code="ZZZZZZZZZZZZ", created_at=utcnow()))
        db.session.commit()
    return ["ZZZZZZZZZZZZ"]
