"""The mixed-integer solves: the model on a subset of its pairs, through OR-Tools.

Every integer step (the placement, the incumbent's assignment, locate-allocate,
each neighbourhood of the search and the final exact solve) is a call to
:meth:`MipSolver.solve` on some columns of one :class:`Formulation`.

The solver is HiGHS through ``pywraplp`` by default; SCIP, CBC and CP-SAT are
selectable. Every backend runs single-threaded with a fixed seed (CP-SAT with
two workers, a fixed seed and a deterministic-time limit in place of the node
limit) and an exact gap (``mip_rel_gap = 0``), so the same model with the
same node limit gives the same plan unless the time limit, a ceiling, cuts
it; :attr:`MipSolver.time_cuts` counts the solves the clock stopped.

Notes on OR-Tools' HiGHS wrapper (9.15):

* ``SetHint`` writes past the end of an empty vector and crashes the process,
  so hints are never passed to HiGHS.
* ``BestBound()`` just repeats the objective, so HiGHS' bound is only trusted
  when it proves optimality.
* A HiGHS solve stopped by its time or node limit returns no plan at all,
  however good the one it had.
* Its banner is turned off with the ``output_flag`` and ``log_to_console``
  options, set before the solve.

:func:`highs_mip` goes to HiGHS through ``highspy`` instead, which has none
of these limits: it takes a start plan, keeps its best plan and reports a
valid bound when its node or time limit stops it. The block solver of
:mod:`.large` and the exact step of :mod:`.solve` use it when highspy is
installed.
"""

from __future__ import annotations

import logging
import math
import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]

from cluster_mapper.model import bound as _lp
from cluster_mapper.model.bound import new_highs
from cluster_mapper.model.formulation import Formulation, Rows

log = logging.getLogger(__name__)

BACKENDS = ("SCIP", "HIGHS", "CBC", "CP_SAT")
DEFAULT_BACKEND = "HIGHS"

# The shortest time limit given to a backend, milliseconds.
MIN_TIME_LIMIT_MS = 200
# Time charged per column for building the model and reading the plan back, seconds.
READBACK_SECONDS_PER_COLUMN = 1e-5


class MipResult(NamedTuple):
    """Result of one mixed-integer solve.

    Attributes
    ----------
    status : {"optimal", "feasible", "infeasible", "unknown"}
    chosen : numpy.ndarray of int
        The columns set to 1 (empty unless optimal or feasible).
    value : float
        Objective of ``chosen``, in the objective's unit.
    bound : float or None
        A proven bound on the submodel's optimum, None when the backend gives
        none (always None from HiGHS unless optimal).
    """

    status: str
    chosen: np.ndarray
    value: float
    bound: float | None


