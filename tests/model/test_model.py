"""Exact checks of ClusterModel against brute-force enumeration on tiny problems."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cluster_mapper.model import (
    ClusterModel,
    ClusterProblem,
    Formulation,
    SideRow,
    SolveBudget,
    relative_gap,
)
from cluster_mapper.model import solve as solve_module
from cluster_mapper.model.bound import RelaxationLP
from cluster_mapper.model.construct import greedy_plan
from cluster_mapper.model.knapsack import dense_knapsack_bound, knapsack_pair_bounds
from cluster_mapper.model.lagrange import pair_bounds, size_lagrangian, venue_values
from cluster_mapper.model.mip import MipResult, MipSolver
from cluster_mapper.model.search import IncumbentSearch


def brute_force(p: ClusterProblem):
    """Lexicographic optimum by enumerating every venue_of vector: (placed, cost) or None."""
    n = p.n_units
    pair_cost = {}
    cost = p.pair_cost()
    for k, (i, j) in enumerate(zip(p.pair_member, p.pair_venue)):
        key = (int(i), int(j))
        pair_cost[key] = min(pair_cost.get(key, np.inf), float(cost[k]))
    options = [[-1] + sorted({j for (i, j) in pair_cost if i == u}) for u in range(n)]
    best = None
    for venue_of in itertools.product(*options):
        venues = {v for v in venue_of if v >= 0}
        if any(venue_of[v] != v for v in venues):  # an open venue's own unit belongs to it
            continue
        if p.n_clusters is not None and len(venues) != p.n_clusters:
            continue
        ok = True
        for v in venues:
            members = [i for i in range(n) if venue_of[i] == v]
            t = sum(int(p.n_teachers[i]) for i in members)
            if not (p.min_teachers <= t <= p.max_teachers) or len(members) > p.max_schools:
                ok = False
                break
        if not ok:
            continue
        placed = sum(int(p.n_teachers[i]) for i in range(n) if venue_of[i] >= 0)
        c = sum(pair_cost[(i, venue_of[i])] for i in range(n) if venue_of[i] >= 0)
        key = (-placed, c)
        if best is None or key < (best[0], best[1] - 1e-9):
            best = key
    return None if best is None else (-best[0], best[1])


def random_problem(seed: int) -> ClusterProblem:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 10))
    teachers = rng.integers(1, 6, size=n)
    xy = rng.uniform(0, 10, size=(n, 2))
    hosts = rng.random(n) < 0.6
    hosts[rng.integers(n)] = True
    members, venues = [], []
    for i in range(n):
        for j in range(n):
            if hosts[j] and (i == j or rng.random() < 0.55):
                members.append(i)
                venues.append(j)
    members = np.array(members)
    venues = np.array(venues)
    minutes = np.round(np.hypot(*(xy[members] - xy[venues]).T) * 7, 1 if seed % 2 else 0)
    return ClusterProblem(
        n_teachers=teachers,
        pair_member=members,
        pair_venue=venues,
        pair_minutes=minutes,
        min_teachers=int(rng.integers(0, 6)),
        max_teachers=int(rng.integers(6, 12)),
        max_schools=int(rng.integers(2, 4)),
        n_clusters=None if seed % 3 else int(rng.integers(1, 3)),
        objective="school_trips" if seed % 4 == 0 else "teacher_minutes",
    )


def check_plan(p: ClusterProblem, venue_of: np.ndarray) -> None:
    allowed = set(zip(p.pair_member.tolist(), p.pair_venue.tolist()))
    venues = {int(v) for v in venue_of if v >= 0}
    for i, v in enumerate(venue_of):
        if v >= 0:
            assert (i, int(v)) in allowed
    for v in venues:
        assert venue_of[v] == v
        members = np.flatnonzero(venue_of == v)
        t = int(p.n_teachers[members].sum())
        assert p.min_teachers <= t <= p.max_teachers
        assert len(members) <= p.max_schools
    if p.n_clusters is not None:
        assert len(venues) == p.n_clusters


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force(seed):
    p = random_problem(seed)
    expected = brute_force(p)
    sol = ClusterModel(p).solve(20)
    if expected is None:
        assert sol.status == "infeasible"
        return
    assert sol.status == "optimal", sol.notes
    check_plan(p, sol.venue_of)
    assert sol.placed_teachers == expected[0]
    assert sol.objective == pytest.approx(expected[1], abs=1e-6)
    assert sol.lower_bound <= sol.objective + 1e-9
    assert sol.lower_bound >= sol.objective - 1e-6  # proven optimal


@pytest.mark.parametrize("seed", [3, 7])
def test_deterministic(seed):
    p = random_problem(seed)
    a = ClusterModel(p).solve(20)
    b = ClusterModel(p).solve(20)
    assert np.array_equal(a.venue_of, b.venue_of)
    assert a.objective == b.objective


def _line_problem(n_clusters):
    n = 6
    xy = np.arange(n, dtype=float)
    m, v = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return ClusterProblem(
        n_teachers=np.full(n, 2),
        pair_member=m.ravel(),
        pair_venue=v.ravel(),
        pair_minutes=np.abs(xy[m.ravel()] - xy[v.ravel()]),
        min_teachers=2,
        max_teachers=6,
        max_schools=3,
        n_clusters=n_clusters,
    )


def test_fixed_number_of_clusters():
    for k in (2, 3, 6):
        sol = ClusterModel(_line_problem(k)).solve(20)
        assert sol.status == "optimal"
        assert len(set(sol.venue_of.tolist())) == k
        assert sol.placed_teachers == 12


def test_infeasible_number_of_clusters():
    sol = ClusterModel(_line_problem(7)).solve(20)  # more clusters than units
    assert sol.status == "infeasible"
    sol = ClusterModel(_line_problem(1)).solve(20)  # 12 teachers cannot fit in one cluster of 6
    # placing fewer is allowed: one cluster of 3 schools (6 teachers)
    assert sol.status == "optimal" and sol.placed_teachers == 6


@pytest.mark.parametrize("backend", ["SCIP", "CBC"])
def test_other_backends(backend):
    p = random_problem(5)
    expected = brute_force(p)
    sol = ClusterModel(p, backend=backend).solve(20)
    if expected is None:
        assert sol.status == "infeasible"
    else:
        assert sol.placed_teachers == expected[0]
        assert sol.objective == pytest.approx(expected[1], abs=1e-6)


def test_hint_is_accepted():
    p = random_problem(11)
    first = ClusterModel(p).solve(20)
    again = ClusterModel(p).solve(20, hint=first.venue_of)
    assert again.objective == pytest.approx(first.objective)


def test_relative_gap():
    assert relative_gap(100.0, 90.0) == pytest.approx(0.1)
    assert relative_gap(100.0, 120.0) == 0.0  # never negative
    assert relative_gap(0.0, -5.0) == 0.0
    sol = ClusterModel(random_problem(1)).solve(20)
    assert sol.gap == relative_gap(sol.objective, sol.lower_bound)


def test_solve_budget_is_checked_and_only_moves_time():
    assert SolveBudget().reserve == 0.05
    with pytest.raises(ValueError):
        SolveBudget(lns_share=1.5)
    with pytest.raises(ValueError):
        SolveBudget(mip_min_seconds=-1.0)
    p = _grid_problem(seed=1)
    model = ClusterModel(p)
    default = model.solve(20)
    assert model.solution is default
    # no search at all: the exact step alone still proves the same optimum
    other = ClusterModel(p, budget=SolveBudget(lns_share=0.0, locate_allocate_share=0.0)).solve(20)
    assert default.status == other.status == "optimal"
    assert other.objective == pytest.approx(default.objective)
    assert other.placed_teachers == default.placed_teachers


def _grid_problem(n=42, seed=0, **kw) -> ClusterProblem:
    """Units on a jittered grid, every pair allowed: several clusters, so the LNS has work."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    xy = np.array([(i % side, i // side) for i in range(n)], dtype=float) + rng.uniform(-0.3, 0.3, (n, 2))
    m, v = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    args = {
        "n_teachers": rng.integers(1, 4, n),
        "pair_member": m.ravel(),
        "pair_venue": v.ravel(),
        "pair_minutes": np.round(10 * np.hypot(*(xy[m.ravel()] - xy[v.ravel()]).T), 1),
        "min_teachers": 6,
        "max_teachers": 12,
        "max_schools": 6,
    }
    args.update(kw)
    return ClusterProblem(**args)


