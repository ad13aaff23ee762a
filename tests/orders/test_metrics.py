"""What an operator watches moves when it happens, through the app: requests by their route, orders by the
state they enter, payments applied, notifies refused by reason, WeChat's errors by code, shipping uploads
refused, bill reconciliations that failed or found differences, periodic jobs run."""

from __future__ import annotations

from datetime import timedelta

from shop.auth import Role
from shop.bills.service import reconcile_due_bills
from shop.database import utcnow
from shop.extensions import db
from shop.jobs import run_periodic
from tests.metric_samples import moved, sample
from tests.orders.conftest import (
    pickup_basket,
    place,
    prepay_id_of,
    stub_pay,
    wechat_pay_fails,
    wechat_pay_is_back,
)
from tests.orders.test_bill_reconciliation import beijing, bills_of, reconciled, today
from tests.orders.test_shipping import paid_delivery, shipped_by_sf, wechat_answers_next_uploads

ORDER_RULE = "/api/v1/orders/<id:order_id>"


def test_requests_are_counted_and_timed_by_their_route_not_their_path(client, shop, alice):
    placed = place(client, alice, pickup_basket(shop)).get_json()["order"]
    with moved("ripple_http_requests_total", endpoint=ORDER_RULE, method="GET", status="200") as answered, \
            moved("ripple_http_request_duration_seconds_count", endpoint=ORDER_RULE, method="GET") as timed, \
            moved("ripple_http_requests_total", endpoint="<unmatched>", method="GET", status="404") as unmatched:
        assert client.get(f"/api/v1/orders/{placed['id']}", headers=alice).status_code == 200
        assert client.get("/api/v1/no-such-thing/12345", headers=alice).status_code == 404
        assert client.open("/healthz", method="BREW").status_code == 405
    assert (answered(), timed(), unmatched()) == (1, 1, 1)
    assert sample("ripple_http_requests_total", endpoint="<unmatched>", method="other", status="405") >= 1
    assert sample("ripple_http_requests_total", endpoint=f"/api/v1/orders/{placed['id']}", method="GET",
                  status="200") == 0  # one series per route, whatever the ids


def test_a_paid_order_moves_payments_applied_and_the_states_it_entered(client, stub, shop, alice, live_server):
    with moved("ripple_orders_total", state="created") as created, \
            moved("ripple_orders_total", state="ready_for_pickup") as ready, \
            moved("ripple_payments_applied_total", source="notify") as applied:
        placed = place(client, alice, pickup_basket(shop)).get_json()
        assert created() == 1 and applied() == 0
        stub_pay(stub, prepay_id_of(placed), deliver="twice")  # the duplicate applies nothing
    assert (created(), ready(), applied()) == (1, 1, 1)


def test_a_forged_notify_moves_the_rejections_by_its_reason(client):
    with moved("ripple_pay_notifies_rejected_total", reason="wechatpay_signature_invalid") as forged:
        response = client.post("/wechat/pay/notify", data=b'{"id":"x","event_type":"TRANSACTION.SUCCESS"}',
                               headers={"Wechatpay-Timestamp": "1", "Wechatpay-Nonce": "n",
                                        "Wechatpay-Signature": "c2ln", "Wechatpay-Serial": "PUB_KEY_ID_X",
                                        "Content-Type": "application/json"})
    assert response.status_code == 401 and forged() == 1


def test_wechat_refusing_a_login_is_counted_by_its_errcode(client):
    with moved("ripple_wechat_api_errors_total", code="45011") as rate_limited:
        response = client.post("/api/v1/auth/wechat-login", json={"code": "ratelimited:1"})
    assert response.status_code == 429 and rate_limited() == 1


def test_a_shipping_upload_wechat_refuses_for_good_is_counted_failed(app, client, stub, shop, alice, staff_token,
                                                                     live_server):
    admin = staff_token(Role.ADMIN)
    order = paid_delivery(client, stub, shop, alice)
    wechat_answers_next_uploads(stub, 10060004)
    with moved("ripple_shipping_uploads_failed_total", outcome="failed") as failed:
        assert shipped_by_sf(client, order["id"], admin)["shipping_upload"]["status"] == "failed"
    assert failed() == 1


def test_a_bill_reconciliation_that_failed_and_one_that_flagged_a_difference_are_counted(app, stub, live_server):
    bills_of(stub, today(), ready=True, extra=[{"out_trade_no": "NOTOURS0001", "total": 990}])
    wechat_pay_fails(stub, path="/v3/bill")
    with moved("ripple_bill_reconciliations_total", outcome="failed") as failed, app.app_context():
        assert reconcile_due_bills(beijing(today() + timedelta(days=1), 10, 5))["status"] == "failed"
        db.session.commit()
    assert failed() == 1
    wechat_pay_is_back(stub)
    with moved("ripple_bill_differences_total", resolution="flagged") as flagged, \
            moved("ripple_bill_reconciliations_total", outcome="done") as done:
        assert reconciled(app, today())["differences"] == [("missing_here", "flagged", "trade:NOTOURS0001")]
    assert (flagged(), done()) == (1, 1)


def test_every_periodic_job_run_is_counted_by_its_outcome(app):
    with moved("ripple_periodic_job_runs_total", job="points expiry", outcome="ok") as ran, app.app_context():
        run_periodic(utcnow())
    assert ran() == 1
