"""One vocabulary (shop/fields.py): every text a shop endpoint takes refuses control characters under one
rule, multiline text keeps tab, LF and CR everywhere, and an id beyond what a row can have is the app's
JSON 404 on every path that takes one."""

from __future__ import annotations

from collections.abc import Iterator

import marshmallow as ma
import pytest

from shop.auth import Role
from shop.database import MAX_ID
from shop.fields import IdConverter, text
from shop.query_args import _parameters
from tests.conftest import bearer

# Secrets are hashed and compared, never stored or shown as text: any character may be part of one.
SECRETS = {"password", "current_password", "new_password"}
CONTROL_CHARACTERS = ("a\x00b", "a\x1bb")
# Texts with a rule of their own that a control character cannot pass (answered with their own code).
OWN_RULES = {"OpenArgs.scene"}  # referral's scene charset: 422 scene_invalid


def _argument_schemas(app) -> Iterator[tuple[str, ma.Schema]]:
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        if not (view_class or view).__module__.startswith(("shop.", "coupons.", "referral.")):
            continue
        functions = [getattr(view_class, m.lower()) for m in view_class.methods] if view_class else [view]
        for function in functions:
            for parameter in _parameters(function):
                schema = parameter["schema"]
                yield endpoint, schema() if isinstance(schema, type) else schema


def _string_paths(schema: ma.Schema) -> Iterator[tuple[str, object]]:
    """(top-level key, a body putting ``{}`` where a string goes) for each string the schema loads."""
    for name, field in schema.fields.items():
        if field.dump_only or name in SECRETS:
            continue
        key = field.data_key or name
        for shape in _string_shapes(field):
            yield key, shape


def _string_shapes(field: ma.fields.Field) -> Iterator[object]:
    if isinstance(field, ma.fields.String):
        yield "{}"
    elif isinstance(field, ma.fields.List):
        yield from ([shape] for shape in _string_shapes(field.inner))
    elif isinstance(field, ma.fields.Nested):
        for key, shape in _string_paths(field.schema):
            yield {key: shape}
    elif isinstance(field, ma.fields.Dict):
        if field.key_field is not None:
            yield from ({shape: "x"} for shape in _string_shapes(field.key_field) if isinstance(shape, str))
        if field.value_field is not None:
            yield from ({"k": shape} for shape in _string_shapes(field.value_field))


def _fill(shape: object, value: str) -> object:
    if isinstance(shape, str):
        return shape.replace("{}", value)
    if isinstance(shape, list):
        return [_fill(item, value) for item in shape]
    return {_fill(key, value): _fill(item, value) for key, item in shape.items()}


def test_every_text_an_endpoint_takes_refuses_control_characters(app):
    accepted = []
    walked = 0
    for endpoint, schema in _argument_schemas(app):
        for key, shape in _string_paths(schema):
            if f"{type(schema).__name__}.{key}" in OWN_RULES:
                continue
            walked += 1
            for typed in CONTROL_CHARACTERS:
                try:
                    schema.load({key: _fill(shape, typed)}, partial=True, unknown=ma.EXCLUDE)
                except ma.ValidationError as error:
                    if key in error.messages:
                        continue
                accepted.append(f"{endpoint} {type(schema).__name__}.{key} {shape} with {typed!r}")
    assert accepted == []
    assert walked > 40  # the walk sees the shop's text fields at all


@pytest.mark.parametrize("typed", ["\x00", "\x07", "\x1b[2J", "\x7f", "\x9b", "\r", "\n", "\t"])
def test_one_line_text_refuses_every_control_character(typed):
    field = text(32)
    with pytest.raises(ma.ValidationError, match="Control characters are not allowed"):
        field.deserialize(f"a{typed}b")


@pytest.mark.parametrize("typed", ["\x00", "\x1b", "\x0b", "\x0c", "\x7f", "\x85", "\x9b"])
def test_multiline_text_refuses_control_characters_other_than_tab_and_line_breaks(typed):
    with pytest.raises(ma.ValidationError, match="other than tab and line breaks"):
        text(32, multiline=True).deserialize(f"a{typed}b")


def test_multiline_text_keeps_tab_lf_and_the_crlf_a_browser_form_sends():
    assert text(32, multiline=True).deserialize("no sugar\r\nextra hot\tplease") == "no sugar\r\nextra hot\tplease"


def test_multiline_text_in_every_shop_schema_takes_crlf_and_one_line_text_refuses_cr(app):
    seen = {True: 0, False: 0}
    for _, schema in _argument_schemas(app):
        for name, field in schema.fields.items():
            rule = next((v for v in getattr(field, "validators", []) if hasattr(v, "multiline")), None)
            if rule is None:
                continue
            seen[rule.multiline] += 1
            if rule.multiline:
                assert field.deserialize("a\r\nb") == "a\r\nb", name
            else:
                with pytest.raises(ma.ValidationError):
                    field.deserialize("a\rb")
    assert seen[True] >= 2 and seen[False] > 20  # order notes, product descriptions; the rest one line


@pytest.fixture
def everyone(login, staff_token) -> dict:
    return {"shopper": bearer(login("curious:1")["token"]), "admin": staff_token(Role.ADMIN),
            "marketing": staff_token(Role.MARKETING)}


@pytest.mark.parametrize("path", [
    "/api/v1/orders/{}", "/api/v1/products/{}", "/api/v1/stores/{}", "/api/v1/admin/staff/{}",
    "/api/v1/admin/members/{}/points", "/api/v1/admin/skus/{}/stock-ledger", "/api/v1/admin/products/{}",
])
def test_an_id_beyond_any_row_is_the_apps_json_404_not_a_database_error(client, everyone, path):
    for beyond in (99999999999999999999, MAX_ID + 1, 2**64, "9" * 400):
        for headers in everyone.values():
            response = client.get(path.format(beyond), headers=headers)
            assert response.status_code == 404, (path, beyond, response.get_data(as_text=True)[:200])
            assert response.get_json()["code"] == "not_found"


def test_the_largest_storable_id_reaches_the_view_which_finds_no_row(client, everyone):
    assert client.get(f"/api/v1/orders/{MAX_ID}", headers=everyone["shopper"]).get_json()["code"] == "order_not_found"
    answer = client.get(f"/api/v1/admin/products/{MAX_ID}", headers=everyone["marketing"])
    assert (answer.status_code, answer.get_json()["code"]) == (404, "product_not_found")
    assert client.post(f"/api/v1/orders/{MAX_ID}/cancel", headers=everyone["shopper"]).status_code == 404


def test_no_shop_route_takes_an_unbounded_integer(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("Catalog", "Stores", "Orders", "Points", "Outbox", "Members"):
            for name, converter in rule._converters.items():
                assert isinstance(converter, IdConverter) or not name.endswith("_id"), rule.rule


def test_the_openapi_spec_documents_path_ids_as_bounded_integers(client):
    spec = client.get("/openapi.json").get_json()
    parameters = [parameter for path, item in spec["paths"].items() if path.startswith("/api/v1/orders/{")
                  for parameter in item.get("parameters", [])]
    assert parameters and {parameter["name"] for parameter in parameters} == {"order_id"}
    for parameter in parameters:
        assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID}, parameter
