"""Opening hours: validation, open/closed with overnight ranges and exceptions, DST, and a slow reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.stores.hours import (
    DEFAULT_TIMEZONE,
    LOOKAHEAD_DAYS,
    WEEKDAYS,
    HoursError,
    OpeningHours,
    OpeningStatus,
    is_open_at,
    normalize_day_hours,
    normalize_weekly_hours,
    opening_status,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_21 = {day: [["09:00", "21:00"]] for day in WEEKDAYS[:5]}
# 2025-06-09 is a Monday.
MONDAY = date(2025, 6, 9)


def local(day: date, hhmm: str, zone: ZoneInfo = SHANGHAI, *, fold: int = 0) -> datetime:
    """An aware datetime of a wall time on a day in a zone."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=fold)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- validation ---------------------------------------------------------------------------------

def test_the_default_zone_is_the_models():
    from shop.stores.models import DEFAULT_TIMEZONE as MODEL_DEFAULT

    assert DEFAULT_TIMEZONE == MODEL_DEFAULT


def test_normalize_sorts_ranges_orders_days_and_leaves_out_closed_days():
    raw = {"sun": [["10:00", "02:00"]], "mon": [["17:00", "22:00"], ["09:00", "12:00"]], "tue": []}
    assert normalize_weekly_hours(raw) == {
        "mon": [["09:00", "12:00"], ["17:00", "22:00"]],
        "sun": [["10:00", "02:00"]],
    }
    assert list(normalize_weekly_hours(raw)) == ["mon", "sun"]
    assert raw["mon"] == [["17:00", "22:00"], ["09:00", "12:00"]]  # the input is not touched


def test_an_end_at_midnight_is_written_24_00_and_a_whole_day_is_allowed():
    assert normalize_weekly_hours({"fri": [["18:00", "00:00"]], "sat": [["00:00", "24:00"]]}) == {
        "fri": [["18:00", "24:00"]], "sat": [["00:00", "24:00"]]}


def test_touching_ranges_and_a_tail_that_ends_as_the_next_day_opens_are_allowed():
    raw = {"mon": [["09:00", "12:00"], ["12:00", "02:00"]], "tue": [["02:00", "10:00"]]}
    assert normalize_weekly_hours(raw) == raw


@pytest.mark.parametrize(("raw", "expected"), [
    ([["09:00", "21:00"]], "weekly hours must be an object keyed by weekday"),
    ({"monday": [["09:00", "21:00"]]}, "'monday' is not a weekday"),
    ({"mon": "09:00-21:00"}, "mon: expected a list of"),
    ({"mon": None}, "mon: expected a list of"),
    ({"mon": [["09:00"]]}, "mon: ['09:00'] is not a range"),
    ({"mon": [["09:00", "21:00", "23:00"]]}, "is not a range"),
    ({"tue": [["9:00", "21:00"]]}, "tue: '9:00' is not a time HH:MM"),
    ({"tue": [["09:00", "25:00"]]}, "tue: '25:00' is not a time HH:MM"),
    ({"tue": [["09:60", "21:00"]]}, "'09:60' is not a time"),
    ({"tue": [["24:00", "02:00"]]}, "tue: '24:00' is not a time HH:MM (00:00-23:59)"),
    ({"tue": [[900, 2100]]}, "900 is not a time"),
    ({"wed": [["09:00", "09:00"]]}, "wed: range 09:00-09:00 starts and ends at the same time"),
    ({"thu": [["09:00", "13:00"], ["12:00", "18:00"]]}, "thu: range 12:00-18:00 overlaps 09:00-13:00"),
    ({"thu": [["20:00", "02:00"], ["22:00", "23:00"]]}, "thu: range 22:00-23:00 overlaps 20:00-02:00"),
    ({"fri": [["22:00", "03:00"]], "sat": [["02:00", "10:00"]]}, "fri: range 22:00-03:00 runs into sat's 02:00-10:00"),
    ({"sun": [["22:00", "03:00"]], "mon": [["01:00", "10:00"]]}, "sun: range 22:00-03:00 runs into mon's 01:00-10:00"),
    ({"sat": [["08:00", "09:00"], ["10:00", "11:00"], ["12:00", "13:00"], ["14:00", "15:00"], ["16:00", "17:00"]]},
     "sat: at most 4 ranges a day, got 5"),
])
def test_bad_weekly_hours_are_refused_naming_the_day_and_range(raw, expected):
    with pytest.raises(HoursError) as refused:
        normalize_weekly_hours(raw)
    assert expected in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_normalize_day_hours_names_the_day_it_was_given():
    assert normalize_day_hours([["16:00", "20:00"], ["10:00", "12:00"]]) == [["10:00", "12:00"], ["16:00", "20:00"]]
    assert normalize_day_hours([]) == []
    with pytest.raises(HoursError, match="2025-10-01: range 11:00-14:00 overlaps 10:00-12:00"):
        normalize_day_hours([["10:00", "12:00"], ["11:00", "14:00"]], "2025-10-01")


