"""`flask orders ...` and `flask jobs ...`: reconciliation, sweeps and the RQ worker."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from rq import Queue, Worker

from shop.database import utcnow
from shop.extensions import db, redis_client
from shop.jobs import QUEUE, run_periodic
from shop.orders import lifecycle, service

orders_cli = AppGroup("orders", help="Orders and payments.")
jobs_cli = AppGroup("jobs", help="Background jobs and periodic sweeps.")


@orders_cli.command("reconcile")
def reconcile() -> None:
    """Ask WeChat Pay about orders pending for minutes; apply lost payments, cancel expired orders."""
    click.echo(service.reconcile(utcnow()))


@orders_cli.command("cancel-expired")
def cancel_expired() -> None:
    """Cancel unpaid orders past their payment window."""
    click.echo(f"cancelled {lifecycle.cancel_expired_orders(utcnow())}")
    db.session.commit()


@jobs_cli.command("sweep")
@click.option("--every", type=int, default=0, help="Repeat every N seconds (0: once).")
def sweep(every: int) -> None:
    """Run the periodic work once (or forever, every N seconds): timeouts, reconciliation, expiries."""
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
    Worker([Queue(QUEUE, connection=redis_client())], connection=redis_client()).work(with_scheduler=True)


