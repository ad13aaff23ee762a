"""Marketing's members (/console/members): a search by name or phone, tag and saved segment, paged; a member's
view (profile, follow, tier and points, orders, coupons, referrer and downline, tags, the journey paged) with
their manual tags added and removed there.

What a member is and shows is the CRM's member service (``crm().members``); phone numbers are masked for
marketing as the API masks them (only admins see the number).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.crm_services import crm, crm_page
from console.refusals import console_blueprint, refusal_page
from console.reports.period import field_errors
from shop.auth import Role, current_principal
from shop.database import storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.pagination import MAX_PAGE_SIZE

bp = console_blueprint("console_members", __name__)
SEARCH = ("q", "tag", "segment_id", "page")


@bp.route("/members")
@crm_page("MEMBER_ROLES")
def members():
    asked = {name: request.args[name].strip() for name in SEARCH if (request.args.get(name) or "").strip()}
    found, errors = None, {}
    try:
        found = crm().members.list_members(**crm().CrmMemberListArgs().load(asked), full_phone=_admin(), now=utcnow())
    except (ValidationError, AppError) as wrong:
        db.session.rollback()
        errors = field_errors(wrong)
        if isinstance(wrong, AppError) and wrong.code is crm().CrmError.SEGMENT_NOT_FOUND:
            errors = {"segment_id": [_("No such segment.")]}
    return render_template("members/list.html", found=found, asked=asked, errors=errors,
                           segments=crm().segments.list_segments(page=1, page_size=MAX_PAGE_SIZE)["items"]), \
        422 if errors else 200


@bp.route("/members/<id:member_id>")
@crm_page("MEMBER_ROLES")
def member(member_id: int):
    try:
        shown = crm().members.member_view(member_id, full_phone=_admin(), now=utcnow())
        journey = crm().members.journey(member_id, **crm().CrmJourneyArgs().load(
            {"page": request.args.get("journey_page", "1")}))
    except AppError:
        abort(404)
    except ValidationError:
        return refusal_page(_("No such page of the journey."), 422)
    manual = crm().tags.list_tags(kind="manual", page=1, page_size=MAX_PAGE_SIZE)["items"]
    return render_template("members/member.html", member=shown, journey=journey, manual=manual,
                           manual_ids={tag["name"]: tag["id"] for tag in manual})


@bp.route("/members/<id:member_id>/tags/<id:tag_id>/<any(add, remove):action>", methods=["POST"])
@crm_page("MEMBER_ROLES")
def change_tag(member_id: int, tag_id: int, action: str):
    return _change_tag(member_id, tag_id, action)


@bp.route("/members/<id:member_id>/tags", methods=["POST"])
@crm_page("MEMBER_ROLES")
def add_tag(member_id: int):
    """The member page's menu of manual tags: add the chosen one."""
    tag_id = request.form.get("tag_id", type=int)
    if not tag_id or not storable_id(tag_id):
        return refusal_page(_("Choose a tag to add."), 422)
    return _change_tag(member_id, tag_id, "add")


def _change_tag(member_id: int, tag_id: int, action: str):
    """Add or take off one manual tag for this member (the tag service's refusals as pages)."""
    try:
        if action == "add":
            changed = crm().tags.tag_member(tag_id, member_id, now=utcnow())
        else:
            changed = crm().tags.untag_member(tag_id, member_id)
    except AppError as wrong:
        db.session.rollback()
        if wrong.code is crm().CrmError.TAG_COMPUTED:
            return refusal_page(_("A computed tag is kept by its rule; it cannot be set by hand."), 409)
        return refusal_page(_("No such member or tag."), 404)
    db.session.commit()
    if action == "add":
        flash(_("Tag added.") if changed else _("The member already carried this tag."))
    else:
        flash(_("Tag removed.") if changed else _("The member did not carry this tag."))
    return redirect(url_for(".member", member_id=member_id))


def _admin() -> bool:
    return current_principal().role is Role.ADMIN
