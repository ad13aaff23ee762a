"""Steps the share and binding tests take: share, open, set the policy, read the tree."""

from __future__ import annotations

from sqlalchemy import select

from referral.policy import service as policy
from referral.sharing.models import ShareOpen
from referral.tree.models import BindHistory, ReferralNode
from shop.database import utcnow
from shop.extensions import db


def share(client, headers: dict, expect: int = 201, environ: dict | None = None, **body) -> dict:
    """POST /shares as the shopper; the answer's body."""
    response = client.post("/api/v1/shares", json=body, headers=headers, environ_base=environ or {})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def open_share(client, headers: dict, scene: str, environ: dict | None = None):
    """POST /shares/open as the shopper; the response."""
    return client.post("/api/v1/shares/open", json={"scene": scene}, headers=headers, environ_base=environ or {})


def set_policy(app, **values) -> None:
    """Change the referral policy directly (as an admin would)."""
    with app.app_context():
        policy.update_settings(values, staff_id=None, now=utcnow())
        db.session.commit()


def node(app, member_id: int) -> ReferralNode | None:
    with app.app_context():
        found = db.session.get(ReferralNode, member_id)
        if found is not None:
            db.session.expunge(found)
        return found


def parent(app, member_id: int) -> int | None:
    found = node(app, member_id)
    return found.parent_id if found else None


def history(app, member_id: int) -> list[tuple[str, int | None, int | None, bool]]:
    """The member's history as (kind, old parent, new parent, flagged), oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(BindHistory).where(BindHistory.member_id == member_id)
                                  .order_by(BindHistory.id))
        return [(row.kind, row.old_parent_id, row.new_parent_id, row.flagged) for row in rows]


def opens(app) -> list[tuple[int, int, str]]:
    """Every recorded open as (share id, member id, outcome)."""
    with app.app_context():
        return [(o.share_id, o.member_id, o.outcome) for o in db.session.scalars(select(ShareOpen).order_by(ShareOpen.id))]
