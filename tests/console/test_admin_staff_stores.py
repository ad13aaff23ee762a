"""The staff form's stores for a brand of thousands of stores: the clerk's stores listed with a remove button each,
more found by a typed code or name (htmx suggests while typing; without JavaScript the Find button does it), the
page never listing every store, and saving binding exactly the stores chosen."""

from __future__ import annotations

import re

from sqlalchemy import select

from shop.auth import Role
from shop.extensions import db
from shop.staff.models import StaffAccount, StaffAudit
from shop.stores.models import Store
from tests.console.conftest import text_of
from tests.console.test_admin_orders_store_filter import brand  # noqa: F401 (the 3,000 stores)

CHOSEN = re.compile(r'<input type="hidden" name="store_ids" value="(\d+)">')
ADD_BUTTONS = re.compile(r'name="add_store" value="(\d+)"')


def store_id_of(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Store.id).where(Store.code == code))


def stores_of(app, username: str) -> list[int]:
    with app.app_context():
        return db.session.scalar(select(StaffAccount).where(StaffAccount.username == username)).store_ids


def staff_id_of(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(StaffAccount.id).where(StaffAccount.username == username))


def chosen_on(response) -> list[int]:
    return [int(found) for found in CHOSEN.findall(response.get_data(as_text=True))]


def test_the_staff_pages_of_a_brand_of_thousands_of_stores_list_none_of_them(app, brand, admin, account,  # noqa: F811
                                                                             shop):
    clerk = account(Role.STAFF, [shop.store_id])
    for path in ("/console/staff?lang=en", f"/console/staff/{staff_id_of(app, clerk)}?lang=en"):
        page = admin.get(path)
        body = text_of(page)
        assert page.status_code == 200 and len(body) < 40_000, (path, len(body))
        assert "BR00001" not in body and "Nanjing Road 2999" not in body and 'type="checkbox"' not in body
        assert 'name="store"' in body and 'name="find_store"' in body
    account_page = admin.get(f"/console/staff/{staff_id_of(app, clerk)}?lang=en")
    assert chosen_on(account_page) == [shop.store_id]
    assert "People's Square · " in text_of(account_page) and 'name="remove_store"' in text_of(account_page)


def test_a_store_found_by_its_code_is_added_and_the_new_clerk_works_there_only(app, brand, admin, shop):  # noqa: F811
    found = admin.post("/console/staff?lang=en", {"username": "new.clerk", "role": "staff",
                                                  "store_ids": [shop.store_id], "store": brand["Xintiandi"],
                                                  "find_store": "1"})
    assert found.status_code == 200 and "Store added: save to keep the change." in text_of(found)
    assert chosen_on(found) == [shop.store_id, shop.other_store_id]
    assert 'value="new.clerk"' in text_of(found)  # what was typed is kept
    assert staff_id_of(app, "new.clerk") is None  # nothing saved yet
    created = admin.post("/console/staff?lang=en", {"username": "new.clerk", "role": "staff",
                                                    "store_ids": chosen_on(found), "store": ""})
    assert created.status_code == 201
    assert stores_of(app, "new.clerk") == sorted([shop.store_id, shop.other_store_id])


def test_a_name_several_stores_share_offers_a_few_to_add_and_one_is_added(app, brand, admin, shop):  # noqa: F811
    several = admin.post("/console/staff?lang=en", {"username": "road.clerk", "role": "staff", "store": "Wujiang",
                                                    "find_store": "1"})
    page = text_of(several)
    assert several.status_code == 200 and "Several stores match “Wujiang”: choose one." in page
    assert len(ADD_BUTTONS.findall(page)) == 8 and "992 more stores match" in page
    assert 'value="Wujiang"' in page and chosen_on(several) == []
    wujiang_1 = store_id_of(app, "BR00001")
    added = admin.post("/console/staff?lang=en", {"username": "road.clerk", "role": "staff",
                                                  "add_store": str(wujiang_1), "store": "Wujiang"})
    assert chosen_on(added) == [wujiang_1] and 'value="Wujiang"' not in text_of(added)
    nothing = admin.post("/console/staff?lang=en", {"username": "road.clerk", "role": "staff", "store": "Pudong",
                                                    "find_store": "1"})
    assert "No store's name or code matches “Pudong”." in text_of(nothing)


def test_text_left_in_the_store_box_is_searched_not_saved(app, brand, admin):  # noqa: F811
    # Enter in the store box (or Save with a store half chosen) searches: the admin was still choosing
    left = admin.post("/console/staff?lang=en", {"username": "half.done", "role": "staff", "store": "Xintiandi"})
    assert left.status_code == 200 and staff_id_of(app, "half.done") is None
    assert "Xintiandi · " in text_of(left) and "Store added" in text_of(left)


