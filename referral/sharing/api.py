"""Sharing endpoints: shares, posters and opens for shoppers; re-binds, the bind history and flags for admins."""

from flask import Response, request
from flask_smorest import Blueprint

from referral.errors import ReferralError
from referral.policy import service as policy
from referral.sharing import binding, store_shares
from referral.sharing import service as sharing
from referral.sharing.schemas import (
    HistorySchema,
    OpenArgs,
    OpenSchema,
    ReasonArgs,
    RebindArgs,
    RebindSchema,
    ShareArgs,
    ShareSchema,
    StoreShareArgs,
    StoreShareSchema,
    TreeNodeSchema,
)
from referral.tree.models import ReferralNode
from shop import rate_limits
from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.catalog.errors import CatalogError
from shop.content.errors import ContentError
from shop.content.service import current_text_check
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db, limiter
from shop.pagination import PageArgs, page_of, paginate
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import wechat

blp = Blueprint("referral_sharing", __name__, url_prefix="/api/v1", description=(
    "Shares and posters, and binding friends under sharers. A friend is bound "
    "under a sharer when they open the share (the `scene` of `wechat-login` for new members, "
    "`POST /shares/open` for everyone) as the policy's bind mode allows; friends bind under any "
    "sharer, and the sharer policy decides who earns from their purchases. Send the device id the "
    "mini-program keeps in `X-Device-Id`: a bind from the sharer's own device or address within 30 "
    "minutes of their share is flagged for review, and its rewards stay frozen until an admin clears it."))
ADMIN_READERS = (Role.MARKETING, Role.ADMIN)


def _client() -> binding.Client:
    return binding.client_of(request.remote_addr, request.headers)


def _share_body(share) -> dict:
    return {"id": share.id, "scene": share.scene, "path": sharing.path_of(share), "product_id": share.product_id,
            "campaign": share.campaign, "channel": share.channel, "title": share.title,
            "created_at": share.created_at,
            "earns_rewards": policy.may_earn(share.sharer_id)}


def _store_share_body(share) -> dict:
    return {"id": share.id, "scene": share.scene, "path": sharing.path_of(share), "store_id": share.store_id,
            "staff_id": share.staff_id, "product_id": share.product_id, "campaign": share.campaign,
            "created_at": share.created_at}


