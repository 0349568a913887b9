"""Cluster roles: subject leaders in middle-level clusters.

In the field study (000) each cluster chose a focal person and subject
leaders in math, science and English. The policy key ``subjects_required``
asks that every cluster with middle or high teachers include at least one
teacher of each of those subjects (the roster's ``subject`` column):

- ``subjects_rule = "preferred"``: after the cluster model, teachers are
  moved between clusters of the same district, gender and level group, with
  the same venues, to cover the subjects in as many clusters as possible,
  never leaving anyone out and never breaking a size, school or travel rule;
  then travel is made least again. Clusters still lacking a subject are
  listed with the reason (``clusters.csv`` columns ``subjects_missing`` and
  ``subjects_reason``).
- ``subjects_rule = "hard"``: a cluster that cannot include every subject is
  not formed; its teachers join other clusters where they can, else they are
  listed as not placed, with the reason and the change that would place them.

This runs after the cluster model (a small CP-SAT model per group over the
plan's venues), so it is a repair, not part of the cluster model's proof:
with the preferred rule the plan's lower bound still holds (same teachers
placed); with the hard rule, when teachers are left out, the plan reports no
bound (0) and says so.

:func:`subject_leaders` lists the candidate subject leaders of each cluster
for the report.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from cluster_mapper.planning.solve import name_clusters

log = logging.getLogger(__name__)

#: Subjects whose leaders the report lists when the policy requires none (000: math, science, English).
CORE_SUBJECTS = ("math", "science", "english")
#: Seconds per group for the repair model.
ROLE_SECONDS = 10.0


def needs_subjects(levels: set[str]) -> bool:
    """Whether a cluster with these teacher levels is a middle-level cluster (middle or high teachers)."""
    return bool(levels & {"middle", "high"})


def apply_subject_rule(plan) -> None:
    """Apply ``subjects_required`` to a fresh plan, in place (units, teachers, clusters, objective, notes)."""
    units = plan.units
    t = plan.teachers
    if "subject" not in t.columns:
        plan.notes.append("subjects_required: the roster has no subject column, so the rule cannot be applied")
        return
    member = t[t["unit_id"] != ""]
    if not (member["subject"].fillna("") != "").any():
        plan.notes.append("subjects_required: no teacher of the roster has a subject, so the rule cannot be applied (give the roster a subject column)")
        return
    subj = member.groupby("unit_id")["subject"].agg(lambda s: frozenset(x for x in s if x))
    levels = member.groupby("unit_id")["level"].agg(lambda s: frozenset(s))
    row_of = {u: i for i, u in enumerate(units["unit_id"])}
    old_names = {v: c for v, c in zip(units["venue_unit"], units["cluster_id"]) if v}
    placed_before = int(units.loc[units["status"] == "placed", "n_teachers"].sum())
    changed = False
    missing_rows: dict[str, tuple[str, str]] = {}
    unplaced_reason: dict[str, tuple[str, str]] = {}
    placed = units[units["status"] == "placed"]
    for key, grp in placed.groupby(["region", "gender_group", "level_group"], sort=True):
        changed |= _repair_group(plan, key, grp, subj, levels, row_of, missing_rows, unplaced_reason)
    if changed:
        _apply_repairs(plan, unplaced_reason, old_names, placed_before, row_of)
    _note_missing_subjects(plan, missing_rows)


def _repair_group(plan, key, grp: pd.DataFrame, subj, levels, row_of, missing_rows: dict, unplaced_reason: dict) -> bool:
    """Repair one gender and level group's clusters so that they hold the required subjects; True if any unit moved."""
    region, gg, lg = key
    units, travel = plan.units, plan.travel
    venue_units = sorted(set(grp["venue_unit"]))
    dp = plan.policy.for_district(units.at[row_of[venue_units[0]], "district"])
    req = tuple(dp.subjects_required)
    if not req:
        return False
    # clusters of this group that must hold the subjects
    cl_levels = {v: frozenset().union(*[levels.get(u, frozenset()) for u in grp.loc[grp["venue_unit"] == v, "unit_id"]]) for v in venue_units}
    venues = [v for v in venue_units if needs_subjects(set(cl_levels[v]))]
    if not venues:
        return False
    have = {v: frozenset().union(*[subj.get(u, frozenset()) for u in grp.loc[grp["venue_unit"] == v, "unit_id"]]) for v in venues}
    if all(set(req) <= have[v] for v in venues):
        return False
    us = grp[grp["venue_unit"].isin(venues)]
    res = _repair(us, venues, req, dp, travel, subj, hard=dp.subjects_rule == "hard", fixed_count=dp.n_clusters is not None)
    if res is None:
        plan.notes.append(f"{region}: subjects_required could not be applied to the {gg} {lg} clusters in time; they are as planned")
        res = (dict(zip(us["unit_id"], us["venue_unit"])), {v: True for v in venues})
    venue_of, open_v = res
    changed = False
    for u, v in venue_of.items():
        i = row_of[u]
        before = units.at[i, "venue_unit"]
        changed |= v != before
        if v:
            units.at[i, "venue_unit"] = v
            units.at[i, "travel_minutes"] = round(float(travel.minutes(units.at[i, "school_id"], units.at[row_of[v], "school_id"])), 2)
            continue
        units.at[i, "venue_unit"] = ""
        units.at[i, "travel_minutes"] = np.nan
        units.at[i, "status"] = "not_placed"
        units.at[i, "cluster_id"] = ""
        units.at[i, "venue_school_id"] = ""
        lacking = ", ".join(s for s in req if s not in have.get(before, frozenset()))
        vs = units.at[row_of[before], "school_id"]
        unplaced_reason[u] = (
            (
                f"their cluster at {vs} could not include a teacher of {lacking or 'every required subject'} "
                f"(subjects_required, hard rule) and no other cluster within {dp.travel_limit:g} minutes had room"
            ),
            'subjects_rule = "preferred"; or a ' + (lacking or "subject") + f" teacher within {dp.travel_limit:g} minutes of {vs}",
        )
    # clusters still lacking a subject
    for v in venues:
        if not open_v.get(v, True):
            continue
        members = [u for u, vv in venue_of.items() if vv == v]
        got = frozenset().union(*[subj.get(u, frozenset()) for u in members])
        lack = [s for s in req if s not in got]
        if lack:
            missing_rows[v] = (";".join(lack), _why_missing(v, lack, grp, subj, travel, dp, row_of, units))
    return changed


