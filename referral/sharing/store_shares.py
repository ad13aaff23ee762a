"""Store shares: a clerk shares the mini-program (or a product) for their store. Nobody is bound under
anyone through it (a store is not a referral parent, and the clerk earns nothing); a member who arrives
through it gets the store as home store (shop.members.home_store: the first store share or purchase wins).

Store scenes start ``s.`` (member shares' ``r.``), so one scene names one kind of share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from referral.errors import ReferralError
from referral.sharing.models import StoreShare, StoreShareOpen
from referral.sharing.service import SCENE_RE, add_first_open, add_with_new_scene, check_on_sale
from shop.database import storable_id
from shop.errors import AppError
from shop.extensions import db
from shop.members.home_store import HomeStoreSource, set_home_store
from shop.members.journey import JourneyKind, record_event

STORE_SCENE_PREFIX = "s."


@dataclass(frozen=True)
class StoreOpenResult:
    share: StoreShare
    opened: StoreShareOpen
    created: bool  # False: a repeat of this member's earlier open, answered as then


def is_store_scene(scene: object) -> bool:
    return isinstance(scene, str) and scene.startswith(STORE_SCENE_PREFIX) and SCENE_RE.fullmatch(scene) is not None


def sharing_store(store_ids: Sequence[int], store_id: int | None) -> int:
    """The store a clerk shares for: the one named (if theirs), else their only store."""
    if store_id is None:
        if len(store_ids) != 1:
            raise AppError(ReferralError.STORE_SHARE_STORE_REQUIRED, "You work at several stores: name one.",
                           errors={"store_id": ["Required for a clerk of several stores."]})
        return store_ids[0]
    if store_id not in store_ids:
        raise AppError(ReferralError.STORE_SHARE_NOT_YOUR_STORE, "This is not one of your stores.")
    return store_id


def create_store_share(store_id: int, staff_id: int, *, product_id: int | None, campaign: str | None,
                       now: datetime) -> StoreShare:
    """A share of the home page or of an on-sale product (else 404 ``product_not_found``) for the store."""
    check_on_sale(product_id)
    return add_with_new_scene(lambda scene: StoreShare(
        scene=scene, store_id=store_id, staff_id=staff_id, product_id=product_id, campaign=campaign,
        created_at=now), prefix=STORE_SCENE_PREFIX)


def open_store_share(member_id: int, scene: str, *, now: datetime, new_member: bool = False) -> StoreOpenResult:
    """Record the member's open of the store share (once); the store becomes home unless they have one."""
    share = db.session.scalar(select(StoreShare).where(StoreShare.scene == scene))
    if share is None:
        raise AppError(ReferralError.SHARE_NOT_FOUND, "No share has this scene.")
    opened, created = add_first_open(StoreShareOpen(share_id=share.id, member_id=member_id, new_member=new_member,
                                                    opened_at=now))
    if not created:
        return StoreOpenResult(share, opened, created=False)
    opened.home_store_set = set_home_store(member_id, share.store_id, source=HomeStoreSource.STORE_SHARE, at=now)
    record_event(member_id, JourneyKind.STORE_SHARE_OPENED, store_id=share.store_id, campaign=share.campaign, occurred_at=now,
                 store_share_id=share.id, staff_id=share.staff_id, new_member=new_member,
                 home_store_set=opened.home_store_set)
    return StoreOpenResult(share, opened, created=True)


def own_store_share(share_id: int, store_ids: Sequence[int]) -> StoreShare:
    """A share of one of the clerk's stores; another store's is 404 as if it did not exist."""
    share = db.session.get(StoreShare, share_id) if storable_id(share_id) else None
    if share is None or share.store_id not in store_ids:
        raise AppError(ReferralError.SHARE_NOT_FOUND, "No such share of your stores.")
    return share
