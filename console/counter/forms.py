"""The counter's forms: a scan, its confirmation, a till sale's amount or items (Flask-WTF: each carries the CSRF
token)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

CENT = Decimal("0.01")
SALE_LINES = 3  # item lines the sale form offers (a receipt of more is recorded by its amount)


class ScanForm(FlaskForm):
    code = StringField(_l("Scan or type a code"), validators=[DataRequired(), Length(max=128)])
    store_id = SelectField(_l("Store"), coerce=int, validators=[Optional()], validate_choice=False)


class ConfirmForm(FlaskForm):
    """What the clerk confirms: the code found and its kind, as the scan showed them."""

    kind = HiddenField(validators=[DataRequired()])
    code = HiddenField(validators=[DataRequired(), Length(max=128)])
    store_id = IntegerField(validators=[Optional()], widget=HiddenField.widget)


class SaleLineForm(Form):
    """One line of the receipt: the item, how many, and what the till charged for one (yuan; the catalog's price
    when left empty)."""

    sku_id = SelectField(_l("Item"), coerce=int, validators=[Optional()], validate_choice=False)
    quantity = StringField(_l("Quantity"))
    unit_price = StringField(_l("Unit price (yuan)"))

    def api_line(self, catalog_prices: dict[int, int]) -> dict[str, Any] | None:
        """The line as the API's ``SaleItemArgs`` reads it; None for a line left empty. What is not a number is
        passed on as typed, for the schema to name."""
        if not self.sku_id.data:
            return None
        quantity = (self.quantity.data or "").strip() or "1"
        price = (self.unit_price.data or "").strip()
        return {"sku_id": self.sku_id.data, "quantity": int(quantity) if quantity.isdigit() else quantity,
                "unit_price": yuan_to_fen(price) if price else catalog_prices.get(self.sku_id.data)}


class SaleForm(ConfirmForm):
    """A till sale for the member the code names: the receipt's number and total (yuan, two decimals), and
    optionally its items and a coupon's code the shopper shows with it."""

    receipt_no = StringField(_l("Receipt number"), validators=[DataRequired(), Length(max=40)])
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[DataRequired(), NumberRange(min=CENT)])
    lines = FieldList(FormField(SaleLineForm), min_entries=SALE_LINES, max_entries=SALE_LINES)
    coupon_code = StringField(_l("Coupon code (optional)"), validators=[Optional(), Length(max=64)])

    def offer(self, skus: list[dict[str, Any]]) -> None:
        """The store's items for each line's menu (none chosen by default)."""
        choices = [SelectChoice(0, "—")] + [SelectChoice(sku["id"], sku_label(sku)) for sku in skus]
        for line in self.lines:
            line.sku_id.choices = choices

    def validate_amount(self, field: DecimalField) -> None:
        if field.data is not None and field.data != field.data.quantize(CENT):
            raise ValidationError(_l("At most two decimals: yuan and fen."))

    def amount_fen(self) -> int:
        """The amount in integer fen (a decimal from the form, never a float)."""
        return int((self.amount.data * 100).to_integral_exact())


def yuan_to_fen(typed: str) -> int | str:
    """Yuan typed with at most two decimals as integer fen (never a float); anything else as typed."""
    try:
        fen = Decimal(typed.removeprefix("¥")) * 100
    except InvalidOperation:
        return typed
    return int(fen) if fen == fen.to_integral_value() else typed


def sku_label(sku: dict[str, Any]) -> str:
    spec = " ".join(str(value) for value in (sku.get("spec") or {}).values())
    return f"{sku['title']} {spec}".strip()