def _apply_repairs(plan, unplaced_reason: dict, old_names: dict, placed_before: int, row_of: dict) -> None:
    """Rename clusters and refresh teachers, objective and bound after the repair moved units."""
    units = plan.units
    units["status"] = np.where(units["venue_unit"] != "", "placed", "not_placed")
    for u, (reason, sugg) in unplaced_reason.items():
        units.at[row_of[u], "reason"] = reason
        units.at[row_of[u], "suggestion"] = sugg
    units, clusters = name_clusters(units, plan.inputs, {v: c for v, c in old_names.items() if v in set(units["venue_unit"])})
    plan.units, plan.clusters = units, clusters
    _refresh_teachers(plan)
    plan.objective = _objective(plan)
    placed_after = int(units.loc[units["status"] == "placed", "n_teachers"].sum())
    if placed_after < placed_before:
        plan.lower_bound = 0.0
        plan.placement_proven = False
        plan.status = "heuristic"
        plan.notes.append(
            f"subjects_required (hard rule) left {placed_before - placed_after} teacher(s) out whose clusters could not "
            "include every required subject; the rule is applied after the cluster model, so no lower bound is proven for this plan"
        )
    else:
        plan.lower_bound = min(plan.lower_bound, plan.objective)


def _note_missing_subjects(plan, missing_rows: dict) -> None:
    """Mark the clusters still lacking a required subject in ``clusters.csv`` and the notes."""
    units, clusters = plan.units, plan.clusters
    vu = {c: v for c, v in zip(units["cluster_id"], units["venue_unit"]) if c}
    clusters["subjects_missing"] = [missing_rows.get(vu.get(c, ""), ("", ""))[0] for c in clusters["cluster_id"]]
    clusters["subjects_reason"] = [missing_rows.get(vu.get(c, ""), ("", ""))[1] for c in clusters["cluster_id"]]
    n_missing = int((clusters["subjects_missing"] != "").sum())
    plan.notes.append(f"subjects_required: {n_missing} middle-level cluster(s) lack a required subject" + (" (listed in clusters.csv)" if n_missing else ""))


