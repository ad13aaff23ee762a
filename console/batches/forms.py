"""Marketing's batch form: the API's fields as a person fills them (yuan for fen, the business zone for times).

The form checks only what a browser sends (a number is a number); every rule of a batch is the API's
(``coupons.batches.schemas.BatchArgs`` and the batch service), applied to ``api_body()``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from coupons import kinds
from coupons.models import BatchChannel, BatchUsage
from shop.config import BUSINESS_ZONE

# Field labels for the kinds' terms (the registry names them; the console says them in the reader's language).
TERM_LABELS = {"amount_off": _l("Amount off (yuan)"), "percent": _l("Percent off"), "max_off": _l("At most off (yuan)"),
               "nth": _l("Which item (nth)"), "buy": _l("Buy (items)"), "get": _l("Get free (items)"),
               "unit_price": _l("Unit price (yuan)")}
# The kinds by what they give, for the kind's menu (a kind not named here shows its registry name).
KIND_LABELS = {"amount_off": _l("Amount off"), "percent_off": _l("Percent off, capped"),
               "threshold": _l("Spend X save Y"), "nth_item_percent": _l("Nth item at a percent off"),
               "buy_n_get_m": _l("Buy N get M free"), "free_item": _l("A free item"),
               "unit_price": _l("Items at a set price")}
SCOPES = ("scope_product_ids", "scope_category_ids", "scope_store_ids")
WHOLE_NUMBERS = ("valid_days", "total", "per_member_limit", "daily_limit")


class BatchForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=[SelectChoice(name, KIND_LABELS.get(name, name)) for name in kinds.KINDS])
    min_spend = StringField(_l("Minimum spend (yuan)"))
    starts_at = DateTimeLocalField(_l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    valid_days = StringField(_l("Or valid for days after claim"))
    total = StringField(_l("Total coupons"))
    per_member_limit = StringField(_l("Per member"))
    daily_limit = StringField(_l("At most per day"))
    channel = SelectField(_l("Channel"), choices=[SelectChoice(channel.value) for channel in BatchChannel])
    usage = SelectField(_l("Where it is spent"),
                        choices=[SelectChoice("", _l("The kind's default")), *(SelectChoice(usage.value) for usage in BatchUsage)])
    scope_product_ids = StringField(_l("Only these product ids"))
    scope_category_ids = StringField(_l("Only these category ids"))
    scope_store_ids = StringField(_l("Only these store ids"))
    campaign = StringField(_l("Campaign label"))
    budget_note = TextAreaField(_l("Budget note"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.term_inputs: dict[str, str] = {}

    def api_body(self) -> dict[str, Any]:
        """The batch as the API's schema reads it: what was left empty is left out (the schema's default)."""
        body: dict[str, Any] = {"kind": self.kind.data}
        for name in ("name", "campaign", "budget_note"):
            if (self[name].data or "").strip():
                body[name] = self[name].data.strip()
        if self.usage.data:
            body["usage"] = self.usage.data
        body["channel"] = self.channel.data
        for name in ("starts_at", "ends_at"):
            if self[name].data is not None:
                body[name] = self[name].data.replace(tzinfo=BUSINESS_ZONE).isoformat()
        for name in WHOLE_NUMBERS:
            _put(body, name, typed_whole(self[name].data))
        _put(body, "min_spend", typed_fen(self.min_spend.data))
        for name in kinds.kind_of(self.kind.data).fields if self.kind.data in kinds.KINDS else ():
            raw = self.term_inputs.get(name, "")
            _put(body, name, typed_fen(raw) if name in kinds.fen_terms() else typed_whole(raw))
        for name in SCOPES:
            _put(body, name, typed_ids(self[name].data))
        return body

    def read_terms(self, formdata) -> None:
        """The kind's terms are inputs of their own (term_<name>), one set for every kind."""
        self.term_inputs = {name: (formdata.get(f"term_{name}") or "").strip() for name in kinds.term_names()}

    @classmethod
    def of_batch(cls, batch: dict[str, Any]) -> BatchForm:
        """A draft's fields as the form shows them (yuan, the business zone)."""
        shown = {name: batch.get(name) for name in ("name", "kind", "channel", "campaign", "budget_note")}
        shown["usage"] = batch.get("usage") or ""
        for name in ("starts_at", "ends_at"):
            shown[name] = batch[name].astimezone(BUSINESS_ZONE).replace(tzinfo=None) if batch.get(name) else None
        for name in WHOLE_NUMBERS:
            shown[name] = "" if batch.get(name) is None else str(batch[name])
        shown["min_spend"] = yuan_input(batch.get("min_spend"))
        for name in SCOPES:
            shown[name] = ", ".join(map(str, batch.get(name) or ()))
        form = cls(formdata=None, data=shown)
        form.term_inputs = {name: (yuan_input(batch.get(name)) if name in kinds.fen_terms()
                                   else ("" if batch.get(name) is None else str(batch[name])))
                            for name in kinds.term_names()}
        return form


def yuan_input(fen: int | None) -> str:
    """Fen as the yuan a person types (``1250`` -> ``12.50``)."""
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        body[name] = value


def typed_whole(raw: str | None) -> int | str | None:
    """A whole number, or what was typed (the schema then names the field: 'Not a valid integer.')."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def typed_fen(raw: str | None) -> int | str | None:
    """Yuan typed with at most two decimals, as integer fen (never a float); anything else as typed."""
    raw = (raw or "").strip().removeprefix("¥")
    if not raw:
        return None
    try:
        fen = Decimal(raw) * 100
    except InvalidOperation:
        return raw
    return int(fen) if fen == fen.to_integral_value() else raw


def typed_ids(raw: str | None) -> list[int | str] | None:
    """Ids separated by commas (either width), spaces or lines; what is not a number stays as typed."""
    return [typed_whole(part) for part in re.split(r"[\s,，]+", raw or "") if part] or None



class IssueToMembersForm(FlaskForm):
    """A targeted batch issued to members listed by id; the list's rules are the API's (``IssueArgs``)."""

    member_ids = TextAreaField(_l("Member ids"))
    holdout_percent = StringField(_l("Hold out as a control group (%)"), default="0")

    def api_body(self) -> dict[str, Any]:
        return {"member_ids": typed_ids(self.member_ids.data) or [], "holdout_percent": typed_whole(self.holdout_percent.data) or 0}


class IssueToSegmentForm(FlaskForm):
    """A targeted batch issued to a saved segment's consenting members (``SegmentIssueArgs``)."""

    segment_id = SelectField(_l("Segment"), coerce=int, validate_choice=False)
    holdout_percent = StringField(_l("Hold out as a control group (%)"), default="0")

    def api_body(self, batch_id: int) -> dict[str, Any]:
        return {"batch_id": batch_id, "holdout_percent": typed_whole(self.holdout_percent.data) or 0}


class ExchangeCodesForm(FlaskForm):
    """New exchange codes for an exchange-code batch (``ExchangeCodesArgs``: how many, within its total)."""

    count = StringField(_l("How many new codes"))

    def api_body(self) -> dict[str, Any]:
        return {"count": typed_whole(self.count.data)} if (self.count.data or "").strip() else {}
