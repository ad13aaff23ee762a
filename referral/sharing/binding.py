"""Opening a share binds the opener under the sharer when the policy allows; admins re-bind and review flags.

Every bind decision is taken under the locks of the nodes it touches (the opener, the sharer and
the sharer's ancestors, in id order as ``tree`` does), so two shares opened at the same moment bind
once. Every change of a parent (bind, re-bind, admin re-bind, flag decisions, approvals) is a row of
``referral_bind_history``. Nothing here commits.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, or_, select, update

from referral.errors import ReferralError
from referral.policy.models import BindMode
from referral.policy.service import existing_member, load_settings
from referral.rewards.models import Reward, RewardStatus
from referral.sharing.models import Share, ShareOpen
from referral.sharing.service import add_first_open, share_by_scene
from referral.tree import service as tree
from referral.tree.models import BindHistory, ReferralNode
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.members.models import Member
from shop.members.privacy import returning_identity

FLAG_WINDOW = timedelta(minutes=30)  # a bind this soon from the sharer's own device or address is reviewed
DEVICE_HEADER = "X-Device-Id"
_DEVICE_RE = re.compile(r"[\x21-\x7e]{1,64}")


class Outcome(StrEnum):
    """What opening a share did."""

    BOUND = "bound"  # the opener is now under the sharer
    REBOUND = "rebound"  # protected mode: the previous sharer's protection had run out
    ALREADY_BOUND = "already_bound"  # under this or another sharer already; nothing changed
    PROTECTED = "protected"  # protected mode: under another sharer whose protection still runs
    REGISTRATION_ONLY = "registration_only"  # the policy binds new members only; this one is not new
    SELF = "self"  # the opener is the sharer (same member, unionid or phone)
    CYCLE = "cycle"  # the sharer is below the opener in the tree
    RETURNING = "returning"  # the opener's WeChat identity deleted an account lately: bound under no one
    STORE = "store"  # a store's share: nobody to bind under (the store may become the opener's home store)


BINDING_OUTCOMES = {Outcome.BOUND: "bind", Outcome.REBOUND: "rebind"}


@dataclass(frozen=True)
class Client:
    """Where a request came from: its address and the device id the mini-program sends."""

    ip: str | None
    device_id: str | None


@dataclass(frozen=True)
class OpenResult:
    share: Share
    opened: ShareOpen
    created: bool  # False: a repeat of this member's earlier open, answered as then


def client_of(remote_addr: str | None, headers) -> Client:
    """The client of a request; a malformed device id is ignored (it only ever adds a suspicion)."""
    device = (headers.get(DEVICE_HEADER) or "").strip()
    return Client(ip=(remote_addr or None) and remote_addr[:45],
                  device_id=device if _DEVICE_RE.fullmatch(device) else None)


def open_share(member_id: int, scene: str, *, client: Client, now: datetime, new_member: bool = False) -> OpenResult:
    """Record the member's open of the share with ``scene`` (once) and bind them if the policy allows."""
    share = share_by_scene(scene)
    opened, created = add_first_open(ShareOpen(share_id=share.id, member_id=member_id, new_member=new_member,
                                               outcome="pending", ip=client.ip, device_id=client.device_id,
                                               opened_at=now))
    if not created:
        return OpenResult(share, opened, created=False)
    opened.outcome = _bind_on_open(share, member_id, client=client, now=now, new_member=new_member)
    record_event(member_id, JourneyKind.SHARE_OPENED, share_id=share.id, campaign=share.campaign, occurred_at=now,
                 outcome=opened.outcome, new_member=new_member)
    if opened.outcome in BINDING_OUTCOMES:
        record_event(member_id, JourneyKind.BOUND, share_id=share.id, campaign=share.campaign, occurred_at=now,
                     sharer_id=share.sharer_id, rebound=opened.outcome is Outcome.REBOUND)
    return OpenResult(share, opened, created=True)


