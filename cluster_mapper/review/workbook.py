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
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_mapper.inputs.edits import ACTIONS, EDIT_COLUMNS, EDITS_SHEET

log = logging.getLogger(__name__)

#: Alternatives kept per school group (the nearest first).
MAX_ALTERNATIVES = 5
ALTERNATIVE_COLUMNS = ["school_id", "unit_id", "cluster_id", "venue_school_id", "travel_minutes"]
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


def feasible_alternatives(plan) -> pd.DataFrame:
    """Other clusters each school group of a fresh plan could join within the rules, nearest first.

    A cluster is an alternative for a unit (a school's teachers of one
    cluster type) when it is of the same type and district (or region), its
    venue is within the travel limit (with the edits' travel corrections),
    and it has room for the unit's teachers and, unless the school is already
    in it, one more school. At most :data:`MAX_ALTERNATIVES` per unit.

    Parameters
    ----------
    plan : Plan
        A plan as returned by :func:`cluster_mapper.api.plan` (with its travel times).

    Returns
    -------
    pandas.DataFrame
        :data:`ALTERNATIVE_COLUMNS`; ``travel_minutes`` in minutes.
    """
    u = plan.units
    cl = plan.clusters
    if len(cl) == 0 or len(u) == 0:
        return pd.DataFrame(columns=ALTERNATIVE_COLUMNS)
    cl = cl.copy()
    members = u[u["status"] == "placed"].groupby("cluster_id")["school_id"].apply(set).to_dict()
    # each cluster's region: that of its venue school's unit in it (the first, in unit order)
    at_venue = cl[["cluster_id", "venue_school_id"]].merge(
        u[["cluster_id", "school_id", "region"]], left_on=["cluster_id", "venue_school_id"], right_on=["cluster_id", "school_id"], how="left"
    )
    region = at_venue.drop_duplicates("cluster_id").set_index("cluster_id")["region"]
    cl["region"] = [r if isinstance(r, str) else "" for r in region.reindex(cl["cluster_id"])]
    rows = []
    lookup = plan.travel.lookup()
    inf = float("inf")
    by_type: dict[tuple, list[tuple]] = {}
    at: dict[tuple, list[tuple]] = {}  # clusters of a type by venue school
    for c in cl.itertuples(index=False):
        entry = (c.cluster_id, c.venue_school_id, int(c.n_teachers), int(c.n_schools), members.get(c.cluster_id, set()))
        by_type.setdefault((c.region, c.gender_group, c.level_group), []).append(entry)
        at.setdefault((c.region, c.gender_group, c.level_group, c.venue_school_id), []).append(entry)
    reach: dict[str, list[tuple[str, float]]] = {}  # the schools each school reaches (not itself), with minutes
    for (a, b), m in lookup.items():
        if a != b:
            reach.setdefault(a, []).append((b, m))
    for r in u.itertuples(index=False):
        dp = plan.policy.for_district(r.district)
        limit, n = dp.travel_limit, int(r.n_teachers)
        kind = (r.region, r.gender_group, r.level_group)
        if math.isfinite(limit):  # only the venues within the limit (a cluster elsewhere is never an alternative)
            near = [(r.school_id, 0.0), *((v, m) for v, m in reach.get(r.school_id, ()) if m <= limit)]
            cands = [(e, m) for v, m in near for e in at.get((*kind, v), ())]
        else:
            cands = [(e, 0.0 if e[1] == r.school_id else lookup.get((r.school_id, e[1]), inf)) for e in by_type.get(kind, [])]
        found = []
        for (cid, venue, size, n_schools, inside), m in cands:
            if cid == r.cluster_id:
                continue
            if m > limit or size + n > dp.max_teachers or (r.school_id not in inside and n_schools + 1 > dp.school_limit):
                continue
            found.append((float(m), cid, venue))
        for m, cid, v in sorted(found)[:MAX_ALTERNATIVES]:
            rows.append({"school_id": r.school_id, "unit_id": r.unit_id, "cluster_id": cid, "venue_school_id": v, "travel_minutes": round(m, 1)})
    return pd.DataFrame(rows, columns=ALTERNATIVE_COLUMNS)


def _alternatives_text(alts: pd.DataFrame) -> dict[str, str]:
    """{unit_id: 'CL-1 at S003 (12.5 min); ...'}."""
    out: dict[str, str] = {}
    for unit, g in alts.groupby("unit_id", sort=False):
        out[str(unit)] = "; ".join(f"{c} at {v} ({float(m):g} min)" for c, v, m in zip(g["cluster_id"], g["venue_school_id"], g["travel_minutes"], strict=True))
    return out


