from shop.errors import ErrorCode


class OutboxError(ErrorCode):
    ENTRY_NOT_FOUND = ("outbox_entry_not_found", 404)
    ENTRY_NOT_FAILED = ("outbox_entry_not_failed", 409)  # only failed work is sent again by hand
