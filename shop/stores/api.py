"""Store endpoints: the nearest stores for shoppers, the store network for marketing; staff accounts and login."""

from __future__ import annotations

from datetime import date

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from shop import rate_limits
from shop.auth import STAFF_SIDE_ROLES, Role, current_principal, issue_staff_token, roles_required
from shop.catalog.service import store_ids_selling
from shop.database import utcnow
from shop.errors import AppError, CommonError
from shop.extensions import db
from shop.pagination import PageArgs, page_of, paginate
from shop.query_args import QuickQueryParser
from shop.stores import service, staff
from shop.stores.importing import FORMAT_HELP, MAX_FILE_BYTES
from shop.stores.nearby import nearby_stores
from shop.stores.schemas import (
    AdminStaffCreateArgs,
    AllStaffAuditArgs,
    HoursExceptionArgs,
    HoursExceptionSchema,
    ImportResultSchema,
    NearbyArgs,
    NearbySchema,
    OwnPasswordArgs,
    PasswordResetArgs,
    PasswordResetSchema,
    StaffAuditArgs,
    StaffAuditSchema,
    StaffCreateArgs,
    StaffDetailSchema,
    StaffListArgs,
    StaffLoginArgs,
    StaffLoginSchema,
    StaffPatchArgs,
    StaffSchema,
    StoreInputSchema,
    StoreListArgs,
    StorePatchSchema,
    StoreSchema,
)

blp = Blueprint("stores", __name__, url_prefix="/api/v1", description="Stores near you; the store network; staff.")
blp.ARGUMENTS_PARSER = QuickQueryParser()  # the nearby search's arguments, without webargs' per-request work
MARKETING = (Role.MARKETING, Role.ADMIN)
NO_STORE = {"Cache-Control": "no-store"}  # answers carrying a token or a password


@blp.route("/stores/nearby", methods=["GET"])
@blp.arguments(NearbyArgs(), location="query")
@blp.response(200, NearbySchema)
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
    def post(self, data):
        """Create a store. Role: marketing, admin."""
        store = service.create_store(data)
        db.session.commit()
        return service.store_detail(store, utcnow())


@blp.route("/admin/stores/<id:store_id>")
class AdminStore(MethodView):
    @roles_required(*MARKETING)
    @blp.response(200, StoreSchema)
    def get(self, store_id):
        """A store. Role: marketing, admin."""
        return service.store_detail(service.get_store(store_id), utcnow())

    @roles_required(*MARKETING)
    @blp.arguments(StorePatchSchema(partial=True))
    @blp.response(200, StoreSchema)
    def patch(self, changes, store_id):
        """Change a store (its status too: open, closed, suspended). Role: marketing, admin."""
        store = service.update_store(store_id, changes)
        db.session.commit()
        return service.store_detail(store, utcnow())

    @roles_required(Role.ADMIN)
    @blp.response(204)
    def delete(self, store_id):
        """Delete a store entered by mistake (close a real one instead). Role: admin."""
        service.delete_store(store_id)
        db.session.commit()


@blp.route("/admin/stores/<id:store_id>/close", methods=["POST"])
@roles_required(*MARKETING)
@blp.response(200, StoreSchema)
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
    def put(self, args, store_id, day):
        """Set one day's hours (a holiday, a temporary closing: `hours: []`). Role: marketing, admin."""
        exception = service.set_exception(store_id, _day(day), args["hours"], args["note"])
        db.session.commit()
        return exception

    @roles_required(*MARKETING)
    @blp.response(204)
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
def import_stores():
    """Import stores from CSV (body `text/csv`, or a multipart `file`)"""
    result = service.import_stores_file(_csv_bytes())
    db.session.commit()
    return result


@blp.route("/admin/stores/<id:store_id>/staff")
class AdminStoreStaff(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, StaffSchema(many=True))
    def get(self, store_id):
        """The staff accounts of a store. Role: admin."""
        return service.get_store(store_id).staff

    @roles_required(Role.ADMIN)
    @blp.arguments(StaffCreateArgs)
    @blp.response(201, StaffSchema)
    def post(self, args, store_id):
        """Create a clerk account for this store

        The clerk must choose their own password at the first login (`must_change_password`).
        Role: admin.
        """
        account = staff.create_staff(role=Role.STAFF, store_ids=[service.get_store(store_id).id],
                                     must_change_password=True, origin=_origin(), **args)
        db.session.commit()
        return account


@blp.route("/admin/staff")
class AdminStaffList(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(StaffListArgs, location="query")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(StaffDetailSchema))
    def get(self, filters, page):
        """Staff, marketing and admin accounts, by id

        Filters: `role`, `active`, `store_id` (clerks of that store), `q` (part of the username or
        display name), `locked` (locked now after too many wrong passwords). Role: admin.
        """
        return paginate(staff.staff_list(**filters, at=utcnow()), **page)

    @roles_required(Role.ADMIN)
    @blp.arguments(AdminStaffCreateArgs)
    @blp.response(201, StaffDetailSchema)
    def post(self, args):
        """Create a staff, marketing or admin account

        The account must choose its own password at the first login. Role: admin.
        """
        account = staff.create_staff(must_change_password=True, origin=_origin(), **args)
        db.session.commit()
        return account


