"""Large problems without a travel limit: sparse candidates, a valid bound, plans by blocks.

A plain capacitated p-median of thousands of points has millions of
school-venue pairs: quadratic memory and time. Here nothing is quadratic:

1. *Sparse candidates* (:class:`PointCandidates`). Each unit starts with its
   ``k`` nearest venues. The LP relaxation is solved over them
   (:class:`~.bound.RelaxationLP`), and :func:`~.bound.kept_assignment_bound`
   prices every pair left out with a lower bound on its cost (the unit's
   ``k``-th distance): where a left-out pair could have a negative reduced
   cost, the unit's pairs cheaper than the break-even cost are added (a ball
   query) and the LP solved again. The bound is valid for the complete
   problem at every round, whether or not the candidates stopped growing.
2. *A first plan on the LP's venues* (:func:`_median_plan`): the
   ``n_clusters`` venues the LP opens most, each unit assigned to one of
   its few nearest of them by one mixed-integer model (capacities kept).
   When that finds no plan, *plans by blocks*: the units are split into
   compact blocks of about ``block_units`` (recursive coordinate
   bisection); each block gets as many clusters as its venues hold in the
   LP (rounded, at least what its teachers need with room to spare) and is
   solved by a mixed-integer solver on all its own pairs.
3. *Knapsack bound* (:func:`knapsack_bound`, the bound of :mod:`.knapsack`
   on pairs fetched on demand). The LP bound is weak when
   clusters hold a few units each (about 8 % below the plans of the
   3,000-point benchmark): it fills capacities with fractions of units. The
   Lagrangian relaxation of the assignment rows keeps each venue's capacity
   as a 0-1 knapsack, starts from the LP's prices (so it is never below the
   LP bound there) and raises them by subgradient steps. Its pairs are
   fetched with ``cheaper_than`` as in step 1, so it too is valid for the
   complete problem (about 2 % below the plans of the benchmark).
4. *Improvement*. Small groups of a few neighbouring clusters are planned
   again exactly, each unit on its nearest venues of the group
   (:func:`improve_locally`); then groups of neighbouring clusters of the
   plan (split along other directions, so borders move) are solved again
   with the same number of clusters, from the current plan (a better plan
   replaces the old one); then small exact re-plans again.
5. *Counted work*. Every solve stops at a node limit and the rounds of
   step 4 are numbers from the work asked for (seconds of a quiet machine
   turned into rounds by the problem's size), so the same problem gives the
   same plan on a quiet or a busy machine; the time limit is only a
   ceiling, and when it stops work the solution says so (``time_cut``).

The planner calls :func:`solve_large` for a group without a travel limit,
with a fixed number of clusters and at least
``planning.solve.BLOCK_SOLVER_UNITS`` units; the candidates then come from
:class:`cluster_mapper.travel.nearest.GroupCandidates`.

The result carries the plan's cost and the best proven bound (steps 1 and
3), so its gap is honest; the plan is not proven optimal (the status is
``time_limit`` unless the gap closes).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree

from cluster_mapper.model.bound import RelaxationLP, kept_assignment_bound
from cluster_mapper.model.formulation import ClusterProblem, Formulation
from cluster_mapper.model.knapsack import KnapsackBound, knapsack_lagrangian
from cluster_mapper.model.mip import DEFAULT_BACKEND, MipSolver, highs_mip
from cluster_mapper.model.solve import ClusterSolution

log = logging.getLogger(__name__)

#: Nearest venues per unit in the first candidate set.
START_NEIGHBOURS = 12
#: Most rounds of candidate growth.
MAX_GROWTH_ROUNDS = 6
#: Units per block of the first plan.
BLOCK_UNITS = 90


class CandidateSource(Protocol):
    """What the sparse bounds need from candidate pairs.

    :class:`PointCandidates` (points in a plane) and
    :class:`~cluster_mapper.model.candidates.TableCandidates` (a travel table) have it.
    """

    hosts: np.ndarray

    def nearest(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each unit's ``k`` cheapest pairs ``(member, venue, minutes)`` and per unit the least minutes left out."""
        ...

    def cheaper_than(self, units: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of each of ``units`` at most its ``minutes`` away: ``(member, venue, minutes)``."""
        ...


class PlaneCandidates(CandidateSource, Protocol):
    """What :func:`solve_large` needs besides: where units lie, which can host, any pair's minutes.

    :class:`PointCandidates` has it; so has the planner's straight-line source
    (:class:`cluster_mapper.travel.nearest.GroupCandidates`).
    """

    xy: np.ndarray
    can_host: np.ndarray

    def pair_minutes(self, member: np.ndarray, venue: np.ndarray) -> np.ndarray:
        """Minutes of pairs (unit indices); 0 from a unit to itself."""
        ...

    def all_pairs(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair among ``units`` and the hosts among them, in positions of ``units``."""
        ...


@dataclass
class PointCandidates:
    """Units as points in a plane, with travel minutes a function of distance.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` planar coordinates of the units (metres, or any unit that
        ``minutes`` converts).
    can_host : numpy.ndarray of bool
        Units whose school can be a venue.
    minutes_per_unit : float
        Travel minutes per unit of distance (e.g. 60 / 1000 / km_per_hour
        for metres on a straight line at that speed).
    round_down : bool
        Round minutes down to an integer (OR-Library instances).
    """

    xy: np.ndarray
    can_host: np.ndarray
    minutes_per_unit: float = 1.0
    round_down: bool = False

    def minutes(self, distance: np.ndarray) -> np.ndarray:
        """Travel minutes of distances (non-decreasing in the distance)."""
        m = np.asarray(distance, dtype=float) * self.minutes_per_unit
        return np.floor(m + 1e-9) if self.round_down else m

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=float)
        self.can_host = np.asarray(self.can_host, dtype=bool)
        self.hosts = np.flatnonzero(self.can_host)
        self.tree = cKDTree(self.xy[self.hosts])

    def nearest(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each unit's ``k`` nearest venues (its own school first when it can host).

        Returns
        -------
        (member, venue, minutes, outside_minutes)
            The pairs, and per unit the least minutes of any venue left out
            (``inf`` when every venue is in).
        """
        n = len(self.xy)
        k_all = min(k + 1, len(self.hosts))
        d, j = self.tree.query(self.xy, k=k_all)
        d, j = d.reshape(n, k_all), j.reshape(n, k_all)
        keep = min(k, k_all)
        member = np.repeat(np.arange(n), keep)
        venue = self.hosts[j[:, :keep]].ravel()
        minutes = self.minutes(d[:, :keep]).ravel()
        outside = self.minutes(d[:, keep]) if k_all > keep else np.full(n, math.inf)
        selfs = self.hosts[~np.isin(self.hosts, venue[member == venue])]
        member = np.concatenate([member, selfs])
        venue = np.concatenate([venue, selfs])
        minutes = np.concatenate([minutes, np.zeros(len(selfs))])
        return member, venue, np.asarray(minutes, dtype=float), np.asarray(outside, dtype=float)

    def within(self, units: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The venues of each unit within its radius (distance units): ``(member, venue, minutes)``."""
        hits = self.tree.query_ball_point(self.xy[units], r=radius)
        member = np.concatenate([np.full(len(h), u) for u, h in zip(units, hits, strict=True)]) if len(units) else np.zeros(0, dtype=int)
        venue = self.hosts[np.concatenate([np.asarray(h, dtype=int) for h in hits])] if len(units) else np.zeros(0, dtype=int)
        d = np.hypot(*(self.xy[member] - self.xy[venue]).T)
        return member.astype(np.int64), venue.astype(np.int64), np.asarray(self.minutes(d), dtype=float)

    def cheaper_than(self, units: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The venues of each of ``units`` at most its ``minutes`` away (at least those): ``(member, venue, minutes)``."""
        return self.within(units, _radius_for_minutes(self, units, minutes))

    def pair_minutes(self, member: np.ndarray, venue: np.ndarray) -> np.ndarray:
        """Minutes of pairs (unit indices); 0 from a unit to itself."""
        member, venue = np.asarray(member, dtype=np.int64), np.asarray(venue, dtype=np.int64)
        m = np.asarray(self.minutes(np.hypot(*(self.xy[member] - self.xy[venue]).T)), dtype=float).reshape(len(member))
        m[member == venue] = 0.0
        return m

    def all_pairs(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair among ``units`` (members) and the hosts among them: ``(member, venue, minutes)`` in positions of ``units``."""
        hosts = np.flatnonzero(self.can_host[units])
        mg, vg = np.meshgrid(np.arange(len(units)), hosts, indexing="ij")
        m, v = mg.ravel(), vg.ravel()
        d = np.hypot(*(self.xy[units[m]] - self.xy[units[v]]).T)
        return m, v, np.asarray(self.minutes(d), dtype=float)


def _cost(problem: ClusterProblem, member: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    return minutes if problem.objective == "school_trips" else minutes * problem.n_teachers[member]


def _with_pairs(problem: ClusterProblem, member, venue, minutes) -> ClusterProblem:
    return problem.with_pairs(member, venue, minutes)


@dataclass
class SparseLP:
    """The sparse LP bound and what the plan and the knapsack bound reuse from it.

    Attributes
    ----------
    bound : float
        The best valid bound (objective's unit), ``-inf`` when none.
    x_open : numpy.ndarray
        Per unit, the LP value of its self pair (its venue open).
    n_pairs, rounds : int
        Candidate pairs at the end and rounds of growth done.
    prices : numpy.ndarray or None
        Per unit, the dual of its assignment row in the last LP (objective's
        unit): a start for :func:`knapsack_bound`.
    member, venue, minutes : numpy.ndarray
        The final candidate pairs.
    x : numpy.ndarray or None
        The last LP's value of each candidate pair.
    outside : numpy.ndarray
        Per unit, a lower bound on the cost (objective's unit) of each of its
        pairs left out of the candidates.
    """

    bound: float
    x_open: np.ndarray
    n_pairs: int
    rounds: int
    prices: np.ndarray | None
    member: np.ndarray
    venue: np.ndarray
    minutes: np.ndarray
    x: np.ndarray | None
    outside: np.ndarray


def sparse_bound(problem: ClusterProblem, cands: CandidateSource, deadline: float, k: int = START_NEIGHBOURS):
    """The LP bound over growing sparse candidates, valid for the complete problem.

    ``cands`` is any source of candidate pairs with ``hosts`` (the units that
    can be venues), ``nearest(k)`` and ``cheaper_than(units, minutes)`` as
    :class:`PointCandidates` has them (e.g. pairs read from a travel table).

    Returns
    -------
    (bound, x_open, n_pairs, rounds)
        The best valid bound, the LP's value of each unit's venue (its self
        pair), the candidate pairs at the end and the rounds done.
    """
    r = sparse_lp(problem, cands, deadline, k)
    return r.bound, r.x_open, r.n_pairs, r.rounds


def sparse_lp(problem: ClusterProblem, cands: CandidateSource, deadline: float, k: int = START_NEIGHBOURS) -> SparseLP:
    """:func:`sparse_bound` with the LP's prices, final pairs and values (see :class:`SparseLP`)."""
    member, venue, minutes, outside_min = cands.nearest(k)
    teachers = problem.n_teachers
    outside = _cost(problem, np.arange(problem.n_units), outside_min)
    best = -math.inf
    x_open = np.zeros(problem.n_units)
    prices = None
    x_pairs = None
    F = None
    rounds = 0
    for rounds in range(1, MAX_GROWTH_ROUNDS + 1):  # noqa: B007 - reported
        F = Formulation(_with_pairs(problem, member, venue, minutes))
        main = F.main_rows(all_placed=True, min_placed=None)
        lp = RelaxationLP(F, main)
        st, _, _, x = lp.solve(deadline)
        if st == "infeasible" and k < len(cands.hosts):  # too few candidates to place everyone: twice as many
            k = min(2 * k, len(cands.hosts))
            m2, v2, t2, o2 = cands.nearest(k)
            member, venue, minutes = np.concatenate([member, m2]), np.concatenate([venue, v2]), np.concatenate([minutes, t2])
            key = member * problem.n_units + venue
            _, first = np.unique(key, return_index=True)
            member, venue, minutes = member[first], venue[first], minutes[first]
            outside = np.maximum(outside, _cost(problem, np.arange(problem.n_units), o2))
            log.info("sparse LP infeasible: %d nearest venues per unit", k)
            continue
        if st not in ("optimal", "stopped") or lp.duals is None:
            log.info("sparse LP %s with %d pairs", st, F.P)
            break
        L2, rc_out = kept_assignment_bound(F, main, lp.duals[0], lp.link_cols, lp.duals[1], F.cost, outside)
        best = max(best, L2)
        x_open = np.zeros(problem.n_units)
        x_open[F.venues] = x[F.self_col[F.venues]]
        units = F.layout["unit_rows"]
        prices = np.zeros(problem.n_units)
        prices[units] = lp.duals[0][: len(units)]
        x_pairs = (F.member.copy(), F.venue.copy(), x.copy())
        grow = np.flatnonzero(rc_out < -1e-7 * max(1.0, abs(L2)))
        log.info("sparse LP round %d: %d pairs, bound %.4f, %d units may gain from more pairs", rounds, F.P, L2, len(grow))
        if len(grow) == 0 or time.perf_counter() > deadline:
            break
        # pairs cheaper than the break-even cost: outside - rc_out (objective units) -> minutes -> distance
        limit_cost = outside[grow] - rc_out[grow]
        per = limit_cost if problem.objective == "school_trips" else limit_cost / np.maximum(teachers[grow], 1)
        m2, v2, t2 = cands.cheaper_than(grow, per)
        member, venue, minutes = np.concatenate([member, m2]), np.concatenate([venue, v2]), np.concatenate([minutes, t2])
        key = member * problem.n_units + venue
        _, first = np.unique(key, return_index=True)
        member, venue, minutes = member[first], venue[first], minutes[first]
        outside[grow] = np.maximum(outside[grow], limit_cost)  # every pair cheaper than this is now in
    x_full = None
    if x_pairs is not None:  # the LP's values on the final pairs (pairs added after the last LP: 0)
        key = member * problem.n_units + venue
        order = np.argsort(key)
        pos = np.searchsorted(key[order], x_pairs[0] * problem.n_units + x_pairs[1])
        x_full = np.zeros(len(member))
        x_full[order[pos]] = x_pairs[2]
    return SparseLP(best, x_open, len(member), rounds, prices, member, venue, minutes, x_full, outside)


#: Most subgradient steps of the knapsack bound.
KNAPSACK_MAX_STEPS = 3000


class _Items:
    """Every pair (unit ``i``, venue ``j``) that costs less than ``reach[i]`` (objective's unit), grown on demand."""

    def __init__(self, problem: ClusterProblem, cands: CandidateSource, venue_ok: np.ndarray):
        self.problem = problem
        self.cands = cands
        self.venue_ok = venue_ok
        n = problem.n_units
        self.reach = np.zeros(n)
        self.member = np.zeros(0, dtype=np.int64)
        self.venue = np.zeros(0, dtype=np.int64)
        self.cost = np.zeros(0)

    def cover(self, need: np.ndarray) -> None:
        """Make sure every pair of unit ``i`` cheaper than ``need[i]`` is in (asks for a quarter more)."""
        short = np.flatnonzero(need > self.reach)
        if len(short) == 0:
            return
        p = self.problem
        want = 1.25 * need[short] + 1e-9
        d = p.n_teachers
        per = want if p.objective == "school_trips" else want / np.maximum(d[short], 1)
        m, v, t = self.cands.cheaper_than(short, per)
        m, v = np.asarray(m, dtype=np.int64), np.asarray(v, dtype=np.int64)
        c = _cost(p, m, np.asarray(t, dtype=float))
        ok = (m != v) & self.venue_ok[v] & (d[m] + d[v] <= p.max_teachers)
        # pairs already in for these units are dropped and the units' pairs taken again (the answer covers them)
        keep = ~np.isin(self.member, short)
        self.member = np.concatenate([self.member[keep], m[ok]])
        self.venue = np.concatenate([self.venue[keep], v[ok]])
        self.cost = np.concatenate([self.cost[keep], c[ok]])
        self.reach[short] = want


def knapsack_bound(
    problem: ClusterProblem, cands: CandidateSource, deadline: float, prices: np.ndarray | None = None, target: float | None = None
) -> KnapsackBound:
    """Lagrangian bound with the assignment rows dualised and each venue's capacity kept as a 0-1 knapsack.

    For prices ``lam`` (one per unit), every plan costs at least::

        L(lam) = sum_i lam[i] + (sum of the n_clusters least  -lam[j] - K_j(lam))

    where ``K_j`` is the best total of ``lam[i] - c[i, j]`` over units ``i``
    that fit with ``j``'s own teachers in one cluster (a 0-1 knapsack of
    capacity ``max_teachers - teachers[j]``). Only pairs with
    ``c[i, j] < lam[i]`` can be taken, and they are all fetched with
    ``cands.cheaper_than`` (as in :func:`sparse_bound`), so ``L`` holds for
    the complete problem, not only for candidate pairs. The rows on the
    least teachers, the most schools and the edits are dropped (a relaxation).
    The knapsacks are integral where the LP's are fractional, so from the
    LP's prices (``prices``) this is at least the LP bound, and subgradient
    steps (Polyak's rule towards ``target``, e.g. the best plan's cost)
    raise it further.

    Parameters
    ----------
    problem : ClusterProblem
        Its pairs are ignored. Teachers must be integers (knapsack weights).
    cands : PointCandidates
        Any candidate source with ``hosts`` and ``cheaper_than``.
    deadline : float
        ``time.perf_counter()`` at which to stop.
    prices : numpy.ndarray, optional
        Starting multipliers per unit (objective's unit), e.g. the LP's
        assignment duals; default 0.
    target : float, optional
        A value above the optimum (a plan's cost) for the step size; default
        5 % above the bound.

    Returns
    -------
    KnapsackBound
    """
    p = problem
    n = p.n_units
    d = np.asarray(p.n_teachers).astype(np.int64)
    Q = int(p.max_teachers)
    hosts = np.asarray(cands.hosts, dtype=np.int64)
    hosts = hosts[d[hosts] <= Q]
    empty = KnapsackBound(-math.inf, np.zeros(n), hosts, 0)
    if p.move_weight or len(hosts) == 0 or (p.n_clusters is not None and len(hosts) < p.n_clusters):
        return empty
    need = d > 0  # every unit with teachers is placed (as in sparse_bound)
    if np.any(need & (d > Q)):
        return empty
    venue_ok = np.zeros(n, dtype=bool)
    venue_ok[hosts] = True
    items = _Items(p, cands, venue_ok)

    def fetch(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items.cover(np.maximum(lam, 0.0))
        return items.member, items.venue, items.cost

    return knapsack_lagrangian(
        n=n,
        hosts=hosts,
        teachers=d,
        max_teachers=Q,
        self_cost=np.zeros(n),
        need=need,
        n_clusters=p.n_clusters,
        items=fetch,
        prices=prices,
        target=target,
        deadline=deadline,
        max_steps=KNAPSACK_MAX_STEPS,
    )


def _radius_for_minutes(cands: PointCandidates, units: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Distances whose minutes reach ``minutes`` (the minutes function is non-decreasing; doubling search)."""
    r = np.ones(len(units))
    for _ in range(80):
        short = np.asarray(cands.minutes(r)) <= minutes
        if not short.any():
            break
        r = np.where(short, r * 2, r)
    return r


def _blocks(xy: np.ndarray, idx: np.ndarray, size: int, angle: float) -> list[np.ndarray]:
    """Recursive bisection of ``idx`` at the median of the longer side (coordinates rotated by ``angle``)."""
    c, s = math.cos(angle), math.sin(angle)
    rot = xy @ np.array([[c, -s], [s, c]])
    out = []
    stack = [idx]
    while stack:
        b = stack.pop()
        if len(b) <= size:
            out.append(b)
            continue
        p = rot[b]
        axis = int(np.argmax(p.max(axis=0) - p.min(axis=0)))
        order = b[np.argsort(p[:, axis], kind="stable")]
        half = len(order) // 2
        stack += [order[half:], order[:half]]
    return out


#: Most share of a block's capacity its first plan may fill (clusters nearly full make slow, costly blocks).
BLOCK_FILL = 0.87


def _allocate(blocks: list[np.ndarray], x_open: np.ndarray, problem: ClusterProblem, can_host: np.ndarray, fill: float = BLOCK_FILL) -> list[int | None]:
    """Clusters per block: the LP's open venues there, rounded to sum to ``n_clusters``, each block at most ``fill`` full."""
    if problem.n_clusters is None:
        return [None] * len(blocks)
    # at least what the block's teachers need with room to spare: bins are never filled exactly
    need = np.array([math.ceil(problem.n_teachers[b].sum() / (fill * problem.max_teachers)) for b in blocks])
    cap = np.array([int(can_host[b].sum()) for b in blocks])
    want = np.array([x_open[b].sum() for b in blocks])
    p = np.maximum(np.floor(want).astype(int), need)
    p = np.minimum(p, cap)
    rest = problem.n_clusters - p.sum()
    frac = want - np.floor(want)
    order = list(np.argsort(-frac, kind="stable"))
    while rest != 0:
        moved = False
        for i in order:
            if rest > 0 and p[i] < cap[i]:
                p[i] += 1
                rest -= 1
                moved = True
            elif rest < 0 and p[i] > need[i]:
                p[i] -= 1
                rest += 1
                moved = True
            if rest == 0:
                break
        if not moved:
            break
    return [int(v) for v in p]


#: Mixed-integer backend of the blocks: SCIP returns its best plan when the time limit stops it
#: (OR-Tools' HiGHS wrapper returns none), which a time-limited block needs.
BLOCK_BACKEND = "SCIP"
#: Nearest venues per unit inside a block.
BLOCK_NEIGHBOURS = 10
#: Rounds of cutting planes at the root of a regrouped part's SCIP solve (none below it). SCIP's own setting
#: spent 1-18 s on some parts of 50 units whatever their node limit; with 3 a regroup round of the 3,000-point
#: benchmark took 22 s instead of 50 s (one process) and gained exactly as much. The first plan's blocks (no
#: plan to start from) keep SCIP's setting: with 3 they were 35 % faster but 1 % dearer.
PART_ROOT_CUT_ROUNDS = 3


def _solve_part(
    problem: ClusterProblem,
    cands: PlaneCandidates,
    units: np.ndarray,
    n_clusters: int | None,
    seconds: float,
    backend: str,
    hint: np.ndarray | None = None,
    max_nodes: int | None = None,
    deadline: float | None = None,
) -> tuple[np.ndarray | None, float, bool]:
    """Plan ``units`` alone on their nearest pairs: (venue of each unit as global index or -1, cost, cut).

    ``hint`` is a plan of the units (global venue indices) to start from; it
    stays allowed, so the result is never worse. ``max_nodes`` is the work
    (branch-and-bound nodes); ``seconds`` and ``deadline`` (``time.monotonic()``,
    the same clock in every process) are only ceilings; ``cut`` says one
    stopped the solve. The venues are None when no plan was found.
    """
    if deadline is not None:
        if hint is not None and time.monotonic() >= deadline - 0.2:  # past the ceiling: the current plan stays
            return None, math.inf, True
        seconds = max(0.2, min(seconds, deadline - time.monotonic()))

    m, v, t = cands.all_pairs(units)
    # every rule of the problem (min_schools, edits) is kept: a part is a subproblem, not a new problem
    sub = problem.subproblem(units, pairs=(m, v, t), n_clusters=n_clusters)
    F = Formulation(sub)
    main = F.main_rows(all_placed=problem.n_clusters is not None, min_placed=None)
    rank = F.rank_per_unit(F.cost)
    per_cluster = len(units) / max(1, n_clusters or 1)
    keep = (rank < max(BLOCK_NEIGHBOURS, int(3 * per_cluster))) | F.is_self
    hint_cols = None
    if hint is not None:
        pos = np.full(len(cands.xy), -1, dtype=np.int64)
        pos[units] = np.arange(len(units))
        local = np.where(hint >= 0, pos[np.maximum(hint, 0)], -1)
        hint_cols = F.columns_of(local)
        if hint_cols is not None:
            keep[hint_cols] = True
    solver = MipSolver(BLOCK_BACKEND if backend == DEFAULT_BACKEND else backend, root_cut_rounds=None if hint is None else PART_ROOT_CUT_ROUNDS)
    r = solver.solve(F, main, np.flatnonzero(keep), F.cost, seconds, hint_cols=hint_cols, max_nodes=max_nodes)
    cut = solver.time_cuts > 0
    if r.status not in ("optimal", "feasible"):
        return None, math.inf, cut
    venue_of = F.venue_of(r.chosen)
    return np.where(venue_of >= 0, units[np.maximum(venue_of, 0)], -1), r.value, cut


def _highs_mip(F: Formulation, main, seconds: float, hint_cols: np.ndarray | None = None, max_nodes: int | None = None) -> tuple[np.ndarray | None, bool]:
    """Solve the model on all columns of ``F`` with HiGHS through highspy: (the chosen columns or None, cut).

    ``hint_cols`` is a plan to start from; HiGHS keeps its best plan when
    its node limit (``max_nodes``, the work) or the time limit (``seconds``,
    a ceiling: ``cut`` says it stopped the solve) stops it. The plan is
    checked against every row (:func:`~.mip.highs_mip`).
    """
    r, cut = highs_mip(F, main, np.arange(F.P), F.cost, seconds, start_cols=hint_cols, max_nodes=max_nodes)
    return (r.chosen if r.status in ("optimal", "feasible") else None), cut


def _solve_small(
    problem: ClusterProblem,
    cands: PlaneCandidates,
    units: np.ndarray,
    n_clusters: int,
    seconds: float,
    hint: np.ndarray | None = None,
    max_nodes: int | None = None,
    deadline: float | None = None,
    neighbours: int | None = None,
) -> tuple[np.ndarray | None, float, bool]:
    """Plan ``units`` alone with ``n_clusters`` clusters on their pairs, exactly (HiGHS through highspy).

    ``hint`` (global venue of each of ``units``) is a plan to start from.
    Every rule of ``problem`` is kept (:meth:`ClusterProblem.subproblem`).
    ``neighbours`` keeps only each unit's that many nearest venues of the
    group (and its venue in ``hint``, so the result is never worse): a
    model a few times smaller, solved several times faster, that loses few
    of the moves worth making (default: all pairs).

    Returns
    -------
    (venue of each unit as a global index or None, cost, cut)
        None when HiGHS finds no plan placing every unit within its work
        (``max_nodes``) or the ceiling (``seconds``; ``cut`` says it stopped the solve).
    """
    if deadline is not None:
        if time.monotonic() >= deadline - 0.05:  # past the ceiling: the current plan stays
            return None, math.inf, True
        seconds = max(0.05, min(seconds, deadline - time.monotonic()))
    m, v, t = cands.all_pairs(units)
    pos = np.full(len(cands.xy), -1, dtype=np.int64)
    pos[units] = np.arange(len(units))
    if neighbours is not None:
        m, v, t = _nearest_pairs(m, v, t, neighbours, None if hint is None else pos[hint])
    sub = problem.subproblem(units, pairs=(m, v, t), n_clusters=n_clusters)
    F = Formulation(sub)
    main = F.main_rows(all_placed=True, min_placed=None)
    hint_cols = None if hint is None else F.columns_of(pos[hint])
    chosen, cut = _highs_mip(F, main, seconds, hint_cols, max_nodes)
    if chosen is None:
        return None, math.inf, cut
    venue_of = F.venue_of(chosen)
    if np.any(venue_of < 0):
        return None, math.inf, cut
    return units[venue_of], float(F.cost[chosen].sum()), cut


def _nearest_pairs(member: np.ndarray, venue: np.ndarray, minutes: np.ndarray, k: int, keep_venue: np.ndarray | None):
    """The pairs among each member's ``k`` cheapest, its own school's and its venue in ``keep_venue`` (local positions)."""
    order = np.lexsort((venue, minutes, member))
    member, venue, minutes = member[order], venue[order], minutes[order]
    rank = np.arange(len(member)) - np.searchsorted(member, member, side="left")
    keep = (rank < k) | (member == venue)
    if keep_venue is not None:
        keep |= venue == keep_venue[member]
    return member[keep], venue[keep], minutes[keep]


def _small_star(job: tuple):
    return _solve_small(*job)


def improve_locally(
    problem: ClusterProblem,
    cands: PlaneCandidates,
    venue_of: np.ndarray,
    deadline: float,
    group: int = 8,
    workers: int = 1,
    seed: int = 0,
    max_seconds: float = 1.0,
    rounds: int | None = None,
    max_nodes: int | None = None,
    neighbours: int | None = None,
) -> tuple[np.ndarray, float, int, bool]:
    """Re-plan small groups of neighbouring clusters exactly, keeping each better plan (IRM-style).

    Each round covers the clusters with disjoint groups of ``group``
    neighbouring venues (a new random cover each round); each group's units
    are planned again with as many clusters, on all their pairs, from the
    current plan. A round without a gain makes the groups larger (by a
    quarter, up to four times ``group``).

    Parameters
    ----------
    problem : ClusterProblem
        Must have ``n_clusters`` set.
    cands : PlaneCandidates
        Positions (for neighbours) and ``all_pairs``.
    venue_of : numpy.ndarray
        A plan placing every unit (global venue per unit); not changed.
    deadline : float
        ``time.perf_counter()`` at which to stop (a ceiling when ``rounds`` is set).
    group : int
        Venues per group at first.
    workers : int
        Processes solving groups at the same time.
    seed : int
        Seed of the random covers.
    max_seconds : float
        Most seconds of one group's solve (its best plan is kept when it stops there).
    rounds : int, optional
        The work: this many rounds (default: rounds until the deadline).
    max_nodes : int, optional
        Branch-and-bound nodes of one group's solve (the work; ``max_seconds`` is then a ceiling).
    neighbours : int, optional
        Each unit's nearest venues in its group that its solve may use (with
        its current venue); default all.

    Returns
    -------
    (venue_of, cost, rounds, cut)
        The improved plan, its cost (objective's unit), the rounds done and
        whether the clock stopped work that ``rounds`` and ``max_nodes`` asked for.
    """
    rng = np.random.default_rng(seed)
    venue_of = np.asarray(venue_of, dtype=np.int64).copy()
    cost = plan_cost(problem, cands, venue_of)
    size = float(group)
    done, cut = 0, False
    pool = None
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers)
    try:
        while rounds is None or done < rounds:
            if time.perf_counter() >= deadline - (0.1 if rounds is not None else 1.0):
                cut = rounds is not None
                break
            done += 1
            venues = np.unique(venue_of)
            g = max(2, min(int(size), len(venues)))
            tree = cKDTree(cands.xy[venues])
            used = np.zeros(len(venues), dtype=bool)
            groups = []
            for s0 in rng.permutation(len(venues)):
                if used[s0]:
                    continue
                kq = min(len(venues), 4 * g)
                _, near = tree.query(cands.xy[venues[s0]], k=kq)
                near = np.atleast_1d(near)
                near = near[~used[near]][:g]
                used[near] = True
                groups.append(venues[near])
            members = [np.flatnonzero(np.isin(venue_of, gv)) for gv in groups]
            left = deadline - time.perf_counter()
            seconds = max(0.2, min(max_seconds, left / 4)) if max_nodes is None else left
            until = time.monotonic() + left  # the ceiling of every group of the round
            jobs = [(problem, cands, u, len(gv), seconds, venue_of[u], max_nodes, until, neighbours) for gv, u in zip(groups, members, strict=True)]
            gained = 0.0
            results = pool.map(_small_star, jobs, chunksize=8) if pool is not None else map(_small_star, jobs)
            for u, (got, got_cost, got_cut) in zip(members, results, strict=True):
                cut |= got_cut and max_nodes is not None
                if got is None:
                    continue
                old = plan_cost(problem, cands, np.where(np.isin(np.arange(len(venue_of)), u), venue_of, -1))
                if got_cost < old - 1e-9 * max(1.0, old):
                    venue_of[u] = got
                    gained += old - got_cost
            cost = plan_cost(problem, cands, venue_of)
            log.info("local round %d (groups of %d venues): %.4f (-%.4f)", done, g, cost, gained)
            if gained <= 1e-9 * max(1.0, cost):
                size = min(4.0 * group, size * 1.25)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    return venue_of, cost, done, cut


def plan_cost(problem: ClusterProblem, cands: PlaneCandidates, venue_of: np.ndarray) -> float:
    """Cost of a plan (``venue_of`` over all units) in the objective's unit."""
    placed = np.flatnonzero(venue_of >= 0)
    minutes = cands.pair_minutes(placed, venue_of[placed])
    return float(_cost(problem, placed, minutes).sum())


def _run_parts(jobs: list[tuple], workers: int, fn=None) -> list:
    """Run ``fn`` (default ``_solve_part_star``) on jobs, in ``workers`` processes when more than one."""
    fn = _solve_part_star if fn is None else fn
    if workers <= 1 or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, jobs))


def _solve_part_star(job: tuple):
    return _solve_part(*job)


#: Branch-and-bound nodes of a block's first plan (SCIP): the work of a block, the clock only a ceiling.
BLOCK_NODES = 150
#: Branch-and-bound nodes of one regrouped part (from the current plan, so never worse).
REGROUP_NODES = 30
#: Branch-and-bound nodes of one small exact re-plan (HiGHS).
LOCAL_NODES = 200
#: Seconds of work a regroup round costs per unit (2 processes on a quiet machine): rounds = share of the work / this / units.
REGROUP_SECONDS_PER_UNIT = 0.0029
#: Seconds of work a round of small exact re-plans costs per unit.
LOCAL_SECONDS_PER_UNIT = 0.003
#: Venues per group of a small exact re-plan, at first.
LOCAL_GROUP = 10
#: Nearest venues of the group each unit of a small exact re-plan may use (and its current one): on the
#: 3,000-point benchmark a round from the same plan took 16 s instead of 47 s and gained 80 % as much.
LOCAL_NEIGHBOURS = 6


def solve_large(
    problem: ClusterProblem,
    cands: PlaneCandidates,
    time_limit_seconds: float = 300.0,
    *,
    work_seconds: float | None = None,
    backend: str = DEFAULT_BACKEND,
    block_units: int = BLOCK_UNITS,
    bound_share: float = 0.1,
    knapsack_share: float = 0.1,
    first_share: float = 0.1,
    local_share: float = 0.25,
    polish_share: float = 0.015,
    workers: int = 1,
) -> ClusterSolution:
    """Solve a large problem on sparse candidates: a valid bound, a plan by blocks, improved by regrouping.

    Parameters
    ----------
    problem : ClusterProblem
        Its pairs are ignored: ``cands`` generates them.
    cands : PlaneCandidates
        The units' positions, candidate pairs and any pair's minutes.
    time_limit_seconds : float
        Wall-clock ceiling, seconds.
    work_seconds : float, optional
        The work, in seconds of a quiet machine (default ``time_limit_seconds``):
        the regroup and re-plan rounds it asks for (its shares of the work over
        :data:`REGROUP_SECONDS_PER_UNIT` and :data:`LOCAL_SECONDS_PER_UNIT` per unit)
        and the node limits of every solve
        (:data:`BLOCK_NODES`, :data:`REGROUP_NODES`, :data:`LOCAL_NODES`) are
        numbers, not times, so the same problem gives the same plan on a
        quiet or a busy machine unless the ceiling cuts the work
        (``time_cut``).
    block_units : int
        Units per block of the first plan (and about per regrouped part).
    bound_share : float
        Most share of the time for the LP bound (candidate growth).
    knapsack_share : float
        Most share of the time for the knapsack bound (:func:`knapsack_bound`).
    first_share : float
        Share of the work the first plan is expected to take (on the LP's
        venues, or by blocks); the rest goes to the rounds of improvement.
    local_share : float
        Share of the work for small exact re-plans (:func:`improve_locally`): :data:`LOCAL_FIRST` of it
        before the regrouping, the rest after it.
    polish_share : float
        Share of the time kept at the end for the knapsack bound again.
    workers : int
        Processes solving blocks at the same time (blocks are independent; the plan does not depend on it).

    Returns
    -------
    ClusterSolution
        ``lower_bound`` is valid for the complete problem; ``status`` is
        ``optimal`` only when the plan meets the bound; ``time_cut`` when
        the ceiling stopped work the budget asked for.
    """
    t0 = time.perf_counter()
    T = float(time_limit_seconds)
    work = T if work_seconds is None else float(work_seconds)
    end = t0 + 0.97 * T
    n = problem.n_units
    lp_end = t0 + bound_share * T
    lp = sparse_lp(problem, cands, lp_end)
    cut = time.perf_counter() > lp_end
    bound, x_open = lp.bound, lp.x_open
    notes = [f"sparse candidates: {lp.n_pairs:,} pairs after {lp.rounds} round(s) (complete problem: {n * len(cands.hosts):,})"]
    log.info("bound %.4f in %.1f s", bound, time.perf_counter() - t0)
    venue_of, cut_first = _median_plan(problem, cands, x_open, t0 + max(first_share, 0.6) * T)
    if venue_of is None:  # no plan on the LP's venues within the work: plans by blocks
        venue_of, cut_first = _first_plan(problem, cands, x_open, block_units, t0 + max(first_share, 0.6) * T, backend, workers, notes)
    cut |= cut_first
    cost = plan_cost(problem, cands, venue_of)
    log.info("first plan %.4f in %.1f s", cost, time.perf_counter() - t0)
    # a stronger bound: the capacities kept as knapsacks, from the LP's prices towards the plan's cost
    all_placed = bool(np.all(venue_of >= 0))
    kb = knapsack_bound(problem, cands, time.perf_counter() + knapsack_share * T, lp.prices, cost if all_placed else None)
    # small groups of neighbouring clusters planned again exactly (cheap, large gains from the first plan), then
    # regrouping along other directions (larger moves), then a last share of small exact re-plans
    fixed = problem.n_clusters is not None
    first_local, last_local = LOCAL_FIRST * local_share, (1.0 - LOCAL_FIRST) * local_share
    regroup_share = 0.97 - first_share - knapsack_share - local_share - polish_share
    # the ceilings: the end less the later phases' shares (the work, not the clock, decides where a phase stops:
    # a phase slowed by a busy machine takes time from the later ones rather than being cut)
    regroup_end = end - (last_local + polish_share) * T
    venue_of, cost, local_rounds, cut_local = _local(problem, cands, venue_of, work * first_local, regroup_end, workers)
    cut |= cut_local
    want_rounds = max(1, int(work * regroup_share / (REGROUP_SECONDS_PER_UNIT * n))) if fixed else 0
    venue_of, rnd, cut_regroup = _regroup(problem, cands, venue_of, want_rounds, block_units, regroup_end, backend, workers, t0)
    cut |= cut_regroup
    venue_of, cost, more_rounds, cut_local = _local(problem, cands, venue_of, work * last_local, end - polish_share * T, workers)
    cut |= cut_local
    local_rounds += more_rounds
    all_placed = bool(np.all(venue_of >= 0))
    # the knapsack bound again, from its best prices towards the final plan's cost
    if math.isfinite(kb.bound) and all_placed and time.perf_counter() < end:
        kb2 = knapsack_bound(problem, cands, end, kb.prices, cost)
        kb = kb2 if kb2.bound > kb.bound else kb
    notes.append(f"LP bound {bound:,.2f}; knapsack Lagrangian bound {kb.bound:,.2f}; {rnd} regroup round(s), {local_rounds} round(s) of small exact re-plans")
    bound = max(bound, kb.bound)
    placed = int(problem.n_teachers[venue_of >= 0].sum())
    if all_placed or problem.n_clusters is None:
        bound = min(bound, cost)
    status = "optimal" if all_placed and cost - bound <= 1e-9 * max(1.0, cost) else "time_limit"
    if not all_placed and problem.n_clusters is not None:
        status = "no_solution"
    return ClusterSolution(venue_of, cost, bound, placed, all_placed, status, time.perf_counter() - t0, backend, notes, time_cut=cut)


#: Nearest of the LP's venues each unit may join in the first plan (:func:`_median_plan`).
MEDIAN_NEIGHBOURS = 5
#: Branch-and-bound nodes of the first plan's assignment to the LP's venues (HiGHS).
MEDIAN_NODES = 100


#: Share of the small exact re-plans' work done before the regrouping (the rest after it).
LOCAL_FIRST = 0.6


def _local(problem: ClusterProblem, cands: PlaneCandidates, venue_of: np.ndarray, work: float, deadline: float, workers: int):
    """Rounds of small exact re-plans worth ``work`` seconds (:func:`improve_locally`): (venue_of, cost, rounds, cut)."""
    if problem.n_clusters is None or work <= 0 or not np.all(venue_of >= 0):
        return venue_of, plan_cost(problem, cands, venue_of), 0, False
    rounds = max(1, int(work / (LOCAL_SECONDS_PER_UNIT * problem.n_units)))
    return improve_locally(
        problem, cands, venue_of, deadline, group=LOCAL_GROUP, workers=workers, rounds=rounds, max_nodes=LOCAL_NODES, neighbours=LOCAL_NEIGHBOURS
    )


def _median_plan(problem: ClusterProblem, cands: PlaneCandidates, x_open: np.ndarray, first_end: float) -> tuple[np.ndarray | None, bool]:
    """The first plan on the LP's venues: the ``n_clusters`` most open, each unit assigned to one of its nearest.

    The venues are fixed (the units whose self pair the LP opens most), so
    what is left is an assignment with capacities: one mixed-integer model of
    each unit's :data:`MEDIAN_NEIGHBOURS` nearest of those venues, solved by
    HiGHS to :data:`MEDIAN_NODES` nodes (the work; the clock at ``first_end``
    only a ceiling). On the 3,000-point benchmark: 73,437 in 21 s of one
    process, where the plans by blocks gave 74,097 in 180 s of two.

    Returns
    -------
    (venue_of or None, cut)
        None (and the caller plans by blocks) without a fixed number of
        clusters, or when no plan placing everyone was found.
    """
    p = problem.n_clusters
    if p is None:
        return None, False
    fits = cands.can_host & (problem.n_teachers <= problem.max_teachers)
    ranked = np.flatnonzero(fits)[np.argsort(-x_open[fits], kind="stable")]
    if len(ranked) < p:
        return None, False
    medians = np.sort(ranked[:p])
    k = min(MEDIAN_NEIGHBOURS, p)
    _, near = cKDTree(cands.xy[medians]).query(cands.xy, k=k)
    near = np.asarray(near).reshape(len(cands.xy), k)
    member = np.concatenate([np.repeat(np.arange(problem.n_units), k), medians])
    venue = np.concatenate([medians[near.ravel()], medians])
    key = member * problem.n_units + venue
    _, first = np.unique(key, return_index=True)
    member, venue = member[first], venue[first]
    F = Formulation(problem.with_pairs(member, venue, cands.pair_minutes(member, venue)))
    main = F.main_rows(all_placed=True, min_placed=None)
    chosen, cut = _highs_mip(F, main, max(1.0, first_end - time.perf_counter()), None, MEDIAN_NODES)
    if chosen is None:
        log.info("no first plan on the LP's venues (%s): plans by blocks", "cut by the clock" if cut else "none within the work")
        return None, cut
    venue_of = F.venue_of(chosen)
    return (venue_of if np.all(venue_of >= 0) else None), cut


def _first_plan(
    problem: ClusterProblem, cands: PlaneCandidates, x_open: np.ndarray, block_units: int, first_end: float, backend: str, workers: int, notes: list[str]
):
    """The first plan, block by block (each with the clusters the LP opens there): (venue_of, cut)."""
    n = problem.n_units
    blocks = _blocks(cands.xy, np.arange(n), block_units, 0.0)
    alloc = _allocate(blocks, x_open, problem, cands.can_host)
    venue_of = np.full(n, -1, dtype=np.int64)
    # ceilings (the node limit is the work): three times a block's fair share of the phase, and the phase's end
    left = first_end - time.perf_counter()
    part_seconds = max(2.0, 3.0 * workers * left / max(1, len(blocks)))
    until = time.monotonic() + max(2.0, left)
    jobs = [(problem, cands, b, pb, part_seconds, backend, None, BLOCK_NODES, until) for b, pb in zip(blocks, alloc, strict=True)]
    results = _run_parts(jobs, workers)
    cut = False
    for b, pb, (got, _, got_cut) in zip(blocks, alloc, results, strict=True):
        cut |= got_cut
        if got is None:  # a block without a plan: try again with twice the work, within the phase
            got, _, got_cut = _solve_part(problem, cands, b, pb, max(1.0, first_end - time.perf_counter()), backend, None, 2 * BLOCK_NODES)
            cut |= got_cut
        if got is None:
            notes.append(f"a block of {len(b)} units found no plan with {pb} clusters; its units are not placed")
            continue
        venue_of[b] = got
    return venue_of, cut


def _regroup(problem, cands: PlaneCandidates, venue_of: np.ndarray, rounds: int, block_units: int, regroup_end: float, backend, workers, t0):
    """Regroup neighbouring clusters along other directions, ``rounds`` times: (venue_of, rounds done, cut)."""
    n = problem.n_units
    venue_of = venue_of.copy()
    angles = [math.pi / 4, math.pi / 8, 3 * math.pi / 8, math.pi / 6, math.pi / 3, 0.1, math.pi / 2 - 0.1]
    size, stalled, cut, rnd = float(block_units), 0, False, 0
    for rnd in range(rounds):  # noqa: B007 - reported
        left = regroup_end - time.perf_counter()
        if left <= 0.1:  # the ceiling: the rounds asked for are not all done
            return venue_of, rnd, True
        venues = np.unique(venue_of[venue_of >= 0])
        per_cluster = max(1.0, (venue_of >= 0).sum() / max(1, len(venues)))
        groups = _blocks(cands.xy, venues, max(2, int(size / per_cluster)), angles[rnd % len(angles)] + 0.05 * (rnd // len(angles)))
        until = time.monotonic() + left  # the ceiling of every group of the round: the node limit is the work
        members = [np.flatnonzero(np.isin(venue_of, g)) for g in groups]
        jobs = [(problem, cands, u, len(g), left, backend, venue_of[u], REGROUP_NODES, until) for g, u in zip(groups, members, strict=True)]
        improved = 0.0
        for u, (got, got_cost, got_cut) in zip(members, _run_parts(jobs, workers), strict=True):
            cut |= got_cut
            old = plan_cost(problem, cands, np.where(np.isin(np.arange(n), u), venue_of, -1))
            if got is not None and np.all(got >= 0) and got_cost < old - 1e-9:
                venue_of[u] = got
                improved += old - got_cost
        cost = plan_cost(problem, cands, venue_of)
        log.info("regroup round %d (%d units per group): %.4f (-%.4f) at %.1f s", rnd + 1, size, cost, improved, time.perf_counter() - t0)
        # two rounds without a gain (under 0.01 %): larger groups (moves the small ones cannot make)
        stalled = stalled + 1 if improved <= 1e-4 * max(1.0, cost) else 0
        if stalled >= 2:
            size, stalled = min(4.0 * block_units, 1.5 * size), 0
    return venue_of, rounds, cut


__all__ = [
    "KnapsackBound",
    "PlaneCandidates",
    "PointCandidates",
    "SparseLP",
    "improve_locally",
    "knapsack_bound",
    "plan_cost",
    "solve_large",
    "sparse_bound",
    "sparse_lp",
]
