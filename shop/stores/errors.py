from shop.errors import ErrorCode


class StoreError(ErrorCode):
    STORE_NOT_FOUND = ("store_not_found", 404)
    STORE_CODE_TAKEN = ("store_code_taken", 409)
    STORE_HAS_HISTORY = ("store_has_history", 409)
    IMPORT_INVALID = ("store_import_invalid", 422)
    IMPORT_NOT_UTF8 = ("store_import_not_utf8", 422)
    IMPORT_NOT_FOUND = ("store_import_not_found", 404)
