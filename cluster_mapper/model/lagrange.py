"""A lower bound that keeps the field's cluster rules: Lagrangian relaxation with size-aware subproblems.

With a minimum cluster size the LP bound is weak: the LP opens fractions of
venues and fills them with fractions of units, so a cluster "reaches" six
teachers with half of twelve (22-24 % below the optimum on generated
districts). Here the assignment rows are dualised with a price ``lam[i]``
per unit and everything else is kept *per venue*, exactly:

    L(lam) = sum_i lam[i] + sum over the venues opened of (c[j, j] - lam[j] - K_j(lam))

where ``K_j`` is the best total of ``lam[i] - c[i, j]`` over a set of
members that, with ``j``'s own unit, holds between ``min_teachers`` and
``max_teachers`` teachers and between ``min_schools`` and ``max_schools``
schools (venues opened: those with a negative value, or the
``n_clusters`` best). Each ``K_j`` is a knapsack with a cardinality, solved
exactly by dynamic programming over (schools, teachers), all venues
together in numpy. For *any* prices ``L(lam)`` is a lower bound on every
plan that places every unit with teachers (side rows, the cap on moves
and the other venues' choices are relaxed, which only lowers it); from the
LP's prices it is at least the LP bound, and subgradient steps (Polyak's
rule towards the best plan's cost) raise it. The number of steps is fixed
(deterministic); the clock only stops it early.

The programme goes by weight classes: items of one weight differ only by
their profit, so a venue takes the ``k`` most profitable of each weight, and
one pass per weight (``k = 0..S``) gives the best total for every number of
members and of teachers (:func:`venue_values`). :func:`pair_bounds` turns the
table into an exact reduction: a plan that uses pair ``(i, j)`` pays venue
``j``'s term with ``i`` forced in, at least ``c[j, j] - lam[j] - (lam[i] -
c[i, j])`` less the best total of at most ``S - 1`` others in the teachers
left, while every other venue keeps its best term.
"""

from __future__ import annotations

import logging
import math
import time
from typing import NamedTuple

import numpy as np

from cluster_mapper.model.formulation import Formulation

log = logging.getLogger(__name__)

#: Subgradient steps of the bound.
MAX_STEPS = 150
#: Steps without a better bound before the step size is halved.
PATIENCE = 15
#: Most cells of the dynamic programme's trace (venues x schools x teachers x items): clusters of a few schools
#: and at most a few dozen teachers (the field's rules) are far below; a plain CPMP with capacities in the
#: hundreds is not planned with this bound (its LP bound is strong anyway).
MAX_TRACE_CELLS = 50_000_000


class VenueValues(NamedTuple):
    """What :func:`venue_values` finds for each venue.

    Attributes
    ----------
    K : numpy.ndarray
        Per venue row, the best total ``lam[i] - c[i, j]`` of a member set within the rules (``-inf``: none).
    taken : numpy.ndarray of bool
        Mask over the items: the members of each venue's best set.
    table : numpy.ndarray
        ``table[row, s, q]``: the best total of ``s`` members holding ``q`` teachers (``-inf``: none).
    standins : tuple of numpy.ndarray, optional
        With ``outside`` (:func:`venue_values`): the stand-ins taken, as
        (unit, venue row) arrays.
    """

    K: np.ndarray
    taken: np.ndarray
    table: np.ndarray
    standins: tuple[np.ndarray, np.ndarray] | None = None


class _Rules(NamedTuple):
    """The per-venue rules of the dynamic programme (see :func:`venue_values`)."""

    items: np.ndarray
    S: int
    Q: int
    lo_t: np.ndarray
    lo_s: int
    hi_t: np.ndarray
    need: np.ndarray
    self_cost: np.ndarray


def _rules(F: Formulation) -> _Rules | None:
    """The knapsack rules of each venue, or None when its trace would be too large (see ``MAX_TRACE_CELLS``)."""
    p = F.problem
    Q = int(p.max_teachers)
    S = int(min(max(p.max_schools, 1) - 1, Q, max(0, F.n - 1)))
    d = F.teachers.astype(np.int64)
    venues = F.venues
    items = np.flatnonzero(~F.is_self & (F.teachers[F.member] > 0))
    per_venue = int(np.bincount(F.venue[items], minlength=F.n).max(initial=0))
    if len(venues) * (S + 1) * (Q + 1) * min(per_venue, S * (Q + 1)) > MAX_TRACE_CELLS:
        return None
    return _Rules(
        items=items,
        S=S,
        Q=Q,
        lo_t=np.maximum(0, p.min_teachers - d[venues]),
        lo_s=max(0, p.min_schools - 1),
        hi_t=Q - d[venues],  # members' teachers at most
        need=F.placeable & (d > 0),
        self_cost=F.cost[F.self_col[venues]],
    )


