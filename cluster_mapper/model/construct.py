"""A constructive plan: greedy clusters in milliseconds, the floor under every solve.

The exact steps of :mod:`.solve` may run out of time on a busy machine or a
large group. Whatever happens there, a solve keeps at least the plan built
here, so a group is never left with "nobody placed" because the search was
slow. It is deterministic and needs no solver:

1. For each venue, its cluster is its own unit plus the free units of its
   pairs, cheapest travel per teacher first, while they fit (``max_teachers``,
   ``max_schools``); it counts only when it reaches ``min_teachers`` and
   ``min_schools``.
2. The venue whose cluster costs least per teacher is opened (a lazy
   priority queue: a cluster only gets dearer as units are taken, so a
   popped venue whose re-built cluster is still the cheapest is the best),
   its units taken, and so on until no cluster can form (or, with a fixed
   number of clusters, that many are open).
3. Side rows (the edits ``together`` and ``apart``) and the cap on moved
   teachers are checked on the result; clusters breaking one are dissolved
   until none does.

:func:`greedy_plan` returns the plan's columns; :mod:`.solve` improves it
(locate-allocate) when the search found nothing better.
"""

from __future__ import annotations

import heapq
import logging

import numpy as np

from cluster_mapper.model.formulation import Formulation, Rows

log = logging.getLogger(__name__)


class _Builder:
    """The greedy clusters of one formulation (see the module docstring)."""

    def __init__(self, form: Formulation):
        F = self.F = form
        p = F.problem
        self.max_t, self.min_t = p.max_teachers, p.min_teachers
        self.max_s, self.min_s = max(1, p.max_schools), max(1, p.min_schools)
        # per venue: its member columns, cheapest per teacher first (ties: column index)
        members = np.flatnonzero(~F.is_self)
        per_teacher = F.cost[members] / np.maximum(F.dem[members], 1.0)
        order = members[np.lexsort((members, per_teacher, F.venue[members]))]
        starts = np.searchsorted(F.venue[order], F.venues)
        ends = np.searchsorted(F.venue[order], F.venues, side="right")
        self.cols_of = {int(j): order[a:b] for j, a, b in zip(F.venues, starts, ends, strict=True)}
        self.free = np.ones(F.n, dtype=bool)

    def cluster(self, j: int) -> tuple[float, np.ndarray] | None:
        """The cheapest-per-teacher cluster of venue ``j`` from free units: (cost per teacher, columns) or None."""
        F = self.F
        if not self.free[j]:
            return None
        cols = [int(F.self_col[j])]
        teachers, schools = int(F.teachers[j]), 1
        for k in self.cols_of[j]:
            if schools >= self.max_s:
                break
            i = F.member[k]
            if self.free[i] and teachers + F.teachers[i] <= self.max_t:
                cols.append(int(k))
                teachers += int(F.teachers[i])
                schools += 1
        if teachers < self.min_t or schools < self.min_s or teachers == 0:
            return None
        chosen = np.array(cols, dtype=np.int64)
        return float(F.cost[chosen].sum()) / teachers, chosen

    def build(self, n_clusters: int | None) -> list[np.ndarray]:
        """Open clusters greedily; returns the columns of each."""
        F = self.F
        heap: list[tuple[float, int]] = []
        for v in F.venues.tolist():
            first = self.cluster(v)
            if first is not None:
                heap.append((first[0], v))
        heapq.heapify(heap)
        out: list[np.ndarray] = []
        while heap and (n_clusters is None or len(out) < n_clusters):
            score, j = heapq.heappop(heap)
            got = self.cluster(j)
            if got is None:
                continue
            if got[0] > score + 1e-12 and heap and got[0] > heap[0][0]:
                heapq.heappush(heap, (got[0], j))  # dearer now: try it again in its new place
                continue
            out.append(got[1])
            self.free[F.member[got[1]]] = False
        return out


def greedy_plan(form: Formulation, main: Rows) -> np.ndarray | None:
    """Columns of a greedy plan that satisfies every row of ``main``, or None when none is found.

    ``main`` should not require every unit placed (``all_placed=False``): the
    greedy plan places whom it can. With a fixed number of clusters, None when
    the greedy cannot open that many.
    """
    F = form
    n_clusters = F.problem.n_clusters
    clusters = _Builder(F).build(n_clusters)
    if n_clusters is not None and len(clusters) < n_clusters:
        return None
    A, lo, hi = main
    while True:
        chosen = np.concatenate(clusters) if clusters else np.zeros(0, dtype=np.int64)
        if F.is_feasible(main, chosen):
            log.debug("greedy plan: %d clusters, cost %.4f", len(clusters), float(F.cost[chosen].sum()))
            return np.sort(chosen)
        if n_clusters is not None or not clusters:
            return None
        x = np.zeros(F.P)
        x[chosen] = 1.0
        act = A @ x
        broken = np.flatnonzero((act < lo - 1e-6) | (act > hi + 1e-6))
        touched = np.zeros(F.P, dtype=bool)
        touched[A[broken].indices] = True
        keep = [c for c in clusters if not touched[c].any()]
        if len(keep) == len(clusters):  # a row broken by no cluster in particular: dissolve the last one
            keep = clusters[:-1]
        clusters = keep


__all__ = ["greedy_plan"]
