"""Request and response shapes of subscribe messages."""

import marshmallow as ma
from marshmallow import validate

from shop.fields import BoundedList, text
from shop.messages.models import MAX_TEMPLATE_ID
from shop.messages.templates import LAYOUTS

MAX_TEMPLATES_ASKED = 10  # wx.requestSubscribeMessage asks for 3 at a time; Ripple has 6 templates


class TemplateSchema(ma.Schema):
    template_id = ma.fields.String(metadata={"description": "The id to pass to wx.requestSubscribeMessage."})
    purpose = ma.fields.String(metadata={"description": ", ".join(p.value for p in LAYOUTS)})
    sends_left = ma.fields.Integer(metadata={"description": "Messages of this template Ripple may still send "
                                                            "you: one per acceptance, used one per message."})


class SubscriptionsSchema(ma.Schema):
    templates = ma.fields.List(ma.fields.Nested(TemplateSchema))


def _template_ids(description: str) -> BoundedList:
    return BoundedList(text(MAX_TEMPLATE_ID), required=True, validate=validate.Length(max=MAX_TEMPLATES_ASKED),
                       metadata={"description": description})


class AcceptanceArgs(ma.Schema):
    template_ids = _template_ids("The templates the mini-program asked for (1-10).")
    accepted = _template_ids("Those the shopper accepted (`accept` in wx.requestSubscribeMessage's result); "
                             "each adds one send.")

    @ma.validates_schema
    def accepted_were_asked(self, data, **kwargs):
        if not data.get("template_ids"):
            raise ma.ValidationError("Name the templates asked for.", "template_ids")
        if set(data.get("accepted", ())) - set(data["template_ids"]):
            raise ma.ValidationError("Only templates that were asked for can be accepted.", "accepted")


class IdempotencyHeader(ma.Schema):
    idempotency_key = text(64, data_key="Idempotency-Key", load_default=None, metadata={
        "description": "A retry with the same key adds nothing again and answers the current counts."})

    class Meta:
        unknown = ma.EXCLUDE
