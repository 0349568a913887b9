"""Sparse candidates: the bound stays valid for the complete problem; plans by blocks are feasible."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from cluster_mapper.model import ClusterProblem, Formulation
from cluster_mapper.model.bound import RelaxationLP, kept_assignment_bound, lagrangian
from cluster_mapper.model.large import PointCandidates, improve_locally, knapsack_bound, plan_cost, solve_large, sparse_bound, sparse_lp
from cluster_mapper.model.mip import MipSolver
from tests.fixtures.cpmp import DATA, CpmpInstance, clustered_instance, find_file, read_cpmp


def _sjc1() -> tuple[ClusterProblem, PointCandidates, float]:
    inst = read_cpmp(find_file(DATA, "sjc", "SJC1"))
    return inst.problem(), PointCandidates(inst.xy, np.ones(inst.n, dtype=bool)), 17288.99


def test_sparse_bound_is_below_the_optimum_and_uses_fewer_pairs():
    prob, cands, optimum = _sjc1()
    bound, x_open, n_pairs, rounds = sparse_bound(prob, cands, time.perf_counter() + 30, k=4)
    assert bound <= optimum + 1e-6
    assert bound >= 0.95 * optimum  # the growth rounds recover the LP bound
    assert n_pairs < prob.n_units**2
    assert abs(x_open.sum() - prob.n_clusters) < 1e-6


def test_kept_assignment_bound_is_at_least_the_plain_lagrangian():
    prob, cands, optimum = _sjc1()
    m, v, t = cands.all_pairs(np.arange(prob.n_units))
    F = Formulation(ClusterProblem(**{**prob.__dict__, "pair_member": m, "pair_venue": v, "pair_minutes": t}))
    main = F.main_rows(all_placed=True, min_placed=None)
    lp = RelaxationLP(F, main)
    lp.solve(time.perf_counter() + 30)
    L, _ = lagrangian(F, main, lp.duals[0], lp.link_cols, lp.duals[1], F.cost)
    L2, rc_out = kept_assignment_bound(F, main, lp.duals[0], lp.link_cols, lp.duals[1], F.cost)
    assert L - 1e-6 <= L2 <= optimum + 1e-6
    assert np.all(np.isinf(rc_out))  # complete problem: nothing outside


def test_solve_large_gives_a_feasible_plan_with_an_honest_gap():
    rng = np.random.default_rng(3)
    n, p = 240, 60
    xy = rng.uniform(0, 1000, (n, 2))
    dem = rng.integers(1, 11, n)
    cap = int(np.ceil(dem.sum() / (0.8 * p)))
    prob = CpmpInstance(Path("<generated>"), p, xy, cap, dem).problem()
    cands = PointCandidates(xy, np.ones(n, dtype=bool))
    sol = solve_large(prob, cands, 12.0, block_units=60)
    v = sol.venue_of
    assert np.all(v >= 0) and np.all(v[v] == v)  # everyone placed; venues meet at their own school
    assert len(np.unique(v)) == p
    assert all(dem[v == j].sum() <= cap for j in np.unique(v))
    assert abs(plan_cost(prob, cands, v) - sol.objective) < 1e-6
    assert 0 < sol.lower_bound <= sol.objective + 1e-6  # the gap is reported, not promised, at this time limit


def _clustered(seed: int, n: int, p: int, towns: int = 6, tau: float = 0.8) -> tuple[ClusterProblem, PointCandidates]:
    """A small instance shaped like the benchmark's: clustered points, demands 1-20, capacity ceil(sum / (tau p))."""
    inst = clustered_instance(seed, n, p, towns=towns, side=1000, spread=60, tau=tau)
    return inst.problem(), PointCandidates(inst.xy, np.ones(n, dtype=bool))


def _exact(prob: ClusterProblem, cands: PointCandidates) -> float:
    """The optimum of the complete problem (every pair), proven by HiGHS."""
    n = prob.n_units
    m, v, t = cands.all_pairs(np.arange(n))
    F = Formulation(ClusterProblem(**{**prob.__dict__, "pair_member": m, "pair_venue": v, "pair_minutes": t}))
    main = F.main_rows(all_placed=True, min_placed=None)
    r = MipSolver("HIGHS").solve(F, main, np.arange(F.P), F.cost, 60.0)
    assert r.status == "optimal"
    return r.value