def test_an_unknown_zone_or_a_non_date_exception_is_refused():
    with pytest.raises(HoursError, match="'Mars/Olympus' is not a known time zone"):
        OpeningHours.from_json({}, {}, "Mars/Olympus")
    with pytest.raises(HoursError, match="not a known time zone"):
        OpeningHours.from_json({}, {}, "../etc/passwd")
    with pytest.raises(HoursError, match="exception days are dates"):
        OpeningHours.from_json({}, {"2025-10-01": []}, "Asia/Shanghai")


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        OpeningHours.from_json(WEEKDAYS_9_TO_21).status(datetime(2025, 6, 9, 12, 0))


# --- open, closes at, opens next ------------------------------------------------------------------

def test_open_during_a_range_with_when_it_closes():
    hours = OpeningHours.from_json(WEEKDAYS_9_TO_21, {}, "Asia/Shanghai")
    assert hours.status(local(MONDAY, "12:00")) == OpeningStatus(True, utc(2025, 6, 9, 13, 0), None)
    assert hours.status(local(MONDAY, "09:00")).open_now  # a range includes its start ...
    assert not hours.status(local(MONDAY, "21:00")).open_now  # ... and not its end


def test_closed_with_when_it_opens_next_in_utc():
    hours = OpeningHours.from_json(WEEKDAYS_9_TO_21, {}, "Asia/Shanghai")
    assert hours.status(local(MONDAY, "07:00")) == OpeningStatus(False, None, utc(2025, 6, 9, 1, 0))
    assert hours.status(local(MONDAY, "22:00")).next_opens_at == local(MONDAY + timedelta(1), "09:00")
    friday_night = local(MONDAY + timedelta(4), "21:30")
    assert hours.status(friday_night).next_opens_at == local(MONDAY + timedelta(7), "09:00")  # after the weekend
    assert hours.status(friday_night).next_opens_at.tzinfo is UTC


def test_the_instant_may_come_in_any_zone():
    hours = OpeningHours.from_json(WEEKDAYS_9_TO_21, {}, "Asia/Shanghai")
    noon = local(MONDAY, "12:00")
    for zone in (UTC, ZoneInfo("America/Los_Angeles"), timezone(timedelta(hours=-3, minutes=-30))):
        assert hours.status(noon.astimezone(zone)) == hours.status(noon)


def test_an_overnight_range_belongs_to_the_day_it_starts_on():
    hours = OpeningHours.from_json({"fri": [["18:00", "02:00"]]})
    friday, saturday = MONDAY + timedelta(4), MONDAY + timedelta(5)
    assert hours.status(local(friday, "23:00")).closes_at == local(saturday, "02:00")
    assert hours.status(local(saturday, "01:59")).open_now
    assert not hours.status(local(saturday, "02:00")).open_now
    assert not hours.status(local(friday, "01:00")).open_now  # Thursday has no range running into Friday


