"""Coupon error codes: the mini-program and the admin console branch on these."""

from shop.errors import ErrorCode


class CouponError(ErrorCode):
    COUPON_BATCH_NOT_FOUND = ("coupon_batch_not_found", 404)
    COUPON_BATCH_NOT_ACTIVE = ("coupon_batch_not_active", 409)  # draft, paused, ended, or outside its window
    COUPON_BATCH_STATE_CONFLICT = ("coupon_batch_state_conflict", 409)  # not in the state this change needs
    COUPON_OUT_OF_STOCK = ("coupon_out_of_stock", 409)  # the batch's total is all claimed
    COUPON_LIMIT_REACHED = ("coupon_limit_reached", 409)  # this member holds the per-member limit
    COUPON_CLAIM_CONFLICT = ("coupon_claim_conflict", 409)  # a simultaneous claim of the same member won; retry
