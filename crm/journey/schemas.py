"""Request and response shapes of client journey events."""

from __future__ import annotations

import json
import math
from typing import Any

import marshmallow as ma
from marshmallow import validate

from shop.fields import LABEL, BoundedList, text
from shop.members.journey import ClientKind

MAX_EVENTS = 50
MAX_ATTRIBUTE_KEYS = 20
MAX_ATTRIBUTE_DEPTH = 2  # {"filters": {"price": [1, 2]}}: a dict or list inside the attributes, and one more
MAX_ATTRIBUTE_CHARS = 2000  # the attributes as compact JSON
MAX_VALUE_CHARS = 200
MAX_LIST_ITEMS = 20
_KEY = validate.And(validate.Length(min=1, max=40), LABEL)


def attribute_errors(value: Any, depth: int = 0) -> list[str]:
    """Why ``value`` cannot be stored as (part of) an event's attributes; empty when it can."""
    if value is None or isinstance(value, bool | int):
        return []
    if isinstance(value, float):
        return [] if math.isfinite(value) else ["Numbers must be finite."]
    if isinstance(value, str):
        return [] if len(value) <= MAX_VALUE_CHARS else [f"Strings are at most {MAX_VALUE_CHARS} characters."]
    if depth > MAX_ATTRIBUTE_DEPTH:
        return [f"Attributes nest at most {MAX_ATTRIBUTE_DEPTH} levels deep."]
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            return [f"Lists hold at most {MAX_LIST_ITEMS} items."]
        return [error for item in value for error in attribute_errors(item, depth + 1)]
    if isinstance(value, dict):
        return _dict_errors(value, depth)
    return ["Values are strings, numbers, booleans, null, lists or objects."]


def _dict_errors(value: dict, depth: int) -> list[str]:
    if len(value) > MAX_ATTRIBUTE_KEYS:
        return [f"At most {MAX_ATTRIBUTE_KEYS} keys."]
    for key, item in value.items():
        try:
            _KEY(key)
        except ma.ValidationError:
            return ["Keys are 1 to 40 letters, digits or . _ ~ -."]
        errors = attribute_errors(item, depth + 1)
        if errors:
            return errors
    return []


def check_attributes(value: dict) -> None:
    errors = _dict_errors(value, 0)
    if errors:
        raise ma.ValidationError(errors)
    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False)) > MAX_ATTRIBUTE_CHARS:
        raise ma.ValidationError(f"At most {MAX_ATTRIBUTE_CHARS} characters as JSON.")


class ClientEventArgs(ma.Schema):
    client_event_id = text(64, required=True, validate=LABEL, metadata={
        "description": "The client's id of the event (letters, digits, . _ ~ -), unique per member: an event "
                       "sent again with the same id is ignored."})
    kind = ma.fields.String(required=True, validate=validate.OneOf([kind.value for kind in ClientKind]))
    occurred_at = ma.fields.AwareDateTime(required=True, metadata={
        "description": "When it happened on the phone (with a zone): within `CLIENT_EVENT_WINDOW_HOURS` before "
                       "now and at most 5 minutes after."})
    attributes = ma.fields.Dict(load_default=dict, validate=check_attributes, metadata={
        "description": f"What the event was about (product_id, store_id, query, ...): at most "
                       f"{MAX_ATTRIBUTE_KEYS} keys, nested {MAX_ATTRIBUTE_DEPTH} levels deep, strings of at most "
                       f"{MAX_VALUE_CHARS} characters, {MAX_ATTRIBUTE_CHARS} characters in all."})


class ClientEventsArgs(ma.Schema):
    events = BoundedList(ma.fields.Nested(ClientEventArgs), required=True,
                         validate=validate.Length(min=1, max=MAX_EVENTS))


class ClientEventsResultSchema(ma.Schema):
    recorded = ma.fields.Integer(metadata={"description": "Events stored now."})
    duplicates = ma.fields.Integer(metadata={"description": "Events ignored: their client_event_id was sent "
                                                            "before (in this batch or an earlier one)."})
