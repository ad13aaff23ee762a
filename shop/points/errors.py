from shop.errors import ErrorCode


class PointsError(ErrorCode):
    POINTS_INSUFFICIENT = ("points_insufficient", 409)  # the balance cannot cover it (or moved since the quote)
    POINTS_ALREADY_SPENT = ("points_already_spent", 409)  # this order already spent a different number
