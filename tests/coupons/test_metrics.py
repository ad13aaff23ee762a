"""Coupons' metrics move where their events happen: a claim, a redemption at the counter, a gate rebuilt."""

from coupons.claiming import gate
from shop.auth import Role
from shop.extensions import redis_client
from tests.conftest import bearer
from tests.coupons.conftest import new_key
from tests.coupons.test_redemption import post_redeem, shown_code
from tests.metric_samples import moved


def claim(client, batch_id, token):
    return client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                       headers={**bearer(token), "Idempotency-Key": new_key()})


def test_a_claim_counts_once_and_a_refused_or_retried_one_not_at_all(client, login, active_batch):
    batch_id = active_batch(total=1, per_member_limit=1)
    alice, bob = login("alice:1")["token"], login("bob:1")["token"]
    with moved("ripple_coupons_claimed_total", channel="public") as claimed:
        key = new_key()
        first = client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                            headers={**bearer(alice), "Idempotency-Key": key})
        retried = client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                              headers={**bearer(alice), "Idempotency-Key": key})
        out_of_stock = claim(client, batch_id, bob)
    assert (first.status_code, retried.status_code, out_of_stock.status_code) == (201, 200, 409)
    assert claimed() == 1


def test_a_redemption_at_the_counter_counts_once(client, in_store_coupon, stores, staff_token):
    coupon = in_store_coupon(scope_store_ids=[stores[0]])
    clerk = staff_token(Role.STAFF, store_ids=[stores[0]])
    typed = shown_code(client, coupon)
    with moved("ripple_coupons_redeemed_total", channel="counter") as redeemed:
        assert post_redeem(client, clerk, typed).status_code == 201
        assert post_redeem(client, clerk, typed).status_code == 200  # the same scan again: no second redemption
    assert redeemed() == 1


def test_a_gate_that_lost_its_generation_counts_a_rebuild_a_new_batch_does_not(app, client, login, active_batch):
    with moved("ripple_coupon_gate_rebuilds_total", reason="missing") as rebuilt:
        batch_id = active_batch(total=5, per_member_limit=1)
        assert claim(client, batch_id, login("alice:1")["token"]).status_code == 201
        assert rebuilt() == 0  # the first gate of a batch is built, not rebuilt
        with app.app_context():
            redis_client().hdel(gate.keys(batch_id)[0], "gen")
        assert claim(client, batch_id, login("bob:1")["token"]).status_code == 201
    assert rebuilt() == 1
