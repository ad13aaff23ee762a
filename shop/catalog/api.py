"""Catalog endpoints: browsing for shoppers (cached in Redis), and marketing's admin API."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.auth import Role, current_principal, roles_required
from shop.catalog import browse, cache, service, stock
from shop.catalog.errors import CatalogError
from shop.catalog.schemas import (
    AdminCategorySchema,
    AdminCategoryTreeSchema,
    AdminProductListArgs,
    AdminProductListItemSchema,
    AdminProductSchema,
    CategoryCreateArgs,
    CategoryPatchArgs,
    CategoryTreeSchema,
    ProductCreateArgs,
    ProductDetailSchema,
    ProductListArgs,
    ProductListItemSchema,
    ProductPatchArgs,
    StockAdjustmentArgs,
    StockMovementSchema,
    StoreArgs,
    StoreAvailabilityArgs,
    StoreSkuSchema,
)
from shop.errors import raises
from shop.extensions import db
from shop.pagination import PageArgs, page_of, paginate
from shop.stores.errors import StoreError

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description=(
    "Categories (two levels), products and SKUs (prices in integer fen), what each store sells for "
    "pickup, and stock with its ledger. Shoppers see on-sale products that have an active SKU; "
    "marketing sees and edits everything. A new product is off sale until put on sale. SKUs are "
    "never deleted, only deactivated; stock changes only through adjustments (and orders), each "
    "written to the ledger. Lists are in `sort_order` (ascending), newest first among equals."))
MARKETING = (Role.MARKETING, Role.ADMIN)

_tree_schema = CategoryTreeSchema(many=True)
_page_schema = page_of(ProductListItemSchema)()
_detail_schema = ProductDetailSchema()


def _json(body: bytes) -> Response:
    return Response(body, mimetype="application/json")


# --- shoppers ---------------------------------------------------------------------------------

@blp.route("/categories", methods=["GET"])
@blp.response(200, CategoryTreeSchema(many=True))
def categories():
    """The category tree: active top-level categories with their active subcategories. Role: anyone."""
    return _json(cache.cached_json("categories", None, lambda: _tree_schema.dump(browse.category_tree())))


@blp.route("/products", methods=["GET"])
@blp.arguments(ProductListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ProductListItemSchema))
@raises(CatalogError.CATEGORY_NOT_FOUND)
def products(filters, page):
    """Products on sale

    `category_id` of a top-level category includes its subcategories; `q` matches part of the title
    in any case; `store_id` keeps what that store sells for pickup (and prices from its SKUs).
    Each item has its lowest SKU price in fen and its cover image. Role: anyone.
    """
    args = {**filters, **page}
    return _json(cache.cached_json("products", args, lambda: _page_schema.dump(browse.product_page(**args))))


@blp.route("/products/<id:product_id>", methods=["GET"])
@blp.arguments(StoreArgs, location="query")
@blp.response(200, ProductDetailSchema)
@raises(CatalogError.PRODUCT_NOT_FOUND, StoreError.STORE_NOT_FOUND)
def product(args, product_id):
    """A product with its SKUs

    With `store_id`, whether each SKU is sold at that store, and its stock there when the store
    counts its own. 404 `product_not_found` when it is not on sale. Role: anyone.
    """
    return _json(cache.cached_json("product", [product_id, args["store_id"]], product_id=product_id,
                                   build=lambda: _detail_schema.dump(browse.product_detail(product_id, **args))))


# --- marketing: categories --------------------------------------------------------------------

@blp.route("/admin/categories")
class AdminCategories(MethodView):
    @roles_required(*MARKETING)
    @blp.response(200, AdminCategoryTreeSchema(many=True))
    def get(self):
        """Every category, active or not, as a tree. Role: marketing, admin."""
        return service.admin_category_tree()

    @roles_required(*MARKETING)
    @blp.arguments(CategoryCreateArgs)
    @blp.response(201, AdminCategorySchema)
    @raises(CatalogError.INVALID_REFERENCE, CatalogError.CATEGORY_TOO_DEEP)
    def post(self, args):
        """Create a category (top-level, or under a top-level `parent_id`). Role: marketing, admin."""
        category = service.create_category(**args)
        db.session.commit()
        return category


@blp.route("/admin/categories/<id:category_id>", methods=["PATCH"])
@roles_required(*MARKETING)
@blp.arguments(CategoryPatchArgs)
@blp.response(200, AdminCategorySchema)
@raises(CatalogError.CATEGORY_NOT_FOUND, CatalogError.INVALID_REFERENCE, CatalogError.CATEGORY_TOO_DEEP)
def update_category(args, category_id):
    """Change a category's name, parent, order or active flag. Role: marketing, admin."""
    category = service.update_category(category_id, **args)
    db.session.commit()
    return category


# --- marketing: products ----------------------------------------------------------------------

