"""Plan files: write a plan directory completely or not at all, and read it back.

A plan directory holds ``assignments.csv`` (one row per teacher, or per
school group for count input; its ``edits`` column names the edits on the
teacher's school, with their notes), ``clusters.csv``, ``clusters.geojson``
(schools, venues, member-to-venue lines and cluster hulls) and
``summary.json`` (objective, proven lower bound, gap, travel source, policy,
input files and their hashes; for a revision the previous plan and counts
of what changed), and for a revision or edits ``changes.csv`` (per teacher:
moved or not, and why) and ``edits.csv`` (the edits honoured);
``alternatives.csv`` lists, per school group, the other clusters it could
join within the rules, with travel minutes. Files are first written to a temporary folder
beside the target and moved into place at the end, so an interrupted run
leaves the previous plan as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import geopandas as gpd
import networkx as nx
import pandas as pd
from shapely.geometry import LineString, MultiPoint

from cluster_mapper import __version__
from cluster_mapper.errors import fail
from cluster_mapper.policy.rules import Policy, policy_from_dict

log = logging.getLogger(__name__)

#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Cells that get a leading apostrophe: formulas, and cells already starting with one.
_ESCAPED = (*FORMULA_START, "'")
ASSIGNMENT_COLUMNS = [
    "teacher_id",
    "school_id",
    "unit_id",
    "district",
    "cluster_id",
    "venue_school_id",
    "travel_minutes",
    "status",
    "reason",
    "suggestion",
    "gender",
    "level",
    "role",
    "n_teachers",
    "subject",
    "edits",
]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    A cell that already starts with an apostrophe gets one more, so that
    :func:`restore_formulas` gives every value back exactly.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [("'" + v) if isinstance(v, str) and v.startswith(_ESCAPED) else v for v in out[col]]
    return out


def restore_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` when reading a plan back."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [v[1:] if isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1:].startswith(_ESCAPED) else v for v in out[col]]
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV that is safe to open in a spreadsheet (UTF-8 with BOM for Excel)."""
    neutralise_formulas(df).to_csv(path, index=False, encoding="utf-8-sig")


