"""Independent plan validator: re-read the inputs and the plan files, check every rule.

This module shares no code with the planner beyond reading files: it builds
its own view of units and clusters from ``assignments.csv``, recomputes
travel times itself (its own snapping, its own Tobler edge weights and
networkx Dijkstra for networks; its own reading of a matrix; its own
geodesic for straight lines) and checks:

- every teacher of the input appears exactly once, placed or with a reason;
- cluster sizes, school counts, one district per cluster;
- the venue is a member school that can host, of the right gender;
- gender and level groups are never mixed where the policy separates them;
- all teachers of a school (of one gender and level group where split) are
  together; head teachers are left out unless the policy includes them;
- travel from each member school to its venue is within the limit and
  matches the reported minutes; ``n_clusters`` is met;
- the cluster table and the summary agree with the assignments, and the
  lower bound does not exceed the objective;
- ``min_schools`` per cluster;
- the plan's edits (it reads the edits file itself, CSV or the ``edits``
  sheet of a workbook): excluded schools have nobody placed, ``together``
  schools meet in one cluster per cluster type, ``apart`` schools never
  share one, ``venue`` schools host the cluster they are in, ``no_venue``
  schools host none, locked clusters of the previous plan are kept with the
  same teachers and venue, and ``travel_minutes`` corrections replace the
  validator's own travel times (both ways) before any travel check;
- for a revision, ``max_moved_teachers`` per district (teachers who meet at
  another venue than in the previous plan).
- cluster roles (``subjects_required``) and, where the plan has support
  files, facilitators' eligibility, capacity, meetings and working days
  (:mod:`cluster_mapper.validate.support`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from pyproj import Geod

from cluster_mapper._files import file_sha256
from cluster_mapper.inputs.schools import load_inputs, read_csv_rows
from cluster_mapper.planning.files import input_word, locate_inputs, read_plan_csv
from cluster_mapper.planning.files import read_saved_plan as read_plan
from cluster_mapper.policy.load import load_policy, policy_from_dict
from cluster_mapper.policy.rules import Policy
from cluster_mapper.travel.network import add_elevation_from_raster, load_network
from cluster_mapper.validate.reasons import check_not_placed
from cluster_mapper.validate.support import check_roles, check_support
from cluster_mapper.validate.travel import edge_minutes_drive, edge_minutes_walk, snap_points

#: Relative tolerance for recomputed travel minutes.
TRAVEL_RTOL = 0.01
TRAVEL_ATOL = 0.05


@dataclass
class ValidationReport:
    """What the validator found; ``ok`` when there are no violations."""

    violations: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, msg: str) -> None:
        self.violations.append(msg)


def _policy(summary: dict) -> Policy:
    """The policy the plan was made under: the summary's copy (with the run's --district and --elevation).

    The policy file is read only for a summary without a copy.
    """
    if summary.get("policy"):
        raw = dict(summary["policy"])
        districts = raw.pop("districts", {})
        return policy_from_dict({**raw, **({"districts": districts} if districts else {})}, "summary.json")
    path = summary.get("inputs", {}).get("policy")
    return load_policy(path if path and Path(path).is_file() else None)


# -- independent travel times ----------------------------------------------


# -- edits, read independently ------------------------------------------------


def _edit_rows(path: Path) -> list[dict[str, str]]:
    """The rows of an edits file as dicts of lower-case column to text (blank rows skipped)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = next(n for n in wb.sheetnames if n.strip().lower() == "edits")
        values = [
            ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip() for v in r]
            for r in wb[sheet].iter_rows(values_only=True)
        ]
        wb.close()
    else:
        import csv
        import io

        text = path.read_bytes().decode("utf-8-sig")
        first = text.splitlines()[0] if text.strip() else ""
        values = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), delimiter=max([",", ";", "\t"], key=first.count))]
    values = [r for r in values if any(r)]
    if not values:
        return []
    head = [h.lower() for h in values[0]]
    out = []
    for r in values[1:]:
        d = dict(zip(head, r, strict=False))
        d["action"] = d.get("action", "").lower().replace(" ", "_").replace("-", "_")
        out.append(d)
    return out


