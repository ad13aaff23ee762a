from shop.errors import ErrorCode


class BillError(ErrorCode):
    REPORT_NOT_FOUND = ("reconciliation_not_found", 404)  # no run for that day yet
