"""Request and response shapes of the outbox's admin endpoints."""

import marshmallow as ma
from marshmallow import validate

from shop.fields import text
from shop.outbox.models import MAX_KIND, OutboxStatus
from shop.pagination import PageArgs


class OutboxFilterArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in OutboxStatus]))
    kind = text(MAX_KIND, load_default=None, metadata={"description": "The job, e.g. `shop.orders.refunds:send_refund`."})


class OutboxEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "The job that runs the work (`module:function`)."})
    args = ma.fields.List(ma.fields.Raw(), metadata={"description": "Its arguments (e.g. the refund number)."})
    dedupe_key = ma.fields.String(allow_none=True, metadata={
        "description": "The same work is written once per kind and key."})
    status = ma.fields.String(metadata={
        "enum": [s.value for s in OutboxStatus],
        "description": "pending (waits for next_attempt_at) -> running (claimed until lease_until) -> done; "
                       "back to pending after a failure; failed when it gave up (a final answer, or "
                       "OUTBOX_MAX_ATTEMPTS runs): an admin may send it again."})
    attempts = ma.fields.Integer(metadata={"description": "Runs started since it was written or last retried."})
    last_error = ma.fields.String(allow_none=True)
    next_attempt_at = ma.fields.AwareDateTime()
    lease_until = ma.fields.AwareDateTime(allow_none=True)
    claimed_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    done_at = ma.fields.AwareDateTime(allow_none=True)