def test_ranges_that_touch_across_midnight_are_one_opening():
    hours = OpeningHours.from_json({"mon": [["18:00", "24:00"]], "tue": [["00:00", "02:00"], ["10:00", "12:00"]]})
    tuesday = MONDAY + timedelta(1)
    assert hours.status(local(MONDAY, "20:00")).closes_at == local(tuesday, "02:00")
    assert hours.status(local(tuesday, "00:00")).open_now


def test_a_store_open_around_the_clock_never_closes_within_the_look_ahead():
    hours = OpeningHours.from_json({day: [["00:00", "24:00"]] for day in WEEKDAYS})
    assert hours.status(local(MONDAY, "03:00")) == OpeningStatus(True, None, None)


def test_a_store_with_no_hours_never_opens():
    assert OpeningHours.from_json({}).status(local(MONDAY, "12:00")) == OpeningStatus(False, None, None)


def test_the_next_opening_is_looked_for_14_days_ahead():
    opens_later = {MONDAY + timedelta(days): [["10:00", "12:00"]] for days in (LOOKAHEAD_DAYS, LOOKAHEAD_DAYS + 1)}
    hours = OpeningHours.from_json({}, opens_later)
    assert hours.status(local(MONDAY, "11:00")).next_opens_at == local(MONDAY + timedelta(LOOKAHEAD_DAYS), "10:00")
    assert hours.status(local(MONDAY, "13:00")).next_opens_at == local(MONDAY + timedelta(LOOKAHEAD_DAYS), "10:00")
    assert hours.status(local(MONDAY - timedelta(1), "13:00")).next_opens_at is None


def test_an_opening_that_is_the_last_in_the_look_ahead_still_says_when_it_closes():
    hours = OpeningHours.from_json({}, {MONDAY: [["10:00", "12:00"]]})
    assert hours.status(local(MONDAY, "11:00")) == OpeningStatus(True, local(MONDAY, "12:00"), None)


# --- exceptions and overnight tails ---------------------------------------------------------------

NIGHTS = {day: [["10:00", "14:00"], ["22:00", "02:00"]] for day in WEEKDAYS}


def test_a_closing_exception_removes_the_days_ranges_and_their_overnight_tail():
    holiday = MONDAY + timedelta(1)  # Tuesday
    hours = OpeningHours.from_json(NIGHTS, {holiday: []})
    wednesday = holiday + timedelta(1)
    assert not hours.status(local(holiday, "12:00")).open_now
    assert not hours.status(local(holiday, "23:00")).open_now
    assert not hours.status(local(wednesday, "01:00")).open_now  # Tuesday's tail went with Tuesday
    assert hours.status(local(holiday, "12:00")).next_opens_at == local(wednesday, "10:00")


def test_the_previous_days_overnight_tail_still_runs_into_a_closed_day():
    holiday = MONDAY + timedelta(1)
    hours = OpeningHours.from_json(NIGHTS, {holiday: []})
    assert hours.status(local(holiday, "01:00")) == OpeningStatus(True, local(holiday, "02:00"), None)
    # To close those hours too, marketing closes Monday night as well.
    both = OpeningHours.from_json(NIGHTS, {MONDAY: [["10:00", "14:00"]], holiday: []})
    assert not both.status(local(holiday, "01:00")).open_now


def test_an_exception_with_other_hours_replaces_the_days_ranges():
    short_day = MONDAY + timedelta(2)
    hours = OpeningHours.from_json(WEEKDAYS_9_TO_21, {short_day: [["11:00", "15:00"]]})
    assert not hours.status(local(short_day, "10:00")).open_now
    assert hours.status(local(short_day, "10:00")).next_opens_at == local(short_day, "11:00")
    assert hours.status(local(short_day, "14:00")).closes_at == local(short_day, "15:00")
    assert hours.is_open(local(short_day + timedelta(1), "10:00"))  # the next day is as usual


def test_an_exception_overlapping_the_previous_tail_makes_one_opening():
    late = MONDAY + timedelta(1)
    hours = OpeningHours.from_json({"mon": [["18:00", "03:00"]]}, {late: [["01:00", "05:00"]]})
    assert hours.status(local(late, "00:30")).closes_at == local(late, "05:00")


