"""Straight-line travel without a complete table: each school's nearest venues, the rest on demand.

Without a travel limit every school-venue pair is allowed, and a complete
table of ``n^2`` pairs (25 million for 5,000 schools) fills memory. Here
nothing is quadratic:

* :class:`StraightLineReach` keeps the schools' points. Minutes of any pair
  are the geodesic distance times a factor (the straight-line source's own
  rule, :func:`~cluster_mapper.travel.times.straight_line_travel_times`),
  computed when asked; a KD-tree on the points' geocentric (ECEF)
  coordinates finds each school's ``k`` nearest schools and the schools
  within a radius.
* The chord through the Earth between two points is never longer than the
  geodesic between them, so ``chord x factor`` is a *lower bound* on the
  minutes of every pair: a school's ``k``-th nearest chord bounds every pair
  left out, and a ball of chord radius ``m / factor`` holds every venue
  within ``m`` minutes. :class:`GroupCandidates` answers the model's
  candidate questions (``nearest``, ``cheaper_than``, ``all_pairs``, see
  :class:`cluster_mapper.model.large.CandidateSource`) for the units of one
  gender and level group with those guarantees, so the bounds the model
  proves on few pairs hold for all of them.
* Travel edits (local knowledge) override pairs: an overridden pair is
  always a candidate with its own minutes (never left out, so the bounds
  stay valid), an impassable one never is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from cluster_mapper._geo import local_metres

_GEOD = pyproj.Geod(ellps="WGS84")
_TO_ECEF = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True)
#: Each school's nearest schools kept in the travel table of a district without a travel limit.
TABLE_NEIGHBOURS = 30


def geocentric(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``(n, 3)`` ECEF metres of points on the WGS 84 ellipsoid (height 0)."""
    x, y, z = _TO_ECEF.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), np.zeros(len(lon)))
    return np.column_stack([x, y, z])


