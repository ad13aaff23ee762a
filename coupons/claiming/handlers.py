"""Automatic channels: coupons issued when something happens in ``shop`` (wired in app.py).

Each receiver runs inside the transaction of the change that sent the signal (a login, a follow, a
payment), issues through the same gate as the claim center (coupons/claiming/issuing.py) and is idempotent
on the coupon's key, unique per member: ``new_member:<batch>``, ``follow:<batch>`` (once per member
and batch, however often they unfollow and follow again), ``friend:<order>:<batch>`` (one per
friend's first order). A batch that is out of stock or at a limit is skipped (logged).
"""

from __future__ import annotations

from typing import Any

from coupons.claiming.issuing import issue_for_channel
from coupons.models import BatchChannel
from shop import events
from shop.database import utcnow
from shop.members.privacy import returning_identity


def on_member_registered(sender: Any, **kw: Any) -> None:
    """A welcome coupon, unless this WeChat identity deleted an account lately (no delete-and-return farming)."""
    if returning_identity(kw["member_id"]):
        return
    issue_for_channel(BatchChannel.NEW_MEMBER, kw["member_id"], key="new_member", now=utcnow())


def on_member_followed(sender: Any, **kw: Any) -> None:
    issue_for_channel(BatchChannel.FOLLOWER, kw["member_id"], key="follow", now=utcnow())


def on_friend_first_purchase(sender: Any, **kw: Any) -> None:
    """The sharer is rewarded for the friend's purchase, never for the act of sharing."""
    issue_for_channel(BatchChannel.FRIEND_PURCHASE, kw["sharer_member_id"], key=f"friend:{kw['order_id']}",
                      now=utcnow())


def wire_coupons() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    events.member_registered.connect(on_member_registered)
    events.member_followed.connect(on_member_followed)
    events.friend_first_purchase.connect(on_friend_first_purchase)
