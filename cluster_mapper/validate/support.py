"""The validator's checks of the support files, independent of the support planner.

Called by :func:`cluster_mapper.validate.plan.validate_plan` when a plan folder
has ``support.csv``. Like the rest of the validator it shares no code with
the planner: it reads the files (the facilitators file with its reader,
``support.csv``, ``itineraries.csv``, ``assignments.csv``, the GPX files) and
recomputes facilitator travel itself, with the validator's own edge weights,
snapping and networkx Dijkstra on a road network, its own shortest paths
over a user's matrix, or its own geodesic for straight lines. It checks:

- every cluster has one row in ``support.csv``; a supported cluster names a
  facilitator of the file, an unsupported one gives a reason;
- eligibility: gender (``same_gender``), levels (``match_levels``), subjects
  (``match_subjects``), district (``same_district``), recomputed from the
  teachers in ``assignments.csv``;
- capacity: ``max_clusters``, ``max_teachers``, ``days_per_month``;
- every supported cluster has ``meetings_per_month`` meetings with its
  facilitator on different days, each at its venue, and nobody else meets it;
- every day starts and ends at the facilitator's base, its times follow
  from the meeting length and the independently computed travel, and it
  fits in ``working_day_minutes``;
- with ``[support] month``: every meeting on a working date of the month
  (workdays of its district, no holiday), one working day per date;
- no false "full": an unsupported cluster that an eligible facilitator
  with a free day, a cluster place and teachers to spare could take with
  one round trip within the working day (and the meeting window) is a
  violation;
- the summary's support figures agree with the files, the travel is not
  above the one-round-trip-per-meeting floor when as many clusters are
  supported, and each facilitator's GPX file parses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gpxpy
import networkx as nx
import numpy as np
import pandas as pd

from cluster_mapper.inputs.schools import read_csv_rows
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.facilitators import load_facilitators
from cluster_mapper.travel.network import load_network
from cluster_mapper.validate.travel import edge_minutes_drive, edge_minutes_walk, snap_points

#: Tolerance on recomputed minutes: relative and absolute.
RTOL = 0.01
ATOL = 0.5


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b), 1.0) + ATOL


class _Minutes:
    """Facilitator travel minutes between points, per mode, computed by the validator."""

    def __init__(self, summary: dict, policy, schools):
        self.spec = summary.get("travel") or {"source": summary.get("travel_source")}
        self.source = self.spec.get("source")
        self.policy = policy
        self.schools = schools.set_index("school_id")
        self._graphs: dict[str, tuple] = {}
        self._cache: dict = {}
        if self.source == "matrix":
            m = read_csv_rows(self.spec["matrix_path"])
            G = nx.DiGraph()
            for a, b, t in zip(m["from_school_id"], m["to_school_id"], m["minutes"]):
                w = float(str(t).replace(",", "."))
                if a != b and (not G.has_edge(a, b) or G[a][b]["w"] > w):
                    G.add_edge(a, b, w=w)
            self.matrix = G

    def _graph(self, mode: str):
        if mode not in self._graphs:
            from dataclasses import replace

            tp = replace(self.policy.travel, travel_mode=mode)
            G = load_network(self.spec["network_path"], tp)
            H = edge_minutes_walk(G, tp.walking_speed_kmh) if mode == "walk" else edge_minutes_drive(G)
            self._graphs[mode] = (G, H)
        return self._graphs[mode]

    def minutes(self, mode: str, a: tuple, b: tuple) -> float:
        """Minutes from point ``a`` to point ``b``; a point is ``(school_id or "", lat, lon)``."""
        if (a[0] and a[0] == b[0]) or (a[1] == b[1] and a[2] == b[2]):
            return 0.0
        if self.source == "network":
            G, H = self._graph(mode)
            ends = []
            for pt in (a, b):
                key = (mode, pt)
                if key not in self._cache:
                    node, metres = snap_points(G, np.array([pt[2]]), np.array([pt[1]]))
                    self._cache[key] = (node[0], float(metres[0]))
                ends.append(self._cache[key])
            (node_a, ma), (node_b, mb) = ends
            walk = (ma + mb) / 1000.0 / self.policy.travel.walking_speed_kmh * 60.0
            if node_a == node_b:
                return walk
            leg_key = (mode, node_a, node_b)
            if leg_key not in self._cache:  # one search per leg: most legs of a day are short
                try:
                    self._cache[leg_key] = float(nx.bidirectional_dijkstra(H, node_a, node_b, weight="w")[0])
                except (nx.NetworkXNoPath, nx.NodeNotFound):
                    self._cache[leg_key] = math.inf
            return self._cache[leg_key] + walk
        if self.source == "matrix":
            if not a[0] or not b[0]:
                return math.inf
            try:
                return float(nx.shortest_path_length(self.matrix, a[0], b[0], weight="w"))
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                return math.inf
        from pyproj import Geod

        _, _, metres = Geod(ellps="WGS84").inv(a[2], a[1], b[2], b[1])
        kmh = self.policy.travel.walking_speed_kmh if mode == "walk" else 30.0
        return abs(metres) * self.policy.travel.detour_factor / 1000.0 / kmh * 60.0


@dataclass
class _Support:
    """A plan folder's support files as the checks read them."""

    rep: Any
    d: Path
    s: dict
    fig: dict
    policy: Any
    schools: Any
    fac: pd.DataFrame
    sp: SupportPolicy
    sup: pd.DataFrame
    it: pd.DataFrame
    clusters: pd.DataFrame
    placed: pd.DataFrame
    k: int
    fac_of: dict = field(default_factory=dict)


