from shop.errors import ErrorCode


class OrderError(ErrorCode):
    ORDER_NOT_FOUND = ("order_not_found", 404)
    OUT_OF_STOCK = ("out_of_stock", 409)
    QUANTITY_LIMIT = ("quantity_limit", 422)  # more of a SKU, or more units in all, than one order may hold
    TOO_MANY_UNPAID = ("too_many_unpaid_orders", 409)  # pay or cancel an unpaid order first
    STORE_UNAVAILABLE = ("store_unavailable", 409)
    STORE_REQUIRED = ("store_required", 422)
    ADDRESS_REQUIRED = ("address_required", 422)
    NOT_CANCELLABLE = ("order_not_cancellable", 409)
    PAYMENT_UNSETTLED = ("order_payment_unsettled", 409)  # WeChat Pay is still taking (or has refunded) the money
    NOT_PAYABLE = ("order_not_payable", 409)
    NOT_SHIPPABLE = ("order_state_conflict", 409)
    NOT_REFUNDABLE = ("order_not_refundable", 409)
    REFUND_TOO_LARGE = ("refund_exceeds_paid", 409)
    REFUND_IN_PROGRESS = ("refund_in_progress", 409)
    REFUND_LINE_REPEATED = ("refund_line_repeated", 422)
    PICKUP_CODE_INVALID = ("pickup_code_invalid", 404)
    PICKUP_WRONG_STORE = ("pickup_wrong_store", 403)
    PICKUP_ALREADY_DONE = ("pickup_already_completed", 409)
    PICKUP_BLOCKED_BY_REFUND = ("pickup_blocked_by_refund", 409)
    PICKUP_GUESSING = ("pickup_too_many_wrong_codes", 429)
    NOTIFY_MISMATCH = ("payment_notify_mismatch", 400)
    NOT_AT_YOUR_STORE = ("order_not_at_your_store", 403)  # order making: a pickup order of another store
    PICKUP_NOT_READY = ("pickup_not_ready", 409)  # paid or preparing at a store that makes orders: not ready yet
