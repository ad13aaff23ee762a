"""The whole shopper journey over HTTP, for locust against `make run-prod-local` (tests/bench/load_run).

Each iteration is a new shopper: WeChat login through the stub, nearby stores, browse, claim an online
and an in-store coupon, order for pickup with the online coupon and pay through the stub, share the
product; a friend (another new member) opens the share and buys; the demo clerk hands the shopper's
order over, redeems the in-store coupon from the shopper's rotating code and records a till sale with
the member code. Every request is named after its step, so locust reports throughput and p50/p99 per
step. The clerk is the demo brand's (`flask seed-demo`: clerk / ripple-demo at People's Square).

Settings from the environment: LOAD_STUB_URL (the WeChat stub, required), LOAD_CLERK (clerk),
LOAD_STAFF_PASSWORD (ripple-demo), LOAD_WAIT_S (pause between iterations, 0.5), LOAD_JOURNEYS_PER_S_PER_USER
(instead of the pause: each user starts a journey at most this often). For the faults run
(tests/bench/load_faults.py): LOAD_EVENTS_FILE (every answer as a JSON line: time, step, status, whether
a 503 said Retry-After) and LOAD_PAY_RETRY_S (0: an order placed without payment parameters fails the
journey; N: the shopper taps pay again every 2 s for up to N s, as the step "pay again").
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid

from locust import HttpUser, constant, constant_throughput, events, task
from locust.exception import StopUser

STUB_URL = os.environ.get("LOAD_STUB_URL", "").rstrip("/")
CLERK = os.environ.get("LOAD_CLERK", "clerk")
STAFF_PASSWORD = os.environ.get("LOAD_STAFF_PASSWORD", "ripple-demo")
PEOPLES_SQUARE = {"lat": 31.2310, "lng": 121.4740}  # the demo clerk's store, GCJ-02
OUT_OF_STOCK = {"coupon_out_of_stock", "coupon_limit_reached"}  # the demo batches are finite: not an error
PAID_STATES = {"paid", "preparing", "ready_for_pickup"}
PAY_RETRY_S = float(os.environ.get("LOAD_PAY_RETRY_S", "0"))
EVENTS_FILE = os.environ.get("LOAD_EVENTS_FILE")


if EVENTS_FILE:
    _events = open(EVENTS_FILE, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - open for the whole run

    @events.request.add_listener
    def record(request_type, name, response_time, response_length, response=None, exception=None, **kwargs):
        """Every answer with its time and status (0: no answer at all), for the faults run's windows."""
        status = getattr(response, "status_code", 0) or 0
        retry_after = bool(response is not None and getattr(response, "headers", None)
                           and response.headers.get("Retry-After"))
        event = {"t": round(time.time(), 3), "step": name, "status": status, "ok": exception is None,
                 "retry_after": retry_after}
        if exception is not None:
            event["error"] = str(exception)[:200]
        _events.write(json.dumps(event) + "\n")


class StepFailed(Exception):
    """A step answered what the journey cannot go on from (already reported to locust)."""


