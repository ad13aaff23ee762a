"""The nearby search's quick argument path answers exactly as webargs and marshmallow would."""

from __future__ import annotations

from urllib.parse import urlencode

import marshmallow as ma
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import UnprocessableEntity

from shop.query_args import QuickQueryArgs, QuickQueryParser
from shop.stores.schemas import NearbyArgs

KEYS = ("lat", "lng", "coord", "radius_m", "limit", "open_now", "service", "product_id", "page", "LAT")
VALUES = st.one_of(
    st.decimals(min_value=-200, max_value=200, places=6, allow_nan=False).map(str),
    st.integers(min_value=-10, max_value=60_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " 31.2", "31.2 ", "1e3", "0x10", "1_000", "+5", "-0", "00031.5", ".5", "5.", "true",
                     "false", "True", "1", "0", "on", "yes", "maybe", "gcj02", "wgs84", "GCJ02", "pickup",
                     "dine_in", "delivery", "spa", "Infinity", "nan", "٣١", "31.2 OR 1=1"]),
)
QUERIES = st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=10)
WELL_FORMED = st.fixed_dictionaries(
    {"lat": st.decimals(min_value=-85, max_value=85, places=6).map(str),
     "lng": st.decimals(min_value=-180, max_value=180, places=6).map(str)},
    optional={"coord": st.sampled_from(["gcj02", "wgs84"]), "radius_m": st.integers(0, 50_000).map(str),
              "limit": st.integers(1, 50).map(str), "open_now": st.sampled_from(["true", "false", "1", "0"]),
              "service": st.sampled_from(["pickup", "dine_in", "delivery"]),
              "product_id": st.integers(1, 10**9).map(str)})


def parsed(app, parser, pairs) -> tuple[str, object]:
    """("ok", arguments) or ("422", the error messages) of parsing ``pairs`` as the nearby query."""
    with app.test_request_context("/api/v1/stores/nearby", query_string=urlencode(pairs)):
        try:
            return "ok", parser.parse(NearbyArgs(), location="query")
        except UnprocessableEntity as error:
            return "422", error.data["messages"]


@settings(max_examples=400, deadline=None)
@given(pairs=QUERIES)
def test_any_query_parses_to_what_webargs_gives(app, pairs):
    assert parsed(app, QuickQueryParser(), pairs) == parsed(app, FlaskParser(), pairs)


@settings(max_examples=300, deadline=None)
@given(query=WELL_FORMED)
def test_a_well_formed_query_takes_the_quick_path_to_the_same_arguments(query):
    quick = NearbyArgs().quick_load(MultiDict(query))
    assert quick is not None
    assert quick == NearbyArgs().load(query)


def test_defaults_and_the_wgs84_conversion_apply_on_the_quick_path():
    assert NearbyArgs().quick_load(MultiDict({"lat": "31.2304", "lng": "121.4737"})) == {
        "lat": 31.2304, "lng": 121.4737, "radius_m": 5000, "limit": 20, "open_now": False, "service": None,
        "product_id": None}
    converted = NearbyArgs().quick_load(MultiDict({"lat": "31.2304", "lng": "121.4737", "coord": "wgs84"}))
    assert converted["lat"] != 31.2304 and "coord" not in converted


@pytest.mark.parametrize("query", [{"lng": "121"}, {"lat": "1e3", "lng": "121"}, {"lat": "91", "lng": "121"},
                                   {"lat": "31", "lng": "121", "open_now": "maybe"}])
def test_anything_the_quick_path_is_unsure_of_goes_to_marshmallow(query):
    assert NearbyArgs().quick_load(MultiDict(query)) is None


class Checked(QuickQueryArgs):
    q = ma.fields.String(load_default=None)

    @ma.validates("q")
    def no_spaces(self, value, **kwargs):
        if value and " " in value:
            raise ma.ValidationError("no spaces")


class Listed(QuickQueryArgs):
    ids = ma.fields.List(ma.fields.Integer(), load_default=list)


class Strict(QuickQueryArgs):
    n = ma.fields.Integer(strict=True, load_default=1)


class Refusing(QuickQueryArgs):
    n = ma.fields.Integer(load_default=1)

    @ma.post_load
    def odd_only(self, data, **kwargs):
        if data["n"] % 2 == 0:
            raise ma.ValidationError("odd numbers only", "n")
        return data


@pytest.mark.parametrize("schema", [Checked(), Listed(), Strict()])
def test_schemas_beyond_the_quick_path_always_take_the_full_one(schema):
    assert schema.quick_load(MultiDict({})) is None


def test_a_post_load_that_refuses_leaves_the_error_to_marshmallow():
    assert Refusing().quick_load(MultiDict({"n": "3"})) == {"n": 3}
    assert Refusing().quick_load(MultiDict({"n": "4"})) is None


def test_the_nearby_endpoint_reads_a_well_formed_query_on_the_quick_path(client, monkeypatch):
    def full_path(*args, **kwargs):
        raise AssertionError("a well-formed nearby query went through webargs")

    monkeypatch.setattr(FlaskParser, "parse", full_path)  # what QuickQueryParser falls back to
    response = client.get("/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=2000&open_now=true")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"] == []
