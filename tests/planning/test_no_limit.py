"""Districts without a travel limit: nothing quadratic, the same plan on every machine.

Without a travel limit the travel table holds only each school's nearest
schools (every other pair computed when needed). What a user would check:

* a small district gets the same plan from that table as from the complete
  one (it is planned on all its pairs either way), and the plan passes the
  independent validator;
* the path a large group takes depends on the problem's size, not on the
  machine's free memory: the same inputs give the same plan on a machine
  with 3 GB or 1 TB free;
* a large group with a fixed number of clusters is planned by the
  block-and-regroup solver, driven by counted work: two runs give the same
  plan, every school placed, the validator finds nothing wrong.
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cluster_mapper.model.large as large
import cluster_mapper.model.limits as limits
import cluster_mapper.planning.solve as planner
from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.api import Travel, read_inputs
from cluster_mapper.travel.times import straight_line_travel_times
from tests.conftest import write_district, write_policy
from tests.fixtures.cpmp import clustered_instance, write_cpmp_files


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no_limit_table")
    schools, teachers, _ = write_district(tmp, 60, 11)
    policy = write_policy(tmp, "max_travel_minutes = 0\nmax_schools = 0\ntime_limit_seconds = 20\n")
    return tmp, Scenario(schools=schools, teachers=teachers, policy=policy, travel=TravelSource(straight_line=True), cache_dir=False)


def _placement(result) -> list[tuple[str, str, str]]:
    t = result.teachers
    return sorted(zip(t["teacher_id"], t["status"], t["venue_school_id"].fillna("").astype(str), strict=True))


def test_nearest_table_gives_the_plan_of_the_complete_table(district):
    tmp, scenario = district
    sparse = plan(scenario)
    assert sparse.travel.reach is not None and len(sparse.travel.pairs) < 60 * 60
    policy = scenario.load_policy()
    inputs = read_inputs(scenario, policy)
    complete_times = straight_line_travel_times(inputs.schools, policy.travel)  # every pair in the table
    assert len(complete_times.pairs) == 60 * 60
    complete = plan(scenario, inputs=inputs, travel=Travel(complete_times, None, scenario.travel.spec(None)))
    assert _placement(sparse) == _placement(complete)
    assert sparse.objective == complete.objective
    assert validate_plan(write_plan(sparse, tmp / "plan", review=False)).violations == []


def test_the_path_does_not_depend_on_free_memory(district, monkeypatch):
    _, scenario = district
    monkeypatch.setattr(planner, "COMPLETE_UNITS", 5)  # every group counts as large: sparse candidates
    runs = []
    for free in (3e9, 1e12):
        monkeypatch.setattr(limits, "available_memory_bytes", lambda free=free: int(free))
        runs.append(plan(scenario))
    assert any("sparse candidates" in n for n in runs[0].notes)
    assert _placement(runs[0]) == _placement(runs[1])
    assert runs[0].objective == runs[1].objective


def _cpmp_district(folder: Path, n: int, p: int, time_limit: float) -> Scenario:
    """A plain capacitated p-median as an office's files (one coordinate unit = one metre, minutes = metres)."""
    inst = clustered_instance(4, n, p, towns=n // 50 + 2, side=1500, spread=120, tau=0.8)
    write_cpmp_files(inst, folder, time_limit_seconds=time_limit, straight_line=True)
    return Scenario(folder / "schools.csv", TravelSource(straight_line=True), policy=folder / "policy.toml", cache_dir=False)


def test_large_group_is_planned_by_blocks_the_same_way_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(planner, "COMPLETE_UNITS", 20)
    monkeypatch.setattr(planner, "BLOCK_SOLVER_UNITS", 50)
    # one round of regrouping and one of small exact re-plans before and after it, few nodes: the work of a test
    monkeypatch.setattr(large, "REGROUP_SECONDS_PER_UNIT", 1.0)
    monkeypatch.setattr(large, "LOCAL_SECONDS_PER_UNIT", 1.0)
    monkeypatch.setattr(large, "BLOCK_NODES", 10)
    monkeypatch.setattr(large, "REGROUP_NODES", 5)
    monkeypatch.setattr(large, "LOCAL_NODES", 20)
    scenario = _cpmp_district(tmp_path / "in", 60, 20, 120)  # 120 s: a ceiling the work never reaches
    first, second = plan(scenario), plan(scenario)
    assert any("1 regroup round(s), 2 round(s) of small exact re-plans" in n for n in first.notes)  # the block-and-regroup solver
    assert not any("cut the solver" in n for n in first.notes + second.notes)
    assert _placement(first) == _placement(second)
    assert first.teachers_not_placed == 0 and len(first.clusters) == 20
    assert first.lower_bound <= first.objective
    placed = first.teachers
    assert np.all(placed["status"] == "placed")
    assert validate_plan(write_plan(first, tmp_path / "plan", review=False)).violations == []
