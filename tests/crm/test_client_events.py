"""POST /api/v1/events: client steps validated as a whole batch, deduplicated across batches, rate
limited per member, and expired after CLIENT_EVENT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.journey.jobs import expire_client_events
from crm.journey.models import ClientEventReceipt
from shop.database import utcnow
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from tests.conftest import bearer
from tests.crm.journey_steps import steps

EVENTS = "/api/v1/events"


@pytest.fixture
def shopper(login) -> tuple[int, dict]:
    body = login("walker:1")
    return body["member"]["id"], bearer(body["token"])


def event(client_event_id: str, kind: str = "view_product", ago: timedelta = timedelta(minutes=1), **attributes):
    return {"client_event_id": client_event_id, "kind": kind, "occurred_at": (utcnow() - ago).isoformat(),
            "attributes": attributes}


def client_steps(app, member_id: int) -> list[dict]:
    return [step for step in steps(app, member_id) if step["kind"] not in ("registered", "logged_in")]


def test_a_batch_of_client_events_is_stored_as_journey_steps(app, client, shopper):
    member_id, headers = shopper
    batch = [event("e-1", "view_store", store_id=3), event("e-2", "search", query="oat latte"),
             event("e-3", "add_to_cart", product_id=9, quantity=2, options={"size": "M", "extras": ["oat"]})]
    answer = client.post(EVENTS, json={"events": batch}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"recorded": 3, "duplicates": 0}
    stored = client_steps(app, member_id)
    assert [(s["kind"], s["client_event_id"]) for s in stored] == [("view_store", "e-1"), ("search", "e-2"),
                                                                   ("add_to_cart", "e-3")]
    assert stored[2]["options"] == {"size": "M", "extras": ["oat"]}


def test_an_event_sent_again_is_ignored_in_the_same_batch_and_in_later_ones(app, client, shopper):
    member_id, headers = shopper
    first = client.post(EVENTS, json={"events": [event("e-1"), event("e-1")]}, headers=headers)
    assert first.get_json() == {"recorded": 1, "duplicates": 1}
    again = client.post(EVENTS, json={"events": [event("e-1", ago=timedelta(minutes=3)), event("e-2")]},
                        headers=headers)
    assert again.get_json() == {"recorded": 1, "duplicates": 1}
    assert [s["client_event_id"] for s in client_steps(app, member_id)] == ["e-1", "e-2"]


def test_another_member_may_use_the_same_client_event_id(app, client, shopper, login):
    other = bearer(login("runner:1")["token"])
    assert client.post(EVENTS, json={"events": [event("e-1")]}, headers=shopper[1]).get_json()["recorded"] == 1
    assert client.post(EVENTS, json={"events": [event("e-1")]}, headers=other).get_json()["recorded"] == 1


@pytest.mark.parametrize(("bad", "field"), [
    (event("e-9", "view_basket"), "kind"),
    (event("e-9", "server_side"), "kind"),
    ({"kind": "search", "occurred_at": utcnow().isoformat()}, "client_event_id"),
    (event("bad id with spaces"), "client_event_id"),
    ({**event("e-9"), "occurred_at": "2026-12-07T08:00:00"}, "occurred_at"),  # no zone
    (event("e-9", deep={"deeper": {"deepest": {"too": 1}}}), "attributes"),
    (event("e-9", **{f"k{i}": i for i in range(21)}), "attributes"),
    (event("e-9", note="x" * 201), "attributes"),
    (event("e-9", **{f"k{i}": "x" * 200 for i in range(11)}), "attributes"),
    (event("e-9", **{"bad key": 1}), "attributes"),
    ({**event("e-9"), "attributes": ["not", "an", "object"]}, "attributes"),
    ({**event("e-9"), "extra": 1}, "extra"),
])
def test_a_bad_event_refuses_the_whole_batch_naming_it_by_index(app, client, shopper, bad, field):
    member_id, headers = shopper
    answer = client.post(EVENTS, json={"events": [event("e-1"), bad]}, headers=headers)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["code"] == "validation_error"
    assert list(answer.get_json()["errors"]["events"]) == ["1"]
    assert field in answer.get_json()["errors"]["events"]["1"]
    assert client_steps(app, member_id) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClientEventReceipt)) == 0


@pytest.mark.parametrize("ago", [timedelta(hours=72, minutes=1), -timedelta(minutes=6)])
def test_an_event_outside_the_window_of_now_refuses_the_batch(app, client, shopper, ago):
    member_id, headers = shopper
    answer = client.post(EVENTS, json={"events": [event("e-1"), event("e-2"), event("e-3", ago=ago)]},
                         headers=headers)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["code"] == "events_out_of_window"
    assert list(answer.get_json()["errors"]["events"]) == ["2"]
    assert client_steps(app, member_id) == []
    # Nothing remembered either: the good events of the batch can be sent again.
    assert client.post(EVENTS, json={"events": [event("e-1")]}, headers=headers).get_json()["recorded"] == 1


@pytest.mark.parametrize("events", [[], [event(f"e-{i}") for i in range(51)], None, "x"])
def test_a_batch_is_between_one_and_fifty_events(client, shopper, events):
    answer = client.post(EVENTS, json={"events": events}, headers=shopper[1])
    assert answer.status_code == 422 and answer.get_json()["code"] == "validation_error"


def test_fifty_events_are_a_batch(client, shopper):
    answer = client.post(EVENTS, json={"events": [event(f"e-{i}") for i in range(50)]}, headers=shopper[1])
    assert answer.get_json() == {"recorded": 50, "duplicates": 0}


def test_only_shoppers_send_events(client, staff_token):
    from shop.auth import Role  # noqa: PLC0415

    assert client.post(EVENTS, json={"events": [event("e-1")]}).status_code == 401
    assert client.post(EVENTS, json={"events": [event("e-1")]}, headers=staff_token(Role.ADMIN)).status_code == 403


def test_batches_are_rate_limited_per_member(make_app, login):
    strict = make_app(RATE_LIMIT_CLIENT_EVENTS_PER_MEMBER="2 per minute").test_client()
    walker, runner = (bearer(login(code)["token"]) for code in ("walker:1", "runner:1"))
    statuses = [strict.post(EVENTS, json={"events": [event(f"e-{i}")]}, headers=walker).status_code
                for i in range(3)]
    assert statuses == [200, 200, 429]
    assert strict.post(EVENTS, json={"events": [event("e-1")]}, headers=runner).status_code == 200


def test_raw_client_events_expire_after_the_retention_but_server_steps_stay(app, client, shopper, committed):
    member_id, headers = shopper
    now = utcnow()

    def age_them():
        record_event(member_id, "view_product", occurred_at=now - timedelta(days=181), client_event_id="old")
        record_event(member_id, "search", occurred_at=now - timedelta(days=179), client_event_id="recent")
        record_event(member_id, JourneyKind.ORDER_PLACED, occurred_at=now - timedelta(days=400), order_id=1)

    committed(age_them)
    assert client.post(EVENTS, json={"events": [event("fresh")]}, headers=headers).status_code == 200
    summary = committed(lambda: expire_client_events(now))
    assert summary["client_events_deleted"] == 1
    kept = [(s["kind"], s.get("client_event_id")) for s in client_steps(app, member_id)]
    assert kept == [("search", "recent"), ("order_placed", None), ("view_product", "fresh")]


def test_receipts_are_forgotten_once_an_event_that_old_would_be_refused_anyway(app, client, shopper, committed):
    headers = shopper[1]
    assert client.post(EVENTS, json={"events": [event("e-1")]}, headers=headers).status_code == 200
    assert committed(lambda: expire_client_events(utcnow() + timedelta(hours=72)))["receipts_deleted"] == 0
    assert committed(lambda: expire_client_events(utcnow() + timedelta(hours=73)))["receipts_deleted"] == 1
