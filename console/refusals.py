"""The console's blueprints and their refusals as pages (or htmx fragments), not the API's JSON.

Every console blueprint is made by ``console_blueprint``: CSRF checked before each of its POSTs
(Flask-WTF's ``CSRFProtect``, scoped to the console: the JSON API keeps its bearer tokens and no
CSRF), and its refusals (a form without a valid token, a page the role may not open) rendered as pages, as are
the database, Redis or the reports' replica being down (the API answers the same outages in JSON).
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Forbidden

from console.display import remember_language
from shop.dependencies import ReplicaUnavailable
from shop.errors import handle_dependency_error
from shop.redis_connections import REDIS_ERRORS

csrf = CSRFProtect()


def console_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of console pages under /console, with CSRF on its posts and its refusals as pages."""
    blueprint = Blueprint(name, import_name, url_prefix="/console")
    blueprint.before_request(csrf.protect)
    blueprint.after_request(remember_language)
    blueprint.register_error_handler(CSRFError, _expired_form)
    blueprint.register_error_handler(Forbidden, _forbidden)
    for family in (SQLAlchemyError, *REDIS_ERRORS):  # the API's families of dependency errors (shop/errors.py)
        blueprint.register_error_handler(family, _dependency_failed)
    return blueprint


def refusal_page(message: str, status: int):
    """A refusal: the whole page, or only its words when htmx asked for a part of the page."""
    template = "refusal_fragment.html" if request.headers.get("HX-Request") else "refusal.html"
    return make_response(render_template(template, message=message, status=status), status)


def too_many_attempts(_limit=None):
    """Flask-Limiter's answer past a console limit (``on_breach``: it adds Retry-After itself)."""
    return refusal_page(_("Too many attempts: wait a few minutes, then try again."), 429)


def _expired_form(error: CSRFError):
    return refusal_page(_("This form has expired or did not come from the console: reload the page and try "
                          "again."), 400)


def _forbidden(error: Forbidden):
    return refusal_page(_("Your account may not open this page."), 403)


def _dependency_failed(error: Exception):
    """A part the console stands on is down (or a bug): a console page, with the API's status and headers.

    The API's handler counts the outage (logged once, probed until it ends) and ends the transaction.
    """
    _json, status, headers = handle_dependency_error(error)
    if status != 503:
        message = _("Something went wrong on our side: try again, and tell the team if it happens again.")
    elif isinstance(error, ReplicaUnavailable):
        message = _("The figures are unavailable for a moment: try again in a minute.")
    else:
        message = _("A service the console depends on is unavailable for a moment: try again in a minute.")
    page = refusal_page(message, status)
    page.headers.update(headers)
    return page
