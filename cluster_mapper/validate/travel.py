"""The validator's own travel engine: edge minutes and snapping, written apart from the planner's travel code."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
from pyproj import Geod
from scipy.spatial import cKDTree

from cluster_mapper.travel.network import DEFAULT_DRIVE_SPEEDS_KMH, FALLBACK_DRIVE_SPEED_KMH


def edge_minutes_walk(G: nx.MultiDiGraph, speed_kmh: float) -> nx.DiGraph:
    """Walking graph: every edge both ways, Tobler speed on its own grade."""
    H = nx.DiGraph()
    elev = nx.get_node_attributes(G, "elevation")
    norm = math.exp(-3.5 * 0.05)
    for u, v, d in G.edges(data=True):
        length = float(d.get("length", 0.0))
        for a, b in ((u, v), (v, u)):
            grade = 0.0
            if a in elev and b in elev and length > 0:
                try:
                    grade = (float(elev[b]) - float(elev[a])) / length
                except (TypeError, ValueError):
                    grade = 0.0
            kmh = speed_kmh * math.exp(-3.5 * abs(grade + 0.05)) / norm
            minutes = length / 1000.0 / kmh * 60.0
            if not H.has_edge(a, b) or H[a][b]["w"] > minutes:
                H.add_edge(a, b, w=minutes)
    return H


def edge_minutes_drive(G: nx.MultiDiGraph) -> nx.DiGraph:
    """Driving graph: osmnx free-flow speeds under the same speed assumptions (data) as the plan."""
    import osmnx as ox

    G2 = G.copy()
    for *_, d in G2.edges(data=True):
        d.setdefault("highway", "road")
        if d["highway"] is None:
            d["highway"] = "road"
    ox.routing.add_edge_speeds(G2, hwy_speeds=DEFAULT_DRIVE_SPEEDS_KMH, fallback=FALLBACK_DRIVE_SPEED_KMH)
    H = nx.DiGraph()
    for u, v, d in G2.edges(data=True):
        kmh = float(d["speed_kph"])
        if not math.isfinite(kmh) or kmh <= 0:
            kmh = FALLBACK_DRIVE_SPEED_KMH
        minutes = float(d["length"]) / 1000.0 / kmh * 60.0
        if not H.has_edge(u, v) or H[u][v]["w"] > minutes:
            H.add_edge(u, v, w=minutes)
    return H


def snap_points(G: nx.MultiDiGraph, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of each school and the distance to it in metres."""
    nodes = list(G.nodes)
    nx_ = np.array([G.nodes[n]["x"] for n in nodes], dtype=float)
    ny_ = np.array([G.nodes[n]["y"] for n in nodes], dtype=float)
    lat0 = math.radians(float(np.mean(ny_)))
    r = 6_371_008.8
    tree = cKDTree(np.c_[np.radians(nx_) * math.cos(lat0) * r, np.radians(ny_) * r])
    k = min(8, len(nodes))
    _, cand = tree.query(np.c_[np.radians(lon) * math.cos(lat0) * r, np.radians(lat) * r], k=k)
    cand = np.asarray(cand).reshape(len(lon), k)
    # the flat projection only shortlists; the nearest is chosen by true geodesic distance
    geod = Geod(ellps="WGS84")
    best, dist = [], []
    for i in range(len(lon)):
        c = cand[i]
        _, _, metres = geod.inv(np.full(k, lon[i]), np.full(k, lat[i]), nx_[c], ny_[c])
        j = int(np.argmin(metres))
        best.append(c[j])
        dist.append(float(metres[j]))
    return np.array(nodes, dtype=object)[np.array(best, dtype=int)], np.array(dist)
