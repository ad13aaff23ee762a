"""Staff accounts for admins (/console/staff): the list, a new account, role and stores, disable and enable,
a new password shown once, unlock. The same services as the API and ``flask staff``, audited ``via: console``.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from wtforms.fields.choices import SelectChoice

from console.admin.staff.forms import AccountForm, CreateForm
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
from shop.stores.models import Store

bp = console_blueprint("console_staff", __name__)
NO_STORE = {"Cache-Control": "no-store"}  # a page showing a new password stays out of every cache


@bp.route("/staff", methods=["GET"])
@page_for(Role.ADMIN)
def accounts():
    return _list_page(_with_stores(CreateForm(formdata=None, role=Role.STAFF.value)))


@bp.route("/staff", methods=["POST"])
@page_for(Role.ADMIN)
def create():
    form = _with_stores(CreateForm())
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
    def changed():
        form = _with_stores(AccountForm())
        if not form.validate_on_submit():
            raise ValidationError({"role": [_("Choose a role.")]})
        changes = StaffPatchArgs().load({"role": form.role.data, "store_ids": form.store_ids.data or []})
        return staff.update_staff(staff_id, changes, _origin()), _("Role and stores saved."), None

    return _act(staff_id, changed)


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


def _act(staff_id: int, action):
    """Run an action (a GET's is only a read; the blueprint checked a POST's CSRF token), commit it, and show
    the account with what happened."""
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
    return _account_page(account, done=done, password=password)


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


def _list_page(form: CreateForm, *, refusal: str | None = None, status: int = 200, field_errors=None):
    accounts = db.session.scalars(staff.staff_list()).all()
    return render_template("admin/staff/list.html", accounts=accounts, form=form, refusal=refusal, now=utcnow(),
                           stores=_store_names(), field_errors=field_errors or {}), status


def _account_page(account: StaffAccount, *, done: str | None = None, refusal: str | None = None,
                  password: str | None = None, status: int = 200):
    form = _with_stores(AccountForm(formdata=None, role=account.role, store_ids=account.store_ids))
    page = render_template("admin/staff/account.html", account=account, form=form, done=done,
                           refusal=refusal, password=password, now=utcnow(), stores=_store_names())
    return page, status, NO_STORE if password else {}


def _with_stores(form):
    form.store_ids.choices = [SelectChoice(store_id, name) for store_id, name in _store_names().items()]
    return form


def _store_names() -> dict[int, str]:
    return dict(db.session.execute(db.select(Store.id, Store.name).order_by(Store.id)).all())


def _origin() -> staff.Origin:
    """The admin at the console and their address, for the audit."""
    return staff.Origin(actor_id=current_principal().staff_id, via="console", address=request.remote_addr)