def check_support(plan_dir: str | Path, saved, policy, schools, rep) -> None:
    """Check the support files of a plan folder, one numbered step after another; violations are added to ``rep``."""
    ctx = _read_support(plan_dir, saved, policy, schools, rep)
    if ctx is None:
        return
    _check_rows(ctx)  # 1. one row per cluster
    for cid, fid in ctx.fac_of.items():  # 2. eligibility, from the teachers themselves
        if cid in ctx.clusters.index:
            for problem in _broken_rules(ctx, cid, fid):
                rep.add(problem)
    _check_capacity(ctx)  # 3. capacity
    _check_meetings(ctx)  # 4. meetings of each cluster
    total, minutes, pos = _check_days(ctx)  # 5. each day: base to base, times, length, on independently computed travel
    # 5b. the calendar: dates in the month, on workdays, not holidays
    dates_of = _check_dates(ctx.it, ctx.sp, ctx.fac, ctx.clusters, rep)
    # 5c. no false "full": an unsupported cluster an eligible facilitator with a free day could take with one round trip
    rules = partial(_broken_rules, ctx)
    _check_room(ctx.sup, ctx.fac_of, ctx.fac, ctx.clusters, ctx.it, ctx.sp, ctx.k, dates_of, rules, minutes, pos, policy.travel.travel_mode, rep)
    _check_figures(ctx, total)  # 6. summary figures, floor
    _check_gpx(ctx)  # ... and one GPX per facilitator


