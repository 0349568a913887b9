"""The capacity-knapsack Lagrangian (model/knapsack.py) on proven public instances and against enumeration."""

from __future__ import annotations

import csv
import itertools
import time

import numpy as np
import pytest

from cluster_mapper.model import ClusterModel, Formulation, SolveBudget
from cluster_mapper.model.bound import PairBounds, RelaxationLP
from cluster_mapper.model.knapsack import dense_knapsack_bound, knapsack_pair_bounds, knapsacks
from cluster_mapper.model.mip import MipSolver
from tests.fixtures.cpmp import DATA, find_file, read_cpmp


def _pmedcap(name: str) -> tuple[Formulation, float]:
    """OR-Library pmedcap1 instance ``name`` on every pair (distances rounded down, as published) and its proven optimum."""
    row = next(r for r in csv.DictReader(open(DATA / "best_known.csv")) if r["instance"] == name)
    assert row["status"] == "optimal" and row["distance"] == "euclid_floor"
    inst = read_cpmp(find_file(DATA, row["folder"], name))
    n = inst.n
    m, v = np.divmod(np.arange(n * n), n)
    minutes = np.floor(np.hypot(*(inst.xy[m] - inst.xy[v]).T))
    return Formulation(inst.problem(m, v, minutes)), float(row["best_known"])


@pytest.mark.parametrize("name", ["cpmp01", "cpmp02", "cpmp03"])
def test_knapsack_bound_and_its_reduction_keep_the_proven_optimum(name):
    F, optimum = _pmedcap(name)
    main = F.main_rows(all_placed=True, min_placed=None)
    lp = RelaxationLP(F, main)
    status, lp_bound, rc, _ = lp.solve(time.perf_counter() + 30)
    assert status == "optimal"
    prices = np.zeros(F.n)
    prices[F.layout["unit_rows"]] = lp.duals[0][: len(F.layout["unit_rows"])]
    kb = dense_knapsack_bound(F, prices, optimum, time.perf_counter() + 30)
    # never above the proven optimum, at least the LP bound (the knapsacks are integral where the LP is not)
    assert lp_bound - 1e-6 <= kb.bound <= optimum + 1e-6, (lp_bound, kb.bound, optimum)
    at, values = knapsack_pair_bounds(F, kb.prices)
    assert at == pytest.approx(kb.bound)
    # an optimal plan (the exact solve on every pair) uses no pair whose bound is above the optimum
    mip = MipSolver()
    full = mip.solve(F, main, np.arange(F.P), F.cost, 60.0)
    assert full.status == "optimal" and full.value == pytest.approx(optimum)
    assert np.all(values[full.chosen] <= optimum + 1e-6)
    # the reduction for plans at least as good as the optimum (costs are integers: better by 1) keeps them all,
    # drops most pairs, and the exact solve on what is left reaches the proven optimum
    keep = np.flatnonzero(PairBounds(F, np.maximum(PairBounds.from_lp(F, lp_bound, rc).values, values), 1.0).useful(optimum + 1.0))
    assert np.isin(full.chosen, keep).all()
    assert len(keep) < 0.5 * F.P, (len(keep), F.P)
    reduced = mip.solve(F, main, keep, F.cost, 60.0)
    assert reduced.status == "optimal" and reduced.value == pytest.approx(optimum)


def test_the_planner_proves_a_public_instance_with_the_knapsack_bound(caplog):
    F, optimum = _pmedcap("cpmp04")
    with caplog.at_level("DEBUG", logger="cluster_mapper.model"):
        sol = ClusterModel(F.problem).solve(60.0, work_seconds=10.0)
    assert sol.status == "optimal" and sol.objective == pytest.approx(optimum) and sol.lower_bound == pytest.approx(optimum)
    assert "knapsack Lagrangian" in caplog.text  # the plain-capacity bound ran (no binding minimum size)


def test_knapsacks_match_enumeration_at_every_capacity():
    rng = np.random.default_rng(7)
    n = 4
    venue = rng.integers(0, n, 22)
    weight = rng.integers(0, 9, 22)
    profit = rng.uniform(0.1, 10.0, 22)
    capacity = np.array([0, 7, 15, 40])
    for tables in (False, True):
        value, taken, table = knapsacks(venue, weight, profit, capacity, n, tables=tables)
        for j in range(n):
            mine = np.flatnonzero(venue == j)
            best = {q: 0.0 for q in range(capacity[j] + 1)}
            for k in range(1, len(mine) + 1):
                for pick in itertools.combinations(mine, k):
                    w, total = int(weight[list(pick)].sum()), float(profit[list(pick)].sum())
                    for q in range(w, capacity[j] + 1):
                        best[q] = max(best[q], total)
            assert value[j] == pytest.approx(best[capacity[j]])
            assert weight[taken & (venue == j)].sum() <= capacity[j]
            assert profit[taken & (venue == j)].sum() == pytest.approx(value[j])
            if table is not None:
                assert table.at(np.full(capacity[j] + 1, j), np.arange(capacity[j] + 1)) == pytest.approx([best[q] for q in range(capacity[j] + 1)])


def test_an_exact_step_stopped_by_its_work_keeps_the_plan_and_an_honest_bound():
    """The small model after the knapsack reduction goes to the exact step first; stopped at once (0 nodes), the search
    runs after it and the plan says it is not proven, with the knapsack bound (below the proven optimum) as its bound."""
    F, optimum = _pmedcap("cpmp11")  # 100 points: neither the LP nor the knapsack bound proves its first plan
    sol = ClusterModel(F.problem, budget=SolveBudget(exact_min_nodes=0, exact_nodes_per_second=0.0)).solve(60.0, work_seconds=10.0)
    assert sol.status == "time_limit" and not sol.time_cut  # stopped by its work, not by the clock: the same plan every run
    assert optimum - 1e-6 <= sol.objective <= 1.01 * optimum
    assert 0.98 * optimum <= sol.lower_bound <= optimum + 1e-6
    assert any("not proven minimal" in note for note in sol.notes)
