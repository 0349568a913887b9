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
3. *Incumbent.* A dive on the LP opens whole venues; a small mixed-integer
   model over the "core" (the pairs of each unit with the smallest reduced
   costs) assigns the units to them, and locate-allocate moves each venue to
   its cluster's best school.
4. *Large-neighbourhood search.* The clusters around each venue in turn are
   freed (every other unit keeps its venue) and re-solved exactly by a small,
   node-limited mixed-integer model; a better plan replaces the incumbent. This
   escapes the local optima of step 3 (on SJC4a it takes the plan from 0.75 %
   to under 0.1 % above the optimum).
5. *Exact reduction.* Any plan using pair ``k`` costs at least
   ``L + rc[k] (+ rc of its venue)``; every pair for which this exceeds the
   incumbent cannot be in a better plan and is dropped. The remaining model is
   solved by the mixed-integer solver; its optimum (or the incumbent, when it
   finds nothing better) is the global optimum, and
   ``min(its bound, incumbent)`` is a proven global lower bound.

The mixed-integer solver is HiGHS through ``pywraplp`` by default (SCIP, CBC
and CP-SAT are selectable); the LP is solved with HiGHS (``highspy``) when it is
installed, else with OR-Tools' GLOP. Everything is single-threaded with fixed
seeds and the search's sub-models are limited by nodes, not time: the same
inputs give the same plan unless the time limit cuts the search (5 % of the
limit is kept in reserve, so a solve ends a little before it).

Notes on OR-Tools' HiGHS wrapper (9.15): ``SetHint`` writes past the end of an
empty vector and crashes the process, and ``BestBound()`` just repeats the
objective, so hints are never passed to HiGHS and its bound is only trusted
when it proves optimality (with ``mip_rel_gap = 0``). A HiGHS solve stopped by
its time or node limit returns no plan at all, however good the one it had.
Its banner is turned off with ``output_flag``; highspy prints its own when the
first ``Highs()`` is made, before options exist, so that is done with file
descriptor 1 pointed at /dev/null.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import time
from dataclasses import dataclass, field

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


def relative_gap(objective: float, lower_bound: float) -> float:
    """Relative gap ``(objective - lower_bound) / objective``, 0 for a zero objective, never negative."""
    if objective <= 1e-9:
        return 0.0
    return max(0.0, (objective - lower_bound) / objective)


