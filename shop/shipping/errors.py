from shop.errors import ErrorCode


class ShippingError(ErrorCode):
    DETAILS_REQUIRED = ("shipping_details_required", 422)  # express without a carrier or a tracking number
    CARRIER_UNKNOWN = ("shipping_carrier_unknown", 422)  # not a code of WeChat's delivery list
