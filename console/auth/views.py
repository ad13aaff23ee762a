"""Staff login and logout at /console/login: the API's account check, lockout and login limit."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.auth.forms import LoginForm, LogoutForm
from console.refusals import console_blueprint, too_many_attempts
from console.session import landing_page, sign_in, sign_out, signed_in
from shop import rate_limits
from shop.auth import Role
from shop.extensions import db
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


def _login_refusal(code: StaffError) -> str:
    if code is StaffError.LOGIN_LOCKED:
        return _("Too many wrong passwords: this account is locked for a while. An admin can unlock it.")
    return _("Wrong username or password.")


def _safe_next() -> str | None:
    """The console page the login interrupted (only a path of ours: never another site)."""
    target = request.args.get("next", "")
    return target if target.startswith("/console/") and not target.startswith("//") else None
