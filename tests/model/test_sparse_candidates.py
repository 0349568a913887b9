"""Districts without a travel limit: the model is built on sparse candidates, the bound holds for every pair.

A district with ``max_travel_minutes = 0`` (no limit) allows every pair of a
group. When that model would not fit in memory the planner builds it only on
each school's cheapest venues, grown where the LP's reduced costs ask
(``model.candidates``). On a district small enough to solve completely both
ways, the sparse plan is a valid plan (the validator checks it), its bound
is never above the complete problem's proven optimum, and the memory guard
counts the pairs the model is really built on.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

import cluster_mapper.model.candidates as candidates
import cluster_mapper.planning.solve as planner
from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.model import ClusterProblem, Formulation
from cluster_mapper.model.candidates import TableCandidates
from cluster_mapper.model.large import sparse_lp
from cluster_mapper.model.mip import MipResult
from cluster_mapper.model.solve import ClusterModel
from tests.conftest import write_district, write_policy


@pytest.fixture(scope="module")
def no_limit(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no_limit")
    schools, teachers, _ = write_district(tmp, 60, 5)
    policy = write_policy(tmp, "max_travel_minutes = 0\nmax_schools = 0\ntime_limit_seconds = 20\n")
    scenario = Scenario(schools=schools, teachers=teachers, policy=policy, travel=TravelSource(straight_line=True), cache_dir=False)
    return tmp, scenario, plan(scenario)


def test_sparse_plan_is_valid_and_its_bound_holds_for_every_pair(no_limit, monkeypatch):
    tmp, scenario, complete = no_limit
    assert complete.status == "optimal"
    assert not any("sparse candidates" in n for n in complete.notes)
    built: list[int] = []
    real_guard = candidates.check_model_size

    def guard(n_units, n_pairs, available_bytes=None, *, where=""):
        built.append(n_pairs)
        return real_guard(n_units, n_pairs, available_bytes, where=where)

    monkeypatch.setattr(candidates, "check_model_size", guard)
    monkeypatch.setattr(planner, "COMPLETE_UNITS", 5)  # every group counts as large
    sparse = plan(scenario)
    assert any("sparse candidates" in n for n in sparse.notes)
    # the guard saw the pairs the model is built on, fewer than the complete problem's
    complete_pairs = sum(len(g) ** 2 for _, g in complete.units.groupby(["gender_group", "level_group"]))
    assert built and sum(built) < complete_pairs
    assert sparse.teachers_placed == complete.teachers_placed
    # a valid bound is never above the proven optimum; the plan is never below it
    assert sparse.lower_bound <= complete.objective + 1e-6
    assert sparse.objective >= complete.objective - 1e-6
    assert sparse.objective <= complete.objective * 1.02
    assert (sparse.status == "optimal") == (sparse.objective - sparse.lower_bound <= 1e-6 * sparse.objective)
    out = write_plan(sparse, tmp / "sparse", review=False)
    assert validate_plan(out).violations == []


def test_table_candidates_cheapest_first_and_own_school_always_in():
    # unit 0 hosts; unit 1 sits on the same spot as unit 0 (0 minutes) and also hosts
    member = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    venue = np.array([1, 0, 2, 0, 1, 2, 0, 1, 2])
    minutes = np.array([0.0, 0.0, 9.0, 0.0, 0.0, 4.0, 9.0, 4.0, 0.0])
    prob = ClusterProblem(np.array([3, 3, 3]), member, venue, minutes, 0, 12, 5)
    c = TableCandidates(prob)
    m, v, t, outside = c.nearest(1)
    assert list(zip(m.tolist(), v.tolist(), strict=True)) == [(0, 0), (1, 1), (2, 2)]  # each unit's own school first
    assert outside.tolist() == [0.0, 0.0, 4.0]
    m, v, t = c.cheaper_than(np.array([2]), np.array([4.0]))
    assert sorted(v.tolist()) == [1, 2] and set(m.tolist()) == {2}
    assert np.isinf(c.nearest(3)[3]).all()


def _complete_problem(seed: int, n: int = 36) -> ClusterProblem:
    """A complete problem of ``n`` schools of 2-5 teachers at random points, every pair allowed (6-12 teachers, 5 schools)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 40, size=(n, 2))
    teachers = rng.integers(2, 6, size=n)
    member, venue = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    member, venue = member.ravel(), venue.ravel()
    return ClusterProblem(teachers, member, venue, np.hypot(*(xy[member] - xy[venue]).T), 6, 12, 5)


@pytest.mark.parametrize("seed", [3, 11])
def test_size_aware_bound_on_sparse_candidates_holds_for_every_pair(seed):
    """The size-aware bound built on a few candidate pairs per school, each pair left out stood in for at its least cost,
    is never above the complete problem's proven optimum, and it is well above the LP bound (which ignores the minimum size)."""
    complete = _complete_problem(seed)
    member = complete.pair_member
    exact = ClusterModel(complete).solve(60.0)
    assert exact.status == "optimal"
    cands = TableCandidates(complete)
    lp = sparse_lp(complete, cands, time.perf_counter() + 30, k=4)
    assert lp.n_pairs < len(member), "pairs were left out"
    sparse = complete.with_pairs(lp.member, lp.venue, lp.minutes)
    bound = candidates.size_bound_all_pairs(sparse, lp, cands, exact.objective, time.perf_counter() + 30)
    assert bound <= exact.objective + 1e-6 * exact.objective
    assert bound > lp.bound + 0.05 * (exact.objective - lp.bound), (bound, lp.bound, exact.objective)