def test_an_exception_can_open_a_day_the_week_closes():
    sunday = MONDAY + timedelta(6)
    hours = OpeningHours.from_json(WEEKDAYS_9_TO_21, {sunday: [["10:00", "16:00"]]})
    assert hours.status(local(sunday, "12:00")).open_now
    assert hours.status(local(sunday - timedelta(1), "12:00")).next_opens_at == local(sunday, "10:00")


def test_the_one_off_helpers_agree_with_the_object():
    at = local(MONDAY, "12:00")
    assert is_open_at(WEEKDAYS_9_TO_21, {}, "Asia/Shanghai", at)
    assert not is_open_at(WEEKDAYS_9_TO_21, {MONDAY: []}, "Asia/Shanghai", at)
    assert opening_status(WEEKDAYS_9_TO_21, None, "Asia/Shanghai", at).closes_at == local(MONDAY, "21:00")


# --- daylight saving time (Europe/Berlin: 2025-03-30 02:00 -> 03:00, 2025-10-26 03:00 -> 02:00) --

SPRING = date(2025, 3, 30)  # a Sunday
AUTUMN = date(2025, 10, 26)  # a Sunday


def test_a_range_across_the_spring_forward_jump_is_an_hour_shorter():
    hours = OpeningHours.from_json({"sat": [["22:00", "04:00"]]}, {}, "Europe/Berlin")
    saturday = SPRING - timedelta(1)
    assert hours.status(local(saturday, "23:00", BERLIN)).closes_at == utc(2025, 3, 30, 2, 0)  # 04:00 CEST
    assert hours.is_open(utc(2025, 3, 30, 0, 59)) and hours.is_open(utc(2025, 3, 30, 1, 0))  # 01:59 CET, 03:00 CEST


def test_a_time_the_clock_skips_means_the_moment_it_jumps():
    opens_in_gap = OpeningHours.from_json({}, {SPRING: [["02:30", "06:00"]]}, "Europe/Berlin")
    assert opens_in_gap.status(utc(2025, 3, 29, 12, 0)).next_opens_at == utc(2025, 3, 30, 1, 0)  # 03:00 CEST
    assert not opens_in_gap.is_open(utc(2025, 3, 30, 0, 59))
    assert opens_in_gap.is_open(utc(2025, 3, 30, 1, 0))
    closes_in_gap = OpeningHours.from_json({}, {SPRING: [["01:00", "02:30"]]}, "Europe/Berlin")
    assert closes_in_gap.status(utc(2025, 3, 30, 0, 30)).closes_at == utc(2025, 3, 30, 1, 0)


def test_a_range_wholly_inside_the_skipped_hour_never_opens():
    hours = OpeningHours.from_json({}, {SPRING: [["02:10", "02:40"], ["10:00", "12:00"]]}, "Europe/Berlin")
    assert hours.status(utc(2025, 3, 30, 0, 0)) == OpeningStatus(False, None, utc(2025, 3, 30, 8, 0))
    assert not hours.is_open(utc(2025, 3, 30, 1, 0))


def test_a_repeated_time_means_its_first_occurrence():
    hours = OpeningHours.from_json({"sat": [["22:00", "02:30"]]}, {}, "Europe/Berlin")
    first_0215, second_0215 = local(AUTUMN, "02:15", BERLIN), local(AUTUMN, "02:15", BERLIN, fold=1)
    assert second_0215.timestamp() - first_0215.timestamp() == 3600  # the same wall time, an hour apart
    assert hours.status(first_0215) == OpeningStatus(True, utc(2025, 10, 26, 0, 30), None)  # 02:30 CEST
    assert not hours.is_open(second_0215)
    opens_on_repeat = OpeningHours.from_json({}, {AUTUMN: [["02:30", "05:00"]]}, "Europe/Berlin")
    assert opens_on_repeat.status(utc(2025, 10, 25, 12)).next_opens_at == utc(2025, 10, 26, 0, 30)


