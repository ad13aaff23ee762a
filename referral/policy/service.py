"""The referral policy: one row that admins change (checked as a whole), read by binding and rewards;
who earns, and approving sharers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from referral.errors import ReferralError
from referral.policy.models import (
    MAX_REWARD_LEVELS,
    BindMode,
    ReferralSettings,
    RewardBasis,
    SharerPolicy,
)
from referral.tree import service as tree
from referral.tree.models import BindHistory, ReferralNode
from shop.catalog.models import Sku
from shop.database import storable_id
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member

SETTINGS_ID = 1
FIELDS = ("sharer_policy", "bind_mode", "protection_days", "reward_levels", "reward_kind", "reward_basis",
          "percent_bp", "fixed_per_sku", "refund_window_days", "min_withdrawal",
          "reward_till_sales")
MAX_BP = 10_000  # 100 %: rewards for one line never exceed what was paid for it
TOO_MANY_LEVELS = (f"At most {MAX_REWARD_LEVELS} levels: WeChat forbids multi-level distribution in mini-programs "
                   "and Chinese law treats three levels as pyramid selling.")


def load_settings() -> ReferralSettings:
    """The policy row, created with the defaults on first use."""
    settings = db.session.get(ReferralSettings, SETTINGS_ID)
    if settings is not None:
        return settings
    try:
        with db.session.begin_nested():
            db.session.add(ReferralSettings(id=SETTINGS_ID))
    except IntegrityError:
        pass  # another request created it at the same moment
    return db.session.get(ReferralSettings, SETTINGS_ID)


def update_settings(changes: dict[str, Any], *, staff_id: int | None, now: datetime) -> ReferralSettings:
    """Apply the changed fields (others keep their value); 422 naming each wrong field changes nothing."""
    load_settings()
    settings = db.session.scalars(select(ReferralSettings).where(ReferralSettings.id == SETTINGS_ID)
                                  .with_for_update().execution_options(populate_existing=True)).one()
    merged = {field: changes.get(field, getattr(settings, field)) for field in FIELDS}
    if merged["bind_mode"] != BindMode.PROTECTED:
        merged["protection_days"] = None  # only the protected mode has a protection period
    errors = settings_errors(merged)
    if errors:
        raise AppError(ReferralError.REFERRAL_SETTINGS_INVALID, "The referral settings are not valid; see errors.",
                       errors=errors)
    merged["percent_bp"] = (list(merged["percent_bp"]) + [0] * MAX_REWARD_LEVELS)[:MAX_REWARD_LEVELS]
    merged["fixed_per_sku"] = {key: (list(amounts) + [0] * MAX_REWARD_LEVELS)[:MAX_REWARD_LEVELS]
                               for key, amounts in merged["fixed_per_sku"].items()}
    for field, value in merged.items():
        setattr(settings, field, value)
    settings.updated_at, settings.updated_by_staff_id = now, staff_id
    return settings


def settings_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a whole policy, by field (empty when it is fine)."""
    errors: dict[str, list[str]] = {}
    levels = values["reward_levels"]
    if levels > MAX_REWARD_LEVELS:
        errors["reward_levels"] = [TOO_MANY_LEVELS]
    elif levels < 1:
        errors["reward_levels"] = ["At least 1 level: the sharer's own friends."]
    if values["bind_mode"] == BindMode.PROTECTED and values["protection_days"] is None:
        errors["protection_days"] = ["Required with bind_mode protected: the days before a newer share may re-bind."]
    rates = values["percent_bp"]
    if len(rates) > MAX_REWARD_LEVELS:
        errors["percent_bp"] = [TOO_MANY_LEVELS]
    elif sum(rates[:max(levels, 1)]) > MAX_BP:
        errors["percent_bp"] = ["The paid levels together exceed 10000 basis points (100 %)."]
    fixed = values["fixed_per_sku"]
    if values["reward_basis"] == RewardBasis.FIXED_PER_SKU and not fixed:
        errors["fixed_per_sku"] = ["Required with reward_basis fixed_per_sku: {sku_id: [level 1, level 2]}."]
    wrong = _fixed_errors(fixed)
    if wrong:
        errors["fixed_per_sku"] = wrong
    return errors