class MipSolver:
    """Solve the model on a subset of its columns with one OR-Tools backend.

    Parameters
    ----------
    backend : str
        One of :data:`BACKENDS`.
    root_cut_rounds : int, optional
        SCIP only: most rounds of cutting planes at the root, none below it
        (default: SCIP's own). Small models started from a good plan (the
        block-and-regroup solver's parts) spend most of their time there, and
        a few models many seconds whatever the node limit; the limit is a
        count, so the result still does not depend on the machine.
    """

    def __init__(self, backend: str = DEFAULT_BACKEND, *, root_cut_rounds: int | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
        self.backend = backend
        self.root_cut_rounds = root_cut_rounds
        #: Solves stopped by their time limit (not by their node limit or a proof): their result depends on the machine.
        self.time_cuts = 0

    def _new_solver(self, max_nodes: int | None):
        """A seeded, single-threaded, quiet solver of the backend (with a node limit, if set)."""
        backend = self.backend
        solver = pywraplp.Solver.CreateSolver(backend)
        if solver is None:  # pragma: no cover - depends on the OR-Tools build
            raise RuntimeError(f"OR-Tools has no {backend} solver")
        if backend == "CP_SAT":
            work = f", max_deterministic_time: {max_nodes / 1000.0:g}" if max_nodes else ""
            solver.SetSolverSpecificParametersAsString("num_workers: 2, random_seed: 1" + work)
        elif backend == "SCIP":
            nodes = f"limits/nodes = {int(max_nodes)}\n" if max_nodes else ""
            if self.root_cut_rounds is not None:
                nodes += f"separating/maxroundsroot = {int(self.root_cut_rounds)}\nseparating/maxrounds = 0\n"
            solver.SetSolverSpecificParametersAsString("randomization/randomseedshift = 0\n" + nodes)
        elif backend == "HIGHS":
            # output_flag/log_to_console: no "Running HiGHS" banner on stdout
            nodes = f"\nmip_max_nodes={int(max_nodes)}" if max_nodes else ""
            solver.SetSolverSpecificParametersAsString(
                "output_flag=false\nlog_to_console=false\nmip_rel_gap=0\nmip_abs_gap=1e-9\nrandom_seed=0\nthreads=1" + nodes
            )
        if backend not in ("CP_SAT", "HIGHS"):
            solver.SetNumThreads(1)
        return solver

    def solve(
        self,
        form: Formulation,
        main: Rows,
        cols,
        objective: np.ndarray,
        seconds: float,
        maximize: bool = False,
        hint_cols=None,
        fixed_cols=None,
        max_nodes: int | None = None,
    ) -> MipResult:
        """Solve the model restricted to columns ``cols``.

        Parameters
        ----------
        form : Formulation
        main : Rows
            The main rows; the links of ``cols`` are added.
        cols : array of int
            The columns of the submodel (sorted); the others are 0.
        objective : numpy.ndarray
            Coefficient of every column of ``form``.
        seconds : float
            Wall-clock budget, seconds, including building the model and
            reading the plan back.
        maximize : bool
            Maximise instead of minimise.
        hint_cols : array of int, optional
            A plan to start from (ignored by HiGHS: see the module docstring).
        fixed_cols : array of int, optional
            Columns (a subset of ``cols``) fixed to 1.
        max_nodes : int, optional
            Branch-and-bound node limit (HiGHS and SCIP). Unlike a time limit,
            it keeps the result independent of the machine's speed.
        """
        t_start = time.perf_counter()
        backend = self.backend
        cols = np.asarray(cols, dtype=np.int64)
        if len(cols) == 0:
            return MipResult("infeasible", cols, 0.0, None)
        M, lo, hi = form.sub_rows(main, cols)
        solver = self._new_solver(max_nodes)
        x = [solver.BoolVar(f"x{k}") for k in range(len(cols))]
        if fixed_cols is not None:
            for f in np.flatnonzero(np.isin(cols, fixed_cols)):
                x[f].SetLb(1.0)
        indptr, indices, data = M.indptr, M.indices, M.data
        inf = solver.infinity()
        for r in range(M.shape[0]):
            ct = solver.Constraint(-inf if not np.isfinite(lo[r]) else float(lo[r]), inf if not np.isfinite(hi[r]) else float(hi[r]))
            for q in range(indptr[r], indptr[r + 1]):
                ct.SetCoefficient(x[indices[q]], float(data[q]))
        obj = objective[cols]
        o = solver.Objective()
        for q in range(len(cols)):
            if obj[q] != 0:
                o.SetCoefficient(x[q], float(obj[q]))
        if maximize:
            o.SetMaximization()
        else:
            o.SetMinimization()
        if hint_cols is not None and backend in ("SCIP", "CP_SAT", "CBC"):  # HiGHS: SetHint crashes
            on = np.isin(cols, hint_cols)
            solver.SetHint(x, [1.0 if v else 0.0 for v in on])
        # the budget includes building the model and reading the solution back
        left = seconds - (time.perf_counter() - t_start) - READBACK_SECONDS_PER_COLUMN * len(cols)
        limit_ms = max(MIN_TIME_LIMIT_MS, int(left * 1000))
        solver.SetTimeLimit(limit_ms)
        params = pywraplp.MPSolverParameters()
        if backend != "CP_SAT":
            params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, 0.0)
        t_solve = time.perf_counter()
        st = solver.Solve(params)
        solve_ms = 1000 * (time.perf_counter() - t_solve)
        log.debug("mip %d cols, %d rows: status %s, %d nodes, %.0f ms", len(cols), M.shape[0], st, solver.nodes(), solve_ms)
        if st not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.INFEASIBLE) and solve_ms >= 0.95 * limit_ms:
            self.time_cuts += 1
        if st in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            chosen = cols[np.array([v.solution_value() > 0.5 for v in x])]
            value = float(obj[np.isin(cols, chosen)].sum())
            if st == pywraplp.Solver.OPTIMAL:
                return MipResult("optimal", chosen, value, value)
            bound = None
            if backend != "HIGHS":  # OR-Tools' HiGHS wrapper reports the objective as bound
                b = float(solver.Objective().BestBound())
                if math.isfinite(b):
                    bound = b
            return MipResult("feasible", chosen, value, bound)
        if st == pywraplp.Solver.INFEASIBLE:
            return MipResult("infeasible", cols[:0], 0.0, None)
        return MipResult("unknown", cols[:0], 0.0, None)


