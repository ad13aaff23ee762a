from shop.errors import ErrorCode


class PrivacyError(ErrorCode):
    DELETION_WITHDRAWAL_OPEN = ("deletion_withdrawal_open", 409)
    DELETION_UNPAID_ORDER = ("deletion_unpaid_order", 409)
    DELETION_REFUND_OPEN = ("deletion_refund_open", 409)
    EXPORT_PART_NOT_FOUND = ("export_part_not_found", 404)
