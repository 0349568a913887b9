"""Tiled cut-off searches give exactly the pairs of one whole-network Dijkstra."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cluster_mapper.travel.reach import local_network_pairs, max_speed
from cluster_mapper.travel.times import _network_pairs


def _grid(side: int, seed: int):
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.column_stack([(jj + rng.uniform(-0.3, 0.3, ii.shape)).ravel() * 100.0, (ii + rng.uniform(-0.3, 0.3, ii.shape)).ravel() * 100.0])
    idx = (ii * side + jj).ravel()
    right = idx[(jj < side - 1).ravel()]
    up = idx[(ii < side - 1).ravel()]
    u = np.concatenate([right, up, right + 1, up + side])
    v = np.concatenate([right + 1, up + side, right, up])
    chord = np.hypot(*(xy[u] - xy[v]).T)
    minutes = chord / 1000.0 / rng.uniform(2.0, 6.0, len(u)) * 60.0  # 2-6 km/h, directed
    return sp.csr_matrix((minutes, (u, v)), shape=(side * side, side * side)), xy


def test_tiles_equal_whole_network_search():
    csr, xy = _grid(60, 1)
    rng = np.random.default_rng(2)
    school_pos = rng.choice(csr.shape[0], 150, replace=True)  # some schools share a node
    ids = np.array([f"S{i:03d}" for i in range(len(school_pos))])
    whole = _network_pairs(csr, school_pos, ids, 20.0)
    for workers in (1, 2):
        tiled = local_network_pairs(csr, xy, school_pos, ids, 20.0, workers=workers)
        pd.testing.assert_frame_equal(tiled.reset_index(drop=True), whole.reset_index(drop=True))
    assert 0 < len(whole) < len(ids) ** 2


def test_max_speed_is_the_fastest_chord():
    csr, xy = _grid(5, 3)
    assert 2000 / 60 <= max_speed(csr, xy) <= 6000 / 60 * 1.5
