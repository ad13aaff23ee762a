"""Referral settings at /console/referral/settings: an admin changes the policy through its service (rates typed as
percents, money in yuan), the service's refusals show beside their fields; marketing reads; clerks see nothing."""

from __future__ import annotations

import pytest

from referral.policy.models import ReferralSettings
from shop.auth import Role
from shop.extensions import db
from tests.console.conftest import text_of
from tests.orders.conftest import shop  # noqa: F401

SETTINGS = {"sharer_policy": "everyone", "bind_mode": "protected", "protection_days": "30", "reward_levels": "2",
            "reward_kind": "commission", "reward_basis": "percent", "percent_1": "5.5", "percent_2": "1",
            "fixed_per_sku": "", "refund_window_days": "7", "min_withdrawal": "1.50", "reward_till_sales": "y"}


@pytest.fixture
def admin(admin):
    """The admin on the settings page, as the tests' forms come from it (opening it makes the settings row)."""
    admin.get("/console/referral/settings?lang=en")
    return admin


def policy_now(app) -> ReferralSettings | None:
    with app.app_context():
        settings = db.session.get(ReferralSettings, 1)
        if settings is not None:
            db.session.expunge(settings)
        return settings


def test_an_admin_sets_two_levels_of_commission_in_percent_and_yuan(app, admin):
    saved = admin.post("/console/referral/settings?lang=en", SETTINGS)
    assert saved.status_code == 302
    settings = policy_now(app)
    assert (settings.bind_mode, settings.protection_days, settings.reward_levels) == ("protected", 30, 2)
    assert settings.percent_bp == [550, 100] and settings.min_withdrawal == 150 and settings.reward_till_sales
    page = text_of(admin.get("/console/referral/settings?lang=en"))
    assert "Referral settings saved" in page and 'value="5.50"' in page and 'value="1.50"' in page


def test_the_services_refusals_show_beside_their_fields_and_change_nothing(app, admin):
    before = policy_now(app)
    wrong = admin.post("/console/referral/settings?lang=en", {**SETTINGS, "protection_days": "", "percent_1": "80",
                                                              "percent_2": "30", "min_withdrawal": "0.01"})
    page = text_of(wrong)
    assert wrong.status_code == 422 and "Some fields need a change" in page
    assert 'id="min_withdrawal-error"' in page  # the schema's range, before the service
    wrong = admin.post("/console/referral/settings?lang=en", {**SETTINGS, "protection_days": "", "percent_1": "80",
                                                              "percent_2": "30"})
    page = text_of(wrong)
    assert wrong.status_code == 422 and 'id="protection_days-error"' in page and 'id="percent_1-error"' in page
    assert "exceed 10000 basis points" in page
    unknown_sku = admin.post("/console/referral/settings?lang=en", {**SETTINGS, "reward_basis": "fixed_per_sku",
                                                                    "fixed_per_sku": "999999: 500, 100"})
    assert unknown_sku.status_code == 422 and "SKU 999999 does not exist." in text_of(unknown_sku)
    after = policy_now(app)
    assert (after.percent_bp, after.bind_mode) == (before.percent_bp, before.bind_mode)


def test_marketing_reads_the_settings_but_may_not_change_them(app, browser, account):
    user = browser()
    user.login(account(Role.MARKETING))
    page = user.get("/console/referral/settings?lang=en")
    assert page.status_code == 200 and "Only an admin changes these settings." in text_of(page)
    assert user.post("/console/referral/settings", SETTINGS).status_code == 403
    assert policy_now(app).reward_levels == 1


def test_a_clerk_sees_no_referral_settings(app, browser, account, shop):  # noqa: F811
    user = browser()
    user.login(account(Role.STAFF, [shop.store_id]))
    user.get("/console/counter")
    assert user.get("/console/referral/settings").status_code == 403
    assert user.post("/console/referral/settings", SETTINGS).status_code == 403


def test_settings_without_their_csrf_token_are_refused(app, admin):
    assert admin.post("/console/referral/settings", SETTINGS, csrf=False).status_code == 400
    assert policy_now(app).reward_levels == 1
