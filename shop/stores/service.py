"""Stores: create, update, close, delete, dated hour exceptions, bulk import; every change reindexed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from shop.errors import AppError
from shop.extensions import db
from shop.stores.errors import StoreError
from shop.stores.geo import index_after_commit
from shop.stores.hours import OpeningHours
from shop.stores.importing import parse_stores_csv
from shop.stores.models import Store, StoreHoursException

STORE_FIELDS = ("code", "name", "address", "city", "district", "lat", "lng", "phone", "timezone",
                "services", "status", "weekly_hours")


def get_store(store_id: int) -> Store:
    store = db.session.get(Store, store_id)
    if store is None:
        raise AppError(StoreError.STORE_NOT_FOUND, "No such store.")
    return store


def create_store(data: Mapping[str, Any]) -> Store:
    """A new store from validated fields (coordinates in GCJ-02)."""
    _check_code_free(data["code"])
    store = Store(**{field: data[field] for field in STORE_FIELDS if field in data})
    db.session.add(store)
    db.session.flush()
    index_after_commit(store.id)
    return store


def update_store(store_id: int, changes: Mapping[str, Any]) -> Store:
    store = get_store(store_id)
    if "code" in changes and changes["code"] != store.code:
        _check_code_free(changes["code"])
    for field in STORE_FIELDS:
        if field in changes:
            setattr(store, field, changes[field])
    db.session.flush()
    index_after_commit(store.id)
    return store


def close_store(store_id: int) -> Store:
    """Closed for good: out of the nearby search, kept for orders and history."""
    return update_store(store_id, {"status": "closed"})


def delete_store(store_id: int) -> None:
    store = get_store(store_id)
    db.session.delete(store)
    db.session.flush()
    index_after_commit(store_id)


def set_exception(store_id: int, day: date, hours: list[list[str]], note: str | None) -> StoreHoursException:
    """Set the hours of one dated day (empty hours: closed that day)."""
    store = get_store(store_id)
    exception = next((e for e in store.exceptions if e.day == day), None)
    if exception is None:
        exception = StoreHoursException(day=day)
        store.exceptions.append(exception)
    exception.hours, exception.note = hours, note
    db.session.flush()
    index_after_commit(store.id)
    return exception


def remove_exception(store_id: int, day: date) -> None:
    store = get_store(store_id)
    store.exceptions[:] = [e for e in store.exceptions if e.day != day]
    db.session.flush()
    index_after_commit(store.id)


def upsert_stores(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create or update stores by their code (an import); counts of created and updated."""
    rows = list(rows)
    existing = {s.code: s for s in db.session.scalars(select(Store).where(Store.code.in_([r["code"] for r in rows])))}
    created = []
    for row in rows:
        values = {field: row[field] for field in STORE_FIELDS if field in row}
        store = existing.get(row["code"])
        if store is None:
            created.append(Store(**values))
        else:
            for field, value in values.items():
                setattr(store, field, value)
    db.session.add_all(created)
    db.session.flush()
    index_after_commit(*(store.id for store in [*existing.values(), *created]))
    return {"created": len(created), "updated": len(existing)}


def import_stores_csv(text: str) -> dict[str, int]:
    """All rows or none: every row is checked first, and any error refuses the whole file."""
    parsed = parse_stores_csv(text)
    if parsed.errors:
        errors: dict[str, list[str]] = {}
        for error in parsed.errors:
            message = f"{error.field}: {error.message}" if error.field else error.message
            errors.setdefault(f"line {error.line}", []).append(message)
        raise AppError(StoreError.IMPORT_INVALID, f"{len(parsed.errors)} problem(s) in the file; nothing imported.",
                       errors=errors)
    return upsert_stores(parsed.rows)


def store_detail(store: Store, at: datetime) -> dict[str, Any]:
    """A store with its opening status at ``at`` and its upcoming dated exceptions."""
    exceptions = {e.day: e.hours for e in store.exceptions}
    status = OpeningHours.from_json(store.weekly_hours, exceptions, store.timezone).status(at)
    recent = at.date() - timedelta(days=1)
    return {**{field: getattr(store, field) for field in STORE_FIELDS}, "id": store.id,
            "exceptions": [e for e in store.exceptions if e.day >= recent],
            "open_now": status.open_now, "closes_at": status.closes_at, "next_opens_at": status.next_opens_at}


def store_list(*, city: str | None = None, status: str | None = None, q: str | None = None) -> Select:
    """Stores matching the filters, by id (a statement, for paginate)."""
    # Each listed store shows its exceptions: load them for the page at once, not store by store.
    statement = select(Store).options(selectinload(Store.exceptions)).order_by(Store.id)
    if city:
        statement = statement.where(Store.city == city)
    if status:
        statement = statement.where(Store.status == status)
    if q:
        statement = statement.where(Store.name.contains(q, autoescape=True) | Store.code.startswith(q, autoescape=True))
    return statement


def _check_code_free(code: str) -> None:
    if db.session.scalar(select(Store.id).where(Store.code == code)) is not None:
        raise AppError(StoreError.STORE_CODE_TAKEN, f"Another store has the code {code!r}.")
