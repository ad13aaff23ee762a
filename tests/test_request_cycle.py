"""The per-request work every request pays is only what it needs: rate limits, cookie sessions."""

from __future__ import annotations

from flask import session
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface

from shop.extensions import limiter


def test_a_view_without_limits_leaves_the_limiter_untouched(app):
    with app.test_request_context("/healthz"):
        response = app.full_dispatch_request()
        assert response.status_code == 200
        assert not hasattr(request_ctx, "_limiter_request_context")  # its after-request hook did not run
        assert "X-RateLimit-Limit" not in response.headers


def test_a_view_with_a_limit_still_reports_it_in_headers(client):
    response = client.post("/api/v1/auth/staff-login", json={"username": "nobody", "password": "wrong-one"})
    assert response.status_code == 401
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "9"


def test_the_limiter_keeps_its_after_request_and_teardown_hooks_behind_the_guard(app):
    guarded = [hook for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None])
               for hook in hooks if hasattr(hook, "limiter_hook")]
    assert len(guarded) == 2
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])


def test_a_request_without_a_session_cookie_builds_no_signer_and_sets_no_cookie(app, monkeypatch):
    def no_signer(self, app):
        raise AssertionError("the signer was built for a request without a session cookie")

    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", no_signer)
    with app.test_request_context("/healthz", headers={"Cookie": "other=1"}):
        response = app.full_dispatch_request()
        response = app.process_response(response)
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary


def test_a_session_cookie_still_round_trips(app):
    with app.test_request_context("/healthz"):
        session["seen"] = "yes"
        written = app.process_response(app.response_class("ok"))
    cookie = written.headers["Set-Cookie"].split(";")[0]
    assert cookie.startswith(app.config["SESSION_COOKIE_NAME"] + "=")
    with app.test_request_context("/healthz", headers={"Cookie": cookie}):
        assert session["seen"] == "yes"
        session.clear()
        cleared = app.process_response(app.response_class("ok"))
    assert "Expires=Thu, 01 Jan 1970" in cleared.headers["Set-Cookie"]  # an emptied session deletes it
