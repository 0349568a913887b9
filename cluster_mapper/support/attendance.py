"""The month after: meeting records read back, attendance per cluster and teacher, and who is at risk.

The field study's clusters lived on attendance (teachers of the venue school
attended best; travel broke attendance) and it recommends monitoring. Offices
keep a register per meeting; ``cluster-mapper attendance PLAN --records FILE``
reads those records (CSV or workbook: ``date, cluster_id, teacher_id,
present``, through the one table reader with :data:`~cluster_mapper.inputs.specs.ATTENDANCE`,
so ``[columns.attendance]`` and ``[values.attendance.present]`` map an
office's own headers and codes), and :func:`attendance_table` writes
``attendance.csv``: per cluster and per teacher, the meetings held and the
attendance rate, set against travel minutes, with those below
``[support] attendance_threshold`` marked at risk. A teacher of the plan with
no record for a meeting their cluster held counts as absent (and is said so).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from cluster_mapper.errors import InputError
from cluster_mapper.inputs.specs import ATTENDANCE, InputSettings, header_key
from cluster_mapper.inputs.tables import read_csv_rows, read_table

log = logging.getLogger(__name__)

ATTENDANCE_COLUMNS = [
    "level",
    "cluster_id",
    "teacher_id",
    "school_id",
    "school_name",
    "teachers",
    "meetings_planned",
    "meetings_held",
    "meetings_attended",
    "attendance_rate",
    "travel_minutes",
    "at_risk",
]


def _date(text: str) -> str | None:
    """An ISO date from a cell: ``2027-03-02``, ``2027-03-02 00:00:00`` (a workbook date) or ``02/03/2027`` (day first)."""
    text = str(text).strip()
    for kwargs in ({"format": "ISO8601"}, {"dayfirst": True}):
        try:
            return pd.to_datetime(text, **kwargs).date().isoformat()
        except (ValueError, TypeError):
            continue
    return None


def read_records(path: str | Path, assignments: pd.DataFrame, settings: InputSettings | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Meeting records, checked against the plan: every problem at once, with file, row, field and fix.

    Returns
    -------
    records : pandas.DataFrame
        ``date`` (ISO), ``cluster_id``, ``teacher_id``, ``present`` (bool), ``_row``.
    notes : list of str
        How the file was read.

    Raises
    ------
    InputError
    """
    t = read_table(path, ATTENDANCE, settings)
    col, df = t.problems, t.data.copy()
    placed = assignments[assignments["status"] == "placed"]
    cluster_of = dict(zip(placed["teacher_id"].astype(str), placed["cluster_id"].astype(str)))
    clusters = set(cluster_of.values())
    dates = []
    for r in df.to_dict("records"):
        row = int(r["_row"])
        d = _date(r["date"])
        dates.append(d)
        if d is None:
            col.add(f"'{r['date']}' is not a date.", fix="write the date as 2027-03-02 (or 02/03/2027, day first).", row=row, field=t.field("date"))
        cid, tid = str(r["cluster_id"]).strip(), str(r["teacher_id"]).strip()
        if cid not in clusters:
            col.add(f"cluster '{cid}' is not a cluster of this plan.", fix="use a cluster_id of the plan's clusters.csv.", row=row, field=t.field("cluster_id"))
        elif tid not in cluster_of:
            col.add(f"teacher '{tid}' is not placed in this plan.", fix="use a teacher_id of the plan's assignments.csv.", row=row, field=t.field("teacher_id"))
        elif cluster_of[tid] != cid:
            col.add(
                f"teacher '{tid}' is in cluster {cluster_of[tid]} in this plan, not {cid}.",
                fix=f"correct the cluster to {cluster_of[tid]}, or the teacher id.",
                row=row,
                field=t.field("cluster_id"),
            )
        if str(r["present"]) not in ("true", "false") and not any(p.row == row and p.field == t.field("present") for p in col.problems):
            col.add("present is blank.", fix="write yes or no.", row=row, field=t.field("present"))
    df["date"] = dates
    df["cluster_id"] = df["cluster_id"].astype(str).str.strip()
    df["teacher_id"] = df["teacher_id"].astype(str).str.strip()
    dup = df[df.duplicated(["date", "teacher_id"], keep="first") & df["date"].notna()]
    for r in dup.to_dict("records"):
        col.add(
            f"teacher '{r['teacher_id']}' is recorded twice on {r['date']}.",
            fix="keep one row per teacher and meeting.",
            row=int(r["_row"]),
            field=t.field("teacher_id"),
        )
    col.raise_if_any()
    df["present"] = df["present"] == "true"
    return df[["date", "cluster_id", "teacher_id", "present", "_row"]], t.notes


