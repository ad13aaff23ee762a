"""Stores: create, update, close, delete, dated hour exceptions, bulk import; every change reindexed."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Select, delete, exists, select
from sqlalchemy.orm import selectinload

from shop.errors import AppError, too_large_error
from shop.extensions import db
from shop.stores.errors import StoreError
from shop.stores.geo import index_after_commit
from shop.stores.hours import OpeningHours
from shop.stores.importing import MAX_FILE_BYTES, parse_stores_csv
from shop.stores.models import Store, StoreHoursException

STORE_FIELDS = ("code", "name", "address", "city", "district", "lat", "lng", "phone", "timezone",
                "services", "status", "weekly_hours", "prepares_orders")


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
    """Delete a store entered by mistake; one that kept records refer to is refused (close it instead)."""
    # Locked first: on PostgreSQL an order or sale written meanwhile waits for this check, or is seen by it.
    store = db.session.get(Store, store_id, with_for_update=True)
    if store is None:
        raise AppError(StoreError.STORE_NOT_FOUND, "No such store.")
    references = _references_to_stores()
    kept_by = sorted({key.parent.table.name for key in references if _on_delete(key) not in ("CASCADE", "SET NULL")
                      and db.session.scalar(select(exists().where(key.parent == store_id)))})
    if kept_by:
        raise AppError(StoreError.STORE_HAS_HISTORY,
                       f"The store has records that are kept ({', '.join(kept_by)}): close it instead.",
                       details={"kept_by": kept_by})
    db.session.delete(store)
    db.session.flush()
    # What ON DELETE CASCADE does on PostgreSQL, done on SQLite too (it enforces no foreign keys here): a clerk
    # must not keep a deleted store among their stores.
    for key in references:
        if _on_delete(key) == "CASCADE":
            db.session.execute(delete(key.parent.table).where(key.parent == store_id))
    index_after_commit(store_id)


def _references_to_stores() -> list[ForeignKey]:
    """Every foreign key to a store, read from the tables: a new kind of record that refers to stores is covered
    without a change here (and without ``shop`` importing the packages that keep such records)."""
    return [key for table in db.metadata.sorted_tables for key in table.foreign_keys
            if key.target_fullname == f"{Store.__tablename__}.id"]


def _on_delete(key: ForeignKey) -> str:
    return (key.ondelete or "NO ACTION").upper()


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
    """Create or update stores by their code (an import); counts of created, updated and unchanged.

    A store whose values are all as given is not written, so an unchanged file changes nothing,
    not even the store-set version that makes every process re-check the nearby index.
    """
    rows = list(rows)
    existing = {s.code: s for s in db.session.scalars(select(Store).where(Store.code.in_([r["code"] for r in rows])))}
    created, updated = [], []
    for row in rows:
        values = {field: row[field] for field in STORE_FIELDS if field in row}
        store = existing.get(row["code"])
        if store is None:
            created.append(Store(**values))
            continue
        changes = {field: value for field, value in values.items() if getattr(store, field) != value}
        for field, value in changes.items():
            setattr(store, field, value)
        if changes:
            updated.append(store)
    db.session.add_all(created)
    db.session.flush()
    if created or updated:
        index_after_commit(*(store.id for store in [*updated, *created]))
    return {"created": len(created), "updated": len(updated), "unchanged": len(existing) - len(updated)}


def import_stores_file(raw: bytes) -> dict[str, int]:
    """A stores CSV as uploaded or read from disk: within the size limit, UTF-8, then all rows or none."""
    if len(raw) > MAX_FILE_BYTES:
        raise too_large_error("The file", MAX_FILE_BYTES)
    return import_stores_csv(decode_stores_csv(raw))


def decode_stores_csv(raw: bytes) -> str:
    """The text of a stores CSV: UTF-8, with or without Excel's BOM; anything else is refused, saying what it looks like."""
    body = raw.removeprefix(codecs.BOM_UTF8)  # Excel's "CSV UTF-8" starts with one
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        looks_like = _encoding_guess(raw)
        raise AppError(StoreError.IMPORT_NOT_UTF8,
                       f"The file is not UTF-8: line {line} is not UTF-8 text"
                       + (f" (it looks like {looks_like})" if looks_like else "")
                       + '. Save it as "CSV UTF-8" and import it again.',
                       details={"line": line, "looks_like": looks_like}) from None


def _encoding_guess(raw: bytes) -> str | None:
    """What a non-UTF-8 stores file most likely is: Excel on Chinese Windows saves "CSV" as GBK."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"  # Excel's "Unicode Text"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "GBK/GB18030"


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
