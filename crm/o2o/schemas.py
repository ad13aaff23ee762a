"""Request and response shapes of the o2o reports. Days are business days (Asia/Shanghai); money is fen."""

import marshmallow as ma
from marshmallow import validate

from crm.o2o.service import RANKS
from crm.rollups.service import MAX_REPORT_DAYS
from shop.pagination import PageArgs

FIGURE_DOCS = {
    "coupons_claimed": "Coupons of batches usable in stores (`in_store`, `both`) claimed in the period by members "
                       "whose home store this is.",
    "coupons_redeemed": "Coupons a clerk redeemed at this store in the period (reverted redemptions left out).",
    "pickup_placed": "Pickup orders for this store paid in the period.",
    "pickup_picked_up": "Pickup orders handed over at this store in the period.",
    "till_sales": "Till sales recorded with a member's code at this store in the period, voided ones left out.",
    "till_sales_fen": "What those till sales brought in: fen paid less fen refunded (in-store GMV by members).",
    "new_members": "Members the store won in the period: their home store was set here by their first store "
                   "share opened or, failing that, their first store purchase.",
    "new_members_via_share": "Of those, the ones won by a store share.",
    "regulars": "Members whose regular store this is now (most paid orders and redemptions), as of the last "
                "computed-tag refresh: a figure of today, not of the period.",
}


class PeriodDaysArgs(ma.Schema):
    """Business days ``from`` to ``to``, both included, at most 366 days."""

    first = ma.fields.Date(required=True, data_key="from", metadata={
        "description": "First business day (Asia/Shanghai), included: `2026-11-01`."})
    last = ma.fields.Date(required=True, data_key="to", metadata={
        "description": f"Last business day, included; not before `from`, at most {MAX_REPORT_DAYS} days in all."})


class StoresO2OArgs(PeriodDaysArgs, PageArgs):
    rank_by = ma.fields.String(load_default="till_sales_fen", validate=validate.OneOf(RANKS), metadata={
        "description": "The figure stores are ranked by, highest first (ties: the lower store id). "
                       "Default `till_sales_fen`, members' in-store GMV."})


def _figures() -> dict[str, ma.fields.Field]:
    return {name: ma.fields.Integer(required=True, metadata={"description": doc}) for name, doc in FIGURE_DOCS.items()}


class O2OStoreSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    city = ma.fields.String()


_FRESHNESS = {
    "from": ma.fields.Date(), "to": ma.fields.Date(),
    "as_of": ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "The figures hold the raw rows up to this time (the oldest build of the period's days); "
                       "null while a day of the period is not built yet: the figures are then those of the days "
                       "built."}),
    "days": ma.fields.Integer(), "days_built": ma.fields.Integer(),
}

StoreO2OSchema = ma.Schema.from_dict({**_FRESHNESS, "store": ma.fields.Nested(O2OStoreSchema), **_figures()},
                                     name="StoreO2OSchema")
RankedStoreSchema = ma.Schema.from_dict({"rank": ma.fields.Integer(), "store": ma.fields.Nested(O2OStoreSchema),
                                         **_figures()}, name="RankedStoreSchema")
StoresO2OPageSchema = ma.Schema.from_dict({
    **_FRESHNESS, "rank_by": ma.fields.String(), "items": ma.fields.List(ma.fields.Nested(RankedStoreSchema)),
    "total": ma.fields.Integer(), "page": ma.fields.Integer(), "page_size": ma.fields.Integer()},
    name="StoresO2OPageSchema")