def attendance_table(
    records: pd.DataFrame, assignments: pd.DataFrame, itineraries: pd.DataFrame | None, place: dict[str, str], threshold: float
) -> tuple[pd.DataFrame, list[str]]:
    """``attendance.csv``: one row per cluster (``level`` = cluster) and per teacher (``level`` = teacher).

    ``meetings_held`` is the number of dates a cluster has records for;
    ``attendance_rate`` the share of its teachers' places at those meetings
    that were attended (a teacher's own share for a teacher row);
    ``travel_minutes`` the teacher's travel to the venue (a cluster's mean);
    ``at_risk`` a rate below ``threshold``.
    """
    placed = assignments[assignments["status"] == "placed"].copy()
    placed["teacher_id"] = placed["teacher_id"].astype(str)
    held = records.groupby("cluster_id")["date"].nunique().to_dict()
    planned = {}
    if itineraries is not None and len(itineraries):
        planned = itineraries[itineraries["kind"] == "meeting"].groupby("cluster_id").size().to_dict()
    attended = records[records["present"]].groupby("teacher_id")["date"].nunique().to_dict()
    recorded = records.groupby("teacher_id")["date"].nunique().to_dict()
    travel = pd.to_numeric(placed["travel_minutes"], errors="coerce")
    rows, missing = [], 0
    for cid, g in placed.assign(tmin=travel).groupby("cluster_id", sort=True):
        h = int(held.get(cid, 0))
        n_att = 0
        trows = []
        for t in g.itertuples(index=False):
            a = int(attended.get(t.teacher_id, 0))
            n_att += a
            missing += max(0, h - int(recorded.get(t.teacher_id, 0)))
            rate = a / h if h else None
            trows.append(
                [
                    "teacher",
                    cid,
                    t.teacher_id,
                    t.school_id,
                    place.get(t.school_id, ""),
                    1,
                    planned.get(cid, 0),
                    h,
                    a,
                    rate,
                    t.tmin,
                    rate is not None and rate < threshold,
                ]
            )
        rate = n_att / (h * len(g)) if h else None
        rows.append(["cluster", cid, "", "", "", len(g), planned.get(cid, 0), h, n_att, rate, float(g["tmin"].mean()), rate is not None and rate < threshold])
        rows.extend(trows)
    out = pd.DataFrame(rows, columns=ATTENDANCE_COLUMNS)
    out["attendance_rate"] = out["attendance_rate"].astype(float).round(4)
    out["travel_minutes"] = out["travel_minutes"].astype(float).round(1)
    notes = []
    if missing:
        notes.append(f"{missing} teacher-meeting(s) have no record and are counted as absent")
    no_meeting = sorted(set(placed["cluster_id"]) - set(held))
    if no_meeting:
        notes.append(f"{len(no_meeting)} cluster(s) have no meeting recorded (no rate): {', '.join(no_meeting[:5])}" + (" ..." if len(no_meeting) > 5 else ""))
    return out, notes


#: Roster headers read as a teacher's name for the registers (compared without case and spaces).
NAME_HEADERS = ("name", "teacher name", "full name", "teacher", "name of teacher")


def teacher_names(summary: dict) -> dict[str, str]:
    """Teachers' names from the plan's roster(s), where a roster has a name column (else empty: the register leaves a blank to write in)."""
    paths = (summary.get("inputs") or {}).get("teachers") or []
    out: dict[str, str] = {}
    for path in [paths] if isinstance(paths, str) else list(paths):
        p = Path(str(path).split("#")[0])
        if not p.is_file():
            continue
        try:
            df = read_csv_rows(p) if p.suffix.lower() == ".csv" else pd.read_excel(p, dtype=str, engine="calamine").fillna("")
        except (OSError, ValueError, InputError) as exc:  # names are a help for printing, not a reason to stop
            log.warning("teacher names not read from %s: %s", p, exc)
            continue
        cols = {header_key(c): c for c in df.columns}
        idc = next((cols[k] for k in (header_key(h) for h in ("teacher_id", "personal no", "personal number", "teacher code", "id")) if k in cols), None)
        nc = next((cols[k] for k in (header_key(h) for h in NAME_HEADERS) if k in cols and cols[k] != idc), None)
        if idc and nc:
            out.update({str(a).strip(): str(b).strip() for a, b in zip(df[idc], df[nc]) if str(b).strip()})
    return out


def read_attendance(folder: str | Path) -> pd.DataFrame | None:
    """``attendance.csv`` of a plan folder, typed (None when absent)."""
    p = Path(folder) / "attendance.csv"
    if not p.is_file():
        return None
    df = pd.read_csv(p, dtype={"cluster_id": str, "teacher_id": str, "school_id": str, "school_name": str}, keep_default_na=False, encoding="utf-8-sig")
    for c in ("teachers", "meetings_planned", "meetings_held", "meetings_attended"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for c in ("attendance_rate", "travel_minutes"):
        df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce")
    df["at_risk"] = df["at_risk"].astype(str).str.lower() == "true"
    return df


__all__ = ["ATTENDANCE_COLUMNS", "attendance_table", "read_attendance", "read_records", "teacher_names"]
