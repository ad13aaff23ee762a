"""Error codes of the campaign report."""

from shop.errors import ErrorCode


class CampaignError(ErrorCode):
    CAMPAIGN_RANGE_INVALID = ("campaign_range_invalid", 422)  # `to` before `from`, or too long a range
