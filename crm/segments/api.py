"""Segment endpoints for marketing and admins: preview a rule, save it, list, read, delete; issue a
targeted coupon batch to a segment's consenting members."""

from flask_smorest import Blueprint

from coupons.claiming import targeted
from coupons.claiming.schemas import IssueJobSchema
from coupons.errors import CouponError
from crm.errors import CrmError
from crm.segments import service
from crm.segments.schemas import (
    PreviewSchema,
    RuleArgs,
    SegmentArgs,
    SegmentIssueArgs,
    SegmentListArgs,
    SegmentPageSchema,
    SegmentSchema,
)
from shop.auth import Role, current_principal, roles_required
from shop.database import utcnow
from shop.errors import raises
from shop.extensions import db
from shop.replica import documented_replica_report

blp = Blueprint("crm_segments", __name__, url_prefix="/api/v1/admin", description=(
    "Segments: saved rules over members. A rule is `{\"all\": [...]}`, `{\"any\": [...]}`, `{\"not\": rule}` "
    "(at most 6 levels, 60 conditions and groups, 20 rules a group) or a condition `{\"field\", \"op\", "
    "\"value\"}`. Fields and ops: `tag` (has, in: tag names); `spend_fen`, `order_count` (= != < <= > >=, "
    "optional `period_days`: paid orders net of refunds in the last N days); `last_order_at`, `registered_at` "
    "(compared with ISO 8601 times with a zone); `arrival_scene`, `city` (of the home store), `tier`, "
    "`home_store_id`, `regular_store_id`, `marketing_consent` (unknown, granted, withdrawn) (= != in); "
    "`following` (= != true/false); `points_balance`, `referral_depth`, `downline_size` (numbers). A member "
    "lacking a value (no order yet) fails `=`, `<`, `in` ... and passes `!=`. `tier` and `regular_store_id` "
    "are as of the last refresh of the computed tags. A wrong rule is 422 `segment_rule_invalid` with "
    "`errors` keyed by the JSON path of each wrong part (`$.all[1].value`). Targeting (coupon issuance to "
    "a segment) reaches only the members who granted marketing consent."))
ROLES = (Role.MARKETING, Role.ADMIN)


@blp.route("/segments/preview", methods=["POST"])
@roles_required(*ROLES)
@blp.arguments(RuleArgs)
@blp.response(200, PreviewSchema)
@raises(CrmError.SEGMENT_RULE_INVALID)
@documented_replica_report()
def preview(args):
    """How many members a rule holds, and a sample. Role: marketing, admin."""
    return service.preview(args["rule"], now=utcnow())


@blp.route("/segments", methods=["POST"])
@roles_required(*ROLES)
@blp.arguments(SegmentArgs)
@blp.response(201, SegmentSchema)
@raises(CrmError.SEGMENT_RULE_INVALID, CrmError.SEGMENT_NAME_TAKEN)
def create_segment(args):
    """Save a rule as a named segment. 409 `segment_name_taken`. Role: marketing, admin."""
    segment = service.create_segment(args["name"], args["rule"], staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return service.segment_view(segment, utcnow())


@blp.route("/segments", methods=["GET"])
@roles_required(*ROLES)
@blp.arguments(SegmentListArgs, location="query")
@blp.response(200, SegmentPageSchema)
def list_segments(args):
    """Segments by name. Role: marketing, admin."""
    return service.list_segments(**args)


@blp.route("/segments/<id:segment_id>", methods=["GET"])
@roles_required(*ROLES)
@blp.response(200, SegmentSchema)
@raises(CrmError.SEGMENT_NOT_FOUND)
def get_segment(segment_id):
    """A segment with how many members it holds now. Role: marketing, admin."""
    return service.segment_view(service.get_segment(segment_id), utcnow())


@blp.route("/segments/<id:segment_id>", methods=["DELETE"])
@roles_required(*ROLES)
@blp.response(204)
@raises(CrmError.SEGMENT_NOT_FOUND)
def delete_segment(segment_id):
    """Delete a segment (issue jobs already started keep running on its rule). Role: marketing, admin."""
    service.delete_segment(segment_id)
    db.session.commit()


@blp.route("/segments/<id:segment_id>/issue", methods=["POST"])
@roles_required(*ROLES)
@blp.arguments(SegmentIssueArgs)
@blp.response(202, IssueJobSchema)
@raises(CrmError.SEGMENT_NOT_FOUND, CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_WRONG_CHANNEL,
        CouponError.COUPON_BATCH_NOT_ACTIVE)
def issue_to_segment(args, segment_id):
    """Issue a targeted batch to a segment's members who granted marketing consent (a background job)

    The job (source `{"segment_id": N}`) is the batch's targeted issuance: the same gate, limits and progress
    as `POST /admin/coupon-batches/{id}/issue`, holdout included; the segment is read as the job runs.
    Role: marketing, admin.
    """
    job_id = service.issue_batch(segment_id, args["batch_id"], staff_id=current_principal().staff_id, now=utcnow(),
                                 holdout_percent=args["holdout_percent"], holdout_seed=args["holdout_seed"]).id
    db.session.commit()
    return targeted.get_job(args["batch_id"], job_id)