@contextlib.contextmanager
def _stdout_to_devnull():
    """Send file descriptor 1 to /dev/null for the duration (native banners no option stops).

    highspy prints its "Running HiGHS" banner when the first ``Highs()`` is
    constructed, before any option can be set; it goes straight to fd 1, so
    redirecting ``sys.stdout`` would not catch it.
    """
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError):  # pragma: no cover - no usable sys.stdout
        pass
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - fd 1 closed: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        try:  # flush C stdio buffers while they still point at /dev/null
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):  # pragma: no cover - no C library handle
            pass
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _new_highs():
    """A silent, single-threaded, seeded ``highspy.Highs``."""
    with _stdout_to_devnull():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    return h


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
        return relative_gap(self.objective, self.lower_bound)


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
        return M, np.concatenate([lo_s, np.full(L, -_INF)]), np.concatenate([hi_s, np.zeros(L)])

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
def _solve_lp_glop(M, lo, hi, c, col_lower=None):
    """Minimise c x over lo <= M x <= hi, col_lower <= x <= 1 with GLOP (when highspy is missing).

    Returns (status, x, row duals) with status "optimal" or "infeasible" or "error".
    Duals follow the convention c - M^T y = reduced costs.
    """
    ncol = M.shape[1]
    col_lower = np.zeros(ncol) if col_lower is None else np.asarray(col_lower, dtype=float)
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
            h = _new_highs()
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
        return _solve_lp_glop(M, np.concatenate([lo, np.full(L, -_INF)]), np.concatenate([hi, np.zeros(L)]),
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

    # pairs per unit in the incumbent's core model
    CORE_PER_UNIT = 12
    # LNS: clusters freed per neighbourhood (first, step, last), node limit per sub-MIP,
    # and its share of the time left after the incumbent
    LNS_CLUSTERS = (4, 2, 8)
    LNS_MAX_NODES = 2000
    LNS_VENUES_PER_UNIT = 10
    LNS_SHARE = 0.5
    # share of the time limit kept in reserve
    TIME_MARGIN = 0.05

    def __init__(self, problem: ClusterProblem, backend: str = DEFAULT_BACKEND):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
        self.problem = problem
        self.backend = backend

    # -- mixed-integer solves ------------------------------------------------
    def _mip(self, S: _Structure, main, cols, objective, seconds, maximize=False,
             hint_cols=None, fixed_cols=None, max_nodes=None):
        """Solve the MIP on columns ``cols``; returns (status, chosen cols, objective, bound or None).

        status: "optimal", "feasible", "infeasible", "unknown". ``bound`` is a proven
        bound on the optimum of this submodel (None when the backend gives none).
        ``fixed_cols`` (a subset of ``cols``) are fixed to 1; ``max_nodes`` caps the
        branch-and-bound nodes (HiGHS and SCIP), which, unlike a time limit, keeps
        the result independent of the machine's speed.
        """
        t_start = time.perf_counter()
        backend = self.backend
        cols = np.asarray(cols, dtype=np.int64)
        if len(cols) == 0:
            return "infeasible", cols, 0.0, None
        M, lo, hi = S.sub_rows(main, cols)
        solver = pywraplp.Solver.CreateSolver(backend)
        if solver is None:  # pragma: no cover - depends on the OR-Tools build
            raise RuntimeError(f"OR-Tools has no {backend} solver")
        if backend == "CP_SAT":
            solver.SetSolverSpecificParametersAsString("num_workers: 2, random_seed: 1")
        elif backend == "SCIP":
            nodes = f"limits/nodes = {int(max_nodes)}\n" if max_nodes else ""
            solver.SetSolverSpecificParametersAsString("randomization/randomseedshift = 0\n" + nodes)
        elif backend == "HIGHS":
            # output_flag/log_to_console: no "Running HiGHS" banner on stdout
            nodes = f"\nmip_max_nodes={int(max_nodes)}" if max_nodes else ""
            solver.SetSolverSpecificParametersAsString(
                "output_flag=false\nlog_to_console=false\nmip_rel_gap=0\nmip_abs_gap=1e-9\nrandom_seed=0\nthreads=1"
                + nodes)
        if backend not in ("CP_SAT", "HIGHS"):
            solver.SetNumThreads(1)
        x = [solver.BoolVar(f"x{k}") for k in range(len(cols))]
        if fixed_cols is not None:
            for q in np.flatnonzero(np.isin(cols, fixed_cols)):
                x[q].SetLb(1.0)
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
        o = solver.Objective()
        for q in range(len(cols)):
            if obj[q] != 0:
                o.SetCoefficient(x[q], float(obj[q]))
        o.SetMaximization() if maximize else o.SetMinimization()
        if hint_cols is not None and backend in ("SCIP", "CP_SAT", "CBC"):  # HiGHS: SetHint crashes
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
        _log(f"mip {len(cols)} cols, {M.shape[0]} rows: status {st}, {solver.nodes()} nodes, "
             f"{time.perf_counter() - t_solve:.2f}s")
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
        # a safety margin: the last solve's build and read-back can overrun its limit a little
        deadline = t0 + (1.0 - self.TIME_MARGIN) * time_limit_seconds
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
        delta = 1.0 if S.integral_cost else 0.0  # a better plan is at least this much better
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
        else:
            pair_bound = np.full(S.P, -_INF)

        def useful(ub):
            """Pairs that can be in a plan better than ``ub`` (with their venue's self pair)."""
            keep = pair_bound <= ub - delta + 1e-6 * max(1.0, abs(ub))
            return keep & keep[S.self_col[S.venue]]

        # 2. Incumbent: dive on the venues, then assign with a small MIP.
        if have_lp and incumbent is None:
            t_dive = time.perf_counter()
            open_venues, rc_d, x_d = self._dive(S, lp, rc, x_lp, t_dive + 0.25 * (deadline - t_dive))
            _log(f"dive {time.perf_counter() - t_dive:.2f}s: {int(open_venues.sum())} venues")
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
        # 3. Improve the incumbent by re-solving neighbourhoods of clusters.
        if incumbent is not None and not (have_lp and bound >= incumbent[0] - delta + 1e-9):
            t_lns = time.perf_counter()
            incumbent = self._lns(S, main, incumbent, useful, t_lns + self.LNS_SHARE * (deadline - t_lns))
        # 4. Exact reduction and the final MIP.
        if incumbent is not None and have_lp:
            ub = incumbent[0]
            cols = np.flatnonzero(useful(ub))
            _log(f"incumbent {ub:.4f}, L {bound:.4f}: kept {len(cols)} of {S.P} pairs")
            if len(cols) == 0 or bound >= ub - delta + 1e-9:
                return {"status": "optimal", "chosen": incumbent[1], "bound": ub, "notes": notes}
        else:
            cols = np.arange(S.P)
        remaining = deadline - time.perf_counter()
        if remaining < 0.2 and incumbent is not None:
            notes.append("the time limit ended before the exact search; the plan is the best found")
            return {"status": "feasible", "chosen": incumbent[1], "bound": bound, "notes": notes}
        st, chosen, value, mip_bound = self._mip(
            S, main, cols, cost, max(1.0, remaining - 0.5), hint_cols=incumbent[1] if incumbent else None)
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

    def _lns(self, S: _Structure, main, incumbent, useful, deadline):
        """Large-neighbourhood search: free a few nearby clusters, fix the rest, re-solve exactly.

        For each open venue in turn, its cluster and those of the nearest open
        venues (at most a third of them) are freed: each of their units may move
        to one of its ``LNS_VENUES_PER_UNIT`` nearest freed schools that can host
        (useful pairs only), while every other unit keeps its venue. The
        sub-MIP is node-limited, so its result does not depend on the machine's
        speed; a better plan replaces the incumbent. When every venue has failed,
        more clusters are freed at a time; the search ends when the largest size
        has failed for every venue, or at ``deadline`` (the only cut that
        depends on time).
        """
        value, chosen = incumbent
        p = self.problem
        first, step, last = self.LNS_CLUSTERS
        tried: set[tuple[int, ...]] = set()  # neighbourhoods that failed on the current plan
        size, cursor, fails = first, -1, 0
        n_solves = 0
        D = None
        while time.perf_counter() < deadline:
            if D is None:  # the plan changed: its venues and the distances between them
                venue_of = np.full(S.n, -1, dtype=np.int64)
                venue_of[S.member[chosen]] = S.venue[chosen]
                venues = np.unique(venue_of[venue_of >= 0])
                is_open = np.zeros(S.n, dtype=bool)
                is_open[venues] = True
                both = is_open[p.pair_member] & is_open[p.pair_venue]
                vpos = np.full(S.n, -1, dtype=np.int64)
                vpos[venues] = np.arange(len(venues))
                D = np.full((len(venues), len(venues)), _INF)
                np.minimum.at(D, (vpos[p.pair_member[both]], vpos[p.pair_venue[both]]),
                              p.pair_minutes[both].astype(float))
                D = np.minimum(D, D.T)
                np.fill_diagonal(D, -1.0)
                sel = np.zeros(S.P, dtype=bool)
                sel[chosen] = True
            k = min(size, len(venues) // 3)
            if k < 2:  # a neighbourhood would be much of the problem: leave it to the final MIP
                break
            if fails >= len(venues):  # every venue failed at this size
                if size >= last:
                    break
                size, fails = size + step, 0
                continue
            # next seed: the first open venue after the cursor, cyclically
            s = int(np.searchsorted(venues, cursor, side="right")) % len(venues)
            cursor = venues[s]
            near = np.lexsort((np.arange(len(venues)), D[s]))[:k]
            near = near[np.isfinite(D[s, near])]
            key = tuple(venues[np.sort(near)].tolist())
            fails += 1
            if len(near) < 2 or key in tried:
                continue
            tried.add(key)
            free_unit = np.isin(venue_of, venues[near])
            # unplaced units that could join a freed school
            host = free_unit & (S.self_col >= 0)
            free_unit[S.member[host[S.venue] & (venue_of[S.member] < 0)]] = True
            host = free_unit & (S.self_col >= 0)
            free = free_unit[S.member] & host[S.venue] & (useful(value) | S.is_self)
            # each freed unit may go to its nearest freed venues only (kept small: fast sub-MIPs)
            fc = np.flatnonzero(free & ~S.is_self)
            fc = fc[np.lexsort((fc, S.cost[fc], S.member[fc]))]
            rank = np.arange(len(fc)) - np.searchsorted(S.member[fc], S.member[fc], side="left")
            cols = np.union1d(fc[rank < self.LNS_VENUES_PER_UNIT], np.flatnonzero((free & S.is_self) | sel))
            st, c2, v2, _ = self._mip(S, main, cols, S.cost, deadline - time.perf_counter(),
                                      fixed_cols=np.flatnonzero(sel & ~free_unit[S.member]),
                                      max_nodes=self.LNS_MAX_NODES)
            n_solves += 1
            if st in ("optimal", "feasible") and v2 < value - 1e-9 * max(1.0, abs(value)):
                _log(f"lns {k} clusters around {cursor}: {value:.4f} -> {v2:.4f}")
                value, chosen = v2, c2
                tried.clear()
                fails, D = 0, None
        _log(f"lns: {n_solves} sub-MIPs, {value:.4f}")
        return value, chosen

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
