"""Request and response shapes of stores and staff accounts."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
from marshmallow import ValidationError, validate

from shop.database import utcnow
from shop.fields import BoundedList, id_field, latitude, longitude, text
from shop.query_args import QuickQueryArgs
from shop.stores.coordinates import wgs84_to_gcj02
from shop.stores.hours import HoursError, normalize_day_hours, normalize_weekly_hours
from shop.stores.models import DEFAULT_TIMEZONE, STAFF_ROLES
from shop.stores.staff import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, StaffAction

SERVICES = ("pickup", "dine_in", "delivery")
STATUSES = ("open", "closed", "suspended")
MAX_RADIUS_M = 50_000
MAX_LIMIT = 50
COORD = validate.OneOf(("gcj02", "wgs84"))
MAX_STORES_PER_ACCOUNT = 200
STORE_CODE_RULE = "1-64 letters, digits, _ . or - (e.g. SH001), case kept"
PHONE_RULE = "digits, spaces, + - ( ) only"
PASSWORD_POLICY = (f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, not containing the username, "
                   "not one of the most common passwords.")


def _timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a known time zone (e.g. Asia/Shanghai).") from None


def to_gcj02(data: dict) -> dict:
    """Convert ``lat``/``lng`` given in WGS-84 (``coord=wgs84``) to GCJ-02; no offset outside mainland China."""
    if data.pop("coord", "gcj02") == "wgs84" and "lat" in data:
        data["lat"], data["lng"] = wgs84_to_gcj02(data["lat"], data["lng"])
    return data


class StoreCode(ma.fields.String):
    """A brand's store code, the same in the admin API and the CSV import: stripped, then checked."""

    def __init__(self, **kwargs) -> None:
        super().__init__(validate=[validate.Length(min=1, max=64),
                                   validate.Regexp(r"[A-Za-z0-9_.-]+\Z", error=f"Not a store code: {STORE_CODE_RULE}.")],
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class WeeklyHours(ma.fields.Dict):
    """Weekly hours, checked and normalised in one pass (an import loads thousands)."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        try:
            return normalize_weekly_hours(super()._deserialize(value, attr, data, **kwargs))
        except HoursError as exc:
            raise ValidationError(str(exc)) from None


class NearbyArgs(QuickQueryArgs):
    lat = latitude(required=True)
    lng = longitude(required=True)
    coord = ma.fields.String(load_default="gcj02", validate=COORD, metadata={
        "description": "gcj02 (what wx.getLocation({type: 'gcj02'}) gives) or wgs84 (converted)."})
    radius_m = ma.fields.Integer(load_default=5000, validate=validate.Range(min=0, max=MAX_RADIUS_M))
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))
    open_now = ma.fields.Boolean(load_default=False)
    service = ma.fields.String(load_default=None, validate=validate.OneOf(SERVICES))
    product_id = id_field(load_default=None, metadata={"description": "Only stores that sell this product."})

    @ma.post_load
    def convert(self, data, **kwargs):
        return to_gcj02(data)


class OpeningSchema(ma.Schema):
    open_now = ma.fields.Boolean()
    closes_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "When open: next closing."})
    next_opens_at = ma.fields.AwareDateTime(allow_none=True,
                                            metadata={"description": "When closed: next opening (14 days ahead)."})


class NearbyStoreSchema(OpeningSchema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    city = ma.fields.String()
    district = ma.fields.String(allow_none=True)
    lat = ma.fields.Float()
    lng = ma.fields.Float()
    phone = ma.fields.String(allow_none=True)
    services = ma.fields.List(ma.fields.String())
    timezone = ma.fields.String()
    distance_m = ma.fields.Integer(metadata={"description": "Metres from the query point."})


class NearbySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NearbyStoreSchema))


class HoursExceptionSchema(ma.Schema):
    day = ma.fields.Date()
    hours = ma.fields.List(ma.fields.List(ma.fields.String()))
    note = ma.fields.String(allow_none=True)


class StoreSchema(NearbyStoreSchema):
    code = ma.fields.String()
    status = ma.fields.String()
    weekly_hours = ma.fields.Dict()
    exceptions = ma.fields.List(ma.fields.Nested(HoursExceptionSchema))
    distance_m = None


class StoreInputSchema(ma.Schema):
    """A store as marketing enters it; coordinates in GCJ-02 unless ``coord`` says wgs84."""

    code = StoreCode(required=True, metadata={"description": f"The brand's own code: {STORE_CODE_RULE}."})
    name = text(128, required=True)
    address = text(255, required=True)
    city = text(64, required=True)
    district = text(64, min_length=0, allow_none=True)
    lat = latitude(required=True)
    lng = longitude(required=True)
    coord = ma.fields.String(load_default="gcj02", validate=COORD)
    phone = text(32, min_length=0, allow_none=True, validate=validate.Regexp(
        r"([0-9+\-() ]*[0-9][0-9+\-() ]*)?\Z", error=f"Not a phone number ({PHONE_RULE})."))
    timezone = ma.fields.String(load_default=DEFAULT_TIMEZONE, validate=_timezone)
    services = BoundedList(ma.fields.String(validate=validate.OneOf(SERVICES)), load_default=list,
                           validate=validate.Length(max=len(SERVICES)))
    status = ma.fields.String(load_default="open", validate=validate.OneOf(STATUSES))
    weekly_hours = WeeklyHours(load_default=dict, metadata={
        "description": 'Local times per weekday: {"mon": [["09:00", "21:00"]], "sat": [["22:00", "02:00"]]}; '
                       "a range ending before it starts runs past midnight; a missing day is closed."})

    @ma.post_load
    def clean(self, data, **kwargs):
        if "services" in data:
            data["services"] = sorted(set(data["services"]))
        if ("lat" in data) != ("lng" in data):
            raise ValidationError("Give lat and lng together.", "lat")
        return to_gcj02(data)


class StorePatchSchema(StoreInputSchema):
    """A change to a store: any of the fields above (use with partial=True)."""


class HoursExceptionArgs(ma.Schema):
    # Loose bounds against floods: normalize_day_hours words the real rules (ranges a day, two times each).
    hours = BoundedList(BoundedList(ma.fields.String(), validate=validate.Length(max=16)), required=True,
                        validate=validate.Length(max=64),
                           metadata={"description": 'Ranges that day, e.g. [["10:00", "16:00"]]; [] = closed.'})
    note = text(128, min_length=0, load_default=None)

    @ma.validates("hours")
    def check_hours(self, value, **kwargs):
        try:
            normalize_day_hours(value)
        except HoursError as exc:
            raise ValidationError(str(exc)) from None

    @ma.post_load
    def clean(self, data, **kwargs):
        data["hours"] = normalize_day_hours(data["hours"])
        return data


class StoreListArgs(ma.Schema):
    city = text(64, min_length=0, load_default=None)
    status = ma.fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    q = text(64, load_default=None)


class ImportResultSchema(ma.Schema):
    created = ma.fields.Integer(metadata={"description": "Stores whose code was new."})
    updated = ma.fields.Integer(metadata={"description": "Known stores of which some value changed."})
    unchanged = ma.fields.Integer(metadata={"description": "Known stores already as given (not written)."})


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
    """A password as sent: bounded before it is hashed; the policy (shop.stores.staff) words the rest."""
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
