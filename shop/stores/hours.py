"""Opening hours: validate a store's weekly JSON and answer "open now, until when, next open when?".

The data (see ``Store.weekly_hours`` and ``StoreHoursException``):

- ``weekly_hours`` maps weekday names to lists of ``["HH:MM", "HH:MM"]`` ranges in the store's
  local time: ``{"mon": [["09:00", "22:00"]], "sun": [["10:00", "02:00"]]}``. A missing day is
  closed. An end earlier than its start crosses midnight (``["22:00", "02:00"]`` closes at 02:00
  the next morning); ``"24:00"`` is allowed as an end and ``"00:00"`` as an end means the same.
- An exception gives a date's ranges (empty: closed that day).

The rules, decided once here so the API, the nearby search and the staff console agree:

- A range belongs to the day it starts on. An exception for a day replaces the ranges that
  *start* on that day, overnight tails included: a holiday closing on Monday removes Monday's
  22:00-02:00 (so Tuesday 00:00-02:00 is closed too), but Sunday's 22:00-02:00 still runs into
  Monday's early morning, because that opening started on Sunday. To close those hours as well,
  give Sunday an exception too.
- A local time is the first instant the store's wall clock shows it. On a spring-forward day a
  time in the skipped hour maps to the instant the clock jumps (opening "02:30" in Berlin on the
  last Sunday of March opens at 03:00 CEST); on a fall-back day a repeated time maps to its first
  occurrence (closing "02:30" closes at 02:30 CEST, before the clocks go back). This mapping
  never goes backwards, so no range turns inside out, and nothing raises.
- Touching or overlapping openings (Monday 18:00-24:00 then Tuesday 00:00-02:00, or an
  exception that overlaps a tail) are one opening: ``closes_at`` is when the store really closes.

``OpeningHours.from_json(...)`` parses and validates once; ``status(at)`` then converts the one to
four local times it needs to UTC instants (cached on the object) and compares integers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shop.config import BUSINESS_ZONE_NAME

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_RANGES_PER_DAY = 4
LOOKAHEAD_DAYS = 14
DEFAULT_TIMEZONE = BUSINESS_ZONE_NAME  # a store's zone unless it names another

DAY_MINUTES = 24 * 60
# Every valid "HH:MM" (and "24:00") to its minutes: a dict look-up beats a regex when a nearby
# search builds the hours of 50 stores.
_MINUTES = {f"{minutes // 60:02d}:{minutes % 60:02d}": minutes for minutes in range(DAY_MINUTES + 1)}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Local times an OpeningHours keeps converted: a nearby search asks about "now", so few are needed.
_CACHE_INSTANTS = 256

# (start, end) in minutes after the local midnight of the day the range starts on; end may pass
# DAY_MINUTES when the range crosses midnight, and end - start is at most a day.
Range = tuple[int, int]
_SEQUENCES = (list, tuple)  # JSON arrays; a string is not a list of ranges


class HoursError(ValueError):
    """Opening hours that cannot be right; the message names the day and the range."""


@dataclass(frozen=True, slots=True)
class OpeningStatus:
    """Whether a store is open at an instant, and when that changes (aware UTC datetimes)."""

    open_now: bool
    closes_at: datetime | None  # when open; None if it is still open when the look-ahead ends (24/7)
    next_opens_at: datetime | None  # when closed; None if it does not open within the look-ahead


# --- validation ---------------------------------------------------------------------------------

def _parse_time(value: object, label: str, *, end: bool) -> int:
    """Minutes after midnight of "HH:MM"; "24:00" only as an end."""
    minutes = _MINUTES.get(value) if isinstance(value, str) else None
    if minutes is not None and (end or minutes < DAY_MINUTES):
        return minutes
    allowed = "00:00-23:59 or 24:00" if end else "00:00-23:59"
    raise HoursError(f"{label}: {value!r} is not a time HH:MM ({allowed})")


def _format_time(minutes: int) -> str:
    """"HH:MM" of minutes after midnight; 1440 is "24:00"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _format_range(item: Range) -> str:
    """A range as written: "22:00-02:00"."""
    start, end = item
    return f"{_format_time(start)}-{_format_time(end if end <= DAY_MINUTES else end - DAY_MINUTES)}"


