"""Plan support for a cluster map: read facilitators, build the problem, solve, explain.

:func:`plan_support` is the one entry: a fresh :class:`~cluster_mapper.planning.solve.Plan`
or a plan folder read with :func:`~cluster_mapper.planning.files.read_plan`, and a
facilitators file, give a :class:`SupportPlan` with every table the plan
folder, the map and the report need.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from cluster_mapper.inputs.schools import load_schools
from cluster_mapper.policy.rules import Policy, SupportPolicy
from cluster_mapper.support.calendar import clock_text, match_dates, meeting_starts, window_offsets, working_dates
from cluster_mapper.support.explain import explain_unsupported
from cluster_mapper.support.facilitators import load_facilitators
from cluster_mapper.support.model import NO_LIMIT, SupportModel, SupportProblem, SupportSolution
from cluster_mapper.support.sizing import size_programme
from cluster_mapper.support.travel import SupportTravel, base_point, points_frame, support_travel

log = logging.getLogger(__name__)

SUPPORT_COLUMNS = ["cluster_id", "facilitator_id", "reason", "suggestion"]
ITINERARY_COLUMNS = [
    "facilitator_id",
    "day",
    "date",
    "stop",
    "kind",
    "cluster_id",
    "school_id",
    "school_name",
    "latitude",
    "longitude",
    "arrive_minute",
    "leave_minute",
    "start_time",
    "end_time",
]
PROGRAMME_COLUMNS = [
    "facilitator_id",
    "name",
    "gender",
    "levels",
    "subjects",
    "district",
    "travel_mode",
    "base_school_id",
    "latitude",
    "longitude",
    "clusters",
    "cluster_ids",
    "teachers",
    "meetings",
    "days_used",
    "days_per_month",
    "max_clusters",
    "max_teachers",
    "travel_minutes",
    "working_minutes",
    "workload_share",
]
LEVEL_OF_GROUP = {"primary": ("primary",), "middle": ("middle",), "mixed": ("primary", "middle")}
LEVEL_ORDER = {"primary": 0, "middle": 1, "high": 2}


@dataclass
class SupportSource:
    """What support planning needs from a cluster plan, fresh or read from a folder."""

    clusters: pd.DataFrame
    assignments: pd.DataFrame
    schools: gpd.GeoDataFrame
    policy: Policy
    travel_spec: dict
    network: nx.MultiDiGraph | None = None
    matrix_pairs: pd.DataFrame | None = None

    @classmethod
    def from_plan(cls, plan) -> SupportSource:
        """From a fresh :class:`~cluster_mapper.planning.solve.Plan`."""
        spec = plan.travel_spec or {"source": plan.travel.source}
        return cls(
            plan.clusters, plan.teachers, plan.inputs.schools, plan.policy, spec, plan.network, plan.travel.pairs if plan.travel.source == "matrix" else None
        )

    @classmethod
    def from_saved(cls, saved, policy: Policy | None = None) -> SupportSource:
        """From a plan folder read with :func:`~cluster_mapper.planning.files.read_plan` (schools read again)."""

        s = saved.summary
        pol = policy or saved.policy
        if hasattr(saved, "require_inputs"):  # the plan's inputs, found beside the plan folder or where they were
            saved.require_inputs("schools", "network_path", "matrix_path", "elevation")
        # read as the plan read them: the plan's own policy copy (columns, values, district, crs)
        schools = load_schools(s["inputs"]["schools"], policy=saved.policy)
        return cls(saved.clusters, saved.assignments, schools, pol, s.get("travel") or {"source": s.get("travel_source", "straight_line")})


@dataclass
class SupportPlan:
    """Who supports each cluster, and each facilitator's month.

    Attributes
    ----------
    support : pandas.DataFrame
        ``support.csv``: :data:`SUPPORT_COLUMNS`, one row per cluster.
    itineraries : pandas.DataFrame
        ``itineraries.csv``: :data:`ITINERARY_COLUMNS`; minutes from the start
        of the working day.
    programme : pandas.DataFrame
        One row per facilitator (:data:`PROGRAMME_COLUMNS`): load and travel.
    sizing : pandas.DataFrame
        The fewest facilitators of each kind and where to base them.
    figures : dict
        The ``support`` entry of ``summary.json``.
    legs : dict
        ``{facilitator_id: [(day, [(lon, lat), ...]), ...]}``: each day's way,
        along the roads where the plan has a network.
    facilitators_path : str or None
    solution : SupportSolution or None
        The solver's result (fresh plans only).
    """

    support: pd.DataFrame
    itineraries: pd.DataFrame
    programme: pd.DataFrame
    sizing: pd.DataFrame
    figures: dict
    legs: dict = field(default_factory=dict)
    facilitators_path: str | None = None
    solution: SupportSolution | None = None
    problem: SupportProblem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_supported(self) -> int:
        return int((self.support["facilitator_id"] != "").sum())


def cluster_table(clusters: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: who is in it (genders, levels, subjects) and the facilitator gender it needs.

    ``need_gender`` is ``female`` or ``male`` for a cluster of one gender,
    ``""`` for a cluster of women and men (or of unknown gender): anyone may
    support it under ``same_gender``. (Not None: pandas turns a column of
    None into NaN, which is truthy, and mixed clusters would match nobody.)
    """
    a = assignments[assignments["status"] == "placed"]
    by = {cid: g for cid, g in a.groupby("cluster_id", sort=False)}
    rows = []
    for c in clusters.itertuples(index=False):
        g = by.get(c.cluster_id, a.iloc[0:0])
        genders = sorted(set(g["gender"]) - {"any", ""})
        if not genders and c.gender_group in ("female", "male"):
            genders = [c.gender_group]
        levels = sorted(set(g["level"]) - {"any", ""}, key=LEVEL_ORDER.__getitem__) or list(LEVEL_OF_GROUP.get(c.level_group, ()))
        subjects = sorted(set(g["subject"]) - {""}) if "subject" in g.columns else []
        rows.append(
            {
                "cluster_id": c.cluster_id,
                "district": c.district,
                "gender_group": c.gender_group,
                "level_group": c.level_group,
                "venue_school_id": c.venue_school_id,
                "n_teachers": int(c.n_teachers),
                "genders": tuple(genders),
                "levels": tuple(levels),
                "subjects": tuple(subjects),
                "need_gender": genders[0] if len(genders) == 1 else "",
            }
        )
    return pd.DataFrame(
        rows, columns=["cluster_id", "district", "gender_group", "level_group", "venue_school_id", "n_teachers", "genders", "levels", "subjects", "need_gender"]
    )


