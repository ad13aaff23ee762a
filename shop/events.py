"""Signals that other domains react to (wired in app.py).

Receivers run synchronously inside the transaction of the change that fired them, so they commit
or roll back with it; they must be idempotent (a unique key on whatever they create). Anything that
talks to the outside world is enqueued as a background job to run after the commit.

Each signal is sent with keyword arguments only; the sender is always None.
"""

from blinker import Namespace

_signals = Namespace()

member_registered = _signals.signal(
    "member-registered", doc="A new member logged in for the first time. kwargs: member_id, scene")
member_followed = _signals.signal(
    "member-followed", doc="A member follows the official account (or is linked to a follower). "
                           "kwargs: member_id, scene")
member_unfollowed = _signals.signal(
    "member-unfollowed", doc="A member unfollowed the official account. kwargs: member_id")

order_created = _signals.signal("order-created", doc="kwargs: order_id, member_id, amount_payable")
order_paid = _signals.signal(
    "order-paid", doc="kwargs: order_id, member_id, amount_paid (fen), first_paid_order (bool), store_id, paid_at")
order_cancelled = _signals.signal("order-cancelled", doc="kwargs: order_id, member_id, reason")
order_refunded = _signals.signal(
    "order-refunded", doc="kwargs: order_id, member_id, refund_id, amount (fen refunded now), "
                          "refunded_total (fen, all refunds so far), amount_paid (fen), full (bool), "
                          "refunded_share (Fraction: the part of amount_paid all refunds so far returned, "
                          "exactly 1 when full), line_shares ({line_id: Fraction}: the same for each line, "
                          "by its amount; a free line by its units), "
                          "goods_handed_over (bool: shipped or picked up before this refund)")
order_ready_for_pickup = _signals.signal(
    "order-ready-for-pickup", doc="A pickup order can be collected at its store (at payment, or when the store "
                                  "marks it ready). kwargs: order_id, member_id, store_id, pickup_code")
order_shipped = _signals.signal(
    "order-shipped", doc="A delivery order left the warehouse. kwargs: order_id, member_id, carrier (a WeChat "
                         "delivery id, or None), tracking_no (or None)")
order_completed = _signals.signal("order-completed", doc="kwargs: order_id, member_id, store_id")

friend_first_purchase = _signals.signal(
    "friend-first-purchase", doc="A referred friend's first order was paid (sent by referral, inside the "
                                 "payment's transaction). kwargs: sharer_member_id, friend_member_id, order_id")

content_rejected = _signals.signal(
    "content-rejected", doc="Text a member wrote was taken back (an admin rejected it, or its recheck found it risky): "
                            "the domain keeping it restores the previous value or blanks it, if the field still "
                            "holds this text. kwargs: subject (shop.content.models.ContentSubject), target_id, "
                            "text, previous_text")
