"""Periodic work on journey events: partitions made ahead (PostgreSQL) and raw client events expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from crm.journey import partitions, service
from shop.extensions import db


def make_partitions_ahead(now: datetime) -> dict[str, list[str]]:
    """Create this month's and the next JOURNEY_PARTITION_MONTHS_AHEAD months' partitions (PostgreSQL only)."""
    connection = db.session.connection()
    if not partitions.is_partitioned(connection):
        return {"created": []}
    last = partitions.months_after(partitions.month_of(now), current_app.config["JOURNEY_PARTITION_MONTHS_AHEAD"])
    return {"created": partitions.ensure_months(connection, now, last)}


def expire_client_events(now: datetime) -> dict[str, int]:
    """Delete client events past CLIENT_EVENT_RETENTION_DAYS and receipts no longer needed."""
    config = current_app.config
    return service.delete_old_client_events(now, retention_days=config["CLIENT_EVENT_RETENTION_DAYS"],
                                            receipt_window=timedelta(hours=config["CLIENT_EVENT_WINDOW_HOURS"]))
