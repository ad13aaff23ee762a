"""Marketing's coupon batches in the console: the list, a batch's figures, its state changes, drafts with the API's rules."""

from __future__ import annotations

import json
import re

import pytest

from coupons.models import CouponBatch
from shop.auth import Role
from shop.extensions import db
from tests.conftest import bearer
from tests.console.conftest import text_of

BATCHES = "/console/batches"


@pytest.fixture
def marketer(browser, account):
    """A marketing account logged in to the console."""
    user = browser()
    assert user.login(account(Role.MARKETING)).status_code == 302
    user.get(f"{BATCHES}?lang=en")
    return user


def draft(**fields) -> dict:
    """The new-batch form as a marketer fills it (yuan, the business zone's time)."""
    return {"name": "10 yuan off", "kind": "amount_off", "term_amount_off": "10", "valid_days": "7", "total": "100",
            "per_member_limit": "1", "channel": "public", **fields}


def status_of(app, batch_id: int) -> str:
    with app.app_context():
        return db.session.get(CouponBatch, batch_id).status


def test_marketing_sees_the_batches_with_state_and_claimed_and_used_figures_and_filters_by_state(
        marketer, active_batch, in_store_coupon, app, shop, clerk_at_counter, client, login):
    drafted = marketer.post(f"{BATCHES}/new?lang=en", draft(name="Spring draft"))
    assert drafted.status_code == 302
    held = in_store_coupon(name="Used in store", scope_store_ids=[shop.store_id])
    from tests.console.test_counter import confirm, coupon_shown, scan
    code = coupon_shown(app, held.id)
    scan(clerk_at_counter, code)
    assert confirm(clerk_at_counter, kind="coupon", code=code, store_id=shop.store_id).status_code == 201
    bob = bearer(login("bob:1")["token"])  # a second coupon of the batch, claimed and not used
    assert client.post(f"/api/v1/coupon-batches/{held.batch_id}/claim",
                       headers={**bob, "Idempotency-Key": "bob-claims"}).status_code == 201

    listed = marketer.get(BATCHES)
    page = text_of(listed)
    assert listed.status_code == 200 and "Spring draft" in page and "Used in store" in page
    assert "Draft" in page and "Active" in page and "¥10 off" in page
    row = page[page.index("Used in store"):]
    assert "<td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">10</td>" in row  # claimed, used, total
    only_drafts = text_of(marketer.get(f"{BATCHES}?status=draft"))
    assert "Spring draft" in only_drafts and "Used in store" not in only_drafts


def test_the_list_reads_in_chinese_by_default(browser, account):
    user = browser()
    user.login(account(Role.ADMIN))
    page = text_of(user.get(BATCHES, headers={"Accept-Language": "zh-CN"}))
    assert "优惠券批次" in page and "新建批次" in page


def test_clerks_and_strangers_may_not_open_the_batches(browser, account, clerk_at_counter, client):
    assert clerk_at_counter.get(BATCHES).status_code == 403
    assert clerk_at_counter.get(f"{BATCHES}/new").status_code == 403
    assert client.get(BATCHES).status_code == 302  # no session: to the login page


def test_a_batch_page_shows_its_figures_and_the_data_of_its_charts(marketer, active_batch, in_store_coupon, shop,
                                                                   app, clerk_at_counter):
    held = in_store_coupon(scope_store_ids=[shop.store_id])
    from tests.console.test_counter import confirm, coupon_shown, scan
    code = coupon_shown(app, held.id)
    scan(clerk_at_counter, code)
    confirm(clerk_at_counter, kind="coupon", code=code, store_id=shop.store_id)
    page = text_of(marketer.get(f"{BATCHES}/{held.batch_id}"))
    assert "echarts-6.1.0/echarts.min.js" in page and 'id="chart-days"' in page
    charts = json.loads(re.search(r'id="batch-charts">(.*?)</script>', page, re.S).group(1))
    assert charts["data"]["used_in_store"][-1] == 1 and sum(charts["data"]["claimed"]) == 1
    assert (charts["online"], charts["in_store"]) == (0, 1)
    assert charts["data"]["stores"] == ["People's Square"] and charts["data"]["by_store"] == [1]
    assert marketer.get(f"{BATCHES}/999999").status_code == 404


def test_marketing_activates_pauses_and_ends_a_batch_and_a_refusal_is_said_in_words(marketer, app):
    created = marketer.post(f"{BATCHES}/new?lang=en", draft())
    batch_id = int(created.headers["Location"].rsplit("/", 1)[1])
    page = text_of(marketer.get(f"{BATCHES}/{batch_id}"))
    assert 'data-action="activate"' in page and 'data-action="pause"' not in page
    assert marketer.post(f"{BATCHES}/{batch_id}/activate").status_code == 302
    assert "Activated" in text_of(marketer.get(f"{BATCHES}/{batch_id}")) and status_of(app, batch_id) == "active"
    assert marketer.post(f"{BATCHES}/{batch_id}/pause").status_code == 302 and status_of(app, batch_id) == "paused"
    assert marketer.post(f"{BATCHES}/{batch_id}/end").status_code == 302 and status_of(app, batch_id) == "ended"
    refused = marketer.post(f"{BATCHES}/{batch_id}/activate?lang=en")  # a stale page, say
    assert refused.status_code == 409 and "Only a draft or a paused batch can be activated; this one is ended." in \
        text_of(refused)
    assert status_of(app, batch_id) == "ended"


