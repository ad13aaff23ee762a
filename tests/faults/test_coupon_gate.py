"""A flash sale while Redis comes back stale: the claim gate's keys restored from an earlier copy
(DUMP early, RESTORE ... REPLACE mid-sale), or the Redis server restarted from an older snapshot.

Many members claim over real HTTP from many threads until each has a final answer. Whatever the gate
says after the fault, the database holds: never more coupons than the total, no member over the
per-member limit, no day over the daily limit; and the gate heals by itself: claims go on succeeding
until the real total is reached. A claim that meets a gate being rebuilt is told to retry (503
``coupon_gate_rebuilding`` with Retry-After), never a 500.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import func, insert, select

from coupons.claiming import gate
from coupons.models import Coupon, CouponBatch
from shop.auth import Role, issue_shopper_token
from shop.database import utcnow
from shop.extensions import db, redis_client
from shop.members.models import Member
from tests.conftest import bearer
from tests.coupons.conftest import batch_body, copy_gate, new_key, restore_gate

MEMBERS = 240
PER_MEMBER = 2  # demand: 480 coupons, more than any batch below holds
# Claims at once: SQLite (the embedded profile) has one writer at a time, and on a busy machine a writer
# queued behind many waits past its busy timeout; PostgreSQL takes the production's concurrency.
THREADS = {"postgresql": 16, "sqlite": 6}
COPY_AT, FAULT_AT = 0.1, 0.5  # shares of the coupons to be had: when the copy is taken, when it comes back
FINAL = {"coupon_limit_reached", "coupon_out_of_stock", "coupon_daily_limit_reached"}
RETRY = {"coupon_gate_rebuilding", "coupon_claim_conflict"}  # answered with "try again": the member does
MAX_TRIES = 40


@dataclass
class Sale:
    """What the members saw, and what the fault did."""

    answers: Counter = field(default_factory=Counter)
    unexpected: list = field(default_factory=list)
    claimed: int = 0
    claimed_after_fault: int = 0
    fault_done: bool = False
    gate_believed_left: int | None = None  # when the copy was taken
    truly_left: int | None = None  # when it came back
    lock: threading.Lock = field(default_factory=threading.Lock)


def shoppers(app, count: int) -> list[str]:
    """``count`` new members, and a shopper's token for each."""
    with app.app_context():
        now = utcnow()
        ids = db.session.scalars(insert(Member).returning(Member.id), [
            {"openid": f"fault-shopper-{n}", "nickname": f"Shopper {n}", "created_at": now} for n in range(count)]).all()
        db.session.commit()
        return [issue_shopper_token(member_id) for member_id in ids]


def new_batch(target, marketing: dict, **fields) -> int:
    admin = f"{target.base_url}/api/v1/admin/coupon-batches"
    created = requests.post(admin, json=batch_body(**fields), headers=marketing, timeout=10)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    assert requests.post(f"{admin}/{batch_id}/activate", headers=marketing, timeout=10).status_code == 200
    return batch_id


def run_sale(target, batch_id: int, tokens: list[str], to_be_had: int, *, copy, restore, quiet: bool = False) -> Sale:
    """Every member claims until told no more (retrying when told to); ``copy()`` runs once after
    COPY_AT of ``to_be_had`` coupons were claimed, ``restore(copied)`` once after FAULT_AT (``quiet``: with
    no claim in flight, for a fault that takes Redis down: an outage is another scenario)."""
    sale, copied = Sale(), {}
    url = f"{target.base_url}/api/v1/coupon-batches/{batch_id}/claim"
    open_for_claims, in_flight = threading.Event(), Counter()
    open_for_claims.set()

    def after_a_coupon() -> None:
        with sale.lock:
            sale.claimed += 1
            sale.claimed_after_fault += sale.fault_done
            claimed = sale.claimed
        if claimed == int(to_be_had * COPY_AT):
            copied["it"] = copy()
            sale.gate_believed_left = left_in_gate(target, batch_id)  # and will again, once restored
        elif claimed == int(to_be_had * FAULT_AT):
            if quiet:
                open_for_claims.clear()
                while in_flight["now"] > 0:
                    time.sleep(0.005)
            restore(copied["it"])
            sale.truly_left = to_be_had - issued(target.app, batch_id)
            with sale.lock:
                sale.fault_done = True
            open_for_claims.set()

    def member(token: str) -> None:
        session = requests.Session()
        for _ in range(MAX_TRIES):
            open_for_claims.wait()
            with sale.lock:
                in_flight["now"] += 1
            response = session.post(url, headers={**bearer(token), "Idempotency-Key": new_key()}, timeout=30)
            code = response.json().get("code") if response.status_code != 201 else None
            with sale.lock:
                in_flight["now"] -= 1
                sale.answers[(response.status_code, code)] += 1
            if response.status_code == 201:
                after_a_coupon()
            elif response.status_code == 409 and code in FINAL:
                return
            elif code in RETRY:
                time.sleep(float(response.headers.get("Retry-After", "0")) / 20)  # a quick client
            else:
                sale.unexpected.append((response.status_code, response.text[:300]))
                return
        sale.unexpected.append(("no final answer", token[-8:]))

    with target.app.app_context():
        threads = THREADS[db.engine.dialect.name]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(member, tokens))
    return sale