def _bind_on_open(share: Share, member_id: int, *, client: Client, now: datetime, new_member: bool) -> Outcome:
    sharer_id = share.sharer_id
    if _same_person(sharer_id, member_id):
        return Outcome.SELF
    if returning_identity(member_id):  # delete-and-return must not move a member under a new sharer
        return Outcome.RETURNING
    tree.ensure_node(member_id)
    tree.ensure_node(sharer_id)
    tree.lock_nodes([member_id, sharer_id, *tree.ancestors(sharer_id)])
    node = db.session.execute(select(ReferralNode.parent_id, ReferralNode.bound_at)
                              .where(ReferralNode.member_id == member_id)).one()
    outcome = _policy_outcome(node, sharer_id, now=now, new_member=new_member)
    if outcome not in BINDING_OUTCOMES:
        return outcome
    try:
        changed = tree.bind(member_id, sharer_id, share_id=share.id, now=now,
                            only_if_unbound=outcome is Outcome.BOUND)
    except tree.CycleError:
        return Outcome.CYCLE
    if not changed:
        return Outcome.ALREADY_BOUND
    reason = _flag_reason(sharer_id, client, now)
    if reason is not None:
        db.session.execute(update(ReferralNode).where(ReferralNode.member_id == member_id)
                           .values(flagged_at=now, flag_reason=reason))
    db.session.add(BindHistory(member_id=member_id, old_parent_id=node.parent_id, new_parent_id=sharer_id,
                               share_id=share.id, kind=BINDING_OUTCOMES[outcome], reason=reason,
                               flagged=reason is not None, created_at=now))
    return outcome


def _policy_outcome(node, sharer_id: int, *, now: datetime, new_member: bool) -> Outcome:
    """What the bind mode says about the opener's node (read under its lock)."""
    settings = load_settings()
    if node.parent_id == sharer_id:
        return Outcome.ALREADY_BOUND
    if node.parent_id is None:
        if settings.bind_mode == BindMode.REGISTRATION_ONLY and not new_member:
            return Outcome.REGISTRATION_ONLY
        return Outcome.BOUND
    if settings.bind_mode != BindMode.PROTECTED:
        return Outcome.ALREADY_BOUND
    if node.bound_at is not None and now < node.bound_at + timedelta(days=settings.protection_days or 0):
        return Outcome.PROTECTED
    return Outcome.REBOUND


def _same_person(sharer_id: int, member_id: int) -> bool:
    """The same member, or two members with the same unionid or the same phone number."""
    if sharer_id == member_id:
        return True
    rows = db.session.execute(select(Member.unionid, Member.phone)
                              .where(Member.id.in_([sharer_id, member_id]))).all()
    if len(rows) != 2:
        return False
    (union_a, phone_a), (union_b, phone_b) = rows
    return (union_a is not None and union_a == union_b) or (phone_a is not None and phone_a == phone_b)


def _flag_reason(sharer_id: int, client: Client, now: datetime) -> str | None:
    """'same_device' or 'same_ip' when the sharer shared from the opener's device or address lately."""
    ip = client.ip if client.ip and not _is_loopback(client.ip) else None
    matches = [condition for condition, present in ((Share.device_id == client.device_id, client.device_id),
                                                    (Share.ip == ip, ip)) if present]
    if not matches:
        return None
    recent = db.session.execute(select(Share.device_id, Share.ip).where(
        Share.sharer_id == sharer_id, Share.created_at >= now - FLAG_WINDOW, or_(*matches)).limit(1)).first()
    if recent is None:
        return None
    return "same_device" if client.device_id and recent.device_id == client.device_id else "same_ip"


def _is_loopback(ip: str) -> bool:
    """A loopback address says nothing about the client (local tools, or a proxy not configured as trusted)."""
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return True


