"""Ripple: the one place that wires config, extensions, blueprints and cross-domain handlers.

`python app.py` serves the API on the embedded defaults (SQLite, embedded Redis, the WeChat stub,
demo data); production runs `create_app()` under gunicorn (deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_migrate import upgrade
from flask_smorest import Api, Blueprint
from werkzeug.middleware.proxy_fix import ProxyFix

import coupons
import referral
from shop import response_headers
from shop.catalog.api import blp as catalog_blp
from shop.catalog.cli import catalog_cli
from shop.config import (
    DEVELOPMENT,
    PRODUCTION,
    STUB_URL_FILE,
    ConfigError,
    load_config,
    settings_table,
    test_doubles_acknowledged,
)
from shop.cookie_session import CookieSessionOnDemand
from shop.database import ping_connections_idle_for, use_real_sqlite_transactions
from shop.demo import seed_demo
from shop.dependencies import init_outages
from shop.errors import ErrorSchema, register_error_handlers
from shop.extensions import db, init_limiter, init_redis, jwt, migrate
from shop.fields import register_id_converter
from shop.health import READINESS_CHECKS
from shop.health import blp as health_blp
from shop.jobs import PERIODIC, start_periodic_thread, sweep_outbox
from shop.jsonprovider import OrjsonProvider, refuse_unreadable_bodies
from shop.members.api import blp as members_blp
from shop.members.official_account import blp as official_account_blp
from shop.orders.api import blp as orders_blp
from shop.orders.api import notify_blp as wechat_pay_notify_blp
from shop.orders.cli import jobs_cli, orders_cli
from shop.orders.lifecycle import cancel_expired_orders
from shop.orders.payment import reconcile
from shop.outbox.api import blp as outbox_blp
from shop.outbox.cli import outbox_cli
from shop.outbox.service import readiness as outbox_readiness
from shop.points.api import blp as points_blp
from shop.points.cli import expire_sweep, points_cli
from shop.points.handlers import wire_points
from shop.points.provider import PointsDiscountProvider
from shop.pricing import register_discount_provider
from shop.query_args import refuse_unknown_query_args
from shop.staff.api import blp as staff_blp
from shop.staff.cli import staff_cli
from shop.stores.api import blp as stores_blp
from shop.stores.cli import stores_cli
from shop.wechat.gateway import init_wechat
from shop.wechat.pay import init_wechat_pay, stub_pay_config
from shop.wechat.stub.server import WeChatStub, run_forever

log = logging.getLogger("ripple")
ROOT = Path(__file__).resolve().parent
POOL_PING_AFTER_IDLE_S = 10.0  # a connection idle longer is checked before use
API_BLUEPRINTS = (members_blp, stores_blp, staff_blp, catalog_blp, orders_blp, points_blp, outbox_blp)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment (tests, tools)."""
    settings = load_config(overrides=config)
    if settings["RIPPLE_ENV"] == PRODUCTION and test_doubles_acknowledged(settings):
        log.warning("RIPPLE_TEST_DOUBLES=acknowledged: the production profile may talk to the WeChat stub and "
                    "runs without the checks that protect real shoppers; never serve real customers so")
    app = Flask(__name__, instance_path=settings["RIPPLE_INSTANCE_PATH"])
    app.config.update(settings)
    app.json = OrjsonProvider(app)
    app.session_interface = CookieSessionOnDemand()
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _init_extensions(app)
    _register_blueprints(app)
    register_error_handlers(app)  # after Api: our JSON shape replaces flask-smorest's
    response_headers.init_app(app)
    _wire_shop_handlers()
    coupons.init_app(app)
    referral.init_app(app)
    # Last: it hands on the work the jobs before it wrote to the outbox (approved withdrawals, ...).
    PERIODIC["work handed on after a commit (outbox)"] = sweep_outbox
    refuse_unknown_query_args(app, {blueprint.name for blueprint in (*API_BLUEPRINTS, *coupons.BLUEPRINTS, *referral.BLUEPRINTS)})
    for command in (staff_cli, stores_cli, catalog_cli, orders_cli, jobs_cli, outbox_cli, points_cli,
                    config_table, wechat_stub):
        app.cli.add_command(command)
    return app



def _init_extensions(app: Flask) -> None:
    redis_handle = init_redis(app)
    db.init_app(app)
    with app.app_context():
        use_real_sqlite_transactions(db.engine)
        ping_connections_idle_for(db.engine, POOL_PING_AFTER_IDLE_S)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    jwt.init_app(app)
    init_limiter(app, redis_handle)  # only the per-request work our per-view limits need
    init_outages(app)
    init_wechat(app, redis_handle.client)
    init_wechat_pay(app)


class RippleApi(Api):
    """flask-smorest's Api documenting our error shape: it registers the error responses while it is
    built, so the schema is set on the class, not on the instance afterwards."""

    ERROR_SCHEMA = ErrorSchema