def eligibility_rules(ct: pd.DataFrame, fac: pd.DataFrame, sp: SupportPolicy) -> dict[str, np.ndarray]:
    """Each rule alone, as (F, C) bool: ``gender``, ``levels``, ``subjects``, ``district``."""
    F, C = len(fac), len(ct)
    gender = np.ones((F, C), dtype=bool)
    levels = np.ones((F, C), dtype=bool)
    subjects = np.ones((F, C), dtype=bool)
    district = np.ones((F, C), dtype=bool)
    for i, f in enumerate(fac.itertuples(index=False)):
        fl, fs = set(f.levels), set(f.subjects)
        for j, c in enumerate(ct.itertuples(index=False)):
            if sp.same_gender and c.need_gender and f.gender != c.need_gender:
                gender[i, j] = False
            if sp.match_levels and not set(c.levels) <= fl:
                levels[i, j] = False
            if sp.match_subjects and fs and not (fs & set(c.subjects)):
                subjects[i, j] = False
            if sp.same_district and f.district and f.district != c.district:
                district[i, j] = False
    return {"gender": gender, "levels": levels, "subjects": subjects, "district": district}


def build_problem(
    ct: pd.DataFrame, fac: pd.DataFrame, travel: SupportTravel, sp: SupportPolicy, default_mode: str, rules: dict[str, np.ndarray]
) -> SupportProblem:
    """The :class:`SupportProblem` of a cluster table and a facilitators table."""
    idx = travel.index()
    venues = np.array([idx[v] for v in ct["venue_school_id"]], dtype=int)
    modes = list(travel.minutes)
    mode_of = np.array([modes.index(m or default_mode) for m in fac["travel_mode"]], dtype=int)
    bases = np.array([idx[base_point(f)] for f in fac.itertuples(index=False)], dtype=int)
    to = np.zeros((len(fac), len(ct)))
    back = np.zeros((len(fac), len(ct)))
    for i in range(len(fac)):
        T = travel.minutes[modes[mode_of[i]]]
        to[i] = T[bases[i], venues]
        back[i] = T[venues, bases[i]]
    between = np.stack([travel.minutes[m][np.ix_(venues, venues)] for m in modes]) if len(ct) else np.zeros((len(modes), 0, 0))
    eligible = np.logical_and.reduce(list(rules.values())) if rules else np.ones((len(fac), len(ct)), dtype=bool)

    def lim(col: str) -> np.ndarray:
        return np.array([NO_LIMIT if v is None else int(v) for v in fac[col]], dtype=np.int64)

    days = fac["days_per_month"].to_numpy(int)
    if sp.month:  # no more working days than the month has working dates
        days = np.minimum(days, [len(facilitator_dates(f, ct, sp)) for f in fac.itertuples(index=False)])
    earliest, latest = window_offsets(sp)

    return SupportProblem(
        cluster_ids=ct["cluster_id"].tolist(),
        n_teachers=ct["n_teachers"].to_numpy(int),
        facilitator_ids=fac["facilitator_id"].tolist(),
        days=days,
        max_clusters=lim("max_clusters"),
        max_teachers=lim("max_teachers"),
        eligible=eligible,
        to_venue=to,
        from_venue=back,
        between=between,
        mode=mode_of,
        meetings_per_month=sp.meetings_per_month,
        meeting_minutes=sp.meeting_minutes,
        working_day_minutes=sp.working_day_minutes,
        earliest_start=earliest,
        latest_start=latest,
    )


