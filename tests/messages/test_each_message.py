"""The six messages, each from its event: ready for pickup (test_sending), shipped, refund completed,
coupon expiring (once per coupon), reward released and withdrawal paid."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import update

from coupons.claiming.reminders import remind_expiring
from coupons.models import Coupon
from referral.withdrawals.service import sync_withdrawals
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.messages.templates import Purpose
from tests.coupons.conftest import new_key
from tests.messages.conftest import accept, sends, sent, subscriptions
from tests.orders.conftest import eventually, pickup_basket, place, prepay_id_of, stub_pay

ADDRESS = {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Rd"}


def values(message: dict) -> dict[str, str]:
    return {key: item["value"] for key, item in message["data"].items()}


def test_a_same_city_delivery_tells_the_shopper_the_merchant_delivers_it(app, client, stub, shop, alice, staff_token,
                                                                      live_server):
    accept(client, alice, Purpose.ORDER_SHIPPED)
    accept(client, alice, Purpose.ORDER_SHIPPED)
    placed = place(client, alice, {"items": [{"sku_id": shop.croissant, "quantity": 2}], "fulfilment": "delivery",
                                   "address": ADDRESS}).get_json()
    stub_pay(stub, prepay_id_of(placed))
    order = placed["order"]
    shipped = client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=staff_token(Role.ADMIN),
                          json={"logistics_type": 2})  # same-city: no carrier, no tracking number
    assert shipped.status_code == 200, shipped.get_json()
    [message] = sent(stub)
    assert message["template_id"] == "ripple-dev-order-shipped"
    assert values(message)["character_string1"] == order["number"]
    assert (values(message)["thing2"], values(message)["character_string3"]) == ("商家配送", "-")



def test_the_carrier_and_tracking_number_given_at_shipping_are_in_the_message_sent_once(
        app, client, stub, shop, alice, staff_token, live_server):
    accept(client, alice, Purpose.ORDER_SHIPPED)
    accept(client, alice, Purpose.ORDER_SHIPPED)
    placed = place(client, alice, {"items": [{"sku_id": shop.croissant, "quantity": 2}], "fulfilment": "delivery",
                                   "address": ADDRESS}).get_json()
    stub_pay(stub, prepay_id_of(placed))
    ship = {"logistics_type": 1, "carrier": "SF", "tracking_no": "SF1234567890"}
    for _ in range(2):  # the second ship is refused: the order already left
        client.post(f"/api/v1/admin/orders/{placed['order']['id']}/ship", headers=staff_token(Role.ADMIN), json=ship)
    messages = [m for m in sent(stub) if m["template_id"] == "ripple-dev-order-shipped"]
    [message] = messages
    assert (values(message)["thing2"], values(message)["character_string3"]) == ("SF", "SF1234567890")
    assert subscriptions(client, alice)["order_shipped"] == 1


def test_a_refund_paid_back_tells_the_shopper_the_amount(app, client, stub, shop, alice, live_server):
    accept(client, alice, Purpose.REFUND_COMPLETED)
    placed = place(client, alice, pickup_basket(shop)).get_json()
    stub_pay(stub, prepay_id_of(placed))
    assert sent(stub) == []  # ready-for-pickup was not accepted
    response = client.post(f"/api/v1/orders/{placed['order']['id']}/refund", headers=alice, json={"reason": "x"})
    assert response.status_code == 202, response.get_json()
    assert eventually(lambda: sent(stub))
    [message] = sent(stub)
    assert message["template_id"] == "ripple-dev-refund-completed"
    assert values(message)["amount2"] == "72.00元"  # two lattes and a croissant
    assert values(message)["character_string1"] == placed["order"]["number"]
    # The stub answers before the job records its answer: wait for the row too.
    expected = [("order_ready_for_pickup", "no_subscription"), ("refund_completed", "sent")]
    assert eventually(lambda: [(r["purpose"], r["status"]) for r in sends(app)] == expected)


def test_a_coupon_about_to_expire_is_announced_once(app, client, stub, login, active_batch, committed):
    shopper = login("carol:1")
    headers = {"Authorization": f"Bearer {shopper['token']}"}
    accept(client, headers, Purpose.COUPON_EXPIRING)
    accept(client, headers, Purpose.COUPON_EXPIRING)
    soon = active_batch(name="Latte 10 yuan off", valid_days=2)
    later = active_batch(name="Later", valid_days=30)
    for batch_id in (soon, later):
        claimed = client.post(f"/api/v1/coupon-batches/{batch_id}/claim", headers={**headers, "Idempotency-Key": new_key()})
        assert claimed.status_code == 201, claimed.get_json()

    assert committed(lambda: remind_expiring(utcnow())) == {"reminded": 1}  # within 3 days: only one
    assert committed(lambda: remind_expiring(utcnow())) == {"reminded": 0}  # once per coupon
    [message] = sent(stub)
    assert message["template_id"] == "ripple-dev-coupon-expiring"
    assert values(message)["thing1"] == "Latte 10 yuan off" and "年" in values(message)["time2"]
    assert subscriptions(client, headers)["coupon_expiring"] == 1


def test_a_used_or_expired_coupon_is_not_announced_and_zero_days_turns_reminders_off(
        app, client, stub, login, active_batch, committed, make_app):
    headers = {"Authorization": f"Bearer {login('dan:1')['token']}"}
    accept(client, headers, Purpose.COUPON_EXPIRING)
    batch_id = active_batch(valid_days=1)
    claimed = client.post(f"/api/v1/coupon-batches/{batch_id}/claim", headers={**headers, "Idempotency-Key": new_key()})
    off = make_app(COUPON_EXPIRY_REMINDER_DAYS=0)
    with off.app_context():
        assert remind_expiring(utcnow()) == {"reminded": 0}
    with app.app_context():
        db.session.execute(update(Coupon).where(Coupon.id == claimed.get_json()["id"]).values(status="used"))
        db.session.commit()
    assert committed(lambda: remind_expiring(utcnow())) == {"reminded": 0}
    assert committed(lambda: remind_expiring(utcnow() + timedelta(days=2))) == {"reminded": 0}  # past its date
    assert sent(stub) == []


def test_a_released_reward_is_announced_once_per_order_with_its_commission(
        app, client, stub, chain, buy, configure, release_after):
    configure(reward_kind="commission", percent_bp=[1000, 0])
    accept(client, chain.bob.headers, Purpose.REWARD_RELEASED)
    accept(client, chain.bob.headers, Purpose.REWARD_RELEASED)
    buy(chain.carol)  # a latte and a croissant: 4,400 fen, two lines
    assert release_after(days=8) == 2
    [message] = sent(stub)
    assert message["template_id"] == "ripple-dev-reward-released"
    assert values(message)["thing1"] == "佣金 4.40元"
    assert subscriptions(client, chain.bob.headers)["reward_released"] == 1


def test_a_paid_withdrawal_is_announced(app, client, stub, chain, buy, configure, release_after, staff_token,
                                        committed):
    configure(reward_kind="commission", percent_bp=[1000, 0], min_withdrawal=100)
    buy(chain.carol)
    release_after(days=8)
    accept(client, chain.bob.headers, Purpose.WITHDRAWAL_PAID)
    asked = client.post("/api/v1/me/withdrawals", json={"amount": 300},
                        headers={**chain.bob.headers, "Idempotency-Key": "withdraw-key-1"}).get_json()
    approved = client.post(f"/api/v1/admin/referral/withdrawals/{asked['id']}/approve",
                           headers=staff_token(Role.ADMIN), json={})
    assert approved.status_code == 200, approved.get_json()
    requests.post(f"{stub.url}stub/pay/transfers/{asked['out_bill_no']}/confirm", timeout=5).raise_for_status()
    assert committed(sync_withdrawals)["paid"] == 1
    [message] = [m for m in sent(stub) if m["template_id"] == "ripple-dev-withdrawal-paid"]
    assert values(message)["amount1"] == "3.00元"


def test_the_reminder_runs_from_the_shell_too(app, client, stub, login, active_batch):
    headers = {"Authorization": f"Bearer {login('erin:1')['token']}"}
    accept(client, headers, Purpose.COUPON_EXPIRING)
    batch_id = active_batch(valid_days=1)
    client.post(f"/api/v1/coupon-batches/{batch_id}/claim", headers={**headers, "Idempotency-Key": new_key()})
    result = app.test_cli_runner().invoke(args=["coupons", "remind-expiring"])
    assert result.exit_code == 0 and result.output.strip() == "reminded 1 coupons", result.output
    assert len(sent(stub)) == 1
