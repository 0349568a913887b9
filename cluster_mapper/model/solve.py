"""The solve: placement first, then least travel, with a proven bound.

:class:`ClusterModel` is built from a :class:`ClusterProblem` and solved with
:meth:`ClusterModel.solve`, which returns a :class:`ClusterSolution` (also kept
as ``model.solution``). It drives the other modules of the package: the
formulation, the LP bound, the heuristics and the mixed-integer solves; the
package docstring explains the method.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cluster_mapper.model.bound import PairBounds, RelaxationLP
from cluster_mapper.model.budget import SolveBudget
from cluster_mapper.model.construct import greedy_plan
from cluster_mapper.model.formulation import ClusterProblem, Formulation
from cluster_mapper.model.knapsack import dense_knapsack_bound, knapsack_pair_bounds
from cluster_mapper.model.lagrange import pair_bounds, size_lagrangian
from cluster_mapper.model.mip import DEFAULT_BACKEND, MipResult, MipSolver, highs_mip, highspy_available
from cluster_mapper.model.search import Incumbent, IncumbentSearch

log = logging.getLogger(__name__)

_NO_PLAN_IN_TIME = "the solver found no plan within the time limit"
#: The note of a plan that is the greedy floor (callers that complete such a plan replace it).
GREEDY_NOTE = (
    "the search found no plan in its time: this plan is the greedy construction (improved by locate-allocate); "
    "its lower bound is 0, so give the district more time_limit_seconds for a proven plan"
)


def relative_gap(objective: float, lower_bound: float) -> float:
    """Relative gap ``(objective - lower_bound) / objective``, 0 for a zero objective, never negative."""
    if objective <= 1e-9:
        return 0.0
    return max(0.0, (objective - lower_bound) / objective)


@dataclass
class ClusterSolution:
    """Result of solving one :class:`ClusterProblem`.

    Attributes
    ----------
    venue_of : numpy.ndarray of int
        Venue unit of each unit, -1 when not placed.
    objective : float
        Travel of the plan: teacher-minutes, or minutes for ``school_trips``.
    lower_bound : float
        A proven lower bound on the travel of any plan placing as many
        teachers (same unit as ``objective``, never above it).
    placed_teachers : int
        Teachers placed.
    placement_proven : bool
        No plan places more teachers.
    status : {"optimal", "time_limit", "infeasible", "no_solution"}
    solve_seconds : float
        Wall-clock time of the solve, seconds.
    backend : str
        The mixed-integer backend used.
    notes : list of str
        Plain-language remarks (limits hit, infeasibility).
    time_cut : bool
        The wall clock stopped a step before its work was done: the plan
        may differ from run to run (a note names the steps).
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
    time_cut: bool = False

    @property
    def gap(self) -> float:
        """Relative gap between the objective and the proven lower bound."""
        return relative_gap(self.objective, self.lower_bound)