def test_lns_keeps_plans_feasible_and_never_worse():
    p = _grid_problem()
    F = Formulation(p)
    main = F.main_rows(all_placed=True, min_placed=None)
    mip = MipSolver()
    # a poor start: the best plan for random costs
    noise = np.random.default_rng(0).uniform(0, 100, F.P)
    st, chosen, _, _ = mip.solve(F, main, np.arange(F.P), noise, 20)
    assert st == "optimal"
    value = float(F.cost[chosen].sum())
    search = IncumbentSearch(F, main, mip, SolveBudget())
    v2, c2 = search.lns((value, chosen), lambda ub: np.ones(F.P, dtype=bool), time.perf_counter() + 10)
    assert v2 < value  # random costs leave a lot to improve
    assert F.is_feasible(main, c2)
    assert float(F.cost[c2].sum()) == pytest.approx(v2)


def test_mid_size_plan_is_valid_and_deterministic():
    p = _grid_problem(seed=1)
    a = ClusterModel(p).solve(20)
    b = ClusterModel(p).solve(20)
    assert a.status in ("optimal", "time_limit")
    check_plan(p, a.venue_of)
    assert a.lower_bound <= a.objective + 1e-9
    assert np.array_equal(a.venue_of, b.venue_of)


_REPO = Path(__file__).resolve().parents[2]

