"""Shares: a compact random scene per share, its mini-program path, and its poster (cached in Redis)."""

from __future__ import annotations

import logging
import re
import secrets
import string
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from referral.errors import ReferralError
from referral.sharing.models import Share, ShareOpen, StoreShare, StoreShareOpen
from shop.catalog.errors import CatalogError
from shop.catalog.models import Product, ProductStatus
from shop.content import service as content
from shop.content.models import ContentSubject
from shop.content.service import TextCheck
from shop.database import storable_id
from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.members.journey import JourneyKind, record_event
from shop.members.models import Member
from shop.redis_connections import REDIS_ERRORS
from shop.wechat.content_security import CheckScene
from shop.wechat.gateway import MiniProgramGateway

log = logging.getLogger(__name__)

# What WeChat accepts in a mini-program code's scene: at most 32 of these characters.
SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@._~-]{1,32}")
SCENE_PREFIX = "r."  # tells a share's scene from other scenes (store QR codes, campaigns) at a glance
SceneRow = TypeVar("SceneRow", Share, StoreShare)
OpenRow = TypeVar("OpenRow", ShareOpen, StoreShareOpen)
SCENE_RANDOM = 10  # base62 characters: 62**10 (8e17) scenes, unguessable and never data
_BASE62 = string.digits + string.ascii_letters
HOME_PAGE = "pages/index/index"
PRODUCT_PAGE = "pages/product/index"
POSTER_TTL_SECONDS = 30 * 24 * 3600  # the image never changes; Redis only saves WeChat calls
_POSTER_KEY = "referral:poster:{}"


def create_share(sharer_id: int, *, product_id: int | None, campaign: str | None, channel: str | None,
                 ip: str | None, device_id: str | None, now: datetime, title: str | None = None,
                 check: TextCheck | None = None) -> Share:
    """A share of the home page or of an on-sale product (else 404 ``product_not_found``).

    A title is checked with WeChat (``check``) first: a risky one is refused and no share is made.
    """
    check_on_sale(product_id)
    screening = _screen_title(sharer_id, title, check)
    share = add_with_new_scene(lambda scene: Share(
        scene=scene, sharer_id=sharer_id, product_id=product_id, campaign=campaign, channel=channel, title=title,
        ip=ip, device_id=device_id, created_at=now), prefix=SCENE_PREFIX)
    if screening is not None:
        content.hold(screening, member_id=sharer_id, subject=ContentSubject.SHARE_TITLE, target_id=share.id,
                     previous_text=None)
    record_event(sharer_id, JourneyKind.SHARE_CREATED, share_id=share.id, campaign=campaign, occurred_at=now,
                 product_id=product_id, channel=channel)
    return share


def add_with_new_scene(build: Callable[[str], SceneRow], *, prefix: str) -> SceneRow:
    """Add the share ``build(scene)`` makes with a fresh random scene, drawn again on the rare collision."""
    for _attempt in range(5):
        row = build(prefix + random_scene_part(SCENE_RANDOM))
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            continue  # the same random scene twice: draw again
        return row
    raise RuntimeError("could not draw a free scene in 5 attempts")


def add_first_open(opened: OpenRow) -> tuple[OpenRow, bool]:
    """Add a member's open of a share, or find the one recorded first (one per share and member); created?"""
    try:
        with db.session.begin_nested():
            db.session.add(opened)
    except IntegrityError:
        model = type(opened)
        first = db.session.scalars(select(model).where(model.share_id == opened.share_id,
                                                       model.member_id == opened.member_id)
                                   .execution_options(populate_existing=True)).one()
        return first, False
    return opened, True


def _screen_title(sharer_id: int, title: str | None, check: TextCheck | None) -> content.Screening | None:
    if not title:
        return None
    if check is None:
        raise ValueError("a share with a title needs a text check")
    openid = db.session.scalar(select(Member.openid).where(Member.id == sharer_id))
    return content.screen(check, openid=openid, text=title, scene=CheckScene.COMMENT)


def take_back_title(share_id: int, *, text: str) -> None:
    """A rejected title is blanked (the card shows the page's own title), if the share still has it."""
    share = db.session.get(Share, share_id)
    if share is not None and share.title == text:
        share.title = None


def check_on_sale(product_id: int | None) -> None:
    """A share names no product or one on sale: else 404 ``product_not_found``."""
    if product_id is not None:
        status = db.session.scalar(select(Product.status).where(Product.id == product_id))
        if status != ProductStatus.ON_SALE:
            raise AppError(CatalogError.PRODUCT_NOT_FOUND, "This product is not on sale.")


def random_scene_part(length: int) -> str:
    """``length`` random base62 characters: unguessable, and never data."""
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def own_share(share_id: int, member_id: int) -> Share:
    """The member's own share; another member's is 404 as if it did not exist."""
    share = db.session.get(Share, share_id) if storable_id(share_id) else None
    if share is None or share.sharer_id != member_id:
        raise AppError(ReferralError.SHARE_NOT_FOUND, "No such share of yours.")
    return share


def share_by_scene(scene: str) -> Share:
    """The share a scene names: 422 ``scene_invalid`` if it cannot be one, 404 ``share_not_found``."""
    if not isinstance(scene, str) or not SCENE_RE.fullmatch(scene):
        raise AppError(ReferralError.SCENE_INVALID, "A scene is 1-32 characters of 0-9A-Za-z!#$&'()*+,/:;=?@._~-.",
                       errors={"scene": ["Not a mini-program scene."]})
    share = db.session.scalar(select(Share).where(Share.scene == scene))
    if share is None:
        raise AppError(ReferralError.SHARE_NOT_FOUND, "No share has this scene.")
    return share


def page_of(share: Share | StoreShare) -> str:
    """The mini-program page a share opens (the poster's code carries the scene, not a query)."""
    return PRODUCT_PAGE if share.product_id is not None else HOME_PAGE


def path_of(share: Share | StoreShare) -> str:
    """The page with its query, for onShareAppMessage's path."""
    query = f"id={share.product_id}&scene={share.scene}" if share.product_id is not None else f"scene={share.scene}"
    return f"{page_of(share)}?{query}"


def poster_png(share: Share | StoreShare, gateway: MiniProgramGateway) -> bytes:
    """The mini-program code of the share: from Redis when there, else from WeChat (then kept)."""
    key = _POSTER_KEY.format(share.scene)  # by scene: member and store shares have ids of their own
    cached = _cache_get(key)
    if cached is not None:
        return cached
    png = gateway.wxa_code(share.scene, page=page_of(share))
    try:
        redis_client().set(key, png, ex=POSTER_TTL_SECONDS)
    except REDIS_ERRORS as exc:  # a cache: serve the image anyway
        log.warning("poster cache write failed: %s", exc)
    return png


def _cache_get(key: str) -> bytes | None:
    try:
        return redis_client().get(key)
    except REDIS_ERRORS as exc:
        log.warning("poster cache read failed: %s", exc)
        return None
