"""`flask orders ...` and `flask jobs ...`: reconciliation, sweeps and the RQ worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from rq import Queue, Worker
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from shop.commands import WeChatUnreachable
from shop.database import utcnow
from shop.extensions import db, rq_redis_client
from shop.jobs import QUEUE, run_periodic
from shop.metrics import multiprocess, serve
from shop.orders import lifecycle, payment
from shop.shipping import service as shipping
from shop.shipping.models import ShippingUpload

orders_cli = AppGroup("orders", help="Orders and payments.")
jobs_cli = AppGroup("jobs", help="Background jobs and periodic sweeps.")


@orders_cli.command("reconcile")
def reconcile() -> None:
    """Ask WeChat Pay about orders pending for minutes and unconfirmed refunds; apply what it says."""
    summary = _run(payment.reconcile)
    orders, refunds = summary["orders"], summary["refunds"]
    if orders["wechat_pay_unreachable"] or refunds["wechat_pay_unreachable"]:
        left = orders["errors"] + orders["skipped"], refunds["errors"] + refunds["skipped"]
        raise WeChatUnreachable("WeChat Pay", f"{left[0]} orders and {left[1]} refunds")
    click.echo(f"orders: {_counts(orders)}; refunds: {_counts(refunds)}")


@orders_cli.command("cancel-expired")
def cancel_expired() -> None:
    """Cancel unpaid orders past their payment window (asking WeChat Pay first about payable ones)."""
    summary = _run(lifecycle.cancel_expired_orders)
    if summary["wechat_pay_unreachable"]:
        raise WeChatUnreachable("WeChat Pay", f"{summary['errors'] + summary['skipped']} orders")
    click.echo(_counts(summary))


@orders_cli.command("upload-shipping")
@click.option("--order", "order_id", type=int, help="Send this order's shipping information again (a failed one too).")
@click.option("--pending", is_flag=True, help="Send now every upload WeChat has not accepted yet.")
def upload_shipping(order_id: int | None, pending: bool) -> None:
    """Send shipping information to WeChat again (发货信息管理): one order's, or every pending one."""
    if (order_id is None) == (not pending):
        raise click.UsageError("give --order N or --pending")
    order_ids = [order_id] if order_id is not None else shipping.pending_order_ids()
    for one in order_ids:
        if not shipping.resend(one):
            raise click.ClickException(f"order {one} has no shipping information to send (not shipped or handed "
                                       "over, or nothing was paid through WeChat Pay)")
        db.session.commit()  # each is sent after its own commit
    uploads = [db.session.scalar(select(ShippingUpload).where(ShippingUpload.order_id == one)) for one in order_ids]
    for upload in uploads:
        db.session.refresh(upload)
        error = f" ({upload.error_code}: {upload.error_message})" if upload.error_code is not None else ""
        click.echo(f"order {upload.order_id}: {upload.status}{error}")
    click.echo(f"{len(order_ids)} sent")


def _run(sweep: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Run a sweep; the database failing ends it with one line, not a traceback."""
    try:
        return sweep(utcnow())
    except SQLAlchemyError as error:
        db.session.rollback()
        raise click.ClickException(f"the database failed: {type(error).__name__}: {error.args[0]}"[:300]) from None


def _counts(summary: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count}" for name, count in summary.items() if name != "wechat_pay_unreachable")


@jobs_cli.command("sweep")
@click.option("--every", type=int, default=0, help="Repeat every N seconds (0: once).")
def sweep(every: int) -> None:
    """Run the periodic work once (or forever, every N seconds): timeouts, reconciliation, expiries."""
    if every:
        serve(current_app.config, who="the scheduler")
    while True:
        now = utcnow()
        click.echo(f"{now.isoformat()} {run_periodic(now)}")
        if not every:
            return
        time.sleep(every)


@jobs_cli.command("worker")
def worker() -> None:
    """Run an RQ worker for the background jobs (JOBS_ASYNC=true), with RQ's scheduler: it queues the
    outbox's retries when their backoff ends."""
    if serve(current_app.config, who="the RQ worker") and not multiprocess():
        click.echo("PROMETHEUS_MULTIPROC_DIR is unset: what the jobs count in RQ's work horses (forked per job) "
                   "is lost; set it to a folder of this worker's own", err=True)
    Worker([Queue(QUEUE, connection=rq_redis_client())], connection=rq_redis_client()).work(with_scheduler=True)