class Shopper(HttpUser):
    """A shopper's whole journey per iteration, with a friend and the clerk at the counter."""

    # Paced (LOAD_JOURNEYS_PER_S_PER_USER: a journey started at most that often, whatever the answers' speed)
    # for a run at a chosen throughput; else a fixed pause, and throughput grows with users until saturation.
    wait_time = (constant_throughput(float(os.environ["LOAD_JOURNEYS_PER_S_PER_USER"]))
                 if os.environ.get("LOAD_JOURNEYS_PER_S_PER_USER") else constant(float(os.environ.get("LOAD_WAIT_S", "0.5"))))

    def on_start(self) -> None:
        if not STUB_URL:
            raise StopUser("LOAD_STUB_URL is not set")
        # Once per simulated counter, not a step of the journey: named "setup: ..." so the per-step p99 target
        # leaves it out (a password check is slow on purpose); its failures still count.
        answer = self.call("POST", "/api/v1/auth/staff-login", "setup: staff login", expect=200,
                           json={"username": CLERK, "password": STAFF_PASSWORD})
        self.clerk = {"Authorization": f"Bearer {answer['token']}"}
        self.store_id = answer["store_ids"][0]

    @task
    def journey(self) -> None:
        # A failed step was counted by locust on its name; the next iteration starts afresh.
        with contextlib.suppress(StepFailed):
            self.whole_journey()

    def whole_journey(self) -> None:
        shopper = self.log_in("login")
        self.call("GET", "/api/v1/stores/nearby", "nearby", headers=shopper, expect=200,
                  params={**PEOPLES_SQUARE, "limit": 10})
        product, sku = self.browse(shopper)
        online, in_store = self.claim_coupons(shopper)
        order = self.buy(shopper, sku, coupon_id=online)
        share = self.call("POST", "/api/v1/shares", "share", headers=shopper, expect=201,
                          json={"product_id": product})
        friend = self.log_in("friend login")
        self.call("POST", "/api/v1/shares/open", "friend opens share", headers=friend, expect=201,
                  json={"scene": share["scene"]})
        self.buy(friend, sku, coupon_id=None)
        self.pick_up(order)
        if in_store is not None:
            self.redeem(shopper, in_store)
        self.till_sale(shopper)

    # --- the steps ---------------------------------------------------------------------------------

    def log_in(self, step: str) -> dict:
        answer = self.call("POST", "/api/v1/auth/wechat-login", step, expect=200,
                           json={"code": f"load{uuid.uuid4().hex[:16]}:1"})
        return {"Authorization": f"Bearer {answer['token']}"}

    def browse(self, shopper: dict) -> tuple[int, int]:
        """A product the clerk's store sells and one of its SKUs in stock at 20 yuan or more (the coupon's minimum)."""
        page = self.call("GET", "/api/v1/products", "products", headers=shopper, expect=200,
                         params={"store_id": self.store_id, "page_size": 50})
        candidates = [item for item in page["items"] if item["min_price"] >= 2000]
        if not candidates:
            raise self.fail_step("products", "no product of 20 yuan or more at the store")
        product = random.choice(candidates)  # noqa: S311 - spreads the load, not a secret
        detail = self.call("GET", f"/api/v1/products/{product['id']}", "product", headers=shopper, expect=200,
                           params={"store_id": self.store_id})
        skus = [sku for sku in detail["skus"] if sku.get("in_stock", True) and sku.get("available_at_store", True)]
        if not skus:
            raise self.fail_step("product", f"product {product['id']} has no SKU in stock at the store")
        return product["id"], random.choice(skus)["id"]  # noqa: S311

    def claim_coupons(self, shopper: dict) -> tuple[int | None, int | None]:
        """Claim the demo's public amount-off batches: one for online orders, one for the counter."""
        batches = self.call("GET", "/api/v1/coupon-batches", "coupon batches", headers=shopper, expect=200)
        claimed: dict[str, int | None] = {"online": None, "in_store": None}
        for item in batches["items"]:
            batch = item["batch"]
            if batch["kind"] != "amount_off":
                continue
            usage = "in_store" if batch.get("usage") == "in_store" else "online"
            if claimed[usage] is not None or (usage == "online" and batch.get("min_spend", 0) > 2000):
                continue
            claimed[usage] = self.claim(shopper, batch["id"])
        return claimed["online"], claimed["in_store"]

    def claim(self, shopper: dict, batch_id: int) -> int | None:
        headers = {**shopper, "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(f"/api/v1/coupon-batches/{batch_id}/claim", name="claim", headers=headers,
                              catch_response=True) as response:
            if response.status_code == 201:
                return response.json()["id"]
            if response.status_code == 409 and code_of(response) in OUT_OF_STOCK:
                response.success()  # the batch ran out: the journey goes on without that coupon
                return None
            response.failure(f"{response.status_code}: {response.text[:300]}")
            raise StepFailed

    def buy(self, shopper: dict, sku: int, coupon_id: int | None) -> dict:
        """Order for pickup at the clerk's store, pay through the stub, and see the order paid."""
        body = {"items": [{"sku_id": sku, "quantity": 1}], "fulfilment": "pickup", "store_id": self.store_id}
        if coupon_id is not None:
            body["coupon_id"] = coupon_id
        placed = self.call("POST", "/api/v1/orders", "order", expect=201, json=body,
                           headers={**shopper, "Idempotency-Key": uuid.uuid4().hex})
        placed = self.pay_again(shopper, placed)
        if placed.get("payment") is None:
            raise self.fail_step("order", f"no payment parameters: {placed.get('payment_error')}")
        prepay_id = placed["payment"]["package"].removeprefix("prepay_id=")
        self.call("POST", f"{STUB_URL}/stub/pay/{prepay_id}/confirm", "pay (stub)", expect=200, json={})
        order_id = placed["order"]["id"]
        for _ in range(20):  # the stub sends the notify before it answers; a retried notify comes later
            order = self.call("GET", f"/api/v1/orders/{order_id}", "order status", headers=shopper, expect=200)
            if order["status"] in PAID_STATES:
                return order
            time.sleep(0.25)
        raise self.fail_step("order status", f"order {order_id} still {order['status']} after paying")

    def pay_again(self, shopper: dict, placed: dict) -> dict:
        """While WeChat Pay cannot give payment parameters, tap pay again (LOAD_PAY_RETRY_S; 0: never)."""
        deadline = time.monotonic() + PAY_RETRY_S
        while placed.get("payment") is None and time.monotonic() < deadline:
            time.sleep(2)
            placed = self.call("POST", f"/api/v1/orders/{placed['order']['id']}/payment", "pay again",
                               headers=shopper, expect=200)
        return placed

    def pick_up(self, order: dict) -> None:
        """The clerk looks the pickup code up, then confirms the hand-over."""
        code = order["pickup_code"]
        self.call("POST", "/api/v1/staff/pickups", "pickup lookup", headers=self.clerk, expect=200,
                  json={"pickup_code": code})
        self.call("POST", "/api/v1/staff/pickups", "pickup confirm", headers=self.clerk, expect=201,
                  json={"pickup_code": code, "confirm": True})

    def redeem(self, shopper: dict, coupon_id: int) -> None:
        shown = self.call("GET", f"/api/v1/me/coupons/{coupon_id}/code", "coupon code", headers=shopper, expect=200)
        self.call("POST", "/api/v1/staff/redemptions", "redemption", headers=self.clerk, expect=201,
                  json={"code": shown["code"]})

    def till_sale(self, shopper: dict) -> None:
        shown = self.call("GET", "/api/v1/me/member-code", "member code", headers=shopper, expect=200)
        self.call("POST", "/api/v1/staff/sales", "till sale", headers=self.clerk, expect=201,
                  json={"member_code": shown["code"], "amount": 3500, "receipt_no": f"L-{uuid.uuid4().hex[:20]}"})

    # --- plumbing ----------------------------------------------------------------------------------

    def call(self, method: str, path: str, step: str, *, expect: int, **kwargs) -> dict:
        """One request named ``step``; its JSON body, or StepFailed when it answered other than ``expect``."""
        with self.client.request(method, path, name=step, catch_response=True, **kwargs) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                raise StepFailed
            try:
                return response.json()
            except ValueError:
                response.failure(f"not JSON: {response.text[:300]}")
                raise StepFailed from None

    def fail_step(self, step: str, message: str) -> StepFailed:
        """Report a journey failure that no single answer shows (counted under ``step``) to locust."""
        self.environment.events.request.fire(request_type="JOURNEY", name=step, response_time=0,
                                             response_length=0, exception=AssertionError(message), context={})
        return StepFailed()


def code_of(response) -> str | None:
    try:
        return response.json().get("code")
    except ValueError:
        return None