def _register_blueprints(app: Flask) -> None:
    register_id_converter(app)  # before the routes that say <id:...>
    api = RippleApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}})
    refuse_unreadable_bodies(Blueprint.ARGUMENTS_PARSER)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(official_account_blp)
    app.register_blueprint(wechat_pay_notify_blp)
    app.register_blueprint(health_blp)
    if app.config["DOCS_PUBLIC"]:
        app.add_url_rule("/docs/assets/<path:filename>", "swagger_assets",
                         lambda filename: send_from_directory(swagger_ui_bundle.swagger_ui_path, filename))


def _wire_shop_handlers() -> None:
    """Coupons and points react to members and orders, coupons and points discount at checkout; periodic
    work: timeouts, reconciliation, points expiry (referral's init_app adds its own, and create_app the
    outbox's sweep). Each periodic job runs on one scheduler at a time (shop/jobs.py run_exclusive)."""
    wire_points()
    register_discount_provider(PointsDiscountProvider())
    READINESS_CHECKS["outbox"] = outbox_readiness
    PERIODIC["orders past their payment window"] = cancel_expired_orders
    PERIODIC["payments reconciled with WeChat Pay"] = reconcile
    PERIODIC["points expiry"] = expire_sweep



@click.command("config-table")
def config_table() -> None:
    """Print the README's table of environment variables."""
    click.echo(settings_table())


@click.command("wechat-stub")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: WECHAT_STUB_PORT.")
def wechat_stub(host: str, port: int | None) -> None:
    """Run the WeChat stub standalone, knowing this app's mini-program and official account."""
    from flask import current_app  # noqa: PLC0415

    config = current_app.config
    if config["RIPPLE_ENV"] == PRODUCTION and not test_doubles_acknowledged(config):
        raise click.ClickException("the WeChat stub runs beside the production profile only with "
                                   "RIPPLE_TEST_DOUBLES=acknowledged")
    click.echo("WeChat stub (Ctrl-C stops it):")
    run_forever(_stub_for(config), host, port or config["WECHAT_STUB_PORT"])


def _stub_for(config: Mapping[str, Any]) -> WeChatStub:
    """A stub that knows this app's mini-program, official account and (development keys) WeChat Pay merchant."""
    return WeChatStub({config["WECHAT_APPID"]: config["WECHAT_SECRET"],
                       config["WECHAT_OA_APPID"]: config["WECHAT_OA_SECRET"]}, pay=stub_pay_config(config))


def main() -> None:
    """Serve the API on the embedded defaults: migrate, seed the demo, start the stub, run."""
    # SIGTERM (kill, a process manager, a container runtime) ends the process as Ctrl-C does, so the
    # exit handlers run and stop the embedded redis-server instead of leaving it behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        stub_url = _start_stub(load_config())  # first: the app's WeChat bases are read from what it notes
        app = create_app()
    except ConfigError as error:
        error.show()  # one line naming the variable, not a traceback
        sys.exit(error.exit_code)
    config = app.config
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        created = []
        if config["RIPPLE_ENV"] != PRODUCTION:
            created = seed_demo(config["RIPPLE_DEMO_PASSWORD"]) + coupons.seed_coupon_demo() + referral.seed_referral_demo()
        db.session.commit()
    for line in created:
        click.echo(f"Demo data (demo only): {line}")
    if stub_url:
        click.echo(f"WeChat stub: {stub_url}")
    start_periodic_thread(app, every_seconds=30)  # the outbox's retries come due within its 60 s backoff cap
    click.echo(f"Ripple API: http://{host}:{port}/  (docs: http://{host}:{port}/docs)")
    app.run(host=host, port=port, use_reloader=False, threaded=True)


def _start_stub(config: Mapping[str, Any]) -> str | None:
    """Start the WeChat stub in development and note its URL in the instance folder, where this app and
    `flask` commands of the instance find it.

    On WECHAT_STUB_PORT when set; unset, on 5001, or on a free port when 5001 is taken (another
    instance's stub), so instances side by side need no port of their own for it.
    """
    if config["RIPPLE_ENV"] != DEVELOPMENT or not config["WECHAT_API_BASE"].startswith("http://127.0.0.1:"):
        return None
    port = config["WECHAT_STUB_PORT"]
    if not _port_free(port):
        if "WECHAT_STUB_PORT" not in config["EMBEDDED_OPTIONAL"]:
            raise ConfigError(f"WECHAT_STUB_PORT {port} is in use (another instance's WeChat stub?): "
                              "choose a free port, or leave it unset for any free one")
        port = 0
    url = _stub_for(config).start("127.0.0.1", port)
    instance = Path(config["RIPPLE_INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    (instance / STUB_URL_FILE).write_text(url)
    return url


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the stub's server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    main()