def _standins(F: Formulation, lam: np.ndarray, outside: np.ndarray, S: int, Q: int) -> np.ndarray:
    """The units that may stand in for the pairs left out of ``F``: per teacher count the ``S`` most profitable.

    A pair (i, j) missing from ``F`` costs at least ``outside[i]``, so as a
    member of any venue unit ``i`` gains at most ``lam[i] - outside[i]``, the
    same for every venue: a venue's best set with pairs left out is at most
    its best set with these stand-ins among its items.
    """
    d = F.teachers.astype(np.int64)
    ok = np.flatnonzero((d > 0) & (d <= Q) & np.isfinite(outside))
    gain = lam[ok] - outside[ok]
    order = np.lexsort((ok, -gain, d[ok]))
    w = d[ok][order]
    rank = np.arange(len(order)) - np.searchsorted(w, w, side="left")
    return ok[order][rank < S]


def venue_values(
    F: Formulation, lam: np.ndarray, items: np.ndarray, S: int, Q: int, lo_t: np.ndarray, lo_s: int, hi_t: np.ndarray, outside: np.ndarray | None = None
):
    """Per venue, ``max sum (lam[i] - c[i, j])`` over feasible member sets, and the items taken.

    ``items`` are the member columns that may be taken; a venue's set holds
    at most ``S`` of them, ``lo_t[row]`` to ``hi_t[row]`` teachers, and at
    least ``lo_s`` items. Returns :class:`VenueValues`: ``K`` per venue row
    (``-inf`` when no member set is feasible), ``taken``, a mask over
    ``items`` (the set that reaches ``K``: the subgradient of the bound),
    and the programme's ``table``. With ``outside`` (per unit, a lower bound
    on the cost of its pairs left out of ``F``), every venue may also take
    the stand-ins of :func:`_standins`, so ``K`` bounds the venue's best set
    over all pairs, not only ``F``'s; ``standins`` says which were taken.
    """
    venues = F.venues
    R = len(venues)
    row_of = np.full(F.n, -1, dtype=np.int64)
    row_of[venues] = np.arange(R)
    profit = lam[F.member[items]] - F.cost[items]
    weight = F.teachers[F.member[items]].astype(np.int64)
    r = row_of[F.venue[items]]
    n_items = len(items)
    extra = np.zeros(0, dtype=np.int64)
    if outside is not None:  # the same stand-ins for every venue row
        units = _standins(F, lam, outside, S, Q)
        extra = np.tile(units, R)
        profit = np.concatenate([profit, lam[extra] - outside[extra]])
        weight = np.concatenate([weight, F.teachers[extra].astype(np.int64)])
        r = np.concatenate([r, np.repeat(np.arange(R), len(units))])
    order = np.lexsort((np.arange(len(profit)), -profit, weight, r))
    # Items of one weight are interchangeable but for their profit: a venue takes the k most profitable of
    # each weight. best[row, w, k-1] is the k-th best item of weight w (its position in ``items``), and
    # gain[row, w, k] the total of the k best (-inf when there are fewer), for k <= S.
    key = r[order] * (Q + 1) + np.minimum(weight[order], Q)
    rank = np.arange(len(order)) - np.searchsorted(key, key, side="left")
    keep = order[(rank < S) & (weight[order] <= Q)]
    kr = rank[(rank < S) & (weight[order] <= Q)]
    best = np.full((R, Q + 1, max(S, 1)), -1, dtype=np.int64)
    best[r[keep], weight[keep], kr] = keep
    value = np.where(best >= 0, profit[np.maximum(best, 0)], -np.inf)
    gain = np.concatenate([np.zeros((R, Q + 1, 1)), np.cumsum(value, axis=2)], axis=2)
    # dp[row, s, q]: best profit with s members and q teachers (members only), weight by weight
    dp = np.full((R, S + 1, Q + 1), -np.inf)
    dp[:, 0, 0] = 0.0
    how_many = np.zeros((Q + 1, R, S + 1, Q + 1), dtype=np.int8)  # items of weight w taken at each state
    for w in range(1, Q + 1):
        new = dp.copy()
        for k in range(1, S + 1):
            if k * w > Q:
                break
            cand = np.full_like(dp, -np.inf)
            cand[:, k:, k * w :] = dp[:, : S + 1 - k, : Q + 1 - k * w] + gain[:, w, k][:, None, None]
            better = cand > new
            new = np.where(better, cand, new)
            how_many[w][better] = k
        dp = new
    s_idx = np.arange(S + 1)[None, :, None]
    q_idx = np.arange(Q + 1)[None, None, :]
    feasible = (s_idx >= lo_s) & (q_idx >= lo_t[:, None, None]) & (q_idx <= hi_t[:, None, None])
    flat = np.where(feasible, dp, -np.inf).reshape(R, -1)
    arg = np.argmax(flat, axis=1)
    K = flat[np.arange(R), arg]
    # trace the chosen items back, heaviest weight first
    taken = np.zeros(len(profit), dtype=bool)
    rows = np.flatnonzero(np.isfinite(K))
    s_at, q_at = arg[rows] // (Q + 1), arg[rows] % (Q + 1)
    for w in range(Q, 0, -1):
        k = how_many[w][rows, s_at, q_at].astype(np.int64)
        for j in range(1, int(k.max(initial=0)) + 1):
            taken[best[rows[k >= j], w, j - 1]] = True
        s_at -= k
        q_at -= k * w
    if outside is None:
        return VenueValues(K, taken, dp)
    stood = np.flatnonzero(taken[n_items:])
    return VenueValues(K, taken[:n_items], dp, (extra[stood], r[n_items:][stood]))