class ClusterModel:
    """The model of one :class:`ClusterProblem`; call :meth:`solve`.

    Parameters
    ----------
    problem : ClusterProblem
    backend : str
        Mixed-integer backend, one of ``BACKENDS`` (default HiGHS).
    budget : SolveBudget, optional
        How the time limit is shared between the steps (default
        ``SolveBudget()``).

    Attributes
    ----------
    solution : ClusterSolution or None
        The last solve's result.
    """

    def __init__(self, problem: ClusterProblem, backend: str = DEFAULT_BACKEND, budget: SolveBudget | None = None):
        self.mip = MipSolver(backend)  # checks the backend
        self.problem = problem
        self.backend = backend
        self.budget = budget if budget is not None else SolveBudget()
        self.solution: ClusterSolution | None = None
        self._t0 = 0.0  # time.perf_counter() at the start of the current solve
        self._limit = 0.0
        self._work = 0.0
        self._cuts: list[str] = []  # steps the wall clock stopped
        self._exact_step = True  # the Lagrangian bounds and the exact step run (see solve)

    def solve(
        self, time_limit_seconds: float = 60.0, hint: np.ndarray | None = None, *, work_seconds: float | None = None, exact: bool = True
    ) -> ClusterSolution:
        """Place the most teachers, then minimise travel; return the plan and its bound.

        Parameters
        ----------
        time_limit_seconds : float
            Wall-clock ceiling for both phases together, seconds. The solve
            aims to end ``budget.reserve`` of it early.
        hint : numpy.ndarray, optional
            A previous ``venue_of`` to start from (warm start, e.g. a revision).
        work_seconds : float, optional
            Sets the deterministic work of the search and the exact solve
            (see :class:`SolveBudget`); default ``time_limit_seconds``. Give
            a number that does not depend on the clock (e.g. the policy's
            limit) to get the same plan on any machine.
        exact : bool
            False: stop after the search (the plan found, with the LP
            bound); the caller runs its own exact step (sparse candidates:
            :func:`~.candidates.solve_sparse`).
        """
        self._t0 = time.perf_counter()
        self._limit = float(time_limit_seconds)
        self._work = float(time_limit_seconds if work_seconds is None else work_seconds)
        self._cuts = []
        self._exact_step = exact
        self.mip.time_cuts = 0
        self.solution = self._solve(time_limit_seconds, hint)
        return self.solution

    def _done(self, venue_of, objective: float, bound: float, proven: bool, status: str, notes: list[str]) -> ClusterSolution:
        p = self.problem
        venue_of = np.asarray(venue_of)
        placed = int(p.n_teachers[venue_of >= 0].sum()) if p.n_units else 0
        seconds = time.perf_counter() - self._t0
        cuts = list(dict.fromkeys(self._cuts + (["mixed-integer solves"] if self.mip.time_cuts else [])))
        cut = bool(cuts)
        if cut and status == "optimal":
            # proven, but the path to the proof was cut: another run may find another plan of the same travel
            notes = [
                *notes,
                f"the time limit ({self._limit:.1f} s) stopped {', '.join(cuts)} before the planned work was done; the plan is proven "
                "optimal, but another run may pick another plan of exactly the same travel (a busy machine does less in the same time); "
                "a longer time_limit_seconds lets the work finish and gives the same plan every time",
            ]
        elif cut:
            notes = [
                *notes,
                f"the time limit ({self._limit:.1f} s) stopped {', '.join(cuts)} before the planned work was done, so this plan may differ "
                "from run to run (a busy machine does less in the same time); a longer time_limit_seconds lets the work finish "
                f"(the gap, {relative_gap(objective, min(bound, objective)):.2%}, is the most it could gain)",
            ]
        return ClusterSolution(venue_of, float(objective), float(min(bound, objective)), placed, proven, status, seconds, self.backend, notes, cut)

    def _floor(self, F: Formulation, greedy: np.ndarray | None, deadline: float, note: str) -> ClusterSolution:
        """The greedy plan, improved by locate-allocate (never "nobody placed" when it places someone)."""
        if greedy is None or len(greedy) == 0:
            return self._no_plan(False, "no_solution", note)
        self._cuts.append("the search")
        main = F.main_rows(all_placed=False, min_placed=int(F.dem[greedy].sum()))
        search = IncumbentSearch(F, main, self.mip, self.budget)
        search.cuts = self._cuts
        end = max(deadline, time.perf_counter() + self.budget.mip_min_seconds)
        value, chosen = search.locate_allocate((float(F.cost[greedy].sum()), greedy), F.cost, end)
        log.debug("greedy floor: %.4f", value)
        return self._done(F.venue_of(chosen), value, 0.0, False, "time_limit", [GREEDY_NOTE])

    def _no_plan(self, proven: bool, status: str, note: str) -> ClusterSolution:
        return self._done(np.full(self.problem.n_units, -1), 0.0, 0.0, proven, status, [note])

    def _solve(self, time_limit_seconds: float, hint: np.ndarray | None) -> ClusterSolution:
        p, b = self.problem, self.budget
        deadline = b.deadline(self._t0, time_limit_seconds)
        F = Formulation(p)
        no_n_clusters = f"no plan has exactly {p.n_clusters} clusters"
        if p.n_units == 0 or F.P == 0:
            if p.n_clusters:
                return self._no_plan(True, "infeasible", no_n_clusters)
            return self._done(np.full(p.n_units, -1), 0.0, 0.0, True, "optimal", [])
        notes: list[str] = []
        hint_cols = None if hint is None else F.columns_of(hint)
        # the floor: a greedy plan (milliseconds), kept whatever happens to the search
        greedy = greedy_plan(F, F.main_rows(all_placed=False, min_placed=None))
        greedy_placed = int(F.dem[greedy].sum()) if greedy is not None else -1

        # Try to place everyone placeable; fall back to maximising the placement.
        result = self._travel(F, all_placed=True, min_placed=None, deadline=deadline, hint_cols=hint_cols, start=greedy)
        if result["status"] in ("optimal", "feasible"):
            proven = True
        elif result["status"] == "infeasible" or time.perf_counter() < deadline - b.placement_min_seconds:
            # Phase 1: most teachers placed.
            rows = F.main_rows(all_placed=False, min_placed=None)
            seconds = max(b.mip_min_seconds, b.placement_share * (deadline - time.perf_counter()))
            st1, chosen1, placed1, ub1 = self.mip.solve(
                F, rows, np.arange(F.P), F.dem, seconds, maximize=True, hint_cols=hint_cols, max_nodes=b.exact_nodes(self._work)
            )
            if st1 == "infeasible":
                return self._no_plan(True, "infeasible", no_n_clusters if p.n_clusters is not None else "the model has no plan")
            if st1 == "unknown" or (st1 == "feasible" and round(placed1) < greedy_placed):
                if greedy is None:
                    return self._no_plan(False, "no_solution", _NO_PLAN_IN_TIME)
                st1, chosen1, placed1 = "feasible", greedy, float(greedy_placed)
            best_placed = round(placed1)
            proven = st1 == "optimal" or (ub1 is not None and math.floor(ub1 + 1e-6) <= best_placed)
            if not proven:
                notes.append("the most teachers that can be placed was not proven within the time limit")
            result = self._travel(F, all_placed=False, min_placed=best_placed, deadline=deadline, hint_cols=chosen1, fallback=chosen1)
        else:
            return self._floor(F, greedy, deadline, _NO_PLAN_IN_TIME)
        if result["status"] not in ("optimal", "feasible"):
            return self._floor(F, greedy, deadline, _NO_PLAN_IN_TIME)
        chosen = result["chosen"]
        objective = float(F.cost[chosen].sum())
        status = "optimal" if result["status"] == "optimal" else "time_limit"
        bound = objective if status == "optimal" else result["bound"]
        return self._done(F.venue_of(chosen), objective, bound, proven, status, notes + result["notes"])

    @staticmethod
    def _prices(F: Formulation, lp: RelaxationLP) -> np.ndarray:
        """The LP's assignment duals per unit: the Lagrangian bounds' starting prices."""
        assert lp.duals is not None
        units = F.layout["unit_rows"]
        prices = np.zeros(F.n)
        prices[units] = lp.duals[0][: len(units)]
        return prices

    def _size_bound(self, F: Formulation, lp: RelaxationLP, pairs: PairBounds, ub: float, deadline: float, share: float) -> tuple[float, PairBounds]:
        """The size-aware Lagrangian from the LP's prices, and the pair bounds with its exact reduction added.

        Its steps are a fixed number (the work); ``share`` of the time left
        before ``deadline`` is its ceiling, and a cut is named like the others.
        """
        prices = self._prices(F, lp)
        ceiling = self.budget.share(share, time.perf_counter(), deadline)
        lag, lam = size_lagrangian(F, prices, ub, ceiling)
        if time.perf_counter() > ceiling:
            self._cuts.append("the size-aware bound")
        if not math.isfinite(lag):
            return -math.inf, pairs
        at, values = pair_bounds(F, lam)
        log.debug("size-aware Lagrangian %.4f (%.4f at its best prices), plan %.4f", lag, at, ub)
        return max(lag, at), PairBounds(F, np.maximum(pairs.values, values), pairs.delta)

    def _knapsack_bound(self, F: Formulation, lp: RelaxationLP, pairs: PairBounds, ub: float, deadline: float, share: float) -> tuple[float, PairBounds]:
        """The capacity-knapsack Lagrangian (:mod:`.knapsack`) from the LP's prices, and the pair bounds with its reduction.

        For the problems the size-aware bound does not cover (no binding
        minimum size, or clusters too large for its programme). A fixed
        number of steps (the work); ``share`` of the time left is its ceiling.
        """
        ceiling = self.budget.share(share, time.perf_counter(), deadline)
        kb = dense_knapsack_bound(F, self._prices(F, lp), ub, ceiling)
        if time.perf_counter() > ceiling:
            self._cuts.append("the knapsack bound")
        if not math.isfinite(kb.bound):
            return -math.inf, pairs
        at, values = knapsack_pair_bounds(F, kb.prices)
        log.debug("knapsack Lagrangian %.4f (%.4f at its best prices), plan %.4f", kb.bound, at, ub)
        return max(kb.bound, at), PairBounds(F, np.maximum(pairs.values, values), pairs.delta)

    def _exact(self, F: Formulation, main, cols: np.ndarray, seconds: float, incumbent: Incumbent | None, nodes: int, small: bool) -> MipResult:
        """The exact step on ``cols``: a :class:`~.mip.MipResult`.

        HiGHS goes through highspy (:func:`~.mip.highs_mip`): it starts from
        the incumbent, and keeps its best plan and its bound (with its cuts,
        far above the Lagrangian bounds under the field's rules) if stopped.
        On a model the reduction left small (``small``: the search was put
        off) the plan is close to the bound, so HiGHS's primal heuristics
        are off and its work goes to the proof.
        """
        if incumbent is not None and self.backend == "HIGHS" and highspy_available():
            r, cut = highs_mip(F, main, cols, F.cost, seconds, start_cols=incumbent[1], max_nodes=nodes, heuristics=not small)
            self.mip.time_cuts += int(cut)
            return r
        return self.mip.solve(F, main, cols, F.cost, seconds, hint_cols=incumbent[1] if incumbent else None, max_nodes=nodes)

    def _travel(self, F: Formulation, all_placed: bool, min_placed: int | None, deadline: float, hint_cols=None, fallback=None, start=None) -> dict[str, Any]:
        """Least travel with the placement fixed.

        ``fallback`` is a plan kept as the incumbent; ``hint_cols`` and
        ``start`` (the greedy plan) are used as incumbents when feasible.

        Returns a dict with ``status`` ("optimal", "feasible", "infeasible" or
        "unknown"), ``chosen`` columns (None without a plan), ``bound`` (a
        proven lower bound, in the objective's unit) and ``notes``.
        """
        b = self.budget
        notes: list[str] = []
        main = F.main_rows(all_placed=all_placed, min_placed=min_placed)
        search = IncumbentSearch(F, main, self.mip, b)
        search.cuts = self._cuts

        def result(status: str, chosen, bound: float) -> dict[str, Any]:
            return {"status": status, "chosen": chosen, "bound": bound, "notes": notes}

        incumbent: Incumbent | None = None
        if fallback is not None:
            incumbent = (float(F.cost[fallback].sum()), np.asarray(fallback))
        elif hint_cols is not None and F.is_feasible(main, hint_cols):
            incumbent = (float(F.cost[hint_cols].sum()), np.asarray(hint_cols))
        greedy = None
        if start is not None and len(start) and F.is_feasible(main, start):
            greedy = (float(F.cost[start].sum()), np.asarray(start))
        # 1. LP bound and reduced costs.
        lp = RelaxationLP(F, main)
        lp_status, L, rc, x_lp = lp.solve(deadline)
        if lp_status == "infeasible":
            return result("infeasible", None, 0.0)
        if lp_status == "stopped":
            self._cuts.append("the LP bound's pricing")
        have_lp = lp_status in ("optimal", "stopped")
        bound = L if have_lp else 0.0
        pairs = PairBounds.from_lp(F, L if have_lp else None, rc)
        delta = pairs.delta
        # 2. Incumbent: dive on the venues, assign, locate-allocate.
        if have_lp and incumbent is None:
            incumbent = search.first_plan(lp, rc, x_lp, deadline)
        if greedy is not None and (incumbent is None or greedy[0] < incumbent[0]):
            incumbent = greedy  # never worse than the constructive plan
        # 2b. The LP is weak under the cluster rules: the size-aware Lagrangian raises the bound and drops more pairs.
        lag = -math.inf
        sized = F.problem.min_size_binds
        bounds = self._exact_step and all_placed and have_lp and lp.duals is not None
        if sized and bounds and incumbent is not None and bound < incumbent[0] - delta - 1e-9:
            lag, pairs = self._size_bound(F, lp, pairs, incumbent[0], deadline, b.lagrange_share)
            bound = max(bound, lag)
        # 2c. Otherwise (no binding minimum size, or clusters too large for it) the capacities kept as knapsacks.
        knap = -math.inf
        if not math.isfinite(lag) and bounds and incumbent is not None and bound < incumbent[0] - delta - 1e-9:
            knap, pairs = self._knapsack_bound(F, lp, pairs, incumbent[0], deadline, b.lagrange_share)
            bound = max(bound, knap)
        # 3. Improve the incumbent by re-solving neighbourhoods of clusters -- or, where the knapsack bound left a small model,
        # only if the exact solve stops without a proof (the search would repeat part of the exact solve's work).
        lns_later = math.isfinite(knap) and incumbent is not None and int(pairs.useful(incumbent[0]).sum()) <= b.exact_first_columns
        if incumbent is not None and b.lns_share > 0 and not lns_later and not (have_lp and bound >= incumbent[0] - delta + 1e-9):
            now = time.perf_counter()
            incumbent = search.lns(incumbent, pairs.useful, b.share(b.lns_share, now, deadline), max_solves=b.lns_solves(self._work))
        if not self._exact_step:  # the caller's exact step follows
            return result("feasible", incumbent[1], bound) if incumbent is not None else result("unknown", None, 0.0)
        # 4. Exact reduction and the final mixed-integer solve.
        if incumbent is not None and have_lp:
            ub = incumbent[0]
            cols = np.flatnonzero(pairs.useful(ub))
            log.debug("incumbent %.4f, L %.4f: kept %d of %d pairs", ub, bound, len(cols), F.P)
            if len(cols) == 0 or bound >= ub - delta + 1e-9:
                return result("optimal", incumbent[1], ub)
        else:
            cols = np.arange(F.P)
        most = b.exact_columns(self._work)
        if incumbent is not None and math.isfinite(lag) and len(cols) > most:
            # under the field's rules (the size-aware bound applied) a model this large rarely finishes in this solve's
            # work: stopped by the clock its plan would depend on the machine's speed; keep the time for the other parts
            notes.append(
                f"travel was not proven minimal: {len(cols):,} pairs remain after the bounds' reduction, more than the exact search "
                f"takes in this time limit ({most:,}); a time_limit_seconds at least {len(cols) / most:.1f} times as long lets it start "
                "(it may still need longer to finish)"
            )
            return result("feasible", incumbent[1], bound)
        remaining = deadline - time.perf_counter()
        if remaining < b.exact_min_seconds and incumbent is not None:
            self._cuts.append("the exact search")
            notes.append("the time limit ended before the exact search; the plan is the best found")
            return result("feasible", incumbent[1], bound)
        nodes = b.exact_nodes(self._work)
        seconds = remaining - b.exact_slack_seconds
        if lns_later and b.lns_share > 0:
            seconds *= 1.0 - b.lns_share  # the search's share stays for it, should the exact solve stop
        st, chosen, value, mip_bound = self._exact(F, main, cols, max(b.mip_min_seconds, seconds), incumbent, nodes, lns_later)
        if st == "optimal":
            if incumbent is not None and incumbent[0] <= value:
                return result("optimal", incumbent[1], incumbent[0])
            return result("optimal", chosen, value)
        if st == "infeasible":
            if incumbent is not None:  # nothing better than the incumbent exists
                return result("optimal", incumbent[1], incumbent[0])
            return result("infeasible", None, 0.0)
        # time limit: best of incumbent and MIP plan; bound = min(MIP bound, incumbent), at least L
        best = incumbent
        if st == "feasible" and (best is None or value < best[0]):
            best = (value, chosen)
        if best is None:
            return result("unknown", None, 0.0)
        sub_bound = bound
        if mip_bound is not None:
            sub_bound = max(bound, mip_bound if incumbent is None else min(mip_bound, incumbent[0]))
        if lns_later and b.lns_share > 0:  # the search put off in step 3
            now = time.perf_counter()
            best = search.lns(best, pairs.useful, b.share(b.lns_share, now, max(deadline, now)), max_solves=b.lns_solves(self._work))
        if lag == -math.inf and all_placed and have_lp and lp.duals is not None:
            # not computed before (no binding minimum size: the LP is strong there): the size-aware bound now the exact step stopped
            lag, _ = self._size_bound(F, lp, pairs, best[0], max(deadline, time.perf_counter() + b.mip_min_seconds), 1.0)
        lag = max(lag, knap)
        if lag >= best[0] - delta + 1e-9:
            return result("optimal", best[1], best[0])
        sub_bound = max(sub_bound, lag)
        notes.append(
            f"travel was not proven minimal: the exact search stopped at its work limit ({nodes:,} nodes) or the time limit; "
            "a longer time_limit_seconds gives it more"
        )
        return result("feasible", best[1], sub_bound)
