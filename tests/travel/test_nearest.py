"""Straight-line travel without a travel limit: the nearest schools in the table, every other pair on demand.

What a user would check: every pair still has its exact straight-line time
(the same number as the complete table), the table holds only each school's
nearest schools, and the lower bound the sparse model relies on (the chord
through the Earth) is never above a pair's true minutes, so every pair the
candidate source leaves out is at least that far.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.nearest import GroupCandidates
from cluster_mapper.travel.times import straight_line_travel_times


@pytest.fixture(scope="module")
def schools() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    lon = 73.0 + rng.uniform(0, 0.3, 60)
    lat = 33.6 + rng.uniform(0, 0.2, 60)
    return gpd.GeoDataFrame({"school_id": [f"S{i:03d}" for i in range(60)]}, geometry=[Point(x, y) for x, y in zip(lon, lat, strict=True)], crs=4326)


def _complete(schools: gpd.GeoDataFrame) -> dict[tuple[str, str], float]:
    return straight_line_travel_times(schools, TravelPolicy()).lookup()


def test_nearest_table_is_small_and_every_pair_keeps_its_exact_minutes(schools):
    full = _complete(schools)
    tt = straight_line_travel_times(schools, TravelPolicy(), nearest=5)
    assert tt.reach is not None
    assert len(tt.pairs) == 60 * 5  # the five nearest (itself first), not 60 x 60
    ids = schools["school_id"].tolist()
    block = tt.minutes_block(ids, ids)
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            assert block[i, j] == full[(a, b)]  # exact, to the last bit
    assert tt.minutes("S003", "S041") == full[("S003", "S041")]
    # the table's pairs are each school's nearest
    for a, rows in tt.pairs.groupby("from_school_id"):
        others = sorted(m for (f, _), m in full.items() if f == a)
        assert rows["minutes"].max() <= others[4] + 1e-9


def test_left_out_pairs_are_never_below_the_bound_and_cheaper_than_misses_none(schools):
    full = _complete(schools)
    tt = straight_line_travel_times(schools, TravelPolicy(), nearest=5)
    assert tt.reach is not None
    ids = np.array(schools["school_id"])
    can_host = np.arange(60) % 3 != 0
    cands = GroupCandidates(tt.reach, tt.reach.positions(ids), can_host)
    m, v, t, outside = cands.nearest(4)
    got = set(zip(m.tolist(), v.tolist(), strict=True))
    for i in range(60):
        for j in np.flatnonzero(can_host):
            if (i, j) not in got:
                assert full[(ids[i], ids[j])] >= outside[i]  # a valid bound for every pair left out
    assert all(full[(ids[a], ids[b])] == pytest.approx(x, abs=0) for a, b, x in zip(m, v, t, strict=True))
    units = np.arange(60)
    limit = np.full(60, 12.0)
    m, v, t = cands.cheaper_than(units, limit)
    got = set(zip(m.tolist(), v.tolist(), strict=True))
    within = {(i, j) for i in range(60) for j in np.flatnonzero(can_host) if full[(ids[i], ids[j])] <= 12.0}
    assert within <= got


def test_travel_edits_override_on_demand_pairs(schools):
    tt = straight_line_travel_times(schools, TravelPolicy(), nearest=3)
    assert tt.reach is not None
    far = tt.reach.with_overrides({("S000", "S059"): 1.0, ("S001", "S002"): math.inf})
    cands = GroupCandidates(far, far.positions(schools["school_id"]), np.ones(60, dtype=bool))
    m, v, t, _ = cands.nearest(3)
    pairs = dict(zip(zip(m.tolist(), v.tolist(), strict=True), t.tolist(), strict=True))
    assert pairs[(0, 59)] == 1.0  # an edited pair is always a candidate, with its own minutes
    assert (1, 2) not in pairs  # an impassable one never is
    assert np.isinf(far.pair_minutes(np.array([1]), np.array([2])))[0]