@blp.route("/admin/staff/<id:staff_id>")
class AdminStaff(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, StaffDetailSchema)
    def get(self, staff_id):
        """A staff account. Role: admin."""
        return staff.get_staff(staff_id)

    @roles_required(Role.ADMIN)
    @blp.arguments(StaffPatchArgs)
    @blp.response(200, StaffDetailSchema)
    def patch(self, changes, staff_id):
        """Change an account: `active`, `role`, `store_ids`, `display_name`

        Disabling and a role change end the account's tokens at once (their next request is 401
        `token_invalid`); a change of stores applies to its next request. The last active admin
        cannot be disabled or demoted (409 `staff_last_admin`). Every change is in the audit.
        Role: admin.
        """
        account = staff.update_staff(staff_id, changes, _origin())
        db.session.commit()
        return account


@blp.route("/admin/staff/<id:staff_id>/password-reset", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(PasswordResetArgs)
@blp.response(200, PasswordResetSchema)
def reset_staff_password(args, staff_id):
    """Give an account a new password

    With `password`, that one (the same policy as any password); without, one is generated and
    answered here once (`password`). The account's tokens end at once, a lockout is lifted, and at
    the next login the account must choose its own password before anything else opens.
    Role: admin.
    """
    account, generated = staff.reset_password(staff_id, args["password"], _origin())
    db.session.commit()
    return {"staff": account, "password": generated}, 200, NO_STORE


@blp.route("/admin/staff/<id:staff_id>/unlock", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.response(200, StaffDetailSchema)
def unlock_staff(staff_id):
    """Lift a lockout after wrong passwords (and forget the wrong passwords counted). Role: admin."""
    account = staff.unlock(staff_id, _origin())
    db.session.commit()
    return account


@blp.route("/admin/staff/<id:staff_id>/audit", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.arguments(StaffAuditArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(StaffAuditSchema))
def staff_audit(filters, page, staff_id):
    """What was done to an account and by whom, newest first

    Creation, changes, disabling, role and store changes, password resets and changes, lockouts,
    unlocks, logins and failed logins, each with the acting admin (or none: a login attempt or the
    CLI), the channel and the client address. Role: admin.
    """
    staff.get_staff(staff_id)
    return paginate(staff.audit_list(staff_id=staff_id, **filters), **page)


@blp.route("/admin/staff/audit", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.arguments(AllStaffAuditArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(StaffAuditSchema))
def all_staff_audit(filters, page):
    """The audit of every staff account, newest first (failed logins with unknown usernames too)

    Filters: `staff_id`, `action`, `actor_id`, `since`, `until`. Role: admin.
    """
    return paginate(staff.audit_list(**filters), **page)


@blp.route("/auth/staff-login", methods=["POST"])
@rate_limits.per_address_limit("RATE_LIMIT_STAFF_LOGIN_PER_ADDRESS")
@blp.arguments(StaffLoginArgs)
@blp.response(200, StaffLoginSchema)
def staff_login(args):
    """Log in with a staff username and password

    Rate limited per client address (`RATE_LIMIT_STAFF_LOGIN_PER_ADDRESS`, 10 a minute). Wrong username, wrong password and a disabled
    account answer alike (401 `staff_login_failed`). Each account is also locked after
    `STAFF_LOCKOUT_ATTEMPTS` wrong passwords (default 5) within `STAFF_LOCKOUT_WINDOW_SECONDS` (15
    minutes), for `STAFF_LOCKOUT_SECONDS` (15 minutes) or until an admin unlocks it: while locked,
    every attempt, right or wrong, is 429 `staff_login_locked` with `Retry-After`. With
    `must_change_password` the token opens only `POST /api/v1/staff/password`. Role: anyone.
    """
    outcome = staff.attempt_login(args["username"], args["password"],
                                  staff.Origin(via="api", address=request.remote_addr), _lockout_policy())
    db.session.commit()  # a failure is counted (and audited) even though the answer is an error
    if outcome.refusal:
        raise outcome.refusal
    return _login_answer(outcome.account), 200, NO_STORE


@blp.route("/staff/password", methods=["POST"])
@rate_limits.per_address_limit("RATE_LIMIT_STAFF_PASSWORD_PER_ADDRESS")
@roles_required(*STAFF_SIDE_ROLES, before_password_change=True)
@blp.arguments(OwnPasswordArgs)
@blp.response(200, StaffLoginSchema)
def change_own_password(args):
    """Change your own password

    Give the current one and a new one (8-256 characters, not containing the username, not one of
    the most common passwords, not the current one). Every other token of the account ends; the
    answer carries a fresh one. A wrong current password is 403 `staff_current_password_wrong`
    and counts toward the account's lockout. Role: staff, marketing, admin.
    """
    outcome = staff.change_own_password(current_principal().staff_id, args["current_password"],
                                        args["new_password"], _origin(), _lockout_policy())
    db.session.commit()
    if outcome.refusal:
        raise outcome.refusal
    return _login_answer(outcome.account), 200, NO_STORE


def _login_answer(account) -> dict:
    return {"token": issue_staff_token(account), "role": account.role, "store_ids": account.store_ids,
            "must_change_password": account.must_change_password}


def _origin() -> staff.Origin:
    """The calling admin (or account) and its address, for the audit."""
    return staff.Origin(actor_id=current_principal().staff_id, via="api", address=request.remote_addr)


def _lockout_policy() -> staff.LockoutPolicy:
    return staff.LockoutPolicy.from_config(current_app.config)


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
