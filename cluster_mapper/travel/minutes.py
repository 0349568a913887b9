"""Travel minutes on a road network's edges (Tobler's hiking function, road speeds) and schools snapped to its nodes."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj

from cluster_mapper._geo import utm_crs
from cluster_mapper.errors import InputError, InputProblem, fail
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel import osm
from cluster_mapper.travel.network import DEFAULT_DRIVE_SPEEDS_KMH, FALLBACK_DRIVE_SPEED_KMH

#: Tobler's hiking function peaks at this grade (slightly downhill).
TOBLER_PEAK_GRADE = -0.05
TOBLER_DECAY = 3.5

SNAP_COLUMNS = ["school_id", "node", "snap_metres", "off_network"]

_GEOD = pyproj.Geod(ellps="WGS84")


def tobler_speed_kmh(grade: np.ndarray | float, walking_speed_kmh: float) -> np.ndarray | float:
    """Walking speed on a slope by Tobler's hiking function, km/h.

    Normalised so that flat ground (grade 0) gives ``walking_speed_kmh``:
    ``v = walking_speed_kmh * exp(-3.5 |grade + 0.05|) / exp(-3.5 * 0.05)``.
    The fastest walking is slightly downhill (grade -0.05).

    Parameters
    ----------
    grade : float or array
        Rise over horizontal run (0.1 = 10 % uphill, -0.1 = downhill).
    walking_speed_kmh : float
        Speed on flat ground, km/h.
    """
    g = np.asarray(grade, dtype=float)
    v = walking_speed_kmh * np.exp(-TOBLER_DECAY * np.abs(g - TOBLER_PEAK_GRADE)) / math.exp(-TOBLER_DECAY * abs(TOBLER_PEAK_GRADE))
    return float(v) if np.ndim(v) == 0 else v


def _add_walk_reverse_edges(G: nx.MultiDiGraph) -> int:
    """Give every edge a reverse twin (same length) so walkers can use it both ways."""
    add = []
    for u, v, _k, d in G.edges(keys=True, data=True):
        if u == v:
            continue
        length = d.get("length")
        twins = G[v][u].values() if G.has_edge(v, u) else ()
        if any(abs(float(t.get("length", -1)) - float(length)) <= 1e-6 * max(1.0, float(length)) for t in twins):
            continue
        r = {key: val for key, val in d.items() if key not in ("travel_minutes", "speed_kmh", "grade", "speed_kph", "travel_time")}
        geom = r.get("geometry")
        if geom is not None and hasattr(geom, "reverse"):
            r["geometry"] = geom.reverse()
        r["reversed"] = not bool(d.get("reversed", False))
        r["walk_reverse"] = True
        add.append((v, u, r))
    G.add_edges_from(add)
    return len(add)


def add_travel_minutes(G: nx.MultiDiGraph, travel: TravelPolicy) -> nx.MultiDiGraph:
    """Set the edge attribute ``travel_minutes`` for the travel mode (in place).

    Walk
        Every edge is usable in both directions regardless of one-way tags: a
        reverse edge (with its own, opposite grade) is added where none exists
        (marked ``walk_reverse=True``). When both end nodes carry
        ``elevation`` (metres), the edge's speed follows Tobler's hiking
        function of its grade ``(elevation_v - elevation_u) / length``, so
        uphill and downhill differ (:func:`tobler_speed_kmh`). Without
        elevation the flat ``walking_speed_kmh`` is used and a note says so.
    Drive
        Speeds from ``maxspeed`` tags where present, otherwise typical speeds
        per road type (:data:`DEFAULT_DRIVE_SPEEDS_KMH`), via
        ``osmnx.routing.add_edge_speeds`` and ``add_edge_travel_times``.
        One-way streets are respected (edges keep their direction).

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Road graph with edge ``length`` in metres.
    travel : TravelPolicy
        ``travel_mode`` and ``walking_speed_kmh``.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph with ``travel_minutes`` (min) and ``speed_kmh`` (km/h)
        on every edge, ``grade`` on walk edges, and the notes of this step in
        ``G.graph["travel_minutes_notes"]`` (replaced on every call).
    """

    notes: list[str] = []
    # a graph may have been prepared for the other mode before
    old_rev = [(u, v, k) for u, v, k, r in G.edges(keys=True, data="walk_reverse") if r]
    if travel.travel_mode == "drive" and old_rev:
        G.remove_edges_from(old_rev)

    if travel.travel_mode == "walk":
        _add_walk_reverse_edges(G)
        n_rev = sum(1 for *_, r in G.edges(data="walk_reverse") if r)
        if n_rev:
            notes.append(f"walkers use every road both ways: {n_rev} reverse edge(s) added for one-way streets")
        edges = list(G.edges(keys=True, data=True))
        elev = nx.get_node_attributes(G, "elevation")
        length = np.array([float(d["length"]) for *_, d in edges])
        zu = np.array([float(elev.get(u, np.nan)) for u, _, _, _ in edges])
        zv = np.array([float(elev.get(v, np.nan)) for _, v, _, _ in edges])
        has = np.isfinite(zu) & np.isfinite(zv)
        grade = np.zeros(len(edges))
        ok = has & (length > 0)
        grade[ok] = (zv[ok] - zu[ok]) / length[ok]
        speed = tobler_speed_kmh(grade, travel.walking_speed_kmh)
        speed = np.atleast_1d(speed)
        minutes = length / 1000.0 / speed * 60.0
        for (_u, _v, _k, d), g, s, m, h in zip(edges, grade, speed, minutes, has):
            d["speed_kmh"] = float(s)
            d["travel_minutes"] = float(m)
            if h:
                d["grade"] = float(g)
            else:
                d.pop("grade", None)
        n_flat = int((~has).sum())
        if not elev or n_flat == len(edges):
            notes.append(
                f"no elevation on the network: walking times use the flat speed of {travel.walking_speed_kmh:g} km/h everywhere, which underestimates travel in hills"
            )
        elif n_flat:
            notes.append(f"{n_flat} of {len(edges)} edges lack elevation at an end and are walked at the flat {travel.walking_speed_kmh:g} km/h")
        else:
            notes.append(f"walking times follow Tobler's hiking function ({travel.walking_speed_kmh:g} km/h on flat ground)")
    else:
        no_hw = [(u, v, k) for u, v, k, h in G.edges(keys=True, data="highway") if h is None]
        for u, v, k in no_hw:
            G.edges[u, v, k]["highway"] = "road"
        has_maxspeed = any(ms is not None for *_, ms in G.edges(data="maxspeed"))
        osm.add_drive_speeds(G, DEFAULT_DRIVE_SPEEDS_KMH, FALLBACK_DRIVE_SPEED_KMH)
        for u, v, k in no_hw:
            del G.edges[u, v, k]["highway"]
        for *_, d in G.edges(data=True):
            s = float(d["speed_kph"])
            if not np.isfinite(s) or s <= 0:
                s = FALLBACK_DRIVE_SPEED_KMH
                d["speed_kph"] = s
                d["travel_time"] = float(d["length"]) / 1000.0 / s * 3600.0
            d["speed_kmh"] = s
            d["travel_minutes"] = float(d["travel_time"]) / 60.0
        notes.append(
            "driving times: free-flow speeds from maxspeed tags where present, otherwise typical speeds per road type"
            + ("" if has_maxspeed else " (no road has a maxspeed tag)")
            + "; one-way streets respected"
        )
    G.graph["travel_minutes_notes"] = notes
    G.graph["travel_minutes_mode"] = travel.travel_mode
    G.graph["travel_minutes_speed_kmh"] = travel.walking_speed_kmh
    return G


# --------------------------------------------------------------------------- snapping


def school_lonlat(schools: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (EPSG:4326) of each school's point."""
    gdf = schools
    if gdf.crs is not None and not gdf.crs.equals(pyproj.CRS.from_epsg(4326)):
        gdf = gdf.to_crs(4326)
    bad = [str(sid) for sid, g in zip(gdf["school_id"], gdf.geometry) if g is None or g.is_empty or g.geom_type != "Point"]
    if bad:
        raise InputError(
            [InputProblem("<schools>", f"school '{b}' has no point location.", "give every school a latitude and longitude.", None, "geometry") for b in bad]
        )
    return gdf.geometry.x.to_numpy(dtype=float), gdf.geometry.y.to_numpy(dtype=float)


