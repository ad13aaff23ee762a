from shop.errors import ErrorCode


class PointsError(ErrorCode):
    POINTS_INSUFFICIENT = ("points_insufficient", 409)  # the balance cannot cover it (or moved since the quote)
    POINTS_ALREADY_SPENT = ("points_already_spent", 409)  # this order already spent a different number
    IDEMPOTENCY_KEY_REUSED = ("idempotency_key_reused", 409)  # the key named a different adjustment
