"""A project's folder: its input files, plan versions, edits files and downloads.

Layout under the workspace's project folder::

    projects/<id>/inputs/      schools, teachers, road network, policy (copied or uploaded)
    projects/<id>/plans/<n>/   plan version n, as ``cluster-mapper plan`` writes it
    projects/<id>/edits/<n>.csv  the edits that made version n (the edits file's columns)
    projects/<id>/jobs/<n>.json  the running job's progress
    cache/                     travel-time cache shared by the projects

Everything here reads and writes plan folders through the package's public
functions: :func:`~cluster_mapper.read_plan`, the edits file reader
(:func:`~cluster_mapper.inputs.edits.read_edits`) and
:func:`~cluster_mapper.planning.changes.plan_changes` for the diff. Files are
only ever served from inside a project's folder (:func:`inside`).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from cluster_mapper._files import write_atomic
from cluster_mapper.errors import InputError, InputProblem
from cluster_mapper.folder import read_plan
from cluster_mapper.inputs.edits import ACTIONS, EDIT_COLUMNS, REQUIRED, read_edits
from cluster_mapper.planning.changes import MOVES, change_summary, cluster_changes, plan_changes
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.sample import sample_paths

#: Input files a project can have, and the sample file each is copied from (facilitators: for the Support page).
INPUT_KEYS = ("schools", "teachers", "network", "policy", "facilitators")
#: Largest upload accepted, bytes, per kind of file (a district's road network is the largest).
MAX_UPLOAD_BYTES = {"schools": 50_000_000, "teachers": 50_000_000, "network": 500_000_000, "policy": 1_000_000, "facilitators": 10_000_000}
#: File name endings accepted per upload.
UPLOAD_SUFFIXES = {
    "schools": (".csv", ".xlsx", ".ods", ".geojson", ".gpkg"),
    "teachers": (".csv", ".xlsx", ".ods"),
    "network": (".graphml", ".graphml.gz", ".osm", ".osm.bz2", ".osm.pbf", ".json"),
    "policy": (".toml",),
    "facilitators": (".csv", ".xlsx", ".ods", ".geojson"),
}


def inside(folder: str | Path, name: str) -> Path | None:
    """``folder/name`` when it stays inside ``folder`` and is a file, else ``None`` (no ``..``, no links out)."""
    base = Path(folder).resolve()
    target = (base / name).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def new_project_folder(root: Path, project_id: int) -> Path:
    """Make the folder of project ``project_id`` with its sub-folders."""
    folder = root / "projects" / str(project_id)
    for sub in ("inputs", "plans", "edits", "jobs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder


def copy_sample(folder: Path) -> dict[str, str]:
    """Copy the bundled sample's schools, teachers, road network and policy into the project; their paths."""
    files = sample_paths()
    out = {}
    for key in INPUT_KEYS:
        src = Path(files[key])
        dst = folder / "inputs" / src.name
        shutil.copyfile(src, dst)
        out[key] = str(dst)
    return out


def _suffix_ok(kind: str, filename: str) -> bool:
    return filename.lower().endswith(UPLOAD_SUFFIXES[kind])


def check_upload(kind: str, filename: str, head: bytes, size_bytes: int) -> list[InputProblem]:
    """Problems of one uploaded file: unknown kind, type by name and first bytes, size."""
    where = f"upload {kind}"
    if kind not in UPLOAD_SUFFIXES:
        return [InputProblem(where, f"unknown file field '{kind}'.", f"send files as {', '.join(UPLOAD_SUFFIXES)}.")]
    problems = []
    if not _suffix_ok(kind, filename):
        problems.append(InputProblem(where, f"'{filename}' is not a {kind} file type.", f"send one of {', '.join(UPLOAD_SUFFIXES[kind])}."))
    if size_bytes > MAX_UPLOAD_BYTES[kind]:
        problems.append(
            InputProblem(where, f"'{filename}' is {size_bytes:,} bytes, more than {MAX_UPLOAD_BYTES[kind]:,}.", "send a smaller file (cut it to the district).")
        )
    textual = filename.lower().endswith((".csv", ".toml", ".graphml", ".osm", ".json", ".geojson"))
    if textual and b"\x00" in head:
        problems.append(InputProblem(where, f"'{filename}' is named as a text file but holds binary data.", "send the file itself, not another file renamed."))
    zipped = filename.lower().endswith((".xlsx", ".ods"))
    if zipped and not head.startswith(b"PK"):
        problems.append(
            InputProblem(where, f"'{filename}' is not a workbook (it is not a zip archive).", "save it from Excel or LibreOffice as .xlsx or .ods.")
        )
    return problems


