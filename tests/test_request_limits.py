"""Input that costs or crashes: long lists, deep or huge JSON, unknown query parameters.

Each is refused with the usual JSON error before it costs anything, and none is a 500.
"""

from __future__ import annotations

import marshmallow as ma
import pytest

from shop.auth import Role
from shop.fields import BoundedList
from shop.query_args import _parameters
from tests.conftest import bearer


def _list_fields(schema: ma.Schema, path: str = ""):
    """Every List field a schema loads, nested schemas and inner lists included, with its path."""
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        yield from _field_lists(field, f"{path}{name}")


def _field_lists(field: ma.fields.Field, path: str):
    if isinstance(field, ma.fields.List):
        yield path, field
        yield from _field_lists(field.inner, f"{path}[]")
    elif isinstance(field, ma.fields.Nested):
        yield from _list_fields(field.schema, f"{path}.")
    elif isinstance(field, ma.fields.Dict) and field.value_field is not None:
        yield from _field_lists(field.value_field, f"{path}{{}}")


def _argument_schemas(app):
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        functions = [getattr(view_class, m.lower()) for m in view_class.methods] if view_class else [view]
        for function in functions:
            for parameter in _parameters(function):
                schema = parameter["schema"]
                yield endpoint, schema() if isinstance(schema, type) else schema


def test_every_list_the_api_accepts_is_bounded_before_its_elements_are_read(app):
    unbounded = sorted({f"{endpoint}: {path}" for endpoint, schema in _argument_schemas(app)
                        for path, field in _list_fields(schema) if not isinstance(field, BoundedList)})
    assert unbounded == []
    assert any(True for _ in _argument_schemas(app))  # the walk sees the API's schemas at all


def test_a_list_of_twenty_five_thousand_items_is_refused_at_once_with_a_short_answer(client, login, monkeypatch):
    token = login("flooder:1")["token"]
    body = {"items": [{"sku_id": "x", "quantity": "y"}] * 25_000, "fulfilment": "pickup", "store_id": 1}
    elements_read = []
    read_element = ma.fields.Nested._deserialize

    def counted(field, *args, **kwargs):
        elements_read.append(field.name)
        return read_element(field, *args, **kwargs)

    monkeypatch.setattr(ma.fields.Nested, "_deserialize", counted)
    response = client.post("/api/v1/orders/preview", json=body, headers=bearer(token))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"items": ["Longer than maximum length 50."]}
    assert len(response.get_data()) < 1000
    assert len(elements_read) < 50  # refused by its length, not after reading its 25,000 items (that took seconds)


def test_an_error_answer_shows_the_first_twenty_fields_and_counts_the_rest(client, login):
    token = login("sloppy:1")["token"]
    body = {"items": [{"sku_id": "x", "quantity": "y"}] * 30, "fulfilment": "pickup", "store_id": 1}
    answer = client.post("/api/v1/orders/preview", json=body, headers=bearer(token)).get_json()
    shown = answer["errors"]["items"]
    assert sum(len(fields) for fields in shown.values()) == 20
    assert answer["errors_total"] == 60


@pytest.mark.parametrize("body", [
    b"[" * 5000 + b"]" * 5000,
    b'{"code": ' + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}",
    b'{"code": ' + b"[" * 20 + b'"x"' + b"]" * 20 + b"}",
    b'{"code": "x", "scene": ' + b"9" * 5000 + b"}",
    b'{"code": "x", "scene": 1e999}',
], ids=["deep-array", "deep-object", "deeper-than-we-read", "huge-integer", "infinite-number"])
def test_json_that_crashed_parsers_is_a_400_even_before_login(client, body):
    response = client.post("/api/v1/auth/wechat-login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_ordinary_nesting_still_reads(client, login):
    token = login("nester:1")["token"]
    body = {"items": [{"sku_id": 1, "quantity": 1}], "fulfilment": "delivery",
            "address": {"name": "A", "phone": "13800000000", "province": "Shanghai", "city": "Shanghai",
                        "district": "Huangpu", "detail": "1 Road"}}
    response = client.post("/api/v1/orders/preview", json=body, headers=bearer(token))
    assert response.status_code != 400, response.get_json()


@pytest.mark.parametrize(("path", "query"), [
    ("/api/v1/stores/nearby", "lat=31.2&lng=121.4&radius=100"),
    ("/api/v1/products", "category=3"),
    ("/api/v1/categories", "page=1"),
])
def test_an_unknown_query_parameter_is_refused_naming_it(client, path, query):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {query.split("&")[-1].split("=")[0]}


def test_an_endpoint_without_query_arguments_refuses_any(client, login, staff_token):
    token = login("curious:1")["token"]
    response = client.get("/api/v1/me?debug=1", headers=bearer(token))
    assert (response.status_code, response.get_json()["errors"]) == (422, {"debug": ["Unknown parameter."]})
    admin = staff_token(Role.ADMIN)
    assert client.get("/api/v1/admin/stores?page=1&page_size=5", headers=admin).status_code == 200


def test_a_nul_character_in_a_search_is_refused_before_it_reaches_the_database(client, staff_token):
    admin = staff_token(Role.ADMIN)
    for path in ("/api/v1/admin/members?q=a%00b", "/api/v1/products?q=a%00b", "/api/v1/admin/stores?q=%00"):
        response = client.get(path, headers=admin)
        assert response.status_code == 422, path
        assert response.get_json()["errors"]["q"] in (["Contains a NUL character."],
                                                     ["Control characters are not allowed."])
