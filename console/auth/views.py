"""Staff login and logout at /console/login: the API's account check, lockout and login limit."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.auth.forms import LoginForm, LogoutForm, PasswordForm
from console.refusals import console_blueprint, too_many_attempts
from console.session import landing_page, sign_in, sign_out, signed_in
from shop import rate_limits
from shop.auth import STAFF_SIDE_ROLES, Role
from shop.extensions import db, limiter
from shop.staff import service as staff
from shop.staff.errors import StaffError

bp = console_blueprint("console_auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@rate_limits.staff_login_limit(on_breach=too_many_attempts)  # counted with the API's staff logins
def login():
    form = LoginForm()
    if request.method == "GET" and (principal := signed_in()) is not None:
        return redirect(landing_page(principal.role))
    error, status = None, 200
    if form.validate_on_submit():
        outcome = staff.attempt_login(form.username.data, form.password.data,
                                      staff.Origin(via="console", address=request.remote_addr),
                                      staff.LockoutPolicy.from_config(current_app.config))
        db.session.commit()  # a failure is counted (and audited) even though the page says no
        if outcome.refusal is None:
            sign_in(outcome.account)
            return redirect(_safe_next() or landing_page(Role(outcome.account.role)))
        error, status = _login_refusal(outcome.refusal.code), outcome.refusal.code.status
    elif form.errors:
        error, status = _("Enter your username and password."), 400
    elif request.args.get("idle"):
        error = _("You were away for a while: log in again.")
    return render_template("login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    form = LogoutForm()
    if form.validate_on_submit():  # without the token (another site's post) nobody is logged out
        sign_out()
    return redirect(url_for("console_auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(rate_limits.setting("RATE_LIMIT_STAFF_PASSWORD_PER_ADDRESS"), key_func=rate_limits.per_address,
               methods=["POST"], on_breach=too_many_attempts)  # the API's limit of POST /staff/password
def password():
    """Choose a new password (the API's ``change_own_password``: its policy, its lockout, its audit)."""
    principal = signed_in()
    if principal is None or principal.role not in STAFF_SIDE_ROLES:
        return redirect(url_for("console_auth.login", next=request.path))
    g.principal = principal
    form, error, status = PasswordForm(), None, 200
    if form.validate_on_submit():
        outcome = staff.change_own_password(
            principal.staff_id, form.current_password.data, form.new_password.data,
            staff.Origin(actor_id=principal.staff_id, via="console", address=request.remote_addr),
            staff.LockoutPolicy.from_config(current_app.config))
        db.session.commit()  # a wrong current password is counted toward the lockout
        if outcome.refusal is None:
            sign_in(outcome.account)  # the change ended every session of the account but this one
            return redirect(landing_page(Role(outcome.account.role)))
        error, status = _password_refusal(outcome.refusal), outcome.refusal.code.status
    elif principal.password_change_required:
        error = _("An admin set your password: choose your own to go on.")
    return render_template("password.html", form=form, error=error), status


def _password_refusal(refusal) -> str:
    if refusal.code is StaffError.CURRENT_PASSWORD_WRONG:
        return _("The current password is wrong.")
    if refusal.code is StaffError.LOGIN_LOCKED:
        return _("Too many wrong passwords: this account is locked for a while. An admin can unlock it.")
    return _("Choose a stronger password: at least 8 characters, not your username, not a common one.")


def _login_refusal(code: StaffError) -> str:
    if code is StaffError.LOGIN_LOCKED:
        return _("Too many wrong passwords: this account is locked for a while. An admin can unlock it.")
    return _("Wrong username or password.")


def _safe_next() -> str | None:
    """The console page the login interrupted (only a path of ours: never another site)."""
    target = request.args.get("next", "")
    return target if target.startswith("/console/") and not target.startswith("//") else None