def safe_name(filename: str) -> str:
    """The base name of an uploaded file, without folders or odd characters."""
    base = Path(filename.replace("\\", "/")).name
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).lstrip(".")
    return keep or "upload"


def used_fields(row: dict[str, Any]) -> dict[str, Any]:
    """An edit row with only the fields its action uses (a cluster filled in from the map is dropped from an ``apart``)."""
    action = str(row.get("action") or "").strip()
    if action not in REQUIRED:
        return dict(row)
    keep = {"action", "note", *REQUIRED[action]}
    return {k: (v if k in keep or k not in EDIT_COLUMNS else "") for k, v in row.items()}


def write_edits_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write edit rows (dicts with the edits file's columns) as an edits CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=EDIT_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: "" if r.get(c) is None else str(r.get(c)) for c in EDIT_COLUMNS})
    return path


def _problem_row(p: InputProblem) -> dict[str, Any]:
    return {"edit": None if p.row is None else p.row - 1, "row": p.row, "field": p.field, "message": p.message, "fix": p.fix}


def _known_ids(plan_dir: Path) -> tuple[set[str], set[str]]:
    """School ids and cluster ids of a plan folder."""
    saved = read_plan(plan_dir)
    schools = set(saved.assignments["school_id"].astype(str))
    if saved.geodata is not None:
        schools |= set(saved.geodata["school_id"].dropna().astype(str))
    return schools, set(saved.clusters["cluster_id"].astype(str))


def _row_problems(i: int, r: dict[str, Any], schools: set[str], clusters: set[str]) -> list[dict[str, Any]]:
    """Problems of one edit row that need the plan: unknown columns, unknown action, ids not in the plan."""
    out = []
    unknown = sorted(set(r) - set(EDIT_COLUMNS))
    if unknown:
        out.append(
            {"edit": i, "row": i + 1, "field": unknown[0], "message": f"unknown column(s) {', '.join(unknown)}.", "fix": f"use only {', '.join(EDIT_COLUMNS)}."}
        )
    action = str(r.get("action") or "").strip().lower().replace(" ", "_").replace("-", "_")
    if action not in ACTIONS:
        close = difflib.get_close_matches(action, ACTIONS, n=1)
        fix = (f"did you mean '{close[0]}'? " if close else "") + f"use one of {', '.join(ACTIONS)}."
        return out + [{"edit": i, "row": i + 1, "field": "action", "message": f"unknown action '{r.get('action') or ''}'.", "fix": fix}]
    for fld in REQUIRED[action]:
        if not str(r.get(fld) or "").strip():
            out.append(
                {"edit": i, "row": i + 1, "field": fld, "message": f"{action} needs {fld}.", "fix": f"fill in {fld} for this {action} edit, or delete the row."}
            )
    for fld in ("school_id", "other_school_id"):
        sid = str(r.get(fld) or "").strip()
        if sid and sid not in schools:
            out.append(
                {
                    "edit": i,
                    "row": i + 1,
                    "field": fld,
                    "message": f"{action}: school {sid} is not in this plan.",
                    "fix": "use a school_id shown on the plan's map.",
                }
            )
    cid = str(r.get("cluster_id") or "").strip()
    if action == "lock_cluster" and cid and cid not in clusters:
        out.append(
            {
                "edit": i,
                "row": i + 1,
                "field": "cluster_id",
                "message": f"lock_cluster: cluster {cid} is not in this plan.",
                "fix": "use a cluster_id of this plan.",
            }
        )
    return out


def check_edit_rows(rows: list[dict[str, Any]], path: Path, plan_dir: Path) -> list[dict[str, Any]]:
    """Every problem of edit rows before planning; ``edit`` counts the rows from 1, ``row`` is the edits file's row.

    Found here: unknown columns and actions, school ids not in the plan,
    clusters to lock not in it, and what the edits file reader
    (:func:`~cluster_mapper.inputs.edits.read_edits`) refuses in a row (ids
    missing, minutes not a number). The planner checks the rest (rules,
    travel limits, contradictions) when the job starts; a job refused there
    fails with its problems listed on the version.
    """
    if not rows:
        return [{"edit": None, "row": None, "field": "edits", "message": "no edits were given.", "fix": "send at least one edit row."}]
    schools, clusters = _known_ids(plan_dir)
    problems = [p for i, r in enumerate(rows, start=1) for p in _row_problems(i, r, schools, clusters)]
    write_edits_file(path, rows)
    try:
        read_edits(path)
    except InputError as err:
        seen = {(p["row"], p["field"]) for p in problems}
        problems += [_problem_row(p) for p in err.problems if (p.row, p.field) not in seen]
    return sorted(problems, key=lambda p: p["row"] or 0)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def plan_diff(old_dir: Path, new_dir: Path) -> dict[str, Any]:
    """What changed from one plan folder to another: the teachers moved (with why), clusters, counts."""
    a, b = read_plan(old_dir), read_plan(new_dir)
    edits_csv = new_dir / "edits.csv"
    edits_df = read_plan_csv(edits_csv) if edits_csv.exists() else None
    teachers = plan_changes(a.assignments, b.assignments, edits_df)
    clusters = cluster_changes(a.assignments, b.assignments)
    moved = teachers[teachers["change"].isin(MOVES)]
    return {
        "moved": [{k: _clean(v) for k, v in r.items()} for r in moved.to_dict("records")],
        "clusters": [{k: _clean(v) for k, v in r.items()} for r in clusters[clusters["change"] != "kept"].to_dict("records")],
        "summary": json.loads(json.dumps(change_summary(teachers, clusters), default=float)),
    }


def map_features(plan_dir: Path) -> dict[str, Any]:
    """The plan's schools and venues as GeoJSON points for the review map (WGS 84)."""
    saved = read_plan(plan_dir)
    geo = saved.geodata
    if geo is None:
        return {"type": "FeatureCollection", "features": []}
    pts = geo[geo["kind"].isin(["school", "venue"])].copy()
    pts = pts.to_crs(4326) if pts.crs is not None else pts
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    keep = [
        c
        for c in ("kind", "school_id", "name", "cluster_id", "venue_school_id", "travel_minutes", "teachers", "not_placed", "can_host", "reason")
        if c in pts.columns
    ]
    table = pd.DataFrame(pts[keep]).astype(object)
    records = table.where(table.notna(), None).to_dict("records")
    xs, ys = pts.geometry.x.round(6).tolist(), pts.geometry.y.round(6).tolist()
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": {k: _clean(v) for k, v in r.items()}}
        for r, x, y in zip(records, xs, ys)
    ]
    return {"type": "FeatureCollection", "features": features}


