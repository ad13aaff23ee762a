"""Ripple: the one place that wires config, extensions, blueprints and cross-domain handlers.

`python app.py` serves the API on the embedded defaults (SQLite, embedded Redis, the WeChat stub,
demo data); production runs `create_app()` under gunicorn (deploy/gunicorn.conf.py).
"""

import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask_migrate import upgrade

import console
import coupons
import crm
import referral
import shop.wiring
from shop.config import PRODUCTION, ConfigError, load_config, test_doubles_acknowledged
from shop.demo import seed_demo
from shop.extensions import db
from shop.jobs import start_periodic_thread
from shop.wechat.stub.local import start_stub

log = logging.getLogger("ripple")
ROOT = Path(__file__).resolve().parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment (tests, tools)."""
    settings = load_config(overrides=config)
    if settings["RIPPLE_ENV"] == PRODUCTION and test_doubles_acknowledged(settings):
        log.warning("RIPPLE_TEST_DOUBLES=acknowledged: the production profile may talk to the WeChat stub and "
                    "runs without the checks that protect real shoppers; never serve real customers so")
    app = Flask(__name__, instance_path=settings["RIPPLE_INSTANCE_PATH"])
    app.config.update(settings)
    shop.wiring.init_app(app)
    coupons.init_app(app)
    referral.init_app(app)
    crm.init_app(app)
    console.init_app(app, crm=crm.facade)
    app.cli.command("seed-demo")(seed_demo_command)
    shop.wiring.finish(app)
    return app


def seed_all_demo(config: Mapping[str, Any]) -> list[str]:
    """The demo brand of every package on a database without staff (committed); what was created."""
    created = seed_demo(config["RIPPLE_DEMO_PASSWORD"]) + coupons.seed_coupon_demo() + referral.seed_referral_demo()
    db.session.commit()
    return created


def seed_demo_command() -> None:
    """Create the demo brand (stores, products, accounts, coupons, shares) on a database without staff.

    Refused in production unless RIPPLE_TEST_DOUBLES=acknowledged (`make run-prod-local`)."""
    config = current_app.config
    if config["RIPPLE_ENV"] == PRODUCTION and not test_doubles_acknowledged(config):
        raise click.ClickException("demo data is for development and RIPPLE_TEST_DOUBLES=acknowledged only")
    for line in seed_all_demo(config) or ["nothing: the database has staff accounts already"]:
        click.echo(f"Demo data (demo only): {line}")


def main() -> None:
    """Serve the API on the embedded defaults: migrate, seed the demo, start the stub, run."""
    # SIGTERM (kill, a process manager, a container runtime) ends the process as Ctrl-C does, so the
    # exit handlers run and stop the embedded redis-server instead of leaving it behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        stub_url = start_stub(load_config())  # first: the app's WeChat bases are read from what it notes
        app = create_app()
    except ConfigError as error:
        error.show()  # one line naming the variable, not a traceback
        sys.exit(error.exit_code)
    config = app.config
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    with app.app_context():
        upgrade(directory=str(shop.wiring.MIGRATIONS))
        created = seed_all_demo(config) if config["RIPPLE_ENV"] != PRODUCTION else []
    for line in created:
        click.echo(f"Demo data (demo only): {line}")
    if stub_url:
        click.echo(f"WeChat stub: {stub_url}")
    start_periodic_thread(app, every_seconds=30)  # the outbox's retries come due within its 60 s backoff cap
    if shop.metrics.serve(config, who="python app.py"):  # one process: its own registry, from a thread
        click.echo(f"Metrics: http://{config['METRICS_HOST']}:{config['METRICS_PORT']}/metrics")
    click.echo(f"Ripple API: http://{host}:{port}/  (docs: http://{host}:{port}/docs)")
    click.echo(f"Console: http://{host}:{port}/console/login  (staff, marketing and admin accounts)")
    app.run(host=host, port=port, use_reloader=False, threaded=True)


if __name__ == "__main__":
    main()
