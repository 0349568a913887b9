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
who could be placed), then, with that many placed, the least travel.

How it is solved (exactly, and fast enough for 400 units and 160,000 pairs):

1. *Placement.* If the linear relaxation with every unit placed is feasible,
   the plan tries to place everyone; the first plan found that does proves it
   (nobody can place more). Only otherwise is the placement maximised by a
   mixed-integer solve of its own.
2. *Lower bound.* The linear relaxation of the travel model is solved by
   column-and-row generation (only the pairs that can matter enter the LP).
   From its duals, a Lagrangian bound ``L`` and a reduced cost ``rc`` per pair
   are computed here, in numpy, over *all* pairs: they are valid for any dual
   vector, so LP tolerances cannot make them wrong.
3. *Incumbent.* A small mixed-integer model over the "core" (the pairs of each
   unit with the smallest reduced costs) gives a good plan quickly.
4. *Exact reduction.* Any plan using pair ``k`` costs at least
   ``L + rc[k] (+ rc of its venue)``; every pair for which this exceeds the
   incumbent cannot be in a better plan and is dropped. The remaining model is
   solved by the mixed-integer solver; its optimum (or the incumbent, when it
   finds nothing better) is the global optimum, and
   ``min(its bound, incumbent)`` is a proven global lower bound.

The mixed-integer solver is HiGHS through ``pywraplp`` by default (SCIP, CBC
and CP-SAT are selectable); the LP is solved with HiGHS (``highspy``) when it is
installed, else with OR-Tools' GLOP. Everything is single-threaded with fixed
seeds: the same inputs give the same plan (unless a time limit cuts a solve).

