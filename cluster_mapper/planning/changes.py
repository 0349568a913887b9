"""What changed between two plans: teachers moved and why, clusters created, kept and dissolved.

Used by ``cluster-mapper diff OLD NEW``, by ``changes.csv`` in a revised
plan's folder and by the report's "Changes" section. A teacher *moves* when
the venue school they meet at changes or they lose their place (the same
definition the least-change re-plan minimises).

Only plan files are compared (``assignments.csv`` and the edits table), so
any two plan folders can be compared, whichever run made them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CHANGE_COLUMNS = [
    "teacher_id",
    "school_id",
    "n_teachers",
    "change",
    "old_cluster_id",
    "old_venue_school_id",
    "old_travel_minutes",
    "new_cluster_id",
    "new_venue_school_id",
    "new_travel_minutes",
    "travel_change_minutes",
    "why",
]
#: Kinds of change that count as a move.
MOVES = ("moved", "lost_place")


def _edits_by_school(edits: pd.DataFrame | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if edits is None or len(edits) == 0:
        return out
    for r in edits.to_dict("records"):
        if r["action"] == "travel_minutes":
            text = f"row {r['row']} (travel_minutes {r['school_id']} {r['other_school_id']} = {r['minutes']})"
        else:
            ids = " ".join(str(x) for x in (r["school_id"], r["other_school_id"], r["cluster_id"]) if x)
            text = f"row {r['row']} ({r['action']} {ids})"
        if r.get("note"):
            text += f": {r['note']}"
        for s in (r["school_id"], r["other_school_id"]):
            if s:
                out.setdefault(str(s), []).append(text)
    return out


def _edit_key(reason: str) -> str:
    """The edit a reason names (the same edit can be named for the school and for its old venue)."""
    return reason[reason.find("edit ") :] if "edit " in reason else reason


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def plan_changes(old: pd.DataFrame, new: pd.DataFrame, edits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per teacher (or teacher group), the change from ``old`` to ``new`` and why.

    Parameters
    ----------
    old, new : pandas.DataFrame
        ``assignments.csv`` of the two plans (``teacher_id``, ``school_id``,
        ``status``, ``cluster_id``, ``venue_school_id``, ``travel_minutes``,
        ``n_teachers``).
    edits : pandas.DataFrame, optional
        The new plan's edits (``edits.csv``: ``row, action, school_id,
        other_school_id, cluster_id, minutes, note``).

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`. ``change`` is ``same``, ``moved`` (another
        venue), ``lost_place``, ``newly_placed``, ``still_not_placed``,
        ``joined`` (not in the old plan) or ``left`` (not in the new one);
        ``travel_change_minutes`` is new minus old travel, minutes; ``why``
        names the edits on the teacher's school or old venue, or the rules.
    """
    cols = ["teacher_id", "school_id", "status", "cluster_id", "venue_school_id", "travel_minutes", "n_teachers"]
    o = old[cols].astype(str).set_index("teacher_id")
    n = new[cols].astype(str).set_index("teacher_id")
    by_school = _edits_by_school(edits)
    rows = []
    for tid in list(n.index) + [t for t in o.index if t not in n.index]:
        a = o.loc[tid] if tid in o.index else None
        b = n.loc[tid] if tid in n.index else None
        was = a is not None and a["status"] == "placed"
        now = b is not None and b["status"] == "placed"
        if a is None:
            change = "joined"
        elif b is None:
            change = "left"
        elif was and now:
            change = "same" if a["venue_school_id"] == b["venue_school_id"] else "moved"
        elif was:
            change = "lost_place"
        elif now:
            change = "newly_placed"
        else:
            change = "still_not_placed"
        row = b if b is not None else a
        assert row is not None  # tid comes from the new or the old plan
        school = row["school_id"]
        why = ""
        if change in ("moved", "lost_place", "newly_placed"):
            reasons = [f"edit {t}" for t in by_school.get(school, [])]
            if was and a is not None and a["venue_school_id"] != school:
                reasons += [f"old venue {a['venue_school_id']}: edit {t}" for t in by_school.get(a["venue_school_id"], [])]
            if now and b is not None and b["venue_school_id"] != school:
                reasons += [f"new venue {b['venue_school_id']}: edit {t}" for t in by_school.get(b["venue_school_id"], [])]
            if not reasons:
                if change == "lost_place":
                    reasons = [b["reason"] if b is not None and "reason" in b and b["reason"] else "the rules"]
                else:
                    reasons = [
                        "the rules: re-planned with the fewest moves (the old venue's cluster changed or broke a rule)"
                        if change == "moved"
                        else "the rules: a place became free"
                    ]
            seen: set[str] = set()
            unique: list[str] = []
            for r in reasons:
                if _edit_key(r) not in seen:
                    seen.add(_edit_key(r))
                    unique.append(r)
            why = "; ".join(unique)
        old_cluster = old_venue = new_cluster = new_venue = ""
        t_old = t_new = float("nan")
        if was and a is not None:
            old_cluster, old_venue, t_old = a["cluster_id"], a["venue_school_id"], _num(a["travel_minutes"])
        if now and b is not None:
            new_cluster, new_venue, t_new = b["cluster_id"], b["venue_school_id"], _num(b["travel_minutes"])
        rows.append(
            {
                "teacher_id": tid,
                "school_id": school,
                "n_teachers": int(row["n_teachers"]),
                "change": change,
                "old_cluster_id": old_cluster,
                "old_venue_school_id": old_venue,
                "old_travel_minutes": t_old,
                "new_cluster_id": new_cluster,
                "new_venue_school_id": new_venue,
                "new_travel_minutes": t_new,
                "travel_change_minutes": round(t_new - t_old, 2) if was and now else np.nan,
                "why": why,
            }
        )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def cluster_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per cluster id of either plan: ``kept`` (same venue, same members), ``changed``, ``created`` or ``dissolved``.

    Columns ``cluster_id, change, old_venue_school_id, new_venue_school_id,
    old_teachers, new_teachers, joined, left`` (teacher counts).
    """

    def members(a: pd.DataFrame) -> dict[str, tuple[str, dict[str, int]]]:
        p = a[a["status"] == "placed"]
        return {
            str(c): (str(g["venue_school_id"].iloc[0]), dict(zip(g["teacher_id"].astype(str), g["n_teachers"].astype(int), strict=True)))
            for c, g in p.groupby("cluster_id")
        }

    mo, mn = members(old), members(new)
    rows = []
    for cid in sorted(set(mo) | set(mn)):
        vo, to = mo.get(cid, ("", {}))
        vn, tn = mn.get(cid, ("", {}))
        if cid not in mn:
            kind = "dissolved"
        elif cid not in mo:
            kind = "created"
        elif vo == vn and to == tn:
            kind = "kept"
        else:
            kind = "changed"
        rows.append(
            {
                "cluster_id": cid,
                "change": kind,
                "old_venue_school_id": vo,
                "new_venue_school_id": vn,
                "old_teachers": sum(to.values()),
                "new_teachers": sum(tn.values()),
                "joined": sum(v for t, v in tn.items() if t not in to),
                "left": sum(v for t, v in to.items() if t not in tn),
            }
        )
    return pd.DataFrame(rows, columns=["cluster_id", "change", "old_venue_school_id", "new_venue_school_id", "old_teachers", "new_teachers", "joined", "left"])


def names_of(*assignments: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """Teacher and school names (id to name) from the ``teacher_name`` and ``school_name`` columns of assignments tables."""
    teachers: dict[str, str] = {}
    schools: dict[str, str] = {}
    for a in assignments:
        if "teacher_name" in a.columns:
            teachers.update({str(k): str(v) for k, v in zip(a["teacher_id"], a["teacher_name"], strict=True) if isinstance(v, str) and v})
        if "school_name" in a.columns:
            schools.update({str(k): str(v) for k, v in zip(a["school_id"], a["school_name"], strict=True) if isinstance(v, str) and v})
    return teachers, schools


def with_names(changes: pd.DataFrame, teachers: dict[str, str], schools: dict[str, str]) -> pd.DataFrame:
    """The changes with names beside ids: ``teacher_name`` (when known), ``school_name``, ``old_venue_name``, ``new_venue_name``."""
    out = changes.copy()
    pairs = [("school_id", "school_name", schools), ("old_venue_school_id", "old_venue_name", schools), ("new_venue_school_id", "new_venue_name", schools)]
    if teachers:
        pairs.insert(0, ("teacher_id", "teacher_name", teachers))
    for col, name, names in pairs:
        if col in out.columns and name not in out.columns:
            out.insert(out.columns.get_loc(col) + 1, name, [names.get(str(v), "") for v in out[col]])
    return out


def changes_by_school(teachers: pd.DataFrame) -> pd.DataFrame:
    """Moves grouped per school and change: ``school_id, change, from_cluster, to_cluster, teachers, travel_change_minutes, why``."""
    moved = teachers[teachers["change"].isin([*MOVES, "newly_placed"])].copy()
    moved["n"] = moved["n_teachers"].astype(int)
    rows = []
    for (sid, ch, a, b, why), g in moved.groupby(["school_id", "change", "old_cluster_id", "new_cluster_id", "why"], sort=True):
        dt = pd.to_numeric(g["travel_change_minutes"], errors="coerce")
        rows.append(
            {
                "school_id": sid,
                "change": ch,
                "from_cluster": a,
                "to_cluster": b,
                "teachers": int(g["n"].sum()),
                "travel_change_minutes": round(float(dt.mean()), 1) if dt.notna().any() else np.nan,
                "why": why,
            }
        )
    return pd.DataFrame(rows, columns=["school_id", "change", "from_cluster", "to_cluster", "teachers", "travel_change_minutes", "why"])


def change_summary(teachers: pd.DataFrame, clusters: pd.DataFrame) -> dict:
    """Counts for the summary, the report and ``diff``: teachers moved, clusters created, kept, changed, dissolved.

    ``teachers_moved`` counts every move (``teachers_moved_venue`` to another
    venue plus ``teachers_lost_place``).
    """
    n = teachers["n_teachers"].astype(int)
    by = {k: int(n[teachers["change"] == k].sum()) for k in ("same", "moved", "lost_place", "newly_placed", "joined", "left")}
    dt = pd.to_numeric(teachers["travel_change_minutes"], errors="coerce")
    return {
        **{f"teachers_{k}": v for k, v in by.items() if k != "moved"},
        "teachers_moved_venue": by["moved"],
        "teachers_moved": by["moved"] + by["lost_place"],
        "schools_with_moves": int(teachers.loc[teachers["change"].isin(MOVES), "school_id"].nunique()),
        "clusters": {k: int((clusters["change"] == k).sum()) for k in ("kept", "changed", "created", "dissolved")},
        "mean_travel_change_minutes": round(float((dt * n).sum() / max(1, n[dt.notna()].sum())), 2) if dt.notna().any() else 0.0,
    }


__all__ = ["names_of", "with_names", "plan_changes", "cluster_changes", "changes_by_school", "change_summary", "CHANGE_COLUMNS", "MOVES"]
