"""Cut-off searches on large road networks: tiles of sources, each on its own window, in parallel.

A school's travel times within a cutoff of ``c`` minutes only ever use nodes
that are at most ``c * v_max`` away in a straight line, where ``v_max`` is
the largest straight-line speed of any edge (chord length / edge minutes):
a path's displacement is at most the sum of its edges' chords. So the
sources are grouped in square tiles, and each tile's many-source Dijkstra
(``scipy.sparse.csgraph.dijkstra`` with ``limit``) runs on the window of
nodes within ``c * v_max`` of the tile, not on the whole network. The
results are exactly those of one Dijkstra on the whole network; only the
rows allocated per source shrink from all nodes to the window. Tiles run in
parallel processes.

Coordinates are projected with a local equirectangular projection (metres);
any planar metric works, because the same one gives both the speeds and the
windows.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

log = logging.getLogger(__name__)

#: Networks with fewer nodes are searched whole (one Dijkstra call).
MIN_NODES = 200_000
#: Rows of window floats per Dijkstra call (about 200 MB).
BLOCK_FLOATS = 25_000_000


def max_speed(csr: sp.csr_matrix, xy: np.ndarray) -> float:
    """Largest chord length per minute of any edge (metres per minute); ``inf`` if a zero-minute edge has length."""
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    chord = np.hypot(*(xy[rows] - xy[csr.indices]).T)
    w = csr.data
    moving = chord > 0
    if np.any(moving & (w <= 0)):
        return math.inf
    return float(np.max(chord[moving] / w[moving], initial=0.0))


def _tile_pairs(args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One tile: (source school, target school, minutes) of its sources within the cutoff."""
    sub, src_local, from_schools_of_src, tgt_local, tgt_school, limit, cutoff = args
    f_parts, t_parts, m_parts = [], [], []
    chunk = max(1, min(len(src_local), BLOCK_FLOATS // max(sub.shape[0], 1)))
    for s0 in range(0, len(src_local), chunk):
        dist = dijkstra(sub, directed=True, indices=src_local[s0 : s0 + chunk], limit=limit)
        block = dist[:, tgt_local]
        ok = np.isfinite(block) & (block <= cutoff)
        r, c = np.nonzero(ok)
        for k, schools in enumerate(from_schools_of_src[s0 : s0 + chunk]):
            sel = r == k
            if not sel.any():
                continue
            for s in schools:  # schools sharing this source node
                f_parts.append(np.full(int(sel.sum()), s))
                t_parts.append(tgt_school[c[sel]])
                m_parts.append(block[k, c[sel]])
    if not f_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(f_parts), np.concatenate(t_parts), np.concatenate(m_parts)


def local_network_pairs(
    csr: sp.csr_matrix, xy: np.ndarray, school_pos: np.ndarray, ids: np.ndarray, cutoff: float, workers: int | None = None
) -> pd.DataFrame | None:
    """Shortest-path minutes between schools within ``cutoff``, tile by tile; None when windows cannot help.

    Parameters
    ----------
    csr : scipy.sparse.csr_matrix
        Edge minutes (min over parallel edges), nodes x nodes.
    xy : numpy.ndarray
        ``(nodes, 2)`` planar coordinates, metres.
    school_pos : numpy.ndarray of int
        Node position of each school.
    ids : numpy.ndarray of str
        School ids.
    cutoff : float
        Minutes.
    workers : int, optional
        Processes (default: the cores this process may use).

    Returns
    -------
    pandas.DataFrame or None
        ``from_school_id, to_school_id, minutes`` sorted by school positions,
        exactly as one whole-network Dijkstra gives; None when an edge has
        length but no minutes (no finite reach).
    """
    v = max_speed(csr, xy)
    if not math.isfinite(v):
        return None
    reach = cutoff * v * (1 + 1e-9) + 1e-6
    limit = float(cutoff) * (1 + 1e-9) + 1e-12
    tile = max(reach, 1.0)
    uniq, inverse = np.unique(school_pos, return_inverse=True)
    schools_of = pd.Series(np.arange(len(school_pos))).groupby(inverse).apply(lambda s: s.to_numpy()).to_list()
    key = np.floor(xy[uniq] / tile).astype(np.int64)
    tiles = pd.Series(np.arange(len(uniq))).groupby([key[:, 0], key[:, 1]]).apply(lambda s: s.to_numpy()).to_list()
    order_x = np.argsort(xy[:, 0], kind="stable")
    xs = xy[order_x, 0]
    jobs = []
    for members in tiles:
        lo = xy[uniq[members]].min(axis=0) - reach
        hi = xy[uniq[members]].max(axis=0) + reach
        cand = order_x[np.searchsorted(xs, lo[0], "left") : np.searchsorted(xs, hi[0], "right")]
        win = np.sort(cand[(xy[cand, 1] >= lo[1]) & (xy[cand, 1] <= hi[1])])
        local = np.full(csr.shape[0], -1, dtype=np.int64)
        local[win] = np.arange(len(win))
        sub = csr[win][:, win]
        tgt = np.flatnonzero(local[school_pos] >= 0)
        jobs.append((sub, local[uniq[members]], [schools_of[m] for m in members], local[school_pos[tgt]], tgt, limit, float(cutoff)))
    n_work = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    log.info("cut-off searches: %d tiles of %.0f m, reach %.0f m, %d process(es)", len(jobs), tile, reach, n_work)
    if n_work > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=n_work) as pool:
            parts = list(pool.map(_tile_pairs, jobs, chunksize=max(1, len(jobs) // (4 * n_work))))
    else:
        parts = [_tile_pairs(j) for j in jobs]
    fi = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    ti = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    mm = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    srt = np.lexsort((ti, fi))
    fi, ti, mm = fi[srt], ti[srt], mm[srt]
    mm[fi == ti] = 0.0
    return pd.DataFrame({"from_school_id": ids[fi], "to_school_id": ids[ti], "minutes": mm.astype(float)})


__all__ = ["local_network_pairs", "max_speed", "MIN_NODES"]
