"""Staff redeem a shopper's coupon at the counter: once, only where it is valid, revertible for 10 minutes."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from coupons.models import Coupon, CouponRedemption, CouponStatus
from coupons.redemption import code
from coupons.redemption import service as redemption
from shop.auth import Principal, Role
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import JourneyEvent
from shop.staff.service import create_staff
from shop.stores.models import Store
from tests.conftest import STAFF_PASSWORD

T = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)


def shown_code(client, coupon) -> str:
    response = client.get(f"/api/v1/me/coupons/{coupon.id}/code", headers=coupon.shopper)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["code"]


def post_redeem(client, headers, typed: str, **extra):
    return client.post("/api/v1/staff/redemptions", json={"code": typed, **extra}, headers=headers)


def coupon_state(app, coupon_id: int) -> tuple:
    with app.app_context():
        coupon = db.session.get(Coupon, coupon_id)
        return coupon.status, coupon.used_in, coupon.used_at


def code_at(app, coupon_id: int, at: datetime) -> str:
    """The code the coupon shows at ``at`` (for coupons whose own endpoint would refuse, or other times)."""
    with app.app_context():
        return code.shown_code(coupon_id, db.session.get(Coupon, coupon_id).secret, at).code


def journey(app, kind: str) -> list[JourneyEvent]:
    with app.app_context():
        events = db.session.scalars(select(JourneyEvent).where(JourneyEvent.kind == kind)).all()
        db.session.expunge_all()
        return list(events)


def set_coupon(app, coupon_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(update(Coupon).where(Coupon.id == coupon_id).values(**values))
        db.session.commit()


@pytest.fixture
def clerk_of(staff_token):
    """Bearer headers of a new clerk bound to these stores."""
    return lambda *store_ids: staff_token(Role.STAFF, store_ids=list(store_ids))


@pytest.fixture
def as_clerk(app):
    """A clerk as the service sees them (for tests that set the clock)."""

    def make(*store_ids: int) -> Principal:
        with app.app_context():
            account = create_staff(username=f"clerk-{uuid.uuid4().hex[:8]}", password=STAFF_PASSWORD,
                                   role=Role.STAFF, store_ids=list(store_ids))
            db.session.commit()
            return Principal(role=Role.STAFF, staff_id=account.id, store_ids=tuple(store_ids))

    return make


def in_service(app, work):
    """Run a service call in its own app context and commit, as the API does; its result or its AppError code."""
    with app.app_context():
        try:
            result = work()
        except AppError as error:
            db.session.rollback()
            return error.code.value
        db.session.commit()
        return result[0].id if isinstance(result, tuple) else result


def test_a_clerk_redeems_the_code_a_shopper_shows_and_it_is_recorded(app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon(amount_off=500, scope_store_ids=[stores[0]])
    clerk = clerk_of(stores[0])
    response = post_redeem(client, clerk, shown_code(client, coupon))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["coupon_id"] == coupon.id and body["store_id"] == stores[0] and body["reverted_at"] is None
    assert body["batch"]["amount_off"] == 500 and body["batch"]["kind"] == "amount_off"
    redeemed_at = datetime.fromisoformat(body["redeemed_at"])
    assert datetime.fromisoformat(body["revertible_until"]) == redeemed_at + timedelta(minutes=10)
    status, used_in, used_at = coupon_state(app, coupon.id)
    assert (status, used_in, used_at) == ("used", "in_store", redeemed_at)
    used = client.get("/api/v1/me/coupons?status=used", headers=coupon.shopper).get_json()
    assert [item["id"] for item in used["items"]] == [coupon.id]
    [event] = journey(app, "coupon_redeemed")
    assert event.store_id == stores[0] and event.attributes["coupon_id"] == coupon.id
    assert event.attributes["staff_id"] == body["staff_id"] and event.attributes["redemption_id"] == body["id"]
    again = client.get(f"/api/v1/me/coupons/{coupon.id}/code", headers=coupon.shopper)
    assert again.status_code == 409 and again.get_json()["code"] == "coupon_used"


def test_a_retry_by_the_same_clerk_returns_the_same_redemption_another_clerk_gets_409(
        app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon()
    clerk, colleague = clerk_of(stores[0]), clerk_of(stores[0])
    typed = shown_code(client, coupon)
    first = post_redeem(client, clerk, typed)
    assert first.status_code == 201
    retry = post_redeem(client, clerk, " ".join([typed[:4], typed[4:]]))
    assert retry.status_code == 200 and retry.get_json() == first.get_json()
    other = post_redeem(client, colleague, typed)
    assert other.status_code == 409 and other.get_json()["code"] == "coupon_used"
    with app.app_context():
        assert db.session.scalar(select(CouponRedemption.id).where(CouponRedemption.coupon_id == coupon.id)) == \
            first.get_json()["id"]
        assert len(db.session.scalars(select(CouponRedemption)).all()) == 1
    assert len(journey(app, "coupon_redeemed")) == 1


def test_the_current_and_previous_codes_redeem_older_and_forged_ones_do_not(app, in_store_coupon, stores, as_clerk):
    clerk = as_clerk(stores[0])
    current, previous, older, forged = (in_store_coupon() for _ in range(4))
    now = datetime.now(UTC)

    def redeem(coupon, typed):
        return in_service(app, lambda: redemption.redeem(clerk, typed, store_id=None, now=now))

    redeemed = redeem(current, code_at(app, current.id, now))
    assert isinstance(redeemed, int)
    assert isinstance(redeem(previous, code_at(app, previous.id, now - timedelta(seconds=60))), int)
    assert redeem(older, code_at(app, older.id, now - timedelta(seconds=120))) == "coupon_code_stale"
    typed = code_at(app, forged.id, now)
    assert redeem(forged, typed[:-1] + str((int(typed[-1]) + 1) % 10)) == "coupon_code_invalid"
    assert redeem(forged, f"{previous.id}{typed[-8:]}") == "coupon_code_invalid"  # its digits open no other coupon
    assert redeem(forged, f"{forged.id + 1000}{typed[-8:]}") == "coupon_code_invalid"  # no such coupon
    assert [coupon_state(app, c.id)[0] for c in (current, previous, older, forged)] == [
        "used", "used", "available", "available"]
    # The clerk who redeemed it, sending the same code again at once, gets the same redemption.
    retried = in_service(app, lambda: redemption.redeem(clerk, code_at(app, current.id, now), store_id=None,
                                                        now=now + timedelta(seconds=10)))
    assert retried == redeemed


def test_two_clerks_scanning_at_once_redeem_it_once(app, client, in_store_coupon, stores, clerk_of, live_server):
    coupons = [in_store_coupon(shopper=f"shopper{n}:1") for n in range(3)]
    clerks = [clerk_of(stores[0]) for _ in range(4)]
    for coupon in coupons:
        typed = shown_code(client, coupon)
        start = threading.Barrier(len(clerks))
        statuses: list[tuple[int, str | None]] = []

        def scan(headers, typed=typed, start=start, statuses=statuses):
            start.wait()
            response = requests.post(f"{live_server}/api/v1/staff/redemptions", json={"code": typed},
                                     headers=headers, timeout=30)
            statuses.append((response.status_code, response.json().get("code")))

        threads = [threading.Thread(target=scan, args=(headers,)) for headers in clerks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses, key=str) == sorted([(201, None)] + [(409, "coupon_used")] * 3, key=str)
    with app.app_context():
        redeemed = db.session.scalars(select(CouponRedemption.coupon_id)).all()
    assert sorted(redeemed) == sorted(c.id for c in coupons)
    assert len(journey(app, "coupon_redeemed")) == 3


def test_a_clerk_of_a_store_outside_the_coupons_scope_is_refused(app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon(scope_store_ids=[stores[0]])
    response = post_redeem(client, clerk_of(stores[1]), shown_code(client, coupon))
    assert response.status_code == 422 and response.get_json()["code"] == "coupon_store_not_in_scope"
    assert coupon_state(app, coupon.id) == ("available", None, None)
    assert post_redeem(client, clerk_of(stores[0]), shown_code(client, coupon)).status_code == 201


@pytest.mark.parametrize(("usage", "change", "expected"), [
    ("online", {}, "coupon_online_only"),
    ("both", {"status": CouponStatus.USED.value, "used_in": "online"}, "coupon_used"),
    ("both", {"status": CouponStatus.LOCKED.value}, "coupon_locked"),
    ("in_store", {"expires_at": datetime.now(UTC) - timedelta(minutes=1)}, "coupon_expired"),
    ("in_store", {"status": CouponStatus.EXPIRED.value}, "coupon_expired"),
    ("in_store", {"valid_from": datetime.now(UTC) + timedelta(days=1)}, "coupon_not_yet_valid"),
])
def test_a_coupon_that_cannot_be_used_here_gets_its_own_error_and_stays_as_it_was(
        app, client, in_store_coupon, stores, clerk_of, usage, change, expected):
    coupon = in_store_coupon(usage=usage)
    if change:
        set_coupon(app, coupon.id, **change)
    before = coupon_state(app, coupon.id)
    response = post_redeem(client, clerk_of(stores[0]), code_at(app, coupon.id, datetime.now(UTC)))
    assert response.status_code == 409 and response.get_json()["code"] == expected
    assert coupon_state(app, coupon.id) == before
    assert journey(app, "coupon_redeemed") == []


def test_a_clerk_of_several_stores_names_the_store(app, client, in_store_coupon, stores, clerk_of, as_clerk):
    coupon = in_store_coupon()
    clerk = clerk_of(*stores)
    typed = shown_code(client, coupon)
    unnamed = post_redeem(client, clerk, typed)
    assert unnamed.status_code == 422 and unnamed.get_json()["code"] == "redemption_store_required"
    assert "store_id" in unnamed.get_json()["errors"]
    with app.app_context():
        third = create_staff(username="elsewhere", password=STAFF_PASSWORD, role=Role.STAFF).id  # no store
        db.session.commit()
    not_theirs = post_redeem(client, clerk, typed, store_id=stores[1] + 100)
    assert not_theirs.status_code == 403 and not_theirs.get_json()["code"] == "redemption_store_not_yours"
    named = post_redeem(client, clerk, typed, store_id=stores[1])
    assert named.status_code == 201 and named.get_json()["store_id"] == stores[1]
    unbound = Principal(role=Role.STAFF, staff_id=third, store_ids=())
    assert in_service(app, lambda: redemption.redeem(unbound, typed, store_id=None, now=datetime.now(UTC))) == \
        "redemption_store_not_yours"


def test_a_clerk_of_the_store_reverts_a_redemption_and_the_coupon_is_available_again(
        app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon()
    clerk, colleague, elsewhere = clerk_of(stores[0]), clerk_of(stores[0]), clerk_of(stores[1])
    redeemed = post_redeem(client, clerk, shown_code(client, coupon)).get_json()
    path = f"/api/v1/staff/redemptions/{redeemed['id']}/revert"
    other_store = client.post(path, headers=elsewhere)
    assert other_store.status_code == 404 and other_store.get_json()["code"] == "redemption_not_found"
    reverted = client.post(path, headers=colleague)
    assert reverted.status_code == 200, reverted.get_json()
    body = reverted.get_json()
    assert body["id"] == redeemed["id"] and body["reverted_at"] is not None
    assert body["reverted_by_staff_id"] != redeemed["staff_id"]
    assert coupon_state(app, coupon.id) == ("available", None, None)
    assert client.post(path, headers=clerk).get_json() == body  # reverting again changes nothing
    [event] = journey(app, "coupon_redemption_reverted")
    assert event.store_id == stores[0] and event.attributes["redemption_id"] == redeemed["id"]
    again = post_redeem(client, clerk, shown_code(client, coupon))  # the right coupon this time
    assert again.status_code == 201 and again.get_json()["id"] != redeemed["id"]
    missing = client.post("/api/v1/staff/redemptions/999999/revert", headers=clerk)
    assert missing.status_code == 404 and missing.get_json()["code"] == "redemption_not_found"


def test_a_redemption_can_be_reverted_for_ten_minutes_only(app, client, in_store_coupon, stores, as_clerk, clerk_of):
    clerk = as_clerk(stores[0])
    first, second = in_store_coupon(), in_store_coupon()

    def redeem_at(coupon, at):
        return in_service(app, lambda: redemption.redeem(clerk, code_at(app, coupon.id, at), store_id=None, now=at))

    def revert_at(redemption_id, at):
        return in_service(app, lambda: redemption.revert(clerk, redemption_id, now=at))

    now = datetime.now(UTC)
    late, in_time = redeem_at(first, now), redeem_at(second, now)
    assert revert_at(late, now + timedelta(minutes=10, seconds=1)) == "redemption_revert_window_closed"
    assert coupon_state(app, first.id)[0] == "used"
    assert revert_at(in_time, now + timedelta(minutes=10)) == in_time
    assert coupon_state(app, second.id)[0] == "available"
    # Through the API: the redemption made 11 minutes ago is closed, with its code.
    with app.app_context():
        db.session.execute(update(CouponRedemption).where(CouponRedemption.id == late)
                           .values(redeemed_at=datetime.now(UTC) - timedelta(minutes=11)))
        db.session.commit()
    response = client.post(f"/api/v1/staff/redemptions/{late}/revert", headers=clerk_of(stores[0]))
    assert response.status_code == 409 and response.get_json()["code"] == "redemption_revert_window_closed"


def test_a_coupon_that_expired_before_the_revert_comes_back_expired(app, in_store_coupon, stores, as_clerk):
    clerk = as_clerk(stores[0])
    coupon = in_store_coupon()
    set_coupon(app, coupon.id, valid_from=T - timedelta(days=1), expires_at=T + timedelta(minutes=5))
    redeemed = in_service(app, lambda: redemption.redeem(clerk, code_at(app, coupon.id, T), store_id=None, now=T))
    assert in_service(app, lambda: redemption.revert(clerk, redeemed, now=T + timedelta(minutes=6))) == redeemed
    assert coupon_state(app, coupon.id) == ("expired", None, None)


def test_the_store_lists_its_redemptions_newest_first(app, client, in_store_coupon, stores, clerk_of, staff_token):
    here, there = clerk_of(stores[0]), clerk_of(stores[1])
    mine = [post_redeem(client, here, shown_code(client, in_store_coupon())).get_json()["id"] for _ in range(3)]
    theirs = post_redeem(client, there, shown_code(client, in_store_coupon())).get_json()["id"]
    client.post(f"/api/v1/staff/redemptions/{mine[0]}/revert", headers=here)
    page = client.get("/api/v1/staff/redemptions?page_size=2", headers=here).get_json()
    assert page["total"] == 3 and [item["id"] for item in page["items"]] == mine[::-1][:2]
    last = client.get("/api/v1/staff/redemptions?page=2&page_size=2", headers=here).get_json()
    assert [item["id"] for item in last["items"]] == [mine[0]] and last["items"][0]["reverted_at"] is not None
    assert last["items"][0]["batch"]["name"] == "10 yuan off"
    forbidden = client.get(f"/api/v1/staff/redemptions?store_id={stores[1]}", headers=here)
    assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "redemption_store_not_yours"
    admin = staff_token(Role.ADMIN)
    every = client.get("/api/v1/staff/redemptions", headers=admin).get_json()
    assert every["total"] == 4 and every["items"][0]["id"] == theirs
    one = client.get(f"/api/v1/staff/redemptions?store_id={stores[1]}", headers=admin).get_json()
    assert [item["id"] for item in one["items"]] == [theirs]
    both = client.get("/api/v1/staff/redemptions", headers=clerk_of(*stores)).get_json()
    assert both["total"] == 4


def test_only_clerks_redeem_and_revert(client, login, in_store_coupon, stores, clerk_of, staff_token):
    coupon = in_store_coupon()
    typed = shown_code(client, coupon)
    redeemed = post_redeem(client, clerk_of(stores[0]), typed).get_json()
    for headers in (coupon.shopper, staff_token(Role.MARKETING), staff_token(Role.ADMIN)):
        assert post_redeem(client, headers, typed).status_code == 403
        assert client.post(f"/api/v1/staff/redemptions/{redeemed['id']}/revert", headers=headers).status_code == 403
    for headers in (coupon.shopper, staff_token(Role.MARKETING)):
        assert client.get("/api/v1/staff/redemptions", headers=headers).status_code == 403
    assert post_redeem(client, {}, typed).status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({}, "code"), ({"code": ""}, "code"), ({"code": 12345678901}, "code"), ({"code": "1" * 65}, "code"),
    ({"code": "123456789", "store_id": "1"}, "store_id"), ({"code": "123456789", "store_id": 0}, "store_id")])
def test_bad_input_is_refused_with_its_field(client, stores, clerk_of, body, field):
    response = client.post("/api/v1/staff/redemptions", json=body, headers=clerk_of(stores[0]))
    assert response.status_code == 422 and field in response.get_json()["errors"]


def store_name(app, store_id: int) -> str:
    with app.app_context():
        return db.session.get(Store, store_id).name


def redeemed_ago(app, redemption_id: int, seconds: float) -> str:
    """Move a redemption ``seconds`` into the past (the clock a scan is compared with); its time."""
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    with app.app_context():
        db.session.execute(update(CouponRedemption).where(CouponRedemption.id == redemption_id)
                           .values(redeemed_at=at))
        db.session.execute(update(Coupon).where(Coupon.id == CouponRedemption.coupon_id,
                                                CouponRedemption.id == redemption_id).values(used_at=at))
        db.session.commit()
    return at.isoformat()


def test_a_used_code_scanned_again_after_ten_seconds_is_409_with_when_and_where(
        app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon()
    clerk = clerk_of(stores[0])
    typed = shown_code(client, coupon)
    first = post_redeem(client, clerk, typed)
    assert first.status_code == 201
    redeemed_ago(app, first.get_json()["id"], 9)
    assert post_redeem(client, clerk, typed).status_code == 200  # the same scan sent again: the first answer
    used_at = redeemed_ago(app, first.get_json()["id"], 11)  # the clerk scans it again, minutes later in truth
    again = post_redeem(client, clerk, typed)
    assert again.status_code == 409, again.get_json()
    error = again.get_json()
    assert error["code"] == "coupon_used" and store_name(app, stores[0]) in error["message"]
    assert error["details"] == {"used_at": used_at, "store_id": stores[0], "store_name": store_name(app, stores[0]),
                                "used_in": "in_store", "redemption_id": first.get_json()["id"]}
    with app.app_context():
        assert len(db.session.scalars(select(CouponRedemption)).all()) == 1
    assert len(journey(app, "coupon_redeemed")) == 1


def test_the_same_code_at_another_store_within_ten_seconds_is_not_a_retry(app, client, in_store_coupon, stores,
                                                                           clerk_of):
    coupon = in_store_coupon()
    clerk = clerk_of(*stores)
    typed = shown_code(client, coupon)
    assert post_redeem(client, clerk, typed, store_id=stores[0]).status_code == 201
    elsewhere = post_redeem(client, clerk, typed, store_id=stores[1])
    assert elsewhere.status_code == 409 and elsewhere.get_json()["details"]["store_id"] == stores[0]


def test_the_retry_window_is_one_setting_of_the_counter(app, in_store_coupon, stores, as_clerk, monkeypatch):
    clerk = as_clerk(stores[0])
    coupon = in_store_coupon()
    now = datetime.now(UTC)
    typed = code_at(app, coupon.id, now)

    def redeem_at(at):
        return in_service(app, lambda: redemption.redeem(clerk, typed, store_id=None, now=at))

    redeemed = redeem_at(now)
    assert redeem_at(now + timedelta(seconds=10)) == redeemed
    assert redeem_at(now + timedelta(seconds=11)) == "coupon_used"
    monkeypatch.setitem(app.config, "COUNTER_RETRY_SECONDS", 30)
    assert redeem_at(now + timedelta(seconds=30)) == redeemed
    assert redeem_at(now + timedelta(seconds=31)) == "coupon_used"


def test_a_used_coupon_with_an_old_code_is_used_not_stale(app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon()
    now = datetime.now(UTC)
    assert post_redeem(client, clerk_of(stores[0]), code_at(app, coupon.id, now)).status_code == 201
    old = post_redeem(client, clerk_of(stores[0]), code_at(app, coupon.id, now - timedelta(minutes=5)))
    assert old.status_code == 409 and old.get_json()["code"] == "coupon_used"


def test_a_coupon_spent_online_says_so_at_the_counter(app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon(usage="both")
    set_coupon(app, coupon.id, status=CouponStatus.USED.value, used_in="online", used_at=T)
    refused = post_redeem(client, clerk_of(stores[0]), code_at(app, coupon.id, datetime.now(UTC)))
    assert refused.status_code == 409 and "online" in refused.get_json()["message"]
    assert refused.get_json()["details"] == {"used_at": T.isoformat(), "store_id": None, "store_name": None,
                                             "used_in": "online"}


def test_the_stores_redemptions_since_a_moment_leave_out_the_earlier_ones(app, client, in_store_coupon, stores,
                                                                        clerk_of, as_clerk):
    here = clerk_of(stores[0])
    earlier, later = (post_redeem(client, here, shown_code(client, in_store_coupon())).get_json()["id"]
                      for _ in range(2))
    with app.app_context():
        db.session.execute(update(CouponRedemption).where(CouponRedemption.id == earlier)
                           .values(redeemed_at=datetime.now(UTC) - timedelta(days=1)))
        db.session.commit()
        since = datetime.now(UTC) - timedelta(hours=1)
        listed = redemption.list_redemptions(as_clerk(stores[0]), store_id=stores[0], page=1, page_size=50,
                                             since=since)
        assert [item["redemption"].id for item in listed["items"]] == [later]


def test_the_database_refuses_a_second_standing_redemption_of_a_coupon_but_not_one_after_a_revert(
        app, client, in_store_coupon, stores, clerk_of):
    coupon = in_store_coupon()
    redeemed = post_redeem(client, clerk_of(stores[0]), shown_code(client, coupon)).get_json()
    with app.app_context():
        first = db.session.get(CouponRedemption, redeemed["id"])
        second = {"coupon_id": coupon.id, "store_id": stores[0], "staff_id": first.staff_id}
        db.session.add(CouponRedemption(**second))  # past the service, as a bug or a hand-written script would
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.execute(update(CouponRedemption).where(CouponRedemption.id == redeemed["id"])
                           .values(reverted_at=datetime.now(UTC)))
        db.session.add(CouponRedemption(**second))  # redeemed again after the revert: allowed
        db.session.commit()