@blp.route("/shares", methods=["POST"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_SHARES_PER_MEMBER")
@blp.arguments(ShareArgs)
@blp.response(201, ShareSchema)
@raises(CatalogError.PRODUCT_NOT_FOUND, CommonError.RATE_LIMITED, ContentError.CONTENT_RISKY,
        WeChatError.UNAVAILABLE, WeChatError.RATE_LIMITED, WeChatError.FAILED, WeChatError.BAD_ANSWER)
def create_share(args):
    """Share the home page or a product

    The answer's `scene` goes into the poster's mini-program code and `path` into
    onShareAppMessage. 404 `product_not_found` for a product not on sale. An optional `title`
    (the card's words) is checked with WeChat's content security (scene 2) first: 422
    `content_risky` makes no share; one WeChat wants a person to look at is kept and listed for an
    admin, who may blank it; while WeChat cannot be reached, 503 `wechat_unavailable` with
    Retry-After or kept and checked later (`CONTENT_CHECK_WHEN_WECHAT_DOWN`). Rate limited per member
    (`RATE_LIMIT_SHARES_PER_MEMBER`, 30 a minute, 300 a day). Role: shopper.
    """
    client = _client()
    check = current_text_check() if args.get("title") else None
    share = sharing.create_share(current_member_id(), **args, ip=client.ip, device_id=client.device_id, now=utcnow(),
                                 check=check)
    db.session.commit()
    return _share_body(share)


@blp.route("/shares/<id:share_id>/poster", methods=["GET"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_POSTERS_PER_MEMBER")
@blp.doc(responses={"200": {"description": "The mini-program code (PNG) carrying the share's scene.",
                            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
@raises(ReferralError.SHARE_NOT_FOUND, WeChatError.UNAVAILABLE, WeChatError.RATE_LIMITED, WeChatError.FAILED,
        WeChatError.BAD_ANSWER, CommonError.RATE_LIMITED)
def share_poster(share_id):
    """The mini-program code of your share, as a PNG

    Made by WeChat once and then served from the cache, so views never count against WeChat's
    limit. Another member's share is 404 `share_not_found`; WeChat's failures are
    `wechat_unavailable` (503), `wechat_rate_limited` (429) or `wechat_error` (502). Role: shopper
    (the sharer).
    """
    share = sharing.own_share(share_id, current_member_id())
    png = sharing.poster_png(share, wechat().miniprogram)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@blp.route("/shares/open", methods=["POST"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_OPENS_PER_MEMBER")
@blp.arguments(OpenArgs)
@blp.response(201, OpenSchema)
@blp.alt_response(200, schema=OpenSchema, description="A repeat: your first open's answer.")
@raises(ReferralError.SCENE_INVALID, ReferralError.SHARE_NOT_FOUND, CommonError.RATE_LIMITED)
def open_share(args):
    """Open a share: record it and bind you under the sharer if the policy allows

    Call it after login whenever the mini-program was opened with a scene (a new member's login
    with the `scene` has done it already: the call then repeats the first answer, 200). 422
    `scene_invalid` for what cannot be a scene, 404 `share_not_found` for an unknown one; neither
    records or binds anything. Rate limited per member (`RATE_LIMIT_OPENS_PER_MEMBER`, 20 a minute,
    200 a day). A store's share (its scene starts `s.`) binds you under no one: outcome `store`, and the
    store becomes your home store unless you have one. Role: shopper.
    """
    if store_shares.is_store_scene(args["scene"]):
        return _open_store_share(args["scene"])
    result = binding.open_share(current_member_id(), args["scene"], client=_client(), now=utcnow())
    db.session.commit()
    body = {"share_id": result.share.id, "product_id": result.share.product_id, "campaign": result.share.campaign,
            "outcome": result.opened.outcome, "bound": result.opened.outcome in binding.BINDING_OUTCOMES,
            "repeat": not result.created, "opened_at": result.opened.opened_at}
    return body, 201 if result.created else 200


def _open_store_share(scene: str):
    result = store_shares.open_store_share(current_member_id(), scene, now=utcnow())
    db.session.commit()
    body = {"share_id": result.share.id, "product_id": result.share.product_id, "campaign": result.share.campaign,
            "outcome": binding.Outcome.STORE.value, "bound": False, "repeat": not result.created,
            "opened_at": result.opened.opened_at, "store_id": result.share.store_id}
    return body, 201 if result.created else 200


@blp.route("/staff/shares", methods=["POST"])
@roles_required(Role.STAFF)
@limiter.limit(rate_limits.setting("RATE_LIMIT_STORE_SHARES_PER_CLERK"), key_func=rate_limits.per_staff)
@blp.arguments(StoreShareArgs)
@blp.response(201, StoreShareSchema)
@raises(CatalogError.PRODUCT_NOT_FOUND, ReferralError.STORE_SHARE_STORE_REQUIRED,
        ReferralError.STORE_SHARE_NOT_YOUR_STORE, CommonError.RATE_LIMITED)
def create_store_share(args):
    """Share the mini-program (or a product) for your store

    The share is the store's and yours (for the store's figures), not a referral parent's: a member
    who arrives through it is bound under no one and gets the store as home store (unless they have
    one: the first store share or store purchase wins). Put `scene` in a poster
    (`GET /staff/shares/{id}/poster`) or `path` in onShareAppMessage. `store_id` is needed only when you
    work at several stores (422 `store_share_store_required`; not yours: 403 `store_share_not_your_store`).
    Rate limited per clerk (`RATE_LIMIT_STORE_SHARES_PER_CLERK`). Role: staff.
    """
    staff = current_principal()
    store_id = store_shares.sharing_store(staff.store_ids, args["store_id"])
    share = store_shares.create_store_share(store_id, staff.staff_id, product_id=args["product_id"],
                                            campaign=args["campaign"], now=utcnow())
    db.session.commit()
    return _store_share_body(share)


@blp.route("/staff/shares/<id:share_id>/poster", methods=["GET"])
@roles_required(Role.STAFF)
@blp.doc(responses={"200": {"description": "The mini-program code (PNG) carrying the store share's scene.",
                            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
@raises(ReferralError.SHARE_NOT_FOUND, WeChatError.UNAVAILABLE, WeChatError.RATE_LIMITED, WeChatError.FAILED,
        WeChatError.BAD_ANSWER)
def store_share_poster(share_id):
    """The mini-program code of a share of one of your stores, as a PNG (cached like member posters)

    Another store's share is 404 `share_not_found`. Role: staff.
    """
    share = store_shares.own_store_share(share_id, current_principal().store_ids)
    png = sharing.poster_png(share, wechat().miniprogram)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@blp.route("/admin/referral/members/<id:member_id>/rebind", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(RebindArgs)
@blp.response(200, RebindSchema)
@raises(ReferralError.REFERRAL_MEMBER_NOT_FOUND, ReferralError.REFERRAL_SELF, ReferralError.REFERRAL_PARENT_NOT_FOUND,
        ReferralError.REFERRAL_CYCLE)
def rebind(args, member_id):
    """Move a member, with their whole downline, under another parent (null: make them a root)

    The reason is required and kept in the history. 422 `referral_self`, `referral_parent_not_found`;
    409 `referral_cycle` when the parent is in the member's downline. Role: admin.
    """
    entry = binding.admin_rebind(member_id, args["parent_id"], reason=args["reason"],
                                 staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return {"changed": entry is not None, "node": db.session.get(ReferralNode, member_id)}


@blp.route("/admin/referral/members/<id:member_id>/history", methods=["GET"])
@roles_required(*ADMIN_READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(HistorySchema))
@raises(ReferralError.REFERRAL_MEMBER_NOT_FOUND)
def bind_history(page, member_id):
    """A member's binds, re-binds, admin changes and flag decisions, newest first. Role: marketing, admin."""
    return paginate(binding.history(member_id), **page)


@blp.route("/admin/referral/flags", methods=["GET"])
@roles_required(*ADMIN_READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(TreeNodeSchema))
def list_flags(page):
    """Binds under review (same device or address as the sharer), newest first. Role: marketing, admin."""
    return paginate(binding.flags(), **page)


@blp.route("/admin/referral/flags/<id:member_id>/<any(clear, confirm):decision>", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(ReasonArgs)
@blp.response(200, TreeNodeSchema)
@raises(ReferralError.REFERRAL_MEMBER_NOT_FOUND, ReferralError.REFERRAL_NOT_FLAGGED)
def decide_flag(args, member_id, decision):
    """Decide a flagged bind: `clear` (genuine) or `confirm` (abuse)

    Cleared, the bind stands and its rewards wait only for the refund window. Confirmed, the
    member is detached from the sharer and the flagged rewards stay frozen for good. Both are kept
    in the member's history with the reason. 409 `referral_not_flagged` when the member's bind is
    not under review. Role: admin.
    """
    binding.resolve_flag(member_id, confirm=decision == "confirm", reason=args["reason"],
                         staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return db.session.get(ReferralNode, member_id)
