"""Request and response shapes of the catalog. Money is integer fen; JSON bodies are typed strictly."""

import marshmallow as ma
from marshmallow import validate

from shop.catalog.models import ADJUSTMENT_REASONS, ProductStatus
from shop.config import MAX_PRICE_FEN
from shop.fields import BoundedList, fen, id_field, strict_int, text

MAX_STOCK = 10_000_000


def price_fen(**kwargs) -> ma.fields.Integer:
    return fen(MAX_PRICE_FEN, **kwargs)


class StrippedSchema(ma.Schema):
    """Strips surrounding whitespace from the string fields listed in ``Meta.strip``."""

    class Meta:
        strip: tuple[str, ...] = ()

    @ma.pre_load
    def strip_strings(self, data, **kwargs):
        if isinstance(data, dict):
            data = {k: v.strip() if k in self.Meta.strip and isinstance(v, str) else v for k, v in data.items()}
        return data


# --- categories -------------------------------------------------------------------------------

class CategoryCreateArgs(StrippedSchema):
    class Meta:
        strip = ("name",)

    name = text(64, required=True)
    parent_id = id_field(strict=True, allow_none=True, load_default=None,
                           metadata={"description": "A top-level category; none makes this one top-level."})
    sort_order = strict_int(-1_000_000, 1_000_000, load_default=0, metadata={"description": "Ascending."})
    active = ma.fields.Boolean(load_default=True)


class CategoryPatchArgs(StrippedSchema):
    class Meta:
        strip = ("name",)

    name = text(64)
    parent_id = id_field(strict=True, allow_none=True, metadata={"description": "null makes it top-level."})
    sort_order = strict_int(-1_000_000, 1_000_000)
    active = ma.fields.Boolean()


class SubcategorySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    sort_order = ma.fields.Integer()


class CategoryTreeSchema(SubcategorySchema):
    children = ma.fields.List(ma.fields.Nested(SubcategorySchema))


class AdminCategorySchema(ma.Schema):
    id = ma.fields.Integer()
    parent_id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String()
    sort_order = ma.fields.Integer()
    active = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class AdminCategoryTreeSchema(AdminCategorySchema):
    children = ma.fields.List(ma.fields.Nested(AdminCategorySchema))


# --- products and SKUs ------------------------------------------------------------------------

class SpecField(ma.fields.Dict):
    """A SKU's spec values: up to 5 names, each with one value, e.g. {"size": "L"}."""

    def __init__(self, **kwargs):
        super().__init__(keys=text(32), values=text(64), validate=validate.Length(max=5), **kwargs)


class SkuCreateArgs(ma.Schema):
    spec = SpecField(load_default=dict)
    price = price_fen(required=True)
    original_price = price_fen(allow_none=True, load_default=None)
    stock = strict_int(0, MAX_STOCK, load_default=0, metadata={"description": "Initial central stock."})
    active = ma.fields.Boolean(load_default=True)

    @ma.validates_schema
    def original_not_below_price(self, data, **kwargs):
        _check_original_price(data)


class SkuWriteArgs(ma.Schema):
    """A SKU in a product update: with ``id`` it changes that SKU, without it adds one."""

    id = id_field(strict=True)
    spec = SpecField()
    price = price_fen()
    original_price = price_fen(allow_none=True)
    stock = strict_int(0, MAX_STOCK, metadata={"description": "New SKUs only; change stock with adjustments."})
    active = ma.fields.Boolean()

    @ma.validates_schema
    def new_or_existing(self, data, **kwargs):
        if "id" in data and "stock" in data:
            raise ma.ValidationError("Change an existing SKU's stock with a stock adjustment.", "stock")
        if "id" not in data and "price" not in data:
            raise ma.ValidationError("A new SKU needs a price.", "price")
        _check_original_price(data)


def _check_original_price(data: dict) -> None:
    original, price = data.get("original_price"), data.get("price")
    if original is not None and price is not None and original < price:
        raise ma.ValidationError("The original price cannot be below the price.", "original_price")


def image_urls(**kwargs) -> ma.fields.List:
    return BoundedList(ma.fields.Url(schemes={"https"}, validate=validate.Length(max=512)),
                          validate=validate.Length(max=9),
                          metadata={"description": "Up to 9 https URLs; the first is the cover."}, **kwargs)


class ProductCreateArgs(StrippedSchema):
    class Meta:
        strip = ("title", "subtitle")

    title = text(128, required=True)
    subtitle = text(255, allow_none=True, load_default=None, min_length=0)
    description = text(20_000, allow_none=True, load_default=None, min_length=0, multiline=True)
    image_urls = image_urls(load_default=list)
    category_id = id_field(strict=True, required=True)
    status = ma.fields.String(load_default=ProductStatus.OFF_SALE.value,
                              validate=validate.OneOf([s.value for s in ProductStatus]),
                              metadata={"description": "Default off_sale: a product goes live when you say so."})
    sort_order = strict_int(-1_000_000, 1_000_000, load_default=0, metadata={"description": "Ascending."})
    skus = BoundedList(ma.fields.Nested(SkuCreateArgs), required=True, validate=validate.Length(min=1, max=100))


class ProductPatchArgs(StrippedSchema):
    class Meta:
        strip = ("title", "subtitle")

    title = text(128)
    subtitle = text(255, allow_none=True, min_length=0)
    description = text(20_000, allow_none=True, min_length=0, multiline=True)
    image_urls = image_urls()
    category_id = id_field(strict=True)
    sort_order = strict_int(-1_000_000, 1_000_000)
    skus = BoundedList(ma.fields.Nested(SkuWriteArgs), validate=validate.Length(min=1, max=100), metadata={
        "description": "SKUs to change (with id) or add (without); SKUs not listed stay as they are."})


