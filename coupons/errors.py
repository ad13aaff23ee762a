"""Coupon error codes: the mini-program and the admin console branch on these."""

from shop.errors import ErrorCode


class CouponError(ErrorCode):
    COUPON_BATCH_NOT_FOUND = ("coupon_batch_not_found", 404)
    COUPON_BATCH_NOT_ACTIVE = ("coupon_batch_not_active", 409)  # draft, paused, ended, or outside its window
    COUPON_BATCH_STATE_CONFLICT = ("coupon_batch_state_conflict", 409)  # not in the state this change needs
    COUPON_OUT_OF_STOCK = ("coupon_out_of_stock", 409)  # the batch's total is all claimed
    COUPON_LIMIT_REACHED = ("coupon_limit_reached", 409)  # this member holds the per-member limit
    COUPON_CLAIM_CONFLICT = ("coupon_claim_conflict", 409)  # the batch kept changing under the claim; retry
    # The claim gate is being rebuilt from the coupon rows (Redis came back stale or empty): retry after
    # Retry-After. Nothing was issued.
    COUPON_GATE_REBUILDING = ("coupon_gate_rebuilding", 503)
    # The wallet and checkout: a coupon that is not the shopper's, or cannot be used on this order.
    COUPON_NOT_FOUND = ("coupon_not_found", 404)  # unknown, or another member's
    COUPON_LOCKED = ("coupon_locked", 409)  # held by an unpaid order (pay or cancel it)
    COUPON_USED = ("coupon_used", 409)  # used online, or redeemed in a store
    COUPON_EXPIRED = ("coupon_expired", 409)
    COUPON_NOT_YET_VALID = ("coupon_not_yet_valid", 409)
    COUPON_NOT_USABLE_ONLINE = ("coupon_not_usable_online", 422)  # an in-store coupon
    COUPON_STORE_NOT_IN_SCOPE = ("coupon_store_not_in_scope", 422)  # a pickup or redeeming store it does not cover
    COUPON_NOT_APPLICABLE = ("coupon_not_applicable", 422)  # nothing in the basket is in its scope
    COUPON_MIN_SPEND_NOT_MET = ("coupon_min_spend_not_met", 422)  # the covered items cost less than min_spend

    # In-store redemption: the shopper's rotating code and the clerk's redemption (coupons/redemption/service.py).
    COUPON_CODE_INVALID = ("coupon_code_invalid", 404)  # no coupon has this code (mistyped or forged); counted
    COUPON_CODE_STALE = ("coupon_code_stale", 409)  # an older code of the coupon: ask for the one on screen now
    COUPON_ONLINE_ONLY = ("coupon_online_only", 409)  # the batch is for online checkout only
    COUPON_NEEDS_ITEMS = ("coupon_needs_items", 422)  # a till sale without items, with a coupon priced on them
    REDEMPTION_STORE_REQUIRED = ("redemption_store_required", 422)  # a clerk of several stores names one
    REDEMPTION_STORE_NOT_YOURS = ("redemption_store_not_yours", 403)  # the clerk is not bound to that store
    REDEMPTION_NOT_FOUND = ("redemption_not_found", 404)  # none with this id at your stores
    REDEMPTION_REVERT_WINDOW_CLOSED = ("redemption_revert_window_closed", 409)  # more than 10 minutes ago

    COUPON_DAILY_LIMIT_REACHED = ("coupon_daily_limit_reached", 409)  # today's claims (Asia/Shanghai) are all taken
    COUPON_BATCH_WRONG_CHANNEL = ("coupon_batch_wrong_channel", 409)  # e.g. issuing codes for a public batch
    COUPON_ISSUE_JOB_NOT_FOUND = ("coupon_issue_job_not_found", 404)
    EXCHANGE_CODE_NOT_FOUND = ("exchange_code_not_found", 404)
    EXCHANGE_CODE_USED = ("exchange_code_used", 409)  # the code was exchanged before (by anyone)
