"""Coupon endpoints: batches for marketing, the claim center and the wallet for shoppers."""

from itertools import chain

from flask import Response, request, stream_with_context
from flask_smorest import Blueprint

from coupons.batches import service
from coupons.claiming import exchange, targeted
from coupons.claiming import service as claiming
from coupons.claiming.schemas import (
    ClaimableBatchSchema,
    CouponSchema,
    ExchangeArgs,
    ExchangeCodesArgs,
    ExchangeCodesSchema,
    IssueArgs,
    IssueJobSchema,
    WalletArgs,
)
from coupons.errors import CouponError
from shop import rate_limits
from shop.auth import Role, confirm_account, current_member_id, current_principal, roles_required
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db
from shop.idempotency import IdempotencyError, key_doc, required_key
from shop.pagination import PageArgs, page_of

blp = Blueprint("coupons", __name__, url_prefix="/api/v1", description=(
    "Claiming coupons and the wallet (marketing manages batches under `coupon_batches`). Amounts are integer fen. A batch is `draft` (editable), then `active` "
    "(claimable), `paused` (not claimable; activate again) or `ended` (for good). Claims never exceed the "
    "batch's `total`, its `per_member_limit` nor its `daily_limit`, however many arrive at once and whatever "
    "state Redis is in: an atomic Redis gate hands out each coupon's numbers (issue number, the member's "
    "sequence, the day's number) and the database refuses a number given twice or beyond its bound; a "
    "gate found stale is rebuilt from the coupon rows by itself. At checkout (`coupon_id` of "
    "`orders/preview` and `orders`) a coupon is locked by the order, used when it is paid, released when "
    "it is cancelled, and returned by a full refund before shipping or pickup while still valid "
    "(see the Coupon schema). A coupon that cannot be used answers preview and create with its own code: "
    "404 `coupon_not_found` (unknown or another member's); 409 `coupon_locked`, `coupon_used`, "
    "`coupon_expired`, `coupon_not_yet_valid`; 422 `coupon_not_usable_online` (in-store only), "
    "`coupon_store_not_in_scope` (pickup at a store it does not cover; delivery is bound to no store), "
    "`coupon_not_applicable` (nothing in the basket is covered), `coupon_min_spend_not_met` (measured on "
    "the covered items). Without `coupon_id`, preview's `suggestions.coupons.best` names the usable coupon "
    "taking off the most (tie: the soonest to expire); it is not applied until chosen. Percent discounts "
    "round up to the fen (in the shopper's favour) and no discount exceeds what the covered items cost. A "
    "coupon's discount is allocated to the order lines it came from (the half-price cup's line), so a refund "
    "of a line gives back what that line paid; `coupon_not_applicable` also answers a coupon that would take "
    "nothing off (one cup for second cup half price)."))
ADMIN_ROLES = (Role.MARKETING, Role.ADMIN)
_KEY_DOC = key_doc("New per claim; a retry with the same key returns the first coupon.")


@blp.route("/coupon-batches", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ClaimableBatchSchema))
def claimable(page):
    """Batches you can claim now, with how many more you may claim

    Only `public` batches are claimed here; a batch of another channel (new_member, follower, targeted,
    friend_purchase, exchange_code) reaches you by itself or by code, and is 404 to claim. Role: shopper.
    """
    return claiming.claimable_batches(current_member_id(), now=utcnow(), **page)


@blp.route("/coupon-batches/<id:batch_id>/claim", methods=["POST"])
@roles_required(Role.SHOPPER, late_account_check=True)  # "sold out" from Redis alone: see shop/auth.py
@blp.response(201, CouponSchema)
@blp.doc(parameters=_KEY_DOC)
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_NOT_ACTIVE, CouponError.COUPON_OUT_OF_STOCK,
        CouponError.COUPON_LIMIT_REACHED, CouponError.COUPON_DAILY_LIMIT_REACHED, CouponError.COUPON_CLAIM_CONFLICT,
        CouponError.COUPON_GATE_REBUILDING, IdempotencyError.KEY_REQUIRED, IdempotencyError.KEY_REUSED)