Notes on OR-Tools' HiGHS wrapper (9.15): ``SetHint`` writes past the end of an
empty vector and crashes the process, and ``BestBound()`` just repeats the
objective, so hints are never passed to HiGHS and its bound is only trusted
when it proves optimality (with ``mip_rel_gap = 0``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import os

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver import pywraplp

try:  # the fast LP path; GLOP is the fallback
    import highspy
except ImportError:  # pragma: no cover - depends on the environment
    highspy = None

BACKENDS = ("SCIP", "HIGHS", "CBC", "CP_SAT")
DEFAULT_BACKEND = "HIGHS"

_INF = math.inf
_DEBUG = bool(os.environ.get("CLUSTER_MAPPER_DEBUG"))


def _log(*args) -> None:
    if _DEBUG:
        print("[model]", *args, flush=True)


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


# ---------------------------------------------------------------------------
# Matrix form of the model
# ---------------------------------------------------------------------------
class _Structure:
    """The usable pairs of a problem and the rows of its model, as sparse matrices.

    Columns are the usable pairs (``self.pairs`` indexes the problem's pairs).
    ``main`` holds every row except the ``x[i, j] <= y[j]`` links, which are
    built only for the pairs a (sub)model needs.
    """

    def __init__(self, p: ClusterProblem):
        n = p.n_units
        member = np.asarray(p.pair_member, dtype=np.int64)
        venue = np.asarray(p.pair_venue, dtype=np.int64)
        teachers = np.asarray(p.n_teachers, dtype=np.int64)
        cost = np.asarray(p.pair_cost(), dtype=float)
        usable = np.ones(len(member), dtype=bool)
        # Venues: units with a self pair that fits in a cluster on its own.
        is_self = member == venue
        venue_ok = np.zeros(n, dtype=bool)
        venue_ok[venue[is_self & (teachers[venue] <= p.max_teachers)]] = True
        usable &= venue_ok[venue]
        # A member and its venue together must fit; only one pair per (i, j).
        usable &= is_self | (teachers[member] + teachers[venue] <= p.max_teachers)
        if p.max_schools < 2:
            usable &= is_self
        idx = np.flatnonzero(usable)
        # Deterministic de-duplication of repeated (i, j): keep the cheapest, then the first.
        order = np.lexsort((idx, cost[idx], venue[idx], member[idx]))
        idx = idx[order]
        first = np.ones(len(idx), dtype=bool)
        first[1:] = (member[idx][1:] != member[idx][:-1]) | (venue[idx][1:] != venue[idx][:-1])
        idx = np.sort(idx[first])
        self.pairs = idx
        self.member = member[idx]
        self.venue = venue[idx]
        self.cost = cost[idx]
        self.dem = teachers[self.member].astype(float)
        self.n = n
        self.teachers = teachers
        P = len(idx)
        self.P = P
        self.is_self = self.member == self.venue
        self.self_col = np.full(n, -1, dtype=np.int64)
        self.self_col[self.venue[self.is_self]] = np.flatnonzero(self.is_self)
        self.venues = np.flatnonzero(self.self_col >= 0)
        # venue j's self column may have been dropped for a member pair only if venue_ok is false,
        # in which case the member pair was dropped too.
        self.link_col = np.flatnonzero(~self.is_self)  # columns with a link row
        self.integral_cost = bool(np.all(np.abs(self.cost - np.round(self.cost)) < 1e-9))
        self.placeable = np.zeros(n, dtype=bool)
        self.placeable[self.member] = True
        self.max_placeable = int(teachers[self.placeable].sum())
        self.p = p

    def main_rows(self, all_placed: bool, min_placed: int | None):
        """Rows without the links: (CSR matrix over all usable columns, lo, hi)."""
        p = self.p
        P = self.P
        cols = np.arange(P)
        rows_r: list[np.ndarray] = []
        rows_c: list[np.ndarray] = []
        rows_v: list[np.ndarray] = []
        lo: list[np.ndarray] = []
        hi: list[np.ndarray] = []
        r = 0
        units = np.flatnonzero(self.placeable)
        unit_row = np.full(self.n, -1, dtype=np.int64)
        unit_row[units] = np.arange(len(units))
        rows_r.append(unit_row[self.member])
        rows_c.append(cols)
        rows_v.append(np.ones(P))
        need = all_placed & (self.teachers[units] > 0)
        lo.append(np.where(need, 1.0, 0.0))
        hi.append(np.ones(len(units)))
        r += len(units)
        V = len(self.venues)
        venue_row = np.full(self.n, -1, dtype=np.int64)
        venue_row[self.venues] = np.arange(V)
        vr = venue_row[self.venue]
        self_cols = self.self_col[self.venues]

        def venue_block(member_coef: np.ndarray, self_extra: float, blo: float, bhi: float):
            nonlocal r
            rows_r.append(r + vr)
            rows_c.append(cols)
            rows_v.append(member_coef)
            rows_r.append(r + np.arange(V))
            rows_c.append(self_cols)
            rows_v.append(np.full(V, -float(self_extra)))
            lo.append(np.full(V, blo))
            hi.append(np.full(V, bhi))
            r += V

        venue_block(self.dem, p.max_teachers, -_INF, 0.0)
        if p.min_teachers > 0:
            venue_block(self.dem, p.min_teachers, 0.0, _INF)
        size = np.bincount(self.venue, minlength=self.n)
        if p.max_schools < size.max(initial=0):
            venue_block(np.ones(P), p.max_schools, -_INF, 0.0)
        if p.n_clusters is not None:
            rows_r.append(np.full(V, r))
            rows_c.append(self_cols)
            rows_v.append(np.ones(V))
            lo.append(np.array([float(p.n_clusters)]))
            hi.append(np.array([float(p.n_clusters)]))
            r += 1
        if min_placed is not None:
            rows_r.append(np.full(P, r))
            rows_c.append(cols)
            rows_v.append(self.dem)
            lo.append(np.array([float(min_placed)]))
            hi.append(np.array([_INF]))
            r += 1
        A = sp.csr_matrix(
            (np.concatenate(rows_v), (np.concatenate(rows_r), np.concatenate(rows_c))), shape=(r, P)
        )
        A.sum_duplicates()
        return A, np.concatenate(lo), np.concatenate(hi)

    def sub_rows(self, main, cols: np.ndarray):
        """Rows of the submodel on columns ``cols`` (sorted): main rows plus links."""
        A, lo, hi = main
        As = A[:, cols]
        nz = np.diff(As.tocsr().indptr) > 0
        # keep equality / lower-bounded rows even if empty (they prove infeasibility)
        keep = nz | (lo > 0)
        As = As[keep]
        lo_s, hi_s = lo[keep], hi[keep]
        pos = np.full(self.P, -1, dtype=np.int64)
        pos[cols] = np.arange(len(cols))
        lk = cols[~self.is_self[cols]]
        sc = pos[self.self_col[self.venue[lk]]]
        ok = sc >= 0
        lk, sc = lk[ok], sc[ok]
        L = len(lk)
        links = sp.csr_matrix(
            (
                np.concatenate([np.ones(L), -np.ones(L)]),
                (np.concatenate([np.arange(L), np.arange(L)]), np.concatenate([pos[lk], sc])),
            ),
            shape=(L, len(cols)),
        )
        M = sp.vstack([As, links], format="csr")
        return M, np.concatenate([lo_s, np.full(L, -_INF)]), np.concatenate([hi_s, np.zeros(L)]), keep, lk

    def lagrangian(self, main, y_main, link_cols, y_link, objective, col_lower=None):
        """Lagrangian bound and reduced costs over all usable pairs, from any duals.

        Valid for any dual vector: signs are projected, and every pair (in the LP
        or not) is priced, so the bound never depends on LP tolerances.
        ``col_lower`` (0 or 1 per pair) restricts x >= col_lower (used by the dive).
        """
        A, lo, hi = main
        y = np.asarray(y_main, dtype=float).copy()
        y = np.where(np.isfinite(lo), y, np.minimum(y, 0.0))
        y = np.where(np.isfinite(hi), y, np.maximum(y, 0.0))
        bound_terms = np.where(y > 0, np.where(np.isfinite(lo), lo, 0.0) * y, np.where(np.isfinite(hi), hi, 0.0) * y)
        rc = objective - A.T @ y
        v = np.minimum(np.asarray(y_link, dtype=float), 0.0)  # x_k - y_j <= 0
        rc[link_cols] -= v
        np.add.at(rc, self.self_col[self.venue[link_cols]], v)
        L = float(bound_terms.sum() + np.minimum(rc, 0.0).sum())
        if col_lower is not None:
            L += float((col_lower * np.maximum(rc, 0.0)).sum())
        return L, rc


# ---------------------------------------------------------------------------
# LP
# ---------------------------------------------------------------------------
def _solve_lp(M, lo, hi, c, col_lower=None):
    """Minimise c x over lo <= M x <= hi, 0 <= x <= 1.

    Returns (status, x, row duals) with status "optimal" or "infeasible" or "error".
    Duals follow the convention c - M^T y = reduced costs.
    """
    ncol = M.shape[1]
    col_lower = np.zeros(ncol) if col_lower is None else np.asarray(col_lower, dtype=float)
    if highspy is not None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)
        lp = highspy.HighsLp()
        Mc = M.tocsc()
        lp.num_col_ = ncol
        lp.num_row_ = M.shape[0]
        lp.col_cost_ = np.asarray(c, dtype=float)
        lp.col_lower_ = col_lower
        lp.col_upper_ = np.ones(ncol)
        lp.row_lower_ = np.where(np.isfinite(lo), lo, -highspy.kHighsInf)
        lp.row_upper_ = np.where(np.isfinite(hi), hi, highspy.kHighsInf)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = Mc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = Mc.indices.astype(np.int32)
        lp.a_matrix_.value_ = Mc.data.astype(float)
        h.passModel(lp)
        h.run()
        st = h.getModelStatus()
        if st == highspy.HighsModelStatus.kOptimal:
            sol = h.getSolution()
            return "optimal", np.array(sol.col_value), np.array(sol.row_dual)
        if st in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "infeasible", None, None
        return "error", None, None
    # GLOP through OR-Tools' model builder.
    from ortools.linear_solver.python import model_builder_helper as mbh

    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        col_lower, np.ones(ncol), np.asarray(c, dtype=float),
        np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), M.tocsr().astype(float),
    )
    solver = mbh.ModelSolverHelper("glop")
    solver.solve(model)
    status = solver.status()
    if status == mbh.SolveStatus.OPTIMAL:
        return "optimal", np.array(solver.variable_values()), np.array(solver.dual_values())
    if status == mbh.SolveStatus.INFEASIBLE:
        return "infeasible", None, None
    return "error", None, None


