"""Store endpoints: the nearest stores for shoppers, the store network for marketing."""

from __future__ import annotations

from datetime import date

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.auth import Role, roles_required
from shop.catalog.service import store_ids_selling
from shop.database import utcnow
from shop.errors import AppError, CommonError, raises
from shop.extensions import db
from shop.pagination import PageArgs, page_of, paginate
from shop.query_args import QuickQueryParser
from shop.stores import service
from shop.stores.errors import StoreError
from shop.stores.importing import FORMAT_HELP, MAX_FILE_BYTES
from shop.stores.nearby import nearby_stores
from shop.stores.schemas import (
    HoursExceptionArgs,
    HoursExceptionSchema,
    ImportResultSchema,
    NearbyArgs,
    NearbySchema,
    StoreInputSchema,
    StoreListArgs,
    StorePatchSchema,
    StoreSchema,
)

blp = Blueprint("stores", __name__, url_prefix="/api/v1", description="Stores near you; the store network.")
blp.ARGUMENTS_PARSER = QuickQueryParser()  # the nearby search's arguments, without webargs' per-request work
MARKETING = (Role.MARKETING, Role.ADMIN)


@blp.route("/stores/nearby", methods=["GET"])
@blp.arguments(NearbyArgs(), location="query")
@blp.response(200, NearbySchema)
@raises(CommonError.SERVICE_UNAVAILABLE)
def nearby(args):
    """The nearest open stores

    Sorted by distance (metres, `distance_m`), with whether each is open now and when it next opens
    or closes, in the store's own time zone. Coordinates are GCJ-02 unless `coord=wgs84`
    (converted inside mainland China; outside it there is no offset). Defaults: radius 5 km
    (at most 50 km), limit 20 (at most 50). Stores closed for good or suspended are not listed.

    The search runs on a Redis index that heals itself: while it is being rebuilt (after Redis lost
    it or came back from an older snapshot) or Redis is down, the same answer comes from the
    database; a search too wide to answer that way is 503 `service_unavailable` with
    `Retry-After`, never an empty list. Role: anyone.
    """
    store_ids = store_ids_selling(args["product_id"]) if args["product_id"] else None
    items = nearby_stores(lat=args["lat"], lng=args["lng"], radius_m=args["radius_m"], limit=args["limit"],
                          at=utcnow(), open_now=args["open_now"], service=args["service"], store_ids=store_ids)
    # Built with orjson directly: this is the hottest list, and the schema above documents it.
    return current_app.json.response({"items": items})


@blp.route("/stores/<id:store_id>", methods=["GET"])
@blp.response(200, StoreSchema)
@raises(StoreError.STORE_NOT_FOUND)
def get_store(store_id):
    """A store, with its hours and whether it is open now. Role: anyone."""
    return service.store_detail(service.get_store(store_id), utcnow())


@blp.route("/admin/stores")
class AdminStores(MethodView):
    @roles_required(*MARKETING)
    @blp.arguments(StoreListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(StoreSchema))
    def get(self, filters, page):
        """All stores, any status. Role: marketing, admin."""
        result = paginate(service.store_list(**filters), **page)
        now = utcnow()
        return {**result, "items": [service.store_detail(store, now) for store in result["items"]]}

    @roles_required(*MARKETING)
    @blp.arguments(StoreInputSchema)
    @blp.response(201, StoreSchema)
    @raises(StoreError.STORE_CODE_TAKEN)
    def post(self, data):
        """Create a store. Role: marketing, admin."""
        store = service.create_store(data)
        db.session.commit()
        return service.store_detail(store, utcnow())


