"""Referral analytics against a hand-built tree: every figure below was worked out by hand.

The scenario (period P = [2026-11-01, 2026-11-08) UTC):

    A (root, member since 10-01; paid 6000 on 11-03)
    ├── B  via sA1, bound 11-02 (new member 11-02)       o1: 10000 on 11-03
    │   └── D  via sB1, bound 11-04 (new 11-04)           o3:  8000 on 11-05
    │       └── E  via sD1, bound 11-05 (member since 10-15)  o4: 3000 on 11-06
    ├── C  via sA1, bound 11-03 (new 11-03)               o2:  5000 on 11-04, 1000 refunded
    │   └── G  via sC1, bound 11-09 (new 11-09, after P)  o7:   900 on 11-10
    └── F  via sA2, bound 10-20 (new 10-20, before P)     o5:  2000 on 11-02, o6: 1500 on 10-25
    X, Y: roots, members since 10-01

Shares: sA1 (A, autumn, 11-01), sA2 (A, no campaign, 10-19), sB1 (B, autumn, 11-04),
sD1 (D, winter, 11-05), sX1 (X, winter, 11-06), sC1 (C, autumn, 11-09).
Opens: sA1 by B 11-02, C 11-03, Y 11-03; sB1 by D 11-04, Y 11-05; sD1 by E 11-05; sA2 by F 10-20;
sX1 by Y 11-06; sC1 by G 11-09.
Rewards: o1 A commission 500; o2 A commission 250 (50 reversed); o3 B points 400 and A points 80
(level 2); o5 A commission 100; o7 C points 45 (after P).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from referral.rewards.models import OrderSnapshot, Reward
from referral.sharing.models import Share, ShareOpen
from referral.tree import service as tree
from referral.tree.models import BindHistory
from shop.auth import Role, issue_shopper_token
from shop.extensions import db
from shop.members.models import Member
from shop.orders.models import Order, OrderLine
from tests.conftest import bearer

P = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-08T00:00:00Z"}
STATS = "/api/v1/admin/referral/stats"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    member: dict[str, int]
    share: dict[str, int]

    def token(self, app, name: str) -> dict:
        with app.test_request_context():
            return bearer(issue_shopper_token(self.member[name]))


def _member(name: str, joined: datetime) -> int:
    member = Member(openid=f"analytics-{name}", nickname=name, created_at=joined)
    db.session.add(member)
    db.session.flush()
    tree.ensure_node(member.id)
    return member.id


def _share(sharer: int, scene: str, campaign: str | None, created: datetime) -> int:
    share = Share(scene=scene, sharer_id=sharer, campaign=campaign, channel="chat", created_at=created)
    db.session.add(share)
    db.session.flush()
    return share.id


def _bind(member: int, parent: int, share: int, when: datetime) -> None:
    tree.bind(member, parent, share_id=share, now=when)
    db.session.add(BindHistory(member_id=member, old_parent_id=None, new_parent_id=parent, share_id=share,
                               kind="bind", created_at=when))


def _open(share: int, member: int, when: datetime, outcome: str = "bound") -> None:
    db.session.add(ShareOpen(share_id=share, member_id=member, outcome=outcome, opened_at=when))


def _order(number: int, member: int, amount: int, when: datetime, *, refunded: int = 0,
           share: int | None = None) -> tuple[int, int]:
    """A paid order of one line, counted in the tree, with its snapshot if the member is bound."""
    line = OrderLine(sku_id=1, product_id=1, title="Latte", spec={}, unit_price=amount, quantity=1, subtotal=amount,
                     discount=0, amount_payable=amount, refunded_quantity=0, refunded_amount=refunded)
    order = Order(number=f"TA{number}", member_id=member, idempotency_key=f"analytics-{number}",
                  request_fingerprint="-", status="paid", fulfilment="delivery", items_total=amount,
                  amount_payable=amount, amount_paid=amount, refunded_total=refunded, discounts=[],
                  created_at=when, expires_at=when, paid_at=when, lines=[line])
    db.session.add(order)
    db.session.flush()
    chain = tree.ancestors(member, limit=2)
    if chain:
        db.session.add(OrderSnapshot(order_id=order.id, member_id=member, parent_id=chain[0], share_id=share,
                                     chain=chain, amount_paid=amount, refunded=refunded, first_order=False,
                                     paid_at=when))
    tree.count_paid_order(member, orders=1, gmv=amount)
    if refunded:
        tree.count_paid_order(member, orders=0, gmv=-refunded)
    return order.id, line.id


def _reward(order: tuple[int, int], beneficiary: int, buyer: int, level: int, kind: str, amount: int,
            when: datetime, reversed_amount: int = 0) -> None:
    db.session.add(Reward(order_id=order[0], order_line_id=order[1], beneficiary_id=beneficiary, buyer_id=buyer,
                          level=level, kind=kind, amount=amount, reversed_amount=reversed_amount,
                          status="frozen", available_at=when, created_at=when))


@pytest.fixture
def scenario(committed) -> Scenario:
    def build() -> Scenario:
        m = {name: _member(name, joined) for name, joined in (
            ("A", at(10, 1)), ("B", at(11, 2, 9)), ("C", at(11, 3, 9)), ("D", at(11, 4, 9)), ("E", at(10, 15)),
            ("F", at(10, 20, 9)), ("G", at(11, 9, 9)), ("X", at(10, 1)), ("Y", at(10, 1)))}
        s = {"sA1": _share(m["A"], "sA1", "autumn", at(11, 1, 10)),
             "sA2": _share(m["A"], "sA2", None, at(10, 19)),
             "sB1": _share(m["B"], "sB1", "autumn", at(11, 4, 10)),
             "sD1": _share(m["D"], "sD1", "winter", at(11, 5, 10)),
             "sX1": _share(m["X"], "sX1", "winter", at(11, 6, 10)),
             "sC1": _share(m["C"], "sC1", "autumn", at(11, 9, 10))}
        for share, member, when in (("sA1", "B", at(11, 2)), ("sA1", "C", at(11, 3)), ("sB1", "D", at(11, 4)),
                                    ("sD1", "E", at(11, 5)), ("sA2", "F", at(10, 20)), ("sC1", "G", at(11, 9))):
            _open(s[share], m[member], when)
        for share, when in (("sA1", at(11, 3)), ("sB1", at(11, 5)), ("sX1", at(11, 6))):
            _open(s[share], m["Y"], when, outcome="already_bound")
        _bind(m["B"], m["A"], s["sA1"], at(11, 2))
        _bind(m["C"], m["A"], s["sA1"], at(11, 3))
        _bind(m["D"], m["B"], s["sB1"], at(11, 4))
        _bind(m["E"], m["D"], s["sD1"], at(11, 5))
        _bind(m["F"], m["A"], s["sA2"], at(10, 20))
        _bind(m["G"], m["C"], s["sC1"], at(11, 9))
        _order(0, m["A"], 6000, at(11, 3))
        o1 = _order(1, m["B"], 10000, at(11, 3), share=s["sA1"])
        o2 = _order(2, m["C"], 5000, at(11, 4), refunded=1000, share=s["sA1"])
        o3 = _order(3, m["D"], 8000, at(11, 5), share=s["sB1"])
        _order(4, m["E"], 3000, at(11, 6), share=s["sD1"])
        o5 = _order(5, m["F"], 2000, at(11, 2), share=s["sA2"])
        _order(6, m["F"], 1500, at(10, 25), share=s["sA2"])
        o7 = _order(7, m["G"], 900, at(11, 10), share=s["sC1"])
        _reward(o1, m["A"], m["B"], 1, "commission", 500, at(11, 3))
        _reward(o2, m["A"], m["C"], 1, "commission", 250, at(11, 4), reversed_amount=50)
        _reward(o3, m["B"], m["D"], 1, "points", 400, at(11, 5))
        _reward(o3, m["A"], m["D"], 2, "points", 80, at(11, 5))
        _reward(o5, m["A"], m["F"], 1, "commission", 100, at(11, 2))
        _reward(o7, m["C"], m["G"], 1, "points", 45, at(11, 10))
        return Scenario(member=m, share=s)

    return committed(build)


@pytest.fixture
def marketing(staff_token) -> dict:
    return staff_token(Role.MARKETING)


def _get(client, path: str, headers: dict, **query) -> dict:
    response = client.get(path, headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_sharer_sees_friends_by_level_with_their_orders_and_gmv(app, client, scenario):
    m = scenario.member
    body = _get(client, "/api/v1/me/referrals", scenario.token(app, "A"))
    assert body["member_id"] == m["A"] and body["parent_id"] is None and body["bound_at"] is None
    assert body["levels"] == [{"level": 1, "members": 3, "orders": 4, "gmv": 17500},
                              {"level": 2, "members": 2, "orders": 2, "gmv": 8900}]
    assert body["subtree"] == {"members": 6, "orders": 7, "gmv": 29400}
    page = body["members"]
    assert (page["total"], page["page"], page["page_size"]) == (3, 1, 20)
    assert [(n["member_id"], n["nickname"], n["orders"], n["gmv"], n["level"]) for n in page["items"]] == [
        (m["C"], "C", 1, 4000, 1), (m["B"], "B", 1, 10000, 1), (m["F"], "F", 2, 3500, 1)]
    assert page["items"][0]["bound_at"] == "2026-11-03T12:00:00+00:00"
    assert page["items"][0]["share_id"] == scenario.share["sA1"]

    second = _get(client, "/api/v1/me/referrals", scenario.token(app, "A"), level=2, page_size=1, page=2)
    assert second["members"]["total"] == 2
    assert [(n["member_id"], n["parent_id"], n["depth"]) for n in second["members"]["items"]] == [
        (m["D"], m["B"], 2)]  # D (bound 11-04) after G (11-09): most recent first


def test_a_friend_in_the_middle_sees_their_own_place_and_only_their_own_downline(app, client, scenario):
    m = scenario.member
    body = _get(client, "/api/v1/me/referrals", scenario.token(app, "B"))
    assert (body["member_id"], body["parent_id"], body["bound_at"]) == (m["B"], m["A"], "2026-11-02T12:00:00+00:00")
    assert body["levels"] == [{"level": 1, "members": 1, "orders": 1, "gmv": 8000},
                              {"level": 2, "members": 1, "orders": 1, "gmv": 3000}]
    assert body["subtree"] == {"members": 2, "orders": 2, "gmv": 11000}
    assert [n["member_id"] for n in body["members"]["items"]] == [m["D"]]


def test_a_shopper_cannot_ask_for_another_members_downline(app, client, scenario):
    # There is no member_id to ask with: naming one is refused, never answered with A's downline.
    refused = client.get("/api/v1/me/referrals", headers=scenario.token(app, "B"),
                         query_string={"member_id": scenario.member["A"]})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["member_id"]
    body = _get(client, "/api/v1/me/referrals", scenario.token(app, "B"))
    assert body["member_id"] == scenario.member["B"] and body["subtree"]["members"] == 2
    shares = _get(client, "/api/v1/me/referrals/shares", scenario.token(app, "B"))
    assert [s["share_id"] for s in shares["items"]] == [scenario.share["sB1"]]


def test_a_new_shopper_has_an_empty_downline(client, login, scenario):
    body = _get(client, "/api/v1/me/referrals", bearer(login("newcomer:1")["token"]))
    assert body["levels"] == [{"level": 1, "members": 0, "orders": 0, "gmv": 0},
                              {"level": 2, "members": 0, "orders": 0, "gmv": 0}]
    assert body["subtree"] == {"members": 0, "orders": 0, "gmv": 0}
    assert body["members"]["items"] == [] and body["members"]["total"] == 0 and body["parent_id"] is None


def test_my_shares_show_opens_binds_orders_and_conversion_all_time(app, client, scenario):
    body = _get(client, "/api/v1/me/referrals/shares", scenario.token(app, "A"))
    assert body["total"] == 2
    figures = [{k: s[k] for k in ("share_id", "campaign", "opens", "unique_openers", "binds", "orders", "gmv",
                                  "bind_rate", "order_rate")} for s in body["items"]]
    assert figures == [
        {"share_id": scenario.share["sA1"], "campaign": "autumn", "opens": 3, "unique_openers": 3, "binds": 2,
         "orders": 2, "gmv": 14000, "bind_rate": 0.6667, "order_rate": 1.0},
        {"share_id": scenario.share["sA2"], "campaign": None, "opens": 1, "unique_openers": 1, "binds": 1,
         "orders": 2, "gmv": 3500, "bind_rate": 1.0, "order_rate": 2.0}]


def test_top_sharers_of_a_period_rank_by_friends_gmv_with_binds_and_rewards(client, scenario, marketing):
    m = scenario.member
    body = _get(client, f"{STATS}/top-sharers", marketing, **P)
    rows = [(r["member_id"], r["shares"], r["binds"], r["orders"], r["gmv"], r["reward_points"],
             r["reward_commission"]) for r in body["items"]]
    assert rows == [(m["A"], 1, 2, 3, 16000, 80, 800), (m["B"], 1, 1, 1, 8000, 400, 0),
                    (m["D"], 1, 1, 1, 3000, 0, 0), (m["X"], 1, 0, 0, 0, 0, 0)]
    assert body["items"][0]["nickname"] == "A" and body["total"] == 4

    by_binds = _get(client, f"{STATS}/top-sharers", marketing, sort="binds", page_size=2, page=2, **P)
    assert by_binds["total"] == 4
    assert [r["member_id"] for r in by_binds["items"]] == [m["D"], m["X"]]  # B and D tie on 1: by id


def test_share_figures_of_a_period_with_conversion(client, scenario, marketing):
    s = scenario.share
    body = _get(client, f"{STATS}/shares", marketing, **P)
    rows = [(r["share_id"], r["opens"], r["unique_openers"], r["binds"], r["orders"], r["gmv"], r["bind_rate"],
             r["order_rate"]) for r in body["items"]]
    assert rows == [(s["sA1"], 3, 3, 2, 2, 14000, 0.6667, 1.0), (s["sB1"], 2, 2, 1, 1, 8000, 0.5, 1.0),
                    (s["sD1"], 1, 1, 1, 1, 3000, 1.0, 1.0), (s["sA2"], 0, 0, 0, 1, 2000, None, None),
                    (s["sX1"], 1, 1, 0, 0, 0, 0.0, None)]
    assert body["total"] == 5

    autumn = _get(client, f"{STATS}/shares", marketing, campaign="autumn", **P)
    assert [r["share_id"] for r in autumn["items"]] == [s["sA1"], s["sB1"]]
    by_a = _get(client, f"{STATS}/shares", marketing, sharer_id=scenario.member["A"], sort="opens", **P)
    assert [r["share_id"] for r in by_a["items"]] == [s["sA1"], s["sA2"]]


def test_campaign_figures_count_distinct_openers_across_the_campaign(client, scenario, marketing):
    body = _get(client, f"{STATS}/campaigns", marketing, **P)
    rows = [(r["campaign"], r["shares"], r["sharers"], r["opens"], r["unique_openers"], r["binds"], r["orders"],
             r["gmv"], r["bind_rate"], r["order_rate"]) for r in body["items"]]
    assert rows == [("autumn", 2, 2, 5, 4, 3, 3, 22000, 0.75, 1.0),
                    ("winter", 2, 2, 2, 2, 1, 1, 3000, 0.5, 1.0),
                    (None, 0, 0, 0, 0, 0, 1, 2000, None, None)]


def test_the_viral_coefficient_is_reported_as_its_two_factors_and_their_product(client, scenario, marketing):
    body = _get(client, f"{STATS}/k-factor", marketing, **P)
    assert body == {"from": "2026-11-01T00:00:00+00:00", "to": "2026-11-08T00:00:00+00:00",
                    "new_members": 3, "sharers": 4, "members": 8,
                    "new_members_per_sharer": 0.75, "sharer_rate": 0.5, "k": 0.375}


def test_the_same_period_in_another_zone_gives_the_same_figures(client, scenario, marketing):
    shanghai = {"from": "2026-11-01T08:00:00+08:00", "to": "2026-11-08T08:00:00+08:00"}
    assert _get(client, f"{STATS}/k-factor", marketing, **shanghai)["k"] == 0.375


def test_a_period_with_nobody_has_no_k(client, scenario, marketing):
    body = _get(client, f"{STATS}/k-factor", marketing, **{"from": "2025-01-01T00:00:00Z",
                                                           "to": "2025-02-01T00:00:00Z"})
    assert (body["new_members"], body["sharers"], body["members"]) == (0, 0, 0)
    assert body["new_members_per_sharer"] is None and body["sharer_rate"] is None and body["k"] is None


def test_the_ripple_shows_the_depth_of_members_bound_in_the_period(client, scenario, marketing):
    body = _get(client, f"{STATS}/ripple", marketing, **P)
    assert body["depths"] == [{"depth": 1, "members": 2}, {"depth": 2, "members": 1}, {"depth": 3, "members": 1}]
    assert (body["members"], body["max_depth"], body["mean_depth"]) == (4, 3, 1.75)


def test_the_subtree_of_any_member_with_a_page_of_nodes_to_draw(client, scenario, marketing, staff_token):
    m = scenario.member
    body = _get(client, f"/api/v1/admin/referral/members/{m['A']}/subtree", staff_token(Role.ADMIN))
    assert {k: body[k] for k in ("member_id", "parent_id", "depth", "size", "levels", "orders", "gmv", "own_orders",
                                 "own_gmv")} == {"member_id": m["A"], "parent_id": None, "depth": 0, "size": 6,
                                                 "levels": 3, "orders": 7, "gmv": 29400, "own_orders": 1,
                                                 "own_gmv": 6000}
    assert [(n["member_id"], n["parent_id"], n["level"]) for n in body["nodes"]["items"]] == [
        (m["B"], m["A"], 1), (m["C"], m["A"], 1), (m["F"], m["A"], 1), (m["D"], m["B"], 2), (m["G"], m["C"], 2),
        (m["E"], m["D"], 3)]
    assert body["nodes"]["items"][3] | {"bound_at": None} == {
        "member_id": m["D"], "nickname": "D", "avatar_url": None, "parent_id": m["B"], "depth": 2, "level": 2,
        "bound_at": None, "share_id": scenario.share["sB1"], "orders": 1, "gmv": 8000, "descendants": 1}

    b = _get(client, f"/api/v1/admin/referral/members/{m['B']}/subtree", marketing, max_level=1)
    assert (b["size"], b["levels"], b["orders"], b["gmv"], b["depth"], b["parent_id"]) == (2, 2, 2, 11000, 1, m["A"])
    assert [n["member_id"] for n in b["nodes"]["items"]] == [m["D"]] and b["nodes"]["total"] == 1


def test_the_subtree_of_a_member_not_in_the_tree_is_a_404(client, scenario, marketing):
    response = client.get("/api/v1/admin/referral/members/999999/subtree", headers=marketing)
    assert response.status_code == 404 and response.get_json()["code"] == "referral_member_not_found"


@pytest.mark.parametrize(("query", "field"), [
    ({}, "from"),
    ({"from": "2026-11-01T00:00:00Z"}, "to"),
    ({"from": "2026-11-08T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "to"),
    ({"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "to"),
    ({"from": "2026-11-01T00:00:00", "to": "2026-11-08T00:00:00Z"}, "from"),  # no zone
    ({"from": "yesterday", "to": "2026-11-08T00:00:00Z"}, "from"),
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}, "to"),  # more than 366 days
])
def test_a_period_must_be_aware_ordered_and_bounded(client, marketing, query, field):
    for what in ("top-sharers", "shares", "campaigns", "k-factor", "ripple"):
        response = client.get(f"{STATS}/{what}", headers=marketing, query_string=query)
        assert response.status_code == 422, (what, response.get_json())
        body = response.get_json()
        assert body["code"] == "validation_error" and field in body["errors"], (what, body)


def test_bad_sorts_and_levels_are_refused(app, client, scenario, marketing):
    assert client.get(f"{STATS}/shares", headers=marketing, query_string={**P, "sort": "id"}).status_code == 422
    beyond_bigint = client.get(f"{STATS}/shares", headers=marketing, query_string={**P, "sharer_id": 2**63})
    assert beyond_bigint.status_code == 422, beyond_bigint.get_json()  # not a 500 from the database
    assert client.get(f"{STATS}/top-sharers", headers=marketing,
                      query_string={**P, "sort": "name"}).status_code == 422
    assert client.get("/api/v1/me/referrals", headers=scenario.token(app, "A"),
                      query_string={"level": 3}).status_code == 422


@pytest.mark.parametrize("path", [f"{STATS}/top-sharers", f"{STATS}/shares", f"{STATS}/campaigns",
                                  f"{STATS}/k-factor", f"{STATS}/ripple", "/api/v1/admin/referral/members/{A}/subtree"])
def test_marketing_figures_are_for_marketing_and_admins_only(app, client, scenario, staff_token, path):
    period = {} if "{A}" in path else P  # a subtree is not for a period
    path = path.replace("{A}", str(scenario.member["A"]))
    assert client.get(path, query_string=P).status_code == 401  # roles first, whatever the arguments
    for headers in (scenario.token(app, "A"), staff_token(Role.STAFF)):
        response = client.get(path, headers=headers, query_string=P)
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert client.get(path, headers=staff_token(Role.ADMIN), query_string=period).status_code == 200


def test_the_shopper_views_are_for_shoppers(client, staff_token):
    for path in ("/api/v1/me/referrals", "/api/v1/me/referrals/shares"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=staff_token(Role.MARKETING)).status_code == 403


def test_a_period_includes_its_start_and_excludes_its_end(client, scenario, marketing):
    # C was bound at 11-03 12:00 (the start), E at 11-05 12:00 (the end); D in between.
    body = _get(client, f"{STATS}/ripple", marketing, **{"from": "2026-11-03T12:00:00Z", "to": "2026-11-05T12:00:00Z"})
    assert body["depths"] == [{"depth": 1, "members": 1}, {"depth": 2, "members": 1}]


def test_a_rebind_through_a_share_counts_for_the_new_share_and_an_admin_move_for_no_share(
        committed, client, marketing):
    def build() -> dict[str, int]:
        ids = {name: _member(name, at(10, 1)) for name in ("P", "Q", "M")}
        ids["sP"] = _share(ids["P"], "sP", "spring", at(11, 1))
        ids["sQ"] = _share(ids["Q"], "sQ", "spring", at(11, 1))
        _bind(ids["M"], ids["P"], ids["sP"], at(11, 2))
        tree.bind(ids["M"], ids["Q"], share_id=ids["sQ"], now=at(11, 4))
        db.session.add(BindHistory(member_id=ids["M"], old_parent_id=ids["P"], new_parent_id=ids["Q"],
                                   share_id=ids["sQ"], kind="rebind", created_at=at(11, 4)))
        tree.bind(ids["M"], ids["P"], share_id=None, now=at(11, 5))
        db.session.add(BindHistory(member_id=ids["M"], old_parent_id=ids["Q"], new_parent_id=ids["P"],
                                   kind="admin_rebind", reason="dispute", created_at=at(11, 5)))
        return ids

    ids = committed(build)
    shares = _get(client, f"{STATS}/shares", marketing, sort="binds", **P)["items"]
    assert sorted((s["share_id"], s["binds"]) for s in shares) == sorted([(ids["sP"], 1), (ids["sQ"], 1)])
    sharers = _get(client, f"{STATS}/top-sharers", marketing, sort="binds", **P)["items"]
    assert sorted((s["member_id"], s["binds"]) for s in sharers) == sorted([(ids["P"], 1), (ids["Q"], 1)])
    campaigns = _get(client, f"{STATS}/campaigns", marketing, **P)["items"]
    assert [(c["campaign"], c["binds"]) for c in campaigns] == [("spring", 1)]  # one distinct member
    ripple = _get(client, f"{STATS}/ripple", marketing, **P)
    assert ripple["depths"] == [{"depth": 1, "members": 1}]  # bound once now, whatever the moves