@pytest.mark.parametrize("seed", [3, 11])
def test_exact_step_with_stand_ins_proves_for_every_pair(seed, monkeypatch):
    """The sparse model's exact step with every pair left out stood in for at its least cost (HiGHS): its bound is never
    above the complete problem's proven optimum and well above the LP bound; its plan is a plan of the complete problem,
    never better than that optimum, and "optimal" only when it is that optimum."""
    complete = _complete_problem(seed)
    member = complete.pair_member
    exact = ClusterModel(complete).solve(60.0)
    assert exact.status == "optimal"
    few = candidates.sparse_lp
    monkeypatch.setattr(candidates, "sparse_lp", lambda problem, cands, deadline: few(problem, cands, deadline, k=4))
    seen: list[tuple[int, bool]] = []
    real = candidates.highs_mip

    def spy(*args, **kwargs):
        r, cut = real(*args, **kwargs)
        seen.append((len(args[2]), kwargs.get("standins") is not None))
        return r, cut

    monkeypatch.setattr(candidates, "highs_mip", spy)
    sol = candidates.solve_sparse(complete, 60.0)
    assert seen and all(with_standins for _, with_standins in seen) and seen[0][0] < len(member), "the exact step ran on sparse pairs"
    lp = few(complete, TableCandidates(complete), time.perf_counter() + 30, k=4)
    assert sol.lower_bound <= exact.objective + 1e-6 * exact.objective
    assert sol.lower_bound > lp.bound + 0.5 * (exact.objective - lp.bound), (sol.lower_bound, lp.bound, exact.objective)
    F = Formulation(complete)
    cols = F.columns_of(sol.venue_of)
    assert F.is_feasible(F.main_rows(all_placed=True, min_placed=None), cols)
    assert sol.objective == pytest.approx(float(F.cost[cols].sum()))
    assert sol.objective >= exact.objective - 1e-6 * exact.objective
    assert (sol.status == "optimal") == (sol.objective - sol.lower_bound <= 1e-6 * sol.objective)
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(exact.objective)


def test_a_school_left_out_joins_a_cluster_with_room_over_every_pair():
    """A plan cut short left two schools out; without a travel limit every venue is within reach, so the one that fits
    joins the open cluster with room (its pair need not be a candidate), and the one that fits nowhere stays out."""
    x = np.array([0.0, 1.0, 10.0, 20.0])
    teachers = np.array([4, 4, 3, 5])
    member, venue = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    member, venue = member.ravel(), venue.ravel()
    complete = ClusterProblem(teachers, member, venue, np.abs(x[member] - x[venue]), 6, 12, 5)
    venue_of, added = candidates.fill_open_clusters(complete, TableCandidates(complete), np.array([0, 0, -1, -1]))
    assert venue_of.tolist() == [0, 0, 0, -1]  # 4 + 4 + 3 = 11 teachers; the last school's 5 would make 16
    assert added == pytest.approx(3 * 10.0)  # teacher-minutes of the pair added


def test_a_sparse_group_cut_short_still_places_everyone(monkeypatch):
    """A busy machine: the search stops with a plan leaving schools out and the exact step finds nothing in its time.
    Those left out join clusters with room over every pair, so everyone is placed and the LP bound applies again."""
    complete = _complete_problem(5)
    n, teachers = complete.n_units, complete.n_teachers
    real_solve = ClusterModel.solve

    def cut_short(self, *args, **kwargs):
        sol = real_solve(self, *args, **kwargs)
        venue_of = sol.venue_of.copy()
        size = np.bincount(venue_of[venue_of >= 0], weights=teachers[venue_of >= 0], minlength=n)
        for i in np.flatnonzero((venue_of >= 0) & (venue_of != np.arange(n))):  # members lose their place
            if size[venue_of[i]] - teachers[i] >= 6:  # where their clusters keep the minimum size
                size[venue_of[i]] -= teachers[i]
                venue_of[i] = -1
        assert (venue_of < 0).any()
        Fs = Formulation(self.problem)
        return replace(sol, venue_of=venue_of, objective=float(Fs.cost[Fs.columns_of(venue_of)].sum()), time_cut=True)

    monkeypatch.setattr(ClusterModel, "solve", cut_short)
    monkeypatch.setattr(candidates, "highs_mip", lambda *a, **k: (MipResult("unknown", np.zeros(0, dtype=np.int64), 0.0, None), True))
    sol = candidates.solve_sparse(complete, 30.0)
    assert np.all(sol.venue_of >= 0)
    F = Formulation(complete)
    cols = F.columns_of(sol.venue_of)
    assert F.is_feasible(F.main_rows(all_placed=True, min_placed=None), cols)
    assert sol.objective == pytest.approx(float(F.cost[cols].sum()))
    assert sol.placement_proven and sol.time_cut and 0 < sol.lower_bound <= sol.objective
    assert any("added to clusters with room" in note for note in sol.notes)
