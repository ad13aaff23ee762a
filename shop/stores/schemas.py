"""Request and response shapes of stores."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
from marshmallow import ValidationError, validate

from shop.fields import BoundedList
from shop.query_args import QuickQueryArgs
from shop.stores.coordinates import wgs84_to_gcj02
from shop.stores.geo import MAX_INDEXED_LAT
from shop.stores.hours import HoursError, normalize_day_hours, normalize_weekly_hours
from shop.stores.models import DEFAULT_TIMEZONE

SERVICES = ("pickup", "dine_in", "delivery")
STATUSES = ("open", "closed", "suspended")
MAX_RADIUS_M = 50_000
MAX_LIMIT = 50
COORD = validate.OneOf(("gcj02", "wgs84"))


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise ValidationError("Must be a finite number.")


def _printable(text: str) -> None:
    if not text.isprintable():  # NUL and other controls: PostgreSQL refuses NUL in text
        raise ValidationError("Only printable characters.")


def _timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a known time zone (e.g. Asia/Shanghai).") from None


def Latitude(**kwargs) -> ma.fields.Float:  # noqa: N802 - a field factory reads like a field
    """A latitude a store can have and the nearby index can place (Redis GEO stops at ±85.05112878°)."""
    within = validate.Range(min=-MAX_INDEXED_LAT, max=MAX_INDEXED_LAT,
                            error=f"Must be between -{MAX_INDEXED_LAT} and {MAX_INDEXED_LAT}: maps and the nearby "
                                  "index cannot place positions nearer the poles.")
    return ma.fields.Float(validate=[within, _finite], allow_nan=False, **kwargs)


def Longitude(**kwargs) -> ma.fields.Float:  # noqa: N802
    return ma.fields.Float(validate=[validate.Range(min=-180, max=180), _finite], allow_nan=False, **kwargs)


def to_gcj02(data: dict) -> dict:
    """Convert ``lat``/``lng`` given in WGS-84 (``coord=wgs84``) to GCJ-02; no offset outside mainland China."""
    if data.pop("coord", "gcj02") == "wgs84" and "lat" in data:
        data["lat"], data["lng"] = wgs84_to_gcj02(data["lat"], data["lng"])
    return data


class NearbyArgs(QuickQueryArgs):
    lat = Latitude(required=True)
    lng = Longitude(required=True)
    coord = ma.fields.String(load_default="gcj02", validate=COORD, metadata={
        "description": "gcj02 (what wx.getLocation({type: 'gcj02'}) gives) or wgs84 (converted)."})
    radius_m = ma.fields.Integer(load_default=5000, validate=validate.Range(min=0, max=MAX_RADIUS_M))
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))
    open_now = ma.fields.Boolean(load_default=False)
    service = ma.fields.String(load_default=None, validate=validate.OneOf(SERVICES))
    product_id = ma.fields.Integer(load_default=None, validate=validate.Range(min=1),
                                   metadata={"description": "Only stores that sell this product."})

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

    code = ma.fields.String(required=True, validate=[validate.Length(min=1, max=64),
                                                     validate.Regexp(r"^[A-Za-z0-9_.-]+$")])
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    address = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    city = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    district = ma.fields.String(allow_none=True, validate=validate.Length(max=64))
    lat = Latitude(required=True)
    lng = Longitude(required=True)
    coord = ma.fields.String(load_default="gcj02", validate=COORD)
    phone = ma.fields.String(allow_none=True, validate=validate.Length(max=32))
    timezone = ma.fields.String(load_default=DEFAULT_TIMEZONE, validate=_timezone)
    services = BoundedList(ma.fields.String(validate=validate.OneOf(SERVICES)), load_default=list,
                           validate=validate.Length(max=len(SERVICES)))
    status = ma.fields.String(load_default="open", validate=validate.OneOf(STATUSES))
    weekly_hours = ma.fields.Dict(load_default=dict, metadata={
        "description": 'Local times per weekday: {"mon": [["09:00", "21:00"]], "sat": [["22:00", "02:00"]]}; '
                       "a range ending before it starts runs past midnight; a missing day is closed."})

    @ma.validates("weekly_hours")
    def check_hours(self, value, **kwargs):
        try:
            normalize_weekly_hours(value)
        except HoursError as exc:
            raise ValidationError(str(exc)) from None

    @ma.post_load
    def clean(self, data, **kwargs):
        if "services" in data:
            data["services"] = sorted(set(data["services"]))
        if "weekly_hours" in data:
            data["weekly_hours"] = normalize_weekly_hours(data["weekly_hours"])
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
    note = ma.fields.String(load_default=None, validate=validate.Length(max=128))

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
    city = ma.fields.String(load_default=None, validate=validate.Length(max=64))
    status = ma.fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    q = ma.fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class ImportResultSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
