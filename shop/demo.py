"""Demo data for `python app.py` on a fresh database (never in production).

Deterministic: the same stores, at the same places, on every fresh start.
"""

from __future__ import annotations

import random

from sqlalchemy import select

from shop.auth import Role
from shop.catalog.service import create_category, create_product, set_store_availability
from shop.extensions import db
from shop.staff.models import StaffAccount
from shop.staff.service import create_staff
from shop.stores.models import Store
from shop.stores.service import upsert_stores

DEMO_ACCOUNTS = (
    ("admin", Role.ADMIN, "Demo admin"),
    ("marketing", Role.MARKETING, "Demo marketer"),
    ("clerk", Role.STAFF, "Demo store clerk"),
)

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
    store_ids = list(db.session.scalars(select(Store.id).order_by(Store.id)))
    products = seed_demo_catalog(store_ids)
    flagship = db.session.scalar(select(Store).where(Store.code == "SH001"))
    for username, role, name in DEMO_ACCOUNTS:
        create_staff(username=username, password=password, role=role, display_name=name,
                     store_ids=[flagship.id] if role is Role.STAFF else [])
    return [f"accounts {', '.join(u for u, _, _ in DEMO_ACCOUNTS)} (password {password!r}; clerk works at "
            f"{flagship.name})", f"{len(CITIES) * STORES_PER_CITY} stores in {', '.join(CITIES)}",
            f"{products} products"]


def demo_stores() -> list[dict]:
    """About 60 stores around four city centres; SH001 stands by People's Square, Shanghai."""
    rng = random.Random(20261123)  # noqa: S311 - seeded on purpose: the same demo on every fresh start
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


# Category -> subcategory -> products: (title, subtitle, base price in fen, SKU plan).
SIZES = ({"size": "M"}, {"size": "L"})
HOT_ICED = ({"size": "M", "temperature": "hot"}, {"size": "M", "temperature": "iced"},
            {"size": "L", "temperature": "hot"}, {"size": "L", "temperature": "iced"})
DEMO_MENU = {
    "Coffee": {
        "Espresso bar": [("Americano", "Double shot, no sugar", 2200, HOT_ICED),
                         ("Latte", "Whole milk, silky foam", 2800, HOT_ICED),
                         ("Flat White", "Ristretto with microfoam", 3000, SIZES),
                         ("Cappuccino", "Equal parts espresso, milk, foam", 2800, SIZES),
                         ("Mocha", "Dark chocolate and espresso", 3200, HOT_ICED)],
        "Cold brew": [("Cold Brew", "Steeped 18 hours", 2600, SIZES),
                      ("Coconut Cold Brew", "With Hainan coconut water", 3200, SIZES),
                      ("Osmanthus Cold Brew", "Hangzhou osmanthus syrup", 3300, SIZES)],
    },
    "Tea": {
        "Milk tea": [("Oolong Milk Tea", "Roasted tieguanyin", 1800, HOT_ICED),
                     ("Brown Sugar Boba", "Slow-cooked tapioca pearls", 2200, SIZES),
                     ("Jasmine Milk Tea", "Fujian jasmine green tea", 1900, HOT_ICED)],
        "Fruit tea": [("Grapefruit Green Tea", "Fresh pink grapefruit", 2300, SIZES),
                      ("Mango Pomelo Sago", "A Hong Kong classic", 2600, SIZES),
                      ("Lychee Oolong", "Guangdong lychee", 2400, SIZES)],
    },
    "Bakery": {
        "Pastries": [("Butter Croissant", "French butter, baked each morning", 1600, ()),
                     ("Egg Tart", "Macau-style, caramelised top", 900, ()),
                     ("Pineapple Bun", "With a slab of cold butter", 1200, ())],
        "Cakes": [("Matcha Roll", "Uji matcha cream", 2600, ()),
                  ("Basque Cheesecake", "Burnt top, creamy centre", 3200, ()),
                  ("Mooncake Gift Box", "Six flavours, seasonal", 16800, ())],
    },
}


def seed_demo_catalog(store_ids: list[int]) -> int:
    """About 20 products in a two-level menu, sold at nearly every demo store; the count."""
    rng = random.Random(7)  # noqa: S311 - seeded on purpose: the same demo on every fresh start
    count = 0
    for top, subcategories in DEMO_MENU.items():
        parent = create_category(name=top)
        for sub, products in subcategories.items():
            category = create_category(name=sub, parent_id=parent.id)
            for title, subtitle, price, specs in products:
                product = create_product(
                    title=title, subtitle=subtitle, category_id=category.id, actor_staff_id=None,
                    status="on_sale", image_urls=[f"https://img.ripple.example/{title.lower().replace(' ', '-')}.png"],
                    skus=[{"spec": spec, "price": price + (400 if spec.get("size") == "L" else 0), "stock": 500}
                          for spec in (specs or ({},))])
                sold_at = [i for i in store_ids if rng.random() < 0.9]  # not every store sells everything
                for sku in product.skus:
                    set_store_availability(sku.id, stores=[{"store_id": i, "available": True} for i in sold_at],
                                           actor_staff_id=None)
                count += 1
    return count
