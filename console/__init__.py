"""The console: server-rendered pages for store staff, marketing and admins (Jinja, htmx, our own CSS).

It stands on ``shop``, ``coupons``, ``referral`` and ``crm`` and calls their services (never their
HTTP API); it holds no business rule of its own. Nothing imports it but app.py, and it does not import
``crm`` either (only app.py may): app.py hands it the CRM's facade (``console.crm_services``). The import
contracts keep both so. Each capability is a sub-package with ``views.py`` (a blueprint made by
``console.refusals.console_blueprint``: CSRF on its posts) and ``forms.py`` (Flask-WTF); templates
live in ``console/templates``, assets (vendored at pinned versions, with their licences) in
``console/static``, catalogues in ``console/translations``.
"""

from __future__ import annotations

from types import ModuleType

from flask import Blueprint, Flask

from console import display
from console.admin import BLUEPRINTS as ADMIN_PAGES
from console.auth.views import bp as auth_bp
from console.batches.issuing import bp as issuing_bp
from console.batches.views import bp as batches_bp
from console.counter.views import bp as counter_bp
from console.crm_services import attach as attach_crm
from console.home.views import bp as home_bp
from console.members.views import bp as members_bp
from console.referral.views import bp as referral_bp
from console.refusals import csrf
from console.reports.views import bp as reports_bp
from console.segments.views import bp as segments_bp
from console.store.views import bp as store_bp
from console.tags.views import bp as tags_bp

__all__ = ["BLUEPRINTS", "init_app"]

# Marketing's pages beside the batches: segments, tags, members, the reports, referral figures.
MARKETING_PAGES: tuple[Blueprint, ...] = (segments_bp, tags_bp, members_bp, reports_bp, referral_bp)
BLUEPRINTS: tuple[Blueprint, ...] = (auth_bp, home_bp, counter_bp, store_bp, batches_bp, issuing_bp, *MARKETING_PAGES, *ADMIN_PAGES)
# The console's templates and static files, served under /console/static.
ASSETS = Blueprint("console", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/console/static")


def init_app(app: Flask, *, crm: ModuleType) -> None:
    """Wire the console: its pages, CSRF on their forms only, Flask-Babel and the money and time filters; ``crm``
    is the CRM's facade (``crm.facade``) its marketing pages call."""
    attach_crm(app, crm)
    # CSRFProtect checks nothing by itself: each console blueprint asks for the check before its views,
    # so the JSON API (bearer tokens, no cookies) keeps working without a token.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's idle timeout bounds a form's life
    csrf.init_app(app)
    display.init_app(app)
    app.register_blueprint(ASSETS)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
