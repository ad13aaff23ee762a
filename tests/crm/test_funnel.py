"""The funnel: a hand-built week of members joining, paying, sharing, friends binding and paying, and
following, read from the rollup and from the raw rows; filters by what brought a member; weekly cohorts;
a step counted on the day it happened, so refreshing recent days keeps older joins right; roles and ranges."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from crm.funnel import service as funnel
from crm.funnel.models import FunnelDay
from crm.rollups.service import business_day, rebuild, refresh_when_due
from referral.sharing.models import Share, ShareOpen, StoreShare, StoreShareOpen
from referral.tree.models import BindHistory
from shop.auth import Role
from shop.config import BUSINESS_ZONE
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import JourneyEvent
from shop.staff.service import create_staff
from tests.conftest import bearer
from tests.crm.conftest import make_member
from tests.factories import make_store
from tests.referral.share_steps import share

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=BUSINESS_ZONE).astimezone(UTC)  # Wednesday noon in Shanghai
FIRST, LAST = date(2026, 12, 3), date(2026, 12, 8)
_n = itertools.count(1)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment of December 2026, Shanghai time."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BUSINESS_ZONE).astimezone(UTC)


def event(member_id: int, kind: str, when: datetime, **attribution) -> None:
    db.session.add(JourneyEvent(member_id=member_id, kind=kind, occurred_at=when, attributes={}, **attribution))


def joins(name: str, when: datetime) -> int:
    member_id = make_member(name, joined=when)
    event(member_id, "registered", when)
    return member_id


def shares(sharer_id: int, when: datetime, campaign: str | None = None) -> int:
    row = Share(scene=f"fun{next(_n)}", sharer_id=sharer_id, campaign=campaign, created_at=when)
    db.session.add(row)
    db.session.flush()
    event(sharer_id, "share_created", when, share_id=row.id, campaign=campaign)
    return row.id


def arrives_through(member_id: int, share_id: int, when: datetime) -> None:
    db.session.add(ShareOpen(share_id=share_id, member_id=member_id, new_member=True, outcome="bound", opened_at=when))


def binds(friend_id: int, share_id: int, when: datetime) -> None:
    sharer = db.session.get(Share, share_id).sharer_id
    db.session.add(BindHistory(member_id=friend_id, new_parent_id=sharer, share_id=share_id, kind="bind",
                               created_at=when))


@dataclass
class Scenario:
    store_id: int
    sam: int
    bob: int
    spring_share: int
    bob_share: int


@pytest.fixture
def week(app) -> Scenario:
    """Six members join from Thursday 3 to Tuesday 8 December (and two outside), each doing a known part."""
    with app.app_context():
        store = make_store()
        clerk = create_staff(username=f"funnel-clerk-{next(_n)}", password="Correct-Horse-9", role=Role.STAFF,
                             store_ids=[store.id])
        db.session.flush()
        old = joins("old", at(1))  # joined before the range: not counted though he pays inside it
        event(old, "order_paid", at(4))
        sam = joins("sam", at(3, 9))
        event(sam, "followed", at(2))  # followed the official account before logging in: counts at the join
        event(sam, "order_paid", at(3, 12))
        spring = shares(sam, at(4), campaign="spring")
        fay = joins("fay", at(3, 11))
        event(fay, "order_paid", at(3, 12))
        ann = joins("ann", at(5))
        arrives_through(ann, spring, at(5))
        binds(ann, spring, at(5))
        event(ann, "order_paid", at(6))  # sam's friend paid
        bob = joins("bob", at(6, 23, 30))  # 15:30 UTC: still Sunday 6 in Shanghai
        counter = StoreShare(scene=f"st{next(_n)}", store_id=store.id, staff_id=clerk.id, campaign="counter",
                             created_at=at(1))
        db.session.add(counter)
        db.session.flush()
        db.session.add(StoreShareOpen(share_id=counter.id, member_id=bob, new_member=True, opened_at=at(6, 23, 30)))
        bob_share = shares(bob, at(8, 9))
        dan = joins("dan", at(7))
        event(dan, "followed", at(7, 11))
        event(dan, "order_paid", at(9, 9))  # after the range: a joined member's later step still counts
        cat = joins("cat", at(8))
        arrives_through(cat, bob_share, at(8))
        binds(cat, bob_share, at(8))
        binds(fay, bob_share, at(8, 12))  # fay paid before she was bound under bob: no friend paid for bob
        joins("eve", at(9))  # after the range
        db.session.commit()
        return Scenario(store.id, sam, bob, spring, bob_share)


def built(app) -> None:
    with app.app_context():
        rebuild(date(2026, 12, 1), date(2026, 12, 9), NOW)


def figures(answer: dict) -> dict:
    return {step["step"]: step["members"] for step in answer["steps"]} | {"followed": answer["followed"]["members"]}


WHOLE_WEEK = {"joined": 6, "paid": 4, "shared": 2, "friend_bound": 2, "friend_paid": 1, "followed": 2}


def test_the_funnel_of_a_hand_built_week_counts_each_step_and_its_conversion(app, client, week, marketing):
    built(app)
    response = client.get("/api/v1/admin/funnel?from=2026-12-03&to=2026-12-08", headers=marketing)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert figures(body) == WHOLE_WEEK
    rates = {step["step"]: (step["rate_from_previous"], step["rate_from_joined"]) for step in body["steps"]}
    assert rates == {"joined": (None, 1.0), "paid": (0.6667, 0.6667), "shared": (0.5, 0.3333),
                     "friend_bound": (1.0, 0.3333), "friend_paid": (0.5, 0.1667)}
    assert body["followed"] == {"members": 2, "rate_from_joined": 0.3333}
    assert body["as_of"] is not None and body["from"] == "2026-12-03" and body["to"] == "2026-12-08"


def test_weekly_cohorts_group_the_joins_by_iso_week_in_shanghai(app, client, week, admin):
    built(app)
    body = client.get("/api/v1/admin/funnel?from=2026-12-03&to=2026-12-08", headers=admin).get_json()
    cohorts = {cohort["week"]: (cohort["first_day"], cohort["last_day"], figures(cohort)) for cohort in body["cohorts"]}
    assert cohorts == {
        "2026-W49": ("2026-12-03", "2026-12-06",  # bob joined at 23:30 on Sunday: week 49
                     {"joined": 4, "paid": 3, "shared": 2, "friend_bound": 2, "friend_paid": 1, "followed": 1}),
        "2026-W50": ("2026-12-07", "2026-12-08",
                     {"joined": 2, "paid": 1, "shared": 0, "friend_bound": 0, "friend_paid": 0, "followed": 1}),
    }
    assert [cohort["week_start"] for cohort in body["cohorts"]] == ["2026-11-30", "2026-12-07"]


def test_filters_count_the_members_a_store_campaign_or_share_brought(app, client, week, marketing):
    built(app)

    def funnel_of(query: str) -> dict:
        response = client.get(f"/api/v1/admin/funnel?from=2026-12-03&to=2026-12-08&{query}", headers=marketing)
        assert response.status_code == 200, response.get_json()
        return figures(response.get_json())

    bob_alone = {"joined": 1, "paid": 0, "shared": 1, "friend_bound": 1, "friend_paid": 0, "followed": 0}
    ann_alone = {"joined": 1, "paid": 1, "shared": 0, "friend_bound": 0, "friend_paid": 0, "followed": 0}
    cat_alone = {"joined": 1, "paid": 0, "shared": 0, "friend_bound": 0, "friend_paid": 0, "followed": 0}
    assert funnel_of(f"store_id={week.store_id}") == bob_alone
    assert funnel_of("campaign=counter") == bob_alone
    assert funnel_of("campaign=spring") == ann_alone
    assert funnel_of(f"share_id={week.spring_share}") == ann_alone
    assert funnel_of(f"share_id={week.bob_share}") == cat_alone
    assert funnel_of("campaign=nobody") == dict.fromkeys(WHOLE_WEEK, 0)
    unknown = client.get("/api/v1/admin/funnel?from=2026-12-03&to=2026-12-08&store_id=999999", headers=marketing)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "store_not_found"


@pytest.mark.parametrize("filters", [{}, {"campaign": "spring"}, {"campaign": "counter"}, {"store": True},
                                     {"share": True}])
def test_the_rollup_answer_equals_the_raw_computation(app, week, filters):
    built(app)
    with app.app_context():
        kwargs = {"campaign": filters.get("campaign"), "store_id": week.store_id if filters.get("store") else None,
                  "share_id": week.bob_share if filters.get("share") else None}
        for first, last in ((FIRST, LAST), (date(2026, 12, 1), date(2026, 12, 9)), (date(2026, 12, 6), date(2026, 12, 6))):
            from_rollup = funnel.funnel(first, last, now=NOW, **kwargs)
            raw = funnel.funnel_raw(first, last, now=NOW, **kwargs)
            assert from_rollup["as_of"] == NOW
            assert {**from_rollup, "as_of": None} == {**raw, "as_of": None}


def test_a_step_is_counted_on_the_day_it_happened_so_refreshing_recent_days_keeps_old_joins_right(app, week):
    with app.app_context():
        rebuild(date(2026, 12, 1), date(2026, 12, 8), NOW)
        before = funnel.funnel(FIRST, LAST, now=NOW)
        assert before["as_of"] is None  # the 9th, today, is not built yet
        assert figures(before)["paid"] == 3  # dan's payment of the 9th is not in yet
        rebuild(date(2026, 12, 9), date(2026, 12, 9), NOW)  # what the periodic refresh does
        assert figures(funnel.funnel(FIRST, LAST, now=NOW))["paid"] == 4
        # sam followed on the 2nd, before he joined on the 3rd: counted on his join day
        followed = db.session.execute(db.select(FunnelDay.step_day, FunnelDay.join_day, FunnelDay.members)
                                      .where(FunnelDay.step == "followed").order_by(FunnelDay.step_day)).all()
        assert [tuple(row) for row in followed] == [(date(2026, 12, 3), date(2026, 12, 3), 1),
                                                    (date(2026, 12, 7), date(2026, 12, 7), 1)]
        rebuild(date(2026, 12, 1), date(2026, 12, 9), NOW + timedelta(hours=1))  # rebuilding changes nothing
        assert figures(funnel.funnel(FIRST, LAST, now=NOW)) == WHOLE_WEEK
        assert db.session.scalar(db.select(db.func.sum(FunnelDay.members))) == 8 + 5 + 2 + 2 + 1 + 2  # old and eve joined too, old paid


def test_only_marketing_and_admins_read_the_funnel(app, client, staff_token, alice):
    path = "/api/v1/admin/funnel?from=2026-12-03&to=2026-12-08"
    assert client.get(path, headers=staff_token(Role.STAFF)).status_code == 403
    assert client.get(path, headers=alice).status_code == 403
    assert client.get(path).status_code == 401
    for role in (Role.MARKETING, Role.ADMIN):
        response = client.get(path, headers=staff_token(role))
        assert response.status_code == 200
        assert response.get_json()["as_of"] is None  # nothing built yet: said, not hidden


@pytest.mark.parametrize("query", ["from=2026-12-08&to=2026-12-03", "from=2025-11-30&to=2026-12-01"])
def test_a_backwards_or_too_long_range_is_refused(client, marketing, query):
    response = client.get(f"/api/v1/admin/funnel?{query}", headers=marketing)
    assert response.status_code == 422
    assert response.get_json()["code"] == "report_period_invalid"


@pytest.mark.parametrize("query", ["to=2026-12-03", "from=yesterday&to=2026-12-03",
                                   "from=2026-12-01&to=2026-12-03&campaign=no%20spaces",
                                   "from=2026-12-01&to=2026-12-03&store_id=0", "from=2026-12-01&to=2026-12-03&x=1"])
def test_bad_funnel_parameters_are_refused(client, marketing, query):
    response = client.get(f"/api/v1/admin/funnel?{query}", headers=marketing)
    assert response.status_code == 422, response.get_json()


def test_a_full_year_is_allowed(client, marketing):
    response = client.get("/api/v1/admin/funnel?from=2025-12-02&to=2026-12-02", headers=marketing)
    assert response.status_code == 200
    assert len(response.get_json()["cohorts"]) == 53


def test_a_friend_who_logs_in_through_a_campaign_share_is_counted_under_that_share_and_campaign(
        app, client, login, marketing):
    sharer = bearer(login("funnel-sharer:1")["token"])
    made = share(client, sharer, campaign="summer")
    login("funnel-friend:1", scene=made["scene"])
    with app.app_context():
        today = business_day(utcnow())
        rebuild(today, today, utcnow())
    path = f"/api/v1/admin/funnel?from={today}&to={today}"
    whole = client.get(path, headers=marketing).get_json()
    assert figures(whole) == {"joined": 2, "paid": 0, "shared": 1, "friend_bound": 1, "friend_paid": 0, "followed": 0}
    brought = {"joined": 1, "paid": 0, "shared": 0, "friend_bound": 0, "friend_paid": 0, "followed": 0}
    assert figures(client.get(f"{path}&campaign=summer", headers=marketing).get_json()) == brought
    assert figures(client.get(f"{path}&share_id={made['share_id']}", headers=marketing).get_json()) == brought


def test_the_periodic_refresh_keeps_the_funnel_of_the_recent_days(app, week):
    with app.app_context():
        refresh_when_due(NOW)  # rebuilds the 7th to the 9th of every registered rollup, the funnel among them
        recent = funnel.funnel(date(2026, 12, 7), date(2026, 12, 8), now=NOW)
        assert recent["as_of"] == NOW
        assert figures(recent) == {"joined": 2, "paid": 1, "shared": 0, "friend_bound": 0, "friend_paid": 0,
                                   "followed": 1}
        assert funnel.funnel(FIRST, LAST, now=NOW)["as_of"] is None  # the 3rd to the 6th were never built
