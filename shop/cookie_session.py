"""Flask's cookie session at no cost to the requests that have none (nearly all: the API uses bearer tokens)."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response


class CookieSessionOnDemand(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building a signer for requests that carry no session cookie.

    The API authenticates with bearer tokens, so nearly no request has a session cookie; Flask's
    own interface still builds an itsdangerous serializer and parses the cookies on every request,
    and looks up six cookie settings after it, to find there is nothing to do.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()  # what Flask returns when the cookie is absent
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # untouched and empty: Flask would neither set, delete nor vary on the cookie
        super().save_session(app, session, response)

