"""A Lagrangian bound that keeps each venue's capacity as a 0-1 knapsack, and its exact pair reduction.

The assignment rows ``sum_j x[i, j] = 1`` are dualised with a price
``lam[i]`` per unit; what is left splits by venue. Venue ``j``, open, holds
its own unit and any set of members that fits in its capacity
``max_teachers - teachers[j]`` (a 0-1 knapsack over the members' teachers,
each worth ``lam[i] - c[i, j]``), so for *any* prices every plan placing
every unit costs at least::

    L(lam) = sum_i lam[i] + (sum of the n_clusters least  c[j, j] - lam[j] - K_j(lam))

(every negative term when the number of clusters is free), where ``K_j`` is
the best knapsack of venue ``j``. The rows on the least teachers, the most
schools, the side rows and the cap on moves are dropped, which only lowers
it. The knapsacks are integral where the LP fills capacities with fractions
of units, so from the LP's prices ``L`` is at least the LP bound, and
subgradient steps (Polyak's rule towards the best plan's cost) raise it.

The knapsacks of all venues are solved together by dynamic programming over
integer weights (:func:`knapsacks`): one pass per item slot, every venue's
row at once in numpy. Its table ``T_j[q]`` (best total within ``q``
teachers) gives the exact reduction (:func:`knapsack_pair_bounds`): a plan
that uses pair ``(i, j)`` opens ``j`` with ``i`` in it, so venue ``j``'s term
is at least ``c[j, j] - lam[j] - (lam[i] - c[i, j]) - T_j[cap_j -
teachers[i]]`` (the table may take ``i`` again: still a valid bound), while
the other open venues keep their best terms (a venue outside the
relaxation's open set replaces the worst open one). A pair whose bound is
above the best plan's cost cannot be in a better plan.

Two item sources share the subgradient loop (:func:`knapsack_lagrangian`):
the complete model's pairs (:func:`dense_knapsack_bound`, used by
:mod:`.solve` where the size-aware bound of :mod:`.lagrange` does not apply)
and sparse candidates fetched on demand (``large.knapsack_bound``). The
number of steps is fixed (the work); the clock only stops it early.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cluster_mapper.model.formulation import Formulation
from cluster_mapper.model.lagrange import open_terms

log = logging.getLogger(__name__)

#: Steps without a better bound before the subgradient step size is halved.
PATIENCE = 30
#: The first step size of the subgradient steps (Polyak's factor): the sparse path's.
START_STEP = 1.0
#: The first step size on the complete model: twice as large (SJC2: 33,213 instead of 33,186 after 200 steps).
DENSE_START_STEP = 2.0
#: Subgradient steps of the bound on the complete model (the work: deterministic).
DENSE_MAX_STEPS = 200
#: Most cells (capacity x items of the venues whose items do not all fit) of one step's programme on the complete
#: model, at the LP's prices (SJC2: about 600,000, a few milliseconds a step).
MAX_DP_CELLS = 4_000_000

#: Given the prices, the pairs ``(member, venue, cost)`` a knapsack may take (every pair with ``cost < lam[member]``
#: at least; other pairs may be included, they are filtered).
ItemSource = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class KnapsackTables:
    """The programme's table of every venue that has items.

    Attributes
    ----------
    row_of : numpy.ndarray of int
        Per unit, its row in ``table`` (-1: no items, its table is 0 everywhere).
    table : numpy.ndarray
        ``table[row, q]``: the best total profit of items holding at most ``q`` teachers.
    """

    row_of: np.ndarray
    table: np.ndarray

    def at(self, venue: np.ndarray, q: np.ndarray) -> np.ndarray:
        """``T_venue[q]`` per entry (``-inf`` where ``q < 0``, the largest column where ``q`` is past it)."""
        venue, q = np.asarray(venue, dtype=np.int64), np.asarray(q, dtype=np.int64)
        out = np.zeros(len(venue))
        r = self.row_of[venue]
        has = r >= 0
        if self.table.size:
            out[has] = self.table[r[has], np.clip(q[has], 0, self.table.shape[1] - 1)]
        out[q < 0] = -math.inf
        return out


def knapsacks(
    venue: np.ndarray, weight: np.ndarray, profit: np.ndarray, capacity: np.ndarray, n: int, *, tables: bool = False
) -> tuple[np.ndarray, np.ndarray, KnapsackTables | None]:
    """0-1 knapsacks, one per venue, solved together by dynamic programming over integer weights.

    Parameters
    ----------
    venue, weight, profit : numpy.ndarray
        The items (positive profit, integer weight >= 0) and the venue whose knapsack each is in.
    capacity : numpy.ndarray of int
        Per venue (length ``n``), the knapsack's capacity.
    n : int
        Number of units.
    tables : bool
        Return every venue's table. Without it, a venue whose items all fit
        takes them all without the programme (same value and items).

    Returns
    -------
    (value, taken, tables)
        Per venue the best total profit, per item whether it is taken, and the
        programme's :class:`KnapsackTables` (None unless asked for).
    """
    value = np.zeros(n)
    taken = np.zeros(len(venue), dtype=bool)
    row_of = np.full(n, -1, dtype=np.int64)
    if not tables:
        fits = (np.bincount(venue, weights=weight, minlength=n) <= capacity)[venue]
        taken[fits] = True
        value += np.bincount(venue[fits], weights=profit[fits], minlength=n)
        rest = np.flatnonzero(~fits)
        v2, t2, _ = knapsacks(venue[rest], weight[rest], profit[rest], capacity, n, tables=True)
        taken[rest[t2]] = True
        return value + v2, taken, None
    if len(venue) == 0:
        return value, taken, KnapsackTables(row_of, np.zeros((0, 1)))
    order = np.lexsort((np.arange(len(venue)), venue))
    vs = venue[order]
    rows_v, start, count = np.unique(vs, return_index=True, return_counts=True)
    by_count = np.argsort(-count, kind="stable")  # rows with most items first: rows still active form a prefix
    rows_v, start, count = rows_v[by_count], start[by_count], count[by_count]
    R, T = len(rows_v), int(count.max())
    Q = int(capacity[rows_v].max())
    item = np.full((R, T), -1, dtype=np.int64)
    slot = np.arange(T)
    have = slot[None, :] < count[:, None]
    item[have] = order[(start[:, None] + slot[None, :])[have]]
    active = (count[None, :] > slot[:, None]).sum(axis=1)  # per slot t, the rows with more than t items (a prefix)
    # dp[row, q] (best total within q) sits in a row of width W + Q + 1 whose first W cells are -inf, so the value
    # w cells back is one flat gather, -inf when q < w (W: the heaviest weight, at least 1 and at most Q + 1: a weight
    # past Q reads the padding for every q)
    W = int(min(max(int(weight.max(initial=0)), 1), Q + 1))
    padded = np.full((R, W + Q + 1), -np.inf)
    padded[:, W:] = 0.0
    flat = padded.reshape(-1)
    dp = padded[:, W:]
    at = (np.arange(R) * (W + Q + 1) + W)[:, None] + np.arange(Q + 1)[None, :]  # flat position of dp[row, q]
    keep = []
    for t in range(T):
        r = int(active[t])
        it = item[:r, t]
        back = np.minimum(weight[it], W)  # a weight past W (> Q) reads -inf either way
        cand = flat[at[:r] - back[:, None]] + profit[it][:, None]
        take = cand > dp[:r]
        np.maximum(dp[:r], cand, out=dp[:r])
        keep.append(take)
    cap = np.minimum(capacity[rows_v], Q)
    value[rows_v] = dp[np.arange(R), cap]
    c = cap.copy()
    for t in range(T - 1, -1, -1):
        r = int(active[t])
        tk = keep[t][np.arange(r), c[:r]]
        it = item[:r, t]
        taken[it[tk]] = True
        c[:r] -= np.where(tk, weight[it], 0)
    row_of[rows_v] = np.arange(R)
    return value, taken, KnapsackTables(row_of, dp)


@dataclass
class KnapsackBound:
    """Result of :func:`knapsack_lagrangian`.

    Attributes
    ----------
    bound : float
        The best Lagrangian bound found, objective's unit (``-inf``: none).
    prices : numpy.ndarray
        The multipliers (per unit, objective's unit) that gave it.
    open_order : numpy.ndarray
        Venues ordered by their Lagrangian value at those prices, best first:
        the first ``n_clusters`` are the relaxation's venues.
    steps : int
        Subgradient steps done.
    """

    bound: float
    prices: np.ndarray
    open_order: np.ndarray
    steps: int


def knapsack_lagrangian(
    *,
    n: int,
    hosts: np.ndarray,
    teachers: np.ndarray,
    max_teachers: int,
    self_cost: np.ndarray,
    need: np.ndarray,
    n_clusters: int | None,
    items: ItemSource,
    prices: np.ndarray | None,
    target: float | None,
    deadline: float,
    max_steps: int,
    start_step: float = START_STEP,
) -> KnapsackBound:
    """The subgradient loop of the bound (module docstring), for any source of items.

    Parameters
    ----------
    n : int
        Number of units.
    hosts : numpy.ndarray of int
        The units that can be venues (each fits in a cluster alone).
    teachers : numpy.ndarray of int
        Teachers per unit (the knapsacks' integer weights).
    max_teachers : int
        A cluster's capacity, its venue's own teachers included.
    self_cost : numpy.ndarray
        Per unit, the cost of opening its venue (its self pair), objective's unit.
    need : numpy.ndarray of bool
        Units that must be placed (their price may be positive; the others' stay <= 0).
    n_clusters : int or None
        Exactly this many venues open, if set.
    items : ItemSource
        The candidate pairs for the current prices.
    prices : numpy.ndarray, optional
        Starting multipliers per unit (e.g. the LP's assignment duals); default 0.
    target : float, optional
        A value above the optimum (a plan's cost) for the step size; default 5 % above the bound.
    deadline : float
        ``time.perf_counter()`` ceiling.
    max_steps : int
        Most subgradient steps (the work).
    start_step : float
        The first Polyak factor (halved after ``PATIENCE`` steps without a better bound).
    """
    d = np.asarray(teachers).astype(np.int64)
    lam = np.zeros(n) if prices is None else np.asarray(prices, dtype=float).copy()
    lam = np.where(need, lam, np.minimum(lam, 0.0))
    capacity = np.zeros(n, dtype=np.int64)
    capacity[hosts] = max_teachers - d[hosts]
    best, best_lam, best_order = -math.inf, lam.copy(), hosts
    mu, stall, step = start_step, 0, 0
    for step in range(1, max_steps + 1):  # noqa: B007 - reported
        member, venue, cost = items(lam)
        profit = lam[member] - cost
        pos = profit > 0
        iv, im = venue[pos], member[pos]
        value, taken, _ = knapsacks(iv, d[im], profit[pos], capacity, n)
        val = self_cost[hosts] - lam[hosts] - value[hosts]
        order = np.argsort(val, kind="stable")
        chosen = order[:n_clusters] if n_clusters is not None else order[val[order] < 0]
        L = float(lam.sum() + val[chosen].sum())
        if best == -math.inf or L > best + 1e-9 * max(1.0, abs(best)):
            best, best_lam, best_order, stall = L, lam.copy(), hosts[order], 0
        else:
            stall += 1
            if stall >= PATIENCE:
                mu, stall = mu / 2, 0
        goal = target if target is not None and target > best else best * 1.05 + 1.0
        # subgradient: 1 - times each unit is served (its own venue, or an item taken by an open venue)
        is_open = np.zeros(n, dtype=bool)
        is_open[hosts[chosen]] = True
        served = np.zeros(n)
        served[hosts[chosen]] += 1
        t_open = taken & is_open[iv]
        np.add.at(served, im[t_open], 1)
        g = 1.0 - served
        g = np.where(need | (g < 0) | (lam < 0), g, 0.0)  # prices of units that need not be placed stay <= 0
        gg = float(g @ g)
        if gg == 0:  # the relaxation's plan is feasible: the bound is its cost
            break
        lam = lam + mu * (goal - L) / gg * g
        lam = np.where(need, lam, np.minimum(lam, 0.0))
        if mu < 1e-4 or time.perf_counter() > deadline or (target is not None and best >= target - 1e-9 * max(1.0, target)):
            break
    log.info("knapsack bound %.4f after %d steps (step size %.2g)", best, step, mu)
    return KnapsackBound(best, best_lam, best_order, step)


class _Dense:
    """The complete model's view for the bound: venues, capacities, self costs and member pairs."""

    def __init__(self, F: Formulation):
        p = F.problem
        self.F = F
        self.hosts = F.venues
        self.self_cost = np.zeros(F.n)
        self.self_cost[self.hosts] = F.cost[F.self_col[self.hosts]]
        self.need = F.placeable & (F.teachers > 0)
        members = np.flatnonzero(~F.is_self)
        self.member, self.venue, self.cost = F.member[members], F.venue[members], F.cost[members]
        self.cols = members
        self.capacity = int(p.max_teachers)

    def items(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.member, self.venue, self.cost

    def fits(self, lam: np.ndarray) -> bool:
        """The programme at ``lam`` is within ``MAX_DP_CELLS``."""
        pos = lam[self.member] - self.cost > 0
        v = self.venue[pos]
        count = np.bincount(v, minlength=self.F.n)
        weight = np.bincount(v, weights=self.F.teachers[self.member[pos]], minlength=self.F.n)
        full = weight > self.capacity - self.F.teachers  # venues whose items do not all fit: the programme's rows
        return int(count[full].sum()) * (self.capacity + 1) <= MAX_DP_CELLS


def dense_knapsack_bound(F: Formulation, prices: np.ndarray, target: float | None, deadline: float, max_steps: int = DENSE_MAX_STEPS) -> KnapsackBound:
    """:func:`knapsack_lagrangian` on the complete model's pairs, for plans placing every unit with teachers.

    Returns a bound of ``-inf`` when it does not apply: a cost on moves, no
    venue, too few venues for the clusters asked, or a programme larger than
    ``MAX_DP_CELLS`` at the starting prices.
    """
    p = F.problem
    D = _Dense(F)
    lam = np.where(D.need, prices, np.minimum(prices, 0.0))
    if p.move_weight or len(D.hosts) == 0 or (p.n_clusters is not None and len(D.hosts) < p.n_clusters) or not D.fits(lam):
        log.debug("knapsack bound skipped (moves priced, too few venues, or a programme too large)")
        return KnapsackBound(-math.inf, np.asarray(prices, dtype=float), D.hosts, 0)
    return knapsack_lagrangian(
        n=F.n,
        hosts=D.hosts,
        teachers=F.teachers,
        max_teachers=D.capacity,
        self_cost=D.self_cost,
        need=D.need,
        n_clusters=p.n_clusters,
        items=D.items,
        prices=prices,
        target=target,
        deadline=deadline,
        max_steps=max_steps,
        start_step=DENSE_START_STEP,
    )


def knapsack_pair_bounds(F: Formulation, prices: np.ndarray) -> tuple[float, np.ndarray]:
    """The bound at ``prices`` and, per column, a lower bound on any plan (placing every unit) that uses it.

    See the module docstring: venue ``j``'s term with member ``i`` forced in
    is ``c[j, j] - lam[j] - (lam[i] - c[i, j]) - T_j[cap_j - teachers[i]]``;
    the other venues keep the relaxation's best terms (the ``n_clusters - 1``
    least of the others). A self column gets the bound of the plans that open
    its venue.

    Returns
    -------
    (bound, values)
        ``-inf`` and ``-inf`` everywhere when the bound does not apply.
    """
    p = F.problem
    D = _Dense(F)
    none = (-math.inf, np.full(F.P, -math.inf))
    R = len(D.hosts)
    if p.move_weight or R == 0 or (p.n_clusters is not None and (R < p.n_clusters or p.n_clusters < 1)):
        return none
    lam = np.where(D.need, prices, np.minimum(prices, 0.0))
    d = F.teachers.astype(np.int64)
    capacity = np.zeros(F.n, dtype=np.int64)
    capacity[D.hosts] = D.capacity - d[D.hosts]
    profit = lam[D.member] - D.cost
    pos = profit > 0
    value, _, tables = knapsacks(D.venue[pos], d[D.member[pos]], profit[pos], capacity, F.n, tables=True)
    assert tables is not None
    val = D.self_cost[D.hosts] - lam[D.hosts] - value[D.hosts]
    opened, rest = open_terms(val, p.n_clusters)
    base = float(lam.sum())
    row = np.full(F.n, -1, dtype=np.int64)
    row[D.hosts] = np.arange(R)
    values = np.full(F.P, math.inf)
    values[F.self_col[D.hosts]] = base + rest + val
    r = row[D.venue]
    forced = D.self_cost[D.venue] - lam[D.venue] - profit - tables.at(D.venue, capacity[D.venue] - d[D.member])
    values[D.cols] = base + rest[r] + forced
    values[~np.isfinite(values)] = math.inf
    return base + opened, values


__all__ = ["KnapsackBound", "KnapsackTables", "dense_knapsack_bound", "knapsack_lagrangian", "knapsack_pair_bounds", "knapsacks"]
