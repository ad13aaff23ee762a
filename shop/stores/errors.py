from shop.errors import ErrorCode


class StoreError(ErrorCode):
    STORE_NOT_FOUND = ("store_not_found", 404)
    STORE_CODE_TAKEN = ("store_code_taken", 409)
    IMPORT_INVALID = ("store_import_invalid", 422)