def _repair(us: pd.DataFrame, venues: list[str], req: tuple[str, ...], dp, travel, subj, *, hard: bool, fixed_count: bool):
    """Reassign the units ``us`` to the venues (CP-SAT): cover subjects, keep rules; None if no plan in time."""
    m = cp_model.CpModel()
    units = us["unit_id"].tolist()
    school = dict(zip(us["unit_id"], us["school_id"]))
    n = dict(zip(us["unit_id"], us["n_teachers"].astype(int)))
    current = dict(zip(us["unit_id"], us["venue_unit"]))
    limit = dp.travel_limit
    x: dict[tuple[str, str], cp_model.IntVar] = {}
    cost: dict[tuple[str, str], int] = {}
    for u in units:
        for v in venues:
            t = travel.minutes(school[u], school[v])
            if u == v or (u not in venues or hard) and t <= limit * (1 + 1e-9):
                x[u, v] = m.new_bool_var(f"meets[{u},{v}]")
                cost[u, v] = round(t * 100) if np.isfinite(t) else 0
    y = {v: x[v, v] for v in venues}
    if not hard or fixed_count:
        for v in venues:
            m.add(y[v] == 1)
    for u in units:
        xs = [x[u, v] for v in venues if (u, v) in x]
        if hard:
            m.add(sum(xs) <= 1)
        else:
            m.add(sum(xs) == 1)
    cover = {}
    for v in venues:
        members = [(u, x[u, v]) for u in units if (u, v) in x]
        for _, var in members:
            m.add_implication(var, y[v])
        m.add(sum(n[u] * var for u, var in members) >= dp.min_teachers * y[v])
        m.add(sum(n[u] * var for u, var in members) <= dp.max_teachers * y[v])
        m.add(sum(var for _, var in members) <= min(dp.school_limit, len(members)) * y[v])
        for s in req:
            c = cover[v, s] = m.new_bool_var(f"covers[{v},{s}]")
            m.add(c <= sum(var for u, var in members if s in subj.get(u, frozenset())))
            m.add_implication(c, y[v])
            if hard:
                m.add(c >= y[v])
    for (u, v), var in x.items():
        m.add_hint(var, current.get(u) == v)
    placed_n = sum(n[u] * var for (u, _), var in x.items())
    travel_c = sum(cost[k] * var for k, var in x.items())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = ROLE_SECONDS
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    # stage 1: most subjects covered (preferred) / most teachers placed (hard)
    first = placed_n if hard else sum(cover.values())
    m.maximize(first)
    st = solver.solve(m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    m.add(first >= round(solver.objective_value))
    m.clear_hints()
    for (_u, _v), var in x.items():
        m.add_hint(var, bool(solver.value(var)))
    # stage 2: least travel
    m.minimize(travel_c)
    st2 = solver.solve(m)
    sol = solver if st2 in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    if sol is None:
        return None
    venue_of = {u: next((v for v in venues if (u, v) in x and sol.value(x[u, v])), "") for u in units}
    return venue_of, {v: bool(sol.value(y[v])) for v in venues}


def _why_missing(v: str, lack: list[str], grp: pd.DataFrame, subj, travel, dp, row_of, units) -> str:
    """Why the cluster at venue unit ``v`` still has no teacher of the ``lack`` subjects."""
    vs = units.at[row_of[v], "school_id"]
    parts = []
    for s in lack:
        holders = [u for u in grp["unit_id"] if s in subj.get(u, frozenset())]
        near = [(travel.minutes(units.at[row_of[u], "school_id"], vs), u) for u in holders]
        within = [u for t, u in near if t <= dp.travel_limit]
        if not within:
            best = min((t for t, _ in near), default=math.inf)
            more = f" (the nearest is {best:.0f} minutes away: max_travel_minutes = {math.ceil(best)} would allow it)" if np.isfinite(best) else ""
            parts.append(f"no {s} teacher of this group within {dp.travel_limit:g} minutes of {vs}{more}")
        else:
            parts.append(
                f"the {s} teachers within reach ({', '.join(units.at[row_of[u], 'school_id'] for u in within[:3])}) cannot move "
                "without breaking a size, school, travel or subject rule of their own cluster"
            )
    return "; ".join(parts)


def _refresh_teachers(plan) -> None:
    """Copy the units' cluster, venue, travel and status onto the teacher rows."""
    u = plan.units.set_index("unit_id")
    t = plan.teachers
    has = t["unit_id"] != ""
    for col in ("cluster_id", "venue_school_id", "travel_minutes", "status", "reason", "suggestion"):
        t.loc[has, col] = u.loc[t.loc[has, "unit_id"], col].to_numpy()
    t[["cluster_id", "venue_school_id", "reason", "suggestion"]] = t[["cluster_id", "venue_school_id", "reason", "suggestion"]].fillna("")
    t["travel_minutes"] = pd.to_numeric(t["travel_minutes"], errors="coerce").round(2)


def _objective(plan) -> float:
    u = plan.units[plan.units["status"] == "placed"]
    total = 0.0
    for r in u.itertuples(index=False):
        w = 1 if plan.policy.for_district(r.district).objective == "school_trips" else int(r.n_teachers)
        total += float(r.travel_minutes) * w
    return total


def subject_leaders(assignments: pd.DataFrame, subjects: tuple[str, ...] = ()) -> dict[str, dict[str, list[str]]]:
    """Candidate subject leaders: ``{cluster_id: {subject: [teacher_id, ...]}}``.

    The placed, non-head teachers of each subject in ``subjects`` (default
    the field study's math, science and English).
    """
    if "subject" not in assignments.columns:
        return {}
    subjects = tuple(subjects) or CORE_SUBJECTS
    a = assignments[(assignments["status"] == "placed") & (assignments["role"] != "head_teacher")]
    out: dict[str, dict[str, list[str]]] = {cid: {s: [] for s in subjects} for cid in pd.unique(a["cluster_id"])}
    lower = a["subject"].str.lower()
    hit = lower.isin(subjects).to_numpy()
    for cid, s, tid in zip(a["cluster_id"].to_numpy()[hit], lower.to_numpy()[hit], a["teacher_id"].astype(str).to_numpy()[hit], strict=True):
        out[cid][s].append(tid)
    for by_subject in out.values():
        for ids in by_subject.values():
            ids.sort()
    return out


__all__ = ["CORE_SUBJECTS", "apply_subject_rule", "needs_subjects", "subject_leaders"]