def test_a_store_removed_and_one_added_saves_exactly_those(app, brand, admin, account, shop):  # noqa: F811
    clerk = account(Role.STAFF, [shop.store_id, shop.other_store_id])
    staff_id = staff_id_of(app, clerk)
    removed = admin.post(f"/console/staff/{staff_id}/change?lang=en",
                         {"role": "staff", "store_ids": [shop.store_id, shop.other_store_id],
                          "remove_store": str(shop.store_id)})
    assert removed.status_code == 200 and chosen_on(removed) == [shop.other_store_id]
    assert "Store removed: save to keep the change." in text_of(removed)
    assert stores_of(app, clerk) == sorted([shop.store_id, shop.other_store_id])  # not saved yet
    br_7 = store_id_of(app, "BR00007")
    added = admin.post(f"/console/staff/{staff_id}/change?lang=en",
                       {"role": "staff", "store_ids": chosen_on(removed), "store": "BR00007", "find_store": "1"})
    assert chosen_on(added) == [shop.other_store_id, br_7]
    saved = admin.post(f"/console/staff/{staff_id}/change?lang=en",
                       {"role": "staff", "store_ids": chosen_on(added), "store": ""})
    assert saved.status_code == 200 and "Role and stores saved." in text_of(saved)
    assert stores_of(app, clerk) == sorted([shop.other_store_id, br_7]) and chosen_on(saved) == stores_of(app, clerk)
    with app.app_context():
        audit = db.session.scalars(select(StaffAudit).where(StaffAudit.staff_id == staff_id)
                                   .order_by(StaffAudit.id.desc())).first()
        assert audit.action == "stores_changed" and audit.via == "console"


def test_a_store_id_of_nothing_is_refused_and_changes_nothing(app, brand, admin, account, shop):  # noqa: F811
    clerk = account(Role.STAFF, [shop.store_id])
    staff_id = staff_id_of(app, clerk)
    refused = admin.post(f"/console/staff/{staff_id}/change?lang=en",
                         {"role": "staff", "store_ids": [shop.store_id, 987654321]})
    assert refused.status_code == 404 and "does not exist any more" in text_of(refused)
    assert stores_of(app, clerk) == [shop.store_id]
    create_refused = admin.post("/console/staff?lang=en", {"username": "ghost.clerk", "role": "staff",
                                                           "store_ids": [99999999999999999999]})
    assert create_refused.status_code == 422 and staff_id_of(app, "ghost.clerk") is None  # beyond any id
    not_a_number = admin.post("/console/staff?lang=en", {"username": "ghost.clerk", "role": "staff",
                                                         "store_ids": ["abc"]})
    assert not_a_number.status_code == 400 and staff_id_of(app, "ghost.clerk") is None
    shown = admin.post("/console/staff?lang=en", {"username": "ghost.clerk", "role": "staff",
                                                  "add_store": "987654321"})
    assert shown.status_code == 200 and "No store #987654321" in text_of(shown)


def test_htmx_suggests_while_typing_and_its_buttons_swap_the_stores_only(app, brand, admin, shop):  # noqa: F811
    typed = admin.get("/console/staff/stores/matches?store=Nanjing&lang=en", headers={"HX-Request": "true"})
    fragment = text_of(typed)
    assert typed.status_code == 200 and "<html" not in fragment and len(ADD_BUTTONS.findall(fragment)) == 8
    assert 'hx-post="/console/staff/stores"' in fragment and "992 more stores match" in fragment
    assert text_of(admin.get("/console/staff/stores/matches?store=")).strip() == ""
    added = admin.post("/console/staff/stores?lang=en", {"store_ids": [shop.store_id],
                                                         "add_store": str(shop.other_store_id)}, htmx=True)
    assert added.status_code == 200 and "<html" not in text_of(added) and "<fieldset" in text_of(added)
    assert chosen_on(added) == [shop.store_id, shop.other_store_id]
    removed = admin.post("/console/staff/stores?lang=en", {"store_ids": chosen_on(added),
                                                           "remove_store": str(shop.store_id)}, htmx=True)
    assert chosen_on(removed) == [shop.other_store_id]


def test_only_an_admin_searches_stores_for_the_staff_form_and_with_the_forms_token(browser, account, shop, admin):
    for role in (Role.STAFF, Role.MARKETING):
        user = browser()
        user.login(account(role, [shop.store_id] if role is Role.STAFF else None))
        user.get("/console/", follow_redirects=True)
        assert user.get("/console/staff/stores/matches?store=Xintiandi").status_code == 403
        assert user.post("/console/staff/stores", {"add_store": str(shop.store_id)}).status_code == 403
    assert admin.post("/console/staff/stores", {"add_store": str(shop.store_id)}, csrf=False).status_code == 400


def test_the_store_choice_reads_in_chinese(admin):
    page = text_of(admin.get("/console/staff?lang=zh_CN"))
    assert "添加门店" in page and "查找" in page
