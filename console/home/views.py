"""The console's start page for marketing and admins (their pages come with the next pieces)."""

from __future__ import annotations

from flask import redirect, render_template, url_for

from console.refusals import console_blueprint
from console.session import page_for
from shop.auth import Role, current_principal

bp = console_blueprint("console_home", __name__)


@bp.route("/")
@page_for(Role.STAFF, Role.MARKETING, Role.ADMIN)
def home():
    if current_principal().role is Role.STAFF:
        return redirect(url_for("console_counter.counter"))
    return render_template("home.html")
