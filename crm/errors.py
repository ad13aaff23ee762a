"""CRM error codes (tags, segments, the admin's member view): the console branches on these."""

from shop.errors import ErrorCode


class CrmError(ErrorCode):
    TAG_NOT_FOUND = ("tag_not_found", 404)
    TAG_NAME_TAKEN = ("tag_name_taken", 409)
    TAG_COMPUTED = ("tag_computed", 409)  # computed tags are kept by their rules, not by hand
    TAG_JOB_NOT_FOUND = ("tag_job_not_found", 404)
    TAG_CSV_INVALID = ("tag_csv_invalid", 422)
    SEGMENT_RULE_INVALID = ("segment_rule_invalid", 422)
    SEGMENT_NOT_FOUND = ("segment_not_found", 404)
    SEGMENT_NAME_TAKEN = ("segment_name_taken", 409)
    MEMBER_NOT_FOUND = ("crm_member_not_found", 404)
    REPORT_PERIOD_INVALID = ("report_period_invalid", 422)  # `to` before `from`, or more than MAX_REPORT_DAYS