def _read_support(plan_dir: str | Path, saved, policy, schools, rep) -> _Support | None:
    """Read support.csv, itineraries.csv and the facilitators file; None (with the violation) when they cannot be checked."""
    d = Path(plan_dir)
    s = saved.summary
    fig = s.get("support")
    if not (d / "support.csv").is_file():
        if fig:
            rep.add("summary.json has support figures but the folder has no support.csv")
        return None
    if not fig:
        rep.add("support.csv is present but summary.json has no support figures")
        return None
    path = (s.get("inputs") or {}).get("facilitators")
    if not path or not Path(path).is_file():
        rep.add(f"the facilitators file named in summary.json ({path}) is missing, so support cannot be checked")
        return None
    fac = load_facilitators(path, schools, policy.inputs).set_index("facilitator_id")
    sp = SupportPolicy(**{k: v for k, v in (fig.get("policy") or {}).items() if k in SupportPolicy.__dataclass_fields__})
    sup = read_plan_csv(d / "support.csv")
    it = (
        read_plan_csv(d / "itineraries.csv")
        if (d / "itineraries.csv").is_file()
        else pd.DataFrame(
            columns=["facilitator_id", "day", "stop", "kind", "cluster_id", "school_id", "latitude", "longitude", "arrive_minute", "leave_minute"]
        )
    )
    for c in ("day", "stop"):
        it[c] = pd.to_numeric(it[c], errors="coerce")
    for c in ("latitude", "longitude", "arrive_minute", "leave_minute"):
        it[c] = pd.to_numeric(it[c], errors="coerce")
    clusters = saved.clusters.set_index("cluster_id")
    a = saved.assignments
    placed = a[a["status"] == "placed"]
    k = int(sp.meetings_per_month)

    return _Support(rep, d, s, fig, policy, schools, fac, sp, sup, it, clusters, placed, k)


def _check_rows(ctx: _Support) -> None:
    """One row of support.csv per cluster, each with a known facilitator or a reason."""
    rep, fac, sup, clusters, fac_of = ctx.rep, ctx.fac, ctx.sup, ctx.clusters, ctx.fac_of
    if sup["cluster_id"].duplicated().any():
        rep.add(f"support.csv lists cluster(s) twice: {sorted(set(sup.loc[sup['cluster_id'].duplicated(), 'cluster_id']))[:5]}")
    missing = set(clusters.index) - set(sup["cluster_id"])
    extra = set(sup["cluster_id"]) - set(clusters.index)
    for c in sorted(missing)[:10]:
        rep.add(f"cluster {c} has no row in support.csv")
    for c in sorted(extra)[:10]:
        rep.add(f"support.csv names cluster {c}, which is not in clusters.csv")
    for r in sup.itertuples(index=False):
        if r.facilitator_id:
            if r.facilitator_id not in fac.index:
                rep.add(f"cluster {r.cluster_id} is supported by {r.facilitator_id}, who is not in the facilitators file")
                continue
            fac_of[r.cluster_id] = r.facilitator_id
        elif not r.reason:
            rep.add(f"cluster {r.cluster_id} has no facilitator and no reason")


def _broken_rules(ctx: _Support, cid: str, fid: str) -> list[str]:
    """The support rules a facilitator breaks for a cluster, judged from the cluster's teachers."""
    fac, placed, clusters, sp = ctx.fac, ctx.placed, ctx.clusters, ctx.sp
    f = fac.loc[fid]
    g = placed[placed["cluster_id"] == cid]
    out = []
    genders = set(g["gender"]) - {"any", ""}
    if not genders and clusters.at[cid, "gender_group"] in ("female", "male"):
        genders = {clusters.at[cid, "gender_group"]}
    if sp.same_gender and len(genders) == 1 and f["gender"] not in genders:
        out.append(f"cluster {cid} of {next(iter(genders))} teachers is supported by {fid}, who is {f['gender']} (same_gender)")
    levels = set(g["level"]) - {"any", ""}
    if not levels:
        levels = {"primary": {"primary"}, "middle": {"middle"}}.get(clusters.at[cid, "level_group"], {"primary", "middle"})
    if sp.match_levels and not levels <= set(f["levels"]):
        out.append(f"cluster {cid} has {sorted(levels)} teachers but {fid} supports only {list(f['levels'])} (match_levels)")
    subjects = set(g["subject"]) - {""} if "subject" in g.columns else set()
    if sp.match_subjects and f["subjects"] and not (set(f["subjects"]) & subjects):
        out.append(f"cluster {cid} has no teacher of {fid}'s subjects {list(f['subjects'])} (match_subjects)")
    if sp.same_district and f["district"] and f["district"] != clusters.at[cid, "district"]:
        out.append(f"cluster {cid} of {clusters.at[cid, 'district']} is supported by {fid} of {f['district']} (same_district)")
    return out