@dataclass(eq=False)
class StraightLineReach:
    """Straight-line minutes of any pair of schools, computed on demand.

    Attributes
    ----------
    ids : numpy.ndarray of str
        School ids.
    lon, lat : numpy.ndarray
        EPSG:4326 coordinates.
    detour_factor, speed_kmh : float
        Minutes are geodesic metres x ``detour_factor`` at ``speed_kmh``.
    overrides : dict
        ``{(from_id, to_id): minutes}`` set by travel edits (``inf``: impassable).
    """

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    detour_factor: float
    speed_kmh: float
    overrides: dict[tuple[str, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids).astype(str)
        self.index = pd.Index(self.ids)
        self.xyz = geocentric(self.lon, self.lat)
        self.xy = local_metres(self.lon, self.lat)
        self.minutes_per_metre = self.detour_factor / 1000.0 / self.speed_kmh * 60.0

    def with_overrides(self, overrides: dict[tuple[str, str], float]) -> StraightLineReach:
        """The same reach with travel edits on top (later edits win)."""
        return StraightLineReach(self.ids, self.lon, self.lat, self.detour_factor, self.speed_kmh, {**self.overrides, **overrides})

    def positions(self, school_ids) -> np.ndarray:
        """Positions of school ids (-1: unknown)."""
        return self.index.get_indexer(pd.Index(np.asarray(school_ids, dtype=object).astype(str)))

    def pair_minutes(self, fi: np.ndarray, ti: np.ndarray) -> np.ndarray:
        """Minutes from schools at positions ``fi`` to ``ti`` (0 to itself; overrides applied)."""
        fi, ti = np.asarray(fi, dtype=np.int64), np.asarray(ti, dtype=np.int64)
        if len(fi) == 0:
            return np.zeros(0)
        _, _, d = _GEOD.inv(self.lon[fi], self.lat[fi], self.lon[ti], self.lat[ti])
        # the same arithmetic as the complete straight-line table, so both give the same minutes to the last bit
        out = np.abs(np.asarray(d, dtype=float)) * self.detour_factor / 1000.0 / self.speed_kmh * 60.0
        out[fi == ti] = 0.0
        if self.overrides:
            for k, (a, b) in enumerate(zip(self.ids[fi], self.ids[ti], strict=True)):
                if (a, b) in self.overrides:
                    out[k] = self.overrides[(a, b)]
        return out

    def nearest_table(self, k: int = TABLE_NEIGHBOURS) -> pd.DataFrame:
        """Each school's ``k`` nearest schools and itself: ``from_school_id, to_school_id, minutes`` (overrides applied)."""
        cands = GroupCandidates(self, np.arange(len(self.ids)), np.ones(len(self.ids), dtype=bool))
        m, v, t, _ = cands.nearest(k)
        ok = np.isfinite(t)
        m, v, t = m[ok], v[ok], t[ok]
        order = np.lexsort((v, m))
        return pd.DataFrame({"from_school_id": self.ids[m[order]], "to_school_id": self.ids[v[order]], "minutes": t[order]})


class GroupCandidates:
    """Candidate pairs of one group's units for the sparse model (positions within the group).

    Parameters
    ----------
    reach : StraightLineReach
        Where minutes come from.
    school_pos : numpy.ndarray of int
        Each unit's school position in ``reach``.
    can_host : numpy.ndarray of bool
        Units that can be venues.
    kind : numpy.ndarray, optional
        A label per unit (e.g. its gender and level group): a unit meets only
        at venues of its own kind. Leaving other kinds out never lowers a
        bound below what it holds for: every pair left out of the allowed
        ones is still at least its unit's ``k``-th chord away.
    """

    def __init__(self, reach: StraightLineReach, school_pos: np.ndarray, can_host: np.ndarray, kind: np.ndarray | None = None) -> None:
        self.reach = reach
        self.school = np.asarray(school_pos, dtype=np.int64)
        self.can_host = np.asarray(can_host, dtype=bool)
        self.kind = None if kind is None or len(np.unique(kind)) <= 1 else np.unique(np.asarray(kind), return_inverse=True)[1]
        self.hosts = np.flatnonzero(self.can_host)
        self.xy = reach.xy[self.school]  # planar metres: where a unit lies, for blocks and neighbours
        self._xyz = reach.xyz[self.school]
        self._tree = cKDTree(self._xyz[self.hosts]) if len(self.hosts) else None
        # a little under the true rate, so that rounding never makes a chord's minutes exceed a pair's
        self._per_metre = reach.minutes_per_metre * (1 - 1e-9)
        self._fixed = self._overridden()

    def _overridden(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of the group (member, venue) whose minutes an edit sets."""
        if not self.reach.overrides:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = {s: i for i, s in enumerate(self.reach.ids[self.school])}
        pairs = [(pos[a], pos[b]) for a, b in self.reach.overrides if a in pos and b in pos and self.can_host[pos[b]]]
        arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    def pair_minutes(self, member: np.ndarray, venue: np.ndarray) -> np.ndarray:
        """Minutes of pairs given as unit positions."""
        return self.reach.pair_minutes(self.school[np.asarray(member, dtype=np.int64)], self.school[np.asarray(venue, dtype=np.int64)])

    def _finish(self, member: np.ndarray, venue: np.ndarray, units: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact minutes, the edited pairs of ``units`` (all units when None) added, impassable pairs dropped, repeats removed."""
        fm, fv = self._fixed
        if len(fm):
            sel = np.ones(len(fm), dtype=bool) if units is None else np.isin(fm, units)
            member, venue = np.concatenate([member, fm[sel]]), np.concatenate([venue, fv[sel]])
        if self.kind is not None:
            same = self.kind[member] == self.kind[venue]
            member, venue = member[same], venue[same]
        key = member.astype(np.int64) * max(1, len(self.school)) + venue
        _, first = np.unique(key, return_index=True)
        member, venue = member[first], venue[first]
        minutes = self.pair_minutes(member, venue)
        ok = np.isfinite(minutes)
        return member[ok].astype(np.int64), venue[ok].astype(np.int64), minutes[ok]

    def nearest(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each unit's ``k`` nearest venues (by chord) and its own, and per unit a lower bound on the minutes of any venue left out."""
        n = len(self.school)
        if self._tree is None:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0), np.full(n, math.inf)
        k_all = min(k + 1, len(self.hosts))
        d, j = self._tree.query(self._xyz, k=k_all)
        d, j = np.asarray(d).reshape(n, k_all), np.asarray(j).reshape(n, k_all)
        keep = min(k, k_all)
        member = np.repeat(np.arange(n), keep)
        venue = self.hosts[j[:, :keep]].ravel()
        # the chord never exceeds the geodesic: the (k+1)-th chord bounds every pair left out
        outside = d[:, keep] * self._per_metre if k_all > keep else np.full(n, math.inf)
        member = np.concatenate([member, self.hosts])
        venue = np.concatenate([venue, self.hosts])
        m, v, t = self._finish(member, venue)
        return m, v, t, np.asarray(outside, dtype=float)

    def cheaper_than(self, units: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every venue of each of ``units`` at most its ``minutes`` away (and some more): ``(member, venue, minutes)``."""
        units = np.asarray(units, dtype=np.int64)
        if self._tree is None or len(units) == 0:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0)
        radius = np.maximum(np.asarray(minutes, dtype=float), 0.0) / self._per_metre * (1 + 1e-9) + 1e-6
        hits = self._tree.query_ball_point(self._xyz[units], r=radius)
        member = np.concatenate([np.full(len(h), u, dtype=np.int64) for u, h in zip(units, hits, strict=True)])
        venue = self.hosts[np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])]
        return self._finish(member, venue, units)

    def all_pairs(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair among ``units`` (members) and the hosts among them, in positions of ``units``."""
        units = np.asarray(units, dtype=np.int64)
        hosts = np.flatnonzero(self.can_host[units])
        mg, vg = np.meshgrid(np.arange(len(units)), hosts, indexing="ij")
        m, v = mg.ravel(), vg.ravel()
        if self.kind is not None:
            same = self.kind[units[m]] == self.kind[units[v]]
            m, v = m[same], v[same]
        t = self.pair_minutes(units[m], units[v])
        ok = np.isfinite(t)
        return m[ok], v[ok], t[ok]


__all__ = ["GroupCandidates", "StraightLineReach", "TABLE_NEIGHBOURS", "geocentric"]
