"""The LP lower bound: column-and-row generation, Lagrangian bound, reduced costs.

The linear relaxation of the travel model is solved over only the pairs that
can matter (each unit's cheapest pairs first; others enter when their reduced
cost is negative). From its duals, :func:`lagrangian` computes, in numpy over
*all* usable pairs, a Lagrangian lower bound ``L`` and a reduced cost ``rc``
per pair. Both are valid for any dual vector, so LP tolerances cannot make
them wrong. :class:`PairBounds` turns them into the exact reduction: a plan
using pair ``k`` costs at least ``L + rc[k]`` (plus ``rc`` of its venue's self
pair), so pairs above the best known plan can be dropped.

The LP is solved with HiGHS through ``highspy`` when it is installed (the LP
is then modified in place and re-solved from the previous basis), else with
OR-Tools' GLOP, rebuilt at each round.

highspy's banner: ``highspy.Highs()`` calls a HiGHS method (``setCallback``)
in its constructor, before any option can be set, and HiGHS prints its
"Running HiGHS ..." banner on the first method call of a process that finds
``output_flag`` on. :func:`new_highs` therefore builds the plain binding class
``highspy._Highs`` (exported in ``highspy.__all__``; ``Highs`` only adds
Python callbacks on top) and sets ``output_flag`` off as its very first call,
as HiGHS' maintainers advise (ERGO-Code/HiGHS#1702). No file descriptor is
touched.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from cluster_mapper.model.formulation import Formulation, Rows, link_rows

try:  # the fast LP path; GLOP is the fallback
    import highspy
except ImportError:  # pragma: no cover - depends on the environment
    highspy = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_INF = math.inf
# pairs per unit in the first LP, and most pairs added per pricing round (at least 100)
START_PER_UNIT = 8
ADD_PER_UNIT = 2


def new_highs() -> Any:
    """A silent, single-threaded, seeded HiGHS instance (no banner on stdout).

    ``output_flag`` is set off before any other call: see the module docstring.
    """
    cls = getattr(highspy, "_Highs", None) or highspy.Highs
    h = cls()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    return h


def solve_lp_glop(M, lo, hi, c, col_lower=None):
    """Minimise ``c x`` over ``lo <= M x <= hi``, ``col_lower <= x <= 1`` with GLOP.

    Used when highspy is missing.

    Returns
    -------
    (status, x, duals)
        ``status`` is "optimal", "infeasible" or "error"; ``x`` and the row
        ``duals`` are None unless optimal. Duals follow the convention
        ``c - M^T duals = reduced costs``.
    """
    from ortools.linear_solver.python import model_builder_helper as mbh

    ncol = M.shape[1]
    col_lower = np.zeros(ncol) if col_lower is None else np.asarray(col_lower, dtype=float)
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        col_lower,
        np.ones(ncol),
        np.asarray(c, dtype=float),
        np.asarray(lo, dtype=float),
        np.asarray(hi, dtype=float),
        M.tocsr().astype(float),
    )
    solver = mbh.ModelSolverHelper("glop")
    solver.solve(model)
    status = solver.status()
    if status == mbh.SolveStatus.OPTIMAL:
        return "optimal", np.array(solver.variable_values()), np.array(solver.dual_values())
    if status == mbh.SolveStatus.INFEASIBLE:
        return "infeasible", None, None
    return "error", None, None


def lagrangian(form: Formulation, main: Rows, y_main, link_cols, y_link, objective, col_lower=None):
    """Lagrangian bound and reduced costs over all usable pairs, from any duals.

    Valid for any dual vector: signs are projected, and every pair (in the LP
    or not) is priced, so the bound never depends on LP tolerances.

    Parameters
    ----------
    form : Formulation
    main : Rows
        The main rows the duals ``y_main`` belong to.
    y_main : numpy.ndarray
        Duals of the main rows.
    link_cols, y_link : numpy.ndarray
        Columns whose link ``x[k] <= y[j]`` is in the LP, and those links' duals
        (the links of the other pairs have dual 0).
    objective : numpy.ndarray
        Objective coefficient of each column.
    col_lower : numpy.ndarray, optional
        0 or 1 per column: the bound is for ``x >= col_lower`` (the dive).

    Returns
    -------
    (L, rc)
        The bound, in the objective's unit, and the reduced cost of each column.
    """
    A, lo, hi = main
    y = np.asarray(y_main, dtype=float).copy()
    y = np.where(np.isfinite(lo), y, np.minimum(y, 0.0))
    y = np.where(np.isfinite(hi), y, np.maximum(y, 0.0))
    bound_terms = np.where(y > 0, np.where(np.isfinite(lo), lo, 0.0) * y, np.where(np.isfinite(hi), hi, 0.0) * y)
    rc = objective - A.T @ y
    v = np.minimum(np.asarray(y_link, dtype=float), 0.0)  # x_k - y_j <= 0
    rc[link_cols] -= v
    np.add.at(rc, form.self_col[form.venue[link_cols]], v)
    L = float(bound_terms.sum() + np.minimum(rc, 0.0).sum())
    if col_lower is not None:
        L += float((col_lower * np.maximum(rc, 0.0)).sum())
    return L, rc


class RelaxationLP:
    """The LP relaxation over all usable pairs, by column-and-row generation.

    Only some pairs are in the LP; the others are priced with the duals (their
    link rows have dual 0) and the most negative ones added until none is left.
    With highspy the LP is modified in place and re-solved from the previous
    basis; with GLOP it is rebuilt each round.

    Parameters
    ----------
    form : Formulation
    main : Rows
        The model's main rows (see :meth:`Formulation.main_rows`).
    start_per_unit : int
        Cheapest pairs per unit in the first LP (doubled while it is infeasible).
    """

    def __init__(self, form: Formulation, main: Rows, start_per_unit: int = START_PER_UNIT):
        self.form = form
        self.main = main
        A, lo, hi = main
        self.A_csc = A.tocsc()
        self.n_main = A.shape[0]
        self.in_set = np.zeros(form.P, dtype=bool)
        self.pos = np.full(form.P, -1, dtype=np.int64)
        self.cols = np.zeros(0, dtype=np.int64)
        self.link_cols = np.zeros(0, dtype=np.int64)
        self.col_lower = np.zeros(form.P)
        self.rank = form.rank_per_unit(form.cost)
        self.k = start_per_unit
        self.duals: tuple[np.ndarray, np.ndarray] | None = None  # (main rows, links) of the last LP solved
        self.h = None
        if highspy is not None:
            h = new_highs()
            h.setOptionValue("presolve", "off")
            inf = highspy.kHighsInf
            h.addRows(
                self.n_main,
                np.where(np.isfinite(lo), lo, -inf),
                np.where(np.isfinite(hi), hi, inf),
                0,
                np.zeros(self.n_main, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0),
            )
            self.h = h
        self._add(np.flatnonzero(form.is_self))
        self._add(np.flatnonzero((self.rank < self.k) & ~self.in_set))

    def _add(self, new: np.ndarray) -> None:
        """Add columns (and their links) to the LP."""
        new = np.sort(np.asarray(new, dtype=np.int64))
        if len(new) == 0:
            return
        F = self.form
        first = len(self.cols)
        self.pos[new] = first + np.arange(len(new))
        self.in_set[new] = True
        self.cols = np.concatenate([self.cols, new])
        lk = new[~F.is_self[new]]
        self.link_cols = np.concatenate([self.link_cols, lk])
        if self.h is None:
            return
        sub = self.A_csc[:, new]
        self.h.addCols(
            len(new),
            F.cost[new],
            self.col_lower[new],
            np.ones(len(new)),
            sub.nnz,
            sub.indptr[:-1].astype(np.int32),
            sub.indices.astype(np.int32),
            sub.data.astype(float),
        )
        L = len(lk)
        if L:
            idx = np.empty(2 * L, dtype=np.int32)
            idx[0::2] = self.pos[lk]
            idx[1::2] = self.pos[F.self_col[F.venue[lk]]]
            val = np.tile([1.0, -1.0], L)
            self.h.addRows(L, np.full(L, -highspy.kHighsInf), np.zeros(L), 2 * L, np.arange(0, 2 * L, 2, dtype=np.int32), idx, val)

    def fix_lower(self, pairs: np.ndarray) -> None:
        """Require ``x >= 1`` for these columns (the dive opens venues)."""
        pairs = np.asarray(pairs, dtype=np.int64)
        self.col_lower[pairs] = 1.0
        missing = pairs[~self.in_set[pairs]]
        self._add(missing)
        if self.h is not None:
            q = self.pos[pairs].astype(np.int32)
            self.h.changeColsBounds(len(q), q, np.ones(len(q)), np.ones(len(q)))

    def _run(self):
        """Solve the current LP: (status, x over its columns, row duals)."""
        F = self.form
        if self.h is not None:
            self.h.run()
            st = self.h.getModelStatus()
            if st == highspy.HighsModelStatus.kOptimal:
                sol = self.h.getSolution()
                return "optimal", np.array(sol.col_value), np.array(sol.row_dual)
            if st in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                return "infeasible", None, None
            return "error", None, None
        _, lo, hi = self.main
        As = self.A_csc[:, self.cols].tocsr()
        L = len(self.link_cols)
        links = link_rows(self.pos[self.link_cols], self.pos[F.self_col[F.venue[self.link_cols]]], len(self.cols))
        M = sp.vstack([As, links], format="csr")
        return solve_lp_glop(
            M, np.concatenate([lo, np.full(L, -_INF)]), np.concatenate([hi, np.zeros(L)]), F.cost[self.cols], col_lower=self.col_lower[self.cols]
        )

    def solve(self, deadline: float, expand: bool = True):
        """Solve the LP over all usable pairs (pricing in the missing ones).

        Parameters
        ----------
        deadline : float
            ``time.perf_counter()`` after which pricing stops ("stopped": the
            bound and reduced costs are still valid, only weaker).
        expand : bool
            While the LP is infeasible, double the pairs per unit (else report
            "infeasible" at once; the dive's fixings can make it so).

        Returns
        -------
        (status, L, rc, x)
            ``status`` is "optimal", "stopped", "infeasible" or "error"; the
            Lagrangian bound ``L``, reduced costs ``rc`` and LP values ``x``
            are over all usable pairs (None unless optimal or stopped).
        """
        F = self.form
        tol = 1e-7 * max(1.0, float(np.abs(F.cost).max(initial=1.0)))
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
            L, rc = lagrangian(F, self.main, duals[: self.n_main], self.link_cols, duals[self.n_main :], F.cost, self.col_lower)
            self.duals = (duals[: self.n_main], duals[self.n_main :])
            x = np.zeros(F.P)
            x[self.cols] = xs
            neg = np.flatnonzero((rc < -tol) & ~self.in_set)
            log.debug("lp %d cols: L=%.4f, %d negative", len(self.cols), L, len(neg))
            if len(neg) == 0:
                return "optimal", L, rc, x
            if time.perf_counter() > deadline:
                return "stopped", L, rc, x
            neg = neg[np.lexsort((neg, rc[neg]))]
            self._add(neg[: max(ADD_PER_UNIT * F.n, 100)])


def kept_assignment_bound(
    form: Formulation, main: Rows, y_main, link_cols, y_link, objective, outside_cost: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Lagrangian bound with the assignment rows kept, valid also for pairs that are not in the model.

    Every row but ``sum_j x[i, j] <= 1`` (or ``= 1``) is dualised; each unit
    then picks its single cheapest column by reduced cost (or none, when it
    need not be placed). Pairs missing from the model (a sparse candidate
    set) are priced by a lower bound: a missing pair of unit ``i`` costs at
    least ``outside_cost[i]`` and its venue rows' duals are bounded by the
    most favourable venue, so the bound holds for the complete problem.
    It is never below :func:`lagrangian` for the same duals.

    Parameters
    ----------
    form : Formulation
        Its :meth:`~Formulation.main_rows` must have built ``main``.
    main, y_main, link_cols, y_link, objective
        As for :func:`lagrangian`.
    outside_cost : numpy.ndarray, optional
        Per unit, a lower bound on the objective coefficient of any of its
        pairs that are not columns of ``form`` (``inf``: none missing).
        None: the columns are the complete problem.

    Returns
    -------
    (L, rc_outside)
        The bound (objective's unit) and, per unit, a lower bound on the LP
        reduced cost of its missing pairs (``inf`` where none is missing). A
        negative value says that unit's missing pairs may improve the LP:
        add them (those cheaper than ``outside_cost - rc_outside``) and solve
        again.
    """
    A, lo, hi = main
    F = form
    y = np.asarray(y_main, dtype=float).copy()
    y = np.where(np.isfinite(lo), y, np.minimum(y, 0.0))
    y = np.where(np.isfinite(hi), y, np.maximum(y, 0.0))
    terms = np.where(y > 0, np.where(np.isfinite(lo), lo, 0.0) * y, np.where(np.isfinite(hi), hi, 0.0) * y)
    rc = objective - A.T @ y
    v = np.minimum(np.asarray(y_link, dtype=float), 0.0)
    rc[link_cols] -= v
    np.add.at(rc, F.self_col[F.venue[link_cols]], v)
    layout = F.layout
    units = layout["unit_rows"]
    nu = len(units)
    unit_row = np.full(F.n, -1, dtype=np.int64)
    unit_row[units] = np.arange(nu)
    rcp = rc + y[unit_row[F.member]]  # the unit's own assignment dual taken out
    best = np.full(F.n, _INF)
    np.minimum.at(best, F.member, rcp)
    rc_out = np.full(F.n, _INF)
    if outside_cost is not None:
        a_dem = np.zeros(F.n)
        a_one = np.zeros(F.n)
        V = len(F.venues)
        for start, kind in layout["venue_blocks"]:
            (a_dem if kind == "teachers" else a_one)[F.venues] += y[start : start + V]
        y_mp = y[layout["min_placed_row"]] if layout["min_placed_row"] is not None else 0.0
        has = np.flatnonzero(np.isfinite(outside_cost))
        dem = F.teachers.astype(float)
        amax = np.full(F.n, -_INF)
        if V:
            for d in np.unique(dem[has]):
                amax[has[dem[has] == d]] = float(np.max(d * a_dem[F.venues] + a_one[F.venues]))
            rc_out[has] = outside_cost[has] - dem[has] * y_mp - amax[has]
        best = np.minimum(best, rc_out)
    need = np.zeros(F.n, dtype=bool)
    need[units] = lo[:nu] > 0
    finite = np.isfinite(best)
    g = np.where(need, best, np.minimum(best, 0.0))
    L = float(terms[nu:].sum() + g[finite].sum())
    if np.any(need & ~finite):  # a unit that must be placed has no column: no plan at all
        L = _INF
    # the LP reduced cost of the missing pairs (assignment dual included): negative = they may improve the LP
    y_unit = np.zeros(F.n)
    y_unit[units] = y[:nu]
    return L, rc_out - y_unit


@dataclass(frozen=True, eq=False)
class PairBounds:
    """A lower bound on the cost of any plan that uses each pair (the exact reduction).

    Attributes
    ----------
    form : Formulation
    values : numpy.ndarray of float
        Per column: ``L + max(rc, 0)`` of the pair plus that of its venue's
        self pair; ``-inf`` everywhere when there is no LP bound.
    delta : float
        A better plan is better by at least this much (1 for integral costs).
    """

    form: Formulation
    values: np.ndarray
    delta: float

    @classmethod
    def from_lp(cls, form: Formulation, L: float | None, rc: np.ndarray | None) -> PairBounds:
        """From the Lagrangian bound and reduced costs, or no bound when ``L`` is None."""
        delta = 1.0 if form.integral_cost else 0.0
        if L is None or rc is None:
            return cls(form, np.full(form.P, -_INF), delta)
        pos = np.maximum(rc, 0.0)
        values = L + pos
        nonself = ~form.is_self
        values[nonself] += pos[form.self_col[form.venue[nonself]]]
        return cls(form, values, delta)

    def useful(self, ub: float) -> np.ndarray:
        """Columns that can be in a plan better than ``ub`` (with their venue's self pair)."""
        F = self.form
        keep = self.values <= ub - self.delta + 1e-6 * max(1.0, abs(ub))
        return keep & keep[F.self_col[F.venue]]
