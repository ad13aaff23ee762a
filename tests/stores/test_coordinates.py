"""WGS-84 to GCJ-02 against published reference points, and distances on Redis's sphere."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.auth import Role
from shop.stores.coordinates import EARTH_RADIUS_M, haversine_m, in_mainland_china, wgs84_to_gcj02
from tests.stores.test_store_admin import NEW_STORE

# (WGS-84 lat, lng) -> (GCJ-02 lat, lng) as published with the reference implementations:
# googollee/eviltransform's test suites (Shanghai, Shenzhen, Beijing) and the result printed in
# wandergis/coordtransform's test/app.js for wgs84togcj02(116.404, 39.915).
REFERENCE_POINTS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]

MAINLAND_CITIES = {
    "beijing": (39.9042, 116.4074), "shanghai": (31.2304, 121.4737), "guangzhou": (23.1291, 113.2644),
    "chengdu": (30.5728, 104.0668), "urumqi": (43.8256, 87.6168), "harbin": (45.8038, 126.5350),
    "lhasa": (29.6520, 91.1721), "sanya": (18.2528, 109.5119),
}


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE_POINTS)
def test_reference_points_convert_as_published(wgs, gcj):
    lat, lng = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-7)
    assert lng == pytest.approx(gcj[1], abs=1e-7)


@pytest.mark.parametrize("city", sorted(MAINLAND_CITIES))
def test_the_offset_in_mainland_cities_is_a_few_hundred_metres(city):
    wgs = MAINLAND_CITIES[city]
    assert 100 < haversine_m(*wgs, *wgs84_to_gcj02(*wgs)) < 700


@pytest.mark.parametrize("point", [(51.5074, -0.1278), (40.7128, -74.0060), (-33.8688, 151.2093), (0.0, 0.0)],
                         ids=["london", "new-york", "sydney", "null-island"])
def test_points_outside_china_are_unchanged(point):
    assert not in_mainland_china(*point)
    assert wgs84_to_gcj02(*point) == point


@pytest.mark.parametrize(("place", "point", "mainland"), [
    ("beijing", (39.9042, 116.4074), True),
    ("shenzhen-futian", (22.5431, 114.0579), True),
    ("shenzhen-luohu-station", (22.5320, 114.1172), True),
    ("shenzhen-sha-tau-kok-town", (22.5550, 114.2300), True),
    ("zhuhai-gongbei", (22.2230, 113.5500), True),
    ("zhuhai-hengqin", (22.1300, 113.5200), True),
    ("xiamen", (24.4798, 118.0894), True),
    ("urumqi", (43.8256, 87.6168), True),
    ("harbin", (45.8038, 126.5340), True),
    ("haikou", (20.0440, 110.1999), True),
    ("hong-kong-central", (22.2819, 114.1582), False),
    ("hong-kong-sheung-shui", (22.5016, 114.1280), False),
    ("hong-kong-lantau-airport", (22.3080, 113.9185), False),
    ("macau-peninsula", (22.1987, 113.5439), False),
    ("macau-cotai", (22.1460, 113.5650), False),
    ("taipei", (25.0330, 121.5654), False),
    ("kinmen", (24.4490, 118.3760), False),
    ("hanoi", (21.0278, 105.8342), False),
    ("ulaanbaatar", (47.8864, 106.9057), False),
    ("vladivostok", (43.1155, 131.8855), False),
    ("seoul", (37.5665, 126.9780), False),
    ("osaka", (34.6937, 135.5023), False),
])
def test_gcj02_applies_in_the_mainland_only(place, point, mainland):
    assert in_mainland_china(*point) is mainland
    moved = haversine_m(*point, *wgs84_to_gcj02(*point))
    assert (moved > 50) is mainland


def test_a_store_placed_in_wgs84_shifts_in_shenzhen_but_not_across_the_river_in_hong_kong(client, staff_token):
    marketing = staff_token(Role.MARKETING)
    placed = {}
    for code, (lat, lng) in (("SZ1", (22.5320, 114.1172)), ("HK1", (22.5016, 114.1280))):
        body = {**NEW_STORE, "code": code, "lat": lat, "lng": lng, "coord": "wgs84"}
        response = client.post("/api/v1/admin/stores", json=body, headers=marketing)
        assert response.status_code == 201, response.get_json()
        placed[code] = haversine_m(lat, lng, response.get_json()["lat"], response.get_json()["lng"])
    assert placed["SZ1"] > 100
    assert placed["HK1"] == 0


def test_haversine_matches_known_distances_on_redis_sphere():
    one_degree = math.pi * EARTH_RADIUS_M / 180
    assert haversine_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(one_degree)
    assert one_degree == pytest.approx(111_226.3, abs=0.1)
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(math.pi * EARTH_RADIUS_M / 2)
    # Beijing to Shanghai, about 1,067 km as Redis's GEODIST gives it.
    assert haversine_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_611, abs=1)
    assert haversine_m(31.2304, 121.4737, 31.2304, 121.4737) == 0.0


COORDINATES = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@given(COORDINATES, COORDINATES)
def test_haversine_is_symmetric_and_bounded(a, b):
    distance = haversine_m(*a, *b)
    assert distance == pytest.approx(haversine_m(*b, *a), abs=1e-6)
    assert 0.0 <= distance <= math.pi * EARTH_RADIUS_M + 1e-6


@given(st.floats(18.0, 53.0), st.floats(74.0, 134.0))
def test_the_offset_is_under_a_kilometre_anywhere_in_the_box_interior(lat, lng):
    assert haversine_m(lat, lng, *wgs84_to_gcj02(lat, lng)) < 1_000


def test_positions_nearer_the_poles_than_the_index_reaches_are_refused_for_stores_and_searches(client, staff_token):
    marketing = staff_token(Role.MARKETING)
    placed = client.post("/api/v1/admin/stores", json={**NEW_STORE, "code": "POLE", "lat": 89.0}, headers=marketing)
    assert placed.status_code == 422 and list(placed.get_json()["errors"]) == ["lat"]
    searched = client.get("/api/v1/stores/nearby?lat=-86&lng=121.4")
    assert searched.status_code == 422 and list(searched.get_json()["errors"]) == ["lat"]
    assert client.get("/api/v1/stores/nearby?lat=85.05&lng=121.4").status_code == 200