def _range_json(item: Range) -> list[str]:
    """A range back in the stored form; an end at midnight is written "24:00"."""
    start, end = item
    return [_format_time(start), _format_time(end if end <= DAY_MINUTES else end - DAY_MINUTES)]


def _parse_range(raw: object, label: str) -> Range:
    """(start, end) minutes of ["HH:MM", "HH:MM"]; an earlier end crosses midnight."""
    if not isinstance(raw, _SEQUENCES) or len(raw) != 2:
        raise HoursError(f'{label}: {raw!r} is not a range ["HH:MM", "HH:MM"]')
    start = _parse_time(raw[0], label, end=False)
    end = _parse_time(raw[1], label, end=True)
    if start == end:
        raise HoursError(f"{label}: range {raw[0]}-{raw[1]} starts and ends at the same time")
    return (start, end if end > start else end + DAY_MINUTES)


def _parse_day(raw: object, label: str) -> tuple[Range, ...]:
    """A day's ranges, sorted and checked for overlaps."""
    if not isinstance(raw, _SEQUENCES):
        raise HoursError(f'{label}: expected a list of ["HH:MM", "HH:MM"] ranges, got {raw!r}')
    if len(raw) > MAX_RANGES_PER_DAY:
        raise HoursError(f"{label}: at most {MAX_RANGES_PER_DAY} ranges a day, got {len(raw)}")
    if len(raw) < 2:  # the usual day: nothing to sort or compare
        return tuple([_parse_range(item, label) for item in raw])
    ranges = sorted([_parse_range(item, label) for item in raw])
    for previous, current in zip(ranges, ranges[1:], strict=False):
        if current[0] < previous[1]:  # touching (previous ends when current starts) is fine
            raise HoursError(f"{label}: range {_format_range(current)} overlaps {_format_range(previous)}")
    return tuple(ranges)


def _parse_week(raw: object) -> tuple[tuple[Range, ...], ...]:
    """Seven days of ranges, Monday first; an overnight tail must end before the next day opens."""
    if not isinstance(raw, Mapping):
        raise HoursError(f"weekly hours must be an object keyed by weekday ({', '.join(WEEKDAYS)}), got {raw!r}")
    unknown = [key for key in raw if key not in WEEKDAYS]
    if unknown:
        raise HoursError(f"{unknown[0]!r} is not a weekday (use {', '.join(WEEKDAYS)})")
    week = tuple(_parse_day(raw.get(day, ()), day) for day in WEEKDAYS)
    for index, ranges in enumerate(week):
        following = (index + 1) % 7  # Sunday's tail runs into Monday
        if ranges and week[following] and ranges[-1][1] - DAY_MINUTES > week[following][0][0]:
            raise HoursError(
                f"{WEEKDAYS[index]}: range {_format_range(ranges[-1])} runs into "
                f"{WEEKDAYS[following]}'s {_format_range(week[following][0])}")
    return week


def normalize_weekly_hours(raw: object) -> dict[str, list[list[str]]]:
    """A validated copy of a weekly schedule: weekdays in order, ranges sorted, closed days left out."""
    week = _parse_week(raw)
    return {day: [_range_json(item) for item in ranges] for day, ranges in zip(WEEKDAYS, week, strict=True) if ranges}


def normalize_day_hours(raw: object, label: str = "day") -> list[list[str]]:
    """A validated, sorted copy of one day's ranges (an exception); ``label`` names it in errors."""
    return [_range_json(item) for item in _parse_day(raw, label)]


def load_zone(tz: str) -> ZoneInfo:
    """The zone named ``tz``, or HoursError."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:  # ValueError: a malformed key like "../x"
        raise HoursError(f"{tz!r} is not a known time zone") from exc


# --- local times to instants --------------------------------------------------------------------

def _offset_seconds(zone: ZoneInfo, instant: int) -> int:
    """The zone's UTC offset at a UTC instant (epoch seconds)."""
    return int(datetime.fromtimestamp(instant, zone).utcoffset().total_seconds())


