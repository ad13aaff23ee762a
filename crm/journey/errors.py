from shop.errors import ErrorCode


class JourneyError(ErrorCode):
    EVENTS_OUT_OF_WINDOW = ("events_out_of_window", 422)  # an occurred_at too old or in the future
