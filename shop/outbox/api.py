"""Admin view of the outbox: work that failed for good, and sending it again."""

from flask_smorest import Blueprint

from shop.auth import Role, roles_required
from shop.database import utcnow
from shop.errors import raises
from shop.extensions import db
from shop.jobs import dispatch_after_commit
from shop.outbox import service
from shop.outbox.errors import OutboxError
from shop.outbox.schemas import OutboxEntrySchema, OutboxFilterArgs
from shop.pagination import page_of

blp = Blueprint("outbox", __name__, url_prefix="/api/v1", description=(
    "Work handed on after a commit: refunds sent to WeChat Pay, transfers of withdrawals, closing WeChat Pay "
    "transactions, targeted coupon issuance. Each is written in the same transaction as the change that "
    "needs it, run after the commit (by an RQ worker in production), retried with a backoff that doubles from "
    "5 s up to OUTBOX_BACKOFF_CAP_SECONDS, and picked up by the periodic sweep if its queued job was lost. "
    "Work that WeChat Pay refuses for good, or that failed OUTBOX_MAX_ATTEMPTS times, ends `failed`: it is "
    "listed here with its last error and can be sent again. Every job is idempotent (a refund is sent again "
    "under the same out_refund_no, a transfer under the same out_bill_no), so sending again never pays twice."))


@blp.route("/admin/outbox", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.arguments(OutboxFilterArgs, location="query")
@blp.response(200, page_of(OutboxEntrySchema))
def list_entries(args):
    """Outbox entries, newest first, by `status` (e.g. `failed`) and `kind`

    Each shows its job (`kind`), arguments, attempts, last error and times. Role: admin.
    """
    return service.list_entries(status=args.pop("status"), kind=args.pop("kind"), **args)


@blp.route("/admin/outbox/<id:entry_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.response(200, OutboxEntrySchema)
@raises(OutboxError.ENTRY_NOT_FOUND, OutboxError.ENTRY_NOT_FAILED)
def retry_entry(entry_id):
    """Send failed work again

    The entry goes back to `pending`, due now, with its attempts counted from 0 again (its last
    error stays until it runs), and is handed to a runner at once; the answer shows it as it stands
    after that (in production a worker runs it moments later). 404 `outbox_entry_not_found`; 409
    `outbox_entry_not_failed` unless it is `failed`. Role: admin.
    """
    entry = service.retry(entry_id, now=utcnow())
    dispatch_after_commit(entry.id, attempts=entry.attempts)
    db.session.commit()
    return entry
