"""Synthetic store networks and shopper positions, drawn the way real chains and shoppers are.

Most stores cluster around a few dozen Chinese city centres (a 2-D Gaussian per city, wider for
bigger cities so every centre is about as dense); the rest are spread over the country around the
same cities (towns, highways). Query points are drawn from the same two distributions, so
"city centre" queries land where stores are dense and "elsewhere" queries where they are sparse.

Coordinates are GCJ-02 (city centres as Amap and WeChat's maps give them). Everything is drawn
from one seeded stream: the 100k network is the 10k one plus the next 90k stores, so the bench grows
one database instead of reloading it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

SEED = 20261123
CLUSTERED_SHARE = 0.9
# Stores per km² at a city's centre when the network has REFERENCE_STORES stores: a 5 km search
# there covers ~1,000 stores (~500 at a typical city-centre query point), as DESIGN.md assumes.
CENTRE_DENSITY_PER_KM2 = 13.0
REFERENCE_STORES = 1_000_000
SPREAD_SIGMA_KM = 300.0
KM_PER_DEGREE = 111.32
CHINA_BOX = (18.0, 53.5, 73.5, 135.0)  # lat min, lat max, lng min, lng max

# (name, GCJ-02 lat, lng, relative number of stores)
CITIES: tuple[tuple[str, float, float, int], ...] = (
    ("Shanghai", 31.2304, 121.4737, 10), ("Beijing", 39.9042, 116.4074, 10),
    ("Guangzhou", 23.1291, 113.2644, 8), ("Shenzhen", 22.5431, 114.0579, 8),
    ("Chengdu", 30.5728, 104.0668, 7), ("Chongqing", 29.5630, 106.5516, 6),
    ("Hangzhou", 30.2741, 120.1551, 6), ("Wuhan", 30.5928, 114.3055, 6),
    ("Xi'an", 34.3416, 108.9398, 5), ("Nanjing", 32.0603, 118.7969, 5),
    ("Tianjin", 39.3434, 117.3616, 5), ("Suzhou", 31.2990, 120.5853, 5),
    ("Changsha", 28.2282, 112.9388, 4), ("Zhengzhou", 34.7466, 113.6254, 4),
    ("Dongguan", 23.0207, 113.7518, 3), ("Qingdao", 36.0671, 120.3826, 3),
    ("Shenyang", 41.8057, 123.4315, 3), ("Ningbo", 29.8683, 121.5440, 3),
    ("Kunming", 24.8801, 102.8329, 3), ("Hefei", 31.8206, 117.2272, 3),
    ("Foshan", 23.0215, 113.1214, 3), ("Xiamen", 24.4798, 118.0894, 2),
    ("Fuzhou", 26.0745, 119.2965, 2), ("Jinan", 36.6512, 117.1201, 2),
    ("Dalian", 38.9140, 121.6147, 2), ("Harbin", 45.8038, 126.5350, 2),
    ("Changchun", 43.8171, 125.3235, 2), ("Shijiazhuang", 38.0428, 114.5149, 2),
    ("Nanning", 22.8170, 108.3665, 2), ("Nanchang", 28.6820, 115.8579, 2),
    ("Guiyang", 26.6470, 106.6302, 2), ("Taiyuan", 37.8706, 112.5489, 2),
    ("Wuxi", 31.4912, 120.3119, 2), ("Urumqi", 43.8256, 87.6168, 1),
    ("Lanzhou", 36.0611, 103.8343, 1), ("Hohhot", 40.8424, 111.7492, 1),
    ("Haikou", 20.0440, 110.1999, 1),
)
WEIGHTS = [weight for *_, weight in CITIES]
TOTAL_WEIGHT = sum(WEIGHTS)


def _every_day(*ranges: tuple[str, str]) -> dict[str, list[list[str]]]:
    return {day: [list(r) for r in ranges] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


# Opening hours as chains really post them; the night owl crosses midnight, the bistro splits its
# day and rests on Mondays, the convenience store never closes (the look-ahead's longest path).
HOURS_VARIANTS: tuple[dict[str, list[list[str]]], ...] = (
    _every_day(("09:00", "21:00")),
    {**_every_day(("10:00", "22:00")), "fri": [["10:00", "23:30"]], "sat": [["09:30", "23:30"]]},
    _every_day(("18:00", "02:00")),
    _every_day(("00:00", "24:00")),
    {day: [["11:00", "14:00"], ["17:00", "22:00"]] for day in ("tue", "wed", "thu", "fri", "sat", "sun")},
)
HOURS_WEIGHTS = (40, 30, 10, 10, 10)
SERVICES_VARIANTS = (["pickup"], ["dine_in"], ["dine_in", "pickup"], ["delivery", "dine_in", "pickup"])
STATUS_VARIANTS = ("open", "closed", "suspended")
STATUS_WEIGHTS = (96, 3, 1)
EXCEPTION_SHARE = 0.05  # stores with a dated exception near today (a holiday, a short day)


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lng: float
    sigma_km: float  # of the Gaussian its clustered stores are drawn from


def _sigma_km(weight: int) -> float:
    """Spread of a city's cluster, chosen so every centre has CENTRE_DENSITY_PER_KM2 at 1M stores."""
    stores = REFERENCE_STORES * CLUSTERED_SHARE * weight / TOTAL_WEIGHT
    return math.sqrt(stores / (2 * math.pi * CENTRE_DENSITY_PER_KM2))


