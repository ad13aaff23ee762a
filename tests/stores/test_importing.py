"""The stores CSV: clean rows, every error with the line a spreadsheet shows, and the hours grammar."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.stores import importing
from shop.stores.coordinates import wgs84_to_gcj02
from shop.stores.hours import HoursError
from shop.stores.importing import LineError, parse_hours_spec, parse_stores_csv
from shop.stores.schemas import STORE_CODE_RULE

HEADER = "code,name,address,city,district,lat,lng,phone,timezone,services,status,hours"
GOOD = (
    HEADER + "\n"
    'SH001,People\'s Square,"1 Nanjing Rd, Huangpu",Shanghai,Huangpu,31.2304,121.4737,021-6312 3456,'
    'Asia/Shanghai,pickup|dine_in,open,"mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00"\n'
    "BJ001,Wangfujing,88 Wangfujing St,Beijing,,39.9139,116.4100,,,delivery;pickup,,daily 10:00-22:00\n"
    "GZ001,Tianhe (closed for works),1 Tianhe Rd,Guangzhou,Tianhe,23.1324,113.3241,,,,closed,\n"
)
FIELDS = HEADER.split(",")
BASE_ROW = {"code": "S1", "name": "Store", "address": "1 Road", "city": "Shanghai", "district": "", "lat": "31.23",
            "lng": "121.47", "phone": "", "timezone": "", "services": "", "status": "", "hours": "daily 09:00-21:00"}


def csv_of(*rows: dict[str, str], header: str = HEADER) -> str:
    """A file with these rows under the header; values are quoted."""
    names = header.split(",")
    lines = [header] + [",".join('"' + row.get(name, "").replace('"', '""') + '"' for name in names) for row in rows]
    return "\n".join(lines) + "\n"


def one_row_errors(**changes: str) -> list[LineError]:
    """The errors of a file with one store: the good row with these changes."""
    result = parse_stores_csv(csv_of({**BASE_ROW, **changes}))
    assert len(result.rows) == (0 if result.errors else 1)
    return result.errors


# --- a good file --------------------------------------------------------------------------------

def test_a_good_file_gives_clean_rows_for_the_store_model():
    result = parse_stores_csv(GOOD)
    assert result.errors == [] and result.ok
    assert result.lines == [2, 3, 4]
    first, second, third = result.rows
    assert first == {
        "code": "SH001", "name": "People's Square", "address": "1 Nanjing Rd, Huangpu", "city": "Shanghai",
        "district": "Huangpu", "lat": 31.2304, "lng": 121.4737, "phone": "021-6312 3456",
        "timezone": "Asia/Shanghai", "services": ["dine_in", "pickup"], "status": "open",
        "weekly_hours": {
            **{day: [["09:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "sat": [["10:00", "22:00"], ["23:00", "02:00"]], "sun": [["10:00", "22:00"], ["23:00", "02:00"]],
        },
    }
    assert second["district"] is None and second["phone"] is None
    assert second["timezone"] == "Asia/Shanghai" and second["status"] == "open"
    assert second["services"] == ["delivery", "pickup"]
    assert second["weekly_hours"] == {day: [["10:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert third["status"] == "closed" and third["weekly_hours"] == {} and third["services"] == []


def test_the_header_is_matched_case_insensitively_in_any_order_and_optional_columns_may_be_left_out():
    text = "LNG, Lat ,City,Address,Name,CODE,Hours\n121.47,31.23,Shanghai,1 Road,Store,S1,daily 09:00-21:00\n"
    result = parse_stores_csv(text)
    assert result.errors == []
    assert result.rows[0]["code"] == "S1" and result.rows[0]["lat"] == 31.23 and result.rows[0]["lng"] == 121.47


def test_a_bom_and_crlf_line_ends_are_fine():
    text = "\ufeff" + GOOD.replace("\n", "\r\n")
    result = parse_stores_csv(text)
    assert result.errors == [] and [row["code"] for row in result.rows] == ["SH001", "BJ001", "GZ001"]
    assert result.rows[0]["code"] == "SH001"  # not "\ufeffSH001" nor a BOM in the header


def test_values_are_stripped_and_blank_lines_are_skipped_but_counted():
    text = HEADER + "\n\n ,  ,,,,,,,,,,\n" + "  S1 , Store ,1 Road,Shanghai,,31.23,121.47,,,,,daily 9:00-21:00\nS2,,,,,,,,,,,\n"
    result = parse_stores_csv(text)
    assert result.rows[0]["code"] == "S1" and result.rows[0]["name"] == "Store"
    assert result.lines == [4]
    assert {error.line for error in result.errors} == {5}


def test_a_value_spanning_lines_inside_quotes_is_one_spreadsheet_row():
    text = HEADER + '\nS1,Store,"1 Road\nBuilding 2",Shanghai,,31.23,121.47,,,,,daily 09:00-21:00\nS2,,,,,,,,,,,\n'
    result = parse_stores_csv(text)
    assert result.rows[0]["address"] == "1 Road Building 2"  # a line break in a cell becomes a space
    assert {error.line for error in result.errors} == {3}


# --- coordinates --------------------------------------------------------------------------------

def test_wgs84_coordinates_are_converted_to_gcj02():
    header = HEADER + ",coord"
    result = parse_stores_csv(csv_of({**BASE_ROW, "lat": "39.915", "lng": "116.404", "coord": "WGS84"},
                                     {**BASE_ROW, "code": "S2", "lat": "39.915", "lng": "116.404", "coord": "gcj02"},
                                     {**BASE_ROW, "code": "S3", "lat": "39.915", "lng": "116.404"}, header=header))
    assert result.errors == []
    converted, as_given, default = result.rows
    assert (converted["lat"], converted["lng"]) == wgs84_to_gcj02(39.915, 116.404)
    assert converted["lat"] == pytest.approx(39.91640428, abs=1e-7)
    assert (as_given["lat"], as_given["lng"]) == (default["lat"], default["lng"]) == (39.915, 116.404)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"lat": ""}, "lat", "required"),
    ({"lat": "abc"}, "lat", "'abc' is not a decimal number of degrees"),
    ({"lat": "nan"}, "lat", "'nan' is not a decimal number of degrees"),
    ({"lng": "inf"}, "lng", "'inf' is not a decimal number of degrees"),
    ({"lat": "1e1"}, "lat", "'1e1' is not a decimal number of degrees"),
    ({"lat": "31,23"}, "lat", "'31,23' is not a decimal number of degrees"),
    ({"lat": "90.0001"}, "lat", "90.0001 is outside -85.0511..85.0511"),
    ({"lat": "-91"}, "lat", "-91 is outside -85.0511..85.0511"),
    ({"lat": "85.06"}, "lat", "85.06 is outside -85.0511..85.0511"),  # a number, but the index cannot place it
    ({"lng": "180.5"}, "lng", "180.5 is outside -180..180"),
    ({"coord": "bd09"}, "coord", "'bd09' is not one of gcj02, wgs84"),
])
def test_bad_coordinates_are_reported(changes, field, message):
    header = HEADER + ",coord"
    result = parse_stores_csv(csv_of({**BASE_ROW, **changes}, header=header))
    assert result.errors == [LineError(2, field, message)]
    assert result.rows == []


# --- every kind of bad row -----------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"code": ""}, "code", "required"),
    ({"name": ""}, "name", "required"),
    ({"address": ""}, "address", "required"),
    ({"city": ""}, "city", "required"),
    ({"code": "C" * 65}, "code", "longer than 64 characters (65)"),
    ({"name": "N" * 129}, "name", "longer than 128 characters (129)"),
    ({"address": "A" * 256}, "address", "longer than 255 characters (256)"),
    ({"city": "C" * 65}, "city", "longer than 64 characters (65)"),
    ({"district": "D" * 65}, "district", "longer than 64 characters (65)"),
    ({"phone": "1" * 33}, "phone", "longer than 32 characters (33)"),
    ({"phone": "call us"}, "phone", "Not a phone number (digits, spaces, + - ( ) only)."),  # the admin API's rule
    ({"code": "SH 001"}, "code", "Not a store code: " + STORE_CODE_RULE + "."),  # the admin API's rule
    ({"code": "门店1"}, "code", "Not a store code: " + STORE_CODE_RULE + "."),
    ({"name": "Store\x00"}, "name", "has a control character"),
    ({"timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not a time zone name like Asia/Shanghai"),
    ({"services": "pickup|teleport"}, "services", "'teleport' is not one of pickup, dine_in, delivery"),
    ({"status": "gone"}, "status", "'gone' is not one of open, closed, suspended"),
    ({"hours": ""}, "hours", "required unless status is closed"),
    ({"hours": "", "status": "suspended"}, "hours", "required unless status is closed"),
    ({"hours": "mon 09:00-25:00"}, "hours", "mon: '25:00' is not a time HH:MM (00:00-23:59 or 24:00)"),
    ({"hours": "mon 09:00-13:00,12:00-18:00"}, "hours", "mon: range 12:00-18:00 overlaps 09:00-13:00"),
    ({"hours": "fri 22:00-03:00; sat 02:00-10:00"}, "hours", "fri: range 22:00-03:00 runs into sat's 02:00-10:00"),
    ({"hours": "someday 09:00-10:00"}, "hours", "'someday' is not a day or a day range like mon-fri"),
    ({"hours": "mon-fri 09:00-21:00; fri 10:00-12:00"}, "hours", "fri is given more than once"),
    ({"hours": "09:00-21:00"}, "hours", "'09:00-21:00' is not days then times, like 'mon-fri 09:00-21:00'"),
])
def test_each_bad_value_is_reported_on_its_line_and_column(changes, field, message):
    assert one_row_errors(**changes) == [LineError(2, field, message)]


def test_every_error_of_every_line_is_reported_in_column_order():
    text = csv_of(
        BASE_ROW,
        {**BASE_ROW, "code": "S2", "name": "", "lat": "100", "status": "gone", "hours": "mon 9-5"},
        {**BASE_ROW, "code": "S3"},
        {**BASE_ROW, "code": "S4", "city": "", "services": "fly"},
    )
    result = parse_stores_csv(text)
    assert [(error.line, error.field) for error in result.errors] == [
        (3, "name"), (3, "lat"), (3, "status"), (3, "hours"), (5, "city"), (5, "services")]
    assert [row["code"] for row in result.rows] == ["S1", "S3"] and result.lines == [2, 4]
    assert not result.ok


def test_a_repeated_code_is_an_error_on_the_later_line():
    result = parse_stores_csv(csv_of(BASE_ROW, {**BASE_ROW, "code": "S2"}, BASE_ROW, {**BASE_ROW, "name": ""}))
    assert result.errors == [
        LineError(4, "code", "'S1' is already used on line 2"),
        LineError(5, "code", "'S1' is already used on line 2"),
        LineError(5, "name", "required"),
    ]
    assert [row["code"] for row in result.rows] == ["S1", "S2"]


def test_a_line_with_more_values_than_columns_is_refused_but_a_short_one_is_padded():
    text = HEADER + "\nS1,Store,1 Road,Shanghai,,31.23,121.47,,,,,daily 09:00-21:00,surprise\n" \
                    "S2,Store,1 Road,Shanghai,,31.23,121.47,,,,closed\n" \
                    "S3,Store,1 Road,Shanghai,,31.23,121.47,,,,,daily 09:00-21:00,,\n"
    result = parse_stores_csv(text)
    assert result.errors == [LineError(2, None, "13 values but the header has 12 columns")]
    assert [row["code"] for row in result.rows] == ["S2", "S3"]


def test_closed_and_suspended_statuses_and_a_closed_store_without_hours():
    result = parse_stores_csv(csv_of({**BASE_ROW, "status": "CLOSED", "hours": ""},
                                     {**BASE_ROW, "code": "S2", "status": "Suspended"}))
    assert result.errors == []
    assert [(row["status"], row["weekly_hours"] == {}) for row in result.rows] == [("closed", True), ("suspended", False)]


def test_time_zones_are_matched_case_insensitively_and_default_to_shanghai():
    result = parse_stores_csv(csv_of({**BASE_ROW, "timezone": "asia/hong_kong"}, {**BASE_ROW, "code": "S2"},
                                     {**BASE_ROW, "code": "S3", "timezone": "Europe/Berlin"}))
    assert [row["timezone"] for row in result.rows] == ["Asia/Hong_Kong", "Asia/Shanghai", "Europe/Berlin"]


def test_services_take_either_separator_once_each_sorted_as_the_api_keeps_them():
    result = parse_stores_csv(csv_of({**BASE_ROW, "services": " Delivery ; dine-in| pickup |delivery;"}))
    assert result.rows[0]["services"] == ["delivery", "dine_in", "pickup"]


# --- the header and the file as a whole ----------------------------------------------------------

@pytest.mark.parametrize(("header", "expected"), [
    ("code,name,address,city,lat", [LineError(1, "lng", "required column 'lng' is missing")]),
    ("code,name,address,city,lat,lng,opening", [LineError(1, "opening", "unknown column 'opening'; expected "
                                                 + ", ".join(importing.COLUMNS))]),
    ("code,name,address,city,lat,lng,Name", [LineError(1, "name", "column 'name' appears twice")]),
    ("code,,name,address,city,lat,lng", [LineError(1, None, "unknown column with no name (column 2); expected "
                                           + ", ".join(importing.COLUMNS))]),
])
def test_a_bad_header_is_an_error_on_line_1_and_no_row_is_read(header, expected):
    result = parse_stores_csv(header + "\nS1,Store,1 Road,Shanghai,31.23,121.47,x\n")
    assert result.errors == expected and result.rows == []


def test_trailing_empty_header_cells_are_ignored():
    result = parse_stores_csv(HEADER + ",,\n" + "S1,Store,1 Road,Shanghai,,31.23,121.47,,,,,daily 09:00-21:00,,\n")
    assert result.errors == [] and len(result.rows) == 1


def test_an_empty_file_or_one_without_a_header_is_an_error_on_line_1():
    for text in ("", "\ufeff", "\n\n", ",,,\n"):
        result = parse_stores_csv(text)
        assert [(error.line, error.field) for error in result.errors] == [(1, None)], text
        assert "it must be the header" in result.errors[0].message


def test_a_header_alone_is_an_empty_import():
    assert parse_stores_csv(HEADER + "\r\n") == importing.CsvParseResult()


def test_broken_quoting_is_reported_on_its_line_and_ends_the_reading():
    text = csv_of(BASE_ROW) + 'S2,"Store"x,1 Road,Shanghai,,31.23,121.47,,,,,daily 09:00-21:00\n' + csv_of(
        {**BASE_ROW, "code": "S3"}).split("\n", 1)[1]
    result = parse_stores_csv(text)
    assert [row["code"] for row in result.rows] == ["S1"]
    assert len(result.errors) == 1 and result.errors[0].line == 3 and result.errors[0].field is None
    assert result.errors[0].message.startswith("the CSV cannot be read from here on")


def test_more_than_the_row_limit_is_one_error(monkeypatch):
    assert importing.MAX_ROWS == 20_000
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    rows = [{**BASE_ROW, "code": f"S{index}"} for index in range(5)]
    result = parse_stores_csv(csv_of(*rows))
    assert result.errors == [LineError(5, None, "a file holds at most 3 stores; split it")]


def test_a_full_size_file_is_read_in_reasonable_time():
    rows = "".join(f"S{index},Store {index},{index} Road,Shanghai,,31.23,121.47,,,pickup,,mon-fri 09:00-21:00\n"
                   for index in range(importing.MAX_ROWS + 1))
    result = parse_stores_csv(HEADER + "\n" + rows)
    assert len(result.rows) == importing.MAX_ROWS
    assert result.errors == [LineError(importing.MAX_ROWS + 2, None, "a file holds at most 20000 stores; split it")]


@settings(max_examples=300)
@given(st.lists(st.sampled_from([*',"\r\n\ufeff;|:- abcode0123456789\x00', "mon", "daily", "09:00", "wgs84"]),
               max_size=120).map("".join))
def test_any_text_gives_errors_never_an_exception(tail):
    result = parse_stores_csv(HEADER + "\n" + tail)
    assert isinstance(result.errors, list) and len(result.rows) == len(result.lines)
    result = parse_stores_csv(tail)
    assert isinstance(result.errors, list)


# --- the hours grammar ---------------------------------------------------------------------------

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.mark.parametrize(("spec", "expected"), [
    ("mon-fri 09:00-21:00; sat,sun 10:00-22:00,23:00-02:00",
     {**{day: [["09:00", "21:00"]] for day in WEEK[:5]},
      **{day: [["10:00", "22:00"], ["23:00", "02:00"]] for day in WEEK[5:]}}),
    ("daily 10:00-22:00", {day: [["10:00", "22:00"]] for day in WEEK}),
    ("fri-mon 18:00-02:00", {day: [["18:00", "02:00"]] for day in ("mon", "fri", "sat", "sun")}),
    ("Mon - Wed 9:00 - 17:30 ; Thu,  Fri 9:00-12:00, 13:00-24:00;", {
        **{day: [["09:00", "17:30"]] for day in WEEK[:3]},
        **{day: [["09:00", "12:00"], ["13:00", "24:00"]] for day in WEEK[3:5]}}),
    ("daily 09:00-21:00", {day: [["09:00", "21:00"]] for day in WEEK}),
    ("mon-sat 09:00-21:00; sun closed", {day: [["09:00", "21:00"]] for day in WEEK[:6]}),
    ("mon 22:00-00:00", {"mon": [["22:00", "24:00"]]}),
    ("mon-fri 09:00～21:00；sat，sun 10：00~22：00", {
        **{day: [["09:00", "21:00"]] for day in WEEK[:5]}, **{day: [["10:00", "22:00"]] for day in WEEK[5:]}}),
    ("", {}),
])
def test_the_hours_grammar(spec, expected):
    assert parse_hours_spec(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("mon", "'mon' is not days then times"),
    ("monday 09:00-21:00", "'monday' is not a day or a day range like mon-fri"),
    ("mon-someday 09:00-21:00", "'mon-someday' is not a day"),
    ("mon 9-21", "'9-21' is not a time range like 09:00-21:00"),
    ("mon 09:00-21:00,", "'' is not a time range"),
    ("mon 09:00", "'09:00' is not a time range"),
    ("daily 09:00-21:00; sun closed", "sun is given more than once"),
    ("mon 09:00-12:00,10:00-13:00,14:00-15:00", "mon: range 10:00-13:00 overlaps 09:00-12:00"),
    ("mon 01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00", "mon: at most 4 ranges a day, got 5"),
])
def test_the_hours_grammar_refuses_what_it_cannot_read(spec, message):
    with pytest.raises(HoursError) as refused:
        parse_hours_spec(spec)
    assert message in str(refused.value)
