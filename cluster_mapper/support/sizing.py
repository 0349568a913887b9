"""How many facilitators, and where: the sizing answer for planners.

The mentoring programme (002) asked "how many mentors do we need?". For each
kind of facilitator a cluster needs (gender where the cluster is of one
gender and ``same_gender`` holds, its levels, its district where
facilitators are tied to districts), :func:`size_programme` finds the fewest
facilitators of that kind, each based at a school that can host, that
support every cluster of the kind, with the capacity of a typical
facilitator of the file (median ``max_clusters``, ``days_per_month`` and
``max_teachers`` of those who could do the job; one meeting a day, so the
answer never counts on sharing trips), and then the least travel.

Bases follow the rules: a woman at a girls' or mixed school, a man at a
boys' or mixed school (a kind open to either names the gender a base at a
girls' or boys' school needs). A capacitated facility-location model in CP-SAT: ``staff[b]`` facilitators
based at school ``b`` and ``serve[b, c]`` for bases within a day's reach of
the venue (each cluster offered its :data:`CANDIDATES_PER_CLUSTER` nearest
bases). The answer is proven fewest when it meets the counting bound
(clusters / capacity) or CP-SAT's bound; otherwise ``lower_bound`` states the
gap. The model gets deterministic work, not wall time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.explain import kind_words
from cluster_mapper.support.model import SCALE, solver_workers

#: Candidate bases offered to each cluster (its nearest by round trip).
CANDIDATES_PER_CLUSTER = 25
LEVEL_RANK = {"primary": 0, "middle": 1, "high": 2}
#: The schools a facilitator of each gender may be based at.
SCHOOLS_FOR = {"female": ("girls", "mixed"), "male": ("boys", "mixed")}
SIZING_COLUMNS = [
    "kind",
    "district",
    "gender",
    "levels",
    "clusters",
    "facilitators_in_file",
    "fewest_needed",
    "lower_bound",
    "proven",
    "clusters_per_facilitator",
    "bases",
]


def kind_levels(c, fac: pd.DataFrame, sp: SupportPolicy, tied: bool) -> tuple[str, ...]:
    """The levels of the kind of facilitator a cluster needs, as the facilitators file has them.

    The most common ``levels`` of the file's facilitators who could support
    the cluster (a TTO for every level where the file has such TTOs); the
    cluster's own level group (primary; or middle and high) when nobody could.
    """
    from collections import Counter

    need = set(c.levels)
    profiles = Counter(
        tuple(fl)
        for fg, fl, fd in zip(fac["gender"], fac["levels"], fac["district"])
        if (not sp.same_gender or not c.need_gender or fg == c.need_gender)
        and (not sp.match_levels or need <= set(fl))
        and (not tied or not fd or fd == c.district)
    )
    if profiles:
        return tuple(sorted(max(profiles.items(), key=lambda kv: (kv[1], kv[0]))[0], key=LEVEL_RANK.__getitem__))
    group = {"primary": ("primary",), "middle": ("middle", "high")}.get(c.level_group, ("primary", "middle", "high"))
    return tuple(sorted(set(group) | need, key=LEVEL_RANK.__getitem__))


def _median(values, default):
    vals = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return default if not vals else float(np.median(vals))


def size_programme(
    clusters: pd.DataFrame,
    fac: pd.DataFrame,
    candidates: pd.DataFrame,
    minutes: dict[str, np.ndarray],
    point_index: dict[str, int],
    sp: SupportPolicy,
    default_mode: str,
    place: dict[str, str],
    time_limit: float = 10.0,
) -> pd.DataFrame:
    """The fewest facilitators of each kind and where to base them.

    Parameters
    ----------
    clusters : pandas.DataFrame
        Cluster table with ``need_gender``, ``levels``, ``district``,
        ``venue_school_id``, ``n_teachers``.
    fac : pandas.DataFrame
        The checked facilitators table (typical capacities come from it).
    candidates : pandas.DataFrame
        Schools that can host: ``school_id``, ``district``.
    minutes : dict of str to numpy.ndarray
        Point-to-point minutes per travel mode.
    point_index : dict of str to int
        Position of each point id (school id) in ``minutes``.
    sp : SupportPolicy
    default_mode : str
        The policy's travel mode (for facilitators without one).
    place : dict
        School id -> name.
    time_limit : float
        Seconds per kind.

    Returns
    -------
    pandas.DataFrame
        One row per kind, columns :data:`SIZING_COLUMNS`.
    """
    tied = sp.same_district and (fac["district"] != "").any()
    ct = clusters.copy()
    ct["_district"] = ct["district"] if tied else ""
    ct["_gender"] = ct["need_gender"].fillna("") if sp.same_gender else ""
    ct["_lv"] = [kind_levels(c, fac, sp, tied) for c in ct.itertuples(index=False)]
    rows = [
        _size_kind(g, gender, levels, district, fac, candidates, minutes, point_index, sp, default_mode, place, time_limit, tied)
        for (gender, levels, district), g in ct.groupby(["_gender", "_lv", "_district"], sort=True)
    ]
    return pd.DataFrame(rows, columns=SIZING_COLUMNS)


def _size_kind(
    g: pd.DataFrame,
    gender: str,
    levels,
    district: str,
    fac,
    candidates,
    minutes,
    point_index,
    sp: SupportPolicy,
    default_mode: str,
    place,
    time_limit: float,
    tied: bool,
) -> dict:
    """The fewest facilitators of one kind (gender, levels, district) for its clusters ``g``, and their bases (CP-SAT, greedy start)."""
    k = sp.meetings_per_month
    W, M = sp.working_day_minutes, sp.meeting_minutes
    able = fac[
        [
            (not gender or fg == gender) and set(levels) <= set(fl) and (not tied or not fd or fd == district)
            for fg, fl, fd in zip(fac["gender"], fac["levels"], fac["district"])
        ]
    ]
    pool = able if len(able) else fac
    max_c = _median(pool["max_clusters"], math.inf)
    days = _median(pool["days_per_month"], 20)
    max_t = _median(pool["max_teachers"], math.inf)
    modes = [m or default_mode for m in pool["travel_mode"]]
    mode = max(set(modes), key=modes.count) if modes else default_mode
    cap = int(max(1, min(max_c, days // k)))
    cand = candidates if not district else candidates[candidates["district"] == district]
    if gender and "gender" in cand.columns:  # women based at girls' or mixed schools, men at boys' or mixed schools
        cand = cand[cand["gender"].isin(SCHOOLS_FOR[gender])]
    cand_pos = np.array([point_index[s] for s in cand["school_id"]], dtype=int)
    venues = np.array([point_index[v] for v in g["venue_school_id"]], dtype=int)
    T = minutes[mode]
    rt = T[np.ix_(cand_pos, venues)] + T[np.ix_(venues, cand_pos)].T  # (B, C) round trips
    ok = rt + M <= W + 1e-6
    n = g["n_teachers"].to_numpy(int)
    m, staff, serve, coverable = _sizing_model(g, cand, rt, ok, n, cap, max_t)
    bound = math.ceil(len(coverable) / cap)
    if math.isfinite(max_t):
        bound = max(bound, math.ceil(n[coverable].sum() / max_t)) if coverable else bound
    hint, hint_serve = _greedy_start(staff, serve, rt, n, cap, max_t, coverable, len(g))
    for b, y in staff.items():
        m.add_hint(y, hint.get(b, 0))
    for bj, v in serve.items():
        m.add_hint(v, bj in hint_serve)
    total = sum(staff.values()) if staff else 0
    big = 1 + int(sum(rt[b, j] for (b, j) in serve) * SCALE * k) if serve else 1
    m.minimize(big * total + sum(round(k * rt[b, j] * SCALE) * v for (b, j), v in serve.items()))
    s = cp_model.CpSolver()
    s.parameters.max_deterministic_time = time_limit
    s.parameters.max_time_in_seconds = 6 * time_limit
    s.parameters.num_workers = solver_workers()
    st = s.solve(m) if staff else cp_model.OPTIMAL
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE) and staff:
        counts = {b: int(s.value(y)) for b, y in staff.items() if s.value(y)}
        best_bound = math.floor(s.best_objective_bound / big + 1e-9) if st != cp_model.OPTIMAL else sum(counts.values())
        needed = sum(counts.values())
        proven = st == cp_model.OPTIMAL or needed <= max(bound, best_bound)
    else:
        counts, needed, proven, best_bound = {}, None, False, 0
    who = {"girls": ", a woman", "boys": ", a man"}
    bases = "; ".join(
        f"{place.get(cand['school_id'].iat[b], '')} ({cand['school_id'].iat[b]}"
        + ("" if gender or "gender" not in cand.columns else who.get(cand["gender"].iat[b], ""))
        + ")"
        + (f" x{c}" if c > 1 else "")
        for b, c in sorted(counts.items(), key=lambda kv: (-kv[1], cand["school_id"].iat[kv[0]]))
    )
    uncovered = len(g) - len(coverable)
    return {
        "kind": kind_words(gender or None, levels, district or None),
        "district": district,
        "gender": gender or "any",
        "levels": ";".join(levels),
        "clusters": len(g),
        "facilitators_in_file": len(able),
        "fewest_needed": needed,
        "lower_bound": int(max(bound, best_bound if staff else 0)),
        "proven": bool(proven),
        "clusters_per_facilitator": cap,
        "bases": bases + (f" ({uncovered} cluster(s) out of a day's reach of every school that can host)" if uncovered else ""),
    }


def _sizing_model(g: pd.DataFrame, cand: pd.DataFrame, rt: np.ndarray, ok: np.ndarray, n: np.ndarray, cap: int, max_t: float):
    """The sizing model: staff at each candidate base, each coverable cluster served from one base within a day, capacities."""
    m = cp_model.CpModel()
    ub = len(g)
    sids, cids = cand["school_id"].tolist(), g["cluster_id"].tolist()  # names read once, not per variable
    staff: dict[int, cp_model.IntVar] = {}
    serve: dict[tuple[int, int], cp_model.IntVar] = {}
    of_base: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
    for j in range(len(g)):
        bs = np.flatnonzero(ok[:, j])
        bs = bs[np.argsort(rt[bs, j], kind="stable")][:CANDIDATES_PER_CLUSTER]
        for b in map(int, bs):
            if b not in staff:
                staff[b] = m.new_int_var(0, ub, f"staff[{sids[b]}]")
            serve[b, j] = m.new_bool_var(f"serve[{sids[b]},{cids[j]}]")
            of_base.setdefault(b, []).append((j, serve[b, j]))
    coverable = sorted({j for _, j in serve})
    for j in coverable:
        m.add_exactly_one(serve[b, j] for b in staff if (b, j) in serve)
    for b, y in staff.items():
        xs = of_base[b]
        m.add(sum(v for _, v in xs) <= cap * y)
        if math.isfinite(max_t):
            m.add(sum(int(n[j]) * v for j, v in xs) <= int(max_t) * y)
    return m, staff, serve, coverable


def _greedy_start(
    staff: dict, serve: dict, rt: np.ndarray, n: np.ndarray, cap: int, max_t: float, coverable: list[int], n_clusters: int
) -> tuple[dict[int, int], set]:
    """A greedy plan as the solver's start: each new base takes the most clusters left (cap each, nearest first)."""
    free = np.zeros(n_clusters, dtype=bool)
    free[coverable] = True
    hint: dict[int, int] = {}
    hint_serve: set[tuple[int, int]] = set()
    while free.any():
        best_key, best = None, None
        for b in staff:
            take = [int(j) for j in np.flatnonzero(free) if (b, j) in serve]
            take.sort(key=lambda j: rt[b, j])
            if math.isfinite(max_t):
                kept, tot = [], 0
                for j in take:
                    if tot + n[j] <= max_t:
                        kept.append(j)
                        tot += n[j]
                take = kept
            take = take[:cap]
            key = (-len(take), float(sum(rt[b, j] for j in take)), b)
            if take and (best_key is None or key < best_key):
                best_key, best = key, (b, take)
        if best is None:
            break
        b, take = best
        hint[b] = hint.get(b, 0) + 1
        hint_serve.update((b, j) for j in take)
        free[take] = False
    return hint, hint_serve


__all__ = ["CANDIDATES_PER_CLUSTER", "SIZING_COLUMNS", "size_programme"]
