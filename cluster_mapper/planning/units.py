"""Units: the teachers of one school who must stay together.

A school is one unit, split only where the policy forces it: a
gender-segregated district splits a mixed staff into a women's and a men's
unit; separate levels split primary teachers from middle ones (high-school
teachers join middle). Head teachers are left out unless the policy
includes them.
"""

from __future__ import annotations

import pandas as pd

from cluster_mapper.errors import InputError, InputProblem
from cluster_mapper.inputs.schools import Inputs
from cluster_mapper.policy.rules import Policy

#: Venue schools a cluster of each gender group may meet at.
VENUE_GENDERS = {"female": ("girls", "mixed"), "male": ("boys", "mixed"), "mixed": ("boys", "girls", "mixed")}

HEAD_TEACHER_REASON = "head teacher: supports the cluster but is not a regular member (policy include_head_teachers = false)"


def head_teacher_reason(clusters: list[str]) -> str:
    """Why a head teacher left out by policy is not placed, naming the cluster(s) of their school that they support."""
    if not clusters:
        return "head teacher: not a regular member (policy include_head_teachers = false); no teacher of their school is in a cluster to support"
    which = f"cluster {clusters[0]}" if len(clusters) == 1 else "clusters " + ", ".join(clusters)
    return f"head teacher: supports {which} (their school's) but is not a regular member (policy include_head_teachers = false)"


def region_district(district: str, policy: Policy) -> str:
    """The planning region of a district: itself, or one region when clusters cross districts."""
    return "all districts" if policy.cross_district else district


def gender_group(teacher_gender: str, school_gender: str, segregated: bool) -> str | None:
    """Which gender group a teacher plans in; None if it cannot be told."""
    if not segregated:
        return "mixed"
    if teacher_gender in ("female", "male"):
        return teacher_gender
    # counts without gender: a single-sex school tells the group
    return {"girls": "female", "boys": "male"}.get(school_gender)


def level_group(level: str, separate: bool) -> str | None:
    """Which level group a teacher plans in; None if it cannot be told."""
    if not separate:
        return "mixed"
    return {"primary": "primary", "middle": "middle", "high": "middle"}.get(level)


def build_units(inputs: Inputs, policy: Policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group teachers into indivisible units.

    Returns
    -------
    units : pandas.DataFrame
        One row per unit: ``unit_id, school_id, district, region, gender_group,
        level_group, n_teachers, can_host, can_be_venue``.
    teachers : pandas.DataFrame
        The input teachers with ``unit_id`` ("" for teachers left out) and
        ``excluded_reason``.
    """
    schools = inputs.schools.set_index("school_id")
    t = inputs.teachers.copy()
    sch = schools.loc[t["school_id"]]
    t["district"] = sch["district"].to_numpy()
    gg, lg, reasons = [], [], []
    src = inputs.teachers_path or inputs.schools_path or "<teachers>"
    rows = t["_row"].tolist() if inputs.teachers_path and "_row" in t.columns else [int(schools.at[s, "_row"]) for s in t["school_id"]]
    # one problem per kind and district, listing its schools (a district has hundreds)
    unknown: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for row, sid, district, gender, level, role in zip(rows, t["school_id"], t["district"], t["gender"], t["level"], t["role"], strict=True):
        dp = policy.for_district(district)
        g = gender_group(gender, schools.at[sid, "gender"], dp.gender == "segregated")
        lvl = level_group(level, dp.levels == "separate")
        excluded = dp.leaves_out(role)
        if g is None and not excluded:
            unknown.setdefault(("gender", district), []).append((row, sid))
        if lvl is None and not excluded:
            unknown.setdefault(("level", district), []).append((row, sid))
        gg.append(g)
        lg.append(lvl)
        reasons.append(HEAD_TEACHER_REASON if excluded else "")
    problems: list[InputProblem] = []
    for (kind, district), where in unknown.items():
        sids = list(dict.fromkeys(s for _, s in where))
        listed = ", ".join(sids[:8]) + (f" and {len(sids) - 8} more" if len(sids) > 8 else "")
        if kind == "gender":
            problems.append(
                InputProblem(
                    src,
                    f"the teacher counts of {len(sids)} mixed school{'s' if len(sids) != 1 else ''} give no gender ({listed}), and district {district} is gender-segregated.",
                    'give female_teachers and male_teachers (or female_* and male_* count columns, or a roster), or set gender = "mixed" for the district.',
                    where[0][0],
                    "teachers",
                )
            )
        else:
            problems.append(
                InputProblem(
                    src,
                    f"the teacher counts of {len(sids)} school{'s' if len(sids) != 1 else ''} give no level ({listed}), and district {district} keeps levels separate.",
                    "give each school's level (a 'level' column: primary, middle or high; [columns.schools] level = \"...\" names yours), "
                    'or *_primary and *_middle count columns, or a roster; or set levels = "mixed".',
                    where[0][0],
                    "level",
                )
            )
    if problems:
        raise InputError(problems)
    t["gender_group"] = gg
    t["level_group"] = lg
    t["excluded_reason"] = reasons
    active = t[t["excluded_reason"] == ""]
    grouped = active.groupby(["school_id", "gender_group", "level_group"], sort=True)["n_teachers"].sum().reset_index()
    parts_per_school = grouped.groupby("school_id")["n_teachers"].transform("size")
    grouped["unit_id"] = [
        sid if k == 1 else f"{sid}:{g}:{lvl}" for sid, g, lvl, k in zip(grouped["school_id"], grouped["gender_group"], grouped["level_group"], parts_per_school)
    ]
    grouped["district"] = schools.loc[grouped["school_id"], "district"].to_numpy()
    grouped["region"] = [region_district(d, policy) for d in grouped["district"]]
    school_gender = schools.loc[grouped["school_id"], "gender"].to_numpy()
    can_host = schools.loc[grouped["school_id"], "can_host"].to_numpy()
    grouped["can_host"] = can_host.astype(bool)
    grouped["can_be_venue"] = [bool(h) and sg in VENUE_GENDERS[g] for h, sg, g in zip(can_host, school_gender, grouped["gender_group"])]
    units = grouped[["unit_id", "school_id", "district", "region", "gender_group", "level_group", "n_teachers", "can_host", "can_be_venue"]]
    key = {(s, g, lvl): u for s, g, lvl, u in zip(grouped["school_id"], grouped["gender_group"], grouped["level_group"], grouped["unit_id"])}
    t["unit_id"] = [
        key.get((s, g, lvl), "") if r == "" else "" for s, g, lvl, r in zip(t["school_id"], t["gender_group"], t["level_group"], t["excluded_reason"])
    ]
    return units.reset_index(drop=True), t


__all__ = ["build_units", "VENUE_GENDERS", "HEAD_TEACHER_REASON", "head_teacher_reason"]
