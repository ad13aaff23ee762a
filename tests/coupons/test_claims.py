"""Claiming: the claim center, a claim and its retry, limits, states, the wallet, the gates."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from coupons.models import Coupon
from shop.extensions import db, redis_client
from tests.conftest import bearer
from tests.coupons.conftest import batch_body, new_key

pytestmark = [pytest.mark.redis_cluster, pytest.mark.pgbouncer]  # also run on a Redis Cluster and through PgBouncer (.ci/run)


def claim(client, batch_id, token, key=None):
    return client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                       headers={**bearer(token), "Idempotency-Key": key or new_key()})


def test_claim_and_a_retry_returns_the_first_coupon(client, login, active_batch):
    batch_id = active_batch(per_member_limit=2)
    token = login("alice:1")["token"]
    key = new_key()
    first = claim(client, batch_id, token, key)
    assert first.status_code == 201, first.get_json()
    coupon = first.get_json()
    assert coupon["status"] == "available" and coupon["sequence"] == 1 and coupon["batch"]["id"] == batch_id
    again = claim(client, batch_id, token, key)
    assert again.status_code == 200 and again.get_json() == coupon
    wallet = client.get("/api/v1/me/coupons", headers=bearer(token)).get_json()
    assert wallet["total"] == 1


def test_claim_needs_a_key_and_a_key_names_one_batch(client, login, active_batch):
    first, second = active_batch(), active_batch()
    token = login("alice:1")["token"]
    missing = client.post(f"/api/v1/coupon-batches/{first}/claim", headers=bearer(token))
    assert missing.status_code == 400 and missing.get_json()["code"] == "idempotency_key_required"
    key = new_key()
    assert claim(client, first, token, key).status_code == 201
    reused = claim(client, second, token, key)
    assert reused.status_code == 422 and reused.get_json()["code"] == "idempotency_key_reused"


def test_per_member_limit_and_total(client, login, active_batch):
    batch_id = active_batch(total=3, per_member_limit=2)
    alice, bob = login("alice:1")["token"], login("bob:1")["token"]
    assert [claim(client, batch_id, alice).status_code for _ in range(2)] == [201, 201]
    limited = claim(client, batch_id, alice)
    assert limited.status_code == 409 and limited.get_json()["code"] == "coupon_limit_reached"
    assert claim(client, batch_id, bob).status_code == 201
    out = claim(client, batch_id, bob)
    assert out.status_code == 409 and out.get_json()["code"] == "coupon_out_of_stock"


def test_only_active_open_batches_are_claimable(client, login, marketing, active_batch):
    token = login("alice:1")["token"]
    draft = client.post("/api/v1/admin/coupon-batches", json=batch_body(), headers=marketing).get_json()["id"]
    response = claim(client, draft, token)
    assert response.status_code == 409 and response.get_json()["code"] == "coupon_batch_not_active"
    paused = active_batch()
    client.post(f"/api/v1/admin/coupon-batches/{paused}/pause", headers=marketing)
    assert claim(client, paused, token).get_json()["code"] == "coupon_batch_not_active"
    now = datetime.now(UTC)
    future = active_batch(valid_days=None, starts_at=(now + timedelta(days=1)).isoformat(),
                          ends_at=(now + timedelta(days=2)).isoformat())
    assert claim(client, future, token).get_json()["code"] == "coupon_batch_not_active"
    assert claim(client, 999, token).status_code == 404
    listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
    assert listed["total"] == 0


def test_the_claim_center_lists_what_i_may_still_claim(client, login, active_batch, marketing):
    two = active_batch(per_member_limit=2)
    one = active_batch(per_member_limit=1)
    token = login("alice:1")["token"]
    listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
    assert [(item["batch"]["id"], item["may_claim"]) for item in listed["items"]] == [(one, 1), (two, 2)]
    claim(client, one, token)
    claim(client, two, token)
    listed = client.get("/api/v1/coupon-batches", headers=bearer(token)).get_json()
    assert [(item["batch"]["id"], item["claimed"], item["may_claim"]) for item in listed["items"]] == [(two, 1, 1)]
    assert client.get("/api/v1/coupon-batches", headers=marketing).status_code == 403
    detail = client.get(f"/api/v1/admin/coupon-batches/{two}", headers=marketing).get_json()
    assert (detail["issued"], detail["remaining"]) == (1, 9)


def test_the_wallet_shows_expired_coupons_as_expired(app, client, login, active_batch):
    now = datetime.now(UTC)
    window = active_batch(valid_days=None, starts_at=(now - timedelta(days=1)).isoformat(),
                          ends_at=(now + timedelta(days=1)).isoformat())
    days = active_batch(valid_days=3)
    token = login("alice:1")["token"]
    assert claim(client, window, token).status_code == 201
    kept = claim(client, days, token).get_json()
    with app.app_context():  # time passes for the windowed coupon
        coupon = db.session.scalar(select(Coupon).where(Coupon.batch_id == window))
        coupon.expires_at = now - timedelta(seconds=1)
        db.session.commit()

    def wallet(query=""):
        return client.get(f"/api/v1/me/coupons{query}", headers=bearer(token)).get_json()

    assert [item["id"] for item in wallet("?status=available")["items"]] == [kept["id"]]
    expired = wallet("?status=expired")["items"]
    assert len(expired) == 1 and expired[0]["status"] == "expired"
    assert wallet("?status=used")["total"] == 0
    assert wallet()["total"] == 2
    assert client.get("/api/v1/me/coupons?status=lost", headers=bearer(token)).status_code == 422
    other = login("bob:1")["token"]
    assert client.get("/api/v1/me/coupons", headers=bearer(other)).get_json()["total"] == 0


def test_the_wallet_lists_available_coupons_soonest_to_expire_first_and_all_newest_first(client, login,
                                                                                        active_batch):
    token = login("alice:1")["token"]
    month, three_days, ten_days = (claim(client, active_batch(valid_days=days), token).get_json()["id"]
                                   for days in (30, 3, 10))

    def listed(query=""):
        return [item["id"] for item in client.get(f"/api/v1/me/coupons{query}", headers=bearer(token)).get_json()["items"]]

    assert listed("?status=available") == [three_days, ten_days, month]
    assert listed() == [ten_days, three_days, month]


def _issued(app, batch_id):
    with app.app_context():
        counts = db.session.execute(select(Coupon.member_id, func.count()).where(Coupon.batch_id == batch_id)
                                    .group_by(Coupon.member_id)).all()
        db.session.remove()
        return dict(counts)


def test_concurrent_claims_never_over_issue(app, login, active_batch, live_server):
    batch_id = active_batch(total=10, per_member_limit=1)
    tokens = [login(f"member{n}:1")["token"] for n in range(20)]

    def attempt(token):
        response = requests.post(f"{live_server}/api/v1/coupon-batches/{batch_id}/claim", timeout=30,
                                 headers={**bearer(token), "Idempotency-Key": new_key()})
        return response.status_code, response.json().get("code")

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(attempt, tokens * 2))
    assert sum(status == 201 for status, _ in results) == 10
    assert {code for status, code in results if status != 201} <= {"coupon_out_of_stock", "coupon_limit_reached"}
    assert all(status in (201, 409) for status, _ in results)
    per_member = _issued(app, batch_id)
    assert sum(per_member.values()) == 10 and max(per_member.values()) == 1


def test_concurrent_claims_of_one_member_hold_the_limit(app, login, active_batch, live_server):
    batch_id = active_batch(total=100, per_member_limit=3)
    alice = login("alice:1")
    token = alice["token"]

    def attempt(_):
        return requests.post(f"{live_server}/api/v1/coupon-batches/{batch_id}/claim", timeout=30,
                             headers={**bearer(token), "Idempotency-Key": new_key()}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert statuses.count(201) == 3 and set(statuses) == {201, 409}
    assert _issued(app, batch_id) == {alice["member"]["id"]: 3}


def test_rebuild_gates_after_a_redis_flush_keeps_exactness(app, client, login, active_batch):
    batch_id = active_batch(total=4, per_member_limit=2)
    alice, bob = login("alice:1")["token"], login("bob:1")["token"]
    assert claim(client, batch_id, alice).status_code == 201
    assert claim(client, batch_id, alice).status_code == 201
    with app.app_context():
        redis_client().flushdb()
    result = app.test_cli_runner().invoke(args=["coupons", "rebuild-gates"])
    assert result.exit_code == 0 and "1 batches" in result.output
    assert claim(client, batch_id, alice).get_json()["code"] == "coupon_limit_reached"
    assert [claim(client, batch_id, bob).status_code for _ in range(3)] == [201, 201, 409]
    carol = login("carol:1")["token"]
    assert claim(client, batch_id, carol).get_json()["code"] == "coupon_out_of_stock"
    assert sum(_issued(app, batch_id).values()) == 4


def test_a_lost_gate_is_rebuilt_from_the_database_on_first_claim(app, client, login, active_batch):
    batch_id = active_batch(total=2, per_member_limit=1)
    alice, bob, carol = (login(f"{name}:1")["token"] for name in ("alice", "bob", "carol"))
    assert claim(client, batch_id, alice).status_code == 201
    with app.app_context():
        redis_client().flushdb()
    assert claim(client, batch_id, alice).get_json()["code"] == "coupon_limit_reached"
    assert claim(client, batch_id, bob).status_code == 201
    assert claim(client, batch_id, carol).get_json()["code"] == "coupon_out_of_stock"


def test_claims_go_on_after_redis_forgot_the_gate_script(app, client, login, active_batch):
    batch_id = active_batch(total=2, per_member_limit=1)
    alice, bob = login("alice:1")["token"], login("bob:1")["token"]
    assert claim(client, batch_id, alice).status_code == 201
    with app.app_context():
        redis_client().script_flush()  # a restarted server knows no script
    assert claim(client, batch_id, alice).get_json()["code"] == "coupon_limit_reached"
    assert claim(client, batch_id, bob).status_code == 201


def test_a_gate_that_forgot_a_members_coupon_is_refused_by_the_database_and_rebuilt(app, client, login, active_batch):
    """A gate behind the rows (as after a lost Redis write) hands out numbers a row holds: the INSERT is
    refused, the gate is rebuilt from the rows at once and the claim takes again."""
    batch_id = active_batch(total=3, per_member_limit=2)
    alice = login("alice:1")
    token, member_id = alice["token"], alice["member"]["id"]
    assert claim(client, batch_id, token).get_json()["sequence"] == 1
    with app.app_context():  # the gate forgets alice's coupon and its number
        from coupons.claiming import gate  # noqa: PLC0415
        gate_key, _, members = gate.keys(batch_id)
        redis_client().hdel(members, member_id)
        redis_client().hset(gate_key, "next", 1)
    second = claim(client, batch_id, token)
    assert second.status_code == 201 and second.get_json()["sequence"] == 2
    assert claim(client, batch_id, token).get_json()["code"] == "coupon_limit_reached"
    assert claim(client, batch_id, login("bob:1")["token"]).status_code == 201
    assert claim(client, batch_id, login("carol:1")["token"]).get_json()["code"] == "coupon_out_of_stock"
    with app.app_context():
        numbers = db.session.scalars(select(Coupon.issue_number).where(Coupon.batch_id == batch_id)).all()
    assert sorted(numbers) == [1, 2, 3]


def test_a_claimed_batch_that_is_paused_stops_claims_at_once(client, login, marketing, active_batch):
    """The claim path keeps a copy of the batch; pausing it must reach that copy before the next claim."""
    batch_id = active_batch(total=10, per_member_limit=5)
    token = login("alice:1")["token"]
    assert claim(client, batch_id, token).status_code == 201  # the batch is now in the process's copy
    assert client.post(f"/api/v1/admin/coupon-batches/{batch_id}/pause", headers=marketing).status_code == 200
    paused = claim(client, batch_id, token)
    assert paused.status_code == 409 and paused.get_json()["code"] == "coupon_batch_not_active"
    assert client.post(f"/api/v1/admin/coupon-batches/{batch_id}/activate", headers=marketing).status_code == 200
    assert claim(client, batch_id, token).status_code == 201
    assert client.post(f"/api/v1/admin/coupon-batches/{batch_id}/end", headers=marketing).status_code == 200
    assert claim(client, batch_id, token).get_json()["code"] == "coupon_batch_not_active"


def test_a_batch_changed_directly_in_the_database_is_seen_by_the_next_claim(app, client, login, active_batch):
    batch_id = active_batch(total=10, per_member_limit=5)
    token = login("alice:1")["token"]
    assert claim(client, batch_id, token).status_code == 201
    with app.app_context():  # an operator's change through the ORM, not the API
        from coupons.models import CouponBatch  # noqa: PLC0415
        db.session.get(CouponBatch, batch_id).status = "paused"
        db.session.commit()
    assert claim(client, batch_id, token).get_json()["code"] == "coupon_batch_not_active"


def test_the_batch_copy_survives_a_redis_flush_without_hiding_a_change(app, client, login, marketing, active_batch):
    batch_id = active_batch(total=10, per_member_limit=5)
    token = login("alice:1")["token"]
    assert claim(client, batch_id, token).status_code == 201
    with app.app_context():
        redis_client().flushdb()  # the version tokens go too: the copy is reloaded, the gate rebuilt
    assert claim(client, batch_id, token).status_code == 201
    client.post(f"/api/v1/admin/coupon-batches/{batch_id}/pause", headers=marketing)
    assert claim(client, batch_id, token).get_json()["code"] == "coupon_batch_not_active"
    assert sum(_issued(app, batch_id).values()) == 2


def test_a_retry_after_the_batch_closed_or_ran_out_returns_the_first_coupon(client, login, marketing, active_batch):
    batch_id = active_batch(total=1, per_member_limit=1)
    token = login("alice:1")["token"]
    key = new_key()
    first = claim(client, batch_id, token, key)
    assert first.status_code == 201
    assert claim(client, batch_id, token, key).get_json() == first.get_json()  # the gate says out of stock
    client.post(f"/api/v1/admin/coupon-batches/{batch_id}/end", headers=marketing)
    again = claim(client, batch_id, token, key)
    assert again.status_code == 200 and again.get_json() == first.get_json()


def test_a_core_update_is_seen_once_announced_or_once_the_copy_is_old(app, client, login, active_batch, monkeypatch):
    from sqlalchemy import update  # noqa: PLC0415

    from coupons.claiming import batch_cache  # noqa: PLC0415
    from coupons.models import CouponBatch  # noqa: PLC0415

    batch_id = active_batch(total=10, per_member_limit=5)
    token = login("alice:1")["token"]

    def set_status(status, *, announce):
        with app.app_context():
            db.session.execute(update(CouponBatch).where(CouponBatch.id == batch_id).values(status=status))
            db.session.commit()
            if announce:
                batch_cache.changed(batch_id)

    assert claim(client, batch_id, token).status_code == 201
    set_status("paused", announce=True)
    assert claim(client, batch_id, token).get_json()["code"] == "coupon_batch_not_active"
    set_status("active", announce=True)
    assert claim(client, batch_id, token).status_code == 201
    set_status("paused", announce=False)  # as if the token could not be written
    monkeypatch.setattr(batch_cache, "MAX_AGE_S", 0.0)  # the copy's age bounds how long it is trusted
    assert claim(client, batch_id, token).get_json()["code"] == "coupon_batch_not_active"