def facilitator_district(f, ct: pd.DataFrame) -> str:
    """The district whose workdays a facilitator keeps: their own, else the clusters' when they are all of one."""
    if getattr(f, "district", ""):
        return str(f.district)
    ds = ct["district"].unique() if len(ct) else []
    return str(ds[0]) if len(ds) == 1 else ""


def facilitator_dates(f, ct: pd.DataFrame, sp: SupportPolicy) -> list:
    """A facilitator's working dates: their district's; without one, the dates that are workdays in every district of the plan."""
    d = facilitator_district(f, ct)
    if d or not len(ct):
        return working_dates(sp, d)
    common = set.intersection(*(set(working_dates(sp, str(x))) for x in ct["district"].unique()))
    return sorted(common)


def plan_support(
    source, facilitators: str | Path | pd.DataFrame, *, policy: Policy | None = None, sizing: bool = True, workers: int | None = None
) -> SupportPlan:
    """Assign facilitators to clusters and plan their month.

    Parameters
    ----------
    source : Plan, SavedPlan or SupportSource
        The cluster plan (fresh, or a folder read with ``read_plan``).
    facilitators : path or pandas.DataFrame
        The facilitators file (or a table already read by
        :func:`~cluster_mapper.support.facilitators.load_facilitators`).
    policy : Policy, optional
        Overrides the plan's policy (its ``[support]`` table is used).
    sizing : bool
        Also answer how many facilitators of each kind are needed, and where.
    workers : int, optional
        CP-SAT workers.

    Returns
    -------
    SupportPlan

    Raises
    ------
    InputError
        A problem in the facilitators file (file, row, field, fix).
    """
    if not isinstance(source, SupportSource):
        source = SupportSource.from_plan(source) if hasattr(source, "inputs") else SupportSource.from_saved(source, policy)
    pol = policy or source.policy
    sp = pol.support
    default_mode = pol.travel.travel_mode
    if isinstance(facilitators, pd.DataFrame):
        fac, fac_path = facilitators, facilitators.attrs.get("source")
    else:
        fac, fac_path = load_facilitators(facilitators, source.schools, pol.inputs), str(Path(facilitators).resolve())
    notes = list(fac.attrs.get("notes", []))
    ct = cluster_table(source.clusters, source.assignments)
    schools = source.schools
    candidates = (
        schools[schools["can_host"].astype(bool) & schools["district"].isin(set(ct["district"]))][["school_id", "district", "gender"]]
        if sizing
        else schools.iloc[0:0][["school_id", "district", "gender"]]
    )
    pts = points_frame(schools, list(dict.fromkeys([*ct["venue_school_id"], *candidates["school_id"]])), fac)
    modes = sorted({m or default_mode for m in fac["travel_mode"]} | {default_mode})
    travel = support_travel(pts, modes, pol.travel, source.travel_spec, network=source.network, matrix_pairs=source.matrix_pairs, schools=schools)
    notes += travel.notes
    rules = eligibility_rules(ct, fac, sp)
    problem = build_problem(ct, fac, travel, sp, default_mode, rules)
    model = SupportModel(problem, workers=workers)
    sol = model.solve(sp.time_limit_seconds)
    notes += sol.notes
    place = dict(zip(schools["school_id"], schools["name"]))

    # support.csv
    rows = []
    for c in range(problem.n_clusters):
        f = int(sol.facilitator_of[c])
        if f >= 0:
            rows.append((ct["cluster_id"].iat[c], problem.facilitator_ids[f], "", ""))
        else:
            reason, change = explain_unsupported(c, problem, sol, rules, ct, fac, sp, place)
            rows.append((ct["cluster_id"].iat[c], "", reason, change))
    support = pd.DataFrame(rows, columns=SUPPORT_COLUMNS)

    itin, legs = itineraries(problem, sol, fac, ct, travel, default_mode, sp, place)
    programme = programme_table(problem, sol, fac)
    size = pd.DataFrame()
    if sizing and len(ct):
        size = size_programme(
            ct, fac, candidates, travel.minutes, travel.index(), sp, default_mode, place, time_limit=max(1.0, min(2.0, sp.time_limit_seconds / 30))
        )
    figures = support_figures(problem, sol, programme, sp, fac_path, travel.source, notes, size)
    return SupportPlan(support, itin, programme, size, figures, legs, fac_path, sol, problem, notes)


