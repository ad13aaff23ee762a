"""The admin's staff forms: a new account, its role and stores, and the one-button actions (each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from shop.staff.models import STAFF_ROLES


def role_choices() -> list[SelectChoice]:
    names = {"staff": _l("Clerk"), "marketing": _l("Marketing"), "admin": _l("Admin")}
    return [SelectChoice(role, names[role]) for role in STAFF_ROLES]


class StoreChoices(SelectMultipleField):
    """The stores a clerk works at, as checkboxes (a phone lists them one a line)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccountForm(FlaskForm):
    """An account's role and stores (what ``update_staff`` changes)."""

    role = SelectField(_l("Role"), choices=role_choices)
    store_ids = StoreChoices(_l("Stores (clerks)"), coerce=int, validate_choice=False)


class CreateForm(AccountForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=64)])
    password = PasswordField(_l("Password (empty: one is generated)"), validators=[Optional(), Length(max=256)])

