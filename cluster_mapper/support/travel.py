"""Facilitator travel: minutes between bases and venues, and the roads between them.

Facilitators travel on the plan's own travel times: the same road network,
travel-time matrix or straight lines the clusters were planned with, in each
facilitator's ``travel_mode`` (the policy's where not given). Times are
computed here for the few points that matter (bases and venues), with no
cutoff: a facilitator's day can be longer than a teacher's walk to a venue.

The matrix of each mode is closed under shortest paths (a facilitator may go
from A to C through B when that is quicker; a user's matrix need not satisfy
the triangle inequality), so the best route of a day never gains from an
extra stop.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra, shortest_path

from cluster_mapper.errors import fail
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.network import load_network
from cluster_mapper.travel.times import graph_arrays, matrix_travel_times, network_travel_times, straight_line_travel_times

log = logging.getLogger(__name__)


@dataclass
class SupportTravel:
    """Minutes between the points of a support problem, per travel mode.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per point: ``point_id`` (a school id, or ``@base:<facilitator_id>``
        for a base given by coordinates), ``school_id`` ("" for such a base),
        ``latitude``, ``longitude``.
    minutes : dict of str to numpy.ndarray
        ``minutes[mode][i, j]``: minutes from point ``i`` to point ``j`` in
        that mode (``inf`` when unreachable), closed under shortest paths.
    source : {"network", "matrix", "straight_line"}
        Where the times come from (the plan's source).
    notes : list of str
        What the user must know (modes that cannot be honoured, far bases).
    graphs : dict of str to networkx.MultiDiGraph
        The road graph of each mode (network source only), for drawing routes.
    nodes : dict of str to numpy.ndarray
        The graph node each point is snapped to, per mode.
    """

    points: pd.DataFrame
    minutes: dict[str, np.ndarray]
    source: str
    notes: list[str] = field(default_factory=list)
    graphs: dict[str, nx.MultiDiGraph] = field(default_factory=dict)
    nodes: dict[str, np.ndarray] = field(default_factory=dict)
    _csr: dict = field(default_factory=dict, repr=False)
    _pred: dict = field(default_factory=dict, repr=False)

    def index(self) -> dict[str, int]:
        """Position of each ``point_id``."""
        return {p: i for i, p in enumerate(self.points["point_id"])}

    def leg(self, mode: str, i: int, j: int) -> list[tuple[float, float]]:
        """The way from point ``i`` to point ``j`` as ``(longitude, latitude)`` pairs.

        Along the roads of the mode's network (with the straight walks between
        each point and its road node); a straight line for matrix and
        straight-line travel.
        """
        a = (float(self.points["longitude"].iat[i]), float(self.points["latitude"].iat[i]))
        b = (float(self.points["longitude"].iat[j]), float(self.points["latitude"].iat[j]))
        if i == j:
            return [a]
        G = self.graphs.get(mode)
        if G is None:
            return [a, b]
        if mode not in self._csr:
            nodes, csr = graph_arrays(G)
            self._csr[mode] = (nodes, {n: k for k, n in enumerate(nodes)}, csr)
        nodes, where, csr = self._csr[mode]
        s, t = where[self.nodes[mode][i]], where[self.nodes[mode][j]]
        key = (mode, s)
        if key not in self._pred:
            _, pred = dijkstra(csr, directed=True, indices=s, return_predecessors=True)
            self._pred[key] = pred
        pred = self._pred[key]
        if s != t and pred[t] < 0:
            return [a, b]
        path = [t]
        while path[-1] != s:
            path.append(int(pred[path[-1]]))
        path.reverse()
        coords = [a]
        for u, v in itertools.pairwise(path):
            coords.extend(_edge_coords(G, nodes[u], nodes[v]))
        if len(path) == 1:
            n = G.nodes[nodes[s]]
            coords.append((float(n["x"]), float(n["y"])))
        coords.append(b)
        return coords


def _edge_coords(G: nx.MultiDiGraph, u, v) -> list[tuple[float, float]]:
    """Coordinates of the quickest edge from ``u`` to ``v`` (its geometry where it has one)."""
    best = min(G[u][v].values(), key=lambda d: d.get("travel_minutes", np.inf))
    geom = best.get("geometry")
    if geom is not None and getattr(geom, "geom_type", "") == "LineString":
        pts = [(float(x), float(y)) for x, y in geom.coords]
        nu = (float(G.nodes[u]["x"]), float(G.nodes[u]["y"]))
        if np.hypot(pts[0][0] - nu[0], pts[0][1] - nu[1]) > np.hypot(pts[-1][0] - nu[0], pts[-1][1] - nu[1]):
            pts.reverse()
        return pts
    return [(float(G.nodes[u]["x"]), float(G.nodes[u]["y"])), (float(G.nodes[v]["x"]), float(G.nodes[v]["y"]))]


def _dense(pairs: pd.DataFrame, ids: list[str]) -> np.ndarray:
    pos = {p: i for i, p in enumerate(ids)}
    M = np.full((len(ids), len(ids)), np.inf)
    f = pairs["from_school_id"].map(pos)
    t = pairs["to_school_id"].map(pos)
    ok = f.notna() & t.notna()
    M[f[ok].astype(int).to_numpy(), t[ok].astype(int).to_numpy()] = pairs.loc[ok, "minutes"].to_numpy(float)
    np.fill_diagonal(M, 0.0)
    return M


def metric_closure(M: np.ndarray) -> np.ndarray:
    """Shortest-path closure of a minutes matrix (``inf`` = no direct way)."""
    if len(M) == 0:
        return M
    W = M.copy()
    off = ~np.eye(len(W), dtype=bool)
    W[off & (W == 0)] = 1e-9  # a zero off the diagonal is a real (instant) way, not "no edge"
    W[~np.isfinite(W)] = 0.0
    out = shortest_path(W, method="D", directed=True)
    out[off & (out <= 1e-9)] = 0.0
    return out


def points_frame(schools: gpd.GeoDataFrame, venue_ids: list[str], facilitators: pd.DataFrame) -> pd.DataFrame:
    """The points of a support problem: venues and bases (school bases are their school's point)."""
    pos = {sid: (g.y, g.x) for sid, g in zip(schools["school_id"], schools.geometry)}
    rows: dict[str, tuple[str, float, float]] = {}
    for v in venue_ids:
        rows[v] = (v, *pos[v])
    for f in facilitators.itertuples(index=False):
        if f.base_school_id:
            rows.setdefault(f.base_school_id, (f.base_school_id, *pos[f.base_school_id]))
        else:
            rows[f"@base:{f.facilitator_id}"] = ("", float(f.latitude), float(f.longitude))
    return pd.DataFrame([(k, *v) for k, v in rows.items()], columns=["point_id", "school_id", "latitude", "longitude"])


def base_point(f) -> str:
    """The ``point_id`` of a facilitator's base."""
    return f.base_school_id if f.base_school_id else f"@base:{f.facilitator_id}"


def support_travel(
    points: pd.DataFrame,
    modes: list[str],
    policy_travel: TravelPolicy,
    spec: dict,
    *,
    network: nx.MultiDiGraph | None = None,
    matrix_pairs: pd.DataFrame | None = None,
    schools: gpd.GeoDataFrame | None = None,
) -> SupportTravel:
    """Minutes between all support points in every mode needed, from the plan's travel source.

    Parameters
    ----------
    points : pandas.DataFrame
        From :func:`points_frame`.
    modes : list of str
        Travel modes used by the facilitators (``walk``/``drive``).
    policy_travel : TravelPolicy
        The plan's travel settings (walking speed, detour factor, snapping).
    spec : dict
        The plan's ``travel`` entry of ``summary.json`` (``source``,
        ``network_path`` or ``matrix_path``).
    network : networkx.MultiDiGraph, optional
        The plan's road network, already loaded for the plan's travel mode.
    matrix_pairs : pandas.DataFrame, optional
        The plan's matrix pairs (``from_school_id, to_school_id, minutes``);
        read from ``spec["matrix_path"]`` when not given.
    schools : geopandas.GeoDataFrame, optional
        The plan's schools (needed to read a matrix file again).

    Returns
    -------
    SupportTravel
    """

    source = spec.get("source", "straight_line")
    ids = points["point_id"].tolist()
    gdf = gpd.GeoDataFrame({"school_id": ids}, geometry=gpd.points_from_xy(points["longitude"], points["latitude"]), crs="EPSG:4326")
    out = SupportTravel(points.reset_index(drop=True), {}, source)
    for mode in dict.fromkeys(modes):
        tp = replace(policy_travel, travel_mode=mode)
        if source == "network":
            if network is not None and mode == policy_travel.travel_mode:
                G = network
            else:
                path = spec.get("network_path")
                if not path or not Path(path).is_file():
                    fail(
                        path or "<network>",
                        "the plan's road network file is missing, so facilitator travel cannot be computed.",
                        fix="plan again with --network, or restore the network file named in summary.json.",
                    )
                G = load_network(path, tp)
            tt = network_travel_times(gdf, G, tp, cutoff_minutes=None, cache_dir=False)
            out.graphs[mode] = G
            out.nodes[mode] = tt.snaps["node"].to_numpy()
            off = tt.snaps[tt.snaps["off_network"]]
            if len(off):
                out.notes.append(
                    f"{mode}: {len(off)} base(s) or venue(s) lie more than {tp.max_snap_metres:g} m from the {mode} network; "
                    "the walk to the nearest road is added to their travel"
                )
            M = _dense(tt.pairs, ids)
        elif source == "matrix":
            bad = points.loc[points["school_id"] == "", "point_id"].tolist()
            if bad:
                fail(
                    "<facilitators>",
                    f"bases given by coordinates ({', '.join(b.removeprefix('@base:') for b in bad[:5])}) cannot be used with a travel-time matrix, which only knows schools.",
                    fix="give these facilitators a base_school_id.",
                    field="base_school_id",
                )
            if matrix_pairs is None:
                matrix_pairs = matrix_travel_times(spec["matrix_path"], schools).pairs
            M = _dense(matrix_pairs, ids)
            if mode != policy_travel.travel_mode:
                out.notes.append(f"travel_mode {mode}: the travel-time matrix has one set of times; they are used for every facilitator")
        else:
            M = _dense(straight_line_travel_times(gdf, tp, cutoff_minutes=None).pairs, ids)
        out.minutes[mode] = metric_closure(M)
    if source == "straight_line":
        out.notes.append("facilitator travel times are straight-line estimates, not road travel")
    return out


__all__ = ["SupportTravel", "base_point", "metric_closure", "points_frame", "support_travel"]
