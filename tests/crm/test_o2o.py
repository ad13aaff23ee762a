"""A store's o2o report: two stores with hand-counted figures over two business days, the stores ranked, the
rollup's answer equal to the raw computation, as_of while days are missing, unknown stores, bad ranges, roles."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from coupons.models import Coupon, CouponBatch, CouponRedemption
from crm.o2o.service import ROLLUP, o2o_from_rollups, o2o_raw
from crm.rollups.service import rebuild
from crm.tags.models import MemberProfile
from shop.auth import Role
from shop.extensions import db
from shop.members.models import Member
from shop.orders.models import Order
from shop.staff.service import create_staff
from shop.till.models import TillSale
from tests.conftest import STAFF_PASSWORD
from tests.crm.conftest import make_member, paid_order
from tests.factories import make_store

DAY1, DAY2 = date(2026, 12, 1), date(2026, 12, 2)
NOON1 = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai on DAY1
NOON2 = NOON1 + timedelta(days=1)
BUILT = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
_n = itertools.count(1)


def _batch(usage: str) -> int:
    batch = CouponBatch(name=f"{usage} batch", kind="amount_off", amount_off=500, total=100, per_member_limit=5,
                        status="active", usage=usage)
    db.session.add(batch)
    db.session.flush()
    return batch.id


def _coupon(batch_id: int, member_id: int, claimed_at: datetime) -> int:
    n = next(_n)
    coupon = Coupon(batch_id=batch_id, member_id=member_id, sequence=n, issue_number=n,
                    claim_day=(claimed_at + timedelta(hours=8)).date(), claimed_at=claimed_at, source="public",
                    valid_from=claimed_at, expires_at=claimed_at + timedelta(days=30))
    db.session.add(coupon)
    db.session.flush()
    return coupon.id


def _clerk(store_id: int) -> int:
    return create_staff(username=f"o2o-clerk-{next(_n)}", password=STAFF_PASSWORD, role=Role.STAFF,
                        store_ids=[store_id]).id


def _redeem(coupon_id: int, store_id: int, at: datetime, *, reverted: bool = False) -> None:
    db.session.add(CouponRedemption(coupon_id=coupon_id, store_id=store_id, staff_id=_clerk(store_id), redeemed_at=at,
                                    reverted_at=at + timedelta(minutes=2) if reverted else None))
    db.session.flush()


def _till_sale(member_id: int, store_id: int, amount: int, at: datetime, *, refunded: int = 0,
               voided: bool = False) -> None:
    order_id = paid_order(member_id, amount, paid_at=at, store_id=store_id, fulfilment="in_store", refunded=refunded)
    db.session.add(TillSale(order_id=order_id, store_id=store_id, receipt_no=f"R{next(_n)}", staff_id=_clerk(store_id),
                            member_id=member_id, request_fingerprint="x" * 64, created_at=at,
                            voided_at=at + timedelta(minutes=1) if voided else None))
    db.session.flush()


def _won(name: str, store_id: int | None, source: str | None = None, at: datetime | None = None) -> int:
    return make_member(name, home_store_id=store_id, home_store_source=source, home_store_set_at=at)


def _scenario() -> dict[str, int]:
    """Store A and store B over DAY1-DAY2 (the figures expected are counted in the tests below)."""
    a, b = make_store(name="A").id, make_store(name="B").id
    make_store(name="C")  # nothing happened there
    ann = _won("ann", a, "store_share", NOON1)
    bob = _won("bob", a, "purchase", NOON2)
    late = _won("late", a, "purchase", datetime(2026, 12, 2, 15, 59, tzinfo=UTC))  # 23:59 of DAY2 in Shanghai
    _won("before", a, "store_share", datetime(2026, 11, 30, 15, 59, tzinfo=UTC))  # 23:59 of Nov 30: outside
    _won("after", a, "purchase", datetime(2026, 12, 2, 16, 0, tzinfo=UTC))  # 00:00 of Dec 3: outside
    cat = _won("cat", b, "purchase", NOON1)
    dan = make_member("dan")  # no home store: claims belong to no store
    in_store, both, online = _batch("in_store"), _batch("both"), _batch("online")
    ann_coupon = _coupon(in_store, ann, NOON1)
    _coupon(online, ann, NOON1)  # not usable in stores
    bob_coupon = _coupon(both, bob, NOON2)
    cat_coupon = _coupon(in_store, cat, NOON1)
    _coupon(in_store, dan, NOON1)
    _coupon(in_store, late, datetime(2026, 12, 3, 1, 0, tzinfo=UTC))  # claimed on Dec 3
    _redeem(ann_coupon, a, NOON1)
    _redeem(bob_coupon, a, NOON2, reverted=True)
    _redeem(cat_coupon, b, NOON1)
    paid_order(ann, 3000, paid_at=NOON1, store_id=a)  # a pickup, not yet handed over
    handed = db.session.get(Order,
                            paid_order(bob, 2000, paid_at=NOON1, store_id=a, status="completed"))
    handed.completed_at = NOON2
    paid_order(bob, 1500, paid_at=NOON2, store_id=a, status="paid")
    paid_order(bob, 1500, paid_at=NOON2, store_id=None, fulfilment="delivery", status="paid")  # not the store's
    quick = db.session.get(Order,
                           paid_order(cat, 900, paid_at=NOON1, store_id=b, status="completed"))
    quick.completed_at = NOON1 + timedelta(hours=1)
    _till_sale(ann, a, 1000, NOON1)
    _till_sale(bob, a, 2500, NOON2, refunded=500)
    _till_sale(bob, a, 9900, NOON2, voided=True)
    _till_sale(cat, b, 4000, NOON2)
    _till_sale(cat, b, 7000, datetime(2026, 12, 2, 16, 30, tzinfo=UTC))  # Dec 3 in Shanghai
    db.session.add_all([MemberProfile(member_id=ann, regular_store_id=a), MemberProfile(member_id=bob, regular_store_id=a),
                        MemberProfile(member_id=cat, regular_store_id=b), MemberProfile(member_id=dan)])
    db.session.flush()
    return {"a": a, "b": b}


EXPECTED_A = {"coupons_claimed": 2, "coupons_redeemed": 1, "pickup_placed": 3, "pickup_picked_up": 1,
              "till_sales": 2, "till_sales_fen": 3000, "new_members": 3, "new_members_via_share": 1, "regulars": 2}
EXPECTED_B = {"coupons_claimed": 1, "coupons_redeemed": 1, "pickup_placed": 1, "pickup_picked_up": 1,
              "till_sales": 1, "till_sales_fen": 4000, "new_members": 1, "new_members_via_share": 0, "regulars": 1}


@pytest.fixture
def stores(app, committed) -> dict[str, int]:
    """The scenario, with its two days built into the rollup."""
    ids = committed(_scenario)
    with app.app_context():
        rebuild(DAY1, DAY2, BUILT, (ROLLUP,))
    return ids


def _figures(answer: dict) -> dict:
    return {name: answer[name] for name in EXPECTED_A}


def test_a_store_reports_its_hand_counted_figures_over_the_period(client, stores, marketing):
    answer = client.get(f"/api/v1/admin/stores/{stores['a']}/o2o?from=2026-12-01&to=2026-12-02", headers=marketing)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert _figures(body) == EXPECTED_A
    assert (body["store"]["name"], body["from"], body["to"], body["days"], body["days_built"]) == (
        "A", "2026-12-01", "2026-12-02", 2, 2)
    assert datetime.fromisoformat(body["as_of"]) == BUILT
    other = client.get(f"/api/v1/admin/stores/{stores['b']}/o2o?from=2026-12-01&to=2026-12-02", headers=marketing)
    assert _figures(other.get_json()) == EXPECTED_B


def test_one_day_holds_only_that_business_day(client, stores, marketing):
    body = client.get(f"/api/v1/admin/stores/{stores['a']}/o2o?from=2026-12-02&to=2026-12-02", headers=marketing).get_json()
    assert _figures(body) == {"coupons_claimed": 1, "coupons_redeemed": 0, "pickup_placed": 1, "pickup_picked_up": 1,
                              "till_sales": 1, "till_sales_fen": 2000, "new_members": 2, "new_members_via_share": 0,
                              "regulars": 2}


def test_stores_are_ranked_by_the_chosen_figure(client, stores, admin):
    period = "from=2026-12-01&to=2026-12-02"
    by_gmv = client.get(f"/api/v1/admin/stores/o2o?{period}", headers=admin).get_json()
    assert by_gmv["rank_by"] == "till_sales_fen" and by_gmv["total"] == 3
    assert [(row["rank"], row["store"]["name"]) for row in by_gmv["items"]] == [(1, "B"), (2, "A"), (3, "C")]
    assert _figures(by_gmv["items"][0]) == EXPECTED_B and _figures(by_gmv["items"][1]) == EXPECTED_A
    assert set(_figures(by_gmv["items"][2]).values()) == {0}
    tied = client.get(f"/api/v1/admin/stores/o2o?{period}&rank_by=coupons_redeemed", headers=admin).get_json()
    assert [row["store"]["name"] for row in tied["items"]] == ["A", "B", "C"]  # 1, 1, 0: ties to the lower id
    assert datetime.fromisoformat(by_gmv["as_of"]) == BUILT
    by_claims = client.get(f"/api/v1/admin/stores/o2o?{period}&rank_by=coupons_claimed&page_size=1", headers=admin)
    assert [row["store"]["id"] for row in by_claims.get_json()["items"]] == [stores["a"]]
    second = client.get(f"/api/v1/admin/stores/o2o?{period}&rank_by=coupons_claimed&page_size=1&page=2", headers=admin)
    assert [(row["rank"], row["store"]["id"]) for row in second.get_json()["items"]] == [(2, stores["b"])]
    unknown = client.get(f"/api/v1/admin/stores/o2o?{period}&rank_by=vibes", headers=admin)
    assert unknown.status_code == 422


def test_the_rollup_answer_equals_the_raw_computation(app, stores):
    with app.app_context():
        rebuild(date(2026, 11, 29), date(2026, 12, 4), BUILT, (ROLLUP,))
        for first, last in [(DAY1, DAY2), (DAY2, DAY2), (date(2026, 11, 29), date(2026, 12, 4))]:
            assert o2o_from_rollups(first, last) == o2o_raw(first, last)
            assert o2o_from_rollups(first, last, stores["a"]) == o2o_raw(first, last, stores["a"])
        assert o2o_raw(DAY1, DAY2)[stores["a"]] == EXPECTED_A


def test_a_rebuilt_day_follows_a_change_of_its_raw_rows(app, client, stores, marketing):
    with app.app_context():
        db.session.get(Member, db.session.query(Member.id).filter_by(nickname="cat").scalar()).home_store_id = None
        db.session.commit()
        rebuild(DAY1, DAY1, BUILT + timedelta(hours=1), (ROLLUP,))
        rebuild(DAY1, DAY1, BUILT + timedelta(hours=1), (ROLLUP,))  # twice: the same rows
        assert o2o_from_rollups(DAY1, DAY2) == o2o_raw(DAY1, DAY2)
    body = client.get(f"/api/v1/admin/stores/{stores['b']}/o2o?from=2026-12-01&to=2026-12-02", headers=marketing)
    assert (body.get_json()["new_members"], body.get_json()["coupons_claimed"]) == (0, 0)


def test_a_period_with_days_not_built_says_so_with_as_of_null(client, stores, marketing):
    body = client.get(f"/api/v1/admin/stores/{stores['a']}/o2o?from=2026-12-01&to=2026-12-05", headers=marketing)
    answer = body.get_json()
    assert (answer["as_of"], answer["days"], answer["days_built"]) == (None, 5, 2)
    assert _figures(answer) == EXPECTED_A  # the figures of the days built


def test_an_unknown_store_is_404(client, marketing):
    answer = client.get("/api/v1/admin/stores/999999/o2o?from=2026-12-01&to=2026-12-02", headers=marketing)
    assert (answer.status_code, answer.get_json()["code"]) == (404, "store_not_found")


@pytest.mark.parametrize(("query", "code"), [
    ("from=2026-12-02&to=2026-12-01", "report_period_invalid"),  # backwards
    ("from=2025-11-30&to=2026-12-01", "report_period_invalid"),  # 367 days
    ("from=2026-12-01", "validation_error"),  # no end
    ("from=yesterday&to=2026-12-01", "validation_error"),
    ("from=2026-12-01&to=2026-12-02&store=1", "validation_error"),  # unknown parameter
])
def test_a_bad_range_is_422_on_both_reports(app, client, marketing, query, code):
    with app.app_context():
        store_id = make_store().id
        db.session.commit()
    for path in (f"/api/v1/admin/stores/{store_id}/o2o", "/api/v1/admin/stores/o2o"):
        answer = client.get(f"{path}?{query}", headers=marketing)
        assert (answer.status_code, answer.get_json()["code"]) == (422, code), (path, query, answer.get_json())


def test_a_year_of_366_days_is_accepted(client, stores, marketing):
    answer = client.get("/api/v1/admin/stores/o2o?from=2025-12-02&to=2026-12-02", headers=marketing)
    assert answer.status_code == 200 and answer.get_json()["days"] == 366


def test_only_marketing_and_admins_read_the_reports_not_staff_nor_shoppers(client, stores, staff_token, alice):
    clerk = staff_token(Role.STAFF, [stores["a"]])
    for path in (f"/api/v1/admin/stores/{stores['a']}/o2o", "/api/v1/admin/stores/o2o"):
        url = f"{path}?from=2026-12-01&to=2026-12-02"
        assert client.get(url).status_code == 401
        assert client.get(url, headers=clerk).status_code == 403  # even for the clerk's own store
        assert client.get(url, headers=alice).status_code == 403
        assert client.get(url, headers=staff_token(Role.ADMIN)).status_code == 200


def test_the_rebuild_command_builds_the_o2o_days_the_report_reads(app, client, committed, marketing):
    ids = committed(_scenario)
    before = client.get(f"/api/v1/admin/stores/{ids['b']}/o2o?from=2026-12-01&to=2026-12-01", headers=marketing)
    assert (before.get_json()["as_of"], before.get_json()["coupons_redeemed"]) == (None, 0)
    result = app.test_cli_runner().invoke(args=["crm", "rebuild-rollups", "--from", "2026-12-01", "--to", "2026-12-01",
                                                "--only", "o2o"])
    assert result.exit_code == 0, result.output
    after = client.get(f"/api/v1/admin/stores/{ids['b']}/o2o?from=2026-12-01&to=2026-12-01", headers=marketing)
    assert after.get_json()["as_of"] is not None and after.get_json()["coupons_redeemed"] == 1
