"""Referral error codes: the mini-program and the admin console branch on these."""

from shop.errors import ErrorCode


class ReferralError(ErrorCode):
    # shares, opens and binding
    SHARE_NOT_FOUND = ("share_not_found", 404)
    SCENE_INVALID = ("scene_invalid", 422)
    REFERRAL_SELF = ("referral_self", 422)  # a member cannot be their own parent
    REFERRAL_CYCLE = ("referral_cycle", 409)  # the new parent is the member's descendant
    REFERRAL_PARENT_NOT_FOUND = ("referral_parent_not_found", 422)
    REFERRAL_NOT_FLAGGED = ("referral_not_flagged", 409)
    STORE_SHARE_STORE_REQUIRED = ("store_share_store_required", 422)  # a clerk of several stores names one
    STORE_SHARE_NOT_YOUR_STORE = ("store_share_not_your_store", 403)

    # settings
    REFERRAL_SETTINGS_INVALID = ("referral_settings_invalid", 422)

    # rewards and withdrawals
    WITHDRAWAL_NOT_FOUND = ("withdrawal_not_found", 404)
    WITHDRAWAL_BELOW_MINIMUM = ("withdrawal_below_minimum", 422)
    WITHDRAWAL_ABOVE_MAXIMUM = ("withdrawal_above_maximum", 422)
    COMMISSION_INSUFFICIENT = ("commission_insufficient", 409)
    WITHDRAWAL_ALREADY_OPEN = ("withdrawal_already_open", 409)
    WITHDRAWAL_NOT_REVIEWABLE = ("withdrawal_not_reviewable", 409)

    # analytics
    REFERRAL_MEMBER_NOT_FOUND = ("referral_member_not_found", 404)