def issued(app, batch_id: int) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(Coupon.batch_id == batch_id))
        db.session.remove()
        return count


def left_in_gate(target, batch_id: int) -> int:
    """What the gate believes is left (of the total, or of today's limit)."""
    with target.app.app_context():
        batch = db.session.get(CouponBatch, batch_id)
        total, daily_limit = batch.total, batch.daily_limit
        db.session.remove()
        client = redis_client()
        left = gate.left(client, batch_id, total) or 0
        if daily_limit is None:
            return left
        return min(left, daily_limit - gate.taken_on(client, [batch_id], gate.business_day(utcnow()))[0])


def assert_the_database_held(target, batch_id: int, sale: Sale, *, total: int, daily_limit: int | None) -> None:
    with target.app.app_context():
        rows = db.session.execute(select(Coupon.member_id, Coupon.claim_day, Coupon.issue_number)
                                  .where(Coupon.batch_id == batch_id)).all()
        stored_generation = db.session.scalar(select(CouponBatch.gate_generation).where(CouponBatch.id == batch_id))
        db.session.remove()
        gate_generation = gate.generation(redis_client(), batch_id)
    per_member = Counter(member for member, _, _ in rows)
    per_day = Counter(day for _, day, _ in rows)
    assert sale.unexpected == [], sale.answers
    assert sale.fault_done and sale.gate_believed_left > sale.truly_left  # the gate did come back stale
    assert len(rows) <= total and max(per_member.values()) <= PER_MEMBER
    assert daily_limit is None or max(per_day.values()) <= daily_limit
    to_be_had = total if daily_limit is None else min(total, daily_limit * len(per_day))
    assert len(rows) == to_be_had, sale.answers  # demand exceeded it: every coupon to be had was issued
    assert sale.claimed == len(rows) and sale.claimed_after_fault > 0  # the gate healed without a command
    assert sorted(number for _, _, number in rows) == sorted({number for _, _, number in rows})
    assert all(1 <= number <= total for _, _, number in rows)
    assert gate_generation == stored_generation  # the gate as it stands is one the database knows
    assert stored_generation <= 3  # built, rebuilt after the fault (perhaps once more): not again and again


SALES = [pytest.param({"total": 300}, id="total"),
         pytest.param({"total": 400, "daily_limit": 150}, id="daily_limit")]


@pytest.mark.parametrize("limits", SALES)
def test_a_gate_restored_from_an_earlier_copy_mid_sale_never_over_issues_and_heals(target, staff_token, limits):
    tokens = shoppers(target.app, MEMBERS)
    batch_id = new_batch(target, staff_token(Role.MARKETING), per_member_limit=PER_MEMBER, **limits)
    redis = target.redis.client()
    to_be_had = min(limits["total"], limits.get("daily_limit") or limits["total"])
    sale = run_sale(target, batch_id, tokens, to_be_had, copy=lambda: copy_gate(redis, batch_id),
                    restore=lambda copied: restore_gate(redis, batch_id, copied))
    assert_the_database_held(target, batch_id, sale, total=limits["total"], daily_limit=limits.get("daily_limit"))


@pytest.mark.parametrize("limits", SALES)
def test_redis_restarted_from_an_older_snapshot_mid_sale_never_over_issues_and_heals(target, staff_token, limits):
    tokens = shoppers(target.app, MEMBERS)
    batch_id = new_batch(target, staff_token(Role.MARKETING), per_member_limit=PER_MEMBER, **limits)
    to_be_had = min(limits["total"], limits.get("daily_limit") or limits["total"])
    sale = run_sale(target, batch_id, tokens, to_be_had, copy=target.redis.snapshot, restore=target.redis.restart_from,
                    quiet=True)
    assert_the_database_held(target, batch_id, sale, total=limits["total"], daily_limit=limits.get("daily_limit"))