_NO_FD_TRICKS = """
import os
def _refuse(*args):
    raise AssertionError("file descriptors must not be redirected to hide solver output")
os.dup = os.dup2 = _refuse
"""

_SOLVE_IN_FRESH_PROCESS = (
    _NO_FD_TRICKS
    + """
import numpy as np
from cluster_mapper.model import ClusterModel, ClusterProblem
n = 8
m, v = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
p = ClusterProblem(n_teachers=np.full(n, 2), pair_member=m.ravel(), pair_venue=v.ravel(),
                   pair_minutes=np.abs(m - v).ravel().astype(float), min_teachers=2, max_teachers=6,
                   max_schools=3)
for backend in ("HIGHS", "SCIP", "CBC"):
    ClusterModel(p, backend=backend).solve(20)
print("done")
"""
)

# the LP's own HiGHS instance first, before OR-Tools' HiGHS has run at all
_LP_IN_FRESH_PROCESS = (
    _NO_FD_TRICKS
    + """
from cluster_mapper.model import ClusterProblem, Formulation
from cluster_mapper.model.bound import RelaxationLP
import numpy as np
n = 6
m, v = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
p = ClusterProblem(n_teachers=np.full(n, 2), pair_member=m.ravel(), pair_venue=v.ravel(),
                   pair_minutes=np.abs(m - v).ravel().astype(float), min_teachers=2, max_teachers=6)
F = Formulation(p)
status = RelaxationLP(F, F.main_rows(all_placed=True, min_placed=None)).solve(float("inf"))[0]
print(status)
"""
)


def _stdout_of_fresh_process(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=_REPO).stdout


def test_highspy_banner_control():
    """Control for the two tests below: a plain highspy.Highs() does print its banner to fd 1.

    If this ever skips, highspy no longer prints a banner and the quiet tests
    below pass trivially.
    """
    pytest.importorskip("highspy")
    out = _stdout_of_fresh_process("import highspy\nhighspy.Highs()\n")
    if "HiGHS" not in out:
        pytest.skip("this highspy prints no banner on construction")


def test_solvers_print_nothing():
    """No solver banner on stdout: HiGHS (OR-Tools' and highspy's first Highs()) must stay quiet.

    A fresh process, because HiGHS prints its banner only once per process,
    and with ``os.dup``/``os.dup2`` disabled, so silence cannot come from
    pointing file descriptor 1 elsewhere.
    """
    assert _stdout_of_fresh_process(_SOLVE_IN_FRESH_PROCESS) == "done\n"


