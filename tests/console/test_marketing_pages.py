"""Marketing's pages in the console: segments, tags, members, the funnel, campaign and store reports, referral.

Each page is the CRM's and referral's services seen through the console: what each role may open, the API's
refusals shown beside their fields, phone numbers masked for marketing, CSRF refused without the token.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from crm.rollups.service import business_day, rebuild
from crm.segments.models import Segment
from crm.tags.models import MemberTag, Tag
from referral.tree.service import bind, ensure_node
from shop.auth import Role
from shop.extensions import db
from tests.console.conftest import text_of
from tests.crm.conftest import NOW, make_member, paid_order, share
from tests.crm.test_members import _people

PAGES = ("/console/segments", "/console/segments/new", "/console/tags", "/console/members", "/console/funnel",
         "/console/campaigns", "/console/o2o", "/console/referral")


@pytest.fixture
def signed_in(browser, account):
    """A console browser logged in with a new account of the role (English pages)."""
    def sign_in(role: Role, store_ids: list[int] | None = None):
        user = browser()
        assert user.login(account(role, store_ids)).status_code == 302
        user.get("/console/segments?lang=en")
        return user
    return sign_in


@pytest.fixture
def marketer(signed_in):
    return signed_in(Role.MARKETING)


def people(committed) -> dict:
    """Alice (phone, a tag, 25 journey events, paid 30 yuan) under Parent, and Bob."""
    return committed(_people)


def count_of(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


@pytest.mark.parametrize("path", PAGES)
def test_marketing_and_admins_open_each_marketing_page_a_clerk_is_refused_and_no_session_goes_to_login(
        path, signed_in, browser, shop):
    assert browser().get(path).status_code == 302
    assert "/console/login" in browser().get(path).headers["Location"]
    assert signed_in(Role.STAFF, [shop.store_id]).get(path).status_code == 403
    for role in (Role.MARKETING, Role.ADMIN):
        assert signed_in(role).get(path).status_code == 200, role


def test_the_segment_preview_counts_members_as_the_rule_changes_and_names_a_wrong_value_on_its_row(
        marketer, committed):
    people(committed)  # Alice has spent 30 yuan, Parent and Bob nothing
    rule = {"match": "all", "field_0": "spend_fen", "op_0": ">=", "value_0": "20"}
    assert 'id="preview-count">1<' in text_of(marketer.get("/console/segments/preview", query_string=rule))
    wider = {**rule, "op_0": "<"}  # members who spent less than 20 yuan, or nothing
    assert 'id="preview-count">2<' in text_of(marketer.get("/console/segments/preview", query_string=wider))
    both = {**rule, "match": "any", "field_1": "tag", "op_1": "has", "value_1": "vip"}
    assert 'id="preview-count">1<' in text_of(marketer.get("/console/segments/preview", query_string=both))
    wrong = text_of(marketer.get("/console/segments/preview", query_string={**rule, "value_0": "a lot"}))
    assert "Condition 1: Not a valid" in wrong or "Condition 1: A whole number." in wrong


def test_a_negated_condition_counts_the_members_who_do_not_match_it_and_is_saved_and_copied_as_such(
        marketer, committed, app):
    people(committed)  # Alice has spent 30 yuan and carries vip, Parent and Bob neither
    rule = {"match": "all", "field_0": "tag", "op_0": "has", "value_0": "vip", "negate_0": "1"}
    assert 'id="preview-count">2<' in text_of(marketer.get("/console/segments/preview", query_string=rule))
    wrong = text_of(marketer.get("/console/segments/preview", query_string={**rule, "op_0": "<"}))
    assert "Condition 1:" in wrong  # the checker's error under `not` still finds its row
    assert marketer.post("/console/segments/new", {"name": "Not vip", **rule}).status_code == 302
    with app.app_context():
        segment_id, saved = db.session.query(Segment.id, Segment.rule).one()
    assert saved == {"all": [{"not": {"field": "tag", "op": "has", "value": "vip"}}]}
    assert "not: Tag has vip" in text_of(marketer.get("/console/segments"))
    copied = text_of(marketer.get(f"/console/segments/new?from_segment={segment_id}"))
    assert 'name="negate_0" value="1" checked' in copied and 'value="vip"' in copied


def test_a_segment_is_saved_by_name_a_taken_name_and_a_wrong_row_are_shown_in_place_and_it_lists_its_members(
        marketer, committed, app):
    alice = people(committed)["alice"]
    form = {"name": "Spent 20+", "match": "all", "field_0": "spend_fen", "op_0": ">=", "value_0": "20"}
    wrong = marketer.post("/console/segments/new", {**form, "value_0": "many"})
    assert wrong.status_code == 422 and 'aria-describedby="value_0-error"' in text_of(wrong)
    assert count_of(app, Segment) == 0
    assert marketer.post("/console/segments/new", form).status_code == 302
    listed = text_of(marketer.get("/console/segments"))
    assert "Spent 20+" in listed and "Spend (yuan) ≥ 20.00" in listed  # yuan typed, fen kept, said in words
    again = marketer.post("/console/segments/new", form)
    assert again.status_code == 422 and "A segment with this name exists" in text_of(again)
    with app.app_context():
        segment_id, rule = db.session.query(Segment.id, Segment.rule).one()
    assert rule == {"all": [{"field": "spend_fen", "op": ">=", "value": 2000}]}
    members = text_of(marketer.get(f"/console/members?segment_id={segment_id}"))
    assert "1 members" in members and f"/console/members/{alice}" in members
    copied = text_of(marketer.get(f"/console/segments/new?from_segment={segment_id}"))
    assert 'value="20.00"' in copied and 'value="spend_fen" selected' in copied


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(marketer, committed, app):
    alice = people(committed)["alice"]
    assert marketer.post("/console/segments/new", {"name": "x", "field_0": "tag", "op_0": "has", "value_0": "vip"},
                         csrf=False).status_code == 400
    assert marketer.post("/console/tags", {"name": "new-tag"}, csrf=False).status_code == 400
    with app.app_context():
        vip = db.session.query(Tag.id).filter_by(name="vip").scalar()
    assert marketer.post(f"/console/members/{alice}/tags/{vip}/remove", csrf=False).status_code == 400
    assert count_of(app, Segment) == 0 and count_of(app, Tag) == 1 and count_of(app, MemberTag) == 1


def test_members_are_searched_by_name_and_tag_with_the_phone_masked_for_marketing_and_whole_for_admins(
        marketer, signed_in, committed):
    people(committed)
    found = text_of(marketer.get("/console/members?q=Alice"))
    assert "1 members" in found and "138****5678" in found and "13812345678" not in found
    assert "Bob" not in found
    tagged = text_of(marketer.get("/console/members?tag=vip"))
    assert "Alice" in tagged and "Bob" not in tagged
    assert "13812345678" in text_of(signed_in(Role.ADMIN).get("/console/members?q=Alice"))
    unknown = marketer.get("/console/members?segment_id=999")
    assert unknown.status_code == 422 and "No such segment." in text_of(unknown)


def test_a_members_page_shows_the_relationship_and_pages_the_journey(marketer, committed):
    ids = people(committed)
    page = text_of(marketer.get(f"/console/members/{ids['alice']}"))
    assert "138****5678" in page and "13812345678" not in page
    assert "Parent" in page and "¥30.00" in page and "vip" in page and "view_product" in page
    assert "Page 1 of 2" in page
    second = text_of(marketer.get(f"/console/members/{ids['alice']}?journey_page=2"))
    assert "Page 2 of 2" in second and second.count("view_product") == 5
    assert marketer.get("/console/members/987654").status_code == 404


def test_a_manual_tag_is_added_to_and_removed_from_a_member_on_their_page(marketer, committed, app):
    alice = people(committed)["alice"]
    assert marketer.post("/console/tags", {"name": "autumn"}).status_code == 302
    with app.app_context():
        autumn = db.session.query(Tag.id).filter_by(name="autumn").scalar()
    assert marketer.post(f"/console/members/{alice}/tags", {"tag_id": str(autumn)}).status_code == 302
    assert "Tag added." in text_of(marketer.get(f"/console/members/{alice}"))
    assert "Alice" in text_of(marketer.get("/console/members?tag=autumn"))
    assert marketer.post(f"/console/members/{alice}/tags/{autumn}/remove").status_code == 302
    assert "Alice" not in text_of(marketer.get("/console/members?tag=autumn"))
    taken = marketer.post("/console/tags", {"name": "autumn"})
    assert taken.status_code == 422 and 'id="name-error"' in text_of(taken)


def test_a_tag_job_from_typed_ids_and_from_a_csv_runs_to_the_end_and_a_bad_csv_names_its_rows(
        marketer, committed, app):
    ids = people(committed)
    marketer.post("/console/tags", {"name": "winter"})
    with app.app_context():
        winter = db.session.query(Tag.id).filter_by(name="winter").scalar()
    started = marketer.post(f"/console/tags/{winter}", {"action": "add", "member_ids": f"{ids['alice']}, 987654"})
    assert started.status_code == 302
    progress = text_of(marketer.get(started.headers["Location"] + "/progress"))
    assert "2 of 2 members handled" in progress and "1 members changed, 1 ids of no member" in progress
    assert 'hx-trigger="every 1s"' not in progress  # finished: the page stops asking
    csv = io.BytesIO(f"member_id\n{ids['alice']}\n{ids['parent']}\n".encode())
    removed = marketer.client.post(f"/console/tags/{winter}", data={
        "csrf_token": marketer.token, "action": "remove", "file": (csv, "ids.csv")},
        content_type="multipart/form-data")
    assert removed.status_code == 302
    assert "1 members changed" in text_of(marketer.get(removed.headers["Location"]))
    bad = marketer.client.post(f"/console/tags/{winter}", data={
        "csrf_token": marketer.token, "action": "add", "file": (io.BytesIO(b"1\nabc\n3\n"), "ids.csv")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "Rows 2 of the CSV hold no member id." in text_of(bad)
    typed_wrong = marketer.post(f"/console/tags/{winter}", {"action": "add", "member_ids": "12, twelve"})
    assert typed_wrong.status_code == 422 and 'id="member_ids-error"' in text_of(typed_wrong)


def test_the_funnel_shows_its_range_and_as_of_and_refuses_a_reversed_range_beside_the_input(marketer, committed, app):
    ids = people(committed)
    today = business_day(NOW)
    with app.app_context():
        rebuild(today - timedelta(days=29), today, NOW)
    page = text_of(marketer.get("/console/funnel"))
    assert "Figures as of" in page and 'id="chart-funnel"' in page and f'value="{today.isoformat()}"' in page
    assert ids  # members joined 400 days ago are outside the default 30 days: the funnel counts zero there
    reversed_range = marketer.get(f"/console/funnel?from={today}&to={today - timedelta(days=3)}")
    assert reversed_range.status_code == 422 and 'id="range-to-error"' in text_of(reversed_range)
    unbuilt = text_of(marketer.get(f"/console/funnel?from={today - timedelta(days=60)}&to={today}"))
    assert "Not every day of this range is built yet" in unbuilt
    assert marketer.get("/console/funnel?from=yesterday").status_code == 422


def test_the_campaign_report_lists_campaigns_with_shares_and_refuses_a_label_no_campaign_can_carry(
        marketer, committed, app):
    def shared():
        sharer = make_member("Sharer")
        from referral.sharing.models import Share
        db.session.add(Share(scene="crm-autumn-1", sharer_id=sharer, campaign="autumn-2026", created_at=NOW))
    committed(shared)
    page = text_of(marketer.get("/console/campaigns"))
    assert "autumn-2026" in page
    report = text_of(marketer.get("/console/campaigns?campaign=autumn-2026"))
    assert 'id="chart-campaign"' in report and ("Figures as of" in report or "Not every day" in report)
    wrong = marketer.get("/console/campaigns?campaign=no%20spaces")
    assert wrong.status_code == 422 and 'id="campaign-error"' in text_of(wrong)


def test_the_stores_o2o_ranks_the_stores_and_a_store_page_shows_its_figures(marketer, shop, app):
    today = business_day(NOW)
    with app.app_context():
        rebuild(today - timedelta(days=29), today, NOW)
    ranked = text_of(marketer.get("/console/o2o?rank_by=new_members"))
    assert "Figures as of" in ranked and f"/console/o2o/stores/{shop.store_id}" in ranked
    store = text_of(marketer.get(f"/console/o2o/stores/{shop.store_id}"))
    assert "Members won" in store and "30 of 30 days built" in store
    assert marketer.get("/console/o2o/stores/987654").status_code == 404
    assert marketer.get("/console/o2o?rank_by=nothing").status_code == 422


def test_referral_figures_show_k_factor_the_ripple_by_depth_top_sharers_and_a_members_subtree(
        marketer, committed):
    def tree():
        root = make_member("Root")
        friend = make_member("Friend", joined=NOW - timedelta(days=1))
        ensure_node(root)
        ensure_node(friend)
        bind(friend, root, share_id=share(root), now=NOW - timedelta(hours=3))
        paid_order(friend, 4200, paid_at=NOW - timedelta(hours=2))
        return root
    root = committed(tree)
    page = text_of(marketer.get("/console/referral"))
    assert "Live figures, as of" in page and 'id="k-factor"' in page and "Root" in page
    subtree = text_of(marketer.get(f"/console/referral/members/{root}"))
    assert 'id="subtree-size">1<' in subtree and "Friend" in subtree
    assert marketer.get("/console/referral/members/987654").status_code == 404
    too_long = marketer.get("/console/referral?from=2024-01-01&to=2026-01-01")
    assert too_long.status_code == 422


def test_a_clerk_may_not_use_marketings_actions_and_nothing_changes(signed_in, shop, committed, app):
    alice = people(committed)["alice"]
    clerk = signed_in(Role.STAFF, [shop.store_id])
    clerk.get("/console/counter")  # a page of theirs, for a valid CSRF token
    with app.app_context():
        vip = db.session.query(Tag.id).filter_by(name="vip").scalar()
    assert clerk.post("/console/tags", {"name": "clerk-tag"}).status_code == 403
    assert clerk.post("/console/segments/new", {"name": "x", "field_0": "tag", "op_0": "has",
                                                "value_0": "vip"}).status_code == 403
    assert clerk.post(f"/console/members/{alice}/tags/{vip}/remove").status_code == 403
    assert count_of(app, Segment) == 0 and count_of(app, Tag) == 1 and count_of(app, MemberTag) == 1


def test_the_marketing_pages_speak_chinese_first(marketer):
    assert "会员漏斗" in text_of(marketer.get("/console/funnel?lang=zh_CN"))
    assert "新建分群" in text_of(marketer.get("/console/segments/new"))  # the language chosen is kept


def _alice_with_a_coupon() -> dict:
    from coupons.models import Coupon, CouponBatch
    ids = _people()
    batch = CouponBatch(name="welcome", kind="amount_off", amount_off=100, total=10, status="active")
    db.session.add(batch)
    db.session.flush()
    db.session.add(Coupon(batch_id=batch.id, member_id=ids["alice"], sequence=1, issue_number=1, claim_day=NOW.date(),
                          source="public", status="available", valid_from=NOW - timedelta(days=1),
                          expires_at=NOW + timedelta(days=3650)))
    return ids


def test_a_members_page_says_order_and_coupon_states_in_words_in_both_languages(marketer, committed):
    ids = committed(_alice_with_a_coupon)
    english = marketer.get(f"/console/members/{ids['alice']}?lang=en").get_data(as_text=True)
    assert "<td>refunded</td>" in english and "<td>available</td>" in english and "available: 1" in english
    chinese = marketer.get(f"/console/members/{ids['alice']}?lang=zh_CN").get_data(as_text=True)
    assert "<td>已退款</td>" in chinese and "<td>可用</td>" in chinese and "可用: 1" in chinese
    assert "<td>paid</td>" not in chinese and "<td>available</td>" not in chinese