def test_state_changes_need_the_csrf_token_and_the_role(marketer, browser, account, app, clerk_at_counter):
    created = marketer.post(f"{BATCHES}/new", draft())
    batch_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert marketer.post(f"{BATCHES}/{batch_id}/activate", csrf=False).status_code == 400
    assert clerk_at_counter.post(f"{BATCHES}/{batch_id}/activate").status_code == 403
    assert status_of(app, batch_id) == "draft"
    assert marketer.post(f"{BATCHES}/new", draft(name="No token"), csrf=False).status_code == 400


def test_a_draft_with_wrong_fields_shows_the_apis_errors_in_place_and_saves_nothing(marketer, app):
    wrong = marketer.post(f"{BATCHES}/new?lang=en", draft(kind="percent_off", term_percent="150", term_max_off="",
                                                         valid_days="", starts_at="2027-01-02T10:00",
                                                         ends_at="2027-01-01T10:00", total="x"))
    page = text_of(wrong)
    assert wrong.status_code == 422 and 'aria-invalid="true"' in page
    assert 'id="total-error">Not a valid integer.' in page
    with app.app_context():
        assert db.session.query(CouponBatch).count() == 0
    across = marketer.post(f"{BATCHES}/new?lang=en", draft(kind="percent_off", term_percent="150", term_max_off="5"))
    assert across.status_code == 422 and 'id="percent-error">' in text_of(across)
    window = marketer.post(f"{BATCHES}/new?lang=en", draft(valid_days="", starts_at="2027-01-02T10:00",
                                                          ends_at="2027-01-01T10:00"))
    assert window.status_code == 422 and 'id="ends_at-error">Must be after starts_at.' in text_of(window)
    scope = marketer.post(f"{BATCHES}/new?lang=en", draft(scope_store_ids="999999"))
    assert scope.status_code == 422 and 'id="scope_store_ids-error">No such stores: 999999.' in text_of(scope)


@pytest.mark.parametrize(("kind", "terms", "described"), [
    ("amount_off", {"term_amount_off": "10"}, "¥10 off"),
    ("percent_off", {"term_percent": "20", "term_max_off": "30"}, "20% off"),
    ("threshold", {"term_amount_off": "10", "min_spend": "50"}, "Spend ¥50 save ¥10"),
    ("nth_item_percent", {"term_nth": "2", "term_percent": "50"}, "half price"),
    ("buy_n_get_m", {"term_buy": "2", "term_get": "1"}, "Buy 2 get 1"),
    ("free_item", {"term_max_off": "25"}, "¥25"),
    ("unit_price", {"term_unit_price": "9.90"}, "¥9.90"),
])
def test_every_kind_can_be_drafted_and_is_previewed_as_the_shopper_sees_it(marketer, kind, terms, described):
    body = {**draft(kind=kind, term_amount_off=""), **terms}
    preview = marketer.get(f"{BATCHES}/preview", query_string={**body, "lang": "en"})
    assert preview.status_code == 200 and described in text_of(preview), text_of(preview)
    created = marketer.post(f"{BATCHES}/new?lang=en", body)
    assert created.status_code == 302, text_of(created)


def test_the_preview_waits_for_the_kinds_terms(marketer):
    preview = marketer.get(f"{BATCHES}/preview", query_string={**draft(term_amount_off=""), "lang": "en"})
    assert "Fill in the kind's terms" in text_of(preview)


def test_a_draft_is_edited_in_the_same_form_and_a_live_batch_is_not(marketer, app):
    created = marketer.post(f"{BATCHES}/new?lang=en", draft())
    batch_id = int(created.headers["Location"].rsplit("/", 1)[1])
    form = text_of(marketer.get(f"{BATCHES}/{batch_id}/edit?lang=en"))
    assert 'value="10.00"' in form and 'value="10 yuan off"' in form
    assert marketer.post(f"{BATCHES}/{batch_id}/edit", draft(term_amount_off="12.50")).status_code == 302
    with app.app_context():
        assert db.session.get(CouponBatch, batch_id).amount_off == 1250
    wrong = marketer.post(f"{BATCHES}/{batch_id}/edit?lang=en", draft(term_amount_off="0"))
    assert wrong.status_code == 422 and 'id="amount_off-error">' in text_of(wrong)
    marketer.post(f"{BATCHES}/{batch_id}/activate")
    refused = marketer.get(f"{BATCHES}/{batch_id}/edit?lang=en")
    assert refused.status_code == 409 and "Only a draft can be edited" in text_of(refused)


@pytest.mark.parametrize("channel, said", [
    ("public", "shoppers can claim it now"),
    ("targeted", "issued to a list of members or a segment"),
    ("new_member", "members who register from now on receive it"),
    ("follower", "follow the official account from now on"),
    ("friend_purchase", "when a friend they brought pays a first order"),
    ("exchange_code", "exchange codes can now be exchanged"),
])
def test_activation_says_what_it_means_for_the_batchs_channel(marketer, channel, said):
    created = marketer.post(f"{BATCHES}/new?lang=en", draft(channel=channel))
    batch_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert marketer.post(f"{BATCHES}/{batch_id}/activate").status_code == 302
    page = text_of(marketer.get(f"{BATCHES}/{batch_id}?lang=en"))
    assert said in page
    assert (channel == "public") == ("shoppers can claim it now" in page)
