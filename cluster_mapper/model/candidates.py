"""Sparse candidates from a pair table: districts without a travel limit, planned on the pairs that matter.

A district with no travel limit allows every school-venue pair of a gender
and level group: tens of millions for a few thousand schools. Handing them
all to the mixed-integer model costs about 16 kB each (see
:mod:`cluster_mapper.model.limits`), so such a district was refused. Here the
model is built on few pairs, and the bound still holds for all of them:

The planner takes this way for a group without a travel limit of more than
``planning.solve.COMPLETE_UNITS`` units or whose complete model would pass a
fixed size (:func:`cluster_mapper.model.limits.complete_model_suits`; rules on
the problem's size, not on the machine's free memory, so the same inputs take
the same path on every machine with the memory); a smaller group is built on
all its pairs, as before.

1. A candidate source answers each unit's ``k`` cheapest venues (with a
   lower bound on the minutes of every pair left out) and the venues
   cheaper than a given number of minutes: :class:`TableCandidates` from a
   complete pair table (arrays, about 24 bytes a pair), or, with
   straight-line travel, :class:`cluster_mapper.travel.nearest.GroupCandidates`
   from the schools' points (nothing quadratic).
2. :func:`~cluster_mapper.model.large.sparse_lp` solves the LP relaxation on
   those candidates, prices every left-out pair by reduced cost, adds those
   that could improve it, and returns a lower bound valid for the complete
   problem.
3. :func:`solve_sparse` builds the cluster model only on the final
   candidates (:class:`~cluster_mapper.model.solve.ClusterModel`). Its plan
   is a plan of the complete problem (its pairs are a subset); its gap is
   measured against the bound of step 2, so it is honest: the status is
   ``optimal`` only when the plan meets that bound.
4. With a minimum cluster size the LP relaxation is weak (22-24 % below the
   optimum on generated districts). With HiGHS (highspy installed), step 3
   is the search only, and the exact step is HiGHS on every candidate pair
   with every pair left out *stood in for* (:class:`~.mip.StandIns`): a
   school may join a venue through a pair left out at the least cost such a
   pair can have (step 2 keeps that per school), its teachers counted in the
   venue's size rows. Every plan of the complete problem is a solution of
   that model costing no more, so its bound holds for all pairs, and HiGHS's
   cuts make it strong: on the 5,000-school benchmark the gap goes from
   11.7 % (LP bound) to 1.3 % (``benchmarks/README.md``). Its best solution
   without a stand-in is a plan; it is proven optimal when the optimum
   takes none. Otherwise (another backend) :func:`size_bound_all_pairs`
   adds the size-aware Lagrangian of :mod:`~cluster_mapper.model.lagrange`
   on the candidates with the same stand-ins (3.0 % there). For a plain
   capacitated p-median the LP bound is strong already
   (``benchmarks/bench_cpmp_large.py``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

import numpy as np

from cluster_mapper.model.budget import SolveBudget
from cluster_mapper.model.formulation import ClusterProblem, Formulation
from cluster_mapper.model.lagrange import size_lagrangian
from cluster_mapper.model.large import CandidateSource, SparseLP, sparse_lp
from cluster_mapper.model.limits import check_model_size
from cluster_mapper.model.mip import DEFAULT_BACKEND, StandIns, highs_mip, highspy_available
from cluster_mapper.model.solve import GREEDY_NOTE, ClusterModel, ClusterSolution

log = logging.getLogger(__name__)


class TableCandidates:
    """The pairs of a complete problem, each unit's cheapest first.

    Parameters
    ----------
    problem : ClusterProblem
        Its ``pair_member``, ``pair_venue`` and ``pair_minutes`` are the
        complete pair table (every allowed pair, each unit's own school
        included when it can host).
    """

    def __init__(self, problem: ClusterProblem) -> None:
        n = problem.n_units
        member = np.asarray(problem.pair_member, dtype=np.int64)
        venue = np.asarray(problem.pair_venue, dtype=np.int64)
        minutes = np.asarray(problem.pair_minutes, dtype=float)
        # cheapest first within each unit; a unit's own school before any other pair of the same minutes
        order = np.lexsort((venue != member, minutes, member))
        self.member, self.venue, self.pair_minutes = member[order], venue[order], minutes[order]
        self.start = np.searchsorted(self.member, np.arange(n + 1))
        self.rank = np.arange(len(self.member)) - self.start[self.member]
        self.hosts = np.unique(venue)
        self.n_units = n

    def nearest(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each unit's ``k`` cheapest pairs, and per unit the least minutes of a pair left out (``inf``: none)."""
        keep = self.rank < k
        counts = np.diff(self.start)
        outside = np.full(self.n_units, math.inf)
        more = np.flatnonzero(counts > k)
        outside[more] = self.pair_minutes[self.start[more] + k]
        return self.member[keep], self.venue[keep], self.pair_minutes[keep], outside

    def cheaper_than(self, units: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of each of ``units`` at most its ``minutes`` away: ``(member, venue, minutes)``."""
        limit = np.full(self.n_units, -math.inf)
        limit[np.asarray(units, dtype=np.int64)] = minutes
        keep = self.pair_minutes <= limit[self.member] + 1e-9
        return self.member[keep], self.venue[keep], self.pair_minutes[keep]


#: Share of a sparse group's time kept for the size-aware bound valid for all pairs (its steps are counted; this is a ceiling).
SIZE_BOUND_SHARE = 0.1
#: Seconds of a sparse group's limit left after that bound for the steps that follow the solve.
SIZE_BOUND_MARGIN_SECONDS = 2.0


def _venues_covered(F: Formulation, cands: CandidateSource) -> bool:
    """Whether every venue of the complete problem (a host that fits in a cluster) is a venue of ``F``: stand-ins open none."""
    d = np.asarray(F.problem.n_teachers)
    hosts = np.asarray(cands.hosts, dtype=np.int64)
    return bool(np.all(np.isin(hosts[d[hosts] <= F.problem.max_teachers], F.venues)))


def size_bound_all_pairs(sparse: ClusterProblem, lp: SparseLP, cands: CandidateSource, target: float, deadline: float) -> float:
    """The size-aware Lagrangian on the candidate pairs, each pair left out stood in for at its least cost: valid for all pairs.

    A pair of unit ``i`` missing from the candidates costs at least
    ``lp.outside[i]`` (the sparse LP keeps that bound), so every venue may
    take any unit at that cost (:func:`~.lagrange.venue_values` with
    ``outside``). Every venue of the complete problem must be one of the
    candidates' (each host's own pair is in): otherwise ``-inf``.
    """
    F = Formulation(sparse)
    if not _venues_covered(F, cands):
        return -math.inf
    bound, _ = size_lagrangian(F, lp.prices, target, deadline, outside=lp.outside)
    return bound


def solve_sparse(
    problem: ClusterProblem,
    time_limit_seconds: float,
    *,
    backend: str = DEFAULT_BACKEND,
    where: str = "",
    work_seconds: float | None = None,
    cands: CandidateSource | None = None,
) -> ClusterSolution:
    """Plan a problem on sparse candidates with a bound valid for all its pairs.

    Parameters
    ----------
    problem : ClusterProblem
        The complete problem (every allowed pair). Only problems without
        side rows or previous-plan weights are planned this way.
    time_limit_seconds : float
        Wall-clock budget, seconds (up to a quarter for the candidates and
        their bound, the rest for the model).
    backend : str
        Mixed-integer backend of the model.
    where : str
        What is planned (a district), for the memory guard's message.
    work_seconds : float, optional
        The model's deterministic work (see :class:`~cluster_mapper.model.SolveBudget`);
        default ``time_limit_seconds``.
    cands : CandidateSource, optional
        Where candidate pairs come from (default: the problem's pairs,
        :class:`TableCandidates`, which must then be every allowed pair).

    Returns
    -------
    ClusterSolution
        The plan, its ``lower_bound`` valid for the complete problem (a
        note says on how many pairs the model was built). When the LP found
        no bound in the time, or the model did not place everyone (the LP
        bound holds for plans that place everyone), the bound is 0 and the
        note says to give more time: the complete model does not fit.
    """

    t0 = time.perf_counter()
    cands = TableCandidates(problem) if cands is None else cands
    lp = sparse_lp(problem, cands, t0 + 0.25 * time_limit_seconds)
    member, venue, minutes = lp.member, lp.venue, lp.minutes
    sparse = problem.with_pairs(member, venue, minutes)
    check_model_size(problem.n_units, len(member), where=where)  # what is really built
    work = time_limit_seconds if work_seconds is None else work_seconds
    note = f"sparse candidates: the model was built on {len(member):,} school-venue pairs (the complete problem has up to {problem.n_units * len(cands.hosts):,}; {lp.rounds} round(s) of growth); "
    if problem.min_size_binds and backend == "HIGHS" and highspy_available():
        sol = _solve_standins(sparse, lp, cands, t0, time_limit_seconds, work)
        if sol is not None:
            note += "the lower bound holds for all pairs" if sol.placement_proven else _NOT_EVERYONE
            return replace(sol, notes=[*sol.notes, note], solve_seconds=time.perf_counter() - t0)
    sized = problem.min_size_binds  # the LP bound is weak: the size-aware one after the model
    reserve = SIZE_BOUND_SHARE * time_limit_seconds if sized else 0.0
    left = max(2.0, time_limit_seconds - (time.perf_counter() - t0) - reserve)
    sol = ClusterModel(sparse, backend=backend).solve(left, work_seconds=0.75 * work)
    if not math.isfinite(lp.bound) or not np.all(sol.venue_of >= 0):
        # the LP bound holds for plans that place everyone: without it, or without such a plan, only 0 is a proven bound
        note += _NO_BOUND if not math.isfinite(lp.bound) else _NOT_EVERYONE
        return replace(sol, lower_bound=0.0, status="time_limit", notes=[*sol.notes, note], placement_proven=False)
    # what the gap is made of: the model's own bound holds for the candidate pairs only (with the size-aware
    # Lagrangian of the cluster rules), the LP's for every pair but without the minimum cluster size
    log.info("sparse model: plan %.1f, its bound on its %d pairs %.1f, LP bound for all pairs %.1f", sol.objective, len(member), sol.lower_bound, lp.bound)
    lag = -math.inf
    ceiling = t0 + time_limit_seconds - SIZE_BOUND_MARGIN_SECONDS  # what follows (explaining, naming) stays within the limit
    if sized and time.perf_counter() < ceiling:
        lag = size_bound_all_pairs(sparse, lp, cands, sol.objective, ceiling)
        log.info("size-aware bound for all pairs (stand-ins for the pairs left out) %.1f", lag)
    bound = min(max(lp.bound, lag), sol.objective)
    optimal = sol.objective - bound <= 1e-6 * max(1.0, abs(sol.objective))
    note += "the lower bound holds for all pairs"
    return replace(sol, lower_bound=float(bound), status="optimal" if optimal else "time_limit", notes=[*sol.notes, note], placement_proven=True)


#: Minutes farther than any pair (a radius that takes every venue: "within any distance").
_ANY_MINUTES = 1e12
#: Units whose pairs to every venue are taken at a time when filling clusters (keeps memory small).
_FILL_CHUNK = 256


def fill_open_clusters(problem: ClusterProblem, cands: CandidateSource, venue_of: np.ndarray) -> tuple[np.ndarray, float]:
    """Every unit left out joins an open cluster with room for it, over every pair, cheapest pair first.

    A plan cut short may leave teachers out whose candidate venues are full
    while a cluster farther away has room; without a travel limit every
    venue is within reach, so leaving them out would break the rule "no one
    is left out while a cluster they may join has room". Returns the new
    ``venue_of`` and the travel added (objective's unit).
    """
    d = np.asarray(problem.n_teachers, dtype=np.int64)
    venue_of = np.asarray(venue_of, dtype=np.int64).copy()
    placed = venue_of >= 0
    out = np.flatnonzero(~placed & (d > 0))
    if len(out) == 0 or not placed.any():
        return venue_of, 0.0
    teachers = np.bincount(venue_of[placed], weights=d[placed], minlength=len(d))
    schools = np.bincount(venue_of[placed], minlength=len(d))
    is_open = np.zeros(len(d), dtype=bool)
    is_open[venue_of[placed]] = True
    most_schools = max(1, problem.max_schools)
    added = 0.0
    for a in range(0, len(out), _FILL_CHUNK):
        units = out[a : a + _FILL_CHUNK]
        m, v, t = cands.cheaper_than(units, np.full(len(units), _ANY_MINUTES))
        ok = is_open[v] & (m != v) & np.isfinite(t)
        m, v, t = m[ok], v[ok], t[ok]
        cost = t if problem.objective == "school_trips" else t * d[m]
        for k in np.lexsort((v, m, cost)).tolist():
            i, j = int(m[k]), int(v[k])
            if venue_of[i] < 0 and teachers[j] + d[i] <= problem.max_teachers and schools[j] < most_schools:
                venue_of[i] = j
                teachers[j] += d[i]
                schools[j] += 1
                added += float(cost[k])
    return venue_of, added


_NOT_EVERYONE = "no plan placing everyone was found in the time, and the bounds hold only for such plans (bound 0): give the district more time_limit_seconds"
_NO_BOUND = "no bound valid for all pairs was found in the time (bound 0): give the district more time_limit_seconds"

#: Share of a sparse group's time (after the candidates) the search may use before the exact step with stand-ins
#: (a ceiling: the search stops at its work limits; its large-neighbourhood search may use all of this share).
STANDIN_SEARCH_SHARE = 0.5


def _solve_standins(sparse: ClusterProblem, lp: SparseLP, cands: CandidateSource, t0: float, time_limit_seconds: float, work: float) -> ClusterSolution | None:
    """The plan by the search on the candidates, then the exact step with every pair left out stood in for.

    HiGHS (:func:`~.mip.highs_mip` with :class:`~.mip.StandIns`) proves
    the plan, or bounds it, for the complete problem: every pair left out of
    unit ``i`` costs at least ``lp.outside[i]``. Its cuts make that bound
    far stronger than the size-aware Lagrangian under the field's rules.
    None when it does not apply (a venue of the complete problem is not
    among the candidates', or no LP bound): the caller's way then. When the
    search did not place everyone (too little time), HiGHS starts without a
    plan; when it finds none either, the search's plan is kept with bound 0.
    """
    F = Formulation(sparse)
    if not math.isfinite(lp.bound) or not _venues_covered(F, cands):
        return None
    need = F.placeable & (F.teachers > 0)
    end = t0 + time_limit_seconds - SIZE_BOUND_MARGIN_SECONDS  # what follows (explaining, naming) stays within the limit
    budget = SolveBudget(lns_share=1.0)  # no exact step follows inside the search: its time is the search's
    search_seconds = max(2.0, STANDIN_SEARCH_SHARE * (end - time.perf_counter()))
    sol = ClusterModel(sparse, backend="HIGHS", budget=budget).solve(search_seconds, work_seconds=0.75 * work, exact=False)
    everyone = bool(np.all(sol.venue_of[need] >= 0))
    main = F.main_rows(all_placed=True, min_placed=None)
    units = np.flatnonzero(F.placeable & np.isfinite(lp.outside))
    standins = StandIns(units, np.asarray(lp.outside, dtype=float)[units])
    nodes = budget.exact_nodes(work)
    start = F.columns_of(sol.venue_of) if everyone else None
    seconds = max(budget.mip_min_seconds, end - time.perf_counter())
    r, cut = highs_mip(F, main, np.arange(F.P), F.cost, seconds, start_cols=start, max_nodes=nodes, standins=standins)
    venue_of, objective = sol.venue_of, sol.objective
    if r.status in ("optimal", "feasible") and (not everyone or r.value < objective - 1e-9 * max(1.0, abs(objective))):
        venue_of, objective, everyone = F.venue_of(r.chosen), r.value, True
    notes = list(sol.notes)
    if not everyone:  # a plan cut short: those left out join clusters with room, over every pair
        venue_of, added = fill_open_clusters(sparse, cands, venue_of)
        objective += added
        everyone = bool(np.all(venue_of[need] >= 0))
        notes = [n for n in notes if n != GREEDY_NOTE] + [
            "the search found no plan placing everyone in its time: this plan is the greedy construction, with the schools it left "
            "out added to clusters with room (the cheapest pair over every pair); give the district more time_limit_seconds for a better plan"
        ]
    # the LP bound and the stand-ins' hold for plans placing everyone: without one, 0 is the bound
    bound = min(max(lp.bound, r.bound if r.bound is not None else -math.inf), objective) if everyone else 0.0
    optimal = everyone and (r.status == "optimal" or objective - bound <= 1e-6 * max(1.0, abs(objective)))
    log.info(
        "stand-in exact step: %s%s after %.1f s, plan %.1f (search %.1f%s), bound for all pairs %.1f (LP %.1f)",
        r.status,
        " (cut by the clock)" if cut else "",
        time.perf_counter() - t0,
        objective,
        sol.objective,
        ", cut" if sol.time_cut else "",
        bound,
        lp.bound,
    )
    if everyone and not optimal:
        notes.append(
            f"travel was not proven minimal: the exact search, with every pair left out of the model stood in for at its least cost, "
            f"stopped at its work limit ({nodes:,} nodes) or the time limit; a longer time_limit_seconds gives it more"
        )
    return replace(
        sol,
        venue_of=venue_of,
        objective=float(objective),
        lower_bound=float(bound),
        placed_teachers=int(np.asarray(sparse.n_teachers)[venue_of >= 0].sum()),
        status="optimal" if optimal else "time_limit",
        notes=notes,
        placement_proven=everyone,
        time_cut=sol.time_cut or cut,
    )


__all__ = ["TableCandidates", "solve_sparse"]