def highspy_available() -> bool:
    """Whether :func:`highs_mip` can run (highspy installed; the LP falls back to GLOP without it)."""
    return _lp.highspy is not None


#: HiGHS's primal heuristics that :func:`highs_mip` turns off with ``heuristics=False``.
HIGHS_HEURISTICS = (
    "mip_heuristic_run_rins",
    "mip_heuristic_run_rens",
    "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_zi_round",
    "mip_heuristic_run_shifting",
)


class StandIns(NamedTuple):
    """The pairs left out of a sparse model, stood in for in :func:`highs_mip`.

    Unit ``units[k]`` may join a venue through a pair not in the model, at a
    cost of at least ``cost[k]`` (objective's unit; e.g. its nearest pair
    left out). In the model it may instead take a *stand-in*: its teachers
    and its one school then count towards the venues' size rows as teachers
    and schools arriving from outside (``s[j]``, ``t[j]``), and what the
    stand-ins bring is what the venues receive (one row each). Every plan of
    the complete problem is a solution of that model costing no more (its
    pairs left out become stand-ins), so the model's optimum, or HiGHS's
    bound, is a lower bound for the complete problem; a solution without
    stand-ins is a plan of it.

    Attributes
    ----------
    units : numpy.ndarray of int
    cost : numpy.ndarray of float
    """

    units: np.ndarray
    cost: np.ndarray


def _with_standins(form: Formulation, rows: Rows, cost: np.ndarray, standins: StandIns) -> tuple[Rows, np.ndarray, np.ndarray]:
    """The model on every column of ``form`` with the stand-in columns and rows of :class:`StandIns` added.

    ``rows`` are :meth:`Formulation.sub_rows` on every column (so every main
    row keeps its place, links after them). Returns the rows, the costs and
    the upper bounds of all columns: the pairs, one stand-in per unit, then
    per kind of venue row (teachers, schools) one variable per venue.
    """
    M, lo, hi = rows
    lay = form.layout
    units = np.asarray(standins.units, dtype=np.int64)
    unit_row = np.full(form.n, -1, dtype=np.int64)
    unit_row[lay["unit_rows"]] = np.arange(len(lay["unit_rows"]))
    ok = unit_row[units] >= 0
    units, scost = units[ok], np.asarray(standins.cost, dtype=float)[ok]
    S, V, R = len(units), len(form.venues), M.shape[0]
    d = form.teachers[units].astype(float)
    kinds = sorted({kind for _, kind in lay["venue_blocks"]})
    base = {kind: S + i * V for i, kind in enumerate(kinds)}
    r_, c_, v_ = [unit_row[units]], [np.arange(S)], [np.ones(S)]
    for r0, kind in lay["venue_blocks"]:  # what arrives from outside counts in each venue's size rows
        r_.append(r0 + np.arange(V))
        c_.append(base[kind] + np.arange(V))
        v_.append(np.ones(V))
    if lay["min_placed_row"] is not None:
        r_.append(np.full(S, lay["min_placed_row"]))
        c_.append(np.arange(S))
        v_.append(d)
    for i, kind in enumerate(kinds):  # what the stand-ins bring is what the venues receive
        r_ += [np.full(S, R + i), np.full(V, R + i)]
        c_ += [np.arange(S), base[kind] + np.arange(V)]
        v_ += [d if kind == "teachers" else np.ones(S), -np.ones(V)]
    E = sp.csr_matrix((np.concatenate(v_), (np.concatenate(r_), np.concatenate(c_))), shape=(R + len(kinds), S + len(kinds) * V))
    A = sp.hstack([sp.vstack([M, sp.csr_matrix((len(kinds), M.shape[1]))]), E], format="csr")
    zeros = np.zeros(len(kinds))
    full_cost = np.concatenate([cost, scost, np.zeros(len(kinds) * V)])
    upper = np.concatenate([np.ones(M.shape[1] + S), np.full(len(kinds) * V, math.inf)])
    return Rows(A, np.concatenate([lo, zeros]), np.concatenate([hi, zeros])), full_cost, upper


