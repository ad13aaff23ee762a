"""Optional error reports to Sentry: on when SENTRY_DSN is set, otherwise not even imported.

Reports go without personal data (the SDK's ``send_default_pii`` stays off: no cookies, user or client address) and
pass through the same scrubbing as log lines (shop/log_scrubbing.py): a request body's codes and
passwords, a local variable holding a token, a phone number in a message. Each report is tagged
with the request id, so it can be found in the logs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context

from shop.log_scrubbing import scrub
from shop.request_log import request_id


def scrubbed_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's ``before_send``: the event without secrets, tagged with the request id."""
    event = scrub(event)
    if has_request_context():
        event.setdefault("tags", {})["request_id"] = request_id()
    return event


def scrubbed_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's ``before_breadcrumb``: log lines and HTTP calls kept as breadcrumbs, without secrets."""
    return scrub(crumb)


def init_sentry(app: Flask) -> None:
    """Start Sentry's Flask integration when SENTRY_DSN is set."""
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    # Imported only here: without a DSN the SDK costs nothing, not even its import.
    import sentry_sdk  # noqa: PLC0415
    from sentry_sdk.integrations.flask import FlaskIntegration  # noqa: PLC0415

    # send_default_pii is left unset, which is off (setting it at all is deprecated in favour of
    # data_collection): no cookies, user or client address, and the SDK's own scrubber stays on.
    sentry_sdk.init(dsn=dsn, integrations=[FlaskIntegration()], environment=app.config["RIPPLE_ENV"],
                    before_send=scrubbed_event, before_breadcrumb=scrubbed_breadcrumb)