class _LP:
    """LP relaxation over all usable pairs by column-and-row generation.

    Only some pairs are in the LP; the others are priced with the duals (their
    link rows have dual 0) and the negative ones added until none is left. With
    highspy the LP is modified in place and re-solved from the previous basis.
    """

    def __init__(self, S: _Structure, main, start_per_unit: int = 8):
        self.S = S
        self.main = main
        A, lo, hi = main
        self.A_csc = A.tocsc()
        self.lo, self.hi = lo, hi
        self.n_main = A.shape[0]
        self.in_set = np.zeros(S.P, dtype=bool)
        self.pos = np.full(S.P, -1, dtype=np.int64)
        self.cols = np.zeros(0, dtype=np.int64)
        self.link_cols = np.zeros(0, dtype=np.int64)
        self.col_lower = np.zeros(S.P)
        order = np.lexsort((np.arange(S.P), S.cost, S.member))
        starts = np.searchsorted(S.member[order], S.member[order], side="left")
        self.rank = np.empty(S.P, dtype=np.int64)
        self.rank[order] = np.arange(S.P) - starts
        self.k = start_per_unit
        self.h = None
        if highspy is not None:
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("random_seed", 0)
            h.setOptionValue("threads", 1)
            h.setOptionValue("presolve", "off")
            inf = highspy.kHighsInf
            h.addRows(self.n_main, np.where(np.isfinite(lo), lo, -inf), np.where(np.isfinite(hi), hi, inf),
                      0, np.zeros(self.n_main, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
            self.h = h
        self._add(np.flatnonzero(S.is_self))
        self._add(np.flatnonzero((self.rank < self.k) & ~self.in_set))

    def _add(self, new: np.ndarray) -> None:
        new = np.sort(np.asarray(new, dtype=np.int64))
        if len(new) == 0:
            return
        S = self.S
        first = len(self.cols)
        self.pos[new] = first + np.arange(len(new))
        self.in_set[new] = True
        self.cols = np.concatenate([self.cols, new])
        lk = new[~S.is_self[new]]
        self.link_cols = np.concatenate([self.link_cols, lk])
        if self.h is None:
            return
        sub = self.A_csc[:, new]
        self.h.addCols(len(new), S.cost[new], self.col_lower[new], np.ones(len(new)), sub.nnz,
                       sub.indptr[:-1].astype(np.int32), sub.indices.astype(np.int32), sub.data.astype(float))
        L = len(lk)
        if L:
            idx = np.empty(2 * L, dtype=np.int32)
            idx[0::2] = self.pos[lk]
            idx[1::2] = self.pos[S.self_col[S.venue[lk]]]
            val = np.tile([1.0, -1.0], L)
            self.h.addRows(L, np.full(L, -highspy.kHighsInf), np.zeros(L), 2 * L,
                           np.arange(0, 2 * L, 2, dtype=np.int32), idx, val)

    def fix_lower(self, pairs: np.ndarray) -> None:
        """x >= 1 for these pairs (the dive opens venues)."""
        pairs = np.asarray(pairs, dtype=np.int64)
        self.col_lower[pairs] = 1.0
        missing = pairs[~self.in_set[pairs]]
        self._add(missing)
        if self.h is not None:
            q = self.pos[pairs].astype(np.int32)
            self.h.changeColsBounds(len(q), q, np.ones(len(q)), np.ones(len(q)))

    def _run(self):
        S = self.S
        if self.h is not None:
            self.h.run()
            st = self.h.getModelStatus()
            if st == highspy.HighsModelStatus.kOptimal:
                sol = self.h.getSolution()
                return "optimal", np.array(sol.col_value), np.array(sol.row_dual)
            if st in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                return "infeasible", None, None
            return "error", None, None
        A, lo, hi = self.main
        As = self.A_csc[:, self.cols].tocsr()
        L = len(self.link_cols)
        links = sp.csr_matrix(
            (np.concatenate([np.ones(L), -np.ones(L)]),
             (np.concatenate([np.arange(L), np.arange(L)]),
              np.concatenate([self.pos[self.link_cols], self.pos[S.self_col[S.venue[self.link_cols]]]]))),
            shape=(L, len(self.cols)))
        M = sp.vstack([As, links], format="csr")
        return _solve_lp(M, np.concatenate([lo, np.full(L, -_INF)]), np.concatenate([hi, np.zeros(L)]),
                         S.cost[self.cols], col_lower=self.col_lower[self.cols])

    def solve(self, deadline: float, expand: bool = True):
        """Returns (status, L, rc over all pairs, x over all pairs); status optimal|infeasible|error|stopped."""
        S = self.S
        tol = 1e-7 * max(1.0, float(np.abs(S.cost).max(initial=1.0)))
        while True:
            status, xs, duals = self._run()
            if status == "infeasible":
                if self.in_set.all() or not expand:
                    return "infeasible", None, None, None
                self.k *= 2
                self._add(np.flatnonzero((self.rank < self.k) & ~self.in_set))
                continue
            if status != "optimal":
                return "error", None, None, None
            L, rc = S.lagrangian(self.main, duals[: self.n_main], self.link_cols, duals[self.n_main:], S.cost,
                                 self.col_lower)
            x = np.zeros(S.P)
            x[self.cols] = xs
            neg = np.flatnonzero((rc < -tol) & ~self.in_set)
            _log(f"lp {len(self.cols)} cols: L={L:.4f}, {len(neg)} negative")
            if len(neg) == 0:
                return "optimal", L, rc, x
            if time.perf_counter() > deadline:
                return "stopped", L, rc, x
            neg = neg[np.lexsort((neg, rc[neg]))]
            self._add(neg[: max(2 * S.n, 100)])


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------
class ClusterModel:
    """The OR-Tools model of one :class:`ClusterProblem`; call :meth:`solve`."""

    # core: pairs per unit in the incumbent model
    CORE_PER_UNIT = 12
    # extra candidate venues for the incumbent MIP, as a share of the dive's
    EXTRA_VENUES = 0.0
    ROOT_VENUES = False
    FINAL_BACKEND = None
    BIG_REDUCED = 20000
    CORE_SHARE = 0.5

    def __init__(self, problem: ClusterProblem, backend: str = DEFAULT_BACKEND):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
        self.problem = problem
        self.backend = backend

    # -- mixed-integer solves ------------------------------------------------
    def _mip(self, S: _Structure, main, cols, objective, seconds, maximize=False,
             hint_cols=None, cutoff=None, backend=None):
        """Solve the MIP on columns ``cols``; returns (status, chosen cols, objective, bound or None).

        status: "optimal", "feasible", "infeasible", "unknown". ``bound`` is a proven
        bound on the optimum of this submodel (None when the backend gives none).
        """
        t_start = time.perf_counter()
        backend = backend or self.backend
        cols = np.asarray(cols, dtype=np.int64)
        if len(cols) == 0:
            return "infeasible", cols, 0.0, None
        M, lo, hi, _, _ = S.sub_rows(main, cols)
        solver = pywraplp.Solver.CreateSolver(backend)
        if solver is None:  # pragma: no cover - depends on the OR-Tools build
            raise RuntimeError(f"OR-Tools has no {backend} solver")
        if backend == "CP_SAT":
            solver.SetSolverSpecificParametersAsString("num_workers: 2, random_seed: 1")
        elif backend == "SCIP":
            solver.SetSolverSpecificParametersAsString("randomization/randomseedshift = 0\n")
        elif backend == "HIGHS":
            solver.SetSolverSpecificParametersAsString("mip_rel_gap=0\nmip_abs_gap=1e-9\nrandom_seed=0\nthreads=1")
        if backend not in ("CP_SAT", "HIGHS"):
            solver.SetNumThreads(1)
        x = [solver.BoolVar(f"x{k}") for k in range(len(cols))]
        M = M.tocsr()
        indptr, indices, data = M.indptr, M.indices, M.data
        inf = solver.infinity()
        for r in range(M.shape[0]):
            a, b = indptr[r], indptr[r + 1]
            ct = solver.Constraint(-inf if not np.isfinite(lo[r]) else float(lo[r]),
                                   inf if not np.isfinite(hi[r]) else float(hi[r]))
            for q in range(a, b):
                ct.SetCoefficient(x[indices[q]], float(data[q]))
        obj = objective[cols]
        if cutoff is not None:
            ct = solver.Constraint(-inf, float(cutoff))
            for q in range(len(cols)):
                if obj[q] != 0:
                    ct.SetCoefficient(x[q], float(obj[q]))
        o = solver.Objective()
        for q in range(len(cols)):
            if obj[q] != 0:
                o.SetCoefficient(x[q], float(obj[q]))
        o.SetMaximization() if maximize else o.SetMinimization()
        if hint_cols is not None and backend in ("SCIP", "CP_SAT", "CBC"):
            on = np.isin(cols, hint_cols)
            solver.SetHint(x, [1.0 if v else 0.0 for v in on])
        # the budget includes building the model and reading the solution back
        left = seconds - (time.perf_counter() - t_start) - 1e-5 * len(cols)
        solver.SetTimeLimit(max(200, int(left * 1000)))
        params = pywraplp.MPSolverParameters()
        if backend != "CP_SAT":
            params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, 0.0)
        t_solve = time.perf_counter()
        st = solver.Solve(params)
        _log(f"mip {len(cols)} cols, {M.shape[0]} rows: status {st}, {time.perf_counter() - t_solve:.2f}s")
        if st in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            chosen = cols[np.array([v.solution_value() > 0.5 for v in x])]
            value = float(obj[np.isin(cols, chosen)].sum())
            if st == pywraplp.Solver.OPTIMAL:
                return "optimal", chosen, value, value
            bound = None
            if backend != "HIGHS":  # OR-Tools' HiGHS wrapper reports the objective as bound
                b = float(solver.Objective().BestBound())
                if math.isfinite(b):
                    bound = b
            return "feasible", chosen, value, bound
        if st == pywraplp.Solver.INFEASIBLE:
            return "infeasible", cols[:0], 0.0, None
        return "unknown", cols[:0], 0.0, None

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
        deadline = t0 + time_limit_seconds
        n = p.n_units
        S = _Structure(p)

        def done(venue_of, objective, bound, proven, status, notes):
            venue_of = np.asarray(venue_of)
            placed = int(p.n_teachers[venue_of >= 0].sum()) if n else 0
            return ClusterSolution(venue_of, float(objective), float(min(bound, objective)), placed, proven,
                                   status, time.perf_counter() - t0, self.backend, notes)

        if n == 0 or S.P == 0:
            if p.n_clusters:
                return done(np.full(n, -1), 0.0, 0.0, True, "infeasible",
                            [f"no plan has exactly {p.n_clusters} clusters"])
            return done(np.full(n, -1), 0.0, 0.0, True, "optimal", [])
        notes: list[str] = []
        hint_cols = self._hint_cols(S, hint)

        # Try to place everyone placeable; fall back to maximising the placement.
        result = self._travel(S, all_placed=True, min_placed=None, deadline=deadline, hint_cols=hint_cols)
        if result["status"] in ("optimal", "feasible"):
            proven = True
        elif result["status"] == "infeasible" or time.perf_counter() < deadline - 0.5:
            # Phase 1: most teachers placed.
            ph1_main = S.main_rows(all_placed=False, min_placed=None)
            remaining = deadline - time.perf_counter()
            st1, chosen1, best_placed, ub1 = self._mip(
                S, ph1_main, np.arange(S.P), S.dem, max(1.0, 0.4 * remaining), maximize=True, hint_cols=hint_cols)
            if st1 == "infeasible":
                if p.n_clusters is not None:
                    return done(np.full(n, -1), 0.0, 0.0, True, "infeasible",
                                [f"no plan has exactly {p.n_clusters} clusters"])
                return done(np.full(n, -1), 0.0, 0.0, True, "infeasible", ["the model has no plan"])
            if st1 == "unknown":
                return done(np.full(n, -1), 0.0, 0.0, False, "no_solution",
                            ["the solver found no plan within the time limit"])
            best_placed = int(round(best_placed))
            proven = st1 == "optimal" or (ub1 is not None and math.floor(ub1 + 1e-6) <= best_placed)
            if not proven:
                notes.append("the most teachers that can be placed was not proven within the time limit")
            result = self._travel(S, all_placed=False, min_placed=best_placed, deadline=deadline,
                                  hint_cols=chosen1, fallback=chosen1)
        else:
            return done(np.full(n, -1), 0.0, 0.0, False, "no_solution",
                        ["the solver found no plan within the time limit"])
        if result["status"] not in ("optimal", "feasible"):
            return done(np.full(n, -1), 0.0, 0.0, False, "no_solution",
                        ["the solver found no plan within the time limit"])
        chosen = result["chosen"]
        venue_of = np.full(n, -1)
        venue_of[S.member[chosen]] = S.venue[chosen]
        objective = float(S.cost[chosen].sum())
        bound = result["bound"]
        status = "optimal" if result["status"] == "optimal" else "time_limit"
        notes += result["notes"]
        if status == "optimal":
            bound = objective
        return done(venue_of, objective, bound, proven, status, notes)

    def _dive(self, S: _Structure, lp: _LP, rc, x_lp, deadline):
        """Open venues one by one (largest LP value first) until the LP opens whole venues.

        Returns (candidate venues as a mask over units, last reduced costs, last x).
        """
        self_cols = S.self_col[S.venues]
        fixed = np.zeros(len(S.venues), dtype=bool)
        x = x_lp
        for _ in range(len(S.venues)):
            y = x[self_cols]
            frac = (y > 1e-6) & (y < 1 - 1e-6)
            if not frac.any() or time.perf_counter() > deadline:
                break
            cand = np.flatnonzero(frac)
            pick = cand[np.lexsort((cand, -y[cand]))[0]]
            new = (y >= 1 - 1e-6) & ~fixed
            new[pick] = True
            lp.fix_lower(self_cols[new])
            fixed |= new
            st, _, rc_new, x_new = lp.solve(deadline, expand=False)
            if st not in ("optimal", "stopped"):
                break
            rc, x = rc_new, x_new
        y = x[self_cols]
        open_mask = np.zeros(S.n, dtype=bool)
        open_mask[S.venues[(y > 1e-6) | fixed]] = True
        return open_mask, rc, x

    def _locate_allocate(self, S: _Structure, main, incumbent, rc, deadline):
        """Improve a plan: move each venue to its cluster's best member, reassign, repeat."""
        lookup = sp.csr_matrix((np.arange(1, S.P + 1), (S.member, S.venue)), shape=(S.n, S.n))
        value, chosen = incumbent
        for _ in range(50):
            if time.perf_counter() > deadline:
                break
            # locate: the best venue of each cluster among its members
            venues = S.venue[chosen]
            new_venue_of = {}
            for j in np.unique(venues):
                members = np.sort(S.member[chosen[venues == j]])
                sub = lookup[members][:, members].toarray()  # col+1 of pair (member, candidate)
                ok = (sub > 0).all(axis=0) & (S.self_col[members] >= 0)
                if not ok.any():
                    continue
                costs = np.where(sub > 0, S.cost[np.maximum(sub - 1, 0)], np.inf).sum(axis=0)
                costs[~ok] = np.inf
                best = members[int(np.argmin(costs))]
                new_venue_of[j] = best
            moved = np.array([new_venue_of.get(j, j) for j in venues])
            cand = lookup[S.member[chosen], moved].A1 - 1
            if np.all(cand >= 0) and self._feasible(S, main, cand):
                v2 = float(S.cost[cand].sum())
                if v2 < value - 1e-9:
                    value, chosen = v2, cand
            # allocate: best assignment to these venues
            open_v = np.zeros(S.n, dtype=bool)
            open_v[S.venue[chosen]] = True
            usable = open_v[S.venue]
            order = np.lexsort((np.arange(S.P), S.cost, rc, ~usable, S.member))
            starts = np.searchsorted(S.member[order], S.member[order], side="left")
            rank = np.empty(S.P, dtype=np.int64)
            rank[order] = np.arange(S.P) - starts
            cols = np.flatnonzero(usable & ((rank < self.CORE_PER_UNIT) | S.is_self))
            cols = np.union1d(cols, chosen)
            remaining = deadline - time.perf_counter()
            if remaining < 0.5:
                break
            st, c2, v2, _ = self._mip(S, main, cols, S.cost, remaining)
            _log(f"locate-allocate: {value:.4f} -> {v2 if st in ('optimal', 'feasible') else None}")
            if st in ("optimal", "feasible") and v2 < value - 1e-9:
                value, chosen = v2, c2
            else:
                break
        return value, chosen

    def _hint_cols(self, S: _Structure, hint):
        if hint is None:
            return None
        hint = np.asarray(hint)
        if len(hint) != S.n:
            return None
        sel = (hint[S.member] == S.venue)
        return np.flatnonzero(sel)

    def _travel(self, S: _Structure, all_placed: bool, min_placed, deadline, hint_cols=None, fallback=None):
        """Least travel with the placement fixed; returns a dict with status, chosen, bound, notes."""
        notes: list[str] = []
        main = S.main_rows(all_placed=all_placed, min_placed=min_placed)
        cost = S.cost
        incumbent = None  # (value, chosen cols)
        if fallback is not None:
            incumbent = (float(cost[fallback].sum()), np.asarray(fallback))
        if hint_cols is not None and incumbent is None:
            if self._feasible(S, main, hint_cols):
                incumbent = (float(cost[hint_cols].sum()), np.asarray(hint_cols))
        # 1. LP bound and reduced costs.
        lp = _LP(S, main)
        lp_status, L, rc, x_lp = lp.solve(deadline)
        if lp_status == "infeasible":
            return {"status": "infeasible", "chosen": None, "bound": 0.0, "notes": notes}
        have_lp = lp_status in ("optimal", "stopped")
        bound = L if have_lp else 0.0
        if have_lp:
            # bound on any plan that uses pair k (and hence its venue's self pair)
            pos = np.maximum(rc, 0.0)
            pair_bound = L + pos
            nonself = ~S.is_self
            pair_bound[nonself] += pos[S.self_col[S.venue[nonself]]]
        # 2. Incumbent: dive on the venues, then assign with a small MIP.
        if have_lp and incumbent is None:
            t_dive = time.perf_counter()
            open_venues, rc_d, x_d = self._dive(S, lp, rc, x_lp, t_dive + 0.25 * (deadline - t_dive))
            _log(f"dive {time.perf_counter() - t_dive:.2f}s: {int(open_venues.sum())} venues")
            # candidates: the dive's venues, those the root LP opens, and the most promising others
            if self.ROOT_VENUES:
                open_venues[S.venue[S.is_self & (x_lp > 1e-6)]] = True
            extra = int(self.EXTRA_VENUES * max(1, int(open_venues.sum())))
            sc = S.self_col[S.venues]
            cand = S.venues[np.lexsort((S.venues, pair_bound[sc]))]
            cand = cand[~open_venues[cand]][:extra]
            open_venues[cand] = True
            usable = open_venues[S.venue]
            order = np.lexsort((np.arange(S.P), S.cost, rc_d, ~usable, S.member))
            starts = np.searchsorted(S.member[order], S.member[order], side="left")
            rank = np.empty(S.P, dtype=np.int64)
            rank[order] = np.arange(S.P) - starts
            core = usable & ((rank < self.CORE_PER_UNIT) | (x_d > 1e-6) | S.is_self)
            cols = np.flatnonzero(core)
            remaining = deadline - time.perf_counter()
            st, chosen, value, _ = self._mip(S, main, cols, cost, max(1.0, min(0.3 * remaining, 30.0)))
            if st not in ("optimal", "feasible") and len(cols) < usable.sum():
                st, chosen, value, _ = self._mip(S, main, np.flatnonzero(usable), cost,
                                                 max(1.0, 0.3 * (deadline - time.perf_counter())))
            if st in ("optimal", "feasible"):
                incumbent = (value, chosen)
                incumbent = self._locate_allocate(S, main, incumbent, rc_d,
                                                  time.perf_counter() + 0.35 * (deadline - time.perf_counter()))
        # 3. Exact reduction and the final MIP.
        if incumbent is not None and have_lp:
            ub = incumbent[0]
            tol = 1e-6 * max(1.0, abs(ub))
            delta = 1.0 if S.integral_cost else 0.0
            keep = pair_bound <= ub - delta + 1e-6 * max(1.0, abs(ub))
            keep &= keep[S.self_col[S.venue]]
            cols = np.flatnonzero(keep)
            if len(cols) > self.BIG_REDUCED:
                # a tighter core first: a better plan found there shrinks the exact model
                half = pair_bound <= bound + self.CORE_SHARE * (ub - bound)
                half &= half[S.self_col[S.venue]]
                hcols = np.flatnonzero(half)
                _log(f"intermediate core {len(hcols)} pairs")
                st, c2, v2, _ = self._mip(S, main, hcols, cost, 0.5 * (deadline - time.perf_counter()),
                                          hint_cols=incumbent[1])
                if st in ("optimal", "feasible") and v2 < ub - 1e-9:
                    incumbent = (v2, c2)
                    ub = v2
                    keep = pair_bound <= ub - delta + 1e-6 * max(1.0, abs(ub))
                    keep &= keep[S.self_col[S.venue]]
                    cols = np.flatnonzero(keep)
            _log(f"incumbent {ub:.4f}, L {bound:.4f}: kept {len(cols)} of {S.P} pairs")
        else:
            ub = None
            cols = np.arange(S.P)
        remaining = deadline - time.perf_counter()
        if len(cols) == 0 or (incumbent is not None and have_lp and bound >= ub - (1.0 if S.integral_cost else 0.0) + 1e-9):
            return {"status": "optimal", "chosen": incumbent[1], "bound": ub, "notes": notes}
        if remaining < 0.2 and incumbent is not None:
            notes.append("the time limit ended before the exact search; the plan is the best found")
            return {"status": "feasible", "chosen": incumbent[1], "bound": bound, "notes": notes}
        st, chosen, value, mip_bound = self._mip(
            S, main, cols, cost, max(1.0, remaining - 0.5), hint_cols=incumbent[1] if incumbent else None,
            backend=self.FINAL_BACKEND)
        if st == "optimal":
            if incumbent is not None and incumbent[0] <= value:
                return {"status": "optimal", "chosen": incumbent[1], "bound": incumbent[0], "notes": notes}
            return {"status": "optimal", "chosen": chosen, "bound": value, "notes": notes}
        if st == "infeasible":
            if incumbent is not None:  # nothing better than the incumbent exists
                return {"status": "optimal", "chosen": incumbent[1], "bound": incumbent[0], "notes": notes}
            return {"status": "infeasible", "chosen": None, "bound": 0.0, "notes": notes}
        # time limit: best of incumbent and MIP plan; bound = min(MIP bound, incumbent), at least L
        best = incumbent
        if st == "feasible" and (best is None or value < best[0]):
            best = (value, chosen)
        if best is None:
            return {"status": "unknown", "chosen": None, "bound": 0.0, "notes": notes}
        sub_bound = bound
        if mip_bound is not None:
            sub_bound = max(bound, mip_bound if incumbent is None else min(mip_bound, incumbent[0]))
        notes.append("travel was not proven minimal within the time limit")
        return {"status": "feasible", "chosen": best[1], "bound": sub_bound, "notes": notes}

    @staticmethod
    def _feasible(S: _Structure, main, cols) -> bool:
        x = np.zeros(S.P)
        x[cols] = 1.0
        A, lo, hi = main
        act = A @ x
        if np.any(act < lo - 1e-6) or np.any(act > hi + 1e-6):
            return False
        links = x[~S.is_self] <= x[S.self_col[S.venue[~S.is_self]]]
        return bool(np.all(links))


__all__ = ["ClusterProblem", "ClusterSolution", "ClusterModel", "BACKENDS"]
