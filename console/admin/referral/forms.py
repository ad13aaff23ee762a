"""The referral policy as a form: rates typed as percents and the smallest withdrawal in yuan (as the console shows
money), turned into the API's basis points and fen; every rule stays the policy service's."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from console.batches.forms import typed_fen, typed_whole, yuan_input
from referral.policy.models import BindMode, RewardBasis, RewardKind, SharerPolicy

LEVELS = 2  # the fields shown; the policy service refuses more than it allows


def _choices(words: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in words.items()]


def sharer_policy_words() -> dict[str, Any]:
    """Each sharer policy in an admin's words."""
    return {SharerPolicy.EVERYONE.value: _l("Every member who shares"),
            SharerPolicy.APPROVED.value: _l("Only sharers an admin approved"),
            SharerPolicy.FIRST_PAID_ORDER.value: _l("Members who have paid an order")}


class SettingsForm(FlaskForm):
    sharer_policy = SelectField(_l("Who earns"), choices=lambda: _choices(sharer_policy_words()))
    bind_mode = SelectField(_l("How friends bind"), choices=lambda: _choices({
        BindMode.FIRST_TOUCH.value: _l("First touch: the first sharer keeps the friend"),
        BindMode.PROTECTED.value: _l("Protected: a newer share may re-bind after some days"),
        BindMode.REGISTRATION_ONLY.value: _l("Only a share that brings a new member binds")}))
    protection_days = StringField(_l("Protection days (protected binding)"))
    reward_levels = SelectField(_l("Levels rewarded"), choices=lambda: _choices({
        "1": _l("1 level: the sharer"), "2": _l("2 levels: the sharer and theirs")}))
    reward_kind = SelectField(_l("Reward"), choices=lambda: _choices({
        RewardKind.POINTS.value: _l("Points"), RewardKind.COMMISSION.value: _l("Commission (money)")}))
    reward_basis = SelectField(_l("Reward basis"), choices=lambda: _choices({
        RewardBasis.PERCENT.value: _l("A percent of what the friend paid"),
        RewardBasis.FIXED_PER_SKU.value: _l("A fixed amount per unit of listed SKUs")}))
    percent_1 = StringField(_l("Level 1 percent"))
    percent_2 = StringField(_l("Level 2 percent"))
    fixed_per_sku = TextAreaField(_l("Fixed amounts per SKU"))
    refund_window_days = StringField(_l("Days a reward stays frozen (refund window)"))
    min_withdrawal = StringField(_l("Smallest withdrawal (yuan)"))
    reward_till_sales = BooleanField(_l("A friend's till sale rewards the sharer too"))

    @classmethod
    def of_settings(cls, settings: Any) -> SettingsForm:
        rates = list(settings.percent_bp) + [0] * LEVELS
        return cls(formdata=None, sharer_policy=settings.sharer_policy, bind_mode=settings.bind_mode,
                   protection_days="" if settings.protection_days is None else str(settings.protection_days),
                   reward_levels=str(settings.reward_levels), reward_kind=settings.reward_kind,
                   reward_basis=settings.reward_basis, percent_1=percent_input(rates[0]),
                   percent_2=percent_input(rates[1]), refund_window_days=str(settings.refund_window_days),
                   fixed_per_sku="\n".join(f"{sku}: {', '.join(map(str, amounts))}"
                                           for sku, amounts in settings.fixed_per_sku.items()),
                   min_withdrawal=yuan_input(settings.min_withdrawal), reward_till_sales=settings.reward_till_sales)

    def api_body(self) -> dict[str, Any]:
        """The form as ``PUT /admin/referral/settings`` takes it (the schema checks what was typed)."""
        rates = [_basis_points(self.percent_1.data), _basis_points(self.percent_2.data)]
        return {"sharer_policy": self.sharer_policy.data, "bind_mode": self.bind_mode.data,
                "protection_days": typed_whole(self.protection_days.data), "reward_levels": typed_whole(self.reward_levels.data),
                "reward_kind": self.reward_kind.data, "reward_basis": self.reward_basis.data,
                "percent_bp": [rate if rate is not None else 0 for rate in rates],
                "fixed_per_sku": _fixed(self.fixed_per_sku.data), "refund_window_days": typed_whole(self.refund_window_days.data),
                "min_withdrawal": typed_fen(self.min_withdrawal.data), "reward_till_sales": bool(self.reward_till_sales.data)}


def percent_input(basis_points: int) -> str:
    """Basis points as the percent a person types (``550`` -> ``5.50``)."""
    return f"{basis_points // 100}.{basis_points % 100:02d}"


def _basis_points(raw: str | None) -> int | str | None:
    """A percent with at most two decimals as basis points; anything else as typed (the schema names it)."""
    raw = (raw or "").strip().removesuffix("%").strip()
    if not raw:
        return None
    try:
        points = Decimal(raw) * 100
    except InvalidOperation:
        return raw
    return int(points) if points == points.to_integral_value() else raw


def _fixed(raw: str | None) -> dict[str, list[int | str]]:
    """Lines of ``sku id: level 1, level 2`` as the API's ``{sku_id: [amounts]}``."""
    found: dict[str, list[int | str]] = {}
    for line in (raw or "").replace("：", ":").replace("，", ",").splitlines():
        sku, _colon, amounts = line.partition(":")
        if sku.strip():
            found[sku.strip()] = [typed_whole(amount) for amount in amounts.split(",") if amount.strip()]
    return found


class ApprovalForm(FlaskForm):
    """Approving a member as a sharer who earns; the reason is kept in the member's history."""

    reason = StringField(_l("Why (kept in the member's history; optional)"))
