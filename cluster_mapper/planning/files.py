"""Plan files: the cluster tables, geometry and summary of a plan, and reading a plan folder back.

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
leaves the previous plan as it was (:mod:`cluster_mapper.folder` composes and writes the folder).
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import pandas as pd
from shapely.geometry import LineString, MultiPoint

from cluster_mapper._files import file_sha256, read_plan_csv
from cluster_mapper._version import __version__
from cluster_mapper.errors import InputError, InputProblem, fail
from cluster_mapper.inputs.tables import split_sheet
from cluster_mapper.planning.changes import change_summary, cluster_changes
from cluster_mapper.policy.load import policy_from_dict
from cluster_mapper.policy.rules import Policy
from cluster_mapper.travel.network import load_network

log = logging.getLogger(__name__)

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


def named_assignments(plan) -> pd.DataFrame:
    """``assignments.csv``: the plan's assignments with ``school_name`` and, when the roster has names, ``teacher_name`` beside the ids."""
    a = plan.assignments.copy()
    roster = getattr(plan.inputs, "teachers", None)
    name_col = next((c for c in ("teacher_name", "name") if roster is not None and c in roster.columns), None)
    if roster is not None and name_col is not None and "teacher_name" not in a.columns:
        names = dict(zip(roster["teacher_id"].astype(str), roster[name_col].fillna("").astype(str), strict=False))
        if any(names.values()):
            a.insert(a.columns.get_loc("teacher_id") + 1, "teacher_name", [names.get(str(t), "") for t in a["teacher_id"]])
    if "school_name" not in a.columns:
        schools = plan.inputs.schools
        names = dict(zip(schools["school_id"], schools["name"], strict=True))
        a.insert(a.columns.get_loc("school_id") + 1, "school_name", [names.get(s, "") for s in a["school_id"]])
    return a


def plan_summary(plan) -> dict:
    """The ``summary.json`` content of a plan."""
    travel_spec = dict(plan.travel_spec or {"source": plan.travel.source})
    for k in [k for k in travel_spec if k.endswith("_path") and travel_spec[k]]:
        travel_spec[k] = absolute_input(travel_spec[k])
    inputs = {
        "schools": plan.inputs.schools_path,
        "teachers": plan.inputs.teachers_path,
        "policy": plan.policy_path,
        **{k: v for k, v in travel_spec.items() if k.endswith("_path")},
    }
    edits = getattr(plan, "edits", None)
    if edits is not None:
        inputs["edits"] = str(edits.path)
    inputs = {k: absolute_input(v) if v else v for k, v in inputs.items()}
    recorded = {k: v for k, v in inputs.items() if v}
    recorded.update({f"elevation_{i}": str(p) for i, p in enumerate(plan.policy.travel.elevation, 1)})
    hashes = {k: file_sha256(f) for k, f in ((k, split_sheet(v)[0]) for k, v in recorded.items()) if f.is_file()}  # a workbook's sheet: the workbook's hash
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
            "file": inputs["edits"],
            "rows": len(edits.rows),
            "actions": {a: len(edits.of(a)) for a in sorted({e.action for e in edits.rows})},
        },
        "changes": _changes_summary(plan),
    }
    return summary


#: What each input recorded in ``summary.json`` is, in messages.
INPUT_WORDS = {
    "schools": "schools file",
    "teachers": "roster",
    "policy": "policy file",
    "network_path": "road network",
    "matrix_path": "travel-time table",
    "edits": "edits file",
    "facilitators": "facilitators file",
    "revised_from": "previous plan folder",
}


def input_word(key: str) -> str:
    """``"teachers"`` -> ``"roster"``; ``"elevation_2"`` -> ``"elevation raster 2"``."""
    if key.startswith("elevation_"):
        return f"elevation raster {key.rpartition('_')[2]}"
    return INPUT_WORDS.get(key, key)


def absolute_input(text: str | Path) -> str:
    """An input's path made absolute, keeping a workbook's ``#Sheet``."""
    path, sheet = split_sheet(text)
    return str(path.resolve()) + (f"#{sheet}" if sheet else "")


def _recorded_paths(summary: dict) -> dict[str, str]:
    """Every input a summary names (files, elevation rasters, the revised plan's folder), by key."""
    out = {k: str(v) for k, v in (summary.get("inputs") or {}).items() if v}
    for i, p in enumerate((summary.get("policy") or {}).get("elevation") or [], 1):
        out[f"elevation_{i}"] = str(p)
    if summary.get("revised_from"):
        out["revised_from"] = str(summary["revised_from"])
    return out


def record_inputs(summary: dict, folder: str | Path) -> dict:
    """Add ``input_files`` to a summary (in place): each input's absolute path, its path from the plan folder, and SHA-256.

    The relative path is what lets the plan travel: a project folder (inputs
    and plans together) copied or moved elsewhere still finds its inputs.
    The SHA-256 is the one taken when the plan was made (``input_sha256``).
    An input no longer found keeps the record it had.
    """
    folder = Path(folder).resolve()
    hashes = summary.setdefault("input_sha256", {})
    before = summary.get("input_files") or {}
    files: dict[str, dict] = {}
    for key, text in _recorded_paths(summary).items():
        path, sheet = split_sheet(text)
        if not path.exists() and key in before:
            files[key] = before[key]
            continue
        tail = f"#{sheet}" if sheet else ""
        absolute = path.resolve()
        try:
            relative: str | None = Path(os.path.relpath(absolute, folder)).as_posix() + tail
        except ValueError:  # another drive (Windows): no relative path
            relative = None
        entry: dict = {"path": f"{absolute}{tail}", "relative": relative}
        if absolute.is_file():
            if key not in hashes:
                hashes[key] = file_sha256(absolute)
            entry["sha256"] = hashes[key]
        files[key] = entry
    summary["input_files"] = files
    return summary


