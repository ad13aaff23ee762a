"""Read a stores CSV that marketing keeps in a spreadsheet: every row checked, every error reported.

``FORMAT_HELP`` says it for the people who prepare the file; the details:

The file::

    code,name,address,city,district,lat,lng,phone,timezone,services,status,hours[,coord]

- The header is matched case-insensitively, in any order; ``code, name, address, city, lat,
  lng`` are required, the rest optional; an unknown or repeated column is an error on line 1
  (and then no row is read, since the columns cannot be trusted).
- Lines are numbered as a spreadsheet shows them: the header is line 1, the first store line 2,
  a blank line still counts (and is skipped), a quoted cell with line breaks is one line. A
  UTF-8 BOM and CRLF line ends are fine; so are empty columns at the right of the header and
  lines short of trailing cells. A line with more values than columns is an error; a CSV
  syntax error (a stray quote) is reported on its line and ends the reading.
- Values are stripped; line breaks inside a cell become a space; other control characters and
  values longer than the model's columns are errors.
- ``lat``/``lng``: decimal degrees, GCJ-02 unless ``coord`` is ``wgs84`` (then converted).
- ``services``: ``pickup``, ``dine_in``, ``delivery`` separated by ``|`` or ``;``.
- ``status``: ``open`` (default), ``closed`` or ``suspended``.
- ``timezone``: an IANA name (default Asia/Shanghai), matched case-insensitively.
- ``hours``: the weekly hours in the compact form below; required unless ``status`` is closed.

Hours grammar (case-insensitive, spaces around separators allowed)::

    hours   = group *( ";" group )
    group   = days 1*WS ( ranges / "closed" )
    days    = dayspec *( "," dayspec )
    dayspec = day [ "-" day ] / "daily"      ; "fri-mon" wraps: fri, sat, sun, mon
    day     = "mon" / "tue" / "wed" / "thu" / "fri" / "sat" / "sun"
    ranges  = range *( "," range )
    range   = time "-" time                  ; an end before the start closes after midnight
    time    = 1*2DIGIT ":" 2DIGIT            ; "9:00" or "09:00"; "24:00" as an end

    mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00

A day named in no group is closed, and a day may be named only once. Full-width ``；，：``
and ``~`` (as in "09:00~21:00") are read as ``; , : -``. The result is checked by
``hours.normalize_weekly_hours`` (no overlaps, at most 4 ranges a day, ...).

``parse_stores_csv`` never raises on bad input: ``rows`` holds the rows without errors, ready for
``Store(**row)``, and ``errors`` the problems, so the caller decides (normally: import nothing
unless ``errors`` is empty, and show them all).
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from shop.errors import size_text
from shop.fields import MAX_LATITUDE, has_control_characters
from shop.stores.coordinates import wgs84_to_gcj02
from shop.stores.hours import DEFAULT_TIMEZONE, WEEKDAYS, HoursError, normalize_weekly_hours
from shop.stores.schemas import PHONE_RULE, STORE_CODE_RULE, StoreInputSchema

MAX_ROWS = 20_000
MAX_FILE_BYTES = 8 * 1024 * 1024  # 20,000 stores of about 200 bytes, with room to spare
PROGRESS_EVERY = 500  # store lines between two progress reports of an import job
REQUIRED_COLUMNS = ("code", "name", "address", "city", "lat", "lng")
COLUMNS = ("code", "name", "address", "city", "district", "lat", "lng", "phone", "timezone", "services",
           "status", "hours", "coord")
# The Store model's column lengths (shop/stores/models.py).
MAX_LENGTHS = {"code": 64, "name": 128, "address": 255, "city": 64, "district": 64, "phone": 32}
SERVICES = ("pickup", "dine_in", "delivery")
STATUSES = ("open", "closed", "suspended")
COORDS = ("gcj02", "wgs84")

# What a person preparing a file needs to know; `flask stores import --help` and the import endpoint's
# OpenAPI description show it. Blocks are separated by blank lines (each is shown as written).
FORMAT_HELP = f"""\
A CSV file in UTF-8 (Excel: "CSV UTF-8"; a BOM is fine; GBK and other
encodings are refused), at most {size_text(MAX_FILE_BYTES)} and {MAX_ROWS:,} stores. Line 1 is the
header: the column names, in any order and any case.

Required columns:
  code      the brand's store code: {STORE_CODE_RULE};
            a known code updates that store, a new one creates a store
  name      up to {MAX_LENGTHS["name"]} characters
  address   up to {MAX_LENGTHS["address"]} characters
  city      up to {MAX_LENGTHS["city"]} characters
  lat, lng  decimal degrees (31.2304), in GCJ-02 as WeChat's maps give them;
            latitude within ±{MAX_LATITUDE}

