"""The workbook round trip: a plan out to Excel or LibreOffice, edits back in.

:func:`feasible_alternatives` lists, for every school group of a plan, the
other clusters it could join within the rules (same cluster type, within the
travel limit, room for its teachers and one more school), with travel
minutes. A plan folder keeps them in ``alternatives.csv``; the map shows them
in each school's popup and the workbook in the ``schools`` sheet.

:func:`write_workbook` (``cluster-mapper export PLAN_DIR --xlsx FILE``)
writes the sheets ``clusters``, ``schools`` (each school group with its
cluster and alternatives), ``edits`` (the plan's edits, if any, then empty
rows with drop-down lists for ``action``, the school ids and the cluster
ids) and ``help``. The same workbook is read by ``--edits``
(:func:`cluster_mapper.inputs.edits.read_edits` reads its ``edits`` sheet).

Text is stored as text, never as a formula (a name or note starting with
``=`` stays that text and comes back unchanged as an edit); numbers are
stored as numbers (:func:`is_number_column`). The file is written to a
temporary file beside it and moved into place, so it is whole at every
instant.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_mapper._files import atomic_path
from cluster_mapper.inputs.edits import ACTIONS, EDIT_COLUMNS, EDITS_SHEET
from cluster_mapper.planning.alternatives import ALTERNATIVE_COLUMNS
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.planning.files import read_saved_plan as read_plan

log = logging.getLogger(__name__)

#: Empty rows of the edits sheet that get drop-down lists.
EDIT_ROWS = 500

HELP = [
    ("lock_cluster", "cluster_id", "keep this cluster of the plan exactly (same teachers, same venue); re-plan with --revise"),
    ("together", "school_id, other_school_id", "their teachers of the same cluster type meet in the same cluster"),
    ("apart", "school_id, other_school_id", "never in the same cluster"),
    ("venue", "school_id", "this school hosts the cluster it is in"),
    ("no_venue", "school_id", "this school hosts no cluster"),
    ("travel_minutes", "school_id, other_school_id, minutes", "travel time between the two schools, both ways (impassable: no way through)"),
    ("exclude", "school_id", "leave the school out (closed, merged); the note is given as the reason"),
]


def _alternatives_text(alts: pd.DataFrame) -> dict[str, str]:
    """{unit_id: 'CL-1 at S003 (12.5 min); ...'}."""
    out: dict[str, str] = {}
    for unit, g in alts.groupby("unit_id", sort=False):
        out[str(unit)] = "; ".join(f"{c} at {v} ({float(m):g} min)" for c, v, m in zip(g["cluster_id"], g["venue_school_id"], g["travel_minutes"], strict=True))
    return out


#: Columns of the workbook that hold numbers (stored as numbers: sums and sorting work, no "number stored as text").
NUMBER_COLUMNS = frozenset({"teachers", "minutes", "row"})


def is_number_column(header: str) -> bool:
    """Whether a column of the plan's tables holds numbers (``n_*``, ``*_minutes``, ``*_metres``, counts); ids never do."""
    h = str(header)
    return h in NUMBER_COLUMNS or h.startswith("n_") or h.endswith(("_minutes", "_metres", "_km"))


def cell_value(value: Any, *, number: bool = False) -> Any:
    """A value as the workbook stores it: empty for missing, a number in a number column when it reads as one, else as given."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if number and isinstance(value, str) and value.strip():
        try:
            v = float(value)
        except ValueError:
            return value  # "impassable" and other words stay text
        if not math.isfinite(v):
            return value
        return int(v) if v.is_integer() and not any(ch in value for ch in ".eE") else v
    if isinstance(value, np.generic):
        return value.item()
    return value


def keep_text(cells) -> None:
    """Store every text cell as text: one that starts with ``=`` would otherwise become a live formula."""
    for c in cells:
        if isinstance(c.value, str) and c.data_type == "f":
            c.data_type = "s"
            c.quotePrefix = True  # and Excel keeps it text when the cell is edited


SCHOOL_COLUMNS = [
    "school_id",
    "name",
    "district",
    "teacher_group",
    "teachers",
    "status",
    "cluster_id",
    "venue_school_id",
    "travel_minutes",
    "reason",
    "other clusters within the rules (travel minutes)",
    "edits",
]


def _sheet(wb, title: str, header: list[str], rows: list[list], *, first: bool = False):
    """A sheet with a bold, frozen header; text kept text, numbers in number columns stored as numbers."""
    from openpyxl.styles import Font

    ws = wb.active if first else wb.create_sheet(title)
    ws.title = title
    ws.append(header)
    for c in ws[1]:
        c.font = Font(bold=True)
    numeric = [is_number_column(h) for h in header]
    for r in rows:
        ws.append([cell_value(v, number=k < len(numeric) and numeric[k]) for k, v in enumerate(r)])
        keep_text(ws[ws.max_row])
    ws.freeze_panes = "A2"
    return ws


def _school_rows(a: pd.DataFrame, names: dict, alt_text: dict[str, str]) -> list[list]:
    """One row per school group (its cluster, travel, status, alternatives), then the schools left out."""
    rows = []
    for (sid, unit), g in a[a["unit_id"] != ""].groupby(["school_id", "unit_id"], sort=True):
        first = g.iloc[0]
        rows.append(
            [
                sid,
                names.get(sid, ""),
                first["district"],
                unit,
                int(g["n"].sum()),
                first["status"],
                first["cluster_id"],
                first["venue_school_id"],
                first["travel_minutes"],
                first["reason"],
                alt_text.get(str(unit), ""),
                first["edits"] if "edits" in g else "",
            ]
        )
    for sid, g in a[a["unit_id"] == ""].groupby("school_id", sort=True):
        first = g.iloc[0]
        rows.append(
            [
                sid,
                names.get(sid, ""),
                first["district"],
                "",
                int(g["n"].sum()),
                "left out",
                "",
                "",
                "",
                first["reason"],
                "",
                first["edits"] if "edits" in g else "",
            ]
        )
    return rows


def _drop_down(column: str, n: int, what: str, title: str):
    """A list validation on the ``lists`` sheet's column (``n`` values)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    return DataValidation(
        type="list",
        formula1=f"=lists!${column}$2:${column}${1 + max(1, n)}",
        allow_blank=True,
        error=f"Choose {what}.",
        errorTitle=title,
        showErrorMessage=True,
    )


