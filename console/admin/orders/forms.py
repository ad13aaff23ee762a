"""An order's refund: the reason (the shopper sees it) and, for a part refund, how many of each line."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField


class RefundForm(FlaskForm):
    reason = StringField(_l("Reason (the shopper sees it)"))

    @staticmethod
    def lines_of(form_data, line_ids: list[int]) -> list[dict[str, int | str]] | None:
        """The quantities typed per line (``quantity-<line id>``) as the API's ``lines``; None: all that is left."""
        typed = [(line_id, (form_data.get(f"quantity-{line_id}") or "").strip()) for line_id in line_ids]
        # Digits become the number the API's strict field takes; anything else goes on for its error.
        chosen = [{"line_id": line_id, "quantity": int(quantity) if quantity.isdigit() else quantity}
                  for line_id, quantity in typed if quantity.strip("0")]
        return chosen or None


class ShipForm(FlaskForm):
    """How the goods left: by express (a carrier of WeChat's list and a tracking number) or same-city delivery."""

    logistics_type = StringField(_l("How it goes"), default="1")  # WeChat's numbers: 1 express, 2 same-city
    kinds = (("1", _l("Express")), ("2", _l("Same-city delivery")))
    carrier = StringField(_l("Carrier"))
    tracking_no = StringField(_l("Tracking number"))

    def as_api(self) -> dict[str, int | str | None]:
        """The form as the API's ``ShipArgs`` reads it (empty text: not given)."""
        kind = (self.logistics_type.data or "1").strip()
        return {"logistics_type": int(kind) if kind.isdigit() else kind,
                "carrier": (self.carrier.data or "").strip() or None,
                "tracking_no": (self.tracking_no.data or "").strip() or None}