Optional columns (an empty cell takes the default):
  district  up to {MAX_LENGTHS["district"]} characters
  phone     {PHONE_RULE}, up to {MAX_LENGTHS["phone"]} characters
  timezone  an IANA name (default {DEFAULT_TIMEZONE})
  services  {", ".join(SERVICES)}, separated by | or ;
  status    open (default), closed or suspended
  hours     required unless status is closed, for example
              mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00
            days: mon ... sun, a range (fri-mon wraps) or daily, then time
            ranges or "closed"; a day named nowhere is closed; a range
            ending before it starts closes after midnight
  coord     gcj02 (default) or wgs84: GPS coordinates, converted to GCJ-02
            (no offset outside mainland China)

All rows or none: if any line is wrong, nothing is imported and every
error is listed with its line (the header is line 1). Importing the same
file again reports its stores as unchanged and writes nothing.

The same store as JSON (the same fields and rules, weekly_hours as
{{"mon": [["09:00", "21:00"]]}}): POST /api/v1/admin/stores, one store a request."""

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)\Z")  # no exponents, NaN, inf or underscores
_LINE_BREAKS = re.compile(r"\s*[\r\n\t]+\s*")
_GROUP = re.compile(r"(?P<days>[a-z][a-z,\- ]*?)\s+(?P<ranges>closed|\d.*)\Z")
_RANGE = re.compile(r"(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\Z")
# Chinese input methods type full-width punctuation, and "09:00~21:00" is a common way to write hours.
_FULL_WIDTH = str.maketrans({"；": ";", "，": ",", "：": ":", "～": "-", "~": "-", "－": "-", "\u3000": " "})


@dataclass(frozen=True, slots=True)
class LineError:
    """One problem: the line as a spreadsheet numbers it (header = 1), the column, what is wrong."""

    line: int
    field: str | None  # None: the whole line (or the whole file)
    message: str  # reads on its own after the field: "lat: 91 is outside -90..90"


@dataclass(slots=True)
class CsvParseResult:
    """The rows that passed (values ready for the Store model) and every error found."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line of each row, to report later failures

    @property
    def ok(self) -> bool:
        """No errors at all."""
        return not self.errors


class FieldError(ValueError):
    """A bad value in one column; the parser turns it into a LineError."""


# --- the hours grammar --------------------------------------------------------------------------

def _day_span(spec: str) -> list[str]:
    """Weekdays of "mon", "mon-fri" (wrapping, "fri-mon") or "daily"."""
    if spec == "daily":
        return list(WEEKDAYS)
    first, dash, last = spec.partition("-")
    if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
        raise HoursError(f"{spec!r} is not a day or a day range like mon-fri")
    if not dash:
        return [first]
    start, stop = WEEKDAYS.index(first), WEEKDAYS.index(last)
    return [WEEKDAYS[(start + offset) % 7] for offset in range((stop - start) % 7 + 1)]


def _pad_time(value: str) -> str:
    """ "9:00" -> "09:00": spreadsheets drop the leading zero."""
    return value.zfill(5)


def _group_ranges(text: str) -> list[list[str]]:
    """["HH:MM", "HH:MM"] ranges of "09:00-14:00,17:00-21:00", or none for "closed"."""
    if text == "closed":
        return []
    ranges = []
    for item in text.split(","):
        match = _RANGE.match(item.replace(" ", ""))
        if not match:
            raise HoursError(f"{item.strip()!r} is not a time range like 09:00-21:00")
        ranges.append([_pad_time(match[1]), _pad_time(match[2])])
    return ranges


def parse_hours_spec(text: str) -> dict[str, list[list[str]]]:
    """Weekly hours JSON of "mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00"; HoursError if wrong."""
    week: dict[str, list[list[str]]] = {}
    for group in text.lower().translate(_FULL_WIDTH).split(";"):
        group = group.strip()
        if not group:
            continue  # a trailing ";" is harmless
        match = _GROUP.match(group)
        if not match:
            raise HoursError(f"{group!r} is not days then times, like 'mon-fri 09:00-21:00'")
        ranges = _group_ranges(match["ranges"])
        for spec in match["days"].replace(" ", "").split(","):
            for day in _day_span(spec):
                if day in week:
                    raise HoursError(f"{day} is given more than once")
                week[day] = [list(item) for item in ranges]
    return normalize_weekly_hours(week)


def format_hours_spec(week: dict[str, list[list[str]]]) -> str:
    """The compact form of weekly hours JSON, as ``parse_hours_spec`` reads it (closed days left out)."""
    return "; ".join(f"{day} {format_day_spec(week[day])}" for day in WEEKDAYS if week.get(day))


def parse_day_spec(text: str) -> list[list[str]]:
    """One day's ranges of "10:00-16:00" or "10:00-14:00,17:00-21:00" ("closed": none), the weekly grammar's
    times alone (a dated exception); HoursError if wrong."""
    return _group_ranges(text.strip().lower().translate(_FULL_WIDTH))


