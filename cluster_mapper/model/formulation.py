"""From a clustering problem's data to the arrays of its model.

:class:`ClusterProblem` holds the data of one independent problem: units,
their teachers and the allowed unit-to-venue pairs with their travel times.
:class:`Formulation` turns it into the model's columns (the usable pairs,
one 0/1 variable ``x[i, j]`` each) and constraint rows, as sparse matrices
that the LP bound, the mixed-integer solves and the heuristics all share::

    sum_j x[i, j] <= 1                                   each unit at most once
    x[i, j] <= y[j]                                      strong p-median linking
    min_teachers * y[j] <= sum_i n[i] x[i, j] <= max_teachers * y[j]
    sum_i x[i, j] <= max_schools * y[j]
    sum_j y[j] = n_clusters                              when fixed
    sum_i x[i, j] >= min_schools * y[j]                  when min_schools > 1
    lo <= sum_k a[k] x[k] <= hi                          side rows (edits: together, apart)
    sum_k (prev[k] - stay[k]) x[k] <= max_moved          when revising with a limit

where ``y[j] = x[j, j]`` is venue ``j``'s own (self) pair.

*Least change* (revising a plan): ``stay[k]`` is the number of teachers of
pair ``k``'s member unit who met at pair ``k``'s venue school in the previous
plan. A teacher *moves* when the venue they meet at changes or they lose
their place, so a plan moves ``prev_teachers - sum_k stay[k] x[k]`` teachers.
The objective is ``travel - move_weight * sum_k stay[k] x[k]``, i.e. (up to
the constant ``move_weight * prev_teachers``) ``move_weight * moves +
travel``. With ``move_weight`` larger than the travel of any plan, this ranks
plans lexicographically: fewest moves first, then least travel (the
placement is maximised before, see :mod:`.solve`). Costs may then be
negative; the LP and Lagrangian bounds are valid for any costs.
``prev[k]`` is the number of teachers of pair ``k``'s member who were placed
anywhere before, so ``max_moved`` caps the teachers moved to *another*
venue; a plan that keeps everyone in place or unplaced always obeys it, so
the cap never makes the model infeasible (it may leave teachers unplaced).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

_INF = math.inf


@dataclass
class SideRow:
    """One extra row ``lower <= sum_k coef[k] x[member[k], venue[k]] <= upper`` (edits).

    Entries naming a pair that is not usable are dropped (that ``x`` is 0).

    Attributes
    ----------
    member, venue : numpy.ndarray of int
        Units of each entry's pair.
    coef : numpy.ndarray of float
        Coefficient of each entry.
    lower, upper : float
        Bounds of the row (may be infinite).
    """

    member: np.ndarray
    venue: np.ndarray
    coef: np.ndarray
    lower: float
    upper: float


@dataclass
class ClusterProblem:
    """Arrays of one independent clustering problem.

    A unit ``j`` that can host opens a cluster at its school (the *venue*);
    the venue's own unit belongs to it. Each unit joins at most one cluster,
    only through an allowed pair.

    Attributes
    ----------
    n_teachers : numpy.ndarray of int
        Teachers per unit.
    pair_member, pair_venue : numpy.ndarray of int
        Allowed pairs: unit ``pair_member[k]`` may meet at the venue of unit
        ``pair_venue[k]``. Self pairs ``(j, j)`` mark the units that can host.
    pair_minutes : numpy.ndarray of float
        Travel time of each pair, minutes.
    min_teachers, max_teachers : int
        Cluster size bounds, teachers.
    max_schools : int
        Most units (schools) in one cluster; large when there is no limit.
    n_clusters : int or None
        Exactly this many clusters, if set.
    objective : {"teacher_minutes", "school_trips"}
        Weight each pair's minutes by its teachers (teacher-minutes), or count
        one trip per unit (minutes).
    min_schools : int
        Fewest units (schools) in one cluster.
    side_rows : list of SideRow
        Extra rows (the edits ``together`` and ``apart``).
    pair_stay : numpy.ndarray of int or None
        Per pair, teachers of the member unit who met at that venue school in
        the previous plan (revisions only).
    move_weight : float
        Cost of one moved teacher, in the objective's unit (0: moves are
        free). Larger than any plan's travel, it makes moves rank first.
    prev_teachers : int
        Teachers of these units placed in the previous plan.
    pair_prev : numpy.ndarray of int or None
        Per pair, teachers of the member unit placed (anywhere) in the
        previous plan.
    max_moved : int or None
        Most teachers that may meet at another venue than before, if set.
    """

    n_teachers: np.ndarray
    pair_member: np.ndarray
    pair_venue: np.ndarray
    pair_minutes: np.ndarray
    min_teachers: int = 6
    max_teachers: int = 12
    max_schools: int = 5
    n_clusters: int | None = None
    objective: str = "teacher_minutes"
    min_schools: int = 1
    side_rows: list[SideRow] = field(default_factory=list)
    pair_stay: np.ndarray | None = None
    move_weight: float = 0.0
    prev_teachers: int = 0
    pair_prev: np.ndarray | None = None
    max_moved: int | None = None

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.n_teachers)

    @property
    def min_size_binds(self) -> bool:
        """Whether a minimum cluster size binds (more than one teacher or school): the LP bound is weak then."""
        return self.min_teachers > 1 or self.min_schools > 1

    def travel_cost(self) -> np.ndarray:
        """Travel of each pair: teacher-minutes, or minutes for ``school_trips``."""
        if self.objective == "school_trips":
            return self.pair_minutes.astype(float)
        return self.pair_minutes * self.n_teachers[self.pair_member]

    def stay(self) -> np.ndarray:
        """Teachers who keep their previous venue through each pair (zeros unless revising)."""
        if self.pair_stay is None:
            return np.zeros(len(self.pair_member))
        return np.asarray(self.pair_stay, dtype=float)

    def pair_cost(self) -> np.ndarray:
        """Objective coefficient of each pair: travel minus ``move_weight`` per teacher who stays."""
        cost = self.travel_cost()
        if self.move_weight:
            cost = cost - self.move_weight * self.stay()
        return cost

    def with_pairs(self, member, venue, minutes) -> ClusterProblem:
        """The same problem (every rule kept) on other allowed pairs, e.g. sparse candidates.

        Side rows name pairs, so they carry over (entries naming a pair not
        allowed any more are 0, as always). Previous-plan weights are per pair
        and cannot be carried to new pairs: a revision raises ``ValueError``.
        """
        return self.subproblem(np.arange(self.n_units), pairs=(member, venue, minutes))

    def subproblem(
        self,
        units,
        *,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        n_clusters: int | None = None,
        outside_venue_of: np.ndarray | None = None,
    ) -> ClusterProblem:
        """The problem of some of its units, every rule kept (the one way to copy a problem).

        Parameters
        ----------
        units : array of int
            The units kept, in their new order (unit ``units[q]`` becomes ``q``).
        pairs : (member, venue, minutes), optional
            New allowed pairs, in the new numbering; default: this problem's
            pairs between kept units (with their previous-plan weights).
        n_clusters : int, optional
            Clusters of the subproblem when this problem fixes their number;
            default: the fixed number less the venues open outside
            (``outside_venue_of``), or the same number for all units.
        outside_venue_of : numpy.ndarray, optional
            The plan of the units left out (venue per unit of *this* problem,
            -1 unplaced): side rows and the cap on moves that reach outside
            the subproblem count those units as fixed there.

        Raises
        ------
        ValueError
            When a rule cannot be carried: a side row, fixed number of
            clusters or cap on moves that reaches outside without
            ``outside_venue_of``, or previous-plan weights on new pairs.
        """
        n = self.n_units
        units = np.asarray(units, dtype=np.int64)
        pos = np.full(n, -1, dtype=np.int64)
        pos[units] = np.arange(len(units))
        inside = pos >= 0
        whole = bool(inside.all())
        if not whole and outside_venue_of is not None:
            outside_venue_of = np.where(inside, -1, np.asarray(outside_venue_of, dtype=np.int64))
        pm, pv = np.asarray(self.pair_member, dtype=np.int64), np.asarray(self.pair_venue, dtype=np.int64)
        stay = prev = None
        if pairs is None:
            keep = inside[pm] & inside[pv]
            member, venue, minutes = pos[pm[keep]], pos[pv[keep]], np.asarray(self.pair_minutes, dtype=float)[keep]
            stay = None if self.pair_stay is None else np.asarray(self.pair_stay)[keep]
            prev = None if self.pair_prev is None else np.asarray(self.pair_prev)[keep]
        else:
            if self.pair_stay is not None or self.pair_prev is not None:
                raise ValueError("previous-plan weights are per pair and cannot be carried to new pairs")
            member, venue, minutes = (np.asarray(a) for a in pairs)
            member, venue, minutes = member.astype(np.int64), venue.astype(np.int64), minutes.astype(float)
        fixed = self._fixed_pairs(inside, outside_venue_of)
        if n_clusters is None and self.n_clusters is not None:
            if not whole and outside_venue_of is None:
                raise ValueError("a fixed number of clusters needs n_clusters or outside_venue_of for a subproblem")
            open_out = 0 if whole or outside_venue_of is None else len(np.unique(outside_venue_of[outside_venue_of >= 0]))
            n_clusters = self.n_clusters - open_out
        max_moved = self.max_moved
        if max_moved is not None and not whole:
            if outside_venue_of is None:
                raise ValueError("a cap on moved teachers needs outside_venue_of for a subproblem")
            k = fixed[fixed >= 0]
            moved_out = float((np.asarray(self.pair_prev, dtype=float)[k] - self.stay()[k]).sum()) if self.pair_prev is not None else 0.0
            max_moved = int(max_moved - moved_out)
        prev_teachers = self.prev_teachers
        if self.pair_prev is not None and not whole:
            per_unit = np.zeros(n)
            np.maximum.at(per_unit, pm, np.asarray(self.pair_prev, dtype=float))
            prev_teachers = int(per_unit[units].sum())
        return ClusterProblem(
            n_teachers=np.asarray(self.n_teachers)[units],
            pair_member=member,
            pair_venue=venue,
            pair_minutes=minutes,
            min_teachers=self.min_teachers,
            max_teachers=self.max_teachers,
            max_schools=self.max_schools,
            n_clusters=n_clusters,
            objective=self.objective,
            min_schools=self.min_schools,
            side_rows=[r for row in self.side_rows if (r := self._side_row_within(row, pos, outside_venue_of)) is not None],
            pair_stay=stay,
            move_weight=self.move_weight,
            prev_teachers=prev_teachers,
            pair_prev=prev,
            max_moved=max_moved,
        )

    def _fixed_pairs(self, inside: np.ndarray, outside_venue_of: np.ndarray | None) -> np.ndarray:
        """Per unit left out and placed by ``outside_venue_of``, the index of its pair (-1 otherwise)."""
        out = np.full(self.n_units, -1, dtype=np.int64)
        if outside_venue_of is None:
            return out
        lookup = {(int(m), int(v)): k for k, (m, v) in enumerate(zip(self.pair_member, self.pair_venue, strict=True))}
        for i in np.flatnonzero(~inside & (outside_venue_of >= 0)):
            out[i] = lookup.get((int(i), int(outside_venue_of[i])), -1)
        return out

    @staticmethod
    def _side_row_within(row: SideRow, pos: np.ndarray, outside_venue_of: np.ndarray | None) -> SideRow | None:
        """A side row in the subproblem's numbering; entries outside it are fixed by ``outside_venue_of``."""
        m, v = np.asarray(row.member, dtype=np.int64), np.asarray(row.venue, dtype=np.int64)
        coef = np.asarray(row.coef, dtype=float)
        inner = (pos[m] >= 0) & (pos[v] >= 0)
        if inner.all():
            return SideRow(pos[m], pos[v], coef, row.lower, row.upper)
        if outside_venue_of is None:
            raise ValueError("a side row (edit) reaches outside the subproblem: give outside_venue_of")
        # an entry outside is 1 when the fixed plan uses its pair; an entry whose member is inside but venue outside is 0
        const = float(coef[(pos[m] < 0) & (outside_venue_of[m] == v)].sum())
        if not inner.any():
            if not row.lower - 1e-9 <= const <= row.upper + 1e-9:
                raise ValueError("the plan outside the subproblem breaks a side row (edit)")
            return None
        return SideRow(pos[m[inner]], pos[v[inner]], coef[inner], row.lower - const, row.upper - const)


