"""The vocabulary of request schemas: the one home of each rule a field of any domain shares.

- ``text``: a bounded string without control characters (``multiline`` allows tab and line breaks).
- ``strict_int``, ``id_field``: integers; an id is one a row can have (``shop.database.MAX_ID``).
- ``fen``: money in integer fen, bounded by what it is (``shop.config``'s ``MAX_*_FEN``).
- ``latitude``, ``longitude``: a position the maps and the nearby index can place.
- ``mobile_phone``: a mainland mobile number.
- ``LABEL``, ``campaign``: a campaign (or channel) label, as shares and coupon batches carry it.
- ``IdConverter``: the URL converter of ids (``<id:order_id>``): an id beyond the storable range
  matches no route, so it is the app's JSON 404, never a database error.

``BoundedList`` is the only list field a request schema may use: marshmallow's ``List`` reads and
validates every element before its ``Length`` validator sees how many there are, so a 1 MB body of
450,000 elements cost 27 s of CPU and a 20 MB error answer. A ``BoundedList`` refuses an overlong
list before reading any element. tests/test_request_limits.py checks that every list the API
accepts is one.

The factories return marshmallow's own field classes (validators added), never subclasses:
shop/query_args.py loads the plain classes of hot query strings without marshmallow.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import marshmallow as ma
from marshmallow import validate
from werkzeug.routing import IntegerConverter

from shop.database import MAX_ID

if TYPE_CHECKING:
    from flask import Flask

# Unicode's control characters (category Cc): C0, DEL and C1. A NUL is refused by PostgreSQL (a 500),
# the others are invisible, and ESC or C1's CSI rewrite a terminal that shows a log line.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Multiline text keeps tab, LF and CR: a form's textarea sends its line breaks as CRLF (HTML's
# form encoding), so refusing CR would refuse every note typed on two lines in a browser.
CONTROL_CHARACTERS_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NO_CONTROL_CHARACTERS = "Control characters are not allowed."
NO_CONTROL_CHARACTERS_MULTILINE = "Control characters other than tab and line breaks are not allowed."

# Redis GEO (and the Web Mercator maps) place latitudes within this range only: a store beyond it
# (a typo at the pole) could not be found nearby.
MAX_LATITUDE = 85.05112878

MAINLAND_MOBILE = validate.Regexp(r"^1\d{10}$", error="A mainland mobile number.")


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds a control character ``text`` refuses (tab and line breaks pass if ``multiline``)."""
    return (CONTROL_CHARACTERS_MULTILINE if multiline else CONTROL_CHARACTERS).search(value) is not None


class NoControlCharacters(validate.Validator):
    """Refuses text with a control character; ``multiline`` lets tab, LF and CR through."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline
        self.error = NO_CONTROL_CHARACTERS_MULTILINE if multiline else NO_CONTROL_CHARACTERS

    def __call__(self, value: str) -> str:
        if has_control_characters(value, multiline=self.multiline):
            raise ma.ValidationError(self.error)
        return value


def text(max_length: int, *, min_length: int = 1, multiline: bool = False, **kwargs: Any) -> ma.fields.String:
    """A string of ``min_length``..``max_length`` characters without control characters (see module).

    A ``validate=`` given adds its rules to these.
    """
    more = kwargs.pop("validate", None) or []
    rules = [validate.Length(min=min_length, max=max_length), NoControlCharacters(multiline=multiline),
             *(more if isinstance(more, list | tuple) else [more])]
    return ma.fields.String(validate=rules, **kwargs)


def strict_int(low: int, high: int, **kwargs: Any) -> ma.fields.Integer:
    """An integer that must arrive as a JSON integer: no floats, strings or booleans."""
    return ma.fields.Integer(strict=True, validate=validate.Range(min=low, max=high), **kwargs)


class _JsonBoolean(ma.fields.Boolean):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def strict_bool(**kwargs: Any) -> ma.fields.Boolean:
    """A JSON true or false: no 1, "true" or "yes" (a JSON body says what it means)."""
    return _JsonBoolean(**kwargs)


def id_field(*, strict: bool = False, **kwargs: Any) -> ma.fields.Integer:
    """The id of a row: 1..MAX_ID. ``strict`` for JSON bodies (a query string's ids arrive as text)."""
    return ma.fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def fen(high: int, *, low: int = 1, **kwargs: Any) -> ma.fields.Integer:
    """Money in integer fen, ``low``..``high`` (one of shop.config's MAX_*_FEN), as a JSON integer."""
    kwargs.setdefault("metadata", {"description": f"Fen (1/100 yuan), {low} to {high}."})
    return strict_int(low, high, **kwargs)


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise ma.ValidationError("Must be a finite number.")


def latitude(**kwargs: Any) -> ma.fields.Float:
    """A latitude in degrees that the maps and the nearby index can place (±MAX_LATITUDE)."""
    within = validate.Range(min=-MAX_LATITUDE, max=MAX_LATITUDE,
                            error=f"Must be between -{MAX_LATITUDE} and {MAX_LATITUDE}: maps and the nearby "
                                  "index cannot place positions nearer the poles.")
    return ma.fields.Float(validate=[within, _finite], allow_nan=False, **kwargs)


def longitude(**kwargs: Any) -> ma.fields.Float:
    """A longitude in degrees, -180..180."""
    return ma.fields.Float(validate=[validate.Range(min=-180, max=180), _finite], allow_nan=False, **kwargs)


def mobile_phone(**kwargs: Any) -> ma.fields.String:
    """A mainland China mobile number: 11 digits starting with 1."""
    return ma.fields.String(validate=MAINLAND_MOBILE, **kwargs)


class IdConverter(IntegerConverter):
    """``<id:name>``: a row's id in a path, 1..MAX_ID; anything else matches no route (the JSON 404).

    The database cannot compare a number beyond BIGINT (PostgreSQL answers an error, a 500), so such
    a path never reaches a view. flask-smorest documents it as its parent's: an integer with these bounds.
    """

    regex = r"[0-9]{1,19}"  # MAX_ID has 19 digits: a longer run is not read as a number at all

    def __init__(self, map: Any) -> None:  # noqa: A002 - werkzeug's name
        super().__init__(map, min=1, max=MAX_ID)


def register_id_converter(app: Flask) -> None:
    """Make ``<id:...>`` known to ``app``'s routes: before any blueprint is registered."""
    app.url_map.converters["id"] = IdConverter


class BoundedList(ma.fields.List):
    """A list a client sends: its ``validate.Length(max=...)`` is checked before any element is read."""

    def __init__(self, inner: ma.fields.Field | type, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        maxima = [v.max for v in self.validators if isinstance(v, validate.Length) and v.max is not None]
        if not maxima:
            raise TypeError("a BoundedList needs validate=validate.Length(max=...)")
        self.max_length = min(maxima)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list | tuple) and len(value) > self.max_length:
            raise ma.ValidationError(f"Longer than maximum length {self.max_length}.")
        return super()._deserialize(value, attr, data, **kwargs)


LABEL = validate.Regexp(r"^[0-9A-Za-z._~-]+$", error="Letters, digits and . _ ~ - only.")


def campaign(**kwargs: Any) -> ma.fields.String:
    """An optional campaign label (at most 64 of letters, digits and ``. _ ~ -``), for per-campaign figures."""
    kwargs.setdefault("metadata", {"description": "A campaign label, for per-campaign figures."})
    return ma.fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=64), LABEL],
                            **kwargs)
