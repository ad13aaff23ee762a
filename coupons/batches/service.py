"""Batches: the rules of creating, editing and moving a batch through its states; counts.

Plain functions over explicit arguments; nothing here commits (the API does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from coupons import kinds
from coupons.errors import CouponError
from coupons.models import BatchStatus, Coupon, CouponBatch, CouponStatus
from shop.catalog.models import Category, Product
from shop.database import storable_id
from shop.errors import AppError, CommonError
from shop.extensions import db
from shop.pagination import paginate
from shop.stores.models import Store

MAX_TOTAL = 10_000_000
MAX_PER_MEMBER = 100
MAX_VALID_DAYS = 3650
MAX_SCOPE_IDS = 1000
EDITABLE = ("name", "kind", *kinds.term_names(), "min_spend", "starts_at", "ends_at", "valid_days", "total",
            "per_member_limit", "channel", "usage", "scope_product_ids", "scope_category_ids", "scope_store_ids",
            "daily_limit", "budget_note", "campaign")
# scope field -> the model its ids must name
_SCOPES = {"scope_product_ids": Product, "scope_category_ids": Category, "scope_store_ids": Store}
# state changes: action -> (states it may start from, the state it leads to)
TRANSITIONS = {
    "activate": ((BatchStatus.DRAFT, BatchStatus.PAUSED), BatchStatus.ACTIVE),
    "pause": ((BatchStatus.ACTIVE,), BatchStatus.PAUSED),
    "end": ((BatchStatus.ACTIVE, BatchStatus.PAUSED), BatchStatus.ENDED),
}


def batch_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong across the fields of a whole batch (each field's own range is the schema's, the
    kind's terms are the kind's: coupons.kinds.term_errors)."""
    errors: dict[str, list[str]] = {}

    def bad(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, messages in kinds.term_errors(data).items():
        for message in messages:
            bad(field, message)
    starts_at, ends_at, valid_days = data.get("starts_at"), data.get("ends_at"), data.get("valid_days")
    if valid_days is not None:
        for field in ("starts_at", "ends_at"):
            if data.get(field) is not None:
                bad(field, "Give either a fixed window (starts_at, ends_at) or valid_days, not both.")
    else:
        if starts_at is None:
            bad("starts_at", "Required for a fixed window (or give valid_days instead).")
        if ends_at is None:
            bad("ends_at", "Required for a fixed window (or give valid_days instead).")
        if starts_at is not None and ends_at is not None and ends_at <= starts_at:
            bad("ends_at", "Must be after starts_at.")
    return errors


def scope_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Scope ids that name no product, category or store."""
    errors = {}
    for field, model in _SCOPES.items():
        ids = set(data.get(field) or ())
        if ids:
            missing = ids - set(db.session.scalars(select(model.id).where(model.id.in_(ids))))
            if missing:
                errors[field] = [f"No such {model.__tablename__}: {', '.join(map(str, sorted(missing)))}."]
    return errors


def _check(data: Mapping[str, Any]) -> None:
    errors = batch_errors(data) | scope_errors(data)
    if errors:
        raise AppError(CommonError.VALIDATION_ERROR, "The batch has invalid fields; see errors.", errors=errors)


def _with_default_usage(data: Mapping[str, Any]) -> dict[str, Any]:
    """Usage left out (or null): where the kind's coupons can be spent (coupons.kinds.default_usage)."""
    return {**data, "usage": data.get("usage") or kinds.default_usage(data.get("kind"))}


def create_batch(data: Mapping[str, Any], *, staff_id: int | None, now: datetime) -> CouponBatch:
    data = _with_default_usage(data)
    _check(data)
    batch = CouponBatch(**{field: _stored(field, data[field]) for field in EDITABLE if field in data},
                        status=BatchStatus.DRAFT.value, created_by_staff_id=staff_id,
                        created_at=now, updated_at=now)
    db.session.add(batch)
    db.session.flush()
    return batch


def _stored(field: str, value: Any) -> Any:
    """Scope ids are kept sorted and once each."""
    return sorted(set(value)) if field in _SCOPES and value is not None else value


def get_batch(batch_id: int, *, for_update: bool = False) -> CouponBatch:
    if not storable_id(batch_id):
        raise AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    statement = select(CouponBatch).where(CouponBatch.id == batch_id)
    batch = db.session.scalar(statement.with_for_update() if for_update else statement)
    if batch is None:
        raise AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    return batch


def update_batch(batch_id: int, changes: Mapping[str, Any], *, now: datetime) -> CouponBatch:
    """Change a draft; the result is checked as a whole."""
    batch = get_batch(batch_id, for_update=True)
    if batch.status != BatchStatus.DRAFT:
        raise AppError(CouponError.COUPON_BATCH_STATE_CONFLICT,
                       f"Only a draft batch can be edited; this one is {batch.status}.")
    merged = _with_default_usage({field: getattr(batch, field) for field in EDITABLE} | dict(changes))
    _check(merged)
    for field in EDITABLE:
        setattr(batch, field, _stored(field, merged[field]))
    batch.updated_at = now
    return batch


def change_status(batch_id: int, action: str, *, now: datetime) -> CouponBatch:
    """activate (draft or paused), pause (active), end (active or paused); 409 from any other state."""
    sources, target = TRANSITIONS[action]
    batch = get_batch(batch_id, for_update=True)
    if batch.status not in sources:
        allowed = " or ".join(source.value for source in sources)
        raise AppError(CouponError.COUPON_BATCH_STATE_CONFLICT,
                       f"Cannot {action} a batch that is {batch.status} (only from {allowed}).")
    batch.status = target.value
    batch.updated_at = now
    return batch


def issued_counts(batch_ids: Iterable[int], *, member_id: int | None = None,
                  status: CouponStatus | None = None) -> dict[int, int]:
    """Coupons issued per batch (to ``member_id`` only, and in ``status`` only, if given)."""
    ids = list(batch_ids)
    if not ids:
        return {}
    statement = select(Coupon.batch_id, func.count()).where(Coupon.batch_id.in_(ids)).group_by(Coupon.batch_id)
    if member_id is not None:
        statement = statement.where(Coupon.member_id == member_id)
    if status is not None:
        statement = statement.where(Coupon.status == status.value)
    counts = dict(db.session.execute(statement).tuples().all())
    return {batch_id: counts.get(batch_id, 0) for batch_id in ids}


def with_counts(batch: CouponBatch, issued: int) -> dict[str, Any]:
    return {**{column: getattr(batch, column) for column in ("id", "status", "created_at", "updated_at")},
            **{field: getattr(batch, field) for field in EDITABLE},
            "issued": issued, "remaining": max(batch.total - issued, 0)}


def batch_detail(batch_id: int) -> dict[str, Any]:
    batch = get_batch(batch_id)
    return with_counts(batch, issued_counts([batch.id])[batch.id])


def list_batches(*, status: str | None, page: int, page_size: int) -> dict[str, Any]:
    statement = select(CouponBatch).order_by(CouponBatch.id.desc())
    if status:
        statement = statement.where(CouponBatch.status == status)
    result = paginate(statement, page=page, page_size=page_size)
    counts = issued_counts(batch.id for batch in result["items"])
    result["items"] = [with_counts(batch, counts[batch.id]) for batch in result["items"]]
    return result
