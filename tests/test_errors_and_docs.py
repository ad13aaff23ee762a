"""Every error is JSON with a stable code; the API documents itself."""

import pytest
from flask import abort, request
from sqlalchemy import func, select

from shop.errors import size_text
from shop.extensions import db
from shop.members.models import Member


def test_an_unknown_path_is_404_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["code"] == "not_found"
    assert response.get_json()["message"]


def test_a_wrong_method_is_405_json(client):
    response = client.delete("/api/v1/auth/wechat-login")
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"


def test_invalid_input_is_422_with_per_field_errors(client):
    response = client.post("/api/v1/auth/staff-login", json={"username": 5})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"username", "password"}


def test_a_huge_body_is_413_json_naming_the_limit(client):
    response = client.post("/api/v1/auth/wechat-login", data="x" * (2 * 1024 * 1024),
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"code": "payload_too_large", "message": "The body is larger than the 1 MiB limit.",
                                   "details": {"limit_bytes": 1024 * 1024}}


def test_a_form_over_werkzeugs_form_limits_is_413_naming_the_form_limits(make_app):
    app = make_app()

    @app.post("/a-form")
    def a_form():
        return dict(request.form)

    response = app.test_client().post("/a-form", data={"field": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.get_json() == {
        "code": "payload_too_large",
        "message": "A form field is larger than the 500,000 bytes limit, or the form has more than 1000 parts.",
        "details": {"limit_bytes": 500_000, "max_parts": 1000}}


@pytest.mark.parametrize(("size", "text"), [(100, "100 bytes"), (1024, "1 KiB"), (1024 * 1024, "1 MiB"),
                                            (8 * 1024 * 1024, "8 MiB"), (1536 * 1024, "1.5 MiB"),
                                            (500_000, "500,000 bytes")])
def test_sizes_read_as_people_write_limits(size, text):
    assert size_text(size) == text


def test_an_http_error_without_a_code_of_ours_gets_the_generic_one(make_app):
    app = make_app()

    @app.get("/needs-login")
    def needs_login():
        abort(401)

    @app.get("/conflicting")
    def conflicting():
        abort(409)

    client = app.test_client()
    assert client.get("/needs-login").get_json()["code"] == "unauthorized"
    assert client.get("/conflicting").get_json()["code"] == "conflict"


@pytest.fixture
def failing_app(make_app):
    """An app with a view that writes, then fails as a bug would."""
    app = make_app()

    @app.post("/boom")
    def boom():
        db.session.add(Member(openid="written-before-the-crash"))
        db.session.flush()
        raise RuntimeError("secret internal detail")

    return app


def test_an_unexpected_error_is_500_json_that_leaks_nothing_and_rolls_back(failing_app):
    response = failing_app.test_client().post("/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    with failing_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_the_openapi_spec_lists_the_fixed_paths_and_the_bearer_scheme(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/api/v1/auth/wechat-login", "/api/v1/auth/staff-login", "/api/v1/me", "/api/v1/me/phone"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}] and me["x-roles"] == ["shopper"]


def test_the_openapi_spec_describes_errors_in_our_shape(client):
    spec = client.get("/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string" and set(error["properties"]) == {
        "code", "message", "errors", "errors_total", "details"}
    assert spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    # The counter's endpoints state what a retry and a used code answer.
    redeem = spec["paths"]["/api/v1/staff/redemptions"]["post"]
    pickups = spec["paths"]["/api/v1/staff/pickups"]["post"]
    assert {"200", "201", "409"} <= set(redeem["responses"]) and {"200", "201", "409"} <= set(pickups["responses"])


def test_the_docs_page_renders_with_assets_served_locally(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in html
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000
    asset.close()


def test_behind_a_trusted_proxy_rate_limits_count_the_real_client(make_app):
    client = make_app(TRUSTED_PROXIES=1).test_client()
    body = {"username": "nobody", "password": "wrong-password"}
    for _ in range(10):
        client.post("/api/v1/auth/staff-login", json=body, headers={"X-Forwarded-For": "203.0.113.7"})
    blocked = client.post("/api/v1/auth/staff-login", json=body, headers={"X-Forwarded-For": "203.0.113.7"})
    other = client.post("/api/v1/auth/staff-login", json=body, headers={"X-Forwarded-For": "198.51.100.9"})
    assert blocked.status_code == 429
    assert other.status_code == 401
