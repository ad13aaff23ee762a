"""Request and response shapes of stores and staff accounts."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
from marshmallow import ValidationError, validate

from shop.fields import BoundedList, id_field, latitude, longitude, text
from shop.query_args import QuickQueryArgs
from shop.stores.coordinates import wgs84_to_gcj02
from shop.stores.hours import HoursError, normalize_day_hours, normalize_weekly_hours
from shop.stores.models import DEFAULT_TIMEZONE

SERVICES = ("pickup", "dine_in", "delivery")
STATUSES = ("open", "closed", "suspended")
MAX_RADIUS_M = 50_000
MAX_LIMIT = 50
COORD = validate.OneOf(("gcj02", "wgs84"))
STORE_CODE_RULE = "1-64 letters, digits, _ . or - (e.g. SH001), case kept"
PHONE_RULE = "digits, spaces, + - ( ) only"
PREPARES_ORDERS = ("false (the default): a pickup order is ready for pickup as soon as it is paid. true: it goes "
                   "paid -> preparing -> ready_for_pickup as the store's clerks mark it "
                   "(POST /staff/orders/{id}/prepare and /ready), and the shopper is told when it is ready.")


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
    prepares_orders = ma.fields.Boolean(metadata={"description": PREPARES_ORDERS})
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
    prepares_orders = ma.fields.Boolean(metadata={"description": PREPARES_ORDERS})  # absent: kept (an import too)
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