def size_lagrangian(
    F: Formulation, prices: np.ndarray | None, target: float | None, deadline: float, max_steps: int = MAX_STEPS, outside: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """The Lagrangian bound with the cluster rules kept per venue (module docstring), for plans placing every unit.

    Parameters
    ----------
    F : Formulation
    prices : numpy.ndarray, optional
        Starting price per unit (the LP's assignment duals); default 0.
    target : float, optional
        The best plan's cost (for the step size).
    deadline : float
        ``time.perf_counter()`` ceiling.
    max_steps : int
        Subgradient steps (the work limit).
    outside : numpy.ndarray, optional
        Per unit, a lower bound on the cost of every pair of it left out of
        ``F`` (sparse candidates): the bound then holds for the complete
        problem, provided ``F`` has every venue it has (see :func:`venue_values`).

    Returns
    -------
    (bound, prices)
        The best bound found (``-inf`` when the rules leave no venue usable)
        and the prices that gave it.
    """
    p = F.problem
    n = F.n
    rules = _rules(F)
    if rules is None:
        log.debug("size-aware Lagrangian skipped: clusters too large for its dynamic programme")
        return -math.inf, np.zeros(n) if prices is None else np.asarray(prices, dtype=float)
    items, S, Q, lo_t, lo_s, hi_t, need, self_cost = rules
    venues = F.venues
    lam = np.zeros(n) if prices is None else np.asarray(prices, dtype=float).copy()
    lam = np.where(need, lam, np.minimum(lam, 0.0))
    best, best_lam, mu, stall = -math.inf, lam.copy(), 1.0, 0
    for step in range(max_steps):
        vv = venue_values(F, lam, items, S, Q, lo_t, lo_s, hi_t, outside)
        K, taken = vv.K, vv.taken
        val = self_cost - lam[venues] - K
        order = np.argsort(val, kind="stable")
        chosen = order[: p.n_clusters] if p.n_clusters is not None else order[val[order] < 0]
        if p.n_clusters is not None and len(chosen) < p.n_clusters:
            return -math.inf, lam
        L = float(lam.sum() + val[chosen].sum())
        if not math.isfinite(L):
            log.debug("size-aware Lagrangian: no finite value at step %d", step)
            return -math.inf, lam
        if best == -math.inf or L > best + 1e-9 * max(1.0, abs(best)):
            best, best_lam, stall = L, lam.copy(), 0
        else:
            stall += 1
            if stall >= PATIENCE:
                mu, stall = mu / 2, 0
        is_open = np.zeros(n, dtype=bool)
        is_open[venues[chosen]] = True
        served = np.zeros(n)
        served[venues[chosen]] += 1
        t_open = taken & is_open[F.venue[items]]
        np.add.at(served, F.member[items[t_open]], 1)
        if vv.standins is not None:
            units, rows = vv.standins
            np.add.at(served, units[is_open[venues[rows]]], 1)
        g = 1.0 - served
        g = np.where(need | (g < 0) | (lam < 0), g, 0.0)
        gg = float(g @ g)
        goal = target if target is not None and target > best else abs(best) * 1.05 + 1.0
        if gg == 0 or mu < 1e-4 or time.perf_counter() > deadline or (target is not None and best >= target - 1e-9 * max(1.0, abs(target))):
            break
        lam = lam + mu * (goal - L) / gg * g
        lam = np.where(need, lam, np.minimum(lam, 0.0))
    log.debug("size-aware Lagrangian %.4f after %d steps", best, step + 1)
    return best, best_lam


def open_terms(val: np.ndarray, n_clusters: int | None) -> tuple[float, np.ndarray]:
    """The relaxation's open venues from their terms ``val``: the sum of the open ones' terms, and per venue the others' sum.

    Open are every venue with a negative term, or the ``n_clusters``
    smallest (at least that many venues). ``rest[r]`` is the best the other
    venues add when venue ``r`` is open: the reductions' "every other venue
    keeps its best term".
    """
    if n_clusters is None:
        opened = float(np.minimum(val, 0.0).sum())
        return opened, opened - np.minimum(val, 0.0)
    order = np.argsort(val, kind="stable")
    opened = float(val[order[:n_clusters]].sum())
    in_first = np.zeros(len(val), dtype=bool)
    in_first[order[:n_clusters]] = True
    return opened, np.where(in_first, opened - val, opened - val[order[n_clusters - 1]])


def pair_bounds(F: Formulation, prices: np.ndarray) -> tuple[float, np.ndarray]:
    """The bound at ``prices`` and, per column, a lower bound on any plan (placing every unit) that uses it.

    A plan that uses pair ``(i, j)`` opens venue ``j`` with ``i`` among its
    members, so venue ``j``'s term is at least ``c[j, j] - lam[j] -
    (lam[i] - c[i, j]) - G``, where ``G`` is the best total of the other
    members (at most ``S - 1`` of them, with the teachers left for them) read
    from the programme's table; every other venue keeps its best term. This
    is the Lagrangian's exact reduction: a pair whose bound is above the best
    plan cannot be in a better one. Self columns get the bound of plans that
    open their venue.

    Returns
    -------
    (bound, values)
        ``-inf`` and ``-inf`` everywhere when the bound does not apply
        (clusters too large for the programme).
    """
    p = F.problem
    rules = _rules(F)
    if rules is None:
        return -math.inf, np.full(F.P, -math.inf)
    items, S, Q, lo_t, lo_s, hi_t, need, self_cost = rules
    lam = np.where(need, prices, np.minimum(prices, 0.0))
    vv = venue_values(F, lam, items, S, Q, lo_t, lo_s, hi_t)
    K, table = vv.K, vv.table
    venues = F.venues
    val = self_cost - lam[venues] - K
    R = len(venues)
    # the other venues' best terms: every negative one, or the n_clusters - 1 smallest of the others
    if p.n_clusters is not None and (R < p.n_clusters or p.n_clusters < 1):
        return -math.inf, np.full(F.P, -math.inf)
    opened, rest = open_terms(val, p.n_clusters)
    base = float(lam.sum())
    L = base + opened
    row_of = np.full(F.n, -1, dtype=np.int64)
    row_of[venues] = np.arange(R)
    values = np.full(F.P, math.inf)
    selfs = F.self_col[venues]
    values[selfs] = base + rest + val
    # the other members' best total, per venue and weight of the forced member: s <= S - 1, q within the rules less w
    s_lo = max(0, lo_s - 1)
    best_q = table[:, s_lo:S, :].max(axis=1) if S > s_lo else np.full((R, Q + 1), -np.inf)
    G = np.full((R, Q + 1), -np.inf)
    q = np.arange(Q + 1)[None, :]
    for w in range(1, Q + 1):
        window = (q >= (lo_t - w)[:, None]) & (q <= (hi_t - w)[:, None])
        G[:, w] = np.where(window, best_q, -np.inf).max(axis=1)
    members = np.flatnonzero(~F.is_self)
    r = row_of[F.venue[members]]
    w_of = F.teachers[F.member[members]]
    g = np.where(w_of > 0, G[r, np.minimum(w_of, Q)], K[r])  # a member without teachers: the rest is at most K
    g = np.where(w_of > Q, -np.inf, g)
    term = self_cost[r] - lam[venues][r] - (lam[F.member[members]] - F.cost[members]) - g
    values[members] = base + rest[r] + term
    values[~np.isfinite(values)] = math.inf
    return L, values


__all__ = ["VenueValues", "open_terms", "pair_bounds", "size_lagrangian", "venue_values"]
