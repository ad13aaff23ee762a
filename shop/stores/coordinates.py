"""Coordinates: WGS-84 to GCJ-02 (the system WeChat's maps use) and great-circle distances.

Stores are kept in GCJ-02 (DESIGN.md, Conventions). Phones and GPS give WGS-84; inside mainland
China the published maps are shifted by the GCJ-02 obfuscation, 100-700 m in the cities. The
conversion below is the widely published public-domain algorithm (as in eviltransform): a
polynomial-plus-sine offset on the Krasovsky 1940 ellipsoid. We write it ourselves: it is ~30
lines, and the PyPI packages for it are unmaintained (eviltransform's last release was in 2018,
coord-convert's in 2019). There is no exact inverse; we do not need one, because we only ever
convert into GCJ-02.
"""

from __future__ import annotations

import math

# Krasovsky 1940 ellipsoid, as the algorithm defines it.
_A = 6378245.0
_EE = 0.00669342162296594323

# The same radius Redis uses for GEODIST/GEOSEARCH, so brute-force checks agree with Redis.
EARTH_RADIUS_M = 6372797.560856


# Where GCJ-02 applies: mainland China only. Hong Kong, Macau, Taiwan and the neighbouring countries
# publish WGS-84 maps. The mainland is approximated by rectangles (as in the widely used
# JZLocationConverter), minus rectangles for Taiwan, Kinmen, Matsu and the neighbours the rectangles
# overlap, minus polygons for Hong Kong and Macau that follow their land borders to within a few
# hundred metres (the Shenzhen River, the Gongbei border gate). (west, south, east, north), degrees.
MAINLAND_BOXES = (
    (79.4462, 42.8899, 96.3300, 49.2204), (109.6872, 39.3742, 135.0002, 54.1415),
    (73.1246, 29.5297, 124.143255, 42.8899), (82.9684, 26.7186, 97.0352, 29.5297),
    (97.0253, 20.414096, 124.367395, 29.5297), (107.975793, 17.871542, 111.744104, 20.414096),
)
NOT_MAINLAND_BOXES = (
    (119.921265, 21.785006, 122.497559, 25.398623),  # Taiwan
    (118.22, 24.38, 118.48, 24.51),  # Kinmen
    (119.90, 25.93, 120.02, 26.40),  # Matsu
    (101.8652, 20.0988, 106.6650, 22.2840), (106.4525, 20.4878, 108.0510, 21.5422),  # Vietnam, Laos
    (109.0323, 50.3257, 119.1270, 55.8175), (127.4568, 49.5574, 137.0227, 55.8175),  # Russia, Mongolia
    (131.2662, 42.5692, 137.0227, 44.8922),  # Russia
)
# (lng, lat) rings.
HONG_KONG = ((113.82, 22.14), (113.82, 22.42), (113.89, 22.47), (113.93, 22.505), (114.03, 22.51),
             (114.06, 22.522), (114.09, 22.534), (114.12, 22.53), (114.15, 22.54), (114.18, 22.556),
             (114.22, 22.553), (114.28, 22.56), (114.50, 22.56), (114.50, 22.14))
MACAU = ((113.528, 22.185), (113.528, 22.214), (113.546, 22.217), (113.560, 22.213), (113.600, 22.165),
         (113.600, 22.105), (113.547, 22.105), (113.547, 22.185))


def in_mainland_china(lat: float, lng: float) -> bool:
    """Whether a point lies where maps are published in GCJ-02 (mainland China)."""
    return (any(_in_box(box, lat, lng) for box in MAINLAND_BOXES)
            and not any(_in_box(box, lat, lng) for box in NOT_MAINLAND_BOXES)
            and not _in_ring(HONG_KONG, lat, lng) and not _in_ring(MACAU, lat, lng))


def _in_box(box: tuple[float, float, float, float], lat: float, lng: float) -> bool:
    west, south, east, north = box
    return west <= lng <= east and south <= lat <= north


def _in_ring(ring: tuple[tuple[float, float], ...], lat: float, lng: float) -> bool:
    """Ray casting: whether (lng, lat) is inside the polygon."""
    inside = False
    previous = ring[-1]
    for point in ring:
        (x1, y1), (x2, y2) = previous, point
        if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
        previous = point
    return inside


def _offset_lat(x: float, y: float) -> float:
    """The northward offset in metres (x, y: degrees east of 105E and north of 35N)."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lng(x: float, y: float) -> float:
    """The eastward offset in metres (x, y: degrees east of 105E and north of 35N)."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) in GCJ-02 of a WGS-84 point; unchanged outside mainland China."""
    if not in_mainland_china(lat, lng):
        return lat, lng
    d_lat = _offset_lat(lng - 105.0, lat - 35.0)
    d_lng = _offset_lng(lng - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    # Offsets in metres to degrees: meridian and parallel radii of curvature of the ellipsoid.
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lng + d_lng


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres on Redis's sphere."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))  # min: rounding can push h past 1