def itineraries(
    p: SupportProblem,
    sol: SupportSolution,
    fac: pd.DataFrame,
    ct: pd.DataFrame,
    travel: SupportTravel,
    default_mode: str,
    sp: SupportPolicy | None = None,
    place: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Each facilitator-day as rows (base, meetings, base), with dates and clock times, and its way.

    ``arrive_minute``/``leave_minute`` count from leaving the base;
    ``start_time``/``end_time`` are clock times (``day_start``, later when
    a meeting window makes the facilitator leave later). With ``month``,
    each day has a ``date`` (see :mod:`cluster_mapper.support.calendar`)
    and the days are numbered in date order.
    """
    sp = sp or SupportPolicy()
    place = place or {}
    idx = travel.index()
    pts = travel.points
    rows: list[tuple] = []
    legs: dict[str, list] = {}
    M = p.meeting_minutes
    for f, days in enumerate(sol.days):
        fr = fac.iloc[f]
        fid = fr["facilitator_id"]
        mode = fr["travel_mode"] or default_mode
        T = travel.minutes[mode]
        b = idx[base_point(fr)]
        base_sid = fr["base_school_id"]
        base_name = place.get(base_sid, base_sid) if base_sid else ""
        blat, blon = float(pts["latitude"].iat[b]), float(pts["longitude"].iat[b])
        dates: list = [None] * len(days)
        if sp.month and days:
            district = facilitator_district(fr, ct)
            dates = match_dates([[p.cluster_ids[c] for c in r.clusters] for r in days], facilitator_dates(fr, ct, sp), sp.workdays_of(district))
            order = sorted(range(len(days)), key=lambda i: dates[i])
            days, dates = [days[i] for i in order], [dates[i] for i in order]
        for d, (route, date) in enumerate(zip(days, dates), start=1):
            iso = date.isoformat() if date else ""
            venues = [idx[ct["venue_school_id"].iat[c]] for c in route.clusters]
            hops = [T[x, y] for x, y in zip([b, *venues[:-1]], venues)]
            clock = meeting_starts(hops, M, sp)
            leave = clock[0] if clock else float(clock_minutes_of(sp))
            rows.append((fid, d, iso, 0, "base", "", base_sid, base_name, blat, blon, None, 0.0, "", clock_text(leave)))
            way, here, t = [], b, 0.0
            for s, (c, v) in enumerate(zip(route.clusters, venues), start=1):
                t += T[here, v]
                sid = ct["venue_school_id"].iat[c]
                rows.append(
                    (
                        fid,
                        d,
                        iso,
                        s,
                        "meeting",
                        ct["cluster_id"].iat[c],
                        sid,
                        place.get(sid, sid),
                        float(pts["latitude"].iat[v]),
                        float(pts["longitude"].iat[v]),
                        round(t, 2),
                        round(t + M, 2),
                        clock_text(leave + t),
                        clock_text(leave + t + M),
                    )
                )
                way.extend(travel.leg(mode, here, v))
                t += M
                here = v
            t += T[here, b]
            way.extend(travel.leg(mode, here, b))
            rows.append((fid, d, iso, len(route.clusters) + 1, "base", "", base_sid, base_name, blat, blon, round(t, 2), None, clock_text(leave + t), ""))
            legs.setdefault(fid, []).append((d, way))
    it = pd.DataFrame(rows, columns=ITINERARY_COLUMNS)
    return it, legs


def clock_minutes_of(sp: SupportPolicy) -> int:
    """``day_start`` in minutes of the day."""
    h, m = sp.day_start.split(":")
    return int(h) * 60 + int(m)


def programme_table(p: SupportProblem, sol: SupportSolution, fac: pd.DataFrame) -> pd.DataFrame:
    """One row per facilitator: clusters, teachers, meetings, days, travel and workload share."""
    rows = []
    for f, fr in enumerate(fac.itertuples(index=False)):
        mine = np.flatnonzero(sol.facilitator_of == f)
        travel = float(sum(r.travel_minutes for r in sol.days[f]))
        meetings = int(sum(len(r.clusters) for r in sol.days[f]))
        working = travel + meetings * p.meeting_minutes
        rows.append(
            {
                "facilitator_id": fr.facilitator_id,
                "name": fr.name,
                "gender": fr.gender,
                "levels": ";".join(fr.levels),
                "subjects": ";".join(fr.subjects),
                "district": fr.district,
                "travel_mode": fr.travel_mode,
                "base_school_id": fr.base_school_id,
                "latitude": round(float(fr.latitude), 6),
                "longitude": round(float(fr.longitude), 6),
                "clusters": len(mine),
                "cluster_ids": ";".join(p.cluster_ids[c] for c in mine),
                "teachers": int(p.n_teachers[mine].sum()),
                "meetings": meetings,
                "days_used": len(sol.days[f]),
                "days_per_month": int(fr.days_per_month),
                "max_clusters": fr.max_clusters,
                "max_teachers": fr.max_teachers,
                "travel_minutes": round(travel, 2),
                "working_minutes": round(working, 2),
                "workload_share": round(working / (int(fr.days_per_month) * p.working_day_minutes), 4),
            }
        )
    return pd.DataFrame(rows, columns=PROGRAMME_COLUMNS)


def support_figures(
    p: SupportProblem, sol: SupportSolution, prog: pd.DataFrame, sp: SupportPolicy, fac_path: str | None, source: str, notes: list[str], sizing: pd.DataFrame
) -> dict[str, Any]:
    """The ``support`` entry of ``summary.json``."""
    active = prog[prog["clusters"] > 0]
    reachable = int(p.reach.any(axis=0).sum())
    gap = sol.gap
    calendar = (
        "optimal: the most clusters supported and the least travel for them are proven"
        if sol.status == "optimal"
        else "feasible: travel is within the reported gap of its proven lower bound"
        if sol.status == "feasible"
        else "heuristic: some day routes were left out, so no bound is proven on the travel"
        + ("; the count of clusters supported equals its bound" if sol.supported_proven else "")
    )
    return {
        "facilitators_file": fac_path,
        "facilitators": int(p.n_facilitators),
        "facilitators_supporting": len(active),
        "clusters": int(p.n_clusters),
        "clusters_supported": sol.n_supported,
        "clusters_not_supported": int(p.n_clusters - sol.n_supported),
        "clusters_reachable": reachable,
        "clusters_unreachable": int(p.n_clusters - reachable),
        "supported_proven_maximal": bool(sol.supported_proven),
        "supported_bound": int(max(sol.supported_bound, sol.n_supported)),
        "supported_bound_method": "max flow: each facilitator takes at most min(max_clusters, days x meetings a day / meetings_per_month) clusters within a day's reach",
        "supported_settle": "" if sol.supported_proven else f"a longer [support] time_limit_seconds (now {sp.time_limit_seconds:g})",
        "meetings_per_month": p.meetings_per_month,
        "travel_minutes_month": round(sol.travel_minutes, 2),
        "travel_minutes_per_facilitator_mean": round(float(active["travel_minutes"].mean()), 2) if len(active) else 0.0,
        "travel_minutes_per_facilitator_max": round(float(active["travel_minutes"].max()), 2) if len(active) else 0.0,
        "workload_share_min": round(float(prog["workload_share"].min()), 4) if len(prog) else 0.0,
        "workload_share_max": round(float(prog["workload_share"].max()), 4) if len(prog) else 0.0,
        "workload_spread": round(float(prog["workload_share"].max() - prog["workload_share"].min()), 4) if len(prog) else 0.0,
        "workload_proven_most_even": all(st.get("stage3_status", "OPTIMAL") == "OPTIMAL" for st in sol.stats.get("stages", [])),
        "travel_lower_bound": None if sol.travel_bound is None else round(sol.travel_bound, 2),
        "gap": None if gap is None else round(gap, 6),
        "status": sol.status,
        "calendar": calendar,
        "floor": {
            "method": "min-cost flow, one round trip from the base per meeting",
            "clusters_supported": int(sol.floor_supported),
            "travel_minutes_month": round(sol.floor_travel_minutes, 2),
        },
        "solver": "set partitioning over every feasible day route (HiGHS mixed-integer programming, CP-SAT where HiGHS does not prove a stage), started from the min-cost-flow floor",
        "solve_seconds": round(sol.solve_seconds, 2),
        "travel_source": source,
        "policy": {k: getattr(sp, k) for k in sp.__dataclass_fields__},
        "facilitator_table": prog.astype(object).where(prog.notna(), None).to_dict("records"),
        "sizing": sizing.astype(object).where(sizing.notna(), None).to_dict("records") if len(sizing) else [],
        "notes": list(dict.fromkeys(notes)),
    }


def minutes_clock(m: float | None) -> str:
    """Minutes from the start of the day as ``h:mm`` (``""`` for none)."""
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return ""
    m = round(float(m))
    return f"{m // 60}:{m % 60:02d}"


__all__ = [
    "ITINERARY_COLUMNS",
    "PROGRAMME_COLUMNS",
    "SUPPORT_COLUMNS",
    "SupportPlan",
    "SupportSource",
    "build_problem",
    "cluster_table",
    "eligibility_rules",
    "minutes_clock",
    "plan_support",
]
