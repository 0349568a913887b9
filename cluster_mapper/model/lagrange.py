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
"""

from __future__ import annotations

import logging
import math
import time

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


def venue_values(F: Formulation, lam: np.ndarray, items: np.ndarray, S: int, Q: int, lo_t: np.ndarray, lo_s: int, hi_t: np.ndarray):
    """Per venue, ``max sum (lam[i] - c[i, j])`` over feasible member sets, and the items taken.

    ``items`` are the member columns that may be taken; a venue's set holds
    at most ``S`` of them, ``lo_t[row]`` to ``hi_t[row]`` teachers, and at
    least ``lo_s`` items. Returns ``(K, taken)``: ``K`` per venue row
    (``-inf`` when no member set is feasible) and ``taken``, a mask over
    ``items``: the set that reaches ``K`` (the subgradient of the bound).
    """
    venues = F.venues
    R = len(venues)
    row_of = np.full(F.n, -1, dtype=np.int64)
    row_of[venues] = np.arange(R)
    profit = lam[F.member[items]] - F.cost[items]
    weight = F.teachers[F.member[items]].astype(np.int64)
    r = row_of[F.venue[items]]
    # for each (venue, weight) only the S most profitable items can matter
    order = np.lexsort((items, -profit, weight, r))
    key = r[order] * (Q + 1) + weight[order]
    first = np.searchsorted(key, key, side="left")
    keep = order[(np.arange(len(order)) - first) < S]
    keep = keep[np.lexsort((keep, r[keep]))]
    rk = r[keep]
    start = np.searchsorted(rk, np.arange(R))
    count = np.bincount(rk, minlength=R)
    T = int(count.max(initial=0))
    # dp[row, s, q]: best profit with s members and q teachers (members only)
    dp = np.full((R, S + 1, Q + 1), -np.inf)
    dp[:, 0, 0] = 0.0
    choice = []
    for t in range(T):
        act = np.flatnonzero(count > t)
        it = keep[start[act] + t]
        w, pr = weight[it], profit[it]
        cur = dp[act]
        src = np.arange(Q + 1)[None, :] - w[:, None]  # teachers before taking the item
        gathered = np.take_along_axis(cur[:, :-1, :], np.broadcast_to(np.maximum(src, 0)[:, None, :], (len(act), S, Q + 1)), axis=2)
        shifted = np.full_like(cur, -np.inf)
        shifted[:, 1:, :] = np.where((src >= 0)[:, None, :], gathered + pr[:, None, None], -np.inf)
        take = shifted > cur
        dp[act] = np.where(take, shifted, cur)
        choice.append((act, it, take))
    s_idx = np.arange(S + 1)[None, :, None]
    q_idx = np.arange(Q + 1)[None, None, :]
    feasible = (s_idx >= lo_s) & (q_idx >= lo_t[:, None, None]) & (q_idx <= hi_t[:, None, None])
    best = np.where(feasible, dp, -np.inf).reshape(R, -1)
    arg = np.argmax(best, axis=1)
    K = best[np.arange(R), arg]
    # trace the chosen items back
    # (``it`` holds positions into ``items``, not columns)
    taken = np.zeros(len(profit), dtype=bool)
    s_at, q_at = arg // (Q + 1), arg % (Q + 1)
    for act, it, take in reversed(choice):
        sa, qa = s_at[act], q_at[act]
        ok = np.isfinite(K[act]) & (sa > 0)
        tk = np.zeros(len(act), dtype=bool)
        tk[ok] = take[np.flatnonzero(ok), sa[ok], qa[ok]]
        taken[it[tk]] = True
        s_at[act[tk]] -= 1
        q_at[act[tk]] -= weight[it[tk]]
    return K, taken


def size_lagrangian(F: Formulation, prices: np.ndarray | None, target: float | None, deadline: float, max_steps: int = MAX_STEPS) -> tuple[float, np.ndarray]:
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

    Returns
    -------
    (bound, prices)
        The best bound found (``-inf`` when the rules leave no venue usable)
        and the prices that gave it.
    """
    p = F.problem
    n, Q = F.n, int(p.max_teachers)
    S = int(min(max(p.max_schools, 1) - 1, Q, max(0, F.n - 1)))
    d = F.teachers.astype(np.int64)
    need = F.placeable & (d > 0)
    venues = F.venues
    lo_t = np.maximum(0, p.min_teachers - d[venues])
    hi_t = Q - d[venues]  # members' teachers at most
    lo_s = max(0, p.min_schools - 1)
    self_cost = F.cost[F.self_col[venues]]
    items = np.flatnonzero(~F.is_self & (F.teachers[F.member] > 0))
    per_venue = int(np.bincount(F.venue[items], minlength=n).max(initial=0))
    if len(venues) * (S + 1) * (Q + 1) * min(per_venue, S * (Q + 1)) > MAX_TRACE_CELLS:
        log.debug("size-aware Lagrangian skipped: clusters too large for its dynamic programme")
        return -math.inf, np.zeros(n) if prices is None else np.asarray(prices, dtype=float)
    lam = np.zeros(n) if prices is None else np.asarray(prices, dtype=float).copy()
    lam = np.where(need, lam, np.minimum(lam, 0.0))
    best, best_lam, mu, stall = -math.inf, lam.copy(), 1.0, 0
    for step in range(max_steps):
        K, taken = venue_values(F, lam, items, S, Q, lo_t, lo_s, hi_t)
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


__all__ = ["size_lagrangian", "venue_values"]
