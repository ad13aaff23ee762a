"""Answers carry headers that keep tokens and codes out of caches and our pages out of frames."""

from shop.config import load_config
from tests.conftest import bearer
from tests.test_config_and_health import PRODUCTION_ENV


def test_every_answer_says_nosniff_and_refuses_to_be_framed(client):
    for path in ("/healthz", "/api/v1/categories", "/docs", "/api/v1/no-such-thing"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path


def test_a_login_answer_carrying_a_token_is_never_stored(client, login):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "headers-shopper"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_answers_to_a_signed_in_shopper_are_never_stored_but_public_reads_may_be(client, login):
    token = login("headers-reader")["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client.get("/api/v1/categories").headers


def test_production_serves_no_docs_unless_told_to():
    assert load_config(environ=PRODUCTION_ENV)["OPENAPI_URL_PREFIX"] is None
    assert load_config(environ={**PRODUCTION_ENV, "DOCS_PUBLIC": "true"})["OPENAPI_URL_PREFIX"] == "/"
    assert load_config(environ={})["DOCS_PUBLIC"] is True


def test_an_app_with_private_docs_answers_404_for_the_docs_and_the_spec(make_app):
    private = make_app(DOCS_PUBLIC=False).test_client()
    for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui.css"):
        response = private.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "not_found"