def _check_capacity(ctx: _Support) -> None:
    """No facilitator over max_clusters, max_teachers or days_per_month."""
    rep, fac, it, clusters, fac_of = ctx.rep, ctx.fac, ctx.it, ctx.clusters, ctx.fac_of
    mine = pd.Series(fac_of).groupby(lambda c: fac_of[c]).apply(list) if fac_of else pd.Series(dtype=object)
    for fid, cids in mine.items():
        f = fac.loc[fid]
        if f["max_clusters"] is not None and len(cids) > int(f["max_clusters"]):
            rep.add(f"{fid} supports {len(cids)} clusters, more than max_clusters {f['max_clusters']}")
        teachers = int(sum(int(clusters.at[c, "n_teachers"]) for c in cids if c in clusters.index))
        if f["max_teachers"] is not None and teachers > int(f["max_teachers"]):
            rep.add(f"{fid} supports {teachers} teachers, more than max_teachers {f['max_teachers']}")
        days = it.loc[it["facilitator_id"] == fid, "day"].nunique()
        if days > int(f["days_per_month"]):
            rep.add(f"{fid} works {days} days, more than days_per_month {f['days_per_month']}")


def _check_meetings(ctx: _Support) -> None:
    """Each supported cluster meets meetings_per_month times, with its facilitator, at its venue, on distinct days."""
    rep, fac, it, clusters, k, fac_of = ctx.rep, ctx.fac, ctx.it, ctx.clusters, ctx.k, ctx.fac_of
    meet = it[it["kind"] == "meeting"]
    for cid in clusters.index:
        rows = meet[meet["cluster_id"] == cid]
        fid = fac_of.get(cid)
        if fid is None:
            if len(rows):
                rep.add(f"cluster {cid} has no facilitator but meetings in itineraries.csv")
            continue
        if len(rows) != k:
            rep.add(f"cluster {cid} has {len(rows)} meeting(s) in the month; meetings_per_month is {k}")
        if (rows["facilitator_id"] != fid).any():
            rep.add(f"cluster {cid} meets with someone other than its facilitator {fid}")
        if rows["day"].duplicated().any():
            rep.add(f"cluster {cid} has two meetings on one day")
        if (rows["school_id"] != clusters.at[cid, "venue_school_id"]).any():
            rep.add(f"a meeting of cluster {cid} is not at its venue {clusters.at[cid, 'venue_school_id']}")
        bad_days = rows[(rows["day"] < 1) | (rows["day"] > int(fac.at[fid, "days_per_month"]))] if fid in fac.index else rows.iloc[0:0]
        if len(bad_days):
            rep.add(f"cluster {cid} meets on day(s) outside 1..{fac.at[fid, 'days_per_month']}")


