"""Product categories (/console/categories): the two-level tree, a category created, renamed, moved under another
top-level category or back to the top, reordered, hidden. The rules are the catalog's (``create_category``,
``update_category``; the API's ``CategoryCreateArgs``, ``CategoryPatchArgs``); roles as /api/v1/admin/categories:
marketing and admin."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.admin.categories import forms
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from shop.auth import Role
from shop.catalog import service
from shop.catalog.errors import CatalogError
from shop.catalog.models import Category
from shop.catalog.schemas import CategoryCreateArgs, CategoryPatchArgs
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_categories", __name__)
CATALOGUERS = (Role.MARKETING, Role.ADMIN)  # as the admin catalog API (shop.catalog.api.MARKETING)


@bp.route("/categories", methods=["GET", "POST"])
@page_for(*CATALOGUERS)
def categories():
    """The tree, and the form that adds a category to it."""
    if request.method == "GET":
        return _list_page()
    try:
        made = service.create_category(**CategoryCreateArgs().load(forms.category_body(request.form)))
    except ValidationError as invalid:
        db.session.rollback()
        return _list_page(messages=invalid.normalized_messages(), status=422)
    except AppError as refusal:
        db.session.rollback()
        return _list_page(messages=_refusal_words(refusal), status=refusal.status)
    db.session.commit()
    flash(_("Category %(name)s created.", name=made.name))
    return redirect(url_for(".categories", _anchor=f"category-{made.id}"))


@bp.route("/categories/<id:category_id>/edit", methods=["GET", "POST"])
@page_for(*CATALOGUERS)
def edit_category(category_id: int):
    found = _category(category_id)
    if found is None:
        return refusal_page(_("No such category."), 404)
    if request.method == "GET":
        return _form_page(found)
    try:
        changed = service.update_category(category_id, **CategoryPatchArgs().load(forms.category_body(request.form)))
    except ValidationError as invalid:
        db.session.rollback()
        return _form_page(_category(category_id), messages=invalid.normalized_messages(), status=422)
    except AppError as refusal:
        db.session.rollback()
        return _form_page(_category(category_id), messages=_refusal_words(refusal), status=refusal.status)
    db.session.commit()
    flash(_("Category %(name)s saved.", name=changed.name))
    return redirect(url_for(".categories", _anchor=f"category-{category_id}"))


def _list_page(*, messages: dict | None = None, status: int = 200):
    typed = request.form if request.method == "POST" else None
    return render_template("admin/categories/list.html", tree=service.admin_category_tree(), typed=typed,
                           errors=forms.field_errors(messages or {})), status


def _form_page(category: Category, *, messages: dict | None = None, status: int = 200):
    typed = request.form if request.method == "POST" else None
    tops = [top for top in service.admin_category_tree() if top.id != category.id]
    return render_template("admin/categories/form.html", category=category, tops=tops, typed=typed,
                           errors=forms.field_errors(messages or {})), status


def _refusal_words(refusal: AppError) -> dict:
    """The service's refusal by field; a third level, which the service refuses, in an admin's words."""
    if refusal.code is CatalogError.CATEGORY_TOO_DEEP:
        return {"parent_id": [_("Categories have two levels: a category goes under a top-level one only, and one "
                                "with subcategories stays at the top.")]}
    return refusal.errors or {"_schema": [refusal.message]}


def _category(category_id: int) -> Category | None:
    try:
        return service.get_category(category_id)
    except AppError:
        return None
