"""Our error codes for what WeChat answered."""

from shop.errors import ErrorCode


class WeChatError(ErrorCode):
    CODE_INVALID = ("wechat_code_invalid", 401)
    RATE_LIMITED = ("wechat_rate_limited", 429)
    USER_HIGH_RISK = ("wechat_user_high_risk", 403)
    UNAVAILABLE = ("wechat_unavailable", 503)
    FAILED = ("wechat_error", 502)
    BAD_ANSWER = ("wechat_bad_answer", 502)  # errcode 0, but without what the call exists for
    SIGNATURE_INVALID = ("wechat_signature_invalid", 403)
    MESSAGE_MALFORMED = ("wechat_message_malformed", 400)
    REPLAYED = ("wechat_call_replayed", 409)  # a signed callback delivered again within its window


class WeChatPayError(ErrorCode):
    """WeChat Pay (API v3): calls to it and the notifies it sends us."""

    UNAVAILABLE = ("wechatpay_unavailable", 503)  # unreachable, timed out, 5xx, SYSTEM_ERROR, FREQUENCY_LIMITED
    FAILED = ("wechatpay_error", 502)  # any other refusal (WeChat's code in the message), unverifiable answer
    ORDER_PAID = ("wechatpay_order_paid", 409)  # prepay or close of a transaction already paid
    ORDER_CLOSED = ("wechatpay_order_closed", 409)  # prepay of a transaction already closed
    SIGNATURE_INVALID = ("wechatpay_signature_invalid", 401)  # notify: forged, tampered, wrong serial, stale
    NOTIFY_MALFORMED = ("wechatpay_notify_malformed", 400)  # notify: signed, but not the JSON WeChat Pay sends
    NOTIFY_UNDECRYPTABLE = ("wechatpay_notify_undecryptable", 400)  # notify: resource fails AEAD (APIv3 key?)
    BILL_CORRUPT = ("wechatpay_bill_corrupt", 502)  # a bill that is not GZIP, not UTF-8, or not what WeChat hashed
