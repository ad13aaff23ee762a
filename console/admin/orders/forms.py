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