def _jump_instant(zone: ZoneInfo, before: int, after: int, offset_before: int) -> int:
    """The first instant whose offset is no longer ``offset_before``: where the clock jumped."""
    # Only reached for a boundary inside a spring-forward gap (an hour a year, in some zones):
    # bisecting to the second takes a dozen offset look-ups then.
    while after - before > 1:
        middle = (before + after) // 2
        if _offset_seconds(zone, middle) == offset_before:
            before = middle
        else:
            after = middle
    return after


def _instant(zone: ZoneInfo, ordinal: int, minutes: int) -> tuple[int, bool]:
    """UTC epoch seconds of the first instant the local clock shows ``minutes`` after the midnight
    starting day ``ordinal``, and whether that wall time was skipped by a jump forward."""
    extra_days, minute_of_day = divmod(minutes, DAY_MINUTES)
    day = date.fromordinal(ordinal + extra_days)
    hour, minute = divmod(minute_of_day, 60)
    wall = datetime(day.year, day.month, day.day, hour, minute)
    first = zone.utcoffset(wall)  # fold=0: the earlier reading
    second = zone.utcoffset(wall.replace(fold=1))
    local = (ordinal - _EPOCH_ORDINAL) * 86400 + minutes * 60
    first_seconds = first.days * 86400 + first.seconds
    if first >= second:  # an ordinary time (equal) or one repeated by a fall-back: its first instant
        return local - first_seconds, False
    # In a gap, fold=0 reads the offset from before the jump and fold=1 the one after.
    second_seconds = second.days * 86400 + second.seconds
    return _jump_instant(zone, local - second_seconds, local - first_seconds, first_seconds), True