@blp.route("/admin/stores/<id:store_id>")
class AdminStore(MethodView):
    @roles_required(*MARKETING)
    @blp.response(200, StoreSchema)
    @raises(StoreError.STORE_NOT_FOUND)
    def get(self, store_id):
        """A store. Role: marketing, admin."""
        return service.store_detail(service.get_store(store_id), utcnow())

    @roles_required(*MARKETING)
    @blp.arguments(StorePatchSchema(partial=True))
    @blp.response(200, StoreSchema)
    @raises(StoreError.STORE_NOT_FOUND, StoreError.STORE_CODE_TAKEN)
    def patch(self, changes, store_id):
        """Change a store (its status too: open, closed, suspended). Role: marketing, admin."""
        store = service.update_store(store_id, changes)
        db.session.commit()
        return service.store_detail(store, utcnow())

    @roles_required(Role.ADMIN)
    @blp.response(204)
    @raises(StoreError.STORE_NOT_FOUND, StoreError.STORE_HAS_HISTORY)
    def delete(self, store_id):
        """Delete a store entered by mistake (close a real one instead)

        A store that kept records refer to (orders, till sales, redemptions, stock movements, members'
        home store, store shares) is refused: 409 `store_has_history`, the tables in `details.kept_by`;
        close it instead. Its hours exceptions, stock rows and staff assignments go with it. Role: admin.
        """
        service.delete_store(store_id)
        db.session.commit()


@blp.route("/admin/stores/<id:store_id>/close", methods=["POST"])
@roles_required(*MARKETING)
@blp.response(200, StoreSchema)
@raises(StoreError.STORE_NOT_FOUND)
def close_store(store_id):
    """Close a store for good: it leaves the nearby search at once. Role: marketing, admin."""
    store = service.close_store(store_id)
    db.session.commit()
    return service.store_detail(store, utcnow())


@blp.route("/admin/stores/<id:store_id>/exceptions/<string:day>")
class AdminHoursException(MethodView):
    @roles_required(*MARKETING)
    @blp.arguments(HoursExceptionArgs)
    @blp.response(200, HoursExceptionSchema)
    @raises(StoreError.STORE_NOT_FOUND, CommonError.VALIDATION_ERROR)
    def put(self, args, store_id, day):
        """Set one day's hours (a holiday, a temporary closing: `hours: []`). Role: marketing, admin."""
        exception = service.set_exception(store_id, _day(day), args["hours"], args["note"])
        db.session.commit()
        return exception

    @roles_required(*MARKETING)
    @blp.response(204)
    @raises(StoreError.STORE_NOT_FOUND, CommonError.VALIDATION_ERROR)
    def delete(self, store_id, day):
        """Back to the weekly hours that day. Role: marketing, admin."""
        service.remove_exception(store_id, _day(day))
        db.session.commit()


@blp.route("/admin/stores/import", methods=["POST"])
@roles_required(*MARKETING)
@blp.response(200, ImportResultSchema)
@blp.doc(description=(
    "Creates or updates stores by `code`; stores already as given count as `unchanged` and are not "
    "written, so importing the same file twice changes nothing. Every row is checked first, by the "
    "same rules as `POST /admin/stores`; if any is wrong nothing is imported and the 422 "
    '`store_import_invalid` lists each error as `errors: {"line N": ["field: message"]}`. A file that '
    "is not UTF-8 is 422 `store_import_not_utf8` (`details.line`, `details.looks_like`); a body over "
    "the limit is 413 `payload_too_large` (`details.limit_bytes`). Role: marketing, admin.\n\n"
    f"```text\n{FORMAT_HELP}\n```"))
@raises(StoreError.IMPORT_INVALID, StoreError.IMPORT_NOT_UTF8, CommonError.VALIDATION_ERROR, CommonError.PAYLOAD_TOO_LARGE)
def import_stores():
    """Import stores from CSV (body `text/csv`, or a multipart `file`)"""
    result = service.import_stores_file(_csv_bytes())
    db.session.commit()
    return result


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AppError(CommonError.VALIDATION_ERROR, "The day is a date like 2026-10-01.",
                       errors={"day": ["Not a valid date."]}) from None




def _csv_bytes() -> bytes:
    request.max_content_length = MAX_FILE_BYTES  # a 20,000-store file is larger than other bodies
    upload = request.files.get("file")
    raw = upload.read(MAX_FILE_BYTES + 1) if upload else request.get_data()
    if not raw:
        raise AppError(CommonError.VALIDATION_ERROR, "Send the CSV as the body or as a 'file' upload.",
                       errors={"file": ["Missing."]})
    return raw
