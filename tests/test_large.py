"""Sparse candidates: the bound stays valid for the complete problem; plans by blocks are feasible."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cluster_mapper.model import ClusterProblem, Formulation
from cluster_mapper.model.bound import RelaxationLP, kept_assignment_bound, lagrangian
from cluster_mapper.model.large import PointCandidates, plan_cost, solve_large, sparse_bound

from .cpmp import DATA, find_file, read_cpmp


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
    prob = ClusterProblem(
        n_teachers=dem,
        pair_member=np.zeros(0, int),
        pair_venue=np.zeros(0, int),
        pair_minutes=np.zeros(0),
        min_teachers=0,
        max_teachers=cap,
        max_schools=n + 1,
        n_clusters=p,
        objective="school_trips",
    )
    cands = PointCandidates(xy, np.ones(n, dtype=bool))
    sol = solve_large(prob, cands, 12.0, block_units=60)
    v = sol.venue_of
    assert np.all(v >= 0) and np.all(v[v] == v)  # everyone placed; venues meet at their own school
    assert len(np.unique(v)) == p
    assert all(dem[v == j].sum() <= cap for j in np.unique(v))
    assert abs(plan_cost(prob, cands, v) - sol.objective) < 1e-6
    assert 0 < sol.lower_bound <= sol.objective + 1e-6  # the gap is reported, not promised, at this time limit