def _utc(instant: int) -> datetime:
    """An aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(instant, UTC)


# --- the hot path -------------------------------------------------------------------------------

class OpeningHours:
    """A store's hours, parsed once, asked many times (``status(at)``) in the nearby search."""

    __slots__ = ("_weekly", "_exceptions", "zone", "_instants", "_skipped", "_last")

    def __init__(self, weekly: Sequence[Sequence[Range]], exceptions: Mapping[int, Sequence[Range]],
                 zone: ZoneInfo):
        self._weekly = tuple(tuple(day) for day in weekly)  # Monday first
        self._exceptions = {ordinal: tuple(ranges) for ordinal, ranges in exceptions.items()}  # date ordinal
        self.zone = zone
        # Local (day, minutes) -> UTC epoch seconds, filled as asked: a status() usually needs 1-4.
        self._instants: dict[int, int] = {}
        self._skipped: set[int] = set()  # keys of wall times that a spring-forward jump skipped
        # (asked at, valid until, status): the last answer, reused until the status changes.
        self._last: tuple[float, float, OpeningStatus] | None = None

    @classmethod
    def from_json(cls, weekly_hours: object,
                  exceptions: Mapping[date, object] | None = None,
                  tz: str = DEFAULT_TIMEZONE) -> OpeningHours:
        """Validate the stored JSON (HoursError if wrong) and precompute minutes per range."""
        exception_ranges = {}
        for day, ranges in (exceptions or {}).items():
            if not isinstance(day, date) or isinstance(day, datetime):
                raise HoursError(f"exception days are dates, got {day!r}")
            exception_ranges[day.toordinal()] = _parse_day(ranges, day.isoformat())
        return cls(_parse_week(weekly_hours), exception_ranges, load_zone(tz))

    def _local_ranges(self, ordinal: int) -> tuple[Range, ...]:
        """(start, end) minutes of the ranges starting on a local day: its exception, else its weekday's."""
        ranges = self._exceptions.get(ordinal)
        return self._weekly[(ordinal - 1) % 7] if ranges is None else ranges  # ordinal 1 was a Monday

    def _at(self, ordinal: int, minutes: int) -> int:
        """Cached ``_instant``: UTC epoch seconds of a local day's minute."""
        key = ordinal * 4096 + minutes  # minutes < 2 * DAY_MINUTES < 4096
        found = self._instants.get(key)
        if found is None:
            found, skipped = _instant(self.zone, ordinal, minutes)
            if len(self._instants) >= _CACHE_INSTANTS:
                self._instants.clear()
            self._instants[key] = found
            if skipped:
                self._skipped.add(key)
        return found

    def _is_empty(self, ordinal: int, start: int, end: int) -> bool:
        """A range wholly inside a spring-forward gap: both ends map to the jump, so it never opens."""
        return ordinal * 4096 + start in self._skipped and self._at(ordinal, end) <= self._at(ordinal, start)

    def status(self, at: datetime) -> OpeningStatus:
        """Open at ``at`` (aware, any zone)? Until when, or when next (within 14 local days)?

        The answer stays the same from the instant it was computed for until the change it names
        (``closes_at`` or ``next_opens_at``): the same opening, or the same gap before the same
        next opening, and a later look-ahead still reaches it. So the last answer is reused for
        instants in between; the nearby search asks each shared schedule about the same minute
        on every request. An answer that names no change (24/7, or no opening within the
        look-ahead) is not reused: the look-ahead's end moves with ``at``.
        """
        if at.utcoffset() is None:
            raise ValueError("at must be a timezone-aware datetime")
        now = at.timestamp()
        last = self._last
        if last is not None and last[0] <= now < last[1]:
            return last[2]
        status = self._status(at, now)
        change = status.closes_at if status.open_now else status.next_opens_at
        if change is not None:
            self._last = (now, change.timestamp(), status)  # one tuple: safe to share between threads
        return status

    def _status(self, at: datetime, now: float) -> OpeningStatus:
        """``status`` computed afresh."""
        today = at.astimezone(self.zone).toordinal()
        open_until: int | None = None
        # Of yesterday's ranges only one that crosses midnight can still run: the mapping from wall
        # times to instants never goes backwards, so anything ending by today's 00:00 has ended.
        yesterday = self._local_ranges(today - 1)
        if yesterday and yesterday[-1][1] > DAY_MINUTES:
            tail_end = self._at(today - 1, yesterday[-1][1])
            if tail_end > now:
                open_until = tail_end
        # Ranges come in start order, so the first that ends after "now" contains it or opens next;
        # ends are only converted when needed (most calls convert 1-3 local times).
        for ordinal in range(today, today + LOOKAHEAD_DAYS + 1):
            for start_minutes, end_minutes in self._local_ranges(ordinal):
                start = self._at(ordinal, start_minutes)
                if open_until is None:
                    if start > now:
                        if self._is_empty(ordinal, start_minutes, end_minutes):
                            continue
                        return OpeningStatus(False, None, _utc(start))
                    end = self._at(ordinal, end_minutes)
                    if end > now:
                        open_until = end
                elif start <= open_until:  # touches or overlaps: the store stays open
                    open_until = max(open_until, self._at(ordinal, end_minutes))
                else:
                    return OpeningStatus(True, _utc(open_until), None)
        if open_until is None:
            return OpeningStatus(False, None, None)
        # No range within the look-ahead comes after this opening: it closes at open_until unless it
        # runs into the first day past the look-ahead, whose ranges we did not read (a 24/7 store).
        horizon = self._at(today + LOOKAHEAD_DAYS + 1, 0)
        return OpeningStatus(True, _utc(open_until) if open_until < horizon else None, None)

    def is_open(self, at: datetime) -> bool:
        """Open at ``at``?"""
        return self.status(at).open_now


def opening_status(weekly_hours: object, exceptions: Mapping[date, object] | None, tz: str,
                   at: datetime) -> OpeningStatus:
    """One-off status; build an ``OpeningHours`` once when asking about the same store repeatedly."""
    return OpeningHours.from_json(weekly_hours, exceptions, tz).status(at)


def is_open_at(weekly_hours: object, exceptions: Mapping[date, object] | None, tz: str,
               at: datetime) -> bool:
    """Whether the store is open at the aware instant ``at``."""
    return opening_status(weekly_hours, exceptions, tz, at).open_now