def test_lp_prints_nothing():
    """The LP's highspy instance, used first in a process, prints no banner."""
    pytest.importorskip("highspy")
    assert _stdout_of_fresh_process(_LP_IN_FRESH_PROCESS) == "optimal\n"


def test_solve_prints_nothing_to_fd1(capfd):
    ClusterModel(_line_problem(2)).solve(20)
    out, _ = capfd.readouterr()
    assert "HiGHS" not in out and out == ""


def test_glop_fallback_without_highspy(monkeypatch):
    from cluster_mapper.model import bound

    monkeypatch.setattr(bound, "highspy", None)
    for seed in (2, 3):
        p = random_problem(seed)
        expected = brute_force(p)
        sol = ClusterModel(p).solve(20)
        if expected is None:
            assert sol.status == "infeasible"
        else:
            assert sol.placed_teachers == expected[0]
            assert sol.objective == pytest.approx(expected[1], abs=1e-6)


def test_search_out_of_time_keeps_the_greedy_plan(monkeypatch):
    """Every solver call stopped by its time limit (a very busy machine): the group still gets a valid plan."""
    p = _grid_problem(seed=2, min_schools=2)

    def out_of_time(self, *args, **kwargs):
        self.time_cuts += 1  # what a solve stopped by the clock records
        return MipResult("unknown", np.zeros(0, dtype=np.int64), 0.0, None)

    def highs_out_of_time(*args, **kwargs):
        return MipResult("unknown", np.zeros(0, dtype=np.int64), 0.0, None), True  # the exact step through highspy, cut

    monkeypatch.setattr(MipSolver, "solve", out_of_time)
    monkeypatch.setattr(solve_module, "highs_mip", highs_out_of_time)
    sol = ClusterModel(p).solve(5)
    F = Formulation(p)
    cols = F.columns_of(sol.venue_of)
    assert F.is_feasible(F.main_rows(all_placed=False, min_placed=None), cols)  # every rule, min_schools included
    assert sol.placed_teachers >= 0.5 * p.n_teachers.sum()  # not "nobody placed"
    assert sol.status == "time_limit" and sol.time_cut and not sol.placement_proven
    assert sol.lower_bound <= sol.objective
    assert any("time limit" in n and "differ from run to run" in n for n in sol.notes)


def test_greedy_plan_obeys_every_rule_and_is_never_better_than_the_optimum():
    for seed in range(3):
        p = _grid_problem(n=30, seed=seed, min_schools=2, max_schools=4)
        F = Formulation(p)
        free = F.main_rows(all_placed=False, min_placed=None)
        chosen = greedy_plan(F, free)
        assert chosen is not None and F.is_feasible(free, chosen)
        opt = ClusterModel(p).solve(20)
        placed = int(F.dem[chosen].sum())
        assert placed < opt.placed_teachers or float(F.cost[chosen].sum()) >= opt.objective - 1e-6


def test_subproblem_keeps_every_rule():
    p = _grid_problem(n=20, seed=4, min_schools=2, n_clusters=3)
    p.side_rows = [SideRow(np.array([0, 1]), np.array([5, 5]), np.array([1.0, -1.0]), 0.0, 0.0)]
    units = np.arange(10)
    outside = np.full(p.n_units, -1)
    outside[12:16] = 12  # one cluster open outside
    sub = p.subproblem(units, outside_venue_of=outside)
    assert (sub.min_schools, sub.max_schools, sub.min_teachers, sub.max_teachers, sub.objective) == (2, 6, 6, 12, "teacher_minutes")
    assert sub.n_clusters == 2  # three less the one outside
    assert len(sub.side_rows) == 1 and list(sub.side_rows[0].member) == [0, 1]
    assert sub.n_units == 10 and np.all(sub.pair_member < 10) and np.all(sub.pair_venue < 10)
    # a rule that reaches outside cannot be silently dropped
    with pytest.raises(ValueError):
        p.subproblem(np.arange(1, 10))
    # new pairs keep the rules too; previous-plan weights cannot be moved to new pairs
    w = p.with_pairs(p.pair_member[:50], p.pair_venue[:50], p.pair_minutes[:50])
    assert w.min_schools == 2 and w.n_clusters == 3 and len(w.side_rows) == 1 and list(w.side_rows[0].venue) == [5, 5]
    p.pair_stay = np.zeros(len(p.pair_member))
    with pytest.raises(ValueError):
        p.with_pairs(p.pair_member[:50], p.pair_venue[:50], p.pair_minutes[:50])


