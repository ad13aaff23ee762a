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


def out_of_china(lat: float, lng: float) -> bool:
    """Outside the rough box where GCJ-02 applies (the box every implementation of the algorithm uses)."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


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
    """(lat, lng) in GCJ-02 of a WGS-84 point; unchanged outside China."""
    if out_of_china(lat, lng):
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