def admin_rebind(member_id: int, parent_id: int | None, *, reason: str, staff_id: int | None,
                 now: datetime) -> BindHistory | None:
    """Move a member (with their subtree) under ``parent_id``, or make them a root; None if already so."""
    existing_member(member_id)
    if parent_id == member_id:
        raise AppError(ReferralError.REFERRAL_SELF, "A member cannot be their own parent.",
                       errors={"parent_id": ["The member themselves."]})
    if parent_id is not None:
        if db.session.get(Member, parent_id) is None:
            raise AppError(ReferralError.REFERRAL_PARENT_NOT_FOUND, f"No member with id {parent_id}.",
                           errors={"parent_id": ["No such member."]})
        tree.ensure_node(parent_id)
    tree.ensure_node(member_id)
    return _move(member_id, parent_id, kind="admin_rebind", reason=reason, staff_id=staff_id, now=now)


def _move(member_id: int, parent_id: int | None, *, kind: str, reason: str, staff_id: int | None,
          now: datetime, flagged: bool = False) -> BindHistory | None:
    tree.lock_nodes([member_id, parent_id, *(tree.ancestors(parent_id) if parent_id is not None else [])])
    old_parent = tree.parent_of(member_id)
    if old_parent == parent_id:
        return None
    try:
        tree.bind(member_id, parent_id, share_id=None, now=now)
    except tree.CycleError:
        raise AppError(ReferralError.REFERRAL_CYCLE, "The new parent is below this member in the tree.",
                       errors={"parent_id": ["Below the member: that would close a loop."]}) from None
    entry = BindHistory(member_id=member_id, old_parent_id=old_parent, new_parent_id=parent_id, kind=kind,
                        reason=reason, staff_id=staff_id, flagged=flagged, created_at=now)
    db.session.add(entry)
    return entry


def history(member_id: int) -> Select:
    """The member's bind history, newest first (a statement, for paginate)."""
    existing_member(member_id)
    return (select(BindHistory).where(BindHistory.member_id == member_id)
            .order_by(BindHistory.created_at.desc(), BindHistory.id.desc()))


def flags() -> Select:
    """Binds under review, newest first (a statement, for paginate)."""
    return (select(ReferralNode).where(ReferralNode.flagged_at.is_not(None))
            .order_by(ReferralNode.flagged_at.desc(), ReferralNode.member_id.desc()))


def resolve_flag(member_id: int, *, confirm: bool, reason: str, staff_id: int | None, now: datetime) -> None:
    """Close a flag: cleared, the bind stands and its rewards may thaw; confirmed, the member is detached
    from the sharer and the flagged rewards stay frozen for good."""
    existing_member(member_id)
    node = db.session.execute(select(ReferralNode.flagged_at, ReferralNode.flag_reason)
                              .where(ReferralNode.member_id == member_id)).first()
    if node is None or node.flagged_at is None:
        raise AppError(ReferralError.REFERRAL_NOT_FLAGGED, "This member's bind is not under review.")
    db.session.execute(update(ReferralNode).where(ReferralNode.member_id == member_id)
                       .values(flagged_at=None, flag_reason=None))
    note = f"{node.flag_reason}: {reason}"
    if confirm:
        entry = _move(member_id, None, kind="flag_confirmed", reason=note, staff_id=staff_id, now=now, flagged=True)
        if entry is None:  # already detached by an admin: the decision is still kept
            db.session.add(BindHistory(member_id=member_id, kind="flag_confirmed", reason=note, staff_id=staff_id,
                                       flagged=True, created_at=now))
        return
    # Cleared: the member's rewards no longer wait for review, only for their refund window.
    db.session.execute(update(Reward).where(Reward.buyer_id == member_id, Reward.status == RewardStatus.FROZEN.value,
                                            Reward.flagged.is_(True)).values(flagged=False))
    parent = tree.parent_of(member_id)
    db.session.add(BindHistory(member_id=member_id, old_parent_id=parent, new_parent_id=parent, kind="flag_cleared",
                               reason=note, staff_id=staff_id, created_at=now))
