"""The counter's forms: a scan, its confirmation, a till sale's amount (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

CENT = Decimal("0.01")


class ScanForm(FlaskForm):
    code = StringField(_l("Scan or type a code"), validators=[DataRequired(), Length(max=128)])
    store_id = SelectField(_l("Store"), coerce=int, validators=[Optional()], validate_choice=False)


class ConfirmForm(FlaskForm):
    """What the clerk confirms: the code found and its kind, as the scan showed them."""

    kind = HiddenField(validators=[DataRequired()])
    code = HiddenField(validators=[DataRequired(), Length(max=128)])
    store_id = IntegerField(validators=[Optional()], widget=HiddenField.widget)


class SaleForm(ConfirmForm):
    """A till sale for the member the code names: the receipt's number and total (yuan, two decimals)."""

    receipt_no = StringField(_l("Receipt number"), validators=[DataRequired(), Length(max=40)])
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[DataRequired(), NumberRange(min=CENT)])

    def validate_amount(self, field: DecimalField) -> None:
        if field.data is not None and field.data != field.data.quantize(CENT):
            raise ValidationError(_l("At most two decimals: yuan and fen."))

    def amount_fen(self) -> int:
        """The amount in integer fen (a decimal from the form, never a float)."""
        return int((self.amount.data * 100).to_integral_exact())