def _fixed_errors(fixed: dict[str, list[int]]) -> list[str]:
    messages = [f"SKU {key}: {TOO_MANY_LEVELS}" for key, amounts in fixed.items() if len(amounts) > MAX_REWARD_LEVELS]
    messages += [f"SKU {key}: give the amount of level 1 at least." for key, amounts in fixed.items() if not amounts]
    ids = {int(key) for key in fixed}
    known = set(db.session.scalars(select(Sku.id).where(Sku.id.in_(ids)))) if ids else set()
    messages += [f"SKU {sku_id} does not exist." for sku_id in sorted(ids - known)]
    return messages


def may_earn(member_id: int) -> bool:
    """Whether the sharer earns rewards under the policy (everyone binds; only these earn)."""
    policy = load_settings().sharer_policy
    node = db.session.execute(select(ReferralNode.approved_at, ReferralNode.first_paid_at)
                              .where(ReferralNode.member_id == member_id)).first()
    return earns(policy, node)


def earns(policy: str, node: Any, at: datetime | None = None) -> bool:
    """The sharer policy over a node's ``approved_at`` and ``first_paid_at`` (None: no node):
    everyone; approved members; members who paid an order of their own (before ``at``, if given)."""
    if policy == SharerPolicy.EVERYONE:
        return True
    if node is None:
        return False
    if policy == SharerPolicy.APPROVED:
        return node.approved_at is not None
    return node.first_paid_at is not None and (at is None or node.first_paid_at <= at)


def existing_member(member_id: int) -> Member:
    """The member, or 404 ``referral_member_not_found``."""
    member = db.session.get(Member, member_id) if storable_id(member_id) else None
    if member is None:
        raise AppError(ReferralError.REFERRAL_MEMBER_NOT_FOUND, f"No member with id {member_id}.")
    return member


def set_approval(member_id: int, *, approved: bool, staff_id: int | None, reason: str | None,
                 now: datetime) -> datetime | None:
    """Approve a member as a sharer who earns (or withdraw it); kept in the history. Returns approved_at."""
    existing_member(member_id)
    tree.ensure_node(member_id)
    current = db.session.execute(select(ReferralNode.approved_at, ReferralNode.parent_id)
                                 .where(ReferralNode.member_id == member_id)).one()
    if (current.approved_at is not None) == approved:
        return current.approved_at  # already so: a retry changes nothing
    approved_at = now if approved else None
    db.session.execute(update(ReferralNode).where(ReferralNode.member_id == member_id)
                       .values(approved_at=approved_at))
    db.session.add(BindHistory(member_id=member_id, old_parent_id=current.parent_id, new_parent_id=current.parent_id,
                               kind="approved" if approved else "approval_revoked", reason=reason,
                               staff_id=staff_id, created_at=now))
    return approved_at


def sharer_standing(member_id: int) -> dict[str, Any]:
    """A member as a sharer: approved since when, whether they earn under today's policy, the members below them."""
    member = existing_member(member_id)
    node = db.session.get(ReferralNode, member_id)
    policy = load_settings().sharer_policy
    return {"member_id": member.id, "nickname": member.nickname, "policy": policy, "earns": earns(policy, node),
            "approved_at": node.approved_at if node is not None else None,
            "descendants": node.descendants if node is not None else 0}


def approved_sharers() -> Select:
    """Members approved as sharers who earn, newest approval first: rows of (node, nickname), for paginate."""
    return (select(ReferralNode, Member.nickname).join(Member, Member.id == ReferralNode.member_id)
            .where(ReferralNode.approved_at.is_not(None))
            .order_by(ReferralNode.approved_at.desc(), ReferralNode.member_id.desc()))


def sharers_to_approve() -> Select:
    """Members not approved whose shares brought members below them (those an approval would let earn), most first:
    rows of (node, nickname), for paginate."""
    return (select(ReferralNode, Member.nickname).join(Member, Member.id == ReferralNode.member_id)
            .where(ReferralNode.approved_at.is_(None), ReferralNode.descendants > 0)
            .order_by(ReferralNode.descendants.desc(), ReferralNode.member_id))
