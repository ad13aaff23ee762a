"""The clerk's pickup queue: the store's paid pickup orders not yet handed over, oldest first, with their
lines; at a store that prepares orders, the clerk starts making them and marks them ready."""

from __future__ import annotations

import re

import pytest

from shop.auth import Role
from tests.console.conftest import text_of
from tests.orders.test_making import croissant_order, making_store  # noqa: F401
from tests.orders.test_pickup import paid_order


@pytest.fixture
def clerk(browser, account, shop):
    user = browser()
    assert user.login(account(Role.STAFF, [shop.store_id])).status_code == 302
    return user


def status_of(client, alice, order) -> str:
    return client.get(f"/api/v1/orders/{order['id']}", headers=alice).get_json()["status"]


def test_the_queue_lists_the_stores_paid_pickup_orders_oldest_first_with_their_lines(
        client, stub, shop, alice, clerk, live_server):
    first, second = paid_order(client, stub, shop, alice), croissant_order(client, stub, shop, alice)
    elsewhere = croissant_order(client, stub, shop, alice, store_id=shop.other_store_id)
    page = text_of(clerk.get("/console/store/pickups?lang=en"))
    assert "Pickup queue" in page and "2 × Latte" in page and "1 × Croissant" in page
    assert page.index(first["number"]) < page.index(second["number"])
    assert elsewhere["number"] not in page
    assert first["pickup_code"] not in page  # only the shopper shows it
    assert 'hx-trigger="every 5s"' in page and 'aria-live="polite"' in page


def test_a_new_paid_order_appears_in_the_polled_fragment_and_a_handed_over_one_leaves(
        client, stub, shop, alice, clerk, clerk_at_counter, live_server):
    assert "No order waits" in text_of(clerk.get("/console/store/pickups/queue?lang=en"))
    order = paid_order(client, stub, shop, alice)
    fragment = clerk.get("/console/store/pickups/queue?lang=en", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and order["number"] in text_of(fragment) and "<html" not in text_of(fragment)
    clerk_at_counter.post("/console/counter/confirm", {"kind": "pickup", "code": order["pickup_code"]}, htmx=True)
    assert order["number"] not in text_of(clerk.get("/console/store/pickups/queue"))


def test_a_store_that_does_not_prepare_orders_shows_them_ready_without_actions(
        client, stub, shop, alice, clerk, live_server):
    paid_order(client, stub, shop, alice)
    page = text_of(clerk.get("/console/store/pickups?lang=en"))
    assert "Ready" in page and "Start making" not in page and "/ready" not in page


@pytest.mark.usefixtures("making_store")
def test_at_a_store_that_prepares_orders_the_clerk_starts_making_then_marks_ready(
        client, stub, shop, alice, clerk, live_server):
    order = croissant_order(client, stub, shop, alice)
    page = text_of(clerk.get("/console/store/pickups?lang=en"))
    assert "Paid, not started" in page and "Start making" in page
    started = clerk.post(f"/console/store/pickups/{order['id']}/prepare?lang=en", htmx=True)
    assert started.status_code == 200 and "Being made" in text_of(started)
    assert status_of(client, alice, order) == "preparing"
    ready = clerk.post(f"/console/store/pickups/{order['id']}/ready?lang=en", htmx=True)
    assert ready.status_code == 200 and 'data-status="ready_for_pickup"' in text_of(ready)
    assert f"Order {order['number']} is ready." in text_of(ready)  # what the live region will say
    assert status_of(client, alice, order) == "ready_for_pickup"
    without_htmx = clerk.post(f"/console/store/pickups/{order['id']}/ready")
    assert without_htmx.status_code == 302 and without_htmx.location.endswith(f"/console/store/pickups?store_id={shop.store_id}")


@pytest.mark.usefixtures("making_store")
def test_moving_an_order_needs_the_forms_csrf_token(client, stub, shop, alice, clerk, live_server):
    order = croissant_order(client, stub, shop, alice)
    clerk.get("/console/store/pickups")
    refused = clerk.post(f"/console/store/pickups/{order['id']}/ready", csrf=False)
    assert refused.status_code == 400
    assert status_of(client, alice, order) == "paid"


@pytest.mark.usefixtures("making_store")
def test_a_clerk_of_another_store_can_neither_see_nor_move_the_stores_orders(
        client, stub, shop, alice, browser, account, live_server):
    order = croissant_order(client, stub, shop, alice)
    other = browser()
    other.login(account(Role.STAFF, [shop.other_store_id]))
    assert other.get(f"/console/store/pickups?store_id={shop.store_id}").status_code == 403
    assert order["number"] not in text_of(other.get("/console/store/pickups"))
    refused = other.post(f"/console/store/pickups/{order['id']}/ready?lang=en", htmx=True)
    assert refused.status_code == 403 and "another store" in text_of(refused)
    assert status_of(client, alice, order) == "paid"


@pytest.mark.parametrize("role", [Role.MARKETING, Role.ADMIN])
def test_marketing_and_admins_do_not_open_the_clerks_queue(browser, account, role):
    user = browser()
    user.login(account(role))
    assert user.get("/console/store/pickups").status_code == 403
    assert user.get("/console/store/pickups/queue").status_code == 403


def test_without_a_session_the_queue_goes_to_the_login_page(client):
    response = client.get("/console/store/pickups")
    assert response.status_code == 302 and "/console/login" in response.location


def test_the_queue_reads_in_chinese(client, stub, shop, alice, clerk, live_server):
    paid_order(client, stub, shop, alice)
    page = text_of(clerk.get("/console/store/pickups?lang=zh_CN"))
    assert "取货队列" in page and "可取货" in page


def test_a_poll_finding_the_queue_as_the_page_saw_it_swaps_nothing(client, stub, shop, alice, clerk, live_server):
    first = clerk.get("/console/store/pickups/queue", headers={"HX-Request": "true"})
    seen = re.search(r'data-version="([0-9a-f]+)"', text_of(first)).group(1)
    unchanged = clerk.get(f"/console/store/pickups/queue?seen={seen}", headers={"HX-Request": "true"})
    assert unchanged.status_code == 204  # the page keeps what it shows (and the clerk's focus)
    order = paid_order(client, stub, shop, alice)
    changed = clerk.get(f"/console/store/pickups/queue?seen={seen}", headers={"HX-Request": "true"})
    assert changed.status_code == 200 and order["number"] in text_of(changed)


def test_a_poll_after_the_session_ended_sends_the_whole_page_to_the_login(client):
    polled = client.get("/console/store/pickups/queue", headers={"HX-Request": "true"})
    assert polled.status_code == 204 and "/console/login" in polled.headers["HX-Redirect"]
