"""Funnel error codes: the console branches on these."""

from shop.errors import ErrorCode


class FunnelError(ErrorCode):
    RANGE_INVALID = ("funnel_range_invalid", 422)  # from after to, or a range longer than MAX_DAYS