def _projected_crs(lon: np.ndarray, lat: np.ndarray, travel: TravelPolicy) -> pyproj.CRS:
    if travel.crs:
        crs = pyproj.CRS.from_user_input(travel.crs)
        if crs.is_projected:
            return crs
    return utm_crs(lon, lat)


def snap_schools(G: nx.MultiDiGraph, schools: gpd.GeoDataFrame, travel: TravelPolicy) -> pd.DataFrame:
    """Find each school's nearest network node; flag schools far from the network.

    Nearest nodes come from ``osmnx.distance.nearest_nodes`` on the node
    coordinates projected to a metric CRS (``travel.crs`` if projected, else
    the local UTM zone), and ``snap_metres`` is then the exact geodesic (WGS84)
    distance between the school and its node. Schools are never moved:
    ``off_network`` is True when ``snap_metres > travel.max_snap_metres``.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Road graph with node ``x``/``y`` in EPSG:4326.
    schools : geopandas.GeoDataFrame
        Columns ``school_id`` and Point ``geometry``.
    travel : TravelPolicy
        ``max_snap_metres`` and optional ``crs``.

    Returns
    -------
    pandas.DataFrame
        Columns ``school_id`` (str), ``node`` (graph node id),
        ``snap_metres`` (float, metres) and ``off_network`` (bool), one row per
        school in input order.
    """

    if len(schools) == 0:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(SNAP_COLUMNS, ["str", "object", "float", "bool"])})
    if len(G) == 0:
        fail(G.graph.get("source_file", "<network>"), "the road network has no nodes.", fix="give a network that covers the schools.")
    lon, lat = school_lonlat(schools)
    node_ids = list(G.nodes)
    nx_ = np.fromiter((d["x"] for _, d in G.nodes(data=True)), float, len(node_ids))
    ny_ = np.fromiter((d["y"] for _, d in G.nodes(data=True)), float, len(node_ids))
    crs = _projected_crs(np.concatenate([lon, nx_]), np.concatenate([lat, ny_]), travel)
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    px, py = tr.transform(nx_, ny_)
    sx, sy = tr.transform(lon, lat)
    H = nx.MultiDiGraph(crs=crs.to_string())
    H.add_nodes_from((i, {"x": float(a), "y": float(b)}) for i, (a, b) in enumerate(zip(px, py)))
    pos = osm.nearest_nodes(H, np.asarray(sx), np.asarray(sy)).astype(np.int64)
    _, _, dist = _GEOD.inv(lon, lat, nx_[pos], ny_[pos])
    dist = np.abs(np.asarray(dist, dtype=float))
    return pd.DataFrame(
        {
            "school_id": schools["school_id"].astype(str).to_numpy(),
            "node": pd.Series([node_ids[i] for i in pos], dtype=object),
            "snap_metres": dist,
            "off_network": dist > float(travel.max_snap_metres),
        }
    )


__all__ = ["SNAP_COLUMNS", "add_travel_minutes", "snap_schools", "school_lonlat", "tobler_speed_kmh"]
