"""Referral reacts to members arriving: a new member's login scene, if it is a share's, binds them.

Receivers run inside the login's transaction (see shop.events) and are idempotent: an open is one
row per member and share, so a signal sent twice records and binds once.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import has_request_context, request

from referral.sharing.binding import Client, client_of, open_share
from referral.sharing.service import SCENE_PREFIX, take_back_title
from referral.sharing.store_shares import is_store_scene, open_store_share
from referral.tree import service as tree
from shop import events
from shop.content.models import ContentSubject
from shop.database import utcnow
from shop.errors import AppError


def on_member_registered(sender: Any, **kw: Any) -> None:
    """Every member becomes a node; one who arrived through a share opens it as a new member (a store's
    share binds them under no one and makes its store their home store)."""
    member_id, scene = kw["member_id"], kw.get("scene")
    tree.ensure_node(member_id)
    if is_store_scene(scene):
        with suppress(AppError):  # an unknown store scene: the login goes on
            open_store_share(member_id, scene, now=utcnow(), new_member=True)
        return
    if not scene or not scene.startswith(SCENE_PREFIX):
        return  # no scene, or another kind of scene (a store's QR code, a campaign)
    client = client_of(request.remote_addr, request.headers) if has_request_context() else Client(None, None)
    # Not a share's scene after all (malformed, unknown): the login goes on, nothing is bound.
    with suppress(AppError):
        open_share(member_id, scene, client=client, now=utcnow(), new_member=True)


def on_content_rejected(sender: Any, **kw: Any) -> None:
    """A share title an admin rejected (or its recheck found risky) is blanked."""
    if kw["subject"] == ContentSubject.SHARE_TITLE:
        take_back_title(kw["target_id"], text=kw["text"])


def wire_sharing() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    events.member_registered.connect(on_member_registered)
    events.content_rejected.connect(on_content_rejected)
