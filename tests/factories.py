"""Rows for tests, with plausible defaults; each call makes a new one."""

from __future__ import annotations

import itertools

from shop.extensions import db
from shop.stores.models import Store

_numbers = itertools.count(1)
EVERY_DAY_9_TO_21 = {day: [["09:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_store(**fields) -> Store:
    """A store near People's Square, Shanghai, open 09:00-21:00 every day (call inside an app context)."""
    n = next(_numbers)
    values = {"code": f"SH{n:04d}", "name": f"Ripple Store {n}", "address": f"{n} Nanjing Road",
              "city": "Shanghai", "district": "Huangpu", "lat": 31.2304, "lng": 121.4737,
              "services": ["pickup", "dine_in"], "status": "open", "weekly_hours": EVERY_DAY_9_TO_21,
              **fields}
    store = Store(**values)
    db.session.add(store)
    db.session.flush()
    return store