def _edits_for(plan_dir: Path, summary: dict) -> list[dict[str, str]]:
    """The plan's edits: its edits file when unchanged since planning, else the copy in the plan folder."""
    path = (summary.get("inputs") or {}).get("edits")
    if path and Path(path).is_file():
        want = (summary.get("input_sha256") or {}).get("edits")
        if want is None or file_sha256(path) == want:
            return _edit_rows(Path(path))
    if (Path(plan_dir) / "edits.csv").is_file():
        return _edit_rows(Path(plan_dir) / "edits.csv")
    return []


def _override_minutes(edits: list[dict[str, str]]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for e in edits:
        if e["action"] == "travel_minutes":
            text = e.get("minutes", "").replace(",", ".").lower()
            m = math.inf if text in ("impassable", "inf", "infinite", "closed") else float(text)
            out[(e["school_id"], e["other_school_id"])] = m
            out[(e["other_school_id"], e["school_id"])] = m
    return out


class _TravelCheck:
    """Member-to-venue minutes computed independently of the planner."""

    def __init__(self, summary: dict, schools, policy: Policy, overrides: dict[tuple[str, str], float] | None = None):
        self.overrides = overrides or {}
        self.source = summary["travel"]["source"]
        self.schools = schools.set_index("school_id")
        self.policy = policy
        self._cache: dict[str, dict] = {}
        spec = summary["travel"]
        if self.source == "network":
            G = load_network(spec["network_path"], policy.travel)
            if policy.travel.elevation:
                add_elevation_from_raster(G, policy.travel.elevation)
            self.H = edge_minutes_walk(G, policy.travel.walking_speed_kmh) if policy.travel.travel_mode == "walk" else edge_minutes_drive(G)
            nodes, metres = snap_points(G, self.schools.geometry.x.to_numpy(), self.schools.geometry.y.to_numpy())
            self.node = dict(zip(self.schools.index, nodes))
            # teachers walk straight between the school and the road, at the flat walking speed
            self.access = dict(zip(self.schools.index, metres / 1000.0 / policy.travel.walking_speed_kmh * 60.0))
            self.R = self.H.reverse(copy=False)
            # each venue's search stops at twice the longest limit (a search of the whole network per venue
            # is slow and its distances fill memory on large networks); a member farther away gets an exact
            # search of its own, so every time is the true shortest path
            limits = [policy.default.max_travel_minutes, *(d.max_travel_minutes for d in policy.districts.values())]
            self.radius = None if any(lim is None for lim in limits) else 2.0 * max(lim for lim in limits if lim is not None)
        elif self.source == "matrix":
            m = read_csv_rows(spec["matrix_path"])  # the user's file, as exported (separators, decimal commas)
            self.matrix = {(a, b): float(str(t).replace(",", ".")) for a, b, t in zip(m["from_school_id"], m["to_school_id"], m["minutes"])}
        else:
            self.geod = Geod(ellps="WGS84")
            kmh = policy.travel.walking_speed_kmh if policy.travel.travel_mode == "walk" else 30.0
            self.factor = policy.travel.detour_factor / (kmh * 1000.0 / 60.0)

    def within(self, member: str, venue: str, limit: float) -> float:
        """The minutes from member to venue when they are within ``limit``, else ``inf`` (no exact search beyond the venue's radius)."""
        if self.source == "network" and member != venue and (member, venue) not in self.overrides and self.radius is not None and limit <= self.radius:
            if venue not in self._cache:
                source = self.node[venue]
                self._cache[venue] = nx.single_source_dijkstra_path_length(self.R, source, cutoff=self.radius, weight="w") if source in self.R else {}
            road = float(self._cache[venue].get(self.node[member], math.inf))  # beyond the radius: more than the limit
            t = road + self.access[member] + self.access[venue]
        else:
            t = self.minutes(member, venue)
        return t if t <= limit else math.inf

    def minutes(self, member: str, venue: str) -> float:
        if member == venue:
            return 0.0
        if (member, venue) in self.overrides:
            return self.overrides[(member, venue)]
        if self.source == "network":
            if venue not in self._cache:
                source = self.node[venue]
                self._cache[venue] = nx.single_source_dijkstra_path_length(self.R, source, cutoff=self.radius, weight="w") if source in self.R else {}
            road = float(self._cache[venue].get(self.node[member], math.inf))
            if not math.isfinite(road) and self.radius is not None and self.node[venue] in self.R and self.node[member] in self.R:
                try:  # beyond the venue's search: the exact time, searched to this member alone
                    road = float(nx.dijkstra_path_length(self.R, self.node[venue], self.node[member], weight="w"))
                except nx.NetworkXNoPath:
                    road = math.inf
            return road + self.access[member] + self.access[venue]
        if self.source == "matrix":
            return self.matrix.get((member, venue), math.inf)
        a, b = self.schools.loc[member].geometry, self.schools.loc[venue].geometry
        _, _, metres = self.geod.inv(a.x, a.y, b.x, b.y)
        return metres * self.factor


def check_roster_fields(a: pd.DataFrame, roster: pd.DataFrame, rep: ValidationReport) -> None:
    """Each teacher's school, gender, level and role in the plan as the roster has them now."""
    by_id = roster.drop_duplicates("teacher_id").set_index("teacher_id")
    shown = 0
    for row in a.itertuples(index=False):
        if row.teacher_id not in by_id.index or shown >= 50:
            continue
        r = by_id.loc[row.teacher_id]
        for col in ("school_id", "gender", "role", "level"):
            want = str(r[col]) if col in by_id.columns and pd.notna(r[col]) else ""
            got = str(getattr(row, col))
            if col == "level" and (row.role == "head_teacher" or not want):
                continue  # a head teacher takes the school's level
            if want and got != want:
                shown += 1
                what = "listed at school" if col == "school_id" else f"planned as {col}"
                rep.add(f"teacher {row.teacher_id} is {what} {got} but the roster says {want}")


@dataclass
class _Plan:
    """A plan folder as the checks read it: its report, policy, inputs, assignments and the validator's own travel."""

    rep: ValidationReport
    plan_dir: Path
    pf: Any
    summary: dict
    policy: Policy
    inputs: Any
    schools: pd.DataFrame
    a: pd.DataFrame
    placed: pd.DataFrame
    travel: _TravelCheck
    edits: list[dict[str, str]]


#: Level groups of the level policy: middle and high teachers meet together.
LEVEL_GROUP = {"primary": "primary", "middle": "middle", "high": "middle"}


def validate_plan(plan_dir: str | Path) -> ValidationReport:
    """Check every rule of a plan directory against its inputs, one numbered step after another."""
    ctx = _read(Path(plan_dir))
    _check_teachers(ctx)  # 1. every teacher exactly once, as the roster has them
    _check_statuses(ctx)  # 2. statuses, reasons, head teachers
    objective = _check_clusters(ctx)  # sizes, schools, venue, gender, levels, travel
    _check_schools_together(ctx)  # 3. a school's teachers in one cluster
    _check_n_clusters(ctx)  # 4. a fixed number of clusters
    _check_tables_agree(ctx, objective)  # 5. clusters.csv and summary.json agree with the assignments
    previous = _check_edits(ctx)  # 6. every edit honoured
    _check_moves(ctx, previous)  # ... and the cap on teachers moved
    # 7. every "not placed" reason against the rules: no cluster within reach had room, and the unplaced could form none
    check_not_placed(ctx.a, ctx.schools, ctx.policy, ctx.travel, ctx.edits, ctx.rep)
    # 8. cluster roles and support files (facilitators, itineraries), on their own travel computation
    check_roles(ctx.pf, ctx.policy, ctx.rep)
    if (ctx.plan_dir / "support.csv").exists() or ctx.summary.get("support"):
        check_support(ctx.plan_dir, ctx.pf, ctx.policy, ctx.inputs.schools, ctx.rep)
    return ctx.rep


def _read(plan_dir: Path) -> _Plan:
    """Read the plan folder and its inputs (located as the plan recorded them, their hashes compared)."""
    rep = ValidationReport()
    pf = read_plan(plan_dir)
    s = pf.summary
    located = locate_inputs(s, plan_dir, verify=True)
    edits = _edits_for(Path(plan_dir), s)
    needed = ["schools", "teachers", "network_path", "matrix_path", "elevation"]
    if any(e.get("action", "") == "lock_cluster" for e in edits):
        needed.append("revised_from")
    located.require(plan_dir, needed)  # an input that cannot be found: which, where it was looked for, how to point at it
    for key, path in sorted(located.changed.items()):
        rep.add(f"the {input_word(key)} changed after planning ({path}): re-plan, or validate against the recorded files")
    policy = _policy(s)
    inputs = load_inputs(s["inputs"]["schools"], s["inputs"].get("teachers"), policy=policy)
    schools = inputs.schools.set_index("school_id")
    a = pf.assignments.copy()
    a["n"] = a["n_teachers"].astype(int)
    a["minutes"] = pd.to_numeric(a["travel_minutes"], errors="coerce")

    placed = a[a["status"] == "placed"]
    travel = _TravelCheck(s, inputs.schools, policy, _override_minutes(edits))
    return _Plan(rep, Path(plan_dir), pf, s, policy, inputs, schools, a, placed, travel, edits)


def _check_teachers(ctx: _Plan) -> None:
    """Every teacher of the roster exactly once, with the roster's school, gender, role and level."""
    rep, inputs, a = ctx.rep, ctx.inputs, ctx.a
    tin = inputs.teachers
    if inputs.teachers_path:
        dup = a["teacher_id"][a["teacher_id"].duplicated()]
        for t in dup.unique():
            rep.add(f"teacher {t} appears more than once in assignments.csv")
        missing = set(tin["teacher_id"]) - set(a["teacher_id"])
        extra = set(a["teacher_id"]) - set(tin["teacher_id"])
        for t in sorted(missing)[:20]:
            rep.add(f"teacher {t} of the roster is missing from the plan")
        for t in sorted(extra)[:20]:
            rep.add(f"teacher {t} in the plan is not in the roster")
        check_roster_fields(a, tin, rep)
    else:
        want = tin.groupby(["school_id", "gender", "level"])["n_teachers"].sum()
        got = a.groupby(["school_id", "gender", "level"])["n"].sum()
        if not want.sort_index().equals(got.sort_index().rename("n_teachers")):
            rep.add("teacher counts per school, gender and level in the plan differ from the schools file")
    rep.checked["teachers"] = int(a["n"].sum())
    if int(a["n"].sum()) != int(tin["n_teachers"].sum()):
        rep.add(f"the plan holds {int(a['n'].sum())} teachers but the input has {int(tin['n_teachers'].sum())}")


def _check_statuses(ctx: _Plan) -> None:
    """Placed teachers have a cluster, venue and time; the others a reason; head teachers left out when the policy says so."""
    rep, policy, schools, a = ctx.rep, ctx.policy, ctx.schools, ctx.a
    for row in a.itertuples(index=False):
        if row.status == "placed":
            if not row.cluster_id or not row.venue_school_id or not np.isfinite(row.minutes):
                rep.add(f"teacher {row.teacher_id} is placed but has no cluster, venue or travel time")
        elif row.status == "not_placed":
            if row.cluster_id:
                rep.add(f"teacher {row.teacher_id} is not placed but names cluster {row.cluster_id}")
            if not row.reason:
                rep.add(f"teacher {row.teacher_id} is not placed and no reason is given")
        else:
            rep.add(f"teacher {row.teacher_id} has an unknown status '{row.status}'")
        dp = policy.for_district(schools.at[row.school_id, "district"])
        if row.role == "head_teacher" and not dp.include_head_teachers and row.status == "placed":
            rep.add(f"head teacher {row.teacher_id} is placed although the policy leaves head teachers out")


def _check_clusters(ctx: _Plan) -> float:
    """Each cluster within the rules: size, schools, venue, district, gender, levels, travel; returns the objective it adds up to."""
    rep, policy, schools, inputs, placed, travel = ctx.rep, ctx.policy, ctx.schools, ctx.inputs, ctx.placed, ctx.travel
    level_group = LEVEL_GROUP
    objective = 0.0
    rep.checked["clusters"] = 0
    for cid, c in placed.groupby("cluster_id", sort=True):
        rep.checked["clusters"] += 1
        venues = c["venue_school_id"].unique()
        if len(venues) != 1:
            rep.add(f"cluster {cid} names {len(venues)} venues")
            continue
        venue = venues[0]
        districts = {schools.at[sid, "district"] for sid in c["school_id"]}
        if len(districts) > 1 and not policy.cross_district:
            rep.add(f"cluster {cid} spans districts {sorted(districts)}")
        dp = policy.for_district(schools.at[venue, "district"])
        n = int(c["n"].sum())
        if not dp.min_teachers <= n <= dp.max_teachers:
            rep.add(f"cluster {cid} has {n} teachers, outside {dp.min_teachers}..{dp.max_teachers}")
        k = c["school_id"].nunique()
        if dp.max_schools and k > dp.max_schools:
            rep.add(f"cluster {cid} has {k} schools, more than {dp.max_schools}")
        if k < dp.min_schools:
            rep.add(f"cluster {cid} has {k} school(s), fewer than min_schools = {dp.min_schools}")
        if venue not in set(c["school_id"]):
            rep.add(f"cluster {cid} meets at {venue}, which is not one of its schools")
        if not bool(schools.at[venue, "can_host"]):
            rep.add(f"cluster {cid} meets at {venue}, which cannot host")
        genders = set(c["gender"]) - {"any"}
        if dp.gender == "segregated":
            if inputs.teachers_path or genders:
                if len(genders) > 1:
                    rep.add(f"cluster {cid} mixes women and men in a segregated district")
            g = next(iter(genders), None)
            if g is None:
                sg = {schools.at[sid, "gender"] for sid in c["school_id"]}
                g = "female" if sg <= {"girls"} else "male" if sg <= {"boys"} else None
            venue_genders: dict[str | None, set[str]] = {"female": {"girls", "mixed"}, "male": {"boys", "mixed"}}
            allowed = venue_genders.get(g, {"boys", "girls", "mixed"})
            if schools.at[venue, "gender"] not in allowed:
                rep.add(f"cluster {cid} of {g} teachers meets at a {schools.at[venue, 'gender']} school")
        if dp.levels == "separate":
            groups = {level_group.get(lv, lv) for lv in c["level"]}
            if len(groups) > 1:
                rep.add(f"cluster {cid} mixes primary and middle teachers where levels are kept separate")
        for sid, rows in c.groupby("school_id"):
            t = travel.minutes(sid, venue)
            if t > dp.travel_limit * (1 + TRAVEL_RTOL) + TRAVEL_ATOL:
                rep.add(f"cluster {cid}: school {sid} is {t:.1f} minutes from venue {venue}, over the {dp.travel_limit:g}-minute limit")
            rep_t = float(rows["minutes"].iloc[0])
            if math.isfinite(t) and abs(rep_t - t) > TRAVEL_RTOL * max(t, 1.0) + TRAVEL_ATOL:
                rep.add(f"cluster {cid}: school {sid} reports {rep_t:.2f} minutes to the venue but the validator finds {t:.2f}")
            elif not math.isfinite(t):
                rep.add(f"cluster {cid}: school {sid} cannot reach venue {venue} at all")
            objective += rep_t * (1 if dp.objective == "school_trips" else int(rows["n"].sum()))

    return objective


def _check_schools_together(ctx: _Plan) -> None:
    """A school's teachers (per gender and level group where the policy splits) in one cluster, placed or not together."""
    rep, policy, schools, a = ctx.rep, ctx.policy, ctx.schools, ctx.a
    level_group = LEVEL_GROUP
    for sid, rows in a[a["status"] == "placed"].groupby("school_id"):
        dp = policy.for_district(schools.at[sid, "district"])
        keys = []
        for r in rows.itertuples(index=False):
            gg = r.gender if dp.gender == "segregated" else "all"
            lg = level_group.get(r.level, r.level) if dp.levels == "separate" else "all"
            keys.append((gg, lg))
        rows = rows.assign(key=keys)
        for key, part in rows.groupby("key"):
            if part["cluster_id"].nunique() > 1:
                rep.add(f"school {sid}: its {key[0]} {key[1]} teachers are split over clusters {sorted(part['cluster_id'].unique())}")
    # a school unit partly placed, partly not
    for (sid, gender, level), rows in a[a["role"] != "head_teacher"].groupby(["school_id", "gender", "level"]):
        if rows["status"].nunique() > 1:
            rep.add(f"school {sid}: some {gender} {level} teachers are placed and some are not")


def _check_n_clusters(ctx: _Plan) -> None:
    """A district with a fixed number of clusters has exactly that many."""
    rep, policy, schools, placed = ctx.rep, ctx.policy, ctx.schools, ctx.placed
    for district in schools["district"].unique():
        dp = policy.for_district(district)
        if dp.n_clusters is not None and not policy.cross_district and len(placed):
            k = placed.loc[[schools.at[x, "district"] == district for x in placed["school_id"]], "cluster_id"].nunique()
            if k and k != dp.n_clusters:
                rep.add(f"district {district} has {k} clusters; the policy asks for exactly {dp.n_clusters}")


def _check_tables_agree(ctx: _Plan, objective: float) -> None:
    """clusters.csv and summary.json agree with the assignments (clusters, teachers, venue, objective, bound)."""
    rep, placed = ctx.rep, ctx.placed
    s, pf = ctx.summary, ctx.pf
    ct = pf.clusters.set_index("cluster_id")
    if set(ct.index) != set(placed["cluster_id"]):
        rep.add("clusters.csv and assignments.csv list different clusters")
    for cid, c in placed.groupby("cluster_id"):
        if cid in ct.index:
            if int(ct.at[cid, "n_teachers"]) != int(c["n"].sum()):
                rep.add(f"clusters.csv gives cluster {cid} {ct.at[cid, 'n_teachers']} teachers; assignments give {int(c['n'].sum())}")
            if ct.at[cid, "venue_school_id"] != c["venue_school_id"].iloc[0]:
                rep.add(f"clusters.csv and assignments.csv disagree on the venue of cluster {cid}")
    if abs(objective - float(s["objective"])) > 1e-3 * max(1.0, objective) + 0.05 * len(placed):
        rep.add(f"summary objective {s['objective']} differs from the assignments' total {objective:.2f}")
    if float(s["lower_bound"]) > float(s["objective"]) + 1e-6 * max(1.0, float(s["objective"])):
        rep.add(f"lower bound {s['lower_bound']} exceeds the objective {s['objective']}")
    if int(s["teachers_placed"]) != int(placed["n"].sum()):
        rep.add("summary.json's teachers_placed differs from assignments.csv")


def _check_edits(ctx: _Plan) -> pd.DataFrame | None:
    """Every edit honoured (exclude, apart, together, venue, no_venue, lock_cluster); returns the previous plan's assignments, if any."""
    rep, policy, schools, a, placed, edits = ctx.rep, ctx.policy, ctx.schools, ctx.a, ctx.placed, ctx.edits
    s = ctx.summary
    level_group = LEVEL_GROUP

    def group_key(r) -> tuple[str, str]:
        dp = policy.for_district(schools.at[r.school_id, "district"])
        return (r.gender if dp.gender == "segregated" else "all", level_group.get(r.level, r.level) if dp.levels == "separate" else "all")

    members = a[a["role"].ne("head_teacher") | a["status"].eq("placed")]
    by_school = {sid: g for sid, g in members.groupby("school_id")}
    clusters_of = {sid: set(g["cluster_id"]) for sid, g in placed.groupby("school_id")}
    venue_of_cluster = dict(zip(placed["cluster_id"], placed["venue_school_id"], strict=False))
    rep.checked["edits"] = len(edits)
    previous = None
    prev_dir = s.get("revised_from")
    if prev_dir and (Path(prev_dir) / "assignments.csv").is_file():
        previous = read_plan_csv(Path(prev_dir) / "assignments.csv")
    for e in edits:
        act, x, y = e["action"], e.get("school_id", ""), e.get("other_school_id", "")
        if act == "exclude" and x in clusters_of:
            rep.add(f"edit exclude {x}: the school has teachers placed in {sorted(clusters_of[x])}")
        elif act == "apart" and clusters_of.get(x, set()) & clusters_of.get(y, set()):
            rep.add(f"edit apart {x} {y}: both schools are in cluster(s) {sorted(clusters_of[x] & clusters_of[y])}")
        elif act == "together":
            ga = {} if x not in by_school else {k: g for k, g in by_school[x].assign(k=[group_key(r) for r in by_school[x].itertuples()]).groupby("k")}
            gb = {} if y not in by_school else {k: g for k, g in by_school[y].assign(k=[group_key(r) for r in by_school[y].itertuples()]).groupby("k")}
            for k in set(ga) & set(gb):
                ca = set(ga[k].loc[ga[k]["status"] == "placed", "cluster_id"])
                cb = set(gb[k].loc[gb[k]["status"] == "placed", "cluster_id"])
                if ca != cb:
                    rep.add(f"edit together {x} {y}: their {k[0]} {k[1]} teachers meet in {sorted(ca) or 'no cluster'} and {sorted(cb) or 'no cluster'}")
        elif act == "venue":
            for cid in sorted(clusters_of.get(x, set())):
                if venue_of_cluster[cid] != x:
                    rep.add(f"edit venue {x}: the school is in cluster {cid}, which meets at {venue_of_cluster[cid]}")
        elif act == "no_venue":
            hosted = sorted(c for c, v in venue_of_cluster.items() if v == x)
            if hosted:
                rep.add(f"edit no_venue {x}: the school hosts cluster(s) {hosted}")
        elif act == "lock_cluster":
            cid = e.get("cluster_id", "")
            if previous is None:
                rep.add(f"edit lock_cluster {cid}: the previous plan named in summary.json (revised_from) cannot be read")
                continue
            old = previous[(previous["status"] == "placed") & (previous["cluster_id"] == cid)]
            new = placed[placed["cluster_id"] == cid]
            if len(old) == 0:
                rep.add(f"edit lock_cluster {cid}: the cluster is not in the previous plan")
            elif set(old["teacher_id"]) != set(new["teacher_id"]) or set(old["venue_school_id"]) != set(new["venue_school_id"]):
                rep.add(f"edit lock_cluster {cid}: the cluster's teachers or venue differ from the previous plan")
    return previous


def _check_moves(ctx: _Plan, previous: pd.DataFrame | None) -> None:
    """At most max_moved_teachers teachers of a district meet at another venue than in the previous plan."""
    rep, policy, schools, a = ctx.rep, ctx.policy, ctx.schools, ctx.a
    if previous is None:
        return
    prev_venue = dict(
        zip(previous.loc[previous["status"] == "placed", "teacher_id"], previous.loc[previous["status"] == "placed", "venue_school_id"], strict=False)
    )
    moved: dict[str, int] = {}
    for r in a.itertuples(index=False):
        if r.teacher_id in prev_venue and r.status == "placed" and r.venue_school_id != prev_venue[r.teacher_id]:
            d = schools.at[r.school_id, "district"]
            moved[d] = moved.get(d, 0) + int(r.n)
    for d, k in sorted(moved.items()):
        limit = policy.for_district(d).max_moved_teachers
        if limit is not None and k > limit:
            rep.add(f"district {d}: {k} teachers meet at another venue than in the previous plan, more than max_moved_teachers = {limit}")


__all__ = ["validate_plan", "ValidationReport"]
