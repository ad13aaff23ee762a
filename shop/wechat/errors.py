"""Our error codes for what WeChat answered."""

from shop.errors import ErrorCode


class WeChatError(ErrorCode):
    CODE_INVALID = ("wechat_code_invalid", 401)
    RATE_LIMITED = ("wechat_rate_limited", 429)
    USER_HIGH_RISK = ("wechat_user_high_risk", 403)
    UNAVAILABLE = ("wechat_unavailable", 503)
    FAILED = ("wechat_error", 502)
    SIGNATURE_INVALID = ("wechat_signature_invalid", 403)
    MESSAGE_MALFORMED = ("wechat_message_malformed", 400)
