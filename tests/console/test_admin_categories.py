"""Product categories at /console/categories: the two-level tree created, renamed, moved and hidden through the
catalog's services, the service's refusals shown beside their field (marketing and admins; clerks see nothing)."""

from __future__ import annotations

import pytest

from shop.auth import Role
from shop.catalog.models import Category
from shop.extensions import db
from tests.console.conftest import text_of
from tests.factories import make_category


@pytest.fixture
def drinks(app) -> dict[str, int]:
    """Drinks with Coffee and Tea under it, and Bakery on its own."""
    with app.app_context():
        top = make_category("Drinks")
        made = {"drinks": top, "coffee": make_category("Coffee", parent_id=top.id),
                "tea": make_category("Tea", parent_id=top.id, sort_order=2), "bakery": make_category("Bakery")}
        db.session.commit()
        return {name: category.id for name, category in made.items()}


def category(app, category_id: int) -> tuple:
    with app.app_context():
        found = db.session.get(Category, category_id)
        return found.name, found.parent_id, found.sort_order, found.active


def named(app, name: str) -> Category | None:
    with app.app_context():
        return db.session.scalar(db.select(Category).where(Category.name == name))


def test_the_tree_shows_top_level_categories_with_theirs_under_them(admin, drinks):
    page = text_of(admin.get("/console/categories?lang=en"))
    assert page.index(">Drinks<") < page.index(">Coffee<") < page.index(">Tea<") and ">Bakery<" in page
    assert 'class="category-children"' in page
    assert f"/console/products?category_id={drinks['coffee']}" in page  # its products, one click away


def test_an_admin_creates_a_top_level_category_and_one_under_it(app, admin, drinks):
    made = admin.post("/console/categories?lang=en", {"name": "  Juice  ", "parent_id": "", "sort_order": "5",
                                                      "active": "on"})
    assert made.status_code == 302
    juice = named(app, "Juice")
    assert (juice.parent_id, juice.sort_order, juice.active) == (None, 5, True)
    assert "Category Juice created." in text_of(admin.get(made.location))
    under = admin.post("/console/categories?lang=en", {"name": "Cold brew", "parent_id": str(drinks["drinks"])})
    assert under.status_code == 302
    cold = named(app, "Cold brew")
    assert (cold.parent_id, cold.sort_order, cold.active) == (drinks["drinks"], 0, False)  # the box left unticked


def test_an_admin_renames_a_category_moves_it_and_hides_it(app, admin, drinks):
    path = f"/console/categories/{drinks['tea']}/edit?lang=en"
    form = text_of(admin.get(path))
    assert 'value="Tea"' in form and f'<option value="{drinks["drinks"]}" selected>' in form
    assert admin.post(path, {"name": "Tea and tisanes", "parent_id": str(drinks["bakery"]), "sort_order": "1",
                             "active": "on"}).status_code == 302
    assert category(app, drinks["tea"]) == ("Tea and tisanes", drinks["bakery"], 1, True)
    assert admin.post(path, {"name": "Tea and tisanes", "parent_id": ""}).status_code == 302
    assert category(app, drinks["tea"]) == ("Tea and tisanes", None, 1, False)
    assert "inactive" in text_of(admin.get("/console/categories?lang=en"))


def test_a_third_level_and_wrong_fields_are_refused_beside_their_field_and_change_nothing(app, admin, drinks):
    before = {name: category(app, category_id) for name, category_id in drinks.items()}
    with_children = admin.post(f"/console/categories/{drinks['drinks']}/edit?lang=en",
                               {"name": "Drinks", "parent_id": str(drinks["bakery"]), "active": "on"})
    assert with_children.status_code == 422
    assert 'id="parent_id-error"' in text_of(with_children) and "Categories have two levels" in text_of(with_children)
    third = admin.post("/console/categories?lang=en", {"name": "Espresso", "parent_id": str(drinks["coffee"])})
    assert third.status_code == 422 and 'id="parent_id-error"' in text_of(third)
    assert 'value="Espresso"' in text_of(third)  # what was typed stays
    for wrong, field in (({"name": "   "}, "name"), ({"name": "x" * 65}, "name"), ({"name": "Bad\x07"}, "name"),
                         ({"name": "Ok", "sort_order": "first"}, "sort_order"),
                         ({"name": "Ok", "sort_order": "9999999"}, "sort_order"),
                         ({"name": "Ok", "parent_id": "999999"}, "parent_id"),
                         ({"name": "Ok", "parent_id": "abc"}, "parent_id")):
        refused = admin.post("/console/categories?lang=en", wrong)
        assert refused.status_code == 422 and f'id="{field}-error"' in text_of(refused), wrong
        edited = admin.post(f"/console/categories/{drinks['bakery']}/edit?lang=en", wrong)
        assert edited.status_code == 422 and f'id="{field}-error"' in text_of(edited), wrong
    assert {name: category(app, category_id) for name, category_id in drinks.items()} == before
    assert named(app, "Espresso") is None and named(app, "Ok") is None
    assert admin.get("/console/categories/999999/edit").status_code == 404


def test_marketing_keeps_categories_a_clerk_may_not_and_no_form_passes_without_its_token(
        app, admin, browser, account, drinks, shop):
    marketer = browser()
    marketer.login(account(Role.MARKETING))
    marketer.get("/console/categories")
    assert marketer.post("/console/categories", {"name": "By marketing", "active": "on"}).status_code == 302
    clerk = browser()
    clerk.login(account(Role.STAFF, [shop.store_id]))
    clerk.get("/console/counter")
    assert clerk.get("/console/categories").status_code == 403
    assert clerk.get(f"/console/categories/{drinks['tea']}/edit").status_code == 403
    assert clerk.post("/console/categories", {"name": "By a clerk"}).status_code == 403
    assert clerk.post(f"/console/categories/{drinks['tea']}/edit", {"name": "Clerk tea"}).status_code == 403
    assert admin.post("/console/categories", {"name": "No token"}, csrf=False).status_code == 400
    assert admin.post(f"/console/categories/{drinks['tea']}/edit", {"name": "No token"}, csrf=False).status_code == 400
    assert named(app, "By marketing") is not None
    assert all(named(app, name) is None for name in ("By a clerk", "No token", "Clerk tea"))
    assert category(app, drinks["tea"])[0] == "Tea"
