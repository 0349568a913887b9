"""Geo helpers shared by every layer: local metres around a set of points, and the UTM zone that holds them."""

from __future__ import annotations

import math

import numpy as np
import pyproj
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_METRES = 6_371_008.8


def local_metres(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``(n, 2)`` equirectangular metres around the mean latitude (good to a fraction of a percent over a district)."""
    lat0 = math.radians(float(np.mean(lat))) if len(lat) else 0.0
    return np.column_stack([np.radians(lon) * EARTH_RADIUS_METRES * math.cos(lat0), np.radians(lat) * EARTH_RADIUS_METRES])


def utm_crs(lon: np.ndarray, lat: np.ndarray) -> pyproj.CRS:
    """The WGS 84 UTM zone of the points' bounding box (Web Mercator where none fits, such as near the poles)."""
    info = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))),
    )
    return pyproj.CRS.from_epsg(info[0].code) if info else pyproj.CRS.from_epsg(3857)


__all__ = ["EARTH_RADIUS_METRES", "local_metres", "utm_crs"]