def format_day_spec(ranges: list[list[str]]) -> str:
    """One day's ranges as ``parse_day_spec`` reads them."""
    return ",".join(f"{start}-{end}" for start, end in ranges)


# --- one value per column -------------------------------------------------------------------------

def _text(value: str, column: str, *, required: bool) -> str | None:
    """A stripped text value within the model's length; None when empty and optional."""
    if not value:
        if required:
            raise FieldError("required")
        return None
    value = _LINE_BREAKS.sub(" ", value)  # Alt+Enter in a spreadsheet cell: one line in the model
    if has_control_characters(value):
        raise FieldError("has a control character")
    limit = MAX_LENGTHS[column]
    if len(value) > limit:
        raise FieldError(f"longer than {limit} characters ({len(value)})")
    return value


def _degrees(value: str, low: float, high: float) -> float:
    """A decimal number of degrees within [low, high]."""
    if not value:
        raise FieldError("required")
    if not _DECIMAL.match(value):
        raise FieldError(f"{value!r} is not a decimal number of degrees")
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise FieldError(f"{value} is outside {low:g}..{high:g}")
    return number


def _choice(value: str, allowed: tuple[str, ...], default: str) -> str:
    """One of ``allowed`` (case-insensitive), or the default when empty."""
    if not value:
        return default
    lowered = value.lower()
    if lowered not in allowed:
        raise FieldError(f"{value!r} is not one of {', '.join(allowed)}")
    return lowered


def _services(value: str) -> list[str]:
    """Services separated by | or ;, each known, without repeats (the store schema sorts them)."""
    found: list[str] = []
    for item in re.split(r"[|;]", value.lower()):
        name = item.strip().replace("-", "_").replace(" ", "_")
        if not name:
            continue
        if name not in SERVICES:
            raise FieldError(f"{item.strip()!r} is not one of {', '.join(SERVICES)}")
        if name not in found:
            found.append(name)
    return found


@functools.cache
def _zone_names() -> dict[str, str]:
    """IANA zone names by their lower case (loaded once: it reads the tz database's index)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _timezone(value: str) -> str:
    """A canonical IANA zone name; default Asia/Shanghai."""
    if not value:
        return DEFAULT_TIMEZONE
    name = _zone_names().get(value.lower())
    if name is None:
        raise FieldError(f"{value!r} is not a time zone name like Asia/Shanghai")
    return name


# A file repeats a handful of hours specs over thousands of lines; parsing is most of a line's cost.
_parse_hours_spec_cached = functools.lru_cache(maxsize=1024)(parse_hours_spec)


def _hours(value: str, status: str | None) -> dict[str, list[list[str]]]:
    """Weekly hours JSON of the compact form; empty only for a closed store."""
    if not value:
        if status == "closed":
            return {}
        raise FieldError("required unless status is closed")
    try:
        week = _parse_hours_spec_cached(value)
    except HoursError as exc:
        raise FieldError(str(exc)) from exc
    return {day: [list(item) for item in ranges] for day, ranges in week.items()}  # each row its own lists


# --- rows -------------------------------------------------------------------------------------------

class _Row:
    """One line's values by column, collecting its errors as it converts them."""

    def __init__(self, line: int, values: dict[str, str], errors: list[LineError]):
        self.line = line
        self.values = values
        self.errors = errors

    def take(self, column: str, convert: Callable[[str], Any]) -> Any:
        """The converted value of a column, or None after recording its error."""
        try:
            return convert(self.values.get(column, ""))
        except FieldError as exc:
            self.errors.append(LineError(self.line, column, str(exc)))
            return None


def _convert_row(row: _Row) -> dict[str, Any]:
    """The Store fields of one line (check ``row.errors`` after)."""
    lat = row.take("lat", lambda v: _degrees(v, -MAX_LATITUDE, MAX_LATITUDE))  # where the index can place it
    lng = row.take("lng", lambda v: _degrees(v, -180.0, 180.0))
    coord = row.take("coord", lambda v: _choice(v, COORDS, "gcj02"))
    if coord == "wgs84" and lat is not None and lng is not None:
        lat, lng = wgs84_to_gcj02(lat, lng)
    status = row.take("status", lambda v: _choice(v, STATUSES, "open"))
    return {
        "code": row.take("code", lambda v: _text(v, "code", required=True)),
        "name": row.take("name", lambda v: _text(v, "name", required=True)),
        "address": row.take("address", lambda v: _text(v, "address", required=True)),
        "city": row.take("city", lambda v: _text(v, "city", required=True)),
        "district": row.take("district", lambda v: _text(v, "district", required=False)),
        "lat": lat,
        "lng": lng,
        "phone": row.take("phone", lambda v: _text(v, "phone", required=False)),
        "timezone": row.take("timezone", _timezone),
        "services": row.take("services", _services),
        "status": status,
        "weekly_hours": row.take("hours", lambda v: _hours(v, status)),
    }


