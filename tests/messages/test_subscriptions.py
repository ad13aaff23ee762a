"""What a shopper accepted: the listing, each acceptance one send, retries, bad input and roles."""

from __future__ import annotations

import pytest

from shop.auth import Role
from shop.config import load_config
from shop.messages.models import MAX_SENDS_LEFT
from shop.messages.templates import Purpose, configured_templates
from tests.conftest import bearer
from tests.messages.conftest import accept, subscriptions, template_id

EVERY_PURPOSE = {p.value: 0 for p in Purpose}


def test_a_new_shopper_sees_every_template_ripple_sends_with_nothing_left(client, alice):
    response = client.get("/api/v1/me/subscriptions", headers=alice)
    templates = response.get_json()["templates"]
    assert {t["purpose"] for t in templates} == set(EVERY_PURPOSE)
    assert {t["template_id"] for t in templates} == {template_id(p) for p in Purpose}
    assert subscriptions(client, alice) == EVERY_PURPOSE


def test_each_acceptance_allows_one_more_message_and_a_retry_with_its_key_adds_nothing(client, alice):
    first = accept(client, alice, Purpose.ORDER_READY, Purpose.REFUND_COMPLETED, key="accept-once-1")
    assert first.status_code == 200, first.get_json()
    again = accept(client, alice, Purpose.ORDER_READY, Purpose.REFUND_COMPLETED, key="accept-once-1")
    assert again.get_json() == first.get_json()
    accept(client, alice, Purpose.ORDER_READY, key="accept-once-2")
    assert subscriptions(client, alice) == {**EVERY_PURPOSE, "order_ready_for_pickup": 2, "refund_completed": 1}


def test_templates_asked_for_but_declined_add_nothing(client, alice):
    ids = [template_id(Purpose.ORDER_READY), template_id(Purpose.ORDER_SHIPPED)]
    response = client.post("/api/v1/me/subscriptions", json={"template_ids": ids, "accepted": ids[:1]}, headers=alice)
    assert response.status_code == 200
    assert subscriptions(client, alice) == {**EVERY_PURPOSE, "order_ready_for_pickup": 1}


def test_the_same_key_with_other_templates_is_refused(client, alice):
    accept(client, alice, Purpose.ORDER_READY, key="accept-key-9")
    response = accept(client, alice, Purpose.ORDER_SHIPPED, key="accept-key-9")
    assert response.status_code == 422 and response.get_json()["code"] == "idempotency_key_reused"
    assert subscriptions(client, alice) == {**EVERY_PURPOSE, "order_ready_for_pickup": 1}


def test_a_template_ripple_does_not_send_is_refused_and_nothing_is_recorded(client, alice):
    ids = [template_id(Purpose.ORDER_READY), "someone-elses-template"]
    response = client.post("/api/v1/me/subscriptions", json={"template_ids": ids, "accepted": ids}, headers=alice)
    assert response.status_code == 422 and response.get_json()["code"] == "message_template_unknown"
    assert "someone-elses-template" in response.get_json()["errors"]["template_ids"][0]
    assert subscriptions(client, alice) == EVERY_PURPOSE


@pytest.mark.parametrize("body", [
    {},
    {"template_ids": [], "accepted": []},
    {"template_ids": "ripple-dev-order-ready", "accepted": []},
    {"template_ids": ["ripple-dev-order-ready"], "accepted": ["ripple-dev-order-shipped"]},  # not asked
    {"template_ids": ["ripple-dev-order-ready"] * 11, "accepted": []},
    {"template_ids": ["x" * 129], "accepted": []},
    {"template_ids": [7], "accepted": [7]},
    {"template_ids": ["ripple-dev-order-ready\n"], "accepted": []},
    {"template_ids": ["ripple-dev-order-ready"], "accepted": ["ripple-dev-order-ready"], "extra": 1},
])
def test_bad_input_is_refused_with_its_reason_and_changes_nothing(client, alice, body):
    response = client.post("/api/v1/me/subscriptions", json=body, headers=alice)
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error", response.get_json()
    assert subscriptions(client, alice) == EVERY_PURPOSE


def test_sends_left_stop_at_the_cap(client, alice):
    for _ in range(MAX_SENDS_LEFT + 2):
        accept(client, alice, Purpose.COUPON_EXPIRING)
    assert subscriptions(client, alice)["coupon_expiring"] == MAX_SENDS_LEFT


def test_only_a_shopper_has_subscriptions(client, staff_token):
    assert client.get("/api/v1/me/subscriptions").status_code == 401
    for role in (Role.STAFF, Role.MARKETING, Role.ADMIN):
        headers = staff_token(role)
        assert client.get("/api/v1/me/subscriptions", headers=headers).status_code == 403
        assert accept(client, headers, Purpose.ORDER_READY).status_code == 403
    assert client.get("/api/v1/me/subscriptions", headers=bearer("not-a-token")).status_code == 401


def test_production_offers_only_the_templates_the_brand_set():
    base = {"RIPPLE_ENV": "production", "MESSAGE_TEMPLATE_ORDER_READY": "tmpl-real-ready",
            "MESSAGE_TEMPLATE_ORDER_SHIPPED": "ripple-dev-order-shipped"}
    assert [(t.purpose, t.template_id) for t in configured_templates(base)] == [(Purpose.ORDER_READY,
                                                                                 "tmpl-real-ready")]
    acknowledged = {**base, "RIPPLE_TEST_DOUBLES": "acknowledged"}
    assert len(configured_templates(acknowledged)) == 2
    assert len(configured_templates(load_config(environ={}))) == len(Purpose)  # development: all, on the stub