@blp.route("/admin/products")
class AdminProducts(MethodView):
    @roles_required(*MARKETING)
    @blp.arguments(AdminProductListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(AdminProductListItemSchema))
    @raises(CatalogError.CATEGORY_NOT_FOUND)
    def get(self, filters, page):
        """Every product, on sale or not, with SKU counts, lowest price and stock. Role: marketing, admin."""
        result = paginate(service.admin_product_list(**filters), **page)
        return {**result, "items": service.admin_summaries(result["items"])}

    @roles_required(*MARKETING)
    @blp.arguments(ProductCreateArgs)
    @blp.response(201, AdminProductSchema)
    @raises(CatalogError.INVALID_REFERENCE, CatalogError.PRICE_ABOVE_ORIGINAL, CatalogError.DUPLICATE_SKU_SPEC)
    def post(self, args):
        """Create a product with its SKUs (off sale unless `status` says on_sale). Role: marketing, admin."""
        product = service.create_product(**args, actor_staff_id=current_principal().staff_id)
        db.session.commit()
        return product


@blp.route("/admin/products/<id:product_id>")
class AdminProduct(MethodView):
    @roles_required(*MARKETING)
    @blp.response(200, AdminProductSchema)
    @raises(CatalogError.PRODUCT_NOT_FOUND)
    def get(self, product_id):
        """A product with all its SKUs and their central stock. Role: marketing, admin."""
        return service.get_product(product_id)

    @roles_required(*MARKETING)
    @blp.arguments(ProductPatchArgs)
    @blp.response(200, AdminProductSchema)
    @raises(CatalogError.PRODUCT_NOT_FOUND, CatalogError.INVALID_REFERENCE,
        CatalogError.PRICE_ABOVE_ORIGINAL, CatalogError.DUPLICATE_SKU_SPEC, CatalogError.NO_ACTIVE_SKU)
    def patch(self, args, product_id):
        """Change a product, change its SKUs (items with `id`) or add SKUs (items without). Role: marketing, admin."""
        product = service.update_product(product_id, **args, actor_staff_id=current_principal().staff_id)
        db.session.commit()
        return product


@blp.route("/admin/products/<id:product_id>/on-sale", methods=["POST"])
@roles_required(*MARKETING)
@blp.response(200, AdminProductSchema)
@raises(CatalogError.PRODUCT_NOT_FOUND, CatalogError.NO_ACTIVE_SKU)
def put_on_sale(product_id):
    """Put a product on sale (it needs an active SKU). Role: marketing, admin."""
    product = service.set_on_sale(product_id, on_sale=True)
    db.session.commit()
    return product


@blp.route("/admin/products/<id:product_id>/off-sale", methods=["POST"])
@roles_required(*MARKETING)
@blp.response(200, AdminProductSchema)
@raises(CatalogError.PRODUCT_NOT_FOUND)
def take_off_sale(product_id):
    """Take a product off sale: shoppers no longer see it. Role: marketing, admin."""
    product = service.set_on_sale(product_id, on_sale=False)
    db.session.commit()
    return product


# --- marketing: stores and stock --------------------------------------------------------------

@blp.route("/admin/skus/<id:sku_id>/stores")
class SkuStores(MethodView):
    @roles_required(*MARKETING)
    @blp.response(200, StoreSkuSchema(many=True))
    @raises(CatalogError.SKU_NOT_FOUND)
    def get(self, sku_id):
        """The stores that sell (or stopped selling) a SKU, with their own stock if counted. Role: marketing, admin."""
        return service.store_availability(sku_id)

    @roles_required(*MARKETING)
    @blp.arguments(StoreAvailabilityArgs)
    @blp.response(200, StoreSkuSchema(many=True))
    @raises(CatalogError.SKU_NOT_FOUND, CatalogError.INVALID_REFERENCE, CatalogError.STOCK_LIMIT)
    def patch(self, args, sku_id):
        """Set whether each listed store sells a SKU, and its own stock

        A `stock` number makes the store count its own stock of the SKU (the change goes to the
        ledger as a stocktake); null stops counting (its orders then draw on the central stock);
        absent leaves it. Stores not listed are unchanged. Role: marketing, admin.
        """
        rows = service.set_store_availability(sku_id, **args, actor_staff_id=current_principal().staff_id)
        db.session.commit()
        return rows


@blp.route("/admin/skus/<id:sku_id>/stock-adjustments", methods=["POST"])
@roles_required(*MARKETING)
@blp.arguments(StockAdjustmentArgs)
@blp.response(201, StockMovementSchema)
@raises(CatalogError.SKU_NOT_FOUND, CatalogError.INVALID_REFERENCE, CatalogError.STORE_STOCK_NOT_TRACKED,
        CatalogError.INSUFFICIENT_STOCK, CatalogError.STOCK_LIMIT, CatalogError.SKU_NOT_SOLD_AT_STORE)
def adjust_stock(args, sku_id):
    """Add or remove stock with a reason (409 `insufficient_stock` below zero). Role: marketing, admin."""
    movement = stock.adjust_stock(sku_id, **args, actor_staff_id=current_principal().staff_id)
    db.session.commit()
    return movement


@blp.route("/admin/skus/<id:sku_id>/stock-ledger", methods=["GET"])
@roles_required(*MARKETING)
@blp.arguments(StoreArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(StockMovementSchema))
@raises(CatalogError.SKU_NOT_FOUND, CatalogError.INVALID_REFERENCE)
def stock_ledger(filters, page, sku_id):
    """A SKU's stock ledger, newest first (one store's rows with `store_id`). Role: marketing, admin."""
    return paginate(stock.ledger(sku_id, **filters), **page)