def test_size_aware_lagrangian_is_a_valid_bound_at_least_the_lp():
    """For plans placing everyone: LP bound <= Lagrangian with the rules kept <= the brute-force optimum."""
    checked = 0
    for seed in (2, 8, 16, 19, 25, 35):  # every unit placed; the Lagrangian is above the LP on 2, 8, 16, 19, 25 and 35
        p = random_problem(seed)
        expected = brute_force(p)
        if expected is None or expected[0] < p.n_teachers.sum():
            continue  # the bound is for plans placing everyone
        F = Formulation(p)
        main = F.main_rows(all_placed=True, min_placed=None)
        lp = RelaxationLP(F, main)
        st, L, _, _ = lp.solve(time.perf_counter() + 20)
        assert st == "optimal"
        prices = np.zeros(F.n)
        units = F.layout["unit_rows"]
        prices[units] = lp.duals[0][: len(units)]
        bound, _ = size_lagrangian(F, prices, expected[1], time.perf_counter() + 20)
        assert bound <= expected[1] + 1e-6, seed
        assert bound >= L - 1e-6 * max(1.0, abs(L)), seed
        checked += bound > L + 1e-6
    assert checked >= 4  # the rules kept make it stronger than the LP


def test_each_venue_s_best_member_set_is_feasible_and_reaches_its_value():
    """The sets behind the size-aware bound (its subgradient) obey the rules and add up to each venue's value.

    Units of 1-11 teachers and random prices: the trace-back once read item
    positions as pair columns and walked off the table (a 500-school district).
    """
    for seed in range(4):
        p = _grid_problem(n=40, seed=seed, n_teachers=np.random.default_rng(seed).integers(1, 12, 40), max_schools=5)
        F = Formulation(p)
        lam = np.random.default_rng(100 + seed).uniform(-5, 60, F.n)
        items = np.flatnonzero(~F.is_self)
        S, Q = p.max_schools - 1, p.max_teachers
        d = F.teachers[F.venues]
        lo_t, hi_t = np.maximum(0, p.min_teachers - d), Q - d
        vv = venue_values(F, lam, items, S, Q, lo_t, 0, hi_t)
        K, taken = vv.K, vv.taken
        assert np.isfinite(K).sum() >= 10
        for row, j in enumerate(F.venues):
            mine = items[taken & (F.venue[items] == j)]
            if not np.isfinite(K[row]):
                assert len(mine) == 0
                continue
            teachers = int(F.teachers[F.member[mine]].sum())
            assert len(mine) <= S and lo_t[row] <= teachers <= hi_t[row], (seed, j)
            assert float((lam[F.member[mine]] - F.cost[mine]).sum()) == pytest.approx(K[row], abs=1e-6), (seed, j)


def _plans_placing_everyone(p: ClusterProblem, F: Formulation):
    """Every plan (as its columns) that places every unit with teachers, obeying the cluster rules."""
    options = [[-1] + sorted(int(F.venue[k]) for k in np.flatnonzero(F.member == u)) for u in range(p.n_units)]
    for venue_of in itertools.product(*options):
        if any(venue_of[u] < 0 and p.n_teachers[u] > 0 and len(options[u]) > 1 for u in range(p.n_units)):
            continue
        venues = {v for v in venue_of if v >= 0}
        if any(venue_of[v] != v for v in venues) or (p.n_clusters is not None and len(venues) != p.n_clusters):
            continue
        sizes = [[i for i in range(p.n_units) if venue_of[i] == v] for v in venues]
        if all(p.min_teachers <= p.n_teachers[m].sum() <= p.max_teachers and len(m) <= p.max_schools for m in sizes):
            yield F.columns_of(np.array(venue_of))


