"""Map context a person can find their way by, offline: boundary, place names, rivers, main roads.

Every layer comes from data the project ships or the plan already has; no
tile or request leaves the machine.

- *District boundary*: the district polygons bundled as package data
  (``cluster_mapper.context_data``, the files of ``data/pakistan/``: the
  polygons of Khyber Pakhtunkhwa's 35 districts from OCHA / HDX), drawn for
  the plan's districts that have one (matched by name, case ignored).
- *Place names*: from the schools' names when they follow the usual
  ``GPS Place (Boys)`` pattern (the sample's names are generated, made up,
  on real OpenStreetMap settlement positions), one label per place at the
  mean position of its schools.
- *Rivers*: the road network's ``rivers_wkt`` graph attribute (the sample's
  generated network) or its ``waterway`` edges.
- *Main roads*: the network's trunk, primary, secondary and tertiary roads,
  with their names.
"""

from __future__ import annotations

import json
import logging
import re
from importlib import resources
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

MAIN_ROADS = ("motorway", "trunk", "primary", "secondary", "tertiary")
#: School name prefixes (government primary, middle, high schools, for girls with an extra G).
_PLACE = re.compile(
    r"^\s*(?:G{1,2}(?:P|M|H|HS|MS|PS|GPS)?S?|Govt\.?|Government)\s+(?:(?:Primary|Middle|High)\s+School\s+)?(.+?)\s*(?:\((?:Boys|Girls|Mixed|B|G)\))?\s*$",
    re.IGNORECASE,
)
#: Most place labels drawn (the places with most schools first).
MAX_PLACES = 600


def _r(x: float) -> float:
    return round(float(x), 5)


def _context_root():
    """The bundled context folder: package data in a wheel, else the checkout's ``data/pakistan``."""
    package = resources.files("cluster_mapper")
    bundled = package / "context_data"
    if bundled.is_dir():
        return bundled
    checkout = Path(str(package)).parent / "data" / "pakistan"
    return checkout if checkout.is_dir() else None


def district_outlines(districts) -> list[dict]:
    """Bundled outlines of the given districts: ``[{"name", "rings": [[[lat, lon], ...], ...]}]``."""
    wanted = {str(d).strip().lower(): str(d) for d in districts}
    out: list[dict] = []
    root = _context_root()
    if root is None:  # pragma: no cover - package data missing
        return out
    files = sorted(f for f in root.iterdir() if f.name.endswith("_districts.geojson"))
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        for feat in data.get("features", []):
            name = str((feat.get("properties") or {}).get("district", "")).strip()
            if name.lower() not in wanted:
                continue
            geom = feat["geometry"]
            polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
            rings = [[[_r(y), _r(x)] for x, y in poly[0]] for poly in polys]
            out.append({"name": name, "rings": rings})
    return out


def place_labels(names: pd.Series, lat: pd.Series, lon: pd.Series) -> list[list]:
    """``[[place, lat, lon, n_schools], ...]`` from school names such as ``GPS Pardor Bala (Boys)``."""
    rows = []
    for n, y, x in zip(names, lat, lon, strict=True):
        m = _PLACE.match(str(n))
        if m and m.group(1) and not m.group(1).lower().startswith(("school", "no ")):
            place = re.sub(r"\s+No\.?\s*\d+$", "", m.group(1).strip(), flags=re.IGNORECASE)
            rows.append((place, float(y), float(x)))
    if not rows:
        return []
    df = pd.DataFrame(rows, columns=["place", "lat", "lon"])
    g = df.groupby("place").agg(lat=("lat", "mean"), lon=("lon", "mean"), n=("lat", "size")).reset_index()
    g = g.sort_values(["n", "place"], ascending=[False, True]).head(MAX_PLACES)
    return [[p, _r(y), _r(x), int(k)] for p, y, x, k in zip(g["place"], g["lat"], g["lon"], g["n"], strict=True)]


def network_context(G) -> tuple[list[list[float]], list[list]]:
    """Rivers (``[lat, lon, ...]`` polylines) and main roads (``[name, highway, [lat, lon, ...]]``) of a road network."""
    rivers: list[list[float]] = []
    roads: list[list] = []
    if G is None:
        return rivers, roads
    wkt = G.graph.get("rivers_wkt")
    if wkt:
        try:
            from shapely import wkt as shapely_wkt

            geom = shapely_wkt.loads(wkt)
            for line in getattr(geom, "geoms", [geom]):
                rivers.append([v for x, y in line.coords for v in (_r(y), _r(x))])
        except Exception as exc:  # a map label must not stop the map
            log.warning("rivers in the network file could not be read: %s", exc)
    seen = set()
    for u, v, d in G.edges(data=True):
        key = (u, v) if str(u) <= str(v) else (v, u)
        if key in seen:
            continue
        seen.add(key)
        hw = d.get("highway")
        hw = hw[0] if isinstance(hw, list) else hw
        a, b = G.nodes[u], G.nodes[v]
        geom = d.get("geometry")
        coords = list(geom.coords) if geom is not None and hasattr(geom, "coords") else [(float(a["x"]), float(a["y"])), (float(b["x"]), float(b["y"]))]
        flat = [c for x, y in coords for c in (_r(y), _r(x))]
        if d.get("waterway"):
            rivers.append(flat)
        elif str(hw) in MAIN_ROADS:
            name = d.get("name")
            roads.append([str(name[0] if isinstance(name, list) else name) if name else "", str(hw), flat])
    return rivers, roads


__all__ = ["district_outlines", "place_labels", "network_context", "MAIN_ROADS"]
