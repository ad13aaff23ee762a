"""Migrating at start (as `make run` does) leaves the app's own logging as it was configured."""

import io
import logging

from flask_migrate import upgrade

from app import ROOT


def test_an_error_logged_after_the_migration_at_start_reaches_the_output(app):
    output = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(output)
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    app_logger = logging.getLogger("shop.orders.payment")  # exists before the migration runs
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        app_logger.error("payment went wrong")
        logging.getLogger("coupons.claiming.service").info("claim noted")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert "payment went wrong" in output.getvalue()
    assert "claim noted" in output.getvalue()
    assert root.level == level
