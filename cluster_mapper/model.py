"""The cluster model: a capacitated p-median with lower bounds, solved with OR-Tools.

One :class:`ClusterProblem` is a set of units that may cluster together (one
district, gender group and level group, or a whole district when its number
of clusters is fixed). A unit ``j`` that can host opens a cluster at its
school (the *venue*); the venue's own unit belongs to it. Each unit joins at
most one cluster, only at a venue within the travel limit.

Variables: ``x[i, j]`` unit ``i`` meets at venue ``j`` (only allowed pairs
exist), ``y[j] = x[j, j]`` venue ``j`` is open. Constraints::

    sum_j x[i, j] <= 1                                   each unit at most once
    x[i, j] <= y[j]                                      strong p-median linking
    min_teachers * y[j] <= sum_i n[i] x[i, j] <= max_teachers * y[j]
    sum_i x[i, j] <= max_schools * y[j]
    sum_j y[j] = n_clusters                              when fixed

Solved lexicographically: first the most teachers placed (nobody is left out
who could be placed), then, with that many placed, the least travel. The
mixed-integer solver (SCIP through ``pywraplp`` by default; HiGHS and CP-SAT
are selectable) returns a proven lower bound with every solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

BACKENDS = ("SCIP", "HIGHS", "CBC", "CP_SAT")
DEFAULT_BACKEND = "SCIP"


@dataclass
class ClusterProblem:
    """Arrays of one independent clustering problem.

    Attributes
    ----------
    n_teachers : numpy.ndarray of int
        Teachers per unit.
    pair_member, pair_venue : numpy.ndarray of int
        Allowed pairs: unit ``pair_member[k]`` may meet at the venue of unit
        ``pair_venue[k]``. Self pairs ``(j, j)`` mark the units that can host.
    pair_minutes : numpy.ndarray of float
        Travel time of each pair, minutes.
    min_teachers, max_teachers, max_schools : int
        Cluster bounds (``max_schools`` large when there is no limit).
    n_clusters : int or None
        Exactly this many clusters, if set.
    objective : {"teacher_minutes", "school_trips"}
        Weight each pair's minutes by its teachers, or count one trip per unit.
    """

    n_teachers: np.ndarray
    pair_member: np.ndarray
    pair_venue: np.ndarray
    pair_minutes: np.ndarray
    min_teachers: int = 6
    max_teachers: int = 12
    max_schools: int = 5
    n_clusters: int | None = None
    objective: str = "teacher_minutes"

    @property
    def n_units(self) -> int:
        return len(self.n_teachers)

    def pair_cost(self) -> np.ndarray:
        """Objective coefficient of each pair."""
        if self.objective == "school_trips":
            return self.pair_minutes.astype(float)
        return self.pair_minutes * self.n_teachers[self.pair_member]


@dataclass
class ClusterSolution:
    """Result of solving one :class:`ClusterProblem`.

    ``venue_of[i]`` is the venue unit of unit ``i``, or -1 when not placed.
    """

    venue_of: np.ndarray
    objective: float
    lower_bound: float
    placed_teachers: int
    placement_proven: bool
    status: str
    solve_seconds: float
    backend: str = DEFAULT_BACKEND
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """Relative gap between the objective and the proven lower bound."""
        if self.objective <= 1e-9:
            return 0.0
        return max(0.0, (self.objective - self.lower_bound) / self.objective)


class ClusterModel:
    """The OR-Tools model of one :class:`ClusterProblem`; call :meth:`solve`."""

    def __init__(self, problem: ClusterProblem, backend: str = DEFAULT_BACKEND):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
        self.problem = problem
        self.backend = backend

    # -- building -----------------------------------------------------------
    def _build(self, solver: pywraplp.Solver):
        p = self.problem
        n = p.n_units
        x = [solver.BoolVar(f"x{k}") for k in range(len(p.pair_member))]
        by_member: list[list[int]] = [[] for _ in range(n)]
        by_venue: list[list[int]] = [[] for _ in range(n)]
        self_pair = np.full(n, -1)
        for k, (i, j) in enumerate(zip(p.pair_member, p.pair_venue)):
            by_member[i].append(k)
            by_venue[j].append(k)
            if i == j:
                self_pair[j] = k
        venues = np.flatnonzero(self_pair >= 0)
        for i in range(n):
            if by_member[i]:
                solver.Add(solver.Sum([x[k] for k in by_member[i]]) <= 1)
        for j in venues:
            y = x[self_pair[j]]
            members = by_venue[j]
            for k in members:
                if k != self_pair[j]:
                    solver.Add(x[k] <= y)
            load = solver.Sum([int(p.n_teachers[p.pair_member[k]]) * x[k] for k in members])
            solver.Add(load <= p.max_teachers * y)
            solver.Add(load >= p.min_teachers * y)
            if p.max_schools < len(members):
                solver.Add(solver.Sum([x[k] for k in members]) <= p.max_schools * y)
        if p.n_clusters is not None:
            solver.Add(solver.Sum([x[self_pair[j]] for j in venues]) == p.n_clusters)
        placed = solver.Sum([int(p.n_teachers[p.pair_member[k]]) * x[k] for k in range(len(x))])
        return x, placed

    def _solver(self, seconds: float) -> pywraplp.Solver:
        solver = pywraplp.Solver.CreateSolver(self.backend)
        solver.SetTimeLimit(max(1, int(seconds * 1000)))
        if self.backend == "CP_SAT":
            solver.SetSolverSpecificParametersAsString("num_workers: 2, random_seed: 1")
        elif self.backend == "SCIP":
            solver.SetSolverSpecificParametersAsString("randomization/randomseedshift = 0\n")
        solver.SetNumThreads(1) if self.backend != "CP_SAT" else None
        return solver

    # -- solving ------------------------------------------------------------
    def solve(self, time_limit_seconds: float = 60.0, hint: np.ndarray | None = None) -> ClusterSolution:
        """Place the most teachers, then minimise travel; return the plan and its bound.

        Parameters
        ----------
        time_limit_seconds : float
            Wall-clock budget for both phases together.
        hint : numpy.ndarray, optional
            A previous ``venue_of`` to start from (warm start, e.g. a revision).
        """
        p = self.problem
        t0 = time.perf_counter()
        n = p.n_units
        if len(p.pair_member) == 0 or n == 0:
            return ClusterSolution(np.full(n, -1), 0.0, 0.0, 0, True, "optimal", 0.0, self.backend)
        cost = p.pair_cost()
        notes: list[str] = []

        # Phase 1: most teachers placed.
        s1 = self._solver(time_limit_seconds * 0.4)
        x1, placed1 = self._build(s1)
        s1.Maximize(placed1)
        self._apply_hint(s1, x1, hint)
        st1 = s1.Solve()
        if st1 not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            if p.n_clusters is not None and st1 == pywraplp.Solver.INFEASIBLE:
                return ClusterSolution(np.full(n, -1), 0.0, 0.0, 0, True, "infeasible", time.perf_counter() - t0, self.backend,
                                       [f"no plan has exactly {p.n_clusters} clusters"])
            return ClusterSolution(np.full(n, -1), 0.0, 0.0, 0, False, "no_solution", time.perf_counter() - t0, self.backend,
                                   ["the solver found no plan within the time limit"])
        best_placed = int(round(s1.Objective().Value()))
        proven = st1 == pywraplp.Solver.OPTIMAL
        if not proven:
            notes.append("the most teachers that can be placed was not proven within the time limit")
        phase1 = np.array([v.solution_value() > 0.5 for v in x1])

        # Phase 2: least travel with that many placed.
        remaining = max(1.0, time_limit_seconds - (time.perf_counter() - t0))
        s2 = self._solver(remaining)
        x2, placed2 = self._build(s2)
        s2.Add(placed2 >= best_placed)
        s2.Minimize(s2.Sum([float(c) * v for c, v in zip(cost, x2)]))
        s2.SetHint(x2, [1.0 if on else 0.0 for on in phase1])
        st2 = s2.Solve()
        if st2 in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            chosen = np.array([v.solution_value() > 0.5 for v in x2])
            objective = float(s2.Objective().Value())
            bound = float(s2.Objective().BestBound()) if st2 != pywraplp.Solver.OPTIMAL else objective
            status = "optimal" if st2 == pywraplp.Solver.OPTIMAL else "time_limit"
        else:
            chosen = phase1
            objective = float(cost[phase1].sum())
            bound = 0.0
            status = "time_limit"
            notes.append("travel was not minimised within the time limit; the plan places the most teachers found")
        bound = min(bound, objective)
        venue_of = np.full(n, -1)
        venue_of[p.pair_member[chosen]] = p.pair_venue[chosen]
        placed = int(p.n_teachers[venue_of >= 0].sum())
        return ClusterSolution(venue_of, objective, bound, placed, proven, status, time.perf_counter() - t0, self.backend, notes)

    def _apply_hint(self, solver, x, hint) -> None:
        if hint is None:
            return
        p = self.problem
        values = [1.0 if hint[i] == j else 0.0 for i, j in zip(p.pair_member, p.pair_venue)]
        solver.SetHint(x, values)


__all__ = ["ClusterProblem", "ClusterSolution", "ClusterModel", "BACKENDS"]
