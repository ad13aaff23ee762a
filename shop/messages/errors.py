"""Error codes of subscribe messages."""

from shop.errors import ErrorCode


class MessageError(ErrorCode):
    TEMPLATE_UNKNOWN = ("message_template_unknown", 422)  # not a template Ripple sends
