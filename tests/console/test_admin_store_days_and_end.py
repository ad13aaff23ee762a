"""A store's dated exceptions and its end, on its console page (/console/stores/<id>): days closed or with other
hours added, changed and removed as the exception API does them, and shown to the store's clerks; a store closed
for good or deleted (entered by mistake), each asked first, the service's refusal in words. Roles as the API:
marketing and admins keep the days and close stores, only admins delete, clerks do none of it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from console.display import local_date
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.staff.models import staff_stores
from shop.stores.models import Store, StoreHoursException
from shop.stores.service import set_exception
from tests.console.conftest import text_of
from tests.factories import make_store
from tests.orders.conftest import pickup_basket, place

NEARBY = "/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=2000"


def page_of(store_id: int) -> str:
    return f"/console/stores/{store_id}"


def ahead(days: int) -> date:
    """A day some days from today, as Shanghai (the stores' zone) counts days."""
    return local_date(utcnow(), "Asia/Shanghai") + timedelta(days=days)


def days_of(app, store_id: int) -> dict[date, tuple[list, str | None]]:
    with app.app_context():
        rows = db.session.scalars(select(StoreHoursException).where(StoreHoursException.store_id == store_id))
        return {row.day: (row.hours, row.note) for row in rows}


def status_of(app, store_id: int) -> str | None:
    with app.app_context():
        store = db.session.get(Store, store_id)
        return store.status if store else None


def code_of(app, store_id: int) -> str:
    with app.app_context():
        return db.session.get(Store, store_id).code


def a_day(when: date, **typed) -> dict:
    """The page's day form as an admin fills it: closed all day unless told otherwise."""
    return {"exception-day": when.isoformat(), "exception-closed": "closed", "exception-hours": "",
            "exception-note": "", **{f"exception-{name}": value for name, value in typed.items()}}


def nearby_ids(client) -> list[int]:
    return [store["id"] for store in client.get(NEARBY).get_json()["items"]]


def test_an_admin_closes_the_store_for_a_day_and_its_clerk_sees_it(app, admin, shop, clerk_at_counter):
    day = ahead(10)
    saved = admin.post(f"{page_of(shop.store_id)}/exceptions?lang=en", a_day(day, note="Staff training"))
    assert saved.status_code == 302 and saved.location.endswith(f"{page_of(shop.store_id)}#exceptions")
    assert days_of(app, shop.store_id) == {day: ([], "Staff training")}
    when = f"{day.isoformat()} {day.strftime('%a')}"
    page = text_of(admin.get(f"{page_of(shop.store_id)}?lang=en"))
    assert f"Exception for {when} saved." in page
    row = re.search(rf'<tr id="day-{day.isoformat()}">(.*?)</tr>', page, re.S).group(1)
    assert when in row and "Closed all day" in row and "Staff training" in row
    clerks_page = text_of(clerk_at_counter.get("/console/store/hours?lang=en"))
    assert when in clerks_page and "Staff training" in clerks_page


def test_a_day_with_other_hours_is_changed_through_its_link_then_removed(app, admin, shop):
    day, store_page = ahead(3), page_of(shop.store_id)
    admin.post(f"{store_page}/exceptions?lang=en", a_day(day, closed="open", hours="10:00-16:00"))
    assert days_of(app, shop.store_id) == {day: ([["10:00", "16:00"]], None)}
    change = text_of(admin.get(f"{store_page}?day={day.isoformat()}&lang=en"))
    assert re.search(r'<input[^>]*id="exception-hours"[^>]*value="10:00-16:00"', change)
    assert re.search(r'<input checked[^>]*value="open"', change)
    # typed with a Chinese input method: a full-width comma
    admin.post(f"{store_page}/exceptions?lang=en",
               a_day(day, closed="open", hours="12:00-14:00，17:00-23:30", note="Lantern Festival"))
    assert days_of(app, shop.store_id) == {day: ([["12:00", "14:00"], ["17:00", "23:30"]], "Lantern Festival")}
    assert "12:00–14:00, 17:00–23:30" in text_of(admin.get(f"{store_page}?lang=en"))
    removed = admin.post(f"{store_page}/exceptions/{day.isoformat()}/remove?lang=en")
    assert removed.status_code == 302 and days_of(app, shop.store_id) == {}
    page = text_of(admin.get(f"{store_page}?lang=en"))
    assert "the weekly hours apply that day" in page and "No dated exception ahead." in page


@pytest.mark.parametrize(("typed", "field", "words"), [
    ({"day": "2026-02-30"}, "day", "Not a valid date."),
    ({"day": ""}, "day", "Not a valid date."),
    ({"closed": "open"}, "hours", "Write the hours that day, e.g. 10:00-16:00, or choose closed all day."),
    ({"closed": "open", "hours": "9am-5pm"}, "hours", "'9am-5pm' is not a time range like 09:00-21:00"),
    ({"closed": "open", "hours": "25:00-26:00"}, "hours", "'25:00' is not a time HH:MM"),
    ({"closed": "open", "hours": "10:00-14:00,13:00-18:00"}, "hours", "range 13:00-18:00 overlaps 10:00-14:00"),
    ({"note": "x" * 129}, "note", "Length must be between 0 and 128."),
])
def test_a_wrong_day_is_refused_beside_its_field_and_nothing_is_saved(app, admin, shop, typed, field, words):
    refused = admin.post(f"{page_of(shop.store_id)}/exceptions?lang=en", a_day(ahead(5), **typed))
    page = text_of(refused)
    assert refused.status_code == 422 and "The day was not saved: see below." in page
    assert re.search(rf'<p class="field-error" id="exception-{field}-error">[^<]*{re.escape(words)}', page), page
    assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*id="exception-{field}"', page)
    assert days_of(app, shop.store_id) == {}


def test_days_gone_by_are_not_listed_as_the_stores_zone_counts_days(app, admin, shop, clerk_at_counter):
    with app.app_context():
        set_exception(shop.store_id, ahead(-1), [], "Yesterday's closing")
        set_exception(shop.store_id, ahead(0), [["10:00", "16:00"]], "Short day today")
        db.session.commit()
    for page in (text_of(admin.get(f"{page_of(shop.store_id)}?lang=en")),
                 text_of(clerk_at_counter.get("/console/store/hours?lang=en"))):
        assert "Short day today" in page and "Yesterday's closing" not in page


def test_the_store_page_speaks_chinese_first(app, browser, account, shop):
    with app.app_context():
        set_exception(shop.store_id, ahead(2), [], "国庆节")
        db.session.commit()
    user = browser()
    user.login(account(Role.ADMIN))
    page = text_of(user.get(page_of(shop.store_id)))
    assert "特殊营业安排" in page and "全天休息" in page and "国庆节" in page
    assert re.search(rf"{ahead(2).isoformat()} 周[一二三四五六日]", page)


def test_closing_a_store_asks_first_then_takes_it_out_of_the_nearby_search(app, client, admin, shop):
    store_page = page_of(shop.store_id)
    assert shop.store_id in nearby_ids(client)
    asked = admin.get(f"{store_page}/close?lang=en")
    assert asked.status_code == 200 and "Close People's Square for good?" in text_of(asked)
    assert status_of(app, shop.store_id) == "open"
    closed = admin.post(f"{store_page}/close?lang=en")
    assert closed.status_code == 302 and status_of(app, shop.store_id) == "closed"
    page = text_of(admin.get(f"{store_page}?lang=en"))
    assert "closed for good: shoppers no longer find it" in page and "Close the store for good…" not in page
    assert shop.store_id not in nearby_ids(client) and shop.other_store_id in nearby_ids(client)


def test_a_store_with_orders_is_not_deleted_and_the_page_says_to_close_it(app, client, admin, shop, alice):
    assert place(client, alice, pickup_basket(shop)).status_code == 201
    refused = admin.post(f"{page_of(shop.store_id)}/delete?lang=en", {"code": code_of(app, shop.store_id)})
    page = text_of(refused)
    assert refused.status_code == 409
    assert "This store cannot be deleted: orders, till sales, redemptions, stock movements or members refer to it" in page
    assert "Close it for good instead" in page and status_of(app, shop.store_id) == "open"


def test_an_admin_deletes_a_store_entered_by_mistake_once_its_code_is_typed(app, admin, account, shop):
    with app.app_context():
        typo = make_store(name="Typo store")
        set_exception(typo.id, ahead(1), [], None)
        db.session.commit()
        store_id, code = typo.id, typo.code
    account(Role.STAFF, [shop.store_id, store_id])  # a clerk put at it by mistake too
    asked = text_of(admin.get(f"{page_of(store_id)}/delete?lang=en"))
    assert "Delete Typo store?" in asked and '<label for="confirm-code">' in asked
    wrong = admin.post(f"{page_of(store_id)}/delete?lang=en", {"code": "SH"})
    assert wrong.status_code == 422 and f"Type the store's code, {code}, to delete it." in text_of(wrong)
    assert status_of(app, store_id) == "open"
    deleted = admin.post(f"{page_of(store_id)}/delete?lang=en", {"code": code})
    assert deleted.status_code == 302 and deleted.location.endswith("/console/stores")
    assert f"Store {code} deleted." in text_of(admin.get("/console/stores?lang=en"))
    assert status_of(app, store_id) is None and days_of(app, store_id) == {}
    with app.app_context():  # the clerk keeps their other store only (SQLite enforces no ON DELETE CASCADE)
        assert set(db.session.scalars(select(staff_stores.c.store_id))) == {shop.store_id}


def test_marketing_keeps_days_and_closes_stores_but_only_admins_delete(app, browser, account, shop):
    user, store_page = browser(), page_of(shop.store_id)
    user.login(account(Role.MARKETING))
    page = text_of(user.get(f"{store_page}?lang=en"))
    assert "Close the store for good…" in page and "Delete the store…" not in page
    assert user.post(f"{store_page}/exceptions", a_day(ahead(4))).status_code == 302
    assert user.get(f"{store_page}/delete").status_code == 403
    assert user.post(f"{store_page}/delete", {"code": code_of(app, shop.store_id)}).status_code == 403
    assert user.post(f"{store_page}/close").status_code == 302
    assert status_of(app, shop.store_id) == "closed" and ahead(4) in days_of(app, shop.store_id)


def test_a_clerk_may_not_keep_days_close_or_delete_a_store(app, clerk_at_counter, shop):
    store_page, day = page_of(shop.store_id), ahead(6)
    with app.app_context():
        set_exception(shop.store_id, day, [], "Inventory")
        db.session.commit()
    for path in (f"{store_page}/close", f"{store_page}/delete"):
        assert clerk_at_counter.get(path).status_code == 403, path
    for path, body in ((f"{store_page}/exceptions", a_day(ahead(7))), (f"{store_page}/exceptions/{day}/remove", {}),
                       (f"{store_page}/close", {}), (f"{store_page}/delete", {"code": code_of(app, shop.store_id)})):
        assert clerk_at_counter.post(path, body).status_code == 403, path
    assert days_of(app, shop.store_id) == {day: ([], "Inventory")} and status_of(app, shop.store_id) == "open"


def test_without_the_csrf_token_no_day_closing_or_deleting_goes_through(app, admin, shop):
    store_page, day = page_of(shop.store_id), ahead(8)
    with app.app_context():
        set_exception(shop.store_id, day, [], "Inventory")
        db.session.commit()
    for path, body in ((f"{store_page}/exceptions", a_day(ahead(9))), (f"{store_page}/exceptions/{day}/remove", {}),
                       (f"{store_page}/close", {}), (f"{store_page}/delete", {"code": code_of(app, shop.store_id)})):
        assert admin.post(path, body, csrf=False).status_code == 400, path
    assert days_of(app, shop.store_id) == {day: ([], "Inventory")} and status_of(app, shop.store_id) == "open"


def test_an_unknown_store_or_day_is_not_found(admin, shop):
    assert admin.get("/console/stores/999999/close").status_code == 404
    assert admin.post("/console/stores/999999/exceptions", a_day(ahead(1))).status_code == 404
    assert admin.post(f"{page_of(shop.store_id)}/exceptions/not-a-day/remove").status_code == 404
