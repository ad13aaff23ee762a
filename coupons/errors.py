"""Coupon error codes: the mini-program and the admin console branch on these."""

from shop.errors import ErrorCode


class CouponError(ErrorCode):
    COUPON_BATCH_NOT_FOUND = ("coupon_batch_not_found", 404)
    COUPON_BATCH_NOT_ACTIVE = ("coupon_batch_not_active", 409)  # draft, paused, ended, or outside its window
    COUPON_BATCH_STATE_CONFLICT = ("coupon_batch_state_conflict", 409)  # not in the state this change needs
    COUPON_OUT_OF_STOCK = ("coupon_out_of_stock", 409)  # the batch's total is all claimed
    COUPON_LIMIT_REACHED = ("coupon_limit_reached", 409)  # this member holds the per-member limit
    COUPON_CLAIM_CONFLICT = ("coupon_claim_conflict", 409)  # a simultaneous claim of the same member won; retry
    COUPON_DAILY_LIMIT_REACHED = ("coupon_daily_limit_reached", 409)  # today's claims (Asia/Shanghai) are all taken
    COUPON_BATCH_WRONG_CHANNEL = ("coupon_batch_wrong_channel", 409)  # e.g. issuing codes for a public batch
    COUPON_ISSUE_JOB_NOT_FOUND = ("coupon_issue_job_not_found", 404)
    EXCHANGE_CODE_NOT_FOUND = ("exchange_code_not_found", 404)
    EXCHANGE_CODE_USED = ("exchange_code_used", 409)  # the code was exchanged before (by anyone)