def highs_mip(
    form: Formulation,
    main: Rows,
    cols: np.ndarray,
    objective: np.ndarray,
    seconds: float,
    *,
    start_cols: np.ndarray | None = None,
    max_nodes: int | None = None,
    heuristics: bool = True,
    standins: StandIns | None = None,
) -> tuple[MipResult, bool]:
    """The model restricted to columns ``cols`` (sorted), minimised with HiGHS through highspy.

    Single-threaded and seeded like :class:`MipSolver`. ``start_cols`` is a
    plan to start from; ``max_nodes`` the work limit and ``seconds`` a
    ceiling; ``heuristics=False`` turns HiGHS's sub-MIP and rounding
    heuristics off (:data:`HIGHS_HEURISTICS`), for a solve that starts from a
    plan the bounds say is close to optimal: its work then goes to the proof.
    A stopped solve keeps its best plan (checked against every row) and
    HiGHS's bound.

    With ``standins`` (``cols`` every column of a sparse model) the pairs
    left out are stood in for (:class:`StandIns`): the bound returned holds
    for the complete problem, ``chosen`` is the best solution found without
    a stand-in (a plan of the complete problem), and the status is
    ``optimal`` only when the optimum takes no stand-in.

    Returns
    -------
    (MipResult, cut)
        ``cut``: the time limit stopped the solve.
    """
    import highspy

    cols = np.asarray(cols, dtype=np.int64)
    if len(cols) == 0:
        return MipResult("infeasible", cols, 0.0, None), False
    rows = form.sub_rows(main, cols)
    cost, upper = objective[cols], np.ones(len(cols))
    if standins is not None:
        rows, cost, upper = _with_standins(form, rows, cost, standins)
    M, lo, hi = rows
    Mc = M.tocsc()
    n_cols = M.shape[1]
    h = new_highs()
    h.setOptionValue("time_limit", max(0.05, float(seconds)))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    if not heuristics:
        for name in HIGHS_HEURISTICS:
            h.setOptionValue(name, False)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, M.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = np.where(np.isfinite(upper), upper, inf)
    lp.row_lower_ = np.where(np.isfinite(lo), lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(hi), hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = Mc.indptr
    lp.a_matrix_.index_ = Mc.indices
    lp.a_matrix_.value_ = Mc.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols
    h.passModel(lp)
    if start_cols is not None:
        start = highspy.HighsSolution()
        start.col_value = list(np.concatenate([np.isin(cols, start_cols), np.zeros(n_cols - len(cols))]).astype(float))
        start.value_valid = True
        h.setSolution(start)
    plans: list[np.ndarray] = []  # with stand-ins: the improving solutions that take none, in order
    if standins is not None:

        def keep_plan(_type, _message, out, _in, _user) -> None:
            x = np.asarray(out.mip_solution)
            if len(x) == n_cols and not np.any(x[len(cols) :] > 0.5):
                plans.append(x[: len(cols)] > 0.5)

        h.setCallback(keep_plan, None)
        h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)
    t0 = time.perf_counter()
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    log.debug("highs mip %d cols: %s, %d nodes, %.0f ms", n_cols, h.modelStatusToString(status), info.mip_node_count, 1000 * (time.perf_counter() - t0))
    cut = status == highspy.HighsModelStatus.kTimeLimit
    if status == highspy.HighsModelStatus.kInfeasible:
        return MipResult("infeasible", cols[:0], 0.0, None), cut
    optimal = status == highspy.HighsModelStatus.kOptimal
    bound = float(info.objective_function_value if optimal else info.mip_dual_bound)
    bound_or_none = bound if math.isfinite(bound) else None
    no_plan = MipResult("unknown", cols[:0], 0.0, bound_or_none if standins is not None else None)  # the stand-ins' bound holds without a plan
    if int(info.primal_solution_status) != int(highspy.kSolutionStatusFeasible):  # no plan
        return no_plan, cut
    x = np.asarray(h.getSolution().col_value) > 0.5
    if standins is not None:
        if np.any(x[len(cols) :]):  # the best solution takes a stand-in: the best one without
            optimal = False
            if not plans:
                return no_plan, cut
            x = plans[-1]
        x = x[: len(cols)]
    chosen = cols[x]
    if not form.is_feasible(main, chosen):  # pragma: no cover - HiGHS' tolerances
        return no_plan, cut
    value = float(objective[chosen].sum())
    if optimal:
        return MipResult("optimal", chosen, value, value), cut
    return MipResult("feasible", chosen, value, bound_or_none), cut
