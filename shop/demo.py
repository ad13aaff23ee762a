"""Demo data for `python app.py` on a fresh database (never in production).

Deterministic: the same stores, at the same places, on every fresh start.
"""

from __future__ import annotations

import random

from sqlalchemy import select

from shop.auth import Role
from shop.extensions import db
from shop.stores.models import StaffAccount, Store
from shop.stores.service import upsert_stores
from shop.stores.staff import create_staff

DEMO_ACCOUNTS = (
    ("admin", Role.ADMIN, "Demo admin"),
    ("marketing", Role.MARKETING, "Demo marketer"),
    ("clerk", Role.STAFF, "Demo store clerk"),
)
PEOPLES_SQUARE = (31.2304, 121.4737)  # GCJ-02

# City centre (GCJ-02), city code, districts.
CITIES = {
    "Shanghai": ((31.2304, 121.4737), "SH", ("Huangpu", "Jing'an", "Xuhui", "Changning", "Pudong", "Hongkou")),
    "Beijing": ((39.9087, 116.3975), "BJ", ("Dongcheng", "Xicheng", "Chaoyang", "Haidian")),
    "Hangzhou": ((30.2741, 120.1551), "HZ", ("Xihu", "Shangcheng", "Gongshu", "Binjiang")),
    "Shenzhen": ((22.5431, 114.0579), "SZ", ("Futian", "Luohu", "Nanshan")),
}
STORES_PER_CITY = 15
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR_PLANS = (
    ({day: [["09:00", "21:00"]] for day in DAYS}, 5),
    ({day: [["07:30", "22:00"]] for day in DAYS}, 3),
    ({**{day: [["10:00", "22:00"]] for day in DAYS[:4]}, **{day: [["10:00", "02:00"]] for day in DAYS[4:]}}, 2),
    ({day: [["00:00", "24:00"]] for day in DAYS}, 1),
    ({day: [["08:00", "20:00"]] for day in DAYS[1:]}, 1),  # closed on Mondays
)
SERVICE_PLANS = ((["dine_in", "pickup"], 5), (["delivery", "dine_in", "pickup"], 3), (["pickup"], 1))


def seed_demo(password: str) -> list[str]:
    """Create the demo brand on a database that has no staff yet; what was created, to print."""
    if db.session.scalar(select(StaffAccount.id).limit(1)) is not None:
        return []
    upsert_stores(demo_stores())
    db.session.flush()
    flagship = db.session.scalar(select(Store).where(Store.code == "SH001"))
    for username, role, name in DEMO_ACCOUNTS:
        create_staff(username=username, password=password, role=role, display_name=name,
                     store_ids=[flagship.id] if role is Role.STAFF else [])
    return [f"accounts {', '.join(u for u, _, _ in DEMO_ACCOUNTS)} (password {password!r}; clerk works at "
            f"{flagship.name})", f"{len(CITIES) * STORES_PER_CITY} stores in {', '.join(CITIES)}"]


def demo_stores() -> list[dict]:
    """About 60 stores around four city centres; SH001 stands by People's Square, Shanghai."""
    rng = random.Random(20261123)
    stores = []
    for city, ((lat, lng), prefix, districts) in CITIES.items():
        for n in range(1, STORES_PER_CITY + 1):
            # Within about 8 km of the centre, denser near it, as real chains are.
            d_lat, d_lng = (rng.gauss(0, 0.03), rng.gauss(0, 0.035)) if n > 1 else (0.0006, 0.0003)
            district = districts[(n - 1) % len(districts)]
            stores.append({
                "code": f"{prefix}{n:03d}",
                "name": "Ripple People's Square" if (prefix, n) == ("SH", 1) else f"Ripple {district} {n}",
                "address": f"{rng.randint(1, 999)} {district} Road, {city}",
                "city": city, "district": district,
                "lat": round(lat + d_lat, 6), "lng": round(lng + d_lng, 6),
                "phone": f"021-{rng.randint(5000_0000, 6999_9999)}" if prefix == "SH" else None,
                "timezone": "Asia/Shanghai",
                "services": _pick(rng, SERVICE_PLANS) if n > 1 else ["dine_in", "pickup"],
                "weekly_hours": _pick(rng, HOUR_PLANS) if n > 1 else HOUR_PLANS[0][0],
                "status": "suspended" if n == STORES_PER_CITY else "open",
            })
    return stores


def _pick(rng: random.Random, plans):
    values, weights = zip(*plans, strict=True)
    return rng.choices(values, weights=weights)[0]
