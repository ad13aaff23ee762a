"""Subscribe-message endpoints: the templates a shopper can be sent, and recording what they accepted."""

from flask_smorest import Blueprint

from shop.auth import Role, current_member_id, roles_required
from shop.config import ConfigError
from shop.errors import raises
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.messages import service
from shop.messages.errors import MessageError
from shop.messages.schemas import AcceptanceArgs, IdempotencyHeader, SubscriptionsSchema

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description=(
    "Subscribe messages (订阅消息): the templates Ripple sends (order ready for pickup, order shipped, refund "
    "completed, coupon expiring, reward released, withdrawal paid). Each acceptance in "
    "`wx.requestSubscribeMessage` allows one message of that template; a message uses one, and none is sent "
    "without one. See docs/messages.md."))

MINIPROGRAM_STATES = ("developer", "trial", "formal")


@blp.record_once
def _check_settings(state) -> None:
    """A state WeChat does not know would fail every message (47003): refuse to start on it."""
    if state.app.config["MESSAGE_MINIPROGRAM_STATE"] not in MINIPROGRAM_STATES:
        raise ConfigError(f"MESSAGE_MINIPROGRAM_STATE must be one of {', '.join(MINIPROGRAM_STATES)}, "
                          f"got {state.app.config['MESSAGE_MINIPROGRAM_STATE']!r}")


@blp.route("/me/subscriptions", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.response(200, SubscriptionsSchema)
def my_subscriptions():
    """The templates Ripple sends, with the messages of each you have left

    Pass the template ids to `wx.requestSubscribeMessage`. Role: shopper.
    """
    return service.list_subscriptions(current_member_id())


@blp.route("/me/subscriptions", methods=["POST"])
@roles_required(Role.SHOPPER)
@blp.arguments(IdempotencyHeader, location="headers")
@blp.arguments(AcceptanceArgs)
@blp.response(200, SubscriptionsSchema)
@raises(MessageError.TEMPLATE_UNKNOWN, IdempotencyError.KEY_REUSED)
def accept_subscriptions(headers, args):
    """Record what you accepted in wx.requestSubscribeMessage

    Each accepted template adds one message Ripple may send you (at most 50 waiting per template).
    A template Ripple does not send is 422 `message_template_unknown` and nothing is recorded. Send an
    `Idempotency-Key` header: a retry with the same key adds nothing again (the same key with other
    templates is 422 `idempotency_key_reused`). Answers the counts as GET does. Role: shopper.
    """
    answer = service.accept(current_member_id(), asked=args["template_ids"], accepted=args["accepted"],
                            key=headers["idempotency_key"])
    db.session.commit()
    return answer
