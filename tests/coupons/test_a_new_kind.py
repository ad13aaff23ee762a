"""A new kind is one module: this one, registered, is issued, described, claimed and taken off an
order end to end, with nothing else changed (the registry is what batches and checkout read)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from coupons.kinds import KINDS, Kind, Offer, register
from coupons.kinds.kind import fen_field
from coupons.kinds.lines import CoveredLine, Shares, yuan
from tests.coupons import checkout_fixtures as fixtures
from tests.coupons.conftest import batch_body, new_key
from tests.orders.conftest import pickup_basket, place

shop, alice = fixtures.shop, fixtures.alice


# The module: a fixed amount off every covered unit, never more than the unit's price.
def per_unit_discount(offer: Offer, lines: Sequence[CoveredLine]) -> Shares:
    return tuple(min(offer.amount_off, line.unit_price) * line.quantity for line in lines)


PER_UNIT_OFF = Kind(name="per_unit_off", summary="`amount_off` fen off every covered unit",
                    fields={"amount_off": fen_field("Fen off each unit.")}, discount=per_unit_discount,
                    describe=lambda offer: f"{yuan(offer.amount_off)} off every item", redeemable_without_items=False)


@pytest.fixture
def per_unit_off():
    register(PER_UNIT_OFF)
    yield
    del KINDS[PER_UNIT_OFF.name]


def test_a_kind_registered_as_one_module_discounts_an_order_end_to_end(client, marketing, shop, alice, per_unit_off):
    created = client.post("/api/v1/admin/coupon-batches", headers=marketing,
                          json=batch_body(name="3 yuan off every item", kind="per_unit_off", amount_off=300))
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert (batch["usage"], batch["description"]) == ("online", "¥3 off every item")
    assert client.post(f"/api/v1/admin/coupon-batches/{batch['id']}/activate", headers=marketing).status_code == 200
    claimed = client.post(f"/api/v1/coupon-batches/{batch['id']}/claim", headers={**alice, "Idempotency-Key": new_key()})
    assert claimed.status_code == 201, claimed.get_json()
    placed = place(client, alice, pickup_basket(shop, coupon_id=claimed.get_json()["id"]))  # 2 lattes, a croissant
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()["order"]
    assert (order["discount_total"], order["amount_payable"]) == (900, 7200 - 900)
    assert {line["sku_id"]: line["discount"] for line in order["lines"]} == {shop.latte: 600, shop.croissant: 300}


def test_a_kind_that_is_not_registered_is_refused(client, marketing):
    response = client.post("/api/v1/admin/coupon-batches", headers=marketing,
                           json=batch_body(kind="per_unit_off", amount_off=300))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"kind"}
