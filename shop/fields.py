"""Fields shared by every domain's request schemas.

``BoundedList`` is the only list field a request schema may use: marshmallow's ``List`` reads and
validates every element before its ``Length`` validator sees how many there are, so a 1 MB body of
450,000 elements cost 27 s of CPU and a 20 MB error answer. A ``BoundedList`` refuses an overlong
list before reading any element. tests/test_request_limits.py checks that every list the API
accepts is one.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate


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