@pytest.mark.parametrize(("zone", "start"), [
    ("Europe/Berlin", utc(2025, 3, 29, 12)), ("Europe/Berlin", utc(2025, 10, 25, 12)),
    ("America/Santiago", utc(2025, 4, 5, 12)), ("America/Santiago", utc(2025, 9, 6, 12)),  # at midnight
    ("Australia/Lord_Howe", utc(2025, 4, 5, 0)),  # a half-hour shift
    ("Pacific/Apia", utc(2011, 12, 29, 0)),  # Samoa skipped 2011-12-30 entirely
])
def test_every_minute_around_a_clock_change_gives_a_consistent_answer(zone, start):
    weekly = {day: [["00:30", "01:30"], ["02:15", "02:45"], ["09:00", "12:00"], ["23:30", "00:30"]] for day in WEEKDAYS}
    hours = OpeningHours.from_json(weekly, {}, zone)
    for minute in range(0, 48 * 60, 5):
        check_consistent(hours, start + timedelta(minutes=minute))


def afresh(hours: OpeningHours) -> OpeningHours:
    """The same hours without the answers the object remembers (status() reuses its last one)."""
    return OpeningHours(hours._weekly, hours._exceptions, hours.zone)


def check_consistent(hours: OpeningHours, at: datetime) -> None:
    """What status() says about later instants matches what it says at them (each asked afresh)."""
    second = timedelta(seconds=1)
    status = afresh(hours).status(at)

    def is_open(instant: datetime) -> bool:  # a new object each time: no probe answered from the last
        return afresh(hours).is_open(instant)

    if status.open_now:
        assert status.next_opens_at is None
        if status.closes_at is not None:
            assert status.closes_at > at
            assert not is_open(status.closes_at)
            assert is_open(max(at, status.closes_at - second))
            assert is_open(at + (status.closes_at - at) / 2)
    else:
        assert status.closes_at is None
        if status.next_opens_at is not None:
            assert status.next_opens_at > at
            assert is_open(status.next_opens_at)
            assert not is_open(max(at, status.next_opens_at - second))
            assert not is_open(at + (status.next_opens_at - at) / 2)


# --- properties -----------------------------------------------------------------------------------

DAY = 24 * 60
HALF_HOURS = st.integers(0, 48)  # in half hours: 00:00 .. 24:00


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_ranges(draw) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) minutes of a day, the last maybe crossing midnight."""
    count = draw(st.integers(0, 3))
    points = sorted(draw(st.sets(HALF_HOURS, min_size=2 * count, max_size=2 * count)))
    ranges = [(points[2 * i] * 30, points[2 * i + 1] * 30) for i in range(count)]
    if ranges and ranges[-1][0] > 0 and draw(st.booleans()):
        start = ranges[-1][0]
        ranges[-1] = (start, DAY + draw(st.integers(0, start // 30 - 1)) * 30)  # ends next morning
    return ranges


def as_json(ranges: list[tuple[int, int]]) -> list[list[str]]:
    return [[hhmm(start), hhmm(end - DAY if end > DAY else end)] for start, end in ranges]


@st.composite
def schedules(draw) -> tuple[dict, dict[int, list[tuple[int, int]]]]:
    """A valid week (as JSON) and its ranges by weekday index; tails clipped to the next day's opening."""
    week = [draw(day_ranges()) for _ in WEEKDAYS]
    for index, ranges in enumerate(week):
        following = week[(index + 1) % 7]
        if ranges and ranges[-1][1] > DAY and following:
            start, end = ranges[-1]
            ranges[-1] = (start, min(end, DAY + following[0][0]))
    return {day: as_json(ranges) for day, ranges in zip(WEEKDAYS, week, strict=True)}, dict(enumerate(week))


