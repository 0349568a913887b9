"""School-to-school travel times: from a road network, a user matrix, or straight lines.

Every source gives a :class:`TravelTimes`: the reachable ``(from, to)`` school
pairs with minutes, and notes the user must see (straight-line times are never
a silent default). An unreachable pair is absent, never 0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from cluster_mapper._files import atomic_path
from cluster_mapper._geo import local_metres
from cluster_mapper.errors import ProblemCollector, fail
from cluster_mapper.inputs.schools import id_key, parse_float, read_csv_rows
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.minutes import SNAP_COLUMNS, add_travel_minutes, school_lonlat, snap_schools
from cluster_mapper.travel.nearest import TABLE_NEIGHBOURS, StraightLineReach
from cluster_mapper.travel.reach import MIN_NODES, local_network_pairs

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["from_school_id", "to_school_id", "minutes"]
#: Assumed road speed (km/h) for straight-line driving times.
STRAIGHT_LINE_DRIVE_KMH = 30.0
#: Bump when the computation changes, so stale cache files are not reused.
CACHE_VERSION = "travel-v1"
_GEOD = pyproj.Geod(ellps="WGS84")


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame({"from_school_id": pd.Series(dtype=str), "to_school_id": pd.Series(dtype=str), "minutes": pd.Series(dtype=float)})


def _empty_snaps() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(SNAP_COLUMNS, [str, object, float, bool])})


@dataclass(eq=False)
class TravelTimes:
    """Travel times between schools, in minutes.

    Attributes
    ----------
    pairs : pandas.DataFrame
        Columns ``from_school_id``, ``to_school_id``, ``minutes``: reachable
        pairs only (within ``cutoff_minutes`` when set), self pairs with 0.0.
        Travel is directed (uphill differs from downhill, one-way streets).
    source : {"network", "matrix", "straight_line"}
        Where the times come from.
    cutoff_minutes : float or None
        Pairs farther than this are left out; None means no cutoff.
    snaps : pandas.DataFrame
        Columns ``school_id, node, snap_metres, off_network`` (network source);
        empty with those columns otherwise.
    notes : list of str
        What the user must know about these times.
    from_cache : bool
        True when the pairs were read from the disk cache.
    reach : StraightLineReach or None
        Set when ``pairs`` holds only each school's nearest schools (a
        district without a travel limit): the minutes of any other pair are
        computed on demand (:mod:`cluster_mapper.travel.nearest`), so
        :meth:`minutes` and :meth:`minutes_block` still answer every pair.
    """

    pairs: pd.DataFrame
    source: str
    cutoff_minutes: float | None = None
    snaps: pd.DataFrame = field(default_factory=_empty_snaps)
    notes: list[str] = field(default_factory=list)
    from_cache: bool = False
    reach: StraightLineReach | None = None

    def lookup(self) -> dict[tuple[str, str], float]:
        """``{(from_school_id, to_school_id): minutes}`` for reachable pairs."""
        return dict(zip(zip(self.pairs["from_school_id"], self.pairs["to_school_id"]), self.pairs["minutes"].astype(float)))

    def minutes(self, from_id: str, to_id: str) -> float:
        """Minutes from one school to another; ``inf`` if unreachable or beyond the cutoff."""
        cache: tuple[int, dict[tuple[str, str], float]] | None = getattr(self, "_lookup_cache", None)
        if cache is None or cache[0] != len(self.pairs):
            cache = (len(self.pairs), self.lookup())
            self._lookup_cache = cache
        got = cache[1].get((str(from_id), str(to_id)))
        if got is not None:
            return got
        if self.reach is not None:
            fi, ti = self.reach.positions([from_id]), self.reach.positions([to_id])
            if fi[0] >= 0 and ti[0] >= 0:
                return float(self.reach.pair_minutes(fi, ti)[0])
        return math.inf

    def _pair_index(self) -> tuple[pd.Index, sp.csr_matrix, np.ndarray]:
        """School ids, a sparse matrix of pair positions + 1 (0: no pair) and the minutes, built once.

        Repeated ``(from, to)`` pairs keep the last, as :meth:`lookup` does.
        """
        cache = getattr(self, "_index_cache", None)
        if cache is not None and cache[0] is self.pairs and cache[1] == len(self.pairs):
            return cache[2]
        f = self.pairs["from_school_id"].astype(str).to_numpy()
        t = self.pairs["to_school_id"].astype(str).to_numpy()
        ids = pd.Index(pd.unique(np.concatenate([f, t])))
        fi, ti = ids.get_indexer(f), ids.get_indexer(t)
        key = pd.Series(fi.astype(np.int64) * max(1, len(ids)) + ti)
        last = np.flatnonzero(~key.duplicated(keep="last").to_numpy())
        matrix = sp.csr_matrix((last + 1, (fi[last], ti[last])), shape=(len(ids), len(ids)), dtype=np.int64)
        built = (ids, matrix, self.pairs["minutes"].to_numpy(dtype=float))
        self._index_cache = (self.pairs, len(self.pairs), built)
        return built

    def minutes_block(self, from_ids, to_ids) -> np.ndarray:
        """Minutes from each of ``from_ids`` (rows) to each of ``to_ids`` (columns), as :meth:`minutes` gives them.

        Parameters
        ----------
        from_ids, to_ids : sequence of str
            School ids (repeats allowed).

        Returns
        -------
        numpy.ndarray
            ``(len(from_ids), len(to_ids))`` travel minutes; ``inf`` where
            unreachable or beyond the cutoff.
        """
        ids, matrix, minutes = self._pair_index()
        fi = ids.get_indexer(pd.Index(np.asarray(from_ids, dtype=object).astype(str)))
        ti = ids.get_indexer(pd.Index(np.asarray(to_ids, dtype=object).astype(str)))
        out = np.full((len(fi), len(ti)), math.inf)
        rows, cols = np.flatnonzero(fi >= 0), np.flatnonzero(ti >= 0)
        if len(rows) and len(cols):
            pos = matrix[fi[rows]][:, ti[cols]].toarray()
            out[np.ix_(rows, cols)] = np.where(pos > 0, minutes[np.maximum(pos - 1, 0)], math.inf)
        if self.reach is not None:  # pairs beyond each school's nearest: computed on demand
            fr, tr = self.reach.positions(from_ids), self.reach.positions(to_ids)
            r, c = np.nonzero(~np.isfinite(out) & (fr[:, None] >= 0) & (tr[None, :] >= 0))
            if len(r):
                out[r, c] = self.reach.pair_minutes(fr[r], tr[c])
        return out


# --------------------------------------------------------------------------- network


def graph_arrays(G: nx.MultiDiGraph) -> tuple[list, sp.csr_matrix]:
    """Node list and CSR matrix of ``travel_minutes`` (min over parallel edges)."""
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    m = G.number_of_edges()
    rows = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    w = np.empty(m, dtype=float)
    i = 0
    for u, v, t in G.edges(data="travel_minutes"):
        if t is None:
            raise ValueError(f"edge ({u}, {v}) has no travel_minutes; run add_travel_minutes first")
        rows[i] = index[u]
        cols[i] = index[v]
        w[i] = t
        i += 1
    keep = rows != cols  # self loops never shorten a path
    rows, cols, w = rows[keep], cols[keep], w[keep]
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("travel_minutes must be finite and non-negative")
    # min over parallel edges: sort by (row, col, weight) and keep the first of each (row, col)
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, w = rows[first], cols[first], w[first]
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    # explicit zeros are kept as zero-weight edges by scipy.sparse.csgraph
    csr = sp.csr_matrix((w, cols, indptr), shape=(len(nodes), len(nodes)))
    return nodes, csr


def _graph_hash(nodes: list, G: nx.MultiDiGraph, csr: sp.csr_matrix) -> str:
    h = hashlib.sha256()
    if all(isinstance(n, (int, np.integer)) for n in nodes):
        h.update(np.asarray(nodes, dtype=np.int64).tobytes())
    else:
        h.update("\x1f".join(map(repr, nodes)).encode())
    h.update(np.fromiter((d.get("x", np.nan) for _, d in G.nodes(data=True)), float, len(nodes)).tobytes())
    h.update(np.fromiter((d.get("y", np.nan) for _, d in G.nodes(data=True)), float, len(nodes)).tobytes())
    h.update(csr.indptr.astype(np.int64).tobytes())
    h.update(csr.indices.astype(np.int64).tobytes())
    h.update(csr.data.astype(float).tobytes())
    return h.hexdigest()


def default_cache_dir() -> Path:
    """``$CLUSTER_MAPPER_CACHE`` or ``~/.cache/cluster_mapper``."""
    env = os.environ.get("CLUSTER_MAPPER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "cluster_mapper"


def _cache_key(graph_hash: str, ids: np.ndarray, lon: np.ndarray, lat: np.ndarray, travel: TravelPolicy, cutoff: float | None) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, "graph": graph_hash, "travel": dataclasses.asdict(travel), "cutoff": cutoff}, sort_keys=True).encode())
    h.update("\x1f".join(ids).encode())
    h.update(np.asarray(lon, dtype=float).tobytes())
    h.update(np.asarray(lat, dtype=float).tobytes())
    return h.hexdigest()[:40]


def _read_cache(path: Path) -> pd.DataFrame | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return pd.DataFrame({"from_school_id": z["from_id"].astype(str), "to_school_id": z["to_id"].astype(str), "minutes": z["minutes"].astype(float)})
    except Exception as exc:  # corrupt or partial cache file: recompute
        log.warning("ignoring unreadable travel-time cache %s (%s)", path, exc)
        return None


def _write_cache(path: Path, pairs: pd.DataFrame) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                from_id=pairs["from_school_id"].to_numpy(dtype=str),
                to_id=pairs["to_school_id"].to_numpy(dtype=str),
                minutes=pairs["minutes"].to_numpy(dtype=float),
            )
    except OSError as exc:
        log.warning("could not write travel-time cache %s (%s)", path, exc)


def _network_pairs(csr: sp.csr_matrix, school_pos: np.ndarray, ids: np.ndarray, cutoff: float | None) -> pd.DataFrame:
    """Shortest-path minutes between schools sitting on CSR node positions ``school_pos``."""
    n_nodes = csr.shape[0]
    uniq, inverse = np.unique(school_pos, return_inverse=True)
    limit = np.inf if cutoff is None else float(cutoff) * (1 + 1e-9) + 1e-12
    # rows of n_nodes floats per Dijkstra source: keep each block near 200 MB
    chunk = max(1, min(len(uniq), int(25_000_000 // max(n_nodes, 1))))
    order = np.argsort(inverse, kind="stable")  # schools grouped by their unique node
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    f_parts, t_parts, m_parts = [], [], []
    for s0 in range(0, len(uniq), chunk):
        s1 = min(s0 + chunk, len(uniq))
        dist = dijkstra(csr, directed=True, indices=uniq[s0:s1], limit=limit)
        sub = dist[:, school_pos]  # (s1 - s0) unique sources x all schools
        from_schools = order[bounds[s0] : bounds[s1]]
        block = sub[inverse[from_schools] - s0]  # one row per source school
        ok = np.isfinite(block)
        if cutoff is not None:
            ok &= block <= cutoff
        r, c = np.nonzero(ok)
        f_parts.append(from_schools[r])
        t_parts.append(c)
        m_parts.append(block[r, c])
    fi = np.concatenate(f_parts) if f_parts else np.empty(0, dtype=np.int64)
    ti = np.concatenate(t_parts) if t_parts else np.empty(0, dtype=np.int64)
    mm = np.concatenate(m_parts) if m_parts else np.empty(0)
    srt = np.lexsort((ti, fi))
    fi, ti, mm = fi[srt], ti[srt], mm[srt]
    mm[fi == ti] = 0.0
    return pd.DataFrame({"from_school_id": ids[fi], "to_school_id": ids[ti], "minutes": mm.astype(float)})


def access_minutes(snaps: pd.DataFrame, travel: TravelPolicy) -> pd.Series:
    """Minutes each school's teachers walk between the school and its network node.

    A straight walk of ``snap_metres`` at the flat walking speed: teachers
    walk to the road in either travel mode.
    """
    return pd.Series(snaps["snap_metres"].to_numpy(dtype=float) / 1000.0 / travel.walking_speed_kmh * 60.0, index=snaps["school_id"].to_numpy())


def _add_access_walks(pairs: pd.DataFrame, snaps: pd.DataFrame, travel: TravelPolicy, cutoff: float | None) -> pd.DataFrame:
    """Node-to-node minutes plus the walks from the school to its node and from the node to the other school."""
    walk = access_minutes(snaps, travel)
    out = pairs.copy()
    other = out["from_school_id"].to_numpy() != out["to_school_id"].to_numpy()
    extra = walk.reindex(out["from_school_id"]).to_numpy() + walk.reindex(out["to_school_id"]).to_numpy()
    out["minutes"] = out["minutes"].to_numpy() + np.where(other, extra, 0.0)
    if cutoff is not None:
        out = out[out["minutes"] <= cutoff]
    return out.reset_index(drop=True)


def network_travel_times(
    schools: gpd.GeoDataFrame,
    G: nx.MultiDiGraph,
    travel: TravelPolicy,
    cutoff_minutes: float | None = None,
    cache_dir: str | Path | None | bool = None,
) -> TravelTimes:
    """Travel minutes between all schools over a road network.

    Each school is snapped to its nearest node (:func:`snap_schools`); travel
    from school A to school B is A's walk to its node (:func:`access_minutes`),
    the shortest path from A's node to B's node on ``travel_minutes`` edge
    weights (computed by :func:`~cluster_mapper.travel.network.add_travel_minutes`
    if the graph does not yet carry them for this travel mode), and the walk
    from B's node to B. Paths are directed: uphill differs
    from downhill, drivers respect one-way streets. All sources are solved at
    once with ``scipy.sparse.csgraph.dijkstra`` on a CSR matrix (min over
    parallel edges); schools sharing a node are computed once.

    Parameters
    ----------
    schools : geopandas.GeoDataFrame
        Columns ``school_id`` and Point ``geometry`` (any CRS; EPSG:4326 usual).
    G : networkx.MultiDiGraph
        Road graph from :func:`~cluster_mapper.travel.network.load_network`.
    travel : TravelPolicy
        Travel mode, walking speed, ``max_snap_metres``.
    cutoff_minutes : float or None
        Leave out pairs farther apart than this many minutes (faster);
        None keeps every reachable pair.
    cache_dir : path, None or False
        Where results are cached, keyed by a hash of the graph content, school
        ids and coordinates, travel policy and cutoff. None uses
        ``$CLUSTER_MAPPER_CACHE`` or ``~/.cache/cluster_mapper``; False turns
        the cache off.

    Returns
    -------
    TravelTimes
        ``source="network"``, with ``snaps`` and notes (off-network schools,
        elevation, components).
    """
    if cutoff_minutes is not None and (not np.isfinite(cutoff_minutes) or cutoff_minutes < 0):
        raise ValueError(f"cutoff_minutes must be a non-negative number or None, not {cutoff_minutes!r}")
    ids = schools["school_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        fail("<schools>", f"school_id '{dup}' appears more than once.", fix="give every school a unique school_id.", field="school_id")
    if len(G) == 0:
        fail(G.graph.get("source_file", "<network>"), "the road network is empty.", fix="give a network that covers the schools.")
    if G.graph.get("travel_minutes_mode") != travel.travel_mode or G.graph.get("travel_minutes_speed_kmh") != travel.walking_speed_kmh:
        add_travel_minutes(G, travel)
    notes = list(dict.fromkeys(list(G.graph.get("travel_notes", [])) + list(G.graph.get("travel_minutes_notes", []))))
    snaps = snap_schools(G, schools, travel)
    off = snaps[snaps["off_network"]]
    if len(off):
        shown = ", ".join(f"{r.school_id} ({r.snap_metres:.0f} m)" for r in off.head(10).itertuples())
        more = f" and {len(off) - 10} more" if len(off) > 10 else ""
        notes.append(
            f"{len(off)} school(s) lie more than {travel.max_snap_metres:g} m from the road network: {shown}{more}; "
            "their straight walk to the nearest network node is added to their times: check their locations or the network"
        )
    shared = int(snaps["node"].duplicated().sum()) if len(snaps) else 0
    if shared:
        notes.append(f"{shared} school(s) share their nearest network node with another school (only their walks to that node lie between them)")

    nodes, csr = graph_arrays(G)
    if len(ids) == 0:
        return TravelTimes(_empty_pairs(), "network", cutoff_minutes, snaps, notes)
    index = {n: i for i, n in enumerate(nodes)}
    school_pos = np.array([index[n] for n in snaps["node"]], dtype=np.int64)

    def finish(pairs: pd.DataFrame, from_cache: bool) -> TravelTimes:
        pairs = _add_access_walks(pairs, snaps, travel, cutoff_minutes)
        n = len(ids)
        missing = n * n - len(pairs)
        out = list(notes)
        if missing:
            why = f"beyond the {cutoff_minutes:g}-minute cutoff or unreachable" if cutoff_minutes is not None else "unreachable over the network"
            out.append(f"{missing} of {n * n} school pairs are {why} and are left out")
        return TravelTimes(pairs, "network", cutoff_minutes, snaps, out, from_cache=from_cache)

    cache_path = None
    if cache_dir is not False:
        lon, lat = school_lonlat(schools)
        key = _cache_key(_graph_hash(nodes, G, csr), ids, lon, lat, travel, cutoff_minutes)
        folder = default_cache_dir() if cache_dir is None or cache_dir is True else Path(cache_dir)
        cache_path = folder / f"travel_{key}.npz"
        if cache_path.is_file():
            pairs = _read_cache(cache_path)
            if pairs is not None:
                log.info("travel times read from cache %s", cache_path)
                return finish(pairs, True)

    pairs = None
    if cutoff_minutes is not None and len(nodes) >= MIN_NODES:
        # large network: each tile of schools searched on its own window of nodes, in parallel (same result)
        node_lon = np.fromiter((d.get("x", np.nan) for _, d in G.nodes(data=True)), float, len(nodes))
        node_lat = np.fromiter((d.get("y", np.nan) for _, d in G.nodes(data=True)), float, len(nodes))
        if np.all(np.isfinite(node_lon)) and np.all(np.isfinite(node_lat)):
            pairs = local_network_pairs(csr, local_metres(node_lon, node_lat), school_pos, ids, cutoff_minutes)
    if pairs is None:
        pairs = _network_pairs(csr, school_pos, ids, cutoff_minutes)
    if cache_path is not None:
        _write_cache(cache_path, pairs)
    return finish(pairs, False)


# --------------------------------------------------------------------------- matrix


def matrix_travel_times(path: str | Path, schools: gpd.GeoDataFrame) -> TravelTimes:
    """Read travel times a user supplies as CSV ``from_school_id,to_school_id,minutes``.

    Every row is checked and all problems are reported at once, with the
    spreadsheet row (header = row 1): missing columns, blank or unknown school
    ids, minutes that are not a non-negative number, duplicate pairs, and a
    non-zero time from a school to itself. Pairs not in the file are treated
    as unreachable. Self pairs are added with 0 minutes.

    Parameters
    ----------
    path : str or Path
        The CSV file (comma, semicolon or tab separated).
    schools : geopandas.GeoDataFrame
        The schools; column ``school_id``.

    Returns
    -------
    TravelTimes
        ``source="matrix"``, no cutoff, empty snaps.
    """

    path = Path(path)
    df = read_csv_rows(path)
    col = ProblemCollector(path)
    cols = {c.strip().lower() for c in df.columns}
    df.columns = [c.strip().lower() if isinstance(c, str) else c for c in df.columns]
    missing = [c for c in PAIR_COLUMNS if c not in cols]
    if missing:
        for c in missing:
            col.add(f"column '{c}' is missing.", fix="the file needs the columns from_school_id, to_school_id, minutes in its header row.", row=1, field=c)
        col.raise_if_any()
    known = set(schools["school_id"].astype(str))
    near = {id_key(k): k for k in known}
    seen: dict[tuple[str, str], int] = {}
    rows_out: list[tuple[str, str, float]] = []
    for rec in df.to_dict("records"):
        row = int(rec["_row"])
        f, t, m = str(rec["from_school_id"] or "").strip(), str(rec["to_school_id"] or "").strip(), str(rec["minutes"] or "").strip()
        good = True
        for name, val in (("from_school_id", f), ("to_school_id", t)):
            if not val:
                col.add("the school id is blank.", fix="fill in the school_id of the school.", row=row, field=name)
                good = False
            elif val not in known:
                close = near.get(id_key(val))
                hint = f"did you mean '{close}'?" if close else "use a school_id from the schools file, or add the school there."
                col.add(f"school '{val}' is not in the schools file.", fix=hint, row=row, field=name)
                good = False
        parsed = parse_float(m)
        minutes = math.nan if parsed is None else parsed
        if parsed is None:
            col.add(
                f"'{m}' is not a number of minutes." if m else "minutes is blank.",
                fix="write the travel time in minutes as a number, e.g. 25 or 12.5; leave a pair out if it is unreachable.",
                row=row,
                field="minutes",
            )
            good = False
        elif minutes < 0:
            col.add(
                f"minutes must be 0 or more, not {m}.", fix="write the travel time in minutes; leave a pair out if it is unreachable.", row=row, field="minutes"
            )
            good = False
        if f and t and f == t and good and minutes != 0:
            col.add(f"the travel time from school '{f}' to itself is {m}, not 0.", fix="remove the row or write 0.", row=row, field="minutes")
            good = False
        if f and t:
            if (f, t) in seen:
                col.add(f"the pair {f} -> {t} appears again (first on row {seen[(f, t)]}).", fix="keep one row per pair.", row=row, field="from_school_id")
                good = False
            else:
                seen[(f, t)] = row
        if good:
            rows_out.append((f, t, minutes))
    col.raise_if_any()
    pairs = pd.DataFrame(rows_out, columns=PAIR_COLUMNS)
    pairs = pairs[pairs["from_school_id"] != pairs["to_school_id"]]
    ids = schools["school_id"].astype(str).tolist()
    selfs = pd.DataFrame({"from_school_id": ids, "to_school_id": ids, "minutes": 0.0})
    pairs = pd.concat([pairs, selfs], ignore_index=True).sort_values(["from_school_id", "to_school_id"], ignore_index=True)
    pairs["minutes"] = pairs["minutes"].astype(float)
    n = len(ids)
    notes = [f"travel times read from {path.name}"]
    if len(pairs) < n * n:
        notes.append(f"{n * n - len(pairs)} of {n * n} school pairs are not in {path.name} and are treated as unreachable")
    return TravelTimes(pairs, "matrix", None, _empty_snaps(), notes)


# --------------------------------------------------------------------------- straight line


def straight_line_travel_times(
    schools: gpd.GeoDataFrame, travel: TravelPolicy, cutoff_minutes: float | None = None, *, nearest: int | None = None
) -> TravelTimes:
    """Straight-line travel times: geodesic distance x detour factor / speed.

    Not road travel: it ignores hills, rivers and missing bridges, and the
    notes say so. Walk uses ``walking_speed_kmh``; drive assumes
    :data:`STRAIGHT_LINE_DRIVE_KMH` (30 km/h).

    Parameters
    ----------
    schools : geopandas.GeoDataFrame
        Columns ``school_id`` and Point ``geometry``.
    travel : TravelPolicy
        ``travel_mode``, ``walking_speed_kmh`` and ``detour_factor``.
    cutoff_minutes : float or None
        Leave out pairs farther apart than this many minutes.
    nearest : int, optional
        Without a cutoff: keep only each school's ``nearest`` nearest
        schools in the table (nothing quadratic) and compute any other pair
        on demand (:attr:`TravelTimes.reach`).

    Returns
    -------
    TravelTimes
        ``source="straight_line"``, symmetric times, empty snaps.
    """
    ids = schools["school_id"].astype(str).to_numpy()
    n = len(ids)
    speed = travel.walking_speed_kmh if travel.travel_mode == "walk" else STRAIGHT_LINE_DRIVE_KMH
    notes = [
        f"straight-line travel times: distance x {travel.detour_factor:g} / {speed:g} km/h, not road travel"
        + (" (driving speed assumed 30 km/h)" if travel.travel_mode == "drive" else "")
        + "; hills, rivers and missing bridges are ignored"
    ]
    if n == 0:
        return TravelTimes(_empty_pairs(), "straight_line", cutoff_minutes, _empty_snaps(), notes)
    lon, lat = school_lonlat(schools)
    if nearest is not None and cutoff_minutes is None:
        reach = StraightLineReach(ids, lon, lat, travel.detour_factor, speed)
        notes.append(f"no travel limit: the travel table holds each school's {nearest} nearest schools; other pairs are computed when needed")
        return TravelTimes(reach.nearest_table(nearest), "straight_line", None, _empty_snaps(), notes, reach=reach)
    f_parts, t_parts, m_parts = [], [], []
    block = max(1, 2_000_000 // n)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        fi = np.repeat(np.arange(i0, i1), n)
        ti = np.tile(np.arange(n), i1 - i0)
        _, _, d = _GEOD.inv(lon[fi], lat[fi], lon[ti], lat[ti])
        minutes = np.abs(np.asarray(d)) * travel.detour_factor / 1000.0 / speed * 60.0
        minutes[fi == ti] = 0.0
        ok = np.ones(len(minutes), dtype=bool) if cutoff_minutes is None else minutes <= cutoff_minutes
        f_parts.append(fi[ok])
        t_parts.append(ti[ok])
        m_parts.append(minutes[ok])
    fi, ti, mm = np.concatenate(f_parts), np.concatenate(t_parts), np.concatenate(m_parts)
    pairs = pd.DataFrame({"from_school_id": ids[fi], "to_school_id": ids[ti], "minutes": mm.astype(float)})
    return TravelTimes(pairs, "straight_line", cutoff_minutes, _empty_snaps(), notes)


def write_travel_times(tt: TravelTimes, path: str | Path) -> tuple[Path, Path]:
    """Write ``from_school_id,to_school_id,minutes`` to ``path`` and the snaps to ``<stem>_snaps.csv``.

    Returns
    -------
    (Path, Path)
        The pairs file and the snaps file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tt.pairs[PAIR_COLUMNS].to_csv(path, index=False, float_format="%.3f")
    snaps_path = path.with_name(f"{path.stem}_snaps.csv")
    tt.snaps[SNAP_COLUMNS].to_csv(snaps_path, index=False, float_format="%.1f")
    return path, snaps_path


__all__ = [
    "TravelTimes",
    "network_travel_times",
    "matrix_travel_times",
    "straight_line_travel_times",
    "write_travel_times",
    "default_cache_dir",
    "TABLE_NEIGHBOURS",
]