def _read_header(cells: list[str], errors: list[LineError]) -> list[str] | None:
    """The column names in file order, or None after recording what is wrong with them."""
    names = [cell.strip().lower() for cell in cells]
    while names and not names[-1]:
        names.pop()  # spreadsheets export stray empty columns at the right
    before = len(errors)
    for index, name in enumerate(names):
        if name not in COLUMNS:
            shown = repr(name) if name else f"with no name (column {index + 1})"
            errors.append(LineError(1, name or None, f"unknown column {shown}; expected {', '.join(COLUMNS)}"))
        elif name in names[:index]:
            errors.append(LineError(1, name, f"column {name!r} appears twice"))
    errors.extend(LineError(1, name, f"required column {name!r} is missing")
                  for name in REQUIRED_COLUMNS if name not in names)
    return names if len(errors) == before else None


def _records(text: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(line, cells) of each CSV record, counted as a spreadsheet counts rows; then a syntax error, if any."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 0
    try:
        for cells in reader:
            line += 1
            yield line, cells
    except csv.Error as exc:  # bad quoting, a field past csv's size limit: nothing after it is reliable
        yield line + 1, exc


def count_lines(text: str) -> int:
    """The file's lines as the parser numbers them (a quoted cell with line breaks is one line)."""
    return sum(1 for _ in _records(text.removeprefix("\ufeff")))


def parse_stores_csv(text: str, *, progress: Callable[[int], None] | None = None,
                     every: int = PROGRESS_EVERY) -> CsvParseResult:
    """Every valid store row of a stores CSV, and every error (never raises on bad input).

    ``progress(line)`` is called after each ``every`` store lines, for a job showing how far it got.
    """
    result = CsvParseResult()
    records = _records(text.removeprefix("\ufeff"))  # Excel's "CSV UTF-8" starts with a BOM
    _, header = next(records, (1, []))
    if isinstance(header, csv.Error) or not any(cell.strip() for cell in header):
        problem = f"cannot be read: {header}" if isinstance(header, csv.Error) else "is empty"
        result.errors.append(LineError(1, None, f"line 1 {problem}; it must be the header ({', '.join(COLUMNS)})"))
        return result
    columns = _read_header(header, result.errors)
    if columns is None:
        return result
    first_line_of: dict[str, int] = {}
    stores = 0
    for line, cells in records:
        if isinstance(cells, csv.Error):
            result.errors.append(LineError(line, None, f"the CSV cannot be read from here on: {cells}"))
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, or a spreadsheet's empty rows (",,,,")
        stores += 1
        if stores > MAX_ROWS:
            result.errors.append(LineError(line, None, f"a file holds at most {MAX_ROWS} stores; split it"))
            break
        _parse_line(line, columns, cells, result, first_line_of)
        if progress is not None and stores % every == 0:
            progress(line)
    return result


def _parse_line(line: int, columns: list[str], cells: list[str], result: CsvParseResult,
                first_line_of: dict[str, int]) -> None:
    """Check one store line; add its row or its errors to ``result``."""
    if any(cell.strip() for cell in cells[len(columns):]):
        result.errors.append(LineError(line, None, f"{len(cells)} values but the header has {len(columns)} columns"))
        return
    # A short line reads as if its last cells were empty: some tools drop trailing empty cells.
    row = _Row(line, {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}, [])
    store = _convert_row(row)
    code = store["code"]
    if code is not None:
        if code in first_line_of:
            row.errors.append(LineError(line, "code", f"{code!r} is already used on line {first_line_of[code]}"))
        else:
            first_line_of[code] = line
    # Errors in the file's column order, as the user reads the line.
    order = {name: index for index, name in enumerate([*columns, *COLUMNS])}  # absent columns last
    if not row.errors:
        store = _as_the_api_takes_it(row, store)
    result.errors.extend(sorted(row.errors, key=lambda error: order.get(error.field, -1)))
    if not row.errors:
        result.rows.append(store)
        result.lines.append(line)


# The admin API's fields that a CSV column of another name fills.
_COLUMN_OF_FIELD = {"weekly_hours": "hours", "_schema": None}


@functools.cache
def _store_schema() -> StoreInputSchema:
    return StoreInputSchema()


def _as_the_api_takes_it(row: _Row, store: dict[str, Any]) -> dict[str, Any]:
    """The row checked and cleaned by the admin API's store schema, so a file and the API agree on every rule."""
    try:
        return _store_schema().load(store)
    except ValidationError as exc:
        for name, messages in exc.normalized_messages().items():
            for message in messages if isinstance(messages, list) else [str(messages)]:
                row.errors.append(LineError(row.line, _COLUMN_OF_FIELD.get(name, name), str(message)))
        return store
