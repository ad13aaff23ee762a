"""Staff accounts for admins (/console/staff): the list, a new account, role and stores (chosen by a typed code or
name, never from a list of every store: see ``store_choice``), disable and enable, a new password shown once, unlock. The same services as the API and ``flask staff``, audited ``via: console``.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.admin.orders.store_filter import matching_stores, store_names
from console.admin.staff.forms import AccountForm, CreateForm
from console.admin.staff.store_choice import StoreStep, chosen_stores, store_step
from console.refusals import console_blueprint
from console.session import page_for
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.staff import service as staff
from shop.staff.errors import StaffError
from shop.staff.models import StaffAccount
from shop.staff.schemas import AdminStaffCreateArgs, StaffPatchArgs
from shop.stores.errors import StoreError

bp = console_blueprint("console_staff", __name__)
NO_STORE = {"Cache-Control": "no-store"}  # a page showing a new password stays out of every cache


@bp.route("/staff", methods=["GET"])
@page_for(Role.ADMIN)
def accounts():
    return _list_page(CreateForm(formdata=None, role=Role.STAFF.value))


@bp.route("/staff", methods=["POST"])
@page_for(Role.ADMIN)
def create():
    form = CreateForm()
    step = store_step(form, request.form)
    if step is not None:  # a store added, removed or searched: the form again, nothing saved
        return _list_page(form, step=step)
    if not form.validate_on_submit():
        return _list_page(form, refusal=_("Check the fields marked below."), status=400)
    chosen = form.password.data or None
    try:
        args = AdminStaffCreateArgs().load({
            "username": form.username.data.strip(), "display_name": (form.display_name.data or "").strip() or None,
            "role": form.role.data, "store_ids": form.store_ids.data or [],
            "password": chosen or staff.generated_password()})
        account = staff.create_staff(must_change_password=True, origin=_origin(), **args)
    except ValidationError as invalid:  # the API's own field rules (username's characters, lengths)
        db.session.rollback()
        return _list_page(form, refusal=_("Check the fields marked below."), status=422,
                          field_errors=invalid.normalized_messages())
    except AppError as refusal:
        db.session.rollback()
        return _list_page(form, refusal=refusal_words(refusal), status=refusal.status)
    db.session.commit()
    return _account_page(account, done=_("Account %(username)s created.", username=account.username),
                         password=None if chosen else args["password"], status=201)


@bp.route("/staff/<id:staff_id>", methods=["GET"])
@page_for(Role.ADMIN)
def account(staff_id: int):
    return _act(staff_id, lambda: (staff.get_staff(staff_id), None, None))


@bp.route("/staff/<id:staff_id>/change", methods=["POST"])
@page_for(Role.ADMIN)
def change(staff_id: int):
    form = AccountForm()
    step = store_step(form, request.form)
    if step is not None:  # a store added, removed or searched: the form again, nothing saved
        return _act(staff_id, lambda: (staff.get_staff(staff_id), None, None), form=form, step=step)

    def changed():
        if not form.validate_on_submit():
            raise ValidationError({"role": [_("Choose a role.")]})
        changes = StaffPatchArgs().load({"role": form.role.data, "store_ids": form.store_ids.data or []})
        return staff.update_staff(staff_id, changes, _origin()), _("Role and stores saved."), None

    return _act(staff_id, changed)


@bp.route("/staff/stores", methods=["POST"])
@page_for(Role.ADMIN)
def store_choice():
    """The form's stores after one of their buttons (htmx swaps this fieldset only)."""
    form = AccountForm()
    return _stores_fieldset(form, store_step(form, request.form) or StoreStep())


@bp.route("/staff/stores/matches", methods=["GET"])
@page_for(Role.ADMIN)
def store_matches():
    """The stores matching what is typed in the form's store box (htmx, while the admin types)."""
    return render_template("admin/staff/_store_matches.html", found=matching_stores(request.args.get("store")))


@bp.route("/staff/<id:staff_id>/disable", methods=["POST"])
@page_for(Role.ADMIN)
def disable(staff_id: int):
    return _act(staff_id, lambda: (staff.update_staff(staff_id, {"active": False}, _origin()),
                                   _("Account disabled: its sessions have ended."), None))