@dataclass
class LocatedInputs:
    """Where a plan's inputs are now: found (key to path), missing (key to where they were looked for), changed since planning."""

    found: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)

    def problems(self, directory: str | Path, keys: list[str] | None = None) -> list[InputProblem]:
        """One problem per missing input among ``keys`` (all when None), saying where it was looked for and how to point at it."""
        out = []
        for key, places in self.missing.items():
            if keys is not None and key not in keys and not (key.startswith("elevation_") and "elevation" in keys):
                continue
            where = " nor ".join(places)
            out.append(
                InputProblem(
                    str(Path(directory) / "summary.json"),
                    f"the plan's {input_word(key)} is not found: not at {where}.",
                    f"put the file back at {places[0]} (keep the inputs and the plan folders together in one project folder, "
                    "as when the plan was made), or re-plan with the file where it is now.",
                    field=f"input_files.{key}",
                )
            )
        return out

    def require(self, directory: str | Path, keys: list[str]) -> None:
        """Raise :class:`InputError` naming every missing input among ``keys``."""
        problems = self.problems(directory, keys)
        if problems:
            raise InputError(problems)


def locate_inputs(summary: dict, directory: str | Path, *, verify: bool = False) -> LocatedInputs:
    """Find a plan's inputs: beside the plan folder as recorded (relative), else at the recorded absolute path.

    Where both exist and differ, the one whose SHA-256 matches the record is
    taken. With ``verify``, every found file is hashed and those whose bytes
    differ from the record are listed in ``changed``.
    """
    d = Path(directory).resolve()
    hashes = summary.get("input_sha256") or {}
    records = summary.get("input_files") or {k: {"path": v, "relative": None} for k, v in _recorded_paths(summary).items()}
    located = LocatedInputs()
    for key, rec in records.items():
        want = rec.get("sha256") or hashes.get(key)
        places = []
        if rec.get("relative"):
            places.append(os.path.normpath(d / rec["relative"]))
        if rec.get("path") and rec["path"] not in places:
            places.append(str(rec["path"]))
        existing = [p for p in places if split_sheet(p)[0].exists()]
        if not existing:
            located.missing[key] = places
            continue
        chosen = existing[0]
        if want and (verify or len(existing) > 1):
            same = [p for p in existing if split_sheet(p)[0].is_file() and file_sha256(split_sheet(p)[0]) == want]
            chosen = same[0] if same else existing[0]
            if not same:
                located.changed[key] = chosen
        located.found[key] = chosen
    return located


def _with_located(summary: dict, located: LocatedInputs) -> dict:
    """The summary with every input path replaced by where the input is now."""
    s = copy.deepcopy(summary)
    for key, path in located.found.items():
        if key == "revised_from":
            s["revised_from"] = path
        elif key in (s.get("inputs") or {}):
            s["inputs"][key] = path
        if key in (s.get("travel") or {}):
            s["travel"][key] = path
        if key == "edits" and isinstance(s.get("edits"), dict):
            s["edits"]["file"] = path
    elevation = (s.get("policy") or {}).get("elevation") or []
    if elevation:
        s["policy"]["elevation"] = [located.found.get(f"elevation_{i}", p) for i, p in enumerate(elevation, 1)]
    return s


def _changes_summary(plan) -> dict | None:
    """Counts of what changed since the revised plan (None when the plan revises none)."""
    changes = getattr(plan, "changes", None)
    if changes is None or getattr(plan, "previous", None) is None:
        return None

    return change_summary(changes, cluster_changes(plan.previous, plan.assignments))


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
    #: Where the plan's inputs are now (its summary's paths already point there).
    located: LocatedInputs = field(default_factory=LocatedInputs)

    def require_inputs(self, *keys: str) -> None:
        """Refuse (every problem at once) when one of these inputs of the plan cannot be found."""
        self.located.require(self.directory, list(keys))

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

    try:
        return load_network(path, policy.travel)
    except Exception as exc:  # the map and report are still useful without roads
        log.warning("road network %s could not be read: %s", path, exc)
        return None


__all__ = [
    "SavedPlan",
    "LocatedInputs",
    "locate_inputs",
    "record_inputs",
    "absolute_input",
    "input_word",
    "plan_summary",
    "read_plan_csv",
    "file_sha256",
    "plan_geodata",
]


def read_saved_plan(directory: str | Path) -> SavedPlan:
    """Read the cluster files of a plan folder (no support files: :func:`cluster_mapper.folder.read_plan` adds them)."""
    d = Path(directory)
    missing = [f for f in ("assignments.csv", "clusters.csv", "summary.json") if not (d / f).exists()]
    if missing:
        fail(d, f"this is not a complete plan directory (missing {', '.join(missing)}).", fix="give the --out folder of a finished `cluster-mapper plan` run.")
    geo = gpd.read_file(d / "clusters.geojson", engine="pyogrio") if (d / "clusters.geojson").exists() else None
    recorded = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    located = locate_inputs(recorded, d)
    summary = _with_located(recorded, located)
    policy = policy_from_dict(summary.get("policy") or {}, source=str(d / "summary.json"))
    return SavedPlan(d, read_plan_csv(d / "assignments.csv"), read_plan_csv(d / "clusters.csv"), summary, geo, policy, located=located)
