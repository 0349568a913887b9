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
:mod:`.large` and the exact step after the knapsack bound (:mod:`.solve`)
use it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import NamedTuple

import numpy as np
from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]

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


#: HiGHS's primal heuristics that :func:`highs_mip` turns off with ``heuristics=False``.
HIGHS_HEURISTICS = (
    "mip_heuristic_run_rins",
    "mip_heuristic_run_rens",
    "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_zi_round",
    "mip_heuristic_run_shifting",
)


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
) -> tuple[MipResult, bool]:
    """The model restricted to columns ``cols`` (sorted), minimised with HiGHS through highspy.

    Single-threaded and seeded like :class:`MipSolver`. ``start_cols`` is a
    plan to start from; ``max_nodes`` the work limit and ``seconds`` a
    ceiling; ``heuristics=False`` turns HiGHS's sub-MIP and rounding
    heuristics off (:data:`HIGHS_HEURISTICS`), for a solve that starts from a
    plan the bounds say is close to optimal: its work then goes to the proof.
    A stopped solve keeps its best plan (checked against every row) and
    HiGHS's bound.

    Returns
    -------
    (MipResult, cut)
        ``cut``: the time limit stopped the solve.
    """
    import highspy

    cols = np.asarray(cols, dtype=np.int64)
    if len(cols) == 0:
        return MipResult("infeasible", cols, 0.0, None), False
    M, lo, hi = form.sub_rows(main, cols)
    Mc = M.tocsc()
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
    lp.num_col_, lp.num_row_ = len(cols), M.shape[0]
    lp.col_cost_ = objective[cols]
    lp.col_lower_ = np.zeros(len(cols))
    lp.col_upper_ = np.ones(len(cols))
    lp.row_lower_ = np.where(np.isfinite(lo), lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(hi), hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = Mc.indptr
    lp.a_matrix_.index_ = Mc.indices
    lp.a_matrix_.value_ = Mc.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * len(cols)
    h.passModel(lp)
    if start_cols is not None:
        start = highspy.HighsSolution()
        start.col_value = list(np.isin(cols, start_cols).astype(float))
        start.value_valid = True
        h.setSolution(start)
    t0 = time.perf_counter()
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    log.debug("highs mip %d cols: %s, %d nodes, %.0f ms", len(cols), h.modelStatusToString(status), info.mip_node_count, 1000 * (time.perf_counter() - t0))
    cut = status == highspy.HighsModelStatus.kTimeLimit
    if status == highspy.HighsModelStatus.kInfeasible:
        return MipResult("infeasible", cols[:0], 0.0, None), cut
    if int(info.primal_solution_status) != int(highspy.kSolutionStatusFeasible):  # no plan
        return MipResult("unknown", cols[:0], 0.0, None), cut
    chosen = cols[np.asarray(h.getSolution().col_value) > 0.5]
    if not form.is_feasible(main, chosen):  # pragma: no cover - HiGHS' tolerances
        return MipResult("unknown", cols[:0], 0.0, None), cut
    value = float(objective[chosen].sum())
    if status == highspy.HighsModelStatus.kOptimal:
        return MipResult("optimal", chosen, value, value), cut
    bound = float(info.mip_dual_bound)
    return MipResult("feasible", chosen, value, bound if math.isfinite(bound) else None), cut
