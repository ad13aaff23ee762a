from shop.errors import ErrorCode


class TillError(ErrorCode):
    MEMBER_CODE_INVALID = ("member_code_invalid", 404)  # no member shows this code (mistyped or forged); counted
    MEMBER_CODE_STALE = ("member_code_stale", 409)  # an older code of the member: ask for the one on screen now
    SALE_STORE_REQUIRED = ("sale_store_required", 422)  # a clerk of several stores names one
    SALE_STORE_NOT_YOURS = ("sale_store_not_yours", 403)  # the clerk is not bound to that store
    SALE_RECEIPT_REUSED = ("sale_receipt_reused", 409)  # this store's receipt number names another sale
    SALE_ITEMS_MISMATCH = ("sale_items_mismatch", 422)  # the items do not add up to the amount
    SALE_NOT_FOUND = ("sale_not_found", 404)  # none with this id at your stores
    SALE_VOID_WINDOW_CLOSED = ("sale_void_window_closed", 409)  # too late for a clerk: an admin refunds it
    SALE_NOT_VOIDABLE = ("sale_not_voidable", 409)  # refunded (in part) already