def test_knapsack_bound_is_below_the_exact_optimum_and_above_the_lp_bound():
    for seed in range(3):
        prob, cands = _clustered(seed, 45, 15)
        optimum = _exact(prob, cands)
        lp = sparse_lp(prob, cands, time.perf_counter() + 10, k=4)  # few candidates: the bound must fetch the rest itself
        kb = knapsack_bound(prob, cands, time.perf_counter() + 5, lp.prices, optimum)
        assert lp.bound - 1e-6 <= kb.bound <= optimum + 1e-6, (seed, lp.bound, kb.bound, optimum)
        # from the LP's prices alone (one step), already at least the LP bound
        one = knapsack_bound(prob, cands, time.perf_counter() - 1, lp.prices, optimum)
        assert one.steps == 1 and lp.bound - 1e-6 <= one.bound <= optimum + 1e-6


def test_knapsack_bound_is_below_the_optimum_of_a_public_instance():
    prob, cands, optimum = _sjc1()
    lp = sparse_lp(prob, cands, time.perf_counter() + 30, k=4)
    kb = knapsack_bound(prob, cands, time.perf_counter() + 5, lp.prices, optimum)
    assert lp.bound - 1e-6 <= kb.bound <= optimum + 1e-6


def _check_plan(prob: ClusterProblem, v: np.ndarray) -> None:
    """Independent feasibility check: everyone placed, p venues each serving itself, capacities kept."""
    dem = prob.n_teachers
    assert np.all(v >= 0) and np.all(v[v] == v)
    assert len(np.unique(v)) == prob.n_clusters
    assert all(dem[v == j].sum() <= prob.max_teachers for j in np.unique(v))


def test_solve_large_on_small_instances_brackets_the_exact_optimum():
    for seed in (3,):
        prob, cands = _clustered(seed, 45, 15)
        optimum = _exact(prob, cands)
        sol = solve_large(prob, cands, 30.0, work_seconds=2.0, block_units=30)  # the work of 2 s; the clock only a ceiling
        _check_plan(prob, sol.venue_of)
        assert abs(plan_cost(prob, cands, sol.venue_of) - sol.objective) < 1e-6
        assert sol.lower_bound <= optimum + 1e-6 <= sol.objective + 2e-6
        assert sol.gap == pytest.approx((sol.objective - sol.lower_bound) / sol.objective, abs=1e-9)
        assert sol.objective <= 1.03 * optimum  # small enough to be planned (nearly) exactly
        assert sol.lower_bound >= 0.93 * optimum  # the knapsack bound, not the LP's (about 10 % below here)


def test_improve_locally_keeps_the_plan_feasible_and_never_worse():
    prob, cands = _clustered(5, 90, 30, towns=4)
    sol = solve_large(prob, cands, 4.0, block_units=30, local_share=0.0)
    v0 = sol.venue_of
    v1, cost, rounds, _ = improve_locally(prob, cands, v0, time.perf_counter() + 3.0, group=4)
    _check_plan(prob, v1)
    assert rounds >= 1
    assert cost == pytest.approx(plan_cost(prob, cands, v1))
    assert cost <= plan_cost(prob, cands, v0) + 1e-9


def test_improve_locally_on_the_nearest_venues_never_leaves_the_plan_and_keeps_it_feasible():
    # each unit's 3 nearest venues of its group and its current venue: the current plan stays allowed
    prob, cands = _clustered(5, 90, 30, towns=4)
    sol = solve_large(prob, cands, 4.0, block_units=30, local_share=0.0)
    v0 = sol.venue_of
    v1, cost, rounds, _ = improve_locally(prob, cands, v0, time.perf_counter() + 30.0, group=6, rounds=2, max_nodes=200, neighbours=3)
    _check_plan(prob, v1)
    assert rounds == 2
    assert cost == pytest.approx(plan_cost(prob, cands, v1))
    assert cost <= plan_cost(prob, cands, v0) + 1e-9


def test_scip_with_few_root_cut_rounds_still_proves_the_optimum():
    # the regrouped parts' SCIP setting changes how fast a part is solved, never what a finished solve proves
    prob, cands = _clustered(7, 24, 8, towns=3)
    m, v, t = cands.all_pairs(np.arange(prob.n_units))
    F = Formulation(prob.with_pairs(m, v, t))
    main = F.main_rows(all_placed=True, min_placed=None)
    cols = np.arange(F.P)
    exact = MipSolver("HIGHS").solve(F, main, cols, F.cost, 60.0)
    fast = MipSolver("SCIP", root_cut_rounds=0).solve(F, main, cols, F.cost, 60.0)
    assert exact.status == fast.status == "optimal"
    assert fast.value == pytest.approx(exact.value, rel=1e-9)
    _check_plan(prob, F.venue_of(fast.chosen))