class Rows(NamedTuple):
    """Constraint rows ``lower <= matrix @ x <= upper`` (bounds may be infinite)."""

    matrix: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray


def link_rows(x_pos: np.ndarray, y_pos: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """The matrix of the links ``x[k] - y[j] <= 0``, one row per entry of ``x_pos``.

    Parameters
    ----------
    x_pos, y_pos : numpy.ndarray of int
        Position of each linked pair's column and of its venue's self column.
    n_cols : int
        Number of columns of the (sub)model.
    """
    n = len(x_pos)
    return sp.csr_matrix(
        (
            np.concatenate([np.ones(n), -np.ones(n)]),
            (np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([x_pos, y_pos])),
        ),
        shape=(n, n_cols),
    )


class Formulation:
    """The usable pairs of a problem and the rows of its model, as sparse matrices.

    Columns are the usable pairs: allowed pairs whose venue can host a cluster
    on its own and whose member fits in one with the venue's unit, one per
    ``(member, venue)`` (the cheapest of repeats). :meth:`main_rows` builds
    every row except the ``x[i, j] <= y[j]`` links, which :meth:`sub_rows`
    adds only for the columns a (sub)model uses.

    Attributes
    ----------
    problem : ClusterProblem
    n : int
        Number of units.
    P : int
        Number of usable pairs (columns).
    member, venue : numpy.ndarray of int
        Member unit and venue unit of each column.
    cost : numpy.ndarray of float
        Objective coefficient of each column (teacher-minutes or minutes,
        less ``move_weight`` per staying teacher when revising).
    stay : numpy.ndarray of float
        Teachers who keep their previous venue through each column.
    moved : numpy.ndarray of float
        Teachers placed before who meet at another venue through each column.
    dem : numpy.ndarray of float
        Teachers of each column's member.
    teachers : numpy.ndarray of int
        Teachers per unit.
    is_self : numpy.ndarray of bool
        Columns that are a venue's self pair ``y[j]``.
    self_col : numpy.ndarray of int
        Self column of each unit, -1 when it cannot host.
    venues : numpy.ndarray of int
        The units that can host (sorted).
    placeable : numpy.ndarray of bool
        Units with at least one column.
    integral_cost : bool
        Every cost is an integer (a better plan is then better by at least 1).
    """

    def __init__(self, problem: ClusterProblem):
        p = problem
        n = p.n_units
        member = np.asarray(p.pair_member, dtype=np.int64)
        venue = np.asarray(p.pair_venue, dtype=np.int64)
        teachers = np.asarray(p.n_teachers, dtype=np.int64)
        cost = np.asarray(p.pair_cost(), dtype=float)
        stay = p.stay()
        prev = stay if p.pair_prev is None else np.asarray(p.pair_prev, dtype=float)
        usable = np.ones(len(member), dtype=bool)
        # Venues: units with a self pair that fits in a cluster on its own.
        is_self = member == venue
        venue_ok = np.zeros(n, dtype=bool)
        venue_ok[venue[is_self & (teachers[venue] <= p.max_teachers)]] = True
        usable &= venue_ok[venue]
        # A member and its venue together must fit.
        usable &= is_self | (teachers[member] + teachers[venue] <= p.max_teachers)
        if p.max_schools < 2:
            usable &= is_self
        idx = np.flatnonzero(usable)
        # Deterministic de-duplication of repeated (i, j): keep the cheapest, then the first.
        order = np.lexsort((idx, cost[idx], venue[idx], member[idx]))
        idx = idx[order]
        first = np.ones(len(idx), dtype=bool)
        first[1:] = (member[idx][1:] != member[idx][:-1]) | (venue[idx][1:] != venue[idx][:-1])
        idx = np.sort(idx[first])
        self.problem = p
        self.n = n
        self.P = len(idx)
        self.member = member[idx]
        self.venue = venue[idx]
        self.cost = cost[idx]
        self.stay = stay[idx]
        self.moved = prev[idx] - stay[idx]
        self.teachers = teachers
        self.dem = teachers[self.member].astype(float)
        self.is_self = self.member == self.venue
        self.self_col = np.full(n, -1, dtype=np.int64)
        self.self_col[self.venue[self.is_self]] = np.flatnonzero(self.is_self)
        # every member pair's venue has its self column (venue_ok above)
        self.venues = np.flatnonzero(self.self_col >= 0)
        self.integral_cost = bool(np.all(np.abs(self.cost - np.round(self.cost)) < 1e-9))
        self.placeable = np.zeros(n, dtype=bool)
        self.placeable[self.member] = True

    def main_rows(self, all_placed: bool, min_placed: int | None) -> Rows:
        """Every row but the links, over all columns.

        Parameters
        ----------
        all_placed : bool
            Every placeable unit with teachers must be placed (assignment
            rows ``= 1`` instead of ``<= 1``).
        min_placed : int or None
            At least this many teachers placed, if set.
        """
        p = self.problem
        P = self.P
        cols = np.arange(P)
        rows_r: list[np.ndarray] = []
        rows_c: list[np.ndarray] = []
        rows_v: list[np.ndarray] = []
        lo: list[np.ndarray] = []
        hi: list[np.ndarray] = []
        r = 0
        # each unit at most (or exactly) once
        units = np.flatnonzero(self.placeable)
        unit_row = np.full(self.n, -1, dtype=np.int64)
        unit_row[units] = np.arange(len(units))
        rows_r.append(unit_row[self.member])
        rows_c.append(cols)
        rows_v.append(np.ones(P))
        need = all_placed & (self.teachers[units] > 0)
        lo.append(np.where(need, 1.0, 0.0))
        hi.append(np.ones(len(units)))
        r += len(units)
        # where each kind of row starts, for bounds on pairs not in the model (see bound.kept_assignment_bound)
        layout: dict = {"unit_rows": units, "venue_blocks": [], "min_placed_row": None}
        V = len(self.venues)
        venue_row = np.full(self.n, -1, dtype=np.int64)
        venue_row[self.venues] = np.arange(V)
        vr = venue_row[self.venue]
        self_cols = self.self_col[self.venues]

        def venue_block(member_coef: np.ndarray, self_extra: float, blo: float, bhi: float) -> None:
            """One row per venue: ``blo <= sum_k member_coef[k] x[k] - self_extra * y[j] <= bhi``."""
            nonlocal r
            layout["venue_blocks"].append((r, "teachers" if member_coef is self.dem else "schools"))
            rows_r.append(r + vr)
            rows_c.append(cols)
            rows_v.append(member_coef)
            rows_r.append(r + np.arange(V))
            rows_c.append(self_cols)
            rows_v.append(np.full(V, -float(self_extra)))
            lo.append(np.full(V, blo))
            hi.append(np.full(V, bhi))
            r += V

        venue_block(self.dem, p.max_teachers, -_INF, 0.0)
        if p.min_teachers > 0:
            venue_block(self.dem, p.min_teachers, 0.0, _INF)
        size = np.bincount(self.venue, minlength=self.n)
        if p.max_schools < size.max(initial=0):
            venue_block(np.ones(P), p.max_schools, -_INF, 0.0)
        if p.n_clusters is not None:
            rows_r.append(np.full(V, r))
            rows_c.append(self_cols)
            rows_v.append(np.ones(V))
            lo.append(np.array([float(p.n_clusters)]))
            hi.append(np.array([float(p.n_clusters)]))
            r += 1
        if p.min_schools > 1:
            venue_block(np.ones(P), p.min_schools, 0.0, _INF)
        if p.side_rows:
            lookup = {(int(m), int(v)): k for k, (m, v) in enumerate(zip(self.member, self.venue, strict=False))}
            for row in p.side_rows:
                ks = [(lookup.get((int(m), int(v)), -1), float(c)) for m, v, c in zip(row.member, row.venue, row.coef, strict=False)]
                ks = [(k, c) for k, c in ks if k >= 0]
                rows_r.append(np.full(len(ks), r))
                rows_c.append(np.array([k for k, _ in ks], dtype=np.int64))
                rows_v.append(np.array([c for _, c in ks], dtype=float))
                lo.append(np.array([float(row.lower)]))
                hi.append(np.array([float(row.upper)]))
                r += 1
        if p.max_moved is not None:
            rows_r.append(np.full(P, r))
            rows_c.append(cols)
            rows_v.append(self.moved)
            lo.append(np.array([-_INF]))
            hi.append(np.array([float(p.max_moved)]))
            r += 1
        if min_placed is not None:
            layout["min_placed_row"] = r
            rows_r.append(np.full(P, r))
            rows_c.append(cols)
            rows_v.append(self.dem)
            lo.append(np.array([float(min_placed)]))
            hi.append(np.array([_INF]))
            r += 1
        A = sp.csr_matrix((np.concatenate(rows_v), (np.concatenate(rows_r), np.concatenate(rows_c))), shape=(r, P))
        A.sum_duplicates()
        self.layout = layout
        return Rows(A, np.concatenate(lo), np.concatenate(hi))

    def sub_rows(self, main: Rows, cols: np.ndarray) -> Rows:
        """Rows of the submodel on columns ``cols`` (sorted): the main rows plus its links."""
        A, lo, hi = main
        As = A[:, cols]
        nz = np.diff(As.tocsr().indptr) > 0
        # keep equality / lower-bounded rows even if empty (they prove infeasibility)
        keep = nz | (lo > 0)
        As = As[keep]
        lo_s, hi_s = lo[keep], hi[keep]
        pos = np.full(self.P, -1, dtype=np.int64)
        pos[cols] = np.arange(len(cols))
        lk = cols[~self.is_self[cols]]
        sc = pos[self.self_col[self.venue[lk]]]
        ok = sc >= 0
        lk, sc = lk[ok], sc[ok]
        L = len(lk)
        M = sp.vstack([As, link_rows(pos[lk], sc, len(cols))], format="csr")
        return Rows(M, np.concatenate([lo_s, np.full(L, -_INF)]), np.concatenate([hi_s, np.zeros(L)]))

    def is_feasible(self, main: Rows, cols: np.ndarray) -> bool:
        """Whether choosing exactly the columns ``cols`` satisfies every row and link."""
        x = np.zeros(self.P)
        x[cols] = 1.0
        A, lo, hi = main
        act = A @ x
        if np.any(act < lo - 1e-6) or np.any(act > hi + 1e-6):
            return False
        links = x[~self.is_self] <= x[self.self_col[self.venue[~self.is_self]]]
        return bool(np.all(links))

    def rank_per_unit(self, *keys: np.ndarray) -> np.ndarray:
        """Rank of each column among its member's columns, ordered by ``keys``.

        The first key is the most significant; ties end with the column index,
        so the ranking is deterministic. Rank 0 is the member's first column.
        """
        order = np.lexsort((np.arange(self.P), *reversed(keys), self.member))
        starts = np.searchsorted(self.member[order], self.member[order], side="left")
        rank = np.empty(self.P, dtype=np.int64)
        rank[order] = np.arange(self.P) - starts
        return rank

    def venue_of(self, chosen: np.ndarray) -> np.ndarray:
        """Venue unit of each unit under the chosen columns, -1 when not placed."""
        venue_of = np.full(self.n, -1, dtype=np.int64)
        venue_of[self.member[chosen]] = self.venue[chosen]
        return venue_of

    def columns_of(self, venue_of: np.ndarray) -> np.ndarray | None:
        """The columns of a ``venue_of`` vector (pairs it uses that are usable); None if its length is wrong."""
        venue_of = np.asarray(venue_of)
        if len(venue_of) != self.n:
            return None
        return np.flatnonzero(venue_of[self.member] == self.venue)