@bp.route("/staff/<id:staff_id>/enable", methods=["POST"])
@page_for(Role.ADMIN)
def enable(staff_id: int):
    return _act(staff_id, lambda: (staff.update_staff(staff_id, {"active": True}, _origin()),
                                   _("Account enabled."), None))


@bp.route("/staff/<id:staff_id>/password-reset", methods=["POST"])
@page_for(Role.ADMIN)
def reset_password(staff_id: int):
    def reset():
        account, generated = staff.reset_password(staff_id, None, _origin())
        return account, _("New password set: the account must choose its own at its next login."), generated

    return _act(staff_id, reset)


@bp.route("/staff/<id:staff_id>/unlock", methods=["POST"])
@page_for(Role.ADMIN)
def unlock(staff_id: int):
    return _act(staff_id, lambda: (staff.unlock(staff_id, _origin()), _("Account unlocked."), None))


def _act(staff_id: int, action, *, form: AccountForm | None = None, step: StoreStep | None = None):
    """Run an action (a GET's is only a read; the blueprint checked a POST's CSRF token), commit it, and show
    the account with what happened (with ``form`` and ``step``: the form as the admin is editing it)."""
    try:
        account, done, password = action()
    except AppError as refusal:
        db.session.rollback()
        if refusal.code is StaffError.STAFF_NOT_FOUND:
            return render_template("refusal.html", message=refusal_words(refusal), status=404), 404
        return _account_page(staff.get_staff(staff_id), refusal=refusal_words(refusal), status=refusal.status)
    except ValidationError:
        db.session.rollback()
        return _account_page(staff.get_staff(staff_id), refusal=_("Check the role and the stores."), status=422)
    db.session.commit()
    return _account_page(account, done=done, password=password, form=form, step=step)


def refusal_words(refusal: AppError) -> str:
    """The service's refusal in an admin's words."""
    words = {
        StaffError.USERNAME_TAKEN: _("This username is taken: choose another."),
        StaffError.PASSWORD_WEAK: _("Choose a stronger password: at least 8 characters, not the username, "
                                    "not a common one."),
        StaffError.LAST_ADMIN: _("This is the last active admin: make another admin first."),
        StaffError.STAFF_NOT_FOUND: _("No such staff account."),
        StoreError.STORE_NOT_FOUND: _("One of the stores chosen does not exist any more: reload the page."),
    }
    return words.get(refusal.code, refusal.message)


def _list_page(form: CreateForm, *, refusal: str | None = None, status: int = 200, field_errors=None,
               step: StoreStep | None = None):
    accounts = db.session.scalars(staff.staff_list()).all()
    named = store_names({store_id for account in accounts for store_id in account.store_ids})
    return render_template("admin/staff/list.html", accounts=accounts, form=form, refusal=refusal, now=utcnow(),
                           stores=named, field_errors=field_errors or {}, **_store_choice(form, step)), status


def _account_page(account: StaffAccount, *, done: str | None = None, refusal: str | None = None,
                  password: str | None = None, status: int = 200, form: AccountForm | None = None,
                  step: StoreStep | None = None):
    form = form or AccountForm(formdata=None, role=account.role, store_ids=account.store_ids)
    page = render_template("admin/staff/account.html", account=account, form=form, done=done,
                           refusal=refusal, password=password, now=utcnow(), **_store_choice(form, step))
    return page, status, NO_STORE if password else {}


def _stores_fieldset(form: AccountForm, step: StoreStep):
    return render_template("admin/staff/_stores.html", form=form, **_store_choice(form, step))


def _store_choice(form: AccountForm, step: StoreStep | None) -> dict:
    """What the form's stores fieldset shows: the chosen stores, what the search found, and a note."""
    step = step or StoreStep()
    return {"chosen": chosen_stores(form.store_ids.data), "found": step.found, "store_note": step.note}


def _origin() -> staff.Origin:
    """The admin at the console and their address, for the audit."""
    return staff.Origin(actor_id=current_principal().staff_id, via="console", address=request.remote_addr)
