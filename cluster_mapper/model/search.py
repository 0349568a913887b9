"""Good plans fast: the LP dive, locate-allocate and the large-neighbourhood search.

These heuristics give the exact step its incumbent: the better the plan, the
more pairs the exact reduction drops. None of them affects what is proven.

1. *Dive* (:meth:`IncumbentSearch.dive`): fix the venue with the largest
   fractional LP value open, re-solve the LP, repeat until the LP opens whole
   venues.
2. *Assignment*: a small mixed-integer model over the "core" (each unit's
   pairs to the dive's venues with the smallest reduced costs) assigns the
   units to them.
3. *Locate-allocate* (:meth:`IncumbentSearch.locate_allocate`): move each
   venue to its cluster's best school, re-assign, repeat.
4. *Large-neighbourhood search* (:meth:`IncumbentSearch.lns`): the clusters
   around each venue in turn are freed (every other unit keeps its venue) and
   re-solved exactly by a small, node-limited mixed-integer model; a better
   plan replaces the incumbent. This escapes the local optima of steps 1-3
   (on SJC4a it takes the plan from 0.75 % to under 0.1 % above the optimum).

The sub-models of the search are limited by nodes, not time, and the search
by a number of sub-models, so it gives the same plan on any machine unless
its deadline (a ceiling) cuts it; :attr:`IncumbentSearch.cuts` names the
steps the clock cut.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from cluster_mapper.model.bound import RelaxationLP
from cluster_mapper.model.budget import SolveBudget
from cluster_mapper.model.formulation import Formulation, Rows
from cluster_mapper.model.mip import MipSolver

log = logging.getLogger(__name__)

# A plan: (its objective, its chosen columns).
Incumbent = tuple[float, np.ndarray]

# pairs per unit in the assignment's core model
CORE_PER_UNIT = 12
# most locate-allocate rounds
LOCATE_ALLOCATE_ROUNDS = 50
# LNS: clusters freed per neighbourhood (first, step, last), node limit per
# sub-model, and the freed venues each freed unit may move to
LNS_CLUSTERS = (4, 2, 8)
LNS_MAX_NODES = 2000
LNS_VENUES_PER_UNIT = 10


class IncumbentSearch:
    """Heuristics that find and improve plans of one model.

    Parameters
    ----------
    form : Formulation
    main : Rows
        The model's main rows (the placement they require is kept by every plan).
    mip : MipSolver
        Solves the sub-models.
    budget : SolveBudget
        Work limits of each step (and shares of the time ceiling).

    Attributes
    ----------
    cuts : list of str
        The steps the wall clock stopped before their work was done.
    """

    def __init__(self, form: Formulation, main: Rows, mip: MipSolver, budget: SolveBudget):
        self.form = form
        self.main = main
        self.mip = mip
        self.budget = budget
        self.cuts: list[str] = []

    def first_plan(self, lp: RelaxationLP, rc: np.ndarray, x_lp: np.ndarray, deadline: float) -> Incumbent | None:
        """A plan from the LP: dive, assign on the core, locate-allocate (None if none is found).

        Parameters
        ----------
        lp : RelaxationLP
            The solved LP (the dive fixes venues in it).
        rc, x_lp : numpy.ndarray
            Its reduced costs and values over all columns.
        deadline : float
            ``time.perf_counter()`` by which the travel step must end.
        """
        F, b = self.form, self.budget
        t_dive = time.perf_counter()
        open_venues, rc_d, x_d = self.dive(lp, rc, x_lp, deadline)
        log.debug("dive %.2fs: %d venues", time.perf_counter() - t_dive, int(open_venues.sum()))
        usable = open_venues[F.venue]
        rank = F.rank_per_unit(~usable, rc_d, F.cost)
        core = usable & ((rank < CORE_PER_UNIT) | (x_d > 1e-6) | F.is_self)
        cols = np.flatnonzero(core)
        seconds = max(b.mip_min_seconds, deadline - time.perf_counter())
        st, chosen, value, _ = self.mip.solve(F, self.main, cols, F.cost, seconds, max_nodes=b.search_max_nodes)
        if st not in ("optimal", "feasible") and len(cols) < usable.sum():
            seconds = max(b.mip_min_seconds, deadline - time.perf_counter())
            st, chosen, value, _ = self.mip.solve(F, self.main, np.flatnonzero(usable), F.cost, seconds, max_nodes=b.search_max_nodes)
        if st not in ("optimal", "feasible"):
            return None
        if b.locate_allocate_share <= 0:
            return value, chosen
        return self.locate_allocate((value, chosen), rc_d, deadline)

    def dive(self, lp: RelaxationLP, rc: np.ndarray, x_lp: np.ndarray, deadline: float):
        """Open venues one by one (largest LP value first) until the LP opens whole venues.

        Returns
        -------
        (open_mask, rc, x)
            The candidate venues (a mask over units), and the reduced costs and
            LP values of the last LP solved.
        """
        F = self.form
        self_cols = F.self_col[F.venues]
        fixed = np.zeros(len(F.venues), dtype=bool)
        x = x_lp
        for _ in range(len(F.venues)):
            y = x[self_cols]
            frac = (y > 1e-6) & (y < 1 - 1e-6)
            if not frac.any():
                break
            if time.perf_counter() > deadline:
                self.cuts.append("the first plan's LP dive")
                break
            cand = np.flatnonzero(frac)
            pick = cand[np.lexsort((cand, -y[cand]))[0]]
            new = (y >= 1 - 1e-6) & ~fixed
            new[pick] = True
            lp.fix_lower(self_cols[new])
            fixed |= new
            st, _, rc_new, x_new = lp.solve(deadline, expand=False)
            if st not in ("optimal", "stopped"):
                break
            rc, x = rc_new, x_new
        y = x[self_cols]
        open_mask = np.zeros(F.n, dtype=bool)
        open_mask[F.venues[(y > 1e-6) | fixed]] = True
        return open_mask, rc, x

    def locate_allocate(self, incumbent: Incumbent, rc: np.ndarray, deadline: float) -> Incumbent:
        """Improve a plan: move each venue to its cluster's best member, reassign, repeat.

        The reassignment is a mixed-integer model over each unit's
        ``CORE_PER_UNIT`` pairs to the open venues with the smallest reduced
        costs ``rc``. Stops when a round finds nothing better, or at ``deadline``.
        """
        F = self.form
        lookup = sp.csr_matrix((np.arange(1, F.P + 1), (F.member, F.venue)), shape=(F.n, F.n))
        value, chosen = incumbent
        for _ in range(LOCATE_ALLOCATE_ROUNDS):
            if time.perf_counter() > deadline:
                self.cuts.append("locate-allocate")
                break
            # locate: the best venue of each cluster among its members
            venues = F.venue[chosen]
            new_venue_of = {}
            for j in np.unique(venues):
                members = np.sort(F.member[chosen[venues == j]])
                sub = lookup[members][:, members].toarray()  # col+1 of pair (member, candidate)
                ok = (sub > 0).all(axis=0) & (F.self_col[members] >= 0)
                if not ok.any():
                    continue
                costs = np.where(sub > 0, F.cost[np.maximum(sub - 1, 0)], np.inf).sum(axis=0)
                costs[~ok] = np.inf
                new_venue_of[j] = members[int(np.argmin(costs))]
            moved = np.array([new_venue_of.get(j, j) for j in venues])
            cand = lookup[F.member[chosen], moved].A1 - 1
            if np.all(cand >= 0) and F.is_feasible(self.main, cand):
                v2 = float(F.cost[cand].sum())
                if v2 < value - 1e-9:
                    value, chosen = v2, cand
            # allocate: best assignment to these venues
            open_v = np.zeros(F.n, dtype=bool)
            open_v[F.venue[chosen]] = True
            usable = open_v[F.venue]
            rank = F.rank_per_unit(~usable, rc, F.cost)
            cols = np.flatnonzero(usable & ((rank < CORE_PER_UNIT) | F.is_self))
            cols = np.union1d(cols, chosen)
            remaining = deadline - time.perf_counter()
            if remaining < self.budget.locate_allocate_min_seconds:
                self.cuts.append("locate-allocate")
                break
            st, c2, v2, _ = self.mip.solve(F, self.main, cols, F.cost, remaining, max_nodes=self.budget.search_max_nodes)
            found = st in ("optimal", "feasible")
            log.debug("locate-allocate: %.4f -> %s", value, f"{v2:.4f}" if found else "no plan")
            if found and v2 < value - 1e-9:
                value, chosen = v2, c2
            else:
                break
        return value, chosen

    def lns(self, incumbent: Incumbent, useful: Callable[[float], np.ndarray], deadline: float, max_solves: int | None = None) -> Incumbent:
        """Large-neighbourhood search: free a few nearby clusters, fix the rest, re-solve exactly.

        For each open venue in turn, its cluster and those of the nearest open
        venues (at most a third of them) are freed: each of their units may
        move to one of its ``LNS_VENUES_PER_UNIT`` nearest freed schools that
        can host (among the pairs ``useful(value)`` keeps), while every other
        unit keeps its venue. The sub-model is node-limited, so its result
        does not depend on the machine's speed; a better plan replaces the
        incumbent. When every venue has failed, more clusters are freed at a
        time; the search ends when the largest size has failed for every
        venue, after ``max_solves`` sub-models (the work limit), or at
        ``deadline`` (a ceiling: the only cut that depends on time).

        Parameters
        ----------
        incumbent : (float, numpy.ndarray)
            The plan to improve.
        useful : callable
            ``useful(ub)`` is the mask of columns that can be in a plan
            better than ``ub`` (see :meth:`PairBounds.useful`).
        deadline : float
            ``time.perf_counter()`` at which the search stops.
        max_solves : int, optional
            Most sub-models solved (default: no limit but the deadline).
        """
        F = self.form
        p = F.problem
        value, chosen = incumbent
        first, step, last = LNS_CLUSTERS
        tried: set[tuple[int, ...]] = set()  # neighbourhoods that failed on the current plan
        size, cursor, fails = first, -1, 0
        n_solves = 0
        D = None
        while max_solves is None or n_solves < max_solves:
            if time.perf_counter() >= deadline:
                self.cuts.append("the large-neighbourhood search")
                break
            if D is None:  # the plan changed: its venues and the distances between them
                venue_of = F.venue_of(chosen)
                venues = np.unique(venue_of[venue_of >= 0])
                is_open = np.zeros(F.n, dtype=bool)
                is_open[venues] = True
                both = is_open[p.pair_member] & is_open[p.pair_venue]
                vpos = np.full(F.n, -1, dtype=np.int64)
                vpos[venues] = np.arange(len(venues))
                D = np.full((len(venues), len(venues)), math.inf)
                np.minimum.at(D, (vpos[p.pair_member[both]], vpos[p.pair_venue[both]]), p.pair_minutes[both].astype(float))
                D = np.minimum(D, D.T)
                np.fill_diagonal(D, -1.0)
                sel = np.zeros(F.P, dtype=bool)
                sel[chosen] = True
            k = min(size, len(venues) // 3)
            if k < 2:  # a neighbourhood would be much of the problem: leave it to the exact step
                break
            if fails >= len(venues):  # every venue failed at this size
                if size >= last:
                    break
                size, fails = size + step, 0
                continue
            # next seed: the first open venue after the cursor, cyclically
            s = int(np.searchsorted(venues, cursor, side="right")) % len(venues)
            cursor = venues[s]
            near = np.lexsort((np.arange(len(venues)), D[s]))[:k]
            near = near[np.isfinite(D[s, near])]
            key = tuple(venues[np.sort(near)].tolist())
            fails += 1
            if len(near) < 2 or key in tried:
                continue
            tried.add(key)
            free_unit = np.isin(venue_of, venues[near])
            # unplaced units that could join a freed school
            host = free_unit & (F.self_col >= 0)
            free_unit[F.member[host[F.venue] & (venue_of[F.member] < 0)]] = True
            host = free_unit & (F.self_col >= 0)
            free = free_unit[F.member] & host[F.venue] & (useful(value) | F.is_self)
            # each freed unit may go to its nearest freed venues only (kept small: fast sub-models)
            fc = np.flatnonzero(free & ~F.is_self)
            fc = fc[np.lexsort((fc, F.cost[fc], F.member[fc]))]
            rank = np.arange(len(fc)) - np.searchsorted(F.member[fc], F.member[fc], side="left")
            cols = np.union1d(fc[rank < LNS_VENUES_PER_UNIT], np.flatnonzero((free & F.is_self) | sel))
            st, c2, v2, _ = self.mip.solve(
                F, self.main, cols, F.cost, deadline - time.perf_counter(), fixed_cols=np.flatnonzero(sel & ~free_unit[F.member]), max_nodes=LNS_MAX_NODES
            )
            n_solves += 1
            if st in ("optimal", "feasible") and v2 < value - 1e-9 * max(1.0, abs(value)):
                log.debug("lns %d clusters around %d: %.4f -> %.4f", k, cursor, value, v2)
                value, chosen = v2, c2
                tried.clear()
                fails, D = 0, None
        log.debug("lns: %d sub-models, %.4f", n_solves, value)
        return value, chosen