def _edits_sheet(wb, plan_dir: Path, school_ids: list[str], cluster_ids: list[str]) -> None:
    """The ``lists`` sheet (ids of the drop-downs) and the ``edits`` sheet: the plan's edits, then empty rows with drop-downs."""
    lists = wb.create_sheet("lists")
    lists.append(["action", "school_id", "cluster_id"])
    for i in range(max(len(ACTIONS), len(school_ids), len(cluster_ids))):
        lists.append(
            [ACTIONS[i] if i < len(ACTIONS) else None, school_ids[i] if i < len(school_ids) else None, cluster_ids[i] if i < len(cluster_ids) else None]
        )
        keep_text(lists[lists.max_row])
    edits_csv = plan_dir / "edits.csv"
    prior = read_plan_csv(edits_csv)[EDIT_COLUMNS].values.tolist() if edits_csv.exists() else []
    ws = _sheet(wb, EDITS_SHEET, EDIT_COLUMNS, prior)
    last = 1 + len(prior) + EDIT_ROWS
    dv_action = _drop_down("A", len(ACTIONS), "an action from the list", "Unknown action")
    dv_school = _drop_down("B", len(school_ids), "a school_id of the plan", "Unknown school")
    dv_cluster = _drop_down("C", len(cluster_ids), "a cluster_id of the plan", "Unknown cluster")
    for dv, cols in ((dv_action, ["A"]), (dv_school, ["B", "C"]), (dv_cluster, ["D"])):
        ws.add_data_validation(dv)
        for c in cols:
            dv.add(f"{c}2:{c}{last}")
    for col, width in zip("ABCDEF", (16, 14, 16, 22, 10, 50), strict=True):
        ws.column_dimensions[col].width = width


def write_workbook(plan_dir: str | Path, xlsx: str | Path) -> Path:
    """Write the plan in ``plan_dir`` as a workbook an office edits; returns its path.

    Sheets: ``clusters`` (``clusters.csv``), ``schools`` (one row per school
    group: cluster, venue, travel, status, reason, alternatives), ``edits``
    (with drop-down lists; see the module docstring) and ``help``. Written
    to a temporary file beside ``xlsx`` and moved into place.
    """
    from openpyxl import Workbook

    pf = read_plan(plan_dir)
    a = pf.assignments.copy()
    a["n"] = pd.to_numeric(a["n_teachers"], errors="coerce").fillna(1).astype(int)
    alts_path = Path(plan_dir) / "alternatives.csv"
    alts = read_plan_csv(alts_path) if alts_path.exists() else pd.DataFrame(columns=ALTERNATIVE_COLUMNS)
    if not alts_path.exists():
        log.warning("%s has no alternatives.csv (written by newer versions); the schools sheet lists no alternatives", plan_dir)
    names = {}
    if pf.geodata is not None:
        s = pf.geodata[pf.geodata["kind"] == "school"]
        names = dict(zip(s["school_id"], s["name"], strict=True))
    wb = Workbook()
    cl = pf.clusters
    _sheet(wb, "clusters", list(cl.columns), cl.values.tolist(), first=True)
    srows = _school_rows(a, names, _alternatives_text(alts))
    schools = _sheet(wb, "schools", SCHOOL_COLUMNS, srows)
    schools.column_dimensions["K"].width = 60
    _edits_sheet(wb, Path(plan_dir), sorted(set(a["school_id"]) | set(names)), list(cl["cluster_id"]))
    notes = [
        [],
        ["Every edit is a hard rule. Write a note on every row: it is shown in the plan's report, map and files."],
        ["Re-plan: cluster-mapper plan ... --revise THIS_PLAN_FOLDER --edits THIS_WORKBOOK.xlsx"],
    ]
    _sheet(wb, "help", ["action", "columns it needs", "what it does"], [list(h) for h in HELP] + notes)
    xlsx = Path(xlsx)
    xlsx.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(xlsx) as tmp:  # a full disk or Ctrl-C leaves any earlier workbook as it was
        wb.save(tmp)
    log.info("workbook written to %s (%d clusters, %d school groups)", xlsx, len(cl), len(srows))
    return xlsx


__all__ = ["write_workbook", "ALTERNATIVE_COLUMNS"]