class ProductListArgs(ma.Schema):
    category_id = id_field(load_default=None,
                           metadata={"description": "A top-level category includes its subcategories."})
    q = text(64, load_default=None, metadata={"description": "Part of the title, any case."})
    store_id = id_field(load_default=None, metadata={"description": "Only what this store sells for pickup."})

    @ma.post_load
    def blank_q_is_none(self, data, **kwargs):
        data["q"] = (data["q"] or "").strip() or None
        return data


class AdminProductListArgs(ProductListArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in ProductStatus]))


class StoreArgs(ma.Schema):
    store_id = id_field(load_default=None)


class ProductListItemSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    subtitle = ma.fields.String(allow_none=True)
    cover_image = ma.fields.String(allow_none=True)
    category_id = ma.fields.Integer()
    min_price = ma.fields.Integer(metadata={"description": "Fen: the lowest price of its SKUs (at the store, "
                                                           "when filtered by store)."})


class SkuSchema(ma.Schema):
    id = ma.fields.Integer()
    spec = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    price = ma.fields.Integer(metadata={"description": "Fen."})
    original_price = ma.fields.Integer(allow_none=True, metadata={"description": "Fen, shown struck through."})
    in_stock = ma.fields.Boolean(metadata={"description": "At the store when one is given and counts its stock."})
    available_at_store = ma.fields.Boolean(metadata={"description": "Only with store_id."})


class SpecOptionSchema(ma.Schema):
    name = ma.fields.String()
    values = ma.fields.List(ma.fields.String())


class ProductDetailSchema(ProductListItemSchema):
    description = ma.fields.String(allow_none=True)
    image_urls = ma.fields.List(ma.fields.String())
    spec_options = ma.fields.List(ma.fields.Nested(SpecOptionSchema),
                                  metadata={"description": "Spec names and their values, for the picker."})
    skus = ma.fields.List(ma.fields.Nested(SkuSchema))
    store_id = ma.fields.Integer(metadata={"description": "Only with store_id."})
    sold_at_store = ma.fields.Boolean(metadata={"description": "Only with store_id."})


class AdminSkuSchema(ma.Schema):
    id = ma.fields.Integer()
    product_id = ma.fields.Integer()
    spec = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    price = ma.fields.Integer()
    original_price = ma.fields.Integer(allow_none=True)
    stock = ma.fields.Integer(metadata={"description": "Central stock."})
    active = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class AdminProductSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    subtitle = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    image_urls = ma.fields.List(ma.fields.String())
    category_id = ma.fields.Integer()
    status = ma.fields.String()
    sort_order = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    skus = ma.fields.List(ma.fields.Nested(AdminSkuSchema))


class AdminProductListItemSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    cover_image = ma.fields.String(allow_none=True)
    category_id = ma.fields.Integer()
    status = ma.fields.String()
    sort_order = ma.fields.Integer()
    sku_count = ma.fields.Integer()
    active_sku_count = ma.fields.Integer()
    min_price = ma.fields.Integer(allow_none=True, metadata={"description": "Of the active SKUs."})
    stock = ma.fields.Integer(metadata={"description": "Central stock of all its SKUs."})
    updated_at = ma.fields.AwareDateTime()


# --- availability at stores, stock --------------------------------------------------------------

class StoreAvailabilityItem(ma.Schema):
    store_id = id_field(strict=True, required=True)
    available = ma.fields.Boolean(required=True)
    stock = strict_int(0, MAX_STOCK, allow_none=True, metadata={
        "description": "The store's own stock of the SKU; null: not counted there (orders draw on the "
                       "central stock); absent: unchanged."})


class StoreAvailabilityArgs(ma.Schema):
    stores = BoundedList(ma.fields.Nested(StoreAvailabilityItem), required=True,
                            validate=validate.Length(min=1, max=500))

    @ma.validates_schema
    def stores_once(self, data, **kwargs):
        ids = [item["store_id"] for item in data.get("stores", [])]
        if len(ids) != len(set(ids)):
            raise ma.ValidationError("Each store once.", "stores")


class StoreSkuSchema(ma.Schema):
    store_id = ma.fields.Integer()
    sku_id = ma.fields.Integer()
    available = ma.fields.Boolean()
    stock = ma.fields.Integer(allow_none=True)
    updated_at = ma.fields.AwareDateTime()


class StockAdjustmentArgs(ma.Schema):
    delta = strict_int(-MAX_STOCK, MAX_STOCK, required=True,
                       metadata={"description": "Units added (positive) or removed (negative); not 0."})
    reason = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in ADJUSTMENT_REASONS]))
    note = text(255, load_default=None, allow_none=True)
    store_id = id_field(strict=True, load_default=None, allow_none=True, metadata={
        "description": "Adjust this store's own stock (it must count it); absent: the central stock."})

    @ma.validates("delta")
    def not_zero(self, value, **kwargs):
        if value == 0:
            raise ma.ValidationError("An adjustment changes the stock: not 0.")

    @ma.validates_schema
    def other_needs_a_note(self, data, **kwargs):
        if data.get("reason") == "other" and not data.get("note"):
            raise ma.ValidationError("Say why in a note when the reason is 'other'.", "note")


class StockMovementSchema(ma.Schema):
    id = ma.fields.Integer()
    sku_id = ma.fields.Integer()
    store_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: the central stock."})
    delta = ma.fields.Integer()
    reason = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    actor_staff_id = ma.fields.Integer(allow_none=True)
    balance_after = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
