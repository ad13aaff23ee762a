"""The admin's staff forms: a new account, its role and stores, and the one-button actions (each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from shop.staff.models import STAFF_ROLES


def role_choices() -> list[SelectChoice]:
    names = {"staff": _l("Clerk"), "marketing": _l("Marketing"), "admin": _l("Admin")}
    return [SelectChoice(role, names[role]) for role in STAFF_ROLES]


class StoreIds(SelectMultipleField):
    """The stores a clerk works at, by id: the page lists the chosen ones (never a brand's every store) as hidden
    inputs with their names, and ``store`` searches for more (see ``store_choice``)."""


class AccountForm(FlaskForm):
    """An account's role and stores (what ``update_staff`` changes)."""

    role = SelectField(_l("Role"), choices=role_choices)
    store_ids = StoreIds(_l("Stores (clerks)"), coerce=int, validate_choice=False)
    store = StringField(_l("Add a store"))  # searched, never saved: see store_choice.store_step


class CreateForm(AccountForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=64)])
    password = PasswordField(_l("Password (empty: one is generated)"), validators=[Optional(), Length(max=256)])

