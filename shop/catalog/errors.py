from shop.errors import ErrorCode


class CatalogError(ErrorCode):
    CATEGORY_NOT_FOUND = ("category_not_found", 404)
    PRODUCT_NOT_FOUND = ("product_not_found", 404)
    SKU_NOT_FOUND = ("sku_not_found", 404)
    INVALID_REFERENCE = ("invalid_reference", 422)  # a body field names a row that does not exist
    CATEGORY_TOO_DEEP = ("category_too_deep", 422)
    DUPLICATE_SKU_SPEC = ("duplicate_sku_spec", 422)
    PRICE_ABOVE_ORIGINAL = ("price_above_original_price", 422)
    NO_ACTIVE_SKU = ("product_has_no_active_sku", 409)
    INSUFFICIENT_STOCK = ("insufficient_stock", 409)
    STOCK_LIMIT = ("stock_limit_exceeded", 409)
    SKU_NOT_SOLD_AT_STORE = ("sku_not_sold_at_store", 409)
    STORE_STOCK_NOT_TRACKED = ("store_stock_not_tracked", 409)
    PRODUCT_NOT_ON_SALE = ("product_not_on_sale", 409)
