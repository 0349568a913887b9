"""Assignment and calendar, optimised together: who supports each cluster, and on which day.

A :class:`SupportProblem` holds the data as arrays (minutes, counts): the
clusters, the facilitators, who may support whom (gender, levels, subjects,
district), and the facilitators' travel minutes between bases and venues.
:class:`SupportModel` builds the OR-Tools models from it and ``solve()`` puts
the results on a :class:`SupportSolution`.

The problem
-----------
Each cluster gets at most one eligible facilitator, within their
``max_clusters`` and ``max_teachers``. Each supported cluster has
``meetings_per_month`` meetings, each on a different working day
(1..``days_per_month``) of its facilitator. A facilitator's day is a route
from the base through that day's meetings and back, travel plus meetings
within ``working_day_minutes``; a meeting starts when the facilitator
arrives. Objective, in order: the most clusters supported, then the least
facilitator travel in the month, then the most even workload (the smallest
largest share of a facilitator's available time in use).

How it is solved
----------------
1. *Day routes.* For each facilitator every route one day can hold is
   enumerated: every set of venues of eligible clusters, in its best order
   (Held-Karp over the set), whose travel plus meetings fits in the day.
   Travel minutes are closed under shortest paths, so a set fits only if
   all its subsets fit and the enumeration grows set by set. With the field
   defaults (180-minute meetings, 480-minute days) a day holds at most two
   meetings, and the routes are the round trips and the pairs of venues
   close enough to share a trip.
2. *Floor.* The best plan with one round trip from the base per meeting
   (one meeting a day) is a transportation problem: OR-Tools min-cost flow
   (``SimpleMinCostFlow.solve_max_flow_with_min_cost``) finds, exactly,
   the most clusters such a plan supports and its least travel. When a
   facilitator's ``max_teachers`` could bind, the flow would split clusters,
   so that floor is found by a CP-SAT assignment model instead.
3. *The model.* Set partitioning over the day routes, in CP-SAT: ``assign[f, c]``
   (facilitator ``f`` supports cluster ``c``) and ``days[r]`` (how many days
   of the month use route ``r``)::

       sum_{r of f, r holds c} days[r] = meetings_per_month * assign[f, c]
       sum_f assign[f, c] <= 1
       sum_{r of f} days[r] <= days_per_month[f]
       sum_c assign[f, c] <= max_clusters[f];  sum_c teachers[c] assign[f, c] <= max_teachers[f]

   solved lexicographically (supported clusters; then travel; then the
   largest workload share, a tie-break given a small fixed amount of work,
   :data:`STAGE3_SECONDS`, and reported as proven only when it finishes).
   Each stage is first solved as a mixed-integer program by HiGHS
   (``scipy.optimize.milp``: the linear relaxation of set partitioning over
   day routes is tight, so branch and bound proves the optimum in seconds
   where CP-SAT with one worker did not in minutes: a real road network,
   250 clusters, days binding, 45,000 day routes, in
   ``benchmarks/bench_support.py --only real``); when HiGHS does not prove a
   stage within its node limit, CP-SAT continues from the best plan so far.
   Each stage starts from the previous stage's plan, the first from the
   floor plan, and keeps a plan only if it is no worse. So the plan never
   travels more than the floor plan when it supports as many clusters.
   Independent groups of facilitators and clusters (no eligible pair
   between them) are solved apart.
   *The count against its bound.* No plan supports more clusters than a
   max flow in which each facilitator takes at most ``min(max_clusters,
   days x meetings a day / meetings_per_month)`` clusters within a day's
   reach (an assignment relaxation counting facilitator-days and how many
   meetings a day can hold). When the floor is below it, a start plan that
   shares days (:func:`paired_plan`: the flow at those capacities, then a
   maximum matching of each facilitator's clusters into two-meeting days,
   excess taken away until every month fits) is tried first; stage 1 runs
   only while the best plan is below the bound, and the solution says
   whether the count is proven. Every CP-SAT run is limited in its
   deterministic work units (``max_deterministic_time``), every HiGHS run in
   branch-and-bound nodes (:data:`MILP_NODES_PER_SECOND`), each with a
   wall-clock guard of :data:`WALL_FACTOR` times its share only for a very
   slow machine; one CP-SAT worker and a fixed seed, HiGHS single-threaded;
   and the time is shared among groups by size, not by the clock: the same
   inputs give the same support plan on a quiet or a busy machine. Last, an unsupported cluster that an eligible facilitator
   within reach with free days and room could take is given to them with
   round trips (only possible when the count is not proven), so the reason
   "everyone within reach is full" is always true.
4. *Bound.* Because every feasible day route is in the model, the
   solvers' (HiGHS's dual bound, else CP-SAT's) bound is a proven lower bound on the month's travel for the number of
   clusters supported; the solution reports it and the gap. If a
   facilitator has more routes than :data:`MAX_ROUTES_PER_FACILITATOR`
   (short meetings, long days, dense venues), only the cheapest routes per
   meeting are kept and the calendar is reported as heuristic, with no bound
   on travel (the count is still set against its bound).

Why CP-SAT and not OR-Tools routing
-----------------------------------
Both were built and measured on the same problems, started from the same
floor plan (``python benchmarks/bench_support.py --compare-routing --sample``,
2 cores; figures in ``benchmarks/README.md``). Routing: one vehicle per
facilitator-day (about 430 vehicles per district), a time dimension for the
working day, meetings dropped with a penalty, allowed vehicles per meeting,
and ``max_clusters``/``max_teachers`` as constraints on vehicle variables
(they span a facilitator's days, so they cannot be dimensions), guided local
search.

- Field defaults (a day holds one or two meetings), four generated districts
  of 247 to 292 clusters and 26 to 30 facilitators, and the Mansehra sample:
  CP-SAT proves the most clusters and the least travel in 1.3 to 4.7 s;
  routing supports as many clusters but stays up to 0.14 % above that
  optimum after 10 s and does not improve in 60 s, with no bound to say so.
- Shorter meetings (90 or 120 minutes: three to five meetings a day, up to
  8,300 day routes on the sample): neither proves optimality in a minute;
  CP-SAT's plan is still the better one (16,141 against routing's 16,273
  minutes at 90-minute meetings) and it reports a bound, though a weak one.

So set partitioning on day routes (HiGHS first, CP-SAT to continue): a
proven optimum or a bound where routing has none, the cross-day rules as
plain linear constraints, and faster. Routing
would be the better tool only for days of many short visits, where the set
of day routes explodes; there this model keeps the cheapest routes and says
its calendar is heuristic.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack
from scipy.sparse.csgraph import connected_components

log = logging.getLogger(__name__)

#: Travel costs in the solvers are whole hundredths of a minute.
SCALE = 100
#: More day routes than this for one facilitator: keep the cheapest per meeting (heuristic calendar).
MAX_ROUTES_PER_FACILITATOR = 20_000
#: A large finite capacity standing for "no limit".
NO_LIMIT = 10**6
#: Tolerance on the working day, minutes.
DAY_TOLERANCE = 1e-6
#: Work the workload tie-break (stage 3) gets per group, in CP-SAT's deterministic units (about seconds).
STAGE3_SECONDS = 1.0
#: Wall-clock guard on each CP-SAT run, as a multiple of its deterministic work limit.
WALL_FACTOR = 6.0
#: Branch-and-bound nodes HiGHS may explore per second of a stage's work share (deterministic, like CP-SAT's work units).
MILP_NODES_PER_SECOND = 200


def solver_workers() -> int:
    """CP-SAT workers: one, so the same inputs give the same plan.

    Measured on the Mansehra sample: one worker proves the optimum in 4.5 s,
    two in 5.2 s and pick another of the equally good plans on each run.
    """
    return 1


@dataclass
class SupportProblem:
    """The data of one support problem, as arrays.

    Attributes
    ----------
    cluster_ids : list of str
        The clusters, ``C`` of them.
    n_teachers : numpy.ndarray of int, shape (C,)
        Teachers in each cluster.
    facilitator_ids : list of str
        The facilitators, ``F`` of them.
    days : numpy.ndarray of int, shape (F,)
        Working days each facilitator gives to clusters in a month.
    max_clusters, max_teachers : numpy.ndarray of int, shape (F,)
        Capacities; :data:`NO_LIMIT` for no limit.
    eligible : numpy.ndarray of bool, shape (F, C)
        The facilitator may support the cluster (gender, levels, subjects,
        district), regardless of distance.
    to_venue, from_venue : numpy.ndarray of float, shape (F, C)
        Minutes from the facilitator's base to the cluster's venue and back,
        in the facilitator's travel mode (``inf`` if there is no way).
    between : numpy.ndarray of float, shape (M, C, C)
        Minutes from venue to venue in each of ``M`` travel modes.
    mode : numpy.ndarray of int, shape (F,)
        Which ``between`` matrix each facilitator uses.
    meetings_per_month : int
        Meetings of each supported cluster in a month, on different days.
    meeting_minutes, working_day_minutes : float
        Length of a meeting and of a working day, base to base (minutes).
    """

    cluster_ids: list[str]
    n_teachers: np.ndarray
    facilitator_ids: list[str]
    days: np.ndarray
    max_clusters: np.ndarray
    max_teachers: np.ndarray
    eligible: np.ndarray
    to_venue: np.ndarray
    from_venue: np.ndarray
    between: np.ndarray
    mode: np.ndarray
    meetings_per_month: int = 1
    meeting_minutes: float = 180.0
    working_day_minutes: float = 480.0
    earliest_start: float = -math.inf
    latest_start: float = math.inf

    def window_ok(self, f: int, order: tuple[int, ...]) -> bool:
        """Every meeting of the day starts by ``latest_start`` (minutes after the day's start).

        The first starts at ``max(arrival, earliest_start)`` (a facilitator
        who would arrive early leaves the base later), the next on arrival.
        """
        if not math.isfinite(self.latest_start):
            return True
        B = self.between[self.mode[f]]
        t = max(self.to_venue[f, order[0]], self.earliest_start)
        for a, b in itertools.pairwise(order):
            if t > self.latest_start + DAY_TOLERANCE:
                return False
            t += self.meeting_minutes + B[a, b]
        return bool(t <= self.latest_start + DAY_TOLERANCE)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_ids)

    @property
    def n_facilitators(self) -> int:
        return len(self.facilitator_ids)

    @property
    def round_trip(self) -> np.ndarray:
        """Minutes of a round trip from each base to each venue, shape (F, C)."""
        return self.to_venue + self.from_venue

    @property
    def reach(self) -> np.ndarray:
        """Eligible pairs whose round trip and one meeting fit in a working day, shape (F, C)."""
        fits = self.round_trip + self.meeting_minutes <= self.working_day_minutes + DAY_TOLERANCE
        return self.eligible & fits & (np.maximum(self.to_venue, self.earliest_start) <= self.latest_start + DAY_TOLERANCE)

    @property
    def meetings_per_day(self) -> int:
        """Most meetings one working day can hold."""
        return max(1, math.floor((self.working_day_minutes + DAY_TOLERANCE) / self.meeting_minutes))


@dataclass
class DayRoute:
    """One day of one facilitator: the venues in visiting order and the travel (minutes)."""

    facilitator: int
    clusters: tuple[int, ...]
    travel_minutes: float

    @property
    def key(self) -> frozenset:
        return frozenset(self.clusters)


@dataclass
class SupportSolution:
    """Result of :meth:`SupportModel.solve`.

    Attributes
    ----------
    facilitator_of : numpy.ndarray of int, shape (C,)
        The facilitator supporting each cluster, -1 if none.
    days : list of list of DayRoute
        Per facilitator, the month's working days in order (day 1 first).
    travel_minutes : float
        Facilitator travel in the month, all facilitators, minutes.
    travel_bound : float or None
        Proven lower bound on that travel for as many clusters supported;
        None when the calendar is heuristic.
    supported_proven : bool
        No plan supports more clusters: the count equals ``supported_bound``
        or CP-SAT proved it.
    supported_bound : int
        Upper bound on the clusters any plan supports: a max flow where each
        facilitator takes at most ``min(max_clusters, days x meetings a day
        / meetings_per_month)`` clusters within a day's reach (the
        assignment relaxation counting facilitator-days and how many
        meetings a day can hold), tightened by CP-SAT's bound.
    floor_supported, floor_travel_minutes : int, float
        The one-round-trip-per-meeting plan (min-cost flow): how many
        clusters it supports and its travel.
    status : {"optimal", "feasible", "heuristic"}
        ``optimal``: most clusters and least travel proven; ``feasible``: a
        bound is known but not reached within the time limit;
        ``heuristic``: day routes were cut, no bound.
    notes : list of str
        What the planner should know about the solve.
    solve_seconds : float
    """

    facilitator_of: np.ndarray
    days: list[list[DayRoute]]
    travel_minutes: float
    travel_bound: float | None
    supported_proven: bool
    floor_supported: int
    floor_travel_minutes: float
    status: str
    notes: list[str] = field(default_factory=list)
    solve_seconds: float = 0.0
    stats: dict = field(default_factory=dict)
    supported_bound: int = 0

    @property
    def n_supported(self) -> int:
        return int((self.facilitator_of >= 0).sum())

    @property
    def gap(self) -> float | None:
        """Relative gap between travel and its bound (None without a bound)."""
        if self.travel_bound is None:
            return None
        if self.travel_minutes <= 1e-9:
            return 0.0
        return max(0.0, (self.travel_minutes - self.travel_bound) / self.travel_minutes)


# --------------------------------------------------------------------------- day routes


def enumerate_day_routes(p: SupportProblem, f: int, limit: int = MAX_ROUTES_PER_FACILITATOR) -> tuple[list[DayRoute], bool]:
    """Every route one working day of facilitator ``f`` can hold, in its best visiting order.

    Held-Karp, set by set: ``best[S][j]`` is the least travel from the base
    through the venues of ``S`` ending at ``j``. A set is kept when its best
    round trip plus ``|S|`` meetings fits in the working day. Travel minutes
    are a shortest-path metric, so a set fits only if all its subsets do:
    larger sets are built only from sets that fit.

    Returns
    -------
    routes : list of DayRoute
    complete : bool
        False when the routes were cut at ``limit`` (cheapest per meeting kept).
    """
    W, M = p.working_day_minutes + DAY_TOLERANCE, p.meeting_minutes
    cand = np.flatnonzero(p.reach[f])
    to, back, B = p.to_venue[f], p.from_venue[f], p.between[p.mode[f]]
    routes = [DayRoute(f, (int(c),), float(to[c] + back[c])) for c in cand]
    qmax = p.meetings_per_day
    if qmax < 2 or len(cand) < 2:
        return routes, True
    # level 2, vectorised: a -> b in either order
    K = cand
    ab = to[K][:, None] + B[np.ix_(K, K)] + back[K][None, :]
    # a -> b keeps the meeting window when b starts by latest_start
    in_window = np.maximum(to[K], p.earliest_start)[:, None] + M + B[np.ix_(K, K)] <= p.latest_start + DAY_TOLERANCE
    ab = np.where(in_window, ab, np.inf)
    best2 = np.minimum(ab, ab.T)
    ok = np.triu(best2 + 2 * M <= W, k=1)
    ia, ib = np.nonzero(ok)
    table: dict[tuple[int, ...], dict[int, float]] = {}
    for i, j in zip(ia, ib):
        a, b = int(K[i]), int(K[j])
        order = (a, b) if ab[i, j] <= ab[j, i] else (b, a)
        routes.append(DayRoute(f, order, float(best2[i, j])))
        if qmax >= 3:
            table[(a, b)] = {b: float(to[a] + B[a, b]), a: float(to[b] + B[b, a])}
    complete = True
    level = table
    size = 2
    while size < qmax and level and complete:
        size += 1
        nxt: dict[tuple[int, ...], dict[int, float]] = {}
        for S, endings in level.items():
            for c in cand[cand > S[-1]]:
                c = int(c)
                T = S + (c,)
                # every subset of T of one less must fit
                if any(tuple(x for x in T if x != y) not in level for y in S):
                    continue
                ends: dict[int, float] = {c: min(v + B[j, c] for j, v in endings.items())}
                for y in S:
                    sub = tuple(x for x in T if x != y)
                    ends[y] = min(v + B[j, y] for j, v in level[sub].items())
                cost = min(v + back[j] for j, v in ends.items())
                if cost + size * M <= W:
                    nxt[T] = ends
                    if len(routes) + len(nxt) > limit:
                        complete = False
                        break
            if not complete:
                break
        for T, ends in nxt.items():
            best_order = _order(T, ends, to, back, B)
            if p.window_ok(f, best_order):  # three or more a day: the best order is kept only when it keeps the window
                routes.append(DayRoute(f, best_order, min(v + back[j] for j, v in ends.items())))
        level = nxt
    if not complete:
        routes.sort(key=lambda r: (len(r.clusters) > 1, r.travel_minutes / len(r.clusters)))
        routes = routes[:limit]
    return routes, complete


def _order(T: tuple[int, ...], ends: dict[int, float], to, back, B) -> tuple[int, ...]:
    """The best visiting order of the venues of ``T`` (exact for the small sets a day holds)."""
    from itertools import permutations

    best, best_cost = T, math.inf
    for perm in permutations(T):
        cost = to[perm[0]] + sum(B[a, b] for a, b in itertools.pairwise(perm)) + back[perm[-1]]
        if cost < best_cost - 1e-12:
            best, best_cost = perm, cost
    return tuple(int(x) for x in best)


# --------------------------------------------------------------------------- the floor


@dataclass
class FloorPlan:
    """The best plan with one round trip from the base per meeting (one meeting a day)."""

    facilitator_of: np.ndarray
    travel_minutes: float
    exact: bool
    method: str


def floor_plan(p: SupportProblem, facilitators: np.ndarray, clusters: np.ndarray, time_limit: float = 10.0) -> FloorPlan:
    """Most clusters, then least travel, with one round trip per meeting (exact).

    A transportation problem, solved by OR-Tools min-cost flow: source ->
    facilitator (capacity ``min(max_clusters, days_per_month //
    meetings_per_month)``) -> cluster (capacity 1, cost ``meetings_per_month x
    round trip``) -> sink. When a facilitator's ``max_teachers`` could bind,
    a flow may not split a cluster, so a CP-SAT assignment model finds the
    floor instead (exact when it proves optimality within ``time_limit``).
    """
    k = p.meetings_per_month
    reach = p.reach
    cap = np.minimum(p.max_clusters, p.days // k)
    out = np.full(p.n_clusters, -1)
    binds = False
    for f in facilitators:
        cs = clusters[reach[f, clusters]]
        if len(cs) and np.sort(p.n_teachers[cs])[::-1][: max(0, int(cap[f]))].sum() > p.max_teachers[f]:
            binds = True
    pairs = [(f, c) for f in facilitators for c in clusters if reach[f, c]]
    if not pairs:
        return FloorPlan(out, 0.0, True, "min_cost_flow")
    cost = {(f, c): round(k * p.round_trip[f, c] * SCALE) for f, c in pairs}
    if not binds:
        flows, _ = _transport(facilitators, clusters, pairs, [int(cap[f]) for f in facilitators], [cost[fc] for fc in pairs])
        for (f, c), fl in zip(pairs, flows):
            if fl > 0:
                out[c] = f
        travel = float(sum(k * p.round_trip[f, c] for c, f in enumerate(out) if f >= 0))
        return FloorPlan(out, travel, True, "min_cost_flow")
    # max_teachers can bind: an exact assignment model (generalised assignment)
    m = cp_model.CpModel()
    x = {fc: m.new_bool_var(f"assign[{p.facilitator_ids[fc[0]]},{p.cluster_ids[fc[1]]}]") for fc in pairs}
    for c in clusters:
        m.add_at_most_one(x[f, c] for f in facilitators if (f, c) in x)
    for f in facilitators:
        xs = [(c, x[f, c]) for c in clusters if (f, c) in x]
        if xs:
            m.add(sum(v for _, v in xs) <= int(cap[f]))
            m.add(sum(int(p.n_teachers[c]) * v for c, v in xs) <= int(p.max_teachers[f]))
    big = 1 + sum(cost.values())
    m.maximize(sum(big * v - cost[fc] for fc, v in x.items()))
    s = cp_model.CpSolver()
    s.parameters.max_deterministic_time = max(1.0, time_limit)
    s.parameters.max_time_in_seconds = WALL_FACTOR * max(1.0, time_limit)
    s.parameters.num_workers = solver_workers()
    st = s.solve(m)
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for (f, c), v in x.items():
            if s.value(v):
                out[c] = f
    travel = float(sum(k * p.round_trip[f, c] for c, f in enumerate(out) if f >= 0))
    return FloorPlan(out, travel, st == cp_model.OPTIMAL, "cp_sat_assignment")


def _upper_supported(p: SupportProblem, facilitators: np.ndarray, clusters: np.ndarray, per_day: np.ndarray) -> int:
    """An upper bound on the clusters any plan supports: a max flow with each facilitator's
    capacity ``min(max_clusters, days_per_month x meetings a day / meetings_per_month)``."""
    reach = p.reach
    pairs = [(f, c) for f in facilitators for c in clusters if reach[f, c]]
    if not pairs:
        return 0
    cap = np.minimum(p.max_clusters, (p.days * per_day) // p.meetings_per_month)
    _, served = _transport(facilitators, clusters, pairs, [int(cap[f]) for f in facilitators], [0] * len(pairs))
    return served


def _flow_assign(p: SupportProblem, facilitators: np.ndarray, clusters: np.ndarray, cap: dict[int, int]) -> np.ndarray:
    """Most clusters, then least round-trip travel, with at most ``cap[f]`` clusters per facilitator (min-cost flow)."""
    out = np.full(p.n_clusters, -1)
    reach = p.reach
    pairs = [(int(f), int(c)) for f in facilitators for c in clusters if reach[f, c]]
    if not pairs:
        return out
    flows, _ = _transport(facilitators, clusters, pairs, [cap[int(f)] for f in facilitators], [round(p.round_trip[f, c] * SCALE) for f, c in pairs])
    for (f, c), fl in zip(pairs, flows):
        if fl > 0:
            out[c] = f
    return out


def _transport(facilitators: np.ndarray, clusters: np.ndarray, pairs: list, capacity: list[int], pair_costs: list[int]) -> tuple[np.ndarray, int]:
    """Source -> facilitator (``capacity``) -> cluster (1) -> sink over the reachable ``pairs``: the most clusters, then the least cost.

    OR-Tools min-cost flow; returns the flow on each pair (1 where the
    facilitator takes the cluster) and the number of clusters served.
    """
    fpos = {int(f): 1 + i for i, f in enumerate(facilitators)}
    cpos = {int(c): 1 + len(facilitators) + i for i, c in enumerate(clusters)}
    sink = 1 + len(facilitators) + len(clusters)
    smcf = min_cost_flow.SimpleMinCostFlow()
    tails = [0] * len(facilitators) + [fpos[int(f)] for f, _ in pairs] + [cpos[int(c)] for c in clusters]
    heads = [fpos[int(f)] for f in facilitators] + [cpos[int(c)] for _, c in pairs] + [sink] * len(clusters)
    caps = [max(0, min(int(c), len(clusters))) for c in capacity] + [1] * (len(pairs) + len(clusters))
    costs = [0] * len(facilitators) + list(pair_costs) + [0] * len(clusters)
    smcf.add_arcs_with_capacity_and_unit_cost(np.array(tails), np.array(heads), np.array(caps), np.array(costs, dtype=np.int64))
    smcf.set_node_supply(0, len(clusters))
    smcf.set_node_supply(sink, -len(clusters))
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:  # pragma: no cover - a well-formed flow always solves
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(np.arange(len(facilitators), len(facilitators) + len(pairs)))
    return flows, int(smcf.maximum_flow())


def paired_plan(
    p: SupportProblem, routes: list[DayRoute], facilitators: np.ndarray, clusters: np.ndarray, rounds: int = 30
) -> tuple[np.ndarray, dict[int, int]]:
    """A plan that shares days: meetings paired on one day where two fit, to reach the bound quickly.

    Each facilitator takes at most ``min(max_clusters, days x meetings a
    day / meetings_per_month)`` clusters (the bound's capacities), assigned
    by min-cost flow on round trips; the clusters of each are paired by a
    maximum matching (networkx, most pairs, then the most travel saved)
    over the two-meeting routes of ``routes``. A facilitator whose clusters
    need more days than they have (``k x (clusters - pairs)``) has the
    excess taken away and the flow is run again, until every month fits.
    Not used when ``max_teachers`` could bind (the flow would ignore it).

    Returns
    -------
    facilitator_of : numpy.ndarray
    counts : dict of int to int
        Days of each route (index into ``routes``).
    """
    import networkx as nx

    k = p.meetings_per_month
    per_day = p.meetings_per_day
    index = {(r.facilitator, r.key): i for i, r in enumerate(routes)}
    cap = {int(f): int(min(p.max_clusters[f], (p.days[f] * min(per_day, 2)) // k)) for f in facilitators}
    fo = np.full(p.n_clusters, -1)
    counts: dict[int, int] = {}
    for _ in range(rounds):
        fo = _flow_assign(p, facilitators, clusters, cap)
        counts, fits = {}, True
        for f in map(int, facilitators):
            mine = [int(c) for c in clusters if fo[c] == f]
            G = nx.Graph()
            G.add_nodes_from(mine)
            for a, b in itertools.combinations(mine, 2):
                i = index.get((f, frozenset((a, b))))
                if i is not None:
                    G.add_edge(a, b, weight=float(p.round_trip[f, a] + p.round_trip[f, b] - routes[i].travel_minutes) + 1.0, route=i)
            match = nx.max_weight_matching(G, maxcardinality=True) if G.number_of_edges() else set()
            paired = {c for e in match for c in e}
            excess = (len(mine) - len(match)) - int(p.days[f]) // k
            if excess > 0:
                fits = False
                cap[f] = len(mine) - excess
                continue
            for a, b in match:
                counts[G[a][b]["route"]] = k
            for c in mine:
                if c not in paired:
                    counts[index[(f, frozenset((c,)))]] = k
        if fits:
            return fo, counts
    return np.full(p.n_clusters, -1), {}


# --------------------------------------------------------------------------- the model


class SupportModel:
    """Assignment and calendar of one :class:`SupportProblem`, optimised together (CP-SAT).

    Parameters
    ----------
    problem : SupportProblem
    workers : int, optional
        CP-SAT search workers (default 1: deterministic).

    Examples
    --------
    >>> model = SupportModel(problem)                # doctest: +SKIP
    >>> solution = model.solve(time_limit_seconds=30)  # doctest: +SKIP
    >>> solution.n_supported, solution.travel_minutes, solution.gap  # doctest: +SKIP
    """

    def __init__(self, problem: SupportProblem, workers: int | None = None):
        self.problem = problem
        self.workers = workers or solver_workers()
        self.routes: list[list[DayRoute]] = []
        self.complete = True
        self.solution: SupportSolution | None = None

    # -- building -------------------------------------------------------

    def build_routes(self) -> None:
        """Enumerate every facilitator's day routes (see :func:`enumerate_day_routes`)."""
        self.routes = []
        self.complete = True
        for f in range(self.problem.n_facilitators):
            r, ok = enumerate_day_routes(self.problem, f)
            self.routes.append(r)
            self.complete &= ok

    def components(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Independent groups: facilitators and clusters linked by eligible pairs within reach."""
        p = self.problem
        F, C = p.n_facilitators, p.n_clusters
        fi, ci = np.nonzero(p.reach)
        g = coo_matrix((np.ones(len(fi)), (fi, F + ci)), shape=(F + C, F + C))
        n, lab = connected_components(g, directed=False)
        out = []
        for k in range(n):
            fs = np.flatnonzero(lab[:F] == k)
            cs = np.flatnonzero(lab[F:] == k)
            if len(fs) and len(cs):
                out.append((fs, cs))
        return out

    def build(self, facilitators: np.ndarray, clusters: np.ndarray) -> _CpCalendar:
        """The model of one group (its data for HiGHS; the CP-SAT model is built when a stage needs it)."""
        return _CpCalendar(self.problem, [r for f in facilitators for r in self.routes[f]], facilitators, clusters)

    # -- solving --------------------------------------------------------

    def solve(self, time_limit_seconds: float = 60.0) -> SupportSolution:
        """Solve every group; results on ``self.solution`` (also returned).

        ``time_limit_seconds`` is shared among the groups by their size and
        given to CP-SAT as deterministic work, so the plan does not depend on
        the machine's speed or load.
        """
        t0 = time.perf_counter()
        p = self.problem
        self.build_routes()
        comps = self.components()
        facilitator_of = np.full(p.n_clusters, -1)
        chosen: list[list[DayRoute]] = [[] for _ in range(p.n_facilitators)]
        notes: list[str] = []
        travel = bound = floor_travel = 0.0
        floor_n = n_bound = 0
        proven_n = proven_t = True
        sizes = [1 + sum(len(self.routes[f]) for f in fs) for fs, _ in comps]
        stats: dict[str, Any] = {
            "groups": len(comps),
            "routes": int(sum(len(r) for r in self.routes)),
            "multi_stop_routes": int(sum(len(x.clusters) > 1 for r in self.routes for x in r)),
            "stages": [],
        }
        budget = max(1.0, time_limit_seconds)
        for gi in sorted(range(len(comps)), key=lambda i: sizes[i]):
            fs, cs = comps[gi]
            share = max(0.5, budget * sizes[gi] / sum(sizes))
            fl = floor_plan(p, fs, cs, time_limit=min(10.0, share / 4))
            floor_n += int((fl.facilitator_of[cs] >= 0).sum())
            floor_travel += fl.travel_minutes
            if not fl.exact:
                notes.append("the one-round-trip-per-meeting floor was not proven optimal within its time (max_teachers binds)")
            cal = self.build(fs, cs)
            upper = _upper_supported(p, fs, cs, self._per_day(fs))
            start, start_routes = fl, None
            if fl.method == "min_cost_flow" and int((fl.facilitator_of[cs] >= 0).sum()) < upper and p.meetings_per_day >= 2:
                fo2, counts2 = paired_plan(p, cal.routes, fs, cs)
                if int((fo2[cs] >= 0).sum()) > int((fl.facilitator_of[cs] >= 0).sum()):
                    start, start_routes = FloorPlan(fo2, 0.0, False, "paired"), counts2
            res = cal.solve(start, share, self.workers, upper=upper, start_routes=start_routes)
            res["stages"]["start"] = start.method
            stats["stages"].append(res["stages"])
            for c, f in res["facilitator_of"].items():
                facilitator_of[c] = f
            for r, n in res["routes"]:
                chosen[r.facilitator].extend([r] * n)
            travel += res["travel"]
            bound += res["bound"]
            n_bound += res["n_bound"]
            proven_n &= res["n_proven"]
            proven_t &= res["t_proven"]
        filled = self._fill(facilitator_of, chosen)
        if filled:
            travel += sum(r.travel_minutes for f, c in filled for r in chosen[f] if r.clusters == (c,))
            notes.append(
                f"{len(filled)} cluster(s) were added after the solver's time with one round trip per meeting, as facilitators within reach had free days"
            )
            n_bound = max(n_bound, int((facilitator_of >= 0).sum()))
        days = [_order_days(rs, int(p.days[f])) for f, rs in enumerate(chosen)]
        n_now = int((facilitator_of >= 0).sum())
        proven_n = proven_n or n_now >= n_bound
        heuristic = not self.complete
        if heuristic:
            notes.append(
                f"some facilitators have more than {MAX_ROUTES_PER_FACILITATOR:,} possible day routes; only the cheapest per meeting were used, "
                "so no bound is proven on the travel (the count of clusters supported is still measured against its bound)"
            )
        if not proven_n:
            notes.append(
                f"{n_now} clusters supported; no plan supports more than {n_bound}. Not proven the most possible: "
                f"a longer [support] time_limit_seconds (now {time_limit_seconds:g}) would settle it"
            )
        status = "heuristic" if heuristic else ("optimal" if proven_n and proven_t and not filled else "feasible")
        self.solution = SupportSolution(
            facilitator_of=facilitator_of,
            days=days,
            travel_minutes=travel,
            travel_bound=None if heuristic or not proven_n or filled else min(bound, travel),
            supported_proven=proven_n,
            floor_supported=floor_n,
            floor_travel_minutes=floor_travel,
            status=status,
            notes=notes,
            solve_seconds=time.perf_counter() - t0,
            stats=stats,
            supported_bound=n_bound,
        )
        log.info(
            "support: %d of %d clusters supported (bound %d), travel %.1f min (floor %.1f), status %s, %.1f s",
            self.solution.n_supported,
            p.n_clusters,
            n_bound,
            travel,
            floor_travel,
            status,
            self.solution.solve_seconds,
        )
        return self.solution

    def _fill(self, facilitator_of: np.ndarray, chosen: list[list[DayRoute]]) -> list[tuple[int, int]]:
        """Give an unsupported cluster to an eligible facilitator within reach who has free days and room (round trips).

        Only a plan not proven the most possible can leave such a cluster; so
        "everyone within reach is full" is true of every cluster left.
        """
        p, k = self.problem, self.problem.meetings_per_month
        added: list[tuple[int, int]] = []
        for c in map(int, np.flatnonzero(facilitator_of < 0)):
            for f in map(int, np.flatnonzero(p.reach[:, c])[np.argsort(p.round_trip[p.reach[:, c], c], kind="stable")]):
                mine = np.flatnonzero(facilitator_of == f)
                if (
                    len(chosen[f]) + k <= p.days[f]
                    and len(mine) < p.max_clusters[f]
                    and int(p.n_teachers[mine].sum()) + int(p.n_teachers[c]) <= p.max_teachers[f]
                ):
                    facilitator_of[c] = f
                    chosen[f].extend([DayRoute(f, (c,), float(p.round_trip[f, c]))] * k)
                    added.append((f, c))
                    break
        return added

    def _per_day(self, fs: np.ndarray) -> np.ndarray:
        out = np.ones(self.problem.n_facilitators, dtype=int)
        for f in fs:
            out[f] = max([len(r.clusters) for r in self.routes[f]] or [1])
        return out


def _order_days(routes: list[DayRoute], n_days: int) -> list[DayRoute]:
    """The month's days in order: a cluster's repeated meetings far apart.

    Copies of the same route (and so of the same cluster's meetings) go to
    different rounds: the first copies fill the first days, the second
    copies the next, and so on.
    """
    seen: dict[tuple, int] = {}
    keyed = []
    for r in sorted(routes, key=lambda r: (min(r.clusters), r.clusters)):
        k = seen.get(r.clusters, 0)
        seen[r.clusters] = k + 1
        keyed.append((k, min(r.clusters), r))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in keyed][:n_days]


class _CpCalendar:
    """Set-partitioning model of one group: the data for HiGHS, and a CP-SAT model (named variables) built only when a stage needs it."""

    def __init__(self, p: SupportProblem, routes: list[DayRoute], facilitators: np.ndarray, clusters: np.ndarray):
        self.p, self.routes, self.fs, self.cs = p, routes, facilitators, clusters
        reach = p.reach
        self.pairs = [(int(f), int(c)) for f in facilitators for c in clusters if reach[f, c]]
        self.cost = [round(r.travel_minutes * SCALE) for r in routes]
        self.by_f: dict[int, list[int]] = {}
        for i, r in enumerate(routes):
            self.by_f.setdefault(r.facilitator, []).append(i)
        meeting = round(p.meeting_minutes * SCALE)
        self.work = {int(f): [(i, self.cost[i] + len(routes[i].clusters) * meeting) for i in self.by_f.get(int(f), [])] for f in facilitators}
        self._rows: tuple[csr_matrix, np.ndarray, np.ndarray] | None = None
        self._cp: cp_model.CpModel | None = None
        self._fixes: list[tuple[str, int]] = []

    @property
    def model(self) -> cp_model.CpModel:
        """The CP-SAT model, built on first use with every stage result fixed so far."""
        if self._cp is None:
            self._cp = self._build_cp()
            for kind, value in self._fixes:
                self._apply(kind, value)
        return self._cp

    def _fix(self, kind: str, value: int) -> None:
        """Fix a stage's result for the later stages: ``count`` (clusters supported), ``travel_max`` or ``travel`` (hundredths of a minute)."""
        self._fixes.append((kind, value))
        if self._cp is not None:
            self._apply(kind, value)

    def _apply(self, kind: str, value: int) -> None:
        m = self.model
        if kind == "count":
            m.add(self.n_supported == value)
        elif kind == "travel_max":
            m.add(self.travel <= value)
        else:
            m.add(self.travel == value)

    def _build_cp(self) -> cp_model.CpModel:
        p, routes, k = self.p, self.routes, self.p.meetings_per_month
        m = cp_model.CpModel()
        self.assign = {(f, c): m.new_bool_var(f"assign[{p.facilitator_ids[f]},{p.cluster_ids[c]}]") for f, c in self.pairs}
        self.days = [m.new_int_var(0, k, f"days[{p.facilitator_ids[r.facilitator]}:{'+'.join(p.cluster_ids[c] for c in r.clusters)}]") for r in routes]
        holds: dict[tuple[int, int], list] = {}
        for i, r in enumerate(routes):
            for c in r.clusters:
                holds.setdefault((r.facilitator, c), []).append(self.days[i])
        # every meeting of a supported cluster on a day of its facilitator
        for fc, v in self.assign.items():
            m.add(sum(holds.get(fc, [])) == k * v)
        # at most one facilitator per cluster
        for c in self.cs:
            vs = [self.assign[int(f), int(c)] for f in self.fs if (int(f), int(c)) in self.assign]
            if len(vs) > 1:
                m.add_at_most_one(vs)
        # capacities: working days, clusters, teachers
        for f in map(int, self.fs):
            idx = self.by_f.get(f, [])
            xs = [(c, v) for (ff, c), v in self.assign.items() if ff == f]
            if idx:
                m.add(sum(self.days[i] for i in idx) <= int(p.days[f]))
            if xs and p.max_clusters[f] < len(xs):
                m.add(sum(v for _, v in xs) <= int(p.max_clusters[f]))
            if xs and p.max_teachers[f] < sum(int(p.n_teachers[c]) for c, _ in xs):
                m.add(sum(int(p.n_teachers[c]) * v for c, v in xs) <= int(p.max_teachers[f]))
        self.n_supported = sum(self.assign.values())
        self.travel = sum(c * d for c, d in zip(self.cost, self.days))
        return m

    def _hint(self, facilitator_of: dict[int, int], counts: dict[int, int]) -> None:
        m = self.model
        m.clear_hints()
        for (f, c), v in self.assign.items():
            m.add_hint(v, facilitator_of.get(c, -1) == f)
        for i, d in enumerate(self.days):
            m.add_hint(d, counts.get(i, 0))

    def _run(self, work: float, workers: int):
        """Solve with a limit in CP-SAT's deterministic work units (the same result on a quiet or busy machine).

        A wall-clock limit of :data:`WALL_FACTOR` times the work stands
        guard on a very slow machine only.
        """
        s = cp_model.CpSolver()
        s.parameters.max_deterministic_time = max(0.1, work)
        s.parameters.max_time_in_seconds = WALL_FACTOR * max(1.0, work)
        s.parameters.num_workers = workers
        s.parameters.random_seed = 0
        st = s.solve(self.model)
        return s, st

    def _milp(self, stage: str, *, work: float, n_supported: int = 0, travel: int = 0) -> tuple[dict[int, int], dict[int, int], float, bool] | None:
        """A stage as a mixed-integer program over the same variables, solved by HiGHS (``scipy.optimize.milp``).

        ``stage`` ``"count"``: the most clusters supported; ``"travel"``: the
        least travel (whole hundredths of a minute, as in CP-SAT) with
        exactly ``n_supported``; ``"workload"``: the smallest largest share
        of a facilitator's available time in use (a continuous ``top``), with
        exactly ``n_supported`` and exactly ``travel``. Limited by a number
        of branch-and-bound nodes scaled from ``work`` (deterministic: the
        same result on a quiet or busy machine), a wall clock of
        :data:`WALL_FACTOR` times ``work`` only as a guard. The linear
        relaxation of set partitioning over day routes is tight: on a real
        network HiGHS proves in seconds what CP-SAT with one worker does not
        reach in minutes (``benchmarks/bench_support.py --only real``).
        Returns ``(facilitator_of, route days, bound, proven)`` (the bound on
        the stage's objective: clusters, travel or ``top``), or None when no
        integral plan was found or the rounded plan breaks a constraint.
        """
        p, k = self.p, self.p.meetings_per_month
        A, lo, hi = self._milp_rows()
        nR, pairs = len(self.routes), self.pairs
        n = nR + len(pairs) + (stage == "workload")
        counted = np.r_[np.zeros(nR), np.ones(len(pairs)), np.zeros(n - nR - len(pairs))]
        costs = np.r_[np.array(self.cost, dtype=float), np.zeros(n - nR)]
        extra: list[tuple[np.ndarray, float, float]] = []
        if stage == "count":
            objective = -counted
        else:
            extra.append((counted, n_supported, n_supported))
            objective = costs
        if stage == "workload":
            extra.append((costs, travel, travel))
            for f, w in self.work.items():
                if w:
                    row = np.zeros(n)
                    row[[i for i, _ in w]] = [c for _, c in w]
                    row[-1] = -float(p.days[f])
                    extra.append((row, -np.inf, 0.0))
            objective = np.r_[np.zeros(n - 1), 1.0]
        if n > A.shape[1]:
            A = hstack([A, csr_matrix((A.shape[0], n - A.shape[1]))])
        if extra:
            A = vstack([A, csr_matrix(np.array([r for r, _, _ in extra]))]).tocsr()
            lo, hi = np.r_[lo, [x for _, x, _ in extra]], np.r_[hi, [x for _, _, x in extra]]
        res = milp(
            objective,
            constraints=LinearConstraint(A, lo, hi),
            bounds=Bounds(0, np.r_[np.full(nR, k), np.ones(len(pairs)), np.full(n - nR - len(pairs), p.working_day_minutes * SCALE)]),
            integrality=np.r_[np.ones(nR + len(pairs)), np.zeros(n - nR - len(pairs))],
            options={"node_limit": max(100, round(MILP_NODES_PER_SECOND * work)), "time_limit": WALL_FACTOR * max(1.0, work), "mip_rel_gap": 0.0},
        )
        if res.x is None:
            return None
        x = np.r_[np.rint(res.x[: nR + len(pairs)]), res.x[nR + len(pairs) :]]
        ax = A @ x
        if not (np.all(ax >= lo - 1e-3) and np.all(ax <= hi + 1e-3)):  # pragma: no cover - HiGHS's integrality tolerance
            log.warning("support: the MILP's rounded plan breaks a constraint; kept the CP-SAT plan")
            return None
        fo = {c: f for (f, c), v in zip(pairs, x[nR:]) if v > 0.5}
        counts = {i: int(v) for i, v in enumerate(x[:nR]) if v > 0.5}
        bound = float(getattr(res, "mip_dual_bound", np.nan))
        return fo, counts, -bound if stage == "count" else bound, res.status == 0

    def _milp_rows(self) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
        """The constraints of :class:`_CpCalendar` as a sparse matrix over ``[days[r]..., assign[f, c]...]`` with row bounds (built once)."""
        if self._rows is None:
            self._rows = self._build_milp_rows()
        return self._rows

    def _build_milp_rows(self) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
        p, k = self.p, self.p.meetings_per_month
        nR = len(self.routes)
        col = {fc: nR + j for j, fc in enumerate(self.pairs)}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lo: list[float] = []
        hi: list[float] = []

        def row(entries, low, high) -> None:
            for c, v in entries:
                rows.append(len(lo))
                cols.append(c)
                vals.append(v)
            lo.append(low)
            hi.append(high)

        holds: dict[tuple[int, int], list[int]] = {}
        by_f: dict[int, list[int]] = {}
        for i, r in enumerate(self.routes):
            by_f.setdefault(r.facilitator, []).append(i)
            for c in r.clusters:
                holds.setdefault((r.facilitator, c), []).append(i)
        for fc, j in col.items():
            row([*((i, 1.0) for i in holds.get(fc, [])), (j, -float(k))], 0.0, 0.0)
        for c in self.cs:
            js = [col[int(f), int(c)] for f in self.fs if (int(f), int(c)) in col]
            if len(js) > 1:
                row(((j, 1.0) for j in js), 0.0, 1.0)
        for f in map(int, self.fs):
            row(((i, 1.0) for i in by_f.get(f, [])), 0.0, float(p.days[f]))
            mine = [(c, j) for (ff, c), j in col.items() if ff == f]
            if mine and p.max_clusters[f] < len(mine):
                row(((j, 1.0) for _, j in mine), 0.0, float(p.max_clusters[f]))
            if mine and p.max_teachers[f] < sum(int(p.n_teachers[c]) for c, _ in mine):
                row(((j, float(p.n_teachers[c])) for c, j in mine), 0.0, float(p.max_teachers[f]))
        A = coo_matrix((vals, (rows, cols)), shape=(len(lo), nR + len(col))).tocsr()
        return A, np.array(lo), np.array(hi)

    def _stage3_cp(
        self, fo: dict[int, int], counts: dict[int, int], travel_now: int, work: float, workers: int, stages: dict
    ) -> tuple[dict[int, int], dict[int, int]]:
        """The workload tie-break in CP-SAT (when HiGHS finds no plan): the plan, the start plan if CP-SAT finds none."""
        p = self.p
        self._fix("travel", travel_now)
        day = round(p.working_day_minutes * SCALE)
        top = self.model.new_int_var(0, day, "largest_workload_per_day")
        for f, w in self.work.items():
            if w:
                self.model.add(sum(c * self.days[i] for i, c in w) <= top * int(p.days[f]))
        self._hint(fo, counts)
        self.model.add_hint(top, max([math.ceil(sum(c * counts.get(i, 0) for i, c in w) / int(p.days[f])) for f, w in self.work.items() if w] or [0]))
        self.model.minimize(top)
        s, st = self._run(work, workers)
        if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            fo, counts = self._read(s)
        stages["stage3_status"] = s.status_name(st)
        return fo, counts

    def _read(self, s) -> tuple[dict[int, int], dict[int, int]]:
        fo = {c: f for (f, c), v in self.assign.items() if s.value(v)}
        counts = {i: int(s.value(d)) for i, d in enumerate(self.days) if s.value(d)}
        return fo, counts

    def solve(self, start: FloorPlan, seconds: float, workers: int, upper: int, start_routes: dict[int, int] | None = None) -> dict:
        """Lexicographic stages from a start plan; returns the best plan and what is proven.

        ``start_routes`` (route index -> days) is the start plan's calendar;
        without it, one round trip per meeting. Each stage gets a fixed share
        of ``seconds`` as deterministic work: stage 1 (most clusters) 20 %
        in HiGHS and 20 % in CP-SAT if HiGHS did not prove it, stage 2
        (least travel) 25 % in HiGHS and 30 % (50 % when stage 1 was
        skipped) in CP-SAT if HiGHS did not prove it, stage 3 (even
        workload) 10 %, at most :data:`STAGE3_SECONDS`.
        """
        t0 = time.perf_counter()
        k = self.p.meetings_per_month
        single = {(r.facilitator, r.clusters[0]): i for i, r in enumerate(self.routes) if len(r.clusters) == 1}
        fo = {int(c): int(start.facilitator_of[c]) for c in self.cs if start.facilitator_of[c] >= 0}
        counts = dict(start_routes) if start_routes is not None else {single[f, c]: k for c, f in fo.items()}
        n_best = len(fo)
        stages: dict[str, int | float | str] = {"start_supported": n_best, "upper_supported": upper}
        # stage 1: the most clusters supported (skipped when the start reaches the bound): HiGHS, then CP-SAT if not proven
        n_proven = n_best >= upper
        n_bound = upper
        if not n_proven:
            mi = self._milp("count", work=seconds * 0.2)
            if mi is not None:
                if len(mi[0]) > n_best:
                    fo, counts, n_best = mi[0], mi[1], len(mi[0])
                if np.isfinite(mi[2]):
                    n_bound = min(n_bound, math.floor(mi[2] + 1e-6))
                n_proven = mi[3] or n_best >= n_bound
            stages["stage1_milp"] = "OPTIMAL" if n_proven else "FEASIBLE" if mi is not None else "UNKNOWN"
        if not n_proven:
            self._hint(fo, counts)
            self.model.maximize(self.n_supported)
            s, st = self._run(seconds * 0.2, workers)
            if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                fo2, counts2 = self._read(s)
                if len(fo2) > n_best:
                    fo, counts, n_best = fo2, counts2, len(fo2)
                n_bound = min(n_bound, int(s.best_objective_bound + 1e-9))
                n_proven = st == cp_model.OPTIMAL or n_best >= n_bound
            stages["stage1_status"] = s.status_name(st)
        stages["supported_bound"] = n_best if n_proven else n_bound
        self._fix("count", n_best)
        # stage 2: the least travel: HiGHS, then CP-SAT from the best plan if not proven
        travel_now = sum(self.cost[i] * n for i, n in counts.items())
        bound = 0.0
        t_proven = False
        mi = self._milp("travel", work=seconds * 0.25, n_supported=n_best)
        if mi is not None:
            t2 = sum(self.cost[i] * n for i, n in mi[1].items())
            if t2 <= travel_now:
                fo, counts, travel_now = mi[0], mi[1], t2
            bound = mi[2] if np.isfinite(mi[2]) else 0.0
            t_proven = mi[3] and travel_now <= t2
        stages["stage2_milp"] = "OPTIMAL" if t_proven else "FEASIBLE" if mi is not None else "UNKNOWN"
        self._fix("travel_max", int(travel_now))
        if not t_proven:
            self._hint(fo, counts)
            self.model.minimize(self.travel)
            s, st = self._run(seconds * (0.3 if "stage1_status" in stages else 0.5), workers)
            if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                fo2, counts2 = self._read(s)
                t2 = sum(self.cost[i] * n for i, n in counts2.items())
                if t2 <= travel_now:
                    fo, counts, travel_now = fo2, counts2, t2
                bound = max(bound, s.best_objective_bound)
                t_proven = st == cp_model.OPTIMAL or travel_now <= bound + 1e-9
            stages["stage2_status"] = s.status_name(st)
            stages["stage2_seconds"] = round(s.wall_time, 2)
        else:
            bound = float(travel_now)
        # stage 3: the most even workload (smallest largest share of available time) at that travel: HiGHS, CP-SAT if it finds nothing
        left = min(0.1 * seconds, STAGE3_SECONDS)  # a tie-break: a small share of the work
        if left >= 0.1 and len(self.fs) > 1:
            mi = self._milp("workload", work=left, n_supported=n_best, travel=int(travel_now))
            if mi is not None:
                fo, counts = mi[0], mi[1]
                stages["stage3_status"] = "OPTIMAL" if mi[3] else "FEASIBLE"
            else:
                fo, counts = self._stage3_cp(fo, counts, int(travel_now), left, workers, stages)
        stages["seconds"] = round(time.perf_counter() - t0, 2)
        travel = sum(self.routes[i].travel_minutes * n for i, n in counts.items())
        return {
            "facilitator_of": fo,
            "routes": [(self.routes[i], n) for i, n in sorted(counts.items())],
            "travel": travel,
            "bound": bound / SCALE,
            "n_proven": n_proven,
            "n_bound": int(stages["supported_bound"]),
            "t_proven": t_proven,
            "stages": stages,
        }


__all__ = ["DayRoute", "FloorPlan", "SupportModel", "SupportProblem", "SupportSolution", "enumerate_day_routes", "floor_plan"]
