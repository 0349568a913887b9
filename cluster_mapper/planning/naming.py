"""Cluster ids and the teacher rows of a plan: names that stay stable from plan to plan."""

from __future__ import annotations

import pandas as pd

from cluster_mapper.inputs.schools import Inputs
from cluster_mapper.planning.units import HEAD_TEACHER_REASON, head_teacher_reason


def name_clusters(
    units: pd.DataFrame, inputs: Inputs, kept: dict[str, str] | None = None, reserved: set[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give clusters stable ids and build the cluster table.

    Clusters kept from a previous plan keep their ids (``kept``: venue unit to
    id); new clusters are numbered after them, never reusing an id (neither a
    kept one nor one of ``reserved``, the previous plan's ids).
    """
    kept = kept or {}
    placed = units[units["status"] == "placed"]
    info = units.set_index("unit_id")[["region", "district", "gender_group", "level_group", "school_id"]]
    venue_info = info.loc[pd.unique(placed["venue_unit"].to_numpy())].sort_values(["region", "gender_group", "level_group", "school_id"], kind="stable")
    venues = list(venue_info.index)
    counters: dict[tuple, int] = {}
    cluster_of: dict[str, str] = {v: kept[v] for v in venues if v in kept}
    used = set(cluster_of.values()) | set(reserved or ())
    for v, region, gender, level in zip(venues, venue_info["region"], venue_info["gender_group"], venue_info["level_group"], strict=True):
        if v in cluster_of:
            continue
        key = (region, gender[0].upper() + level[0].upper())
        while True:
            counters[key] = counters.get(key, 0) + 1
            name = f"{key[0].replace(' ', '_')}-{key[1]}-{counters[key]:03d}"
            if name not in used:
                break
        cluster_of[v] = name
        used.add(name)
    school_of = dict(zip(info.index, info["school_id"], strict=True))
    units["cluster_id"] = [cluster_of.get(v, "") for v in units["venue_unit"]]
    units["venue_school_id"] = [school_of[v] if v else "" for v in units["venue_unit"]]
    # the members of all clusters at once (not one scan of all units per cluster)
    with_venue = units[units["venue_unit"] != ""]
    by_venue = (
        with_venue.assign(_tm=with_venue["travel_minutes"] * with_venue["n_teachers"])
        .groupby("venue_unit", sort=False)
        .agg(n_teachers=("n_teachers", "sum"), n_schools=("school_id", "nunique"), max_travel=("travel_minutes", "max"), tm=("_tm", "sum"))
        .reindex(venues)
    )
    clusters = pd.DataFrame(
        {
            "cluster_id": [cluster_of[v] for v in venues],
            "district": venue_info["district"].to_numpy(),
            "gender_group": venue_info["gender_group"].to_numpy(),
            "level_group": venue_info["level_group"].to_numpy(),
            "venue_school_id": venue_info["school_id"].to_numpy(),
            "n_teachers": by_venue["n_teachers"].to_numpy(dtype=int),
            "n_schools": by_venue["n_schools"].to_numpy(dtype=int),
            "max_travel_minutes": [round(float(x), 2) for x in by_venue["max_travel"]],
            "teacher_minutes": [round(float(x), 2) for x in by_venue["tm"]],
        }
    )
    return units, clusters


def teacher_rows(teachers: pd.DataFrame, units: pd.DataFrame, named: dict | None = None) -> pd.DataFrame:
    u = units.set_index("unit_id")
    out = pd.DataFrame(
        {
            "teacher_id": teachers["teacher_id"].to_numpy(),
            "school_id": teachers["school_id"].to_numpy(),
            "unit_id": teachers["unit_id"].to_numpy(),
            "district": teachers["district"].to_numpy(),
            "gender": teachers["gender"].to_numpy(),
            "level": teachers["level"].to_numpy(),
            "role": teachers["role"].to_numpy(),
            "n_teachers": teachers["n_teachers"].to_numpy(dtype=int),
            "subject": teachers["subject"].fillna("").astype(str).to_numpy() if "subject" in teachers.columns else "",
        }
    )
    has = out["unit_id"] != ""
    for col in ("cluster_id", "venue_school_id", "travel_minutes", "status", "reason", "suggestion"):
        out[col] = None
        out.loc[has, col] = u.loc[out.loc[has, "unit_id"], col].to_numpy()
    out.loc[~has, "status"] = "not_placed"
    out.loc[~has, "reason"] = teachers.loc[~has.to_numpy(), "excluded_reason"].to_numpy()
    heads = (~has) & out["reason"].eq(HEAD_TEACHER_REASON)
    if heads.any():  # the clusters their school's teachers are in: the ones they support
        placed = out[has & out["cluster_id"].astype(bool)]
        of_school = placed.groupby("school_id")["cluster_id"].agg(lambda c: sorted(set(c)))
        out.loc[heads, "reason"] = [head_teacher_reason(of_school.get(s, [])) for s in out.loc[heads, "school_id"]]
    out.loc[~has, "suggestion"] = "set include_head_teachers = true to place head teachers as members"
    by_edit = (~has) & out["reason"].astype(str).str.startswith("excluded by edit")
    out.loc[by_edit, "suggestion"] = "delete the exclude edit to plan the school again"
    named = named or {}
    out["edits"] = [" | ".join(e.describe() for e in named.get(s, [])) for s in out["school_id"]]
    out[["cluster_id", "venue_school_id", "reason", "suggestion"]] = out[["cluster_id", "venue_school_id", "reason", "suggestion"]].fillna("")
    out["travel_minutes"] = pd.to_numeric(out["travel_minutes"], errors="coerce").round(2)
    return out
