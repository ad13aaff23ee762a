"""Staff endpoints: accounts and their audit for admins, login and the own password for staff."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from shop import rate_limits
from shop.auth import STAFF_SIDE_ROLES, Role, current_principal, issue_staff_token, roles_required
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db
from shop.pagination import PageArgs, page_of, paginate
from shop.staff import service as staff
from shop.staff.errors import StaffError
from shop.staff.schemas import (
    AdminStaffCreateArgs,
    AllStaffAuditArgs,
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
)
from shop.stores.errors import StoreError
from shop.stores.service import get_store

blp = Blueprint("staff", __name__, url_prefix="/api/v1", description="Staff accounts, their login and audit.")
NO_STORE = {"Cache-Control": "no-store"}  # answers carrying a token or a password


@blp.route("/admin/stores/<id:store_id>/staff")
class AdminStoreStaff(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, StaffSchema(many=True))
    @raises(StoreError.STORE_NOT_FOUND)
    def get(self, store_id):
        """The staff accounts of a store. Role: admin."""
        return db.session.scalars(staff.staff_list(store_id=get_store(store_id).id)).all()

    @roles_required(Role.ADMIN)
    @blp.arguments(StaffCreateArgs)
    @blp.response(201, StaffSchema)
    @raises(StoreError.STORE_NOT_FOUND, StaffError.USERNAME_TAKEN, StaffError.PASSWORD_WEAK)
    def post(self, args, store_id):
        """Create a clerk account for this store

        The clerk must choose their own password at the first login (`must_change_password`).
        Role: admin.
        """
        account = staff.create_staff(role=Role.STAFF, store_ids=[get_store(store_id).id],
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
    @raises(StoreError.STORE_NOT_FOUND, StaffError.USERNAME_TAKEN, StaffError.PASSWORD_WEAK)
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
    @raises(StaffError.STAFF_NOT_FOUND)
    def get(self, staff_id):
        """A staff account. Role: admin."""
        return staff.get_staff(staff_id)

    @roles_required(Role.ADMIN)
    @blp.arguments(StaffPatchArgs)
    @blp.response(200, StaffDetailSchema)
    @raises(StaffError.STAFF_NOT_FOUND, StoreError.STORE_NOT_FOUND, StaffError.LAST_ADMIN)
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
@raises(StaffError.STAFF_NOT_FOUND, StaffError.PASSWORD_WEAK)
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
@raises(StaffError.STAFF_NOT_FOUND)
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
@raises(StaffError.STAFF_NOT_FOUND)
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
@rate_limits.staff_login_limit()
@blp.arguments(StaffLoginArgs)
@blp.response(200, StaffLoginSchema)
@raises(StaffError.LOGIN_FAILED, StaffError.LOGIN_LOCKED, CommonError.RATE_LIMITED)
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
@raises(StaffError.CURRENT_PASSWORD_WRONG, StaffError.PASSWORD_WEAK, StaffError.LOGIN_LOCKED,
        CommonError.RATE_LIMITED)
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
