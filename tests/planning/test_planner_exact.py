"""The planner's optimum against an independent exact formulation.

The planner solves a p-median style model over unit-to-venue pairs. Here the
same question is answered from the raw teacher rows by a different
formulation written only for this test: enumerate every feasible cluster
(a venue plus up to ``max_schools`` member units within the travel limit,
inside the size bounds) and pick a set packing with a plain MIP, first for
the most teachers placed, then for the least travel. Both must agree on the
number placed and on the travel total, on districts where gender
segregation and separate levels bind.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import pytest
from ortools.linear_solver import pywraplp
from pyproj import Geod

from cluster_mapper import write_plan
from cluster_mapper.inputs.schools import load_inputs
from cluster_mapper.planning.solve import solve_plan
from cluster_mapper.policy.load import policy_from_dict
from cluster_mapper.travel.times import straight_line_travel_times
from tests.conftest import write_district

GEOD = Geod(ellps="WGS84")


def _units(inputs, pol):
    """Independent unit building: whole school unless the policy splits it."""
    seg = pol["gender"] == "segregated"
    sep = pol["levels"] == "separate"
    units: dict[tuple, int] = {}
    for t in inputs.teachers.itertuples():
        if t.role == "head_teacher":
            continue
        g = t.gender if seg else "all"
        lv = ("primary" if t.level == "primary" else "middle") if sep else "all"
        units[(t.school_id, g, lv)] = units.get((t.school_id, g, lv), 0) + 1
    return units


def _minutes(schools, a, b, speed_kmh=5.0, detour=1.4):
    if a == b:
        return 0.0
    pa, pb = schools.loc[a].geometry, schools.loc[b].geometry
    return GEOD.inv(pa.x, pa.y, pb.x, pb.y)[2] * detour / (speed_kmh * 1000 / 60)


def _exact(inputs, pol):
    """Most teachers placed, then least teacher-minutes, by cluster enumeration + set packing."""
    schools = inputs.schools.set_index("school_id")
    units = _units(inputs, pol)
    keys = sorted(units)
    limit = pol["max_travel_minutes"] or math.inf
    columns = []  # (members, cost, teachers)
    for v in keys:
        sid, g, lv = v
        host_ok = schools.at[sid, "can_host"] and (g == "all" or schools.at[sid, "gender"] in ({"girls", "mixed"} if g == "female" else {"boys", "mixed"}))
        if not host_ok:
            continue
        near = [u for u in keys if u != v and u[1:] == v[1:] and _minutes(schools, u[0], sid) <= limit]
        for k in range(0, pol["max_schools"]):
            for others in itertools.combinations(near, k):
                n = units[v] + sum(units[u] for u in others)
                if pol["min_teachers"] <= n <= pol["max_teachers"]:
                    cost = sum(units[u] * _minutes(schools, u[0], sid) for u in others)
                    columns.append(((v, *others), cost, n))
    if not columns:
        return 0, 0.0

    def solve(maximise_placed, placed_at_least=None):
        s = pywraplp.Solver.CreateSolver("CBC")
        x = [s.BoolVar(f"c{i}") for i in range(len(columns))]
        for u in keys:
            s.Add(sum(x[i] for i, c in enumerate(columns) if u in c[0]) <= 1)
        placed = sum(c[2] * x[i] for i, c in enumerate(columns))
        if maximise_placed:
            s.Maximize(placed)
        else:
            s.Add(placed >= placed_at_least)
            s.Minimize(sum(c[1] * x[i] for i, c in enumerate(columns)))
        assert s.Solve() == pywraplp.Solver.OPTIMAL
        return s.Objective().Value()

    best = round(solve(True))
    return best, solve(False, best)


CASES = [
    # (n_schools, seed, policy)
    (10, 1, dict(gender="segregated", levels="separate", min_teachers=3, max_teachers=8, max_schools=3, max_travel_minutes=120)),
    (10, 2, dict(gender="segregated", levels="mixed", min_teachers=4, max_teachers=9, max_schools=3, max_travel_minutes=150)),
    (9, 3, dict(gender="mixed", levels="separate", min_teachers=4, max_teachers=10, max_schools=3, max_travel_minutes=150)),
    (8, 4, dict(gender="mixed", levels="mixed", min_teachers=6, max_teachers=12, max_schools=3, max_travel_minutes=200)),
    (10, 5, dict(gender="segregated", levels="separate", min_teachers=2, max_teachers=6, max_schools=3, max_travel_minutes=90)),
]


@pytest.mark.parametrize("n_schools,seed,pol", CASES)
def test_plan_matches_independent_exact_optimum(tmp_path, n_schools, seed, pol):
    schools, teachers, _ = write_district(tmp_path, n_schools, seed)
    inputs = load_inputs(schools, teachers)
    policy = policy_from_dict(dict(pol))
    travel = straight_line_travel_times(inputs.schools, policy.travel, cutoff_minutes=None)
    plan = solve_plan(inputs, travel, policy)
    best_placed, best_cost = _exact(inputs, pol)
    assert plan.teachers_placed - 0 == best_placed + 0  # same number of non-head teachers placed
    assert plan.objective == pytest.approx(best_cost, rel=1e-4, abs=1e-3)
    assert plan.lower_bound <= plan.objective + 1e-6
    # the instance is not trivial: some rule binds
    assert plan.teachers_placed > 0


def test_same_inputs_same_plan(tmp_path):
    schools, teachers, _ = write_district(tmp_path, 12, 7)
    inputs = load_inputs(schools, teachers)
    policy = policy_from_dict({"min_teachers": 3, "max_teachers": 8, "max_travel_minutes": 120})
    travel = straight_line_travel_times(inputs.schools, policy.travel)
    a = solve_plan(inputs, travel, policy)
    b = solve_plan(inputs, travel, policy)
    assert a.teachers.equals(b.teachers)
    assert a.clusters.equals(b.clusters)


def _plan_files(inputs, travel, policy, out) -> dict[str, bytes]:
    """Plan and write the plan folder; its tables as bytes (the summary holds timings, so it is left out)."""
    plan = solve_plan(inputs, travel, policy)
    assert not any("cut the solver" in n for n in plan.notes), plan.notes  # the work finished: the plan is reproducible
    write_plan(plan, out, review=False)
    return {p.name: p.read_bytes() for p in sorted(Path(out).glob("*.csv"))}


def test_same_plan_byte_for_byte_on_a_loaded_machine(tmp_path):
    """A manager re-runs yesterday's command while the machine is busy: the same plan files, byte for byte."""
    schools, teachers, _ = write_district(tmp_path, 60, 11)
    inputs = load_inputs(schools, teachers)
    policy = policy_from_dict({"min_teachers": 6, "max_teachers": 12, "min_schools": 2, "max_travel_minutes": 90, "time_limit_seconds": 30})
    travel = straight_line_travel_times(inputs.schools, policy.travel)
    quiet = _plan_files(inputs, travel, policy, tmp_path / "quiet")
    # another process keeps a core busy during the second run
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = _plan_files(inputs, travel, policy, tmp_path / "busy")
    finally:
        burner.kill()
        burner.wait()
    assert "assignments.csv" in quiet
    assert quiet == busy