def claim_coupon(batch_id):
    """Claim a coupon of a batch

    201 with the new coupon; a retry with the same `Idempotency-Key` answers 200 with the first one
    (the key used on another batch: 422 `idempotency_key_reused`). 409 `coupon_out_of_stock`,
    `coupon_limit_reached`, `coupon_daily_limit_reached`, `coupon_batch_not_active`, `coupon_claim_conflict`
    (the batch kept changing: retry); 404 `coupon_batch_not_found`; 503 `coupon_gate_rebuilding` with
    `Retry-After` (the claim gate is being rebuilt from the database after Redis came back stale or empty:
    nothing was issued, retry). Role: shopper.
    """
    key = required_key()
    now = utcnow()
    claimed = claiming.claim(batch_id=batch_id, member_id=current_member_id(), key=key, now=now,
                             before_write=confirm_account)
    body = {"coupon": claimed.coupon, "batch": claimed.batch, "status": claiming.shown_status(claimed.coupon, now)}
    return body, 201 if claimed.created else 200


@blp.route("/me/coupons", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(WalletArgs, location="query")
@blp.response(200, page_of(CouponSchema))
def my_coupons(args):
    """Your coupons: `available` soonest to expire first, others newest first

    A coupon past its `expires_at` shows as `expired`; `locked` ones are held by an unpaid order.
    Role: shopper.
    """
    return claiming.wallet(current_member_id(), now=utcnow(), **args)


@blp.route("/me/coupons/<id:coupon_id>", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.response(200, CouponSchema)
@raises(CouponError.COUPON_NOT_FOUND)
def my_coupon(coupon_id):
    """One of your coupons, with its batch; another member's is 404 `coupon_not_found`. Role: shopper."""
    return claiming.own_coupon(current_member_id(), coupon_id, now=utcnow())


@blp.route("/admin/coupon-batches/<id:batch_id>/issue", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(IssueArgs)
@blp.response(202, IssueJobSchema)
@blp.doc(parameters=[{**key_doc("Optional: a retry with the same key returns the first job instead of "
                                 "starting another.")[0], "required": False}])
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_WRONG_CHANNEL,
        CouponError.COUPON_BATCH_NOT_ACTIVE, IdempotencyError.KEY_REUSED, IdempotencyError.KEY_REQUIRED,
        notes={IdempotencyError.KEY_REQUIRED: "the key sent is malformed"})
def issue_to_members(args, batch_id):
    """Issue a targeted batch to members (a background job)

    Starts a job that issues one coupon to each listed member through the same gate as claims: never
    beyond the batch's total, per-member or daily limit. Follow it at `issue-jobs/{job_id}`: members
    processed, issued and skipped with reasons (`unknown_member`, `already_issued` (listed twice),
    `limit_reached`, `out_of_stock`, `daily_limit_reached`, `batch_not_active` (paused meanwhile)).
    `holdout_percent` holds out a random share of the known members as a control group (`control`), assigned
    before any coupon is sent and never issued one; the campaign report compares the groups.
    409 `coupon_batch_wrong_channel` (not a targeted batch), `coupon_batch_not_active`. Role: marketing, admin.
    """
    key = required_key() if request.headers.get("Idempotency-Key") is not None else None
    job, created = targeted.start_job(batch_id, {"member_ids": args["member_ids"]}, requested=len(args["member_ids"]),
                                      key=key, staff_id=current_principal().staff_id, now=utcnow(),
                                      holdout_percent=args["holdout_percent"], holdout_seed=args["holdout_seed"])
    job_id = job.id
    db.session.commit()  # the job runs after this (in-process) or is queued for a worker (RQ)
    return targeted.get_job(batch_id, job_id), 202 if created else 200


@blp.route("/admin/coupon-batches/<id:batch_id>/issue-jobs", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(IssueJobSchema))
@raises(CouponError.COUPON_BATCH_NOT_FOUND)
def issue_jobs(page, batch_id):
    """A batch's issue jobs, newest first. Role: marketing, admin."""
    return targeted.list_jobs(batch_id, **page)


@blp.route("/admin/coupon-batches/<id:batch_id>/issue-jobs/<job_id>", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, IssueJobSchema)
@raises(CouponError.COUPON_ISSUE_JOB_NOT_FOUND)
def issue_job(batch_id, job_id):
    """An issue job's progress. 404 `coupon_issue_job_not_found`. Role: marketing, admin."""
    return targeted.get_job(batch_id, job_id)


@blp.route("/admin/coupon-batches/<id:batch_id>/exchange-codes", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(ExchangeCodesArgs)
@blp.response(201, ExchangeCodesSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_WRONG_CHANNEL,
        CouponError.COUPON_BATCH_STATE_CONFLICT)
def generate_exchange_codes(args, batch_id):
    """Generate exchange codes for an exchange_code batch

    12 characters each (digits and capitals without 0, O, 1, I, L), unguessable, unique. A batch never
    has more codes than its total (422 names `count`). Export them as CSV from `exchange-codes.csv`.
    409 `coupon_batch_wrong_channel`, `coupon_batch_state_conflict` (ended). Role: marketing, admin.
    """
    result = exchange.generate_codes(batch_id, args["count"], now=utcnow())
    db.session.commit()
    return result


@blp.route("/admin/coupon-batches/<id:batch_id>/exchange-codes.csv", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.doc(responses={"200": {"description": "CSV: code, created_at, redeemed_at (empty while unused).",
                            "content": {"text/csv": {"schema": {"type": "string"}}}}})
@raises(CouponError.COUPON_BATCH_NOT_FOUND)
def export_exchange_codes(batch_id):
    """A batch's exchange codes as CSV. Role: marketing, admin."""
    rows = exchange.export_rows(batch_id)
    first = next(rows)  # a missing batch answers 404 before the download starts
    return Response(stream_with_context(chain([first], rows)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="coupon-batch-{batch_id}-codes.csv"'})


def _failed_exchange(response) -> bool:
    """Only failed exchanges count against the member: guessing codes gets nowhere, exchanging many does."""
    return response.status_code in (404, 409)


@blp.route("/me/coupons/exchange", methods=["POST"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_EXCHANGE_FAILURES_PER_MEMBER", deduct_when=_failed_exchange)
@blp.arguments(ExchangeArgs)
@blp.response(201, CouponSchema)
@raises(CouponError.EXCHANGE_CODE_NOT_FOUND, CouponError.EXCHANGE_CODE_USED, CouponError.COUPON_LIMIT_REACHED,
        CouponError.COUPON_OUT_OF_STOCK, CouponError.COUPON_DAILY_LIMIT_REACHED, CouponError.COUPON_BATCH_NOT_ACTIVE,
        CouponError.COUPON_CLAIM_CONFLICT, CouponError.COUPON_GATE_REBUILDING, CommonError.RATE_LIMITED)
def exchange_code(args):
    """Exchange a printed code for its coupon

    Once per code: a second exchange, by anyone, is 409 `exchange_code_used`; an unknown code 404
    `exchange_code_not_found`. Failed attempts (404, 409) are limited per member
    (`RATE_LIMIT_EXCHANGE_FAILURES_PER_MEMBER`, 10 a minute, 50 a day), then 429 `rate_limited`.
    409 `coupon_limit_reached`, `coupon_out_of_stock`, `coupon_daily_limit_reached`,
    `coupon_batch_not_active` leave the code unused, as does 503 `coupon_gate_rebuilding` (retry). Role: shopper.
    """
    now = utcnow()
    coupon = exchange.exchange(current_member_id(), args["code"], now=now)
    db.session.commit()
    return {"coupon": coupon, "batch": service.get_batch(coupon.batch_id), "status": claiming.shown_status(coupon, now)}