def read_plan_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`, ids kept as text."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return restore_formulas(df)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = renameat2(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    return rc == 0


def recover_interrupted(out: str | Path) -> list[str]:
    """Clean up after a run that was killed while replacing ``out`` (SIGKILL, power loss).

    Leftover ``.NAME.writing-PID-*`` folders of dead processes are removed; if
    ``out`` is missing but a ``.NAME.old-PID`` folder of a dead process holds
    the previous plan, it is put back. Returns what was done, for the user.
    """
    out = Path(out).resolve()
    done: list[str] = []
    if not out.parent.is_dir():
        return done
    for p in sorted(out.parent.glob(f".{out.name}.*-*")):
        kind, _, rest = p.name[len(out.name) + 2 :].partition("-")
        try:
            pid = int(rest.split("-")[0])
        except ValueError:
            continue
        if kind not in ("writing", "old") or _pid_alive(pid):  # a live process (or this one) may still be writing
            continue
        if kind == "old" and not out.exists():
            os.replace(p, out)
            done.append(f"restored the previous plan in {out} from an interrupted run")
        else:
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name} left by an interrupted run")
    return done


@contextlib.contextmanager
def atomic_directory(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out`` in one move.

    If the block raises (an error, Ctrl-C), the temporary folder is removed
    and ``out`` keeps its previous content. On Linux the old and new folders
    are swapped in one atomic ``renameat2(RENAME_EXCHANGE)``, so ``out`` is
    complete at every instant, even if the process is killed; elsewhere there
    is a short window between two renames, and :func:`recover_interrupted`
    (run at the start of every write) puts the previous plan back after a kill.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.writing-{os.getpid()}-", dir=out.parent))
    try:
        yield tmp
        if out.exists() and _exchange(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous plan
            return
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def plan_geodata(plan) -> gpd.GeoDataFrame:
    """Schools, venues, member lines and hulls of a plan as one GeoDataFrame (EPSG:4326)."""
    schools = plan.inputs.schools
    units = plan.units
    feats = []
    t = plan.teachers
    counts = t.groupby(["school_id", "gender", "level"])["n_teachers"].sum()
    by: dict[str, dict[str, int]] = {}
    for (sid, g, lvl), n in counts.items():
        by.setdefault(sid, {})[f"{g}_{lvl}"] = int(n)
    # each school's and each cluster's units, gathered in one pass over the units (in their order)
    of_school: dict[str, list] = {}
    of_cluster: dict[str, list] = {}
    for u in units[["school_id", "cluster_id", "travel_minutes", "status", "n_teachers", "reason", "suggestion"]].itertuples(index=False):
        of_school.setdefault(u.school_id, []).append(u)
        of_cluster.setdefault(u.cluster_id, []).append(u)
    geom = dict(zip(schools["school_id"], schools.geometry, strict=True))
    name = dict(zip(schools["school_id"], schools["name"], strict=True))
    for sid, sname, district, gender, can_host, g in zip(
        schools["school_id"], schools["name"], schools["district"], schools["gender"], schools["can_host"], schools.geometry, strict=True
    ):
        su = of_school.get(sid, [])
        minutes = [float(x.travel_minutes) for x in su if pd.notna(x.travel_minutes)]
        feats.append(
            {
                "kind": "school",
                "school_id": sid,
                "name": sname,
                "district": district,
                "school_gender": gender,
                "can_host": bool(can_host),
                "cluster_id": ";".join(sorted(x.cluster_id for x in su if x.cluster_id)),
                "travel_minutes": max(minutes) if minutes else None,
                "teachers": json.dumps(by.get(sid, {})),
                "not_placed": int(sum(int(x.n_teachers) for x in su if x.status != "placed")),
                "reason": " | ".join(x.reason for x in su if x.reason),
                "suggestion": " | ".join(x.suggestion for x in su if x.suggestion),
                "geometry": g,
            }
        )
    for c in plan.clusters.itertuples(index=False):
        members = of_cluster.get(c.cluster_id, [])
        venue = geom[c.venue_school_id]
        base = {
            "cluster_id": c.cluster_id,
            "district": c.district,
            "gender_group": c.gender_group,
            "level_group": c.level_group,
            "venue_school_id": c.venue_school_id,
            "n_teachers": c.n_teachers,
            "n_schools": c.n_schools,
        }
        feats.append({**base, "kind": "venue", "school_id": c.venue_school_id, "name": name[c.venue_school_id], "geometry": venue})
        for m in members:
            if m.school_id != c.venue_school_id:
                feats.append(
                    {
                        **base,
                        "kind": "member_line",
                        "school_id": m.school_id,
                        "name": name[m.school_id],
                        "travel_minutes": float(m.travel_minutes),
                        "geometry": LineString([geom[m.school_id], venue]),
                    }
                )
        pts = MultiPoint([geom[m.school_id] for m in members])
        feats.append({**base, "kind": "hull", "geometry": pts.convex_hull})
    return gpd.GeoDataFrame(feats, geometry="geometry", crs="EPSG:4326")


def plan_summary(plan) -> dict:
    """The ``summary.json`` content of a plan."""
    travel_spec = plan.travel_spec or {"source": plan.travel.source}
    inputs = {
        "schools": plan.inputs.schools_path,
        "teachers": plan.inputs.teachers_path,
        "policy": plan.policy_path,
        **{k: v for k, v in travel_spec.items() if k.endswith("_path")},
    }
    edits = getattr(plan, "edits", None)
    if edits is not None:
        inputs["edits"] = str(Path(edits.path).resolve())
    from cluster_mapper.inputs.tables import split_sheet

    files = {k: split_sheet(v)[0] for k, v in inputs.items() if v}  # a workbook's sheet: the workbook's hash
    hashes = {k: file_sha256(f) for k, f in files.items() if f.is_file()}
    t = plan.teachers
    schools = plan.inputs.schools
    placed = t[t["status"] == "placed"]
    travel_m = placed["travel_minutes"].astype(float)
    summary = {
        "cluster_mapper_version": __version__,
        "status": plan.status,
        "objective": round(plan.objective, 4),
        "objective_kind": sorted({plan.policy.for_district(d).objective for d in plan.units["district"].unique()} or {plan.policy.default.objective}),
        "lower_bound": round(plan.lower_bound, 4),
        "gap": round(plan.gap, 6),
        "placement_proven_maximal": plan.placement_proven,
        "solve_seconds": round(plan.solve_seconds, 2),
        "backend": plan.backend,
        "travel_source": plan.travel.source,
        "travel": travel_spec,
        "travel_notes": plan.travel.notes,
        "schools_off_network": sorted(plan.travel.snaps.loc[plan.travel.snaps["off_network"], "school_id"].tolist()) if len(plan.travel.snaps) else [],
        "clusters": int(len(plan.clusters)),
        "kept_clusters": int(plan.kept_clusters),
        "teachers_total": int(t["n_teachers"].sum()),
        "teachers_placed": plan.teachers_placed,
        "teachers_not_placed": plan.teachers_not_placed,
        "head_teachers_left_out": int(t.loc[plan.policy.left_out(t), "n_teachers"].sum()),
        "mean_travel_minutes": round(float((travel_m * placed["n_teachers"].astype(float)).sum() / max(1, placed["n_teachers"].sum())), 2),
        "max_travel_minutes": round(float(travel_m.max()), 2) if len(travel_m) else 0.0,
        "counts_input": plan.inputs.counts_input,
        "schools_generated": bool(len(schools) and "generated" in schools and schools["generated"].any()),
        "policy": plan.policy.to_dict(),
        "inputs": inputs,
        "input_sha256": hashes,
        "notes": plan.notes,
        "revised_from": getattr(plan, "revised_from", None),
        "edits": None
        if edits is None
        else {
            "file": str(Path(edits.path).resolve()),
            "rows": len(edits.rows),
            "actions": {a: len(edits.of(a)) for a in sorted({e.action for e in edits.rows})},
        },
        "changes": _changes_summary(plan),
    }
    if getattr(plan, "support", None) is not None:  # facilitators: figures, file and hash
        from cluster_mapper.support.files import add_to_summary

        add_to_summary(summary, plan.support)
    return summary


def _changes_summary(plan) -> dict | None:
    """Counts of what changed since the revised plan (None when the plan revises none)."""
    changes = getattr(plan, "changes", None)
    if changes is None or getattr(plan, "previous", None) is None:
        return None
    from cluster_mapper.planning.changes import change_summary, cluster_changes

    return change_summary(changes, cluster_changes(plan.previous, plan.assignments))


def check_output_folder(out: str | Path) -> None:
    """Refuse an ``--out`` that is not a plan folder: a plan replaces its whole folder.

    Allowed: a path that does not exist, an empty folder, or a folder written
    by ``cluster-mapper plan`` (it has a ``summary.json`` of ours). A file, or
    a folder with other content (``--out .`` or ``--out ~/Documents`` by
    mistake), would be deleted by the replacement, so it is refused.
    """
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        fail(
            out,
            "--out names an existing file; a plan is a folder and would replace it.",
            fix="give a new folder name for --out, such as outputs/plan.",
            field="out",
        )
    # a programme run's checkpoints (cluster_mapper.programme.run) belong to the plan being made
    entries = [e for e in out.iterdir() if e.name != ".programme"]
    if not entries:
        return
    summary = out / "summary.json"
    try:
        ours = "cluster_mapper_version" in json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        ours = False
    if not ours:
        shown = ", ".join(sorted(e.name for e in entries)[:3])
        fail(
            out,
            f"--out is a folder that holds other files ({shown}{', ...' if len(entries) > 3 else ''}), not a plan; writing the plan would delete them.",
            fix="give a new or empty folder for --out, such as outputs/plan.",
            field="out",
        )


def write_plan(plan, out: str | Path, *, review: bool = True, extra_tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write all plan files to ``out`` atomically, with the map and report unless ``review`` is False.

    ``extra_tables`` are more CSV files to write with the plan (name to table),
    such as a programme's ``districts.csv``.

    ``out`` must be new, empty, or an earlier plan folder (see
    :func:`check_output_folder`); it is replaced only when every file is
    written, so an interrupted run leaves the previous plan as it was.
    """
    check_output_folder(out)
    summary = plan.summary
    geo = plan.geodata
    with atomic_directory(out) as tmp:
        write_csv(plan.assignments, tmp / "assignments.csv")
        write_csv(plan.clusters, tmp / "clusters.csv")
        if getattr(plan, "edits", None) is not None:
            write_csv(plan.edits.to_frame(), tmp / "edits.csv")
        if getattr(plan, "changes", None) is not None:
            write_csv(plan.changes, tmp / "changes.csv")
        from cluster_mapper.review.workbook import feasible_alternatives

        write_csv(feasible_alternatives(plan), tmp / "alternatives.csv")
        for name, table in (extra_tables or {}).items():
            write_csv(table, tmp / name)
        geo.to_file(tmp / "clusters.geojson", driver="GeoJSON", engine="pyogrio")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        support = getattr(plan, "support", None)
        if support is not None:  # support.csv, itineraries.csv, gpx/
            from cluster_mapper.support.files import write_support_files

            write_support_files(support, tmp, dict(zip(plan.inputs.schools["school_id"], plan.inputs.schools["name"])))
        if review:
            write_review(SavedPlan(tmp, plan.assignments, plan.clusters, summary, geo, plan.policy, plan.network, support=support), tmp)
    return Path(out)


def write_review(plan, folder: str | Path) -> None:
    """Write ``map.html`` and ``report.html`` of a plan into ``folder``."""
    from cluster_mapper.review.map import write_map
    from cluster_mapper.review.report import write_report

    write_map(plan, folder)
    write_report(plan, folder)


@dataclass
class SavedPlan:
    """A plan as the review needs it: its tables, summary, geometry, policy and road network.

    Read from a plan folder by :func:`read_plan`, or made from a fresh
    :class:`~cluster_mapper.planning.solve.Plan` when it is written. ``network`` is
    the road network the plan was made on; for a plan read from disk it is
    read from the file named in ``summary.json`` the first time it is asked
    for (``None`` when the plan used no network or the file is gone).
    """

    directory: Path
    assignments: pd.DataFrame
    clusters: pd.DataFrame
    summary: dict
    geodata: gpd.GeoDataFrame | None
    policy: Policy
    _network: nx.MultiDiGraph | None = None
    #: Who supports each cluster (a :class:`~cluster_mapper.support.SupportPlan`), when the plan has support files.
    support: Any = None

    @property
    def network(self) -> nx.MultiDiGraph | None:
        if self._network is None:
            self._network = _saved_network(self.summary, self.policy)
        return self._network


#: A saved plan's road network file larger than this is not read again for its map.
MAX_REVIEW_NETWORK_BYTES = 200 * 1024 * 1024


def _saved_network(summary: dict, policy: Policy) -> nx.MultiDiGraph | None:
    path = (summary.get("travel") or {}).get("network_path")
    if not path or not Path(path).is_file():
        return None
    if Path(path).stat().st_size > MAX_REVIEW_NETWORK_BYTES:
        log.warning("road network %s is too large to draw again; the map is drawn without it", path)
        return None
    from cluster_mapper.travel.network import load_network

    try:
        return load_network(path, policy.travel)
    except Exception as exc:  # the map and report are still useful without roads
        log.warning("road network %s could not be read: %s", path, exc)
        return None


def read_plan(directory: str | Path) -> SavedPlan:
    """Read a plan folder written by :func:`write_plan`: the one plan reader."""
    d = Path(directory)
    missing = [f for f in ("assignments.csv", "clusters.csv", "summary.json") if not (d / f).exists()]
    if missing:
        fail(d, f"this is not a complete plan directory (missing {', '.join(missing)}).", fix="give the --out folder of a finished `cluster-mapper plan` run.")
    geo = gpd.read_file(d / "clusters.geojson", engine="pyogrio") if (d / "clusters.geojson").exists() else None
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    policy = policy_from_dict(summary.get("policy") or {}, source=str(d / "summary.json"))
    from cluster_mapper.support.files import read_support

    return SavedPlan(d, read_plan_csv(d / "assignments.csv"), read_plan_csv(d / "clusters.csv"), summary, geo, policy, support=read_support(d, summary))


__all__ = [
    "write_plan",
    "write_review",
    "read_plan",
    "SavedPlan",
    "plan_summary",
    "atomic_directory",
    "recover_interrupted",
    "check_output_folder",
    "write_csv",
    "read_plan_csv",
    "file_sha256",
    "plan_geodata",
]