CITY_LIST = tuple(City(name, lat, lng, _sigma_km(weight)) for name, lat, lng, weight in CITIES)


def _offset(lat: float, lng: float, north_km: float, east_km: float) -> tuple[float, float]:
    """A point ``north_km``/``east_km`` away (flat-earth: fine at these distances for a benchmark)."""
    return lat + north_km / KM_PER_DEGREE, lng + east_km / (KM_PER_DEGREE * math.cos(math.radians(lat)))


def _inside_china_box(lat: float, lng: float) -> bool:
    lat_min, lat_max, lng_min, lng_max = CHINA_BOX
    return lat_min <= lat <= lat_max and lng_min <= lng <= lng_max


def city_point(rng: random.Random) -> tuple[str, float, float]:
    """A point of a city cluster: (city name, lat, lng)."""
    city = rng.choices(CITY_LIST, WEIGHTS)[0]
    lat, lng = _offset(city.lat, city.lng, rng.gauss(0, city.sigma_km), rng.gauss(0, city.sigma_km))
    return city.name, lat, lng


def spread_point(rng: random.Random) -> tuple[str, float, float]:
    """A point away from the clusters: around a city, hundreds of km out, inside China's box."""
    while True:
        city = rng.choices(CITY_LIST, WEIGHTS)[0]
        lat, lng = _offset(city.lat, city.lng, rng.gauss(0, SPREAD_SIGMA_KM), rng.gauss(0, SPREAD_SIGMA_KM))
        if _inside_china_box(lat, lng):
            return city.name, lat, lng


def store_stream(today: date) -> Iterator[dict[str, Any]]:
    """Stores with ids 1, 2, ... for ever; take the first N for a network of N stores."""
    rng = random.Random(SEED)
    index = 0
    while True:
        yield _store(index, rng, today)
        index += 1


def _store(index: int, rng: random.Random, today: date) -> dict[str, Any]:
    clustered = rng.random() < CLUSTERED_SHARE
    city, lat, lng = city_point(rng) if clustered else spread_point(rng)
    store_id = index + 1
    return {
        "id": store_id, "code": f"B{store_id:07d}", "name": f"Ripple {city} #{store_id}",
        "address": f"{rng.randint(1, 999)} {city} Road", "city": city,
        "district": f"District {rng.randint(1, 12)}", "lat": lat, "lng": lng,
        "phone": f"400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}", "timezone": "Asia/Shanghai",
        "services": rng.choice(SERVICES_VARIANTS),
        "status": rng.choices(STATUS_VARIANTS, STATUS_WEIGHTS)[0],
        "weekly_hours": rng.choices(HOURS_VARIANTS, HOURS_WEIGHTS)[0],
        "exceptions": _exceptions(rng, today),
    }


def _exceptions(rng: random.Random, today: date) -> list[tuple[date, list[list[str]], str]]:
    """A few stores close for a day or open short hours, today or soon; a few have an old exception."""
    if rng.random() >= EXCEPTION_SHARE:
        return []
    day = today + timedelta(days=rng.randint(-5, 3))  # some too old to reach the card
    hours = rng.choice([[], [["10:00", "16:00"]], [["12:00", "23:59"]]])
    return [(day, hours, "closed for a day" if not hours else "short day")]


def query_points(where: str, count: int, seed: int) -> list[tuple[float, float]]:
    """``count`` shopper positions (lat, lng): 'city_centre' or 'elsewhere'."""
    rng = random.Random(seed)
    draw = city_point if where == "city_centre" else spread_point
    return [draw(rng)[1:] for _ in range(count)]
