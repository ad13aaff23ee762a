"""An order is attributed to the member's latest share open or campaign coupon claim within
JOURNEY_ATTRIBUTION_DAYS, stored on its order_placed event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.database import utcnow
from shop.extensions import db
from shop.members.journey import JourneyKind, attributed_touch, record_event, record_order_placed
from shop.members.models import Member


@pytest.fixture
def member_id(app) -> int:
    with app.app_context():
        member = Member(openid="attribution-openid")
        db.session.add(member)
        db.session.commit()
        return member.id


def _placed(app, member_id: int, touches: list[tuple[str, int | None, str | None, timedelta]]):
    """Record ``touches`` (kind, share, campaign, how long before now), then an order; its order_placed event."""
    now = utcnow()
    with app.app_context():
        for kind, share_id, campaign, ago in touches:
            record_event(member_id, kind, share_id=share_id, campaign=campaign, occurred_at=now - ago)
        event = record_order_placed(member_id, order_id=1, store_id=None, occurred_at=now)
        db.session.commit()
        return event.share_id, event.campaign, event.attributes.get("attributed_to")


def test_an_order_within_the_window_of_a_share_open_is_attributed_to_that_share(app, member_id):
    touches = [(JourneyKind.SHARE_OPENED, 7, "spring", timedelta(days=6, hours=23))]
    assert _placed(app, member_id, touches) == (7, "spring", "share_opened")


def test_an_order_after_the_window_is_attributed_to_nothing(app, member_id):
    touches = [(JourneyKind.SHARE_OPENED, 7, "spring", timedelta(days=7, minutes=1))]
    assert _placed(app, member_id, touches) == (None, None, None)


def test_the_latest_touch_in_the_window_wins(app, member_id):
    touches = [(JourneyKind.SHARE_OPENED, 7, "spring", timedelta(days=3)),
               (JourneyKind.COUPON_CLAIMED, None, "autumn", timedelta(days=1)),
               (JourneyKind.STORE_SHARE_OPENED, None, "store-week", timedelta(days=2))]
    assert _placed(app, member_id, touches) == (None, "autumn", "coupon_claimed")


def test_a_coupon_of_no_campaign_is_no_touch(app, member_id):
    touches = [(JourneyKind.SHARE_OPENED, 7, None, timedelta(days=3)),
               (JourneyKind.COUPON_CLAIMED, None, None, timedelta(days=1))]
    assert _placed(app, member_id, touches) == (7, None, "share_opened")


def test_the_window_is_a_setting(make_app, member_id):
    narrow = make_app(JOURNEY_ATTRIBUTION_DAYS=1)
    with narrow.app_context():
        now = utcnow()
        record_event(member_id, JourneyKind.SHARE_OPENED, share_id=7, occurred_at=now - timedelta(days=2))
        assert attributed_touch(member_id, now) is None
        assert attributed_touch(member_id, now - timedelta(days=1)).share_id == 7
        db.session.rollback()


def test_a_touch_after_the_order_does_not_count(app, member_id):
    with app.app_context():
        now = utcnow()
        record_event(member_id, JourneyKind.SHARE_OPENED, share_id=7, occurred_at=now + timedelta(minutes=1))
        assert attributed_touch(member_id, now) is None
        db.session.rollback()
