"""Tag endpoints for marketing and admins: tags with their counts, manual tags on one member or many."""

from flask import request
from flask_smorest import Blueprint

from crm.errors import CrmError
from crm.tags import service
from crm.tags.schemas import (
    ChangedSchema,
    TagArgs,
    TagCsvArgs,
    TagJobArgs,
    TagJobSchema,
    TagListArgs,
    TagPageSchema,
    TagSchema,
)
from shop.auth import Role, current_principal, roles_required
from shop.database import utcnow
from shop.errors import AppError, CommonError, raises
from shop.extensions import db

blp = Blueprint("crm_tags", __name__, url_prefix="/api/v1/admin", description=(
    "Member tags. `manual` tags are set by marketing (one member, or many through a job with progress); "
    "`computed` tags (`follower`, `new_member`, `sharer`, `promoter`, `high_value`, `lapsed`, "
    "`regular_store:<id>`, `tier:<name>`) are kept by a periodic job from their rules and thresholds "
    "(CRM_* settings) and cannot be set by hand."))
ROLES = (Role.MARKETING, Role.ADMIN)
MAX_CSV_BYTES = 4 * 1024 * 1024


@blp.route("/tags", methods=["GET"])
@roles_required(*ROLES)
@blp.arguments(TagListArgs, location="query")
@blp.response(200, TagPageSchema)
def list_tags(args):
    """Tags by name, with how many members carry each. Role: marketing, admin."""
    return service.list_tags(**args)


@blp.route("/tags", methods=["POST"])
@roles_required(*ROLES)
@blp.arguments(TagArgs)
@blp.response(201, TagSchema)
@raises(CrmError.TAG_NAME_TAKEN, CrmError.TAG_COMPUTED)
def create_tag(args):
    """Create a manual tag. 409 `tag_name_taken`, or `tag_computed` for a computed tag's name. Role: marketing, admin."""
    tag = service.create_tag(args["name"], now=utcnow())
    db.session.commit()
    return {**service.tag_view(tag), "members": 0}


@blp.route("/members/<id:member_id>/tags/<id:tag_id>", methods=["PUT"])
@roles_required(*ROLES)
@blp.response(200, ChangedSchema)
@raises(CrmError.TAG_NOT_FOUND, CrmError.TAG_COMPUTED, CrmError.MEMBER_NOT_FOUND)
def tag_member(member_id, tag_id):
    """Put a manual tag on a member (again: no change). Role: marketing, admin."""
    changed = service.tag_member(tag_id, member_id, now=utcnow())
    db.session.commit()
    return {"changed": changed}


@blp.route("/members/<id:member_id>/tags/<id:tag_id>", methods=["DELETE"])
@roles_required(*ROLES)
@blp.response(200, ChangedSchema)
@raises(CrmError.TAG_NOT_FOUND, CrmError.TAG_COMPUTED, CrmError.MEMBER_NOT_FOUND)
def untag_member(member_id, tag_id):
    """Take a manual tag off a member. Role: marketing, admin."""
    changed = service.untag_member(tag_id, member_id)
    db.session.commit()
    return {"changed": changed}


@blp.route("/tags/<id:tag_id>/jobs", methods=["POST"])
@roles_required(*ROLES)
@blp.arguments(TagJobArgs)
@blp.response(202, TagJobSchema)
@raises(CrmError.TAG_NOT_FOUND, CrmError.TAG_COMPUTED)
def start_job(args, tag_id):
    """Add or remove a manual tag for a list of members, as a job

    Answers at once with the queued job; `GET .../jobs/{job_id}` shows its progress. Ids of no member are
    counted as `unknown`. Role: marketing, admin.
    """
    job = service.start_job(tag_id, args["action"], args["member_ids"], staff_id=current_principal().staff_id,
                            now=utcnow())
    db.session.commit()
    return db.session.get(type(job), job.id)


@blp.route("/tags/<id:tag_id>/jobs/csv", methods=["POST"])
@roles_required(*ROLES)
@blp.arguments(TagCsvArgs, location="query")
@blp.response(202, TagJobSchema)
@raises(CrmError.TAG_NOT_FOUND, CrmError.TAG_COMPUTED, CrmError.TAG_CSV_INVALID, CommonError.PAYLOAD_TOO_LARGE)
def start_csv_job(args, tag_id):
    """Add or remove a manual tag for the members of a CSV (body `text/csv` or a multipart `file`)

    One member id in the first column of each row; a header row is skipped. 422 `tag_csv_invalid` names the
    rows that hold no id (`details.rows`), and then no job starts. Role: marketing, admin.
    """
    service.manual_tag(tag_id)
    ids = service.parse_csv_ids(_csv_bytes())
    job = service.start_job(tag_id, args["action"], ids, staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return db.session.get(type(job), job.id)


@blp.route("/tags/<id:tag_id>/jobs/<job_id>", methods=["GET"])
@roles_required(*ROLES)
@blp.response(200, TagJobSchema)
@raises(CrmError.TAG_JOB_NOT_FOUND)
def job_status(tag_id, job_id):
    """A tag job's progress. Role: marketing, admin."""
    return service.get_job(tag_id, job_id)


def _csv_bytes() -> bytes:
    request.max_content_length = MAX_CSV_BYTES
    upload = request.files.get("file")
    raw = upload.read(MAX_CSV_BYTES + 1) if upload else request.get_data()
    if not raw:
        raise AppError(CrmError.TAG_CSV_INVALID, "Send the CSV as the body or as a 'file' upload.")
    return raw
