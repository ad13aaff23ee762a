"""The referral policy: one row that admins change; read by binding and rewards."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from referral.models import ReferralSettings
from shop.extensions import db

SETTINGS_ID = 1


def load_settings() -> ReferralSettings:
    """The policy row, created with the defaults on first use."""
    settings = db.session.get(ReferralSettings, SETTINGS_ID)
    if settings is not None:
        return settings
    try:
        with db.session.begin_nested():
            db.session.add(ReferralSettings(id=SETTINGS_ID))
    except IntegrityError:
        pass  # another request created it at the same moment
    return db.session.get(ReferralSettings, SETTINGS_ID)