def _check_days(ctx: _Support) -> tuple[float, Any, dict]:
    """Each facilitator-day: base to base, arrival times and day length on the validator's own travel; returns the month's travel minutes."""
    rep, fac, sp, it, s, policy, schools = ctx.rep, ctx.fac, ctx.sp, ctx.it, ctx.s, ctx.policy, ctx.schools
    minutes = _Minutes(s, policy, schools)
    default_mode = policy.travel.travel_mode
    pos = {sid: (g.y, g.x) for sid, g in zip(schools["school_id"], schools.geometry)}
    total = 0.0
    n_days = 0
    for (fid, day), rows in it.groupby(["facilitator_id", "day"], sort=True):
        n_days += 1
        rows = rows.sort_values("stop")
        if fid not in fac.index:
            rep.add(f"itineraries.csv names {fid}, who is not in the facilitators file")
            continue
        f = fac.loc[fid]
        base = (f["base_school_id"], *(pos[f["base_school_id"]] if f["base_school_id"] else (float(f["latitude"]), float(f["longitude"]))))
        where = f"{fid} day {int(day)}"
        if list(rows["stop"]) != list(range(len(rows))):
            rep.add(f"{where}: stops are not numbered 0, 1, 2, ...")
        if len(rows) < 3 or rows["kind"].iloc[0] != "base" or rows["kind"].iloc[-1] != "base" or (rows["kind"].iloc[1:-1] != "meeting").any():
            rep.add(f"{where}: a day must start at the base, hold meetings and end at the base")
            continue
        first, last = rows.iloc[0], rows.iloc[-1]
        for r, word in ((first, "start"), (last, "end")):
            if abs(float(r["latitude"]) - base[1]) > 1e-4 or abs(float(r["longitude"]) - base[2]) > 1e-4:
                rep.add(f"{where}: the {word} is not at {fid}'s base")
        if not _close(float(first["leave_minute"]), 0.0) or not math.isnan(float(first["arrive_minute"])) or not math.isnan(float(last["leave_minute"])):
            rep.add(f"{where}: the first base row must have leave_minute 0 and no arrive_minute, the last no leave_minute")
        mode = f["travel_mode"] or default_mode
        here, t_prev = base, 0.0
        travel = 0.0
        for r in rows.iloc[1:].itertuples(index=False):
            pt = base if r.kind == "base" else (r.school_id, *pos.get(r.school_id, (r.latitude, r.longitude)))
            leg = minutes.minutes(mode, here, pt)
            travel += leg
            if not math.isfinite(leg):
                rep.add(f"{where}: no way from the previous stop to {r.school_id or 'the base'}")
            elif not _close(float(r.arrive_minute), t_prev + leg):
                rep.add(f"{where}: arrives at {r.school_id or 'the base'} at minute {r.arrive_minute:.1f}, but the validator's travel gives {t_prev + leg:.1f}")
            if r.kind == "meeting":
                if not _close(float(r.leave_minute) - float(r.arrive_minute), sp.meeting_minutes):
                    rep.add(
                        f"{where}: the meeting of {r.cluster_id} lasts {float(r.leave_minute) - float(r.arrive_minute):.0f} minutes, not {sp.meeting_minutes:g}"
                    )
                t_prev = float(r.leave_minute)
            here = pt
        length = travel + (len(rows) - 2) * sp.meeting_minutes
        if length > sp.working_day_minutes * (1 + RTOL) + ATOL:
            rep.add(f"{where}: the day lasts {length:.0f} minutes on the validator's travel, longer than working_day_minutes {sp.working_day_minutes:g}")
        if float(last["arrive_minute"]) > sp.working_day_minutes + ATOL:
            rep.add(f"{where}: back at base at minute {float(last['arrive_minute']):.0f}, after the {sp.working_day_minutes:g}-minute day")
        total += float(last["arrive_minute"]) - (len(rows) - 2) * sp.meeting_minutes
    rep.checked["facilitators"] = len(fac)
    rep.checked["facilitator_days"] = n_days
    return total, minutes, pos


def _check_figures(ctx: _Support, total: float) -> None:
    """summary.json's support figures agree with the files; travel no more than the one-trip-per-meeting plan's."""
    rep, fac_of, fig = ctx.rep, ctx.fac_of, ctx.fig
    if int(fig.get("clusters_supported", -1)) != len(fac_of):
        rep.add(f"summary.json says {fig.get('clusters_supported')} clusters are supported; support.csv has {len(fac_of)}")
    if not _close(float(fig.get("travel_minutes_month", 0.0)), total):
        rep.add(f"summary.json gives {fig.get('travel_minutes_month')} minutes of facilitator travel; the itineraries give {total:.1f}")
    floor = fig.get("floor") or {}
    if int(floor.get("clusters_supported", -1)) == len(fac_of) and total > float(floor.get("travel_minutes_month", math.inf)) * (1 + 1e-6) + ATOL:
        rep.add(
            f"facilitator travel {total:.1f} minutes is more than the one-round-trip-per-meeting plan's {floor.get('travel_minutes_month')} for as many clusters"
        )
    if fig.get("travel_lower_bound") is not None and float(fig["travel_lower_bound"]) > float(fig.get("travel_minutes_month", 0.0)) + 1e-6:
        rep.add("the support travel lower bound exceeds the travel")