def test_lagrangian_pair_bounds_never_cut_off_a_plan():
    """The size-aware exact reduction: every plan costs at least the bound of each pair it uses (brute force)."""
    checked = 0
    for seed in (2, 8, 16, 19, 25):
        p = random_problem(seed)
        F = Formulation(p)
        best = brute_force(p)
        _, good = size_lagrangian(F, None, best[1] if best else None, time.perf_counter() + 20)
        for lam in (good, np.random.default_rng(seed).uniform(-10, 80, F.n)):  # the subgradient's best prices, and any
            L, values = pair_bounds(F, lam)
            for cols in _plans_placing_everyone(p, F):
                cost = float(F.cost[cols].sum())
                assert L <= cost + 1e-6, seed
                assert np.all(values[cols] <= cost + 1e-6), (seed, cols)
                checked += 1
    assert checked >= 30, checked
    # and it drops pairs: from good prices, some pair's bound is above the optimum
    p = random_problem(16)
    F = Formulation(p)
    best = brute_force(p)
    main = F.main_rows(all_placed=True, min_placed=None)
    lp = RelaxationLP(F, main)
    lp.solve(time.perf_counter() + 20)
    prices = np.zeros(F.n)
    prices[F.layout["unit_rows"]] = lp.duals[0][: len(F.layout["unit_rows"])]
    _, lam = size_lagrangian(F, prices, best[1], time.perf_counter() + 20)
    _, values = pair_bounds(F, lam)
    assert np.any(values > best[1] + 1e-6)


def test_knapsack_pair_bounds_never_cut_off_a_plan():
    """The capacity-knapsack reduction: every plan costs at least the bound of each pair it uses (brute force).

    The minimum size and the most schools are relaxed by this bound, so it
    holds with them too; any prices give a valid bound.
    """
    checked = dropped = 0
    fixed = _grid_problem(n=6, seed=0, n_teachers=np.array([1, 3, 2, 4, 2, 3]), min_teachers=4, max_teachers=10, max_schools=4, n_clusters=2)
    for seed, p in [(s, random_problem(s)) for s in (2, 4, 10, 16, 25)] + [(0, fixed)]:
        F = Formulation(p)
        best = brute_force(p)
        good = dense_knapsack_bound(F, np.zeros(F.n), best[1] if best else None, time.perf_counter() + 20)
        for lam in (good.prices, np.random.default_rng(seed).uniform(-10, 80, F.n)):
            L, values = knapsack_pair_bounds(F, lam)
            plans = list(_plans_placing_everyone(p, F))
            for cols in plans:
                cost = float(F.cost[cols].sum())
                assert L <= cost + 1e-6, seed
                assert np.all(values[cols] <= cost + 1e-6), (seed, cols)
                checked += 1
            if plans:
                dropped += int(np.sum(values > min(float(F.cost[c].sum()) for c in plans) + 1e-6))
    assert checked >= 30, checked
    assert dropped > 0  # and it drops pairs


def test_lagrangian_pair_bounds_with_a_fixed_number_of_clusters():
    """With ``n_clusters`` fixed, the other venues' terms are the n - 1 smallest: still no plan cut off (brute force)."""
    p = _grid_problem(n=6, seed=0, n_teachers=np.array([1, 3, 2, 4, 2, 3]), min_teachers=4, max_teachers=10, max_schools=4, n_clusters=2)
    F = Formulation(p)
    plans = list(_plans_placing_everyone(p, F))
    assert len(plans) >= 10
    best = min(float(F.cost[c].sum()) for c in plans)
    _, good = size_lagrangian(F, None, best, time.perf_counter() + 20)
    for lam in (good, np.random.default_rng(1).uniform(-10, 80, F.n)):
        L, values = pair_bounds(F, lam)
        for cols in plans:
            cost = float(F.cost[cols].sum())
            assert L <= cost + 1e-6
            assert np.all(values[cols] <= cost + 1e-6), cols
    assert np.any(pair_bounds(F, good)[1] > best + 1e-6)  # and some pair is dropped
