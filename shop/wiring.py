"""What shop brings to the app app.py builds: extensions, the flask-smorest Api and shop's blueprints,
its signal receivers, discount providers, periodic jobs, readiness checks and commands.

``init_app`` runs first (it makes the Api the other packages register into, found with ``api_of``);
``finish`` runs last, once every package has added its blueprints and periodic jobs.
"""

from __future__ import annotations

from pathlib import Path

import click
import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_smorest import Api, Blueprint
from werkzeug.middleware.proxy_fix import ProxyFix

from shop import metrics, request_log, response_headers
from shop.backups.cli import backup_cli
from shop.bills.api import blp as reconciliation_blp
from shop.bills.cli import add_commands as add_bill_commands
from shop.bills.service import reconcile_due_bills
from shop.catalog.api import blp as catalog_blp
from shop.catalog.cli import catalog_cli
from shop.config import settings_table
from shop.content.api import blp as content_blp
from shop.content.handlers import wire_content
from shop.cookie_session import CookieSessionOnDemand
from shop.database import ping_connections_idle_for, use_real_sqlite_transactions
from shop.dependencies import init_outages
from shop.errors import ErrorResponses, ErrorSchema, register_error_handlers
from shop.extensions import db, init_limiter, init_redis, jwt, migrate
from shop.fields import register_id_converter
from shop.health import READINESS_CHECKS
from shop.health import blp as health_blp
from shop.jobs import PERIODIC, sweep_outbox
from shop.jsonprovider import OrjsonProvider, refuse_unreadable_bodies
from shop.members.api import blp as members_blp
from shop.members.home_store import wire_home_store
from shop.members.official_account import blp as official_account_blp
from shop.messages.api import blp as messages_blp
from shop.messages.handlers import wire_messages
from shop.orders.api import blp as orders_blp
from shop.orders.api import notify_blp as wechat_pay_notify_blp
from shop.orders.cli import jobs_cli, orders_cli
from shop.orders.lifecycle import cancel_expired_orders
from shop.orders.making.api import blp as order_making_blp
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
from shop.replica import init_replica
from shop.sentry import init_sentry
from shop.shipping.api import blp as shipping_blp
from shop.staff.api import blp as staff_blp
from shop.staff.cli import staff_cli
from shop.stores.api import blp as stores_blp
from shop.stores.cli import stores_cli
from shop.till.api import blp as till_blp
from shop.wechat.gateway import init_wechat
from shop.wechat.pay import init_wechat_pay
from shop.wechat.stub.local import wechat_stub

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
POOL_PING_AFTER_IDLE_S = 10.0  # a connection idle longer is checked before use
BLUEPRINTS = (members_blp, stores_blp, staff_blp, catalog_blp, orders_blp, order_making_blp, points_blp, outbox_blp,
              content_blp, shipping_blp, reconciliation_blp, messages_blp, till_blp)


class RippleApi(Api):
    """flask-smorest's Api documenting our error shape: it registers the error responses while it is
    built, so the schema is set on the class, not on the instance afterwards."""

    ERROR_SCHEMA = ErrorSchema


def init_app(app: Flask) -> None:
    """JSON, sessions and proxies; extensions; the Api with shop's blueprints; error handlers, headers,
    receivers, providers, jobs, CLI. Logging and the request ids first: every later hook may log."""
    request_log.init_app(app)
    init_sentry(app)
    app.json = OrjsonProvider(app)
    app.session_interface = CookieSessionOnDemand()
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    metrics.init_app(app)  # before the other hooks: its timer starts first
    _init_extensions(app)
    _register_blueprints(app)
    register_error_handlers(app)  # after Api: our JSON shape replaces flask-smorest's
    response_headers.init_app(app)
    _wire()
    wire_content(app)
    for command in (staff_cli, stores_cli, catalog_cli, orders_cli, jobs_cli, outbox_cli, points_cli, config_table,
                    wechat_stub, backup_cli):
        app.cli.add_command(command)


def api_of(app: Flask) -> Api:
    """The flask-smorest Api ``init_app`` made, for other packages' blueprints."""
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"]


def finish(app: Flask) -> None:
    """After every package: the outbox's sweep runs last (it hands on the work the jobs before it wrote),
    and every API blueprint refuses unknown query arguments."""
    PERIODIC["work handed on after a commit (outbox)"] = sweep_outbox
    refuse_unknown_query_args(app, {name for name, blueprint in app.blueprints.items()
                                    if isinstance(blueprint, Blueprint)})  # the API's (flask-smorest's)


def _init_extensions(app: Flask) -> None:
    redis_handle = init_redis(app)
    db.init_app(app)
    with app.app_context():
        use_real_sqlite_transactions(db.engine)
        ping_connections_idle_for(db.engine, POOL_PING_AFTER_IDLE_S)
    init_replica(app, ping_after_idle_s=POOL_PING_AFTER_IDLE_S)  # the reports' DATABASE_REPLICA_URL, if set
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)
    jwt.init_app(app)
    init_limiter(app, redis_handle)  # only the per-request work our per-view limits need
    init_outages(app)
    init_wechat(app, redis_handle.client)
    init_wechat_pay(app)


def _register_blueprints(app: Flask) -> None:
    register_id_converter(app)  # before the routes that say <id:...>
    api = RippleApi(app, spec_kwargs={"extra_plugins": [ErrorResponses()], "components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}})
    refuse_unreadable_bodies(Blueprint.ARGUMENTS_PARSER)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(official_account_blp)
    app.register_blueprint(wechat_pay_notify_blp)
    app.register_blueprint(health_blp)
    if app.config["DOCS_PUBLIC"]:
        app.add_url_rule("/docs/assets/<path:filename>", "swagger_assets",
                         lambda filename: send_from_directory(swagger_ui_bundle.swagger_ui_path, filename))


def _wire() -> None:
    """Points reacts to orders and discounts at checkout; subscribe messages to orders shipped, ready and
    refunded; periodic work: timeouts, reconciliation, points expiry. Each periodic job runs on one
    scheduler at a time (shop/jobs.py run_exclusive)."""
    wire_points()
    wire_home_store()
    wire_messages()
    register_discount_provider(PointsDiscountProvider())
    READINESS_CHECKS["outbox"] = outbox_readiness
    PERIODIC["orders past their payment window"] = cancel_expired_orders
    PERIODIC["payments reconciled with WeChat Pay"] = reconcile
    PERIODIC["points expiry"] = expire_sweep
    PERIODIC["WeChat Pay bills reconciled"] = reconcile_due_bills
    add_bill_commands(orders_cli)


@click.command("config-table")
def config_table() -> None:
    """Print the README's table of environment variables."""
    click.echo(settings_table())