def _check_gpx(ctx: _Support) -> None:
    """One GPX file per facilitator, each parsing as GPX."""
    rep, fac, d = ctx.rep, ctx.fac, ctx.d
    gdir = d / "gpx"
    files = sorted(gdir.glob("*.gpx")) if gdir.is_dir() else []
    if len(files) != len(fac):
        rep.add(f"gpx/ holds {len(files)} file(s) for {len(fac)} facilitators")
    for p in files:
        try:
            gpxpy.parse(p.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - any parse failure is a violation to report
            rep.add(f"gpx/{p.name} does not parse as GPX ({type(exc).__name__})")


def _month_dates(sp: SupportPolicy, district: str) -> list:
    """The validator's own working dates of the month: weekdays listed for the district, holidays out."""
    import calendar
    import datetime as dt

    if not sp.month:
        return []
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    own = {d: tuple(v) for d, v in sp.district_workdays}
    days = set(own.get(district, sp.workdays))
    y, m = (int(x) for x in sp.month.split("-"))
    out = []
    for d in range(1, calendar.monthrange(y, m)[1] + 1):
        date = dt.date(y, m, d)
        if names[date.weekday()] in days and date.isoformat() not in set(sp.holidays):
            out.append(date.isoformat())
    return out


def _check_dates(it: pd.DataFrame, sp: SupportPolicy, fac: pd.DataFrame, clusters: pd.DataFrame, rep) -> dict[str, int]:
    """Every meeting on a working date of the month (its cluster's district's workdays); returns working dates per facilitator."""
    if sp.meeting_window and "start_time" in it.columns:  # zero-padded HH:MM compare as text
        lo, hi = sp.meeting_window
        for r in it[it["kind"] == "meeting"].itertuples(index=False):
            if not (lo <= str(r.start_time) <= hi):
                rep.add(f"{r.facilitator_id}'s meeting of {r.cluster_id} starts at {r.start_time or 'no time'}, outside the meeting window {lo}-{hi}")
    if not sp.month:
        return {}
    if "date" not in it.columns:
        rep.add("[support] month is set but itineraries.csv has no date column")
        return {}
    out: dict[str, int] = {}
    districts = [str(x) for x in clusters["district"].unique()]
    for fid in fac.index:
        d = fac.at[fid, "district"]
        if d or len(districts) <= 1:  # their district's dates; without one, the dates that are workdays everywhere
            out[fid] = len(_month_dates(sp, d or (districts[0] if districts else "")))
        else:
            out[fid] = len(set.intersection(*(set(_month_dates(sp, x)) for x in districts)))
    meet = it[it["kind"] == "meeting"]
    for r in meet.itertuples(index=False):
        district = clusters.at[r.cluster_id, "district"] if r.cluster_id in clusters.index else ""
        if str(r.date) not in _month_dates(sp, district):
            rep.add(f"{r.facilitator_id} meets cluster {r.cluster_id} on {r.date or 'no date'}, not a working date of {sp.month} in {district}")
    for (fid, date), g in it.groupby(["facilitator_id", "date"]):
        if g["day"].nunique() > 1:
            rep.add(f"{fid} has two working days on {date}")
    return out


def _check_room(sup, fac_of, fac, clusters, it, sp, k, dates_of, broken_rules, minutes, pos, default_mode, rep) -> None:
    """An unsupported cluster must not be takeable by an eligible facilitator with a free day, room and a day's reach."""
    W, M = sp.working_day_minutes, sp.meeting_minutes
    if sp.meeting_window:
        h0, m0 = sp.day_start.split(":")
        hs, ms = sp.meeting_window[0].split(":")
        he, me = sp.meeting_window[1].split(":")
        start = int(h0) * 60 + int(m0)
        lo, hi = float(int(hs) * 60 + int(ms) - start), float(int(he) * 60 + int(me) - start)
    else:
        lo, hi = -math.inf, math.inf
    used = it.groupby("facilitator_id")["day"].nunique().to_dict()
    mine: dict[str, list[str]] = {}
    for c, f in fac_of.items():
        mine.setdefault(f, []).append(c)
    for cid in [c for c in sup.loc[sup["facilitator_id"] == "", "cluster_id"] if c in clusters.index]:
        venue = clusters.at[cid, "venue_school_id"]
        vpt = (venue, *pos[venue]) if venue in pos else None
        n = int(clusters.at[cid, "n_teachers"])
        for fid in fac.index:
            f = fac.loc[fid]
            days = int(f["days_per_month"]) if not sp.month else min(int(f["days_per_month"]), dates_of.get(fid, 0))
            cs = mine.get(fid, [])
            teachers = sum(int(clusters.at[c, "n_teachers"]) for c in cs if c in clusters.index)
            if days - used.get(fid, 0) < k or (f["max_clusters"] is not None and len(cs) >= int(f["max_clusters"])):
                continue
            if (f["max_teachers"] is not None and teachers + n > int(f["max_teachers"])) or vpt is None or broken_rules(cid, fid):
                continue
            base = (f["base_school_id"], *(pos[f["base_school_id"]] if f["base_school_id"] else (float(f["latitude"]), float(f["longitude"]))))
            mode = f["travel_mode"] or default_mode
            there = minutes.minutes(mode, base, vpt)
            if not math.isfinite(there) or max(there, lo) > hi + ATOL or there + M > W + ATOL:
                continue
            back = minutes.minutes(mode, vpt, base)
            if there + back + M <= W * (1 - RTOL) - ATOL:  # clearly within a day on the validator's travel
                rep.add(
                    f"cluster {cid} has no facilitator ('{sup.loc[sup['cluster_id'] == cid, 'reason'].iloc[0]}'), but {fid} is eligible, has "
                    f"{days - used.get(fid, 0)} free day(s) and room, and a round trip of {there + back:.0f} minutes fits the day"
                )
                break


def check_roles(saved, policy, rep) -> None:
    """Cluster roles: with ``subjects_required``, clusters with middle or high teachers hold a teacher
    of each subject (hard rule), or ``clusters.csv`` lists exactly the subjects they lack (preferred)."""
    a = saved.assignments
    if "subject" not in a.columns:
        return
    placed = a[(a["status"] == "placed") & (a["role"] != "head_teacher")]
    listed = dict(zip(saved.clusters["cluster_id"], saved.clusters["subjects_missing"].fillna(""))) if "subjects_missing" in saved.clusters.columns else None
    for cid, g in placed.groupby("cluster_id", sort=True):
        dp = policy.for_district(g["district"].iloc[0])
        req = list(dp.subjects_required)
        if not req or not (set(g["level"]) & {"middle", "high"}) or not (a["subject"].fillna("") != "").any():
            continue
        missing = [x for x in req if x not in set(g["subject"].str.lower())]
        if dp.subjects_rule == "hard" and missing:
            rep.add(f"cluster {cid} has no teacher of {', '.join(missing)} (subjects_required, hard rule)")
        elif dp.subjects_rule != "hard":
            if listed is None:
                rep.add("clusters.csv has no subjects_missing column although the policy requires subjects")
                return
            if set(filter(None, str(listed.get(cid, "")).split(";"))) != set(missing):
                rep.add(f"clusters.csv lists cluster {cid} as missing '{listed.get(cid, '')}', but its teachers lack '{';'.join(missing)}'")


__all__ = ["check_roles", "check_support"]