def reference_status(week: dict[int, list], exceptions: dict[date, list], at: datetime) -> OpeningStatus:
    """Minute by minute over the look-ahead, for Asia/Shanghai (UTC+8 all year since 1991)."""
    wall = at.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8)
    today = wall.date()
    first = today - timedelta(days=1)
    minutes = bytearray((LOOKAHEAD_DAYS + 4) * DAY)  # from yesterday's midnight; 1 = open
    for offset in range(LOOKAHEAD_DAYS + 2):
        day = first + timedelta(days=offset)
        for start, end in exceptions.get(day, week[day.weekday()]):
            minutes[offset * DAY + start: offset * DAY + end] = b"\x01" * (end - start)
    now = DAY + wall.hour * 60 + wall.minute  # the minute containing ``at``

    def instant(index: int) -> datetime:
        return datetime.combine(first, datetime.min.time(), UTC) + timedelta(minutes=index, hours=-8)

    if minutes[now]:
        closes = minutes.index(0, now)
        return OpeningStatus(True, instant(closes) if closes < (LOOKAHEAD_DAYS + 2) * DAY else None, None)
    opens = minutes.find(1, now)
    return OpeningStatus(False, None, instant(opens) if opens >= 0 else None)


INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=schedules(), at=INSTANTS, exception_days=st.dictionaries(st.integers(-2, 4), day_ranges(), max_size=3),
       shown_offset=st.integers(-12 * 4, 14 * 4))
def test_status_agrees_with_a_minute_by_minute_reference(schedule, at, exception_days, shown_offset):
    weekly_json, week = schedule
    today = (at + timedelta(hours=8)).date()
    exceptions = {today + timedelta(days=shift): ranges for shift, ranges in exception_days.items()}
    hours = OpeningHours.from_json(weekly_json, {day: as_json(r) for day, r in exceptions.items()}, "Asia/Shanghai")
    shown = at.astimezone(timezone(timedelta(minutes=15 * shown_offset)))  # the caller's zone does not matter
    assert hours.status(shown) == reference_status(week, exceptions, at)


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), at=INSTANTS, zone=st.sampled_from(["Europe/Berlin", "America/New_York",
                                                                "Australia/Lord_Howe", "America/Santiago"]))
def test_status_is_consistent_in_zones_with_daylight_saving(schedule, at, zone):
    check_consistent(OpeningHours.from_json(schedule[0], {}, zone), at)


@settings(max_examples=200)
@given(schedule=schedules())
def test_normalizing_twice_changes_nothing(schedule):
    once = normalize_weekly_hours(schedule[0])
    assert normalize_weekly_hours(once) == once


GAPS = st.lists(st.integers(1, 3 * 24 * 3600), min_size=1, max_size=40)  # seconds between questions


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=schedules(), start=INSTANTS, gaps=GAPS, exception_days=st.dictionaries(
    st.integers(-2, 6), day_ranges(), max_size=3), zone=st.sampled_from(
    ["Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe"]))
def test_asking_one_schedule_again_and_again_answers_as_asking_afresh(schedule, start, gaps, exception_days, zone):
    today = start.astimezone(ZoneInfo(zone)).date()
    exceptions = {today + timedelta(days=shift): as_json(ranges) for shift, ranges in exception_days.items()}
    hours = OpeningHours.from_json(schedule[0], exceptions, zone)
    at = start
    for gap in gaps:
        answer = hours.status(at)
        assert answer == afresh(hours).status(at)
        change = answer.closes_at or answer.next_opens_at
        if change is not None:  # the edges of the remembered answer: just before and at the change
            assert hours.status(change - timedelta(seconds=1)) == afresh(hours).status(change - timedelta(seconds=1))
            assert hours.status(change) == afresh(hours).status(change)
        at += timedelta(seconds=gap)


def test_a_shared_schedule_is_computed_once_until_its_status_changes():
    hours = OpeningHours.from_json({day: [["09:00", "21:00"]] for day in WEEKDAYS}, {}, "Asia/Shanghai")
    morning = hours.status(local(MONDAY, "10:00"))
    assert hours.status(local(MONDAY, "15:30")) is morning  # the same answer, not recomputed
    evening = hours.status(local(MONDAY, "21:00"))
    assert evening == OpeningStatus(False, None, local(MONDAY + timedelta(days=1), "09:00"))
    assert hours.status(local(MONDAY, "10:00")) == morning  # an earlier instant is computed again