def write_workbook(plan_dir: str | Path, xlsx: str | Path) -> Path:
    """Write the plan in ``plan_dir`` as a workbook an office edits; returns its path.

    Sheets: ``clusters`` (``clusters.csv``), ``schools`` (one row per school
    group: cluster, venue, travel, status, reason, alternatives), ``edits``
    (with drop-down lists; see the module docstring) and ``help``.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from cluster_mapper.planning.files import read_plan, read_plan_csv

    pf = read_plan(plan_dir)
    a = pf.assignments.copy()
    a["n"] = pd.to_numeric(a["n_teachers"], errors="coerce").fillna(1).astype(int)
    alts_path = Path(plan_dir) / "alternatives.csv"
    alts = read_plan_csv(alts_path) if alts_path.exists() else pd.DataFrame(columns=ALTERNATIVE_COLUMNS)
    if not alts_path.exists():
        log.warning("%s has no alternatives.csv (written by newer versions); the schools sheet lists no alternatives", plan_dir)
    alt_text = _alternatives_text(alts)
    names = {}
    if pf.geodata is not None:
        s = pf.geodata[pf.geodata["kind"] == "school"]
        names = dict(zip(s["school_id"], s["name"], strict=True))
    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list], first: bool = False):
        ws = wb.active if first else wb.create_sheet(title)
        ws.title = title
        ws.append(header)
        for c in ws[1]:
            c.font = bold
        for r in rows:
            ws.append(["" if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in r])
        ws.freeze_panes = "A2"
        return ws

    cl = pf.clusters
    sheet("clusters", list(cl.columns), cl.values.tolist(), first=True)
    groups = a[a["unit_id"] != ""].groupby(["school_id", "unit_id"], sort=True)
    srows = []
    for (sid, unit), g in groups:
        srows.append(
            [
                sid,
                names.get(sid, ""),
                g["district"].iloc[0],
                unit,
                int(g["n"].sum()),
                g["status"].iloc[0],
                g["cluster_id"].iloc[0],
                g["venue_school_id"].iloc[0],
                g["travel_minutes"].iloc[0],
                g["reason"].iloc[0],
                alt_text.get(str(unit), ""),
                g["edits"].iloc[0] if "edits" in g else "",
            ]
        )
    out_rows = a[a["unit_id"] == ""].groupby("school_id", sort=True)
    for sid, g in out_rows:
        srows.append(
            [
                sid,
                names.get(sid, ""),
                g["district"].iloc[0],
                "",
                int(g["n"].sum()),
                "left out",
                "",
                "",
                "",
                g["reason"].iloc[0],
                "",
                g["edits"].iloc[0] if "edits" in g else "",
            ]
        )
    schools = sheet(
        "schools",
        [
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
        ],
        srows,
    )
    school_ids = sorted(set(a["school_id"]) | set(names))
    # the id lists of the drop-downs (one column each, on a sheet of their own)
    lists = wb.create_sheet("lists")
    lists.append(["action", "school_id", "cluster_id"])
    for i in range(max(len(ACTIONS), len(school_ids), len(cl))):
        lists.append(
            [ACTIONS[i] if i < len(ACTIONS) else None, school_ids[i] if i < len(school_ids) else None, cl["cluster_id"].iloc[i] if i < len(cl) else None]
        )
    edits_csv = Path(plan_dir) / "edits.csv"
    prior = read_plan_csv(edits_csv)[EDIT_COLUMNS].values.tolist() if edits_csv.exists() else []
    ws = sheet(EDITS_SHEET, EDIT_COLUMNS, prior)
    last = 1 + len(prior) + EDIT_ROWS

    def drop_down(column: str, n: int, what: str, title: str) -> DataValidation:
        """A list validation on the ``lists`` sheet's column (``n`` values)."""
        return DataValidation(
            type="list",
            formula1=f"=lists!${column}$2:${column}${1 + max(1, n)}",
            allow_blank=True,
            error=f"Choose {what}.",
            errorTitle=title,
            showErrorMessage=True,
        )

    dv_action = drop_down("A", len(ACTIONS), "an action from the list", "Unknown action")
    dv_school = drop_down("B", len(school_ids), "a school_id of the plan", "Unknown school")
    dv_cluster = drop_down("C", len(cl), "a cluster_id of the plan", "Unknown cluster")
    for dv, cols in ((dv_action, ["A"]), (dv_school, ["B", "C"]), (dv_cluster, ["D"])):
        ws.add_data_validation(dv)
        for c in cols:
            dv.add(f"{c}2:{c}{last}")
    for col, width in zip("ABCDEF", (16, 14, 16, 22, 10, 50), strict=True):
        ws.column_dimensions[col].width = width
    schools.column_dimensions["K"].width = 60
    sheet(
        "help",
        ["action", "columns it needs", "what it does"],
        [list(h) for h in HELP]
        + [
            [],
            ["Every edit is a hard rule. Write a note on every row: it is shown in the plan's report, map and files."],
            ["Re-plan: cluster-mapper plan ... --revise THIS_PLAN_FOLDER --edits THIS_WORKBOOK.xlsx"],
        ],
    )
    xlsx = Path(xlsx)
    xlsx.parent.mkdir(parents=True, exist_ok=True)
    wb.save(xlsx)
    log.info("workbook written to %s (%d clusters, %d school groups)", xlsx, len(cl), len(srows))
    return xlsx


__all__ = ["feasible_alternatives", "write_workbook", "ALTERNATIVE_COLUMNS", "MAX_ALTERNATIVES"]
