"""Request and response shapes of staff accounts, staff login and the audit."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from shop.database import utcnow
from shop.fields import BoundedList, id_field, text
from shop.staff.models import STAFF_ROLES
from shop.staff.service import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, StaffAction

MAX_STORES_PER_ACCOUNT = 200
PASSWORD_POLICY = (f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, not containing the username, "
                   "not one of the most common passwords.")


class StaffLoginArgs(ma.Schema):
    username = text(64, required=True)
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH))


class StaffLoginSchema(ma.Schema):
    token = ma.fields.String()
    role = ma.fields.String(metadata={"description": "staff, marketing or admin"})
    store_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "Stores a clerk works at."})
    must_change_password = ma.fields.Boolean(metadata={
        "description": "An admin set this password: until the account chooses its own (POST /api/v1/staff/password) "
                       "the token opens nothing else (403 staff_password_change_required)."})


def _password(**kwargs) -> ma.fields.String:
    """A password as sent: bounded before it is hashed; the policy (shop.staff.service) words the rest."""
    return ma.fields.String(load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH), **kwargs)


STORE_IDS = BoundedList(id_field(),
                       validate=validate.Length(max=MAX_STORES_PER_ACCOUNT),
                       metadata={"description": f"Stores a clerk works at (at most {MAX_STORES_PER_ACCOUNT})."})


class StaffCreateArgs(ma.Schema):
    username = text(64, min_length=3, required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]+$"))
    password = _password(required=True, metadata={"description": PASSWORD_POLICY})
    display_name = text(64, min_length=0, load_default=None)


class AdminStaffCreateArgs(StaffCreateArgs):
    role = ma.fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    store_ids = STORE_IDS


class StaffSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    display_name = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    store_ids = ma.fields.List(ma.fields.Integer())


class StaffDetailSchema(StaffSchema):
    created_at = ma.fields.AwareDateTime()
    last_login_at = ma.fields.AwareDateTime(allow_none=True)
    password_changed_at = ma.fields.AwareDateTime(allow_none=True)
    must_change_password = ma.fields.Boolean()
    locked = ma.fields.Method("_locked", metadata={"description": "Locked now after too many wrong passwords."})
    locked_until = ma.fields.AwareDateTime(allow_none=True)
    failed_logins = ma.fields.Integer(metadata={"description": "Wrong passwords counted in the current window."})

    def _locked(self, account) -> bool:
        return account.locked_until is not None and account.locked_until > utcnow()


class StaffListArgs(ma.Schema):
    role = ma.fields.String(load_default=None, validate=validate.OneOf(STAFF_ROLES))
    active = ma.fields.Boolean(load_default=None)
    store_id = id_field(load_default=None)
    q = text(64, load_default=None, metadata={"description": "Part of the username or the display name."})
    locked = ma.fields.Boolean(load_default=None)


class StaffPatchArgs(ma.Schema):
    active = ma.fields.Boolean(metadata={"description": "false disables the account and ends its tokens at once."})
    role = ma.fields.String(validate=validate.OneOf(STAFF_ROLES),
                            metadata={"description": "A change ends the account's tokens at once."})
    store_ids = STORE_IDS
    display_name = text(64, min_length=0, allow_none=True)


class PasswordResetArgs(ma.Schema):
    password = _password(load_default=None, metadata={
        "description": "The new password; omitted: one is generated and answered once."})


class PasswordResetSchema(ma.Schema):
    staff = ma.fields.Nested(StaffDetailSchema)
    password = ma.fields.String(allow_none=True, metadata={
        "description": "The generated password (shown only in this answer); null when the admin chose it."})


class OwnPasswordArgs(ma.Schema):
    current_password = _password(required=True)
    new_password = _password(required=True, metadata={"description": PASSWORD_POLICY})


class StaffAuditSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    action = ma.fields.String(metadata={"description": ", ".join(action.value for action in StaffAction)})
    staff_id = ma.fields.Integer(allow_none=True, metadata={"description": "The account acted on (whom)."})
    actor_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "The admin or the account itself (who); null for login attempts and the CLI."})
    via = ma.fields.String(metadata={"description": "api, cli or system"})
    address = ma.fields.String(allow_none=True, metadata={"description": "The client address (API)."})
    details = ma.fields.Dict()


class StaffAuditArgs(ma.Schema):
    action = ma.fields.String(load_default=None, validate=validate.OneOf([action.value for action in StaffAction]))
    actor_id = id_field(load_default=None)
    since = ma.fields.AwareDateTime(load_default=None, metadata={"description": "From (inclusive)."})
    until = ma.fields.AwareDateTime(load_default=None, metadata={"description": "To (exclusive)."})


class AllStaffAuditArgs(StaffAuditArgs):
    staff_id = id_field(load_default=None)
