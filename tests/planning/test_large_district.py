"""The paths a very large district takes (benchmarks/bench_district_large.py measures their speed).

- A large group's small parts are solved without the large-neighbourhood
  search (``planner.LARGE_GROUP_BUDGET``): on a generated district small
  enough to solve both ways, the plan has the same optimum, a valid bound,
  and the written plan passes the validator.
- ``TravelTimes.minutes_block`` gives what ``TravelTimes.minutes`` gives,
  pair by pair.
- The solve loop finds each placed unit's pair by a sorted key
  (``planner._chosen_pairs``), the last of repeated pairs as a dict would.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cluster_mapper.planning.explain as explain
import cluster_mapper.planning.solve as planner
from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.model import ClusterProblem
from cluster_mapper.travel.times import TravelTimes
from tests.conftest import write_district


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("large_district")
    schools, teachers, _ = write_district(tmp, 120, 11)
    return tmp, Scenario(schools=schools, teachers=teachers, travel=TravelSource(straight_line=True), cache_dir=False)


def test_large_group_budget_same_optimum(district, monkeypatch):
    tmp, scenario = district
    default = plan(scenario)
    assert default.status == "optimal"
    # every group counts as large and every part as small: the parts are solved without the search
    monkeypatch.setattr(planner, "LARGE_GROUP_UNITS", 1)
    monkeypatch.setattr(planner, "SMALL_PART_UNITS", 10**9)
    used = []
    real = planner.ClusterModel

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, problem, backend=planner.DEFAULT_BACKEND, budget=None):
            used.append(budget)
            super().__init__(problem, backend=backend, budget=budget)

    monkeypatch.setattr(planner, "ClusterModel", Spy)
    fast = plan(scenario)
    assert used and all(b is planner.LARGE_GROUP_BUDGET for b in used)
    assert fast.status == "optimal"
    assert fast.objective == pytest.approx(default.objective, rel=1e-9, abs=1e-6)
    assert fast.lower_bound <= fast.objective + 1e-6
    assert fast.lower_bound == pytest.approx(default.lower_bound, rel=1e-9, abs=1e-6)
    assert fast.teachers_placed == default.teachers_placed
    out = write_plan(fast, tmp / "plan_fast", review=False)
    assert validate_plan(out).violations == []


def test_minutes_block_matches_minutes():
    rng = np.random.default_rng(3)
    ids = [f"S{i:02d}" for i in range(12)]
    f = rng.choice(ids, 60)
    t = rng.choice(ids, 60)
    pairs = pd.DataFrame({"from_school_id": f, "to_school_id": t, "minutes": rng.uniform(0, 90, 60).round(3)})
    tt = TravelTimes(pairs, "matrix")  # repeated pairs included: the last one counts, as in minutes()
    rows = [*ids, "nowhere", ids[0]]
    cols = [ids[3], "nowhere", *ids]
    block = tt.minutes_block(rows, cols)
    expect = np.array([[tt.minutes(a, b) for b in cols] for a in rows])
    assert block.shape == (len(rows), len(cols))
    assert np.array_equal(block, expect)
    assert math.isinf(block[len(ids), 0])


def test_chosen_pairs_last_of_repeats():
    problem = ClusterProblem(
        n_teachers=np.array([3, 4, 5]),
        pair_member=np.array([0, 1, 1, 2, 1, 0]),
        pair_venue=np.array([0, 0, 0, 2, 2, 2]),
        pair_minutes=np.array([0.0, 5.0, 6.0, 0.0, 7.0, 9.0]),
    )
    used = planner._chosen_pairs(problem, np.array([0, 0, -1]))
    assert used.tolist() == [0, 2]
    assert planner._chosen_pairs(problem, np.array([-1, -1, -1])).tolist() == []
    with pytest.raises(KeyError):
        planner._chosen_pairs(problem, np.array([1, -1, -1]))


def test_reachable_limits():
    minutes = np.array([[10.0, np.inf, 5.0], [20.0, 30.0, np.inf], [15.0, 40.0, 50.0]])
    teachers = np.array([2, 3, 4])
    # nearest first: column 0 reaches 2 at 10, 6 at 15; column 1: 3 at 30, 7 at 40; column 2: 2 at 5, 6 at 50
    assert explain._reachable(minutes, teachers, 5).tolist() == [15.0, 40.0, 50.0]
    assert explain._reachable(minutes, teachers, 10).tolist() == [math.inf] * 3
    assert explain._reachable(np.zeros((0, 2)), np.zeros(0, dtype=int), 1).tolist() == [math.inf, math.inf]


def test_time_limit_is_the_districts_whole_solver_time(district, monkeypatch):
    """``time_limit_seconds`` bounds a district's solve, not each gender and level group's."""
    import time

    tmp, scenario = district
    policy = tmp / "limit.toml"
    policy.write_text("time_limit_seconds = 30\n", encoding="utf-8")
    calls: list[tuple[float, float]] = []
    real = planner.ClusterModel.solve

    def spy(self, time_limit_seconds=60.0, hint=None, **kw):
        calls.append((time.perf_counter(), time_limit_seconds))
        return real(self, time_limit_seconds, hint=hint, **kw)

    monkeypatch.setattr(planner.ClusterModel, "solve", spy)
    result = plan(Scenario(schools=scenario.schools, teachers=scenario.teachers, travel=scenario.travel, policy=policy, cache_dir=False))
    groups = result.units.groupby(["gender_group", "level_group"]).ngroups
    assert groups >= 2 and len(calls) >= groups
    # every part's limit ends by the district's deadline, 30 s after its first part started (a part never
    # gets less than 2 s); before, each gender and level group had 30 s of its own
    start = calls[0][0]
    for at, limit in calls:
        assert limit == 2.0 or at + limit <= start + 30.0 + 0.5


def _one_cluster_and_one_left_out():
    """School A hosts A (4 teachers) and B (3); C (2 teachers) is not placed; all within 10 minutes."""
    units = pd.DataFrame(
        {
            "unit_id": ["A", "B", "C"],
            "school_id": ["A", "B", "C"],
            "region": "R",
            "district": "R",
            "gender_group": "mixed",
            "level_group": "mixed",
            "n_teachers": [4, 3, 2],
            "can_be_venue": True,
            "can_host": True,
            "venue_unit": ["A", "A", ""],
            "status": ["placed", "placed", "not_placed"],
        }
    )
    ids = ["A", "B", "C"]
    pairs = pd.DataFrame([(a, b, 10.0) for a in ids for b in ids if a != b], columns=["from_school_id", "to_school_id", "minutes"])
    return units, TravelTimes(pairs, "matrix")


def test_every_cluster_full_is_said_only_when_true():
    from cluster_mapper.policy.load import policy_from_dict

    units, tt = _one_cluster_and_one_left_out()
    roomy = policy_from_dict({"min_teachers": 6, "max_teachers": 12, "max_travel_minutes": 60, "gender": "mixed", "levels": "mixed"})
    reason, change = explain.explain_not_placed(units, 2, tt, roomy, placement_proven=False)
    assert "is full" not in reason and "school A" in reason and "has room (7 of 12 teachers, 2 schools)" in reason
    assert change.startswith("time_limit_seconds = ")
    reason, _ = explain.explain_not_placed(units, 2, tt, roomy, placement_proven=True)
    assert "is full" not in reason and "edits" in reason
    tight = policy_from_dict({"min_teachers": 6, "max_teachers": 8, "max_travel_minutes": 60, "gender": "mixed", "levels": "mixed"})
    reason, _ = explain.explain_not_placed(units, 2, tt, tight)
    assert "every cluster within 60 minutes is full" in reason  # 7 + 2 > 8: true, so said