def map_features_file(plan_dir: Path, path: Path) -> Path:
    """:func:`map_features` written once as compact JSON at ``path`` (a done plan folder never changes); ``path``.

    The worker writes it when it plans a version, so the review map of a
    programme (10,000 schools) opens without reading the plan folder again.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(map_features(plan_dir), separators=(",", ":"), ensure_ascii=False))
    return path


#: Largest plan folder accepted as a zip, bytes (packed and unpacked).
MAX_PLAN_ZIP_BYTES = 500_000_000


def unzip_plan(data: bytes, dest: Path) -> list[str]:
    """Unpack a zipped plan folder into ``dest``; the problems that refused it (nothing unpacked then).

    Refused: not a zip, too large, a member outside the folder (absolute or
    with ``..``), no ``assignments.csv``, ``clusters.csv`` and ``summary.json``
    (at the top or in one folder).
    """
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return ["the file is not a zip archive; download a plan folder as zip, or zip the folder written by cluster-mapper plan."]
    names = [i.filename for i in z.infolist() if not i.is_dir()]
    problems = [f"'{n}' would be written outside the plan folder." for n in names if n.startswith(("/", "\\")) or ".." in Path(n).parts]
    if sum(i.file_size for i in z.infolist()) > MAX_PLAN_ZIP_BYTES:
        problems.append(f"the plan unpacks to more than {MAX_PLAN_ZIP_BYTES:,} bytes.")
    tops = {Path(n).parts[0] for n in names if len(Path(n).parts) > 1}
    prefix = ""
    if "summary.json" not in names and len(tops) == 1:
        prefix = tops.pop() + "/"
    missing = [f for f in ("assignments.csv", "clusters.csv", "summary.json") if prefix + f not in names]
    if missing:
        problems.append(f"this is not a plan folder (missing {', '.join(missing)}); zip the folder written by cluster-mapper plan.")
    if problems:
        return problems
    dest.mkdir(parents=True, exist_ok=True)
    for n in names:
        target = dest / n[len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(z.read(n))
    return []


def zip_folder(folder: Path) -> bytes:
    """The plan folder as a zip archive (its files at the archive's top level)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(folder).as_posix())
    return buf.getvalue()


__all__ = [
    "ACTIONS",
    "EDIT_COLUMNS",
    "INPUT_KEYS",
    "MAX_UPLOAD_BYTES",
    "inside",
    "new_project_folder",
    "copy_sample",
    "check_upload",
    "safe_name",
    "write_edits_file",
    "used_fields",
    "check_edit_rows",
    "plan_diff",
    "map_features",
    "map_features_file",
    "zip_folder",
    "unzip_plan",
]
