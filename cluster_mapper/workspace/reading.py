"""The Read page's data: a project's files read as ``cluster-mapper inspect`` reads them, and header and code mappings saved into its policy.

:func:`read_project` reads each table with the one table reader
(:func:`~cluster_mapper.inputs.tables.read_table`, deferring its problems so
every column and code is shown even when some are wrong), then runs
:func:`~cluster_mapper.preview.inspect_scenario` exactly as ``inspect`` does
and writes its preview map with :func:`~cluster_mapper.preview.write_preview_map`.
Every problem of both is listed at once. :func:`save_mapping` writes the
drop-downs' choices into the project's policy file as ``[columns.KIND]`` and
``[values.KIND.FIELD]`` (with tomlkit, keeping the file's comments), and
refuses them, changing nothing, when the policy checks
(:func:`~cluster_mapper.policy.load.load_policy`) refuse the result.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from cluster_mapper._files import write_atomic
from cluster_mapper.api import Scenario, TravelSource
from cluster_mapper.errors import InputError, InputProblem
from cluster_mapper.inputs.specs import code_key, table_spec
from cluster_mapper.inputs.tables import Table, read_table
from cluster_mapper.policy.load import load_policy
from cluster_mapper.policy.rules import Policy
from cluster_mapper.preview import inspect_scenario, write_preview_map
from cluster_mapper.support import load_facilitators

log = logging.getLogger(__name__)
#: The tables the Read page shows, in order (facilitators when the project has them).
READ_KINDS = ("schools", "teachers", "facilitators")
#: The preview map's file in the project folder.
PREVIEW_FILE = "inputs_preview.html"


def problem_row(p: InputProblem) -> dict[str, Any]:
    """A problem as the pages and the API show it: file name, row (or line), field, message, fix."""
    return {"file": Path(p.file).name if p.file else "", "row": p.row, "row_word": p.row_word, "field": p.field, "message": p.message, "fix": p.fix}


def _column_rows(table: Table) -> list[dict[str, Any]]:
    """One row per column of the tool's: what it holds, the file's header read for it and how."""
    spec = table_spec(table.kind)
    assert spec is not None
    how = {c.field: c for c in table.columns}
    return [
        {
            "field": f.name,
            "description": f.description,
            "required": f.required,
            "header": how[f.name].header if f.name in how else "",
            "how": how[f.name].how if f.name in how else "missing",
            "letter": how[f.name].letter if f.name in how else "",
        }
        for f in spec.fields
    ]


def _code_rows(table: Table) -> list[dict[str, Any]]:
    """One row per code found in a coded column: the file's value, what it was read as, in how many rows, how; and the codes allowed."""
    spec = table_spec(table.kind)
    assert spec is not None
    return [
        {
            "field": v.field,
            "header": v.header,
            "value": v.value,
            "code": v.code or "",
            "count": v.count,
            "how": v.how,
            "choices": list(spec.field(v.field).choices or ()),
        }
        for v in table.values
    ]


def _read_one(kind: str, path: str, policy: Policy, other_ids: set[str] | None) -> tuple[dict[str, Any], Table | None]:
    """One table as read (problems deferred), or only its problems when the file cannot be read at all."""
    spec = table_spec(kind)
    assert spec is not None
    optional = ("district",) if kind == "schools" and policy.inputs.district else ()
    try:
        table = read_table(path, spec, policy.inputs, optional=optional, other_ids=other_ids, defer=True)
    except InputError as err:
        return {"kind": kind, "file": Path(path).name, "problems": [problem_row(p) for p in err.problems], "columns": [], "codes": [], "headers": []}, None
    out = {
        "kind": kind,
        "file": table.source,
        "header_row": table.header_row,
        "rows": len(table.data),
        "headers": [h for h in (table.raw.headers if table.raw else []) if h],
        "columns": _column_rows(table),
        "codes": _code_rows(table),
        "unused": table.unused,
        "how_read": table.how_read(),
        "notes": table.notes,
        "problems": [problem_row(p) for p in table.problems.problems],
    }
    return out, table


def scenario_of(inputs: dict[str, str], *, policy: str | None = None) -> Scenario:
    """The inspect/plan scenario of a project's input files (absolute paths); straight lines without a network."""
    network = inputs.get("network")
    return Scenario(
        schools=inputs["schools"],
        teachers=inputs.get("teachers"),
        policy=policy if policy is not None else inputs.get("policy"),
        travel=TravelSource(network_path=network) if network else TravelSource(straight_line=True),
    )


def read_project(inputs: dict[str, str], folder: Path) -> dict[str, Any]:
    """Every table, column and code of a project's files as read, every problem at once, counts, notes and the preview map.

    ``inputs`` maps ``schools``, ``teachers``, ``network``, ``policy``,
    ``facilitators`` to absolute paths; the preview map is written to
    ``folder/inputs_preview.html`` when the inputs read without problems.
    """
    problems: list[dict[str, Any]] = []
    try:
        policy = load_policy(inputs.get("policy"))
    except InputError as err:
        return {"ok": False, "tables": [], "problems": [problem_row(p) for p in err.problems], "counts": [], "schools_by_district": [], "notes": []}
    tables, ids = [], None
    for kind in READ_KINDS:
        if not inputs.get(kind):
            continue
        shown, table = _read_one(kind, inputs[kind], policy, ids if kind == "teachers" else None)
        if kind == "schools" and table is not None and "school_id" in table.data:
            ids = {str(s) for s in table.data["school_id"]}
        tables.append(shown)
        problems += shown["problems"]
    result: dict[str, Any] = {"ok": False, "tables": tables, "counts": [], "schools_by_district": [], "notes": [], "travel": {}}
    try:
        ins = inspect_scenario(scenario_of(inputs))
    except InputError as err:
        seen = {(p["file"], p["row"], p["field"], p["message"]) for p in problems}
        problems += [r for r in map(problem_row, err.problems) if (r["file"], r["row"], r["field"], r["message"]) not in seen]
        return result | {"problems": problems}
    write_preview_map(ins, folder / PREVIEW_FILE)
    if inputs.get("facilitators"):  # checked as the support step reads them: against the schools (their problems stop support, not plans)
        try:
            ins.notes.extend(load_facilitators(inputs["facilitators"], ins.inputs.schools, ins.policy.inputs).attrs.get("notes", []))
        except InputError as err:
            seen = {(p["file"], p["row"], p["field"], p["message"]) for p in problems}
            problems += [r for r in map(problem_row, err.problems) if (r["file"], r["row"], r["field"], r["message"]) not in seen]
    off = ins.off_network
    return result | {
        "ok": True,
        "problems": problems,
        "counts": ins.counts.to_dict("records"),
        "schools_by_district": ins.schools_by_district.to_dict("records"),
        "notes": ins.notes,
        "travel": {
            "source": ins.travel_source,
            "network_nodes": ins.network_nodes,
            "off_network": [{"school_id": r.school_id, "snap_metres": round(float(r.snap_metres), 1)} for r in off.itertuples()],
            "max_snap_metres": ins.policy.travel.max_snap_metres,
            "elevation_share": ins.elevation_share,
            "stranded": ins.stranded,
        },
        "preview": PREVIEW_FILE,
    }


def _table_at(doc: Any, *keys: str) -> Any:
    """The (super-)table ``doc[k1][k2]...``, made when missing."""
    node = doc
    for depth, k in enumerate(keys):
        if k not in node:
            node[k] = tomlkit.table(is_super_table=depth < len(keys) - 1)
        node = node[k]
    return node


def mapped_policy_text(text: str, *, columns: dict[str, dict[str, str]], values: dict[str, dict[str, dict[str, str]]]) -> str:
    """The policy text with ``[columns.KIND]`` and ``[values.KIND.FIELD]`` entries set (an empty header or code removes the entry)."""
    doc = tomlkit.parse(text)
    for kind, cols in columns.items():
        for name, header in cols.items():
            t = _table_at(doc, "columns", kind)
            if header:
                t[name] = header
            elif name in t:
                del t[name]
    for kind, by_field in values.items():
        for name, codes in by_field.items():
            for value, code in codes.items():
                t = _table_at(doc, "values", kind, name)
                for same in [k for k in t if code_key(k) == code_key(value)]:  # codes are compared without case and spaces: one entry each
                    del t[same]
                if code:
                    t[value] = code
    return tomlkit.dumps(doc)


def save_mapping(policy_path: Path, *, columns: dict[str, dict[str, str]], values: dict[str, dict[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """Write header and code mappings into the policy file; the problems that refused them (the file is then unchanged)."""
    text = policy_path.read_text(encoding="utf-8-sig") if policy_path.exists() else ""
    try:
        new = mapped_policy_text(text, columns=columns, values=values)
    except TOMLKitError as exc:
        return [
            {"file": policy_path.name, "row": None, "field": None, "message": f"the policy is not valid TOML ({exc}).", "fix": "correct it on the Policy page."}
        ]
    trial = policy_path.with_name(policy_path.name + ".check.toml")
    write_atomic(trial, new)
    try:
        load_policy(trial)
    except InputError as err:
        return [problem_row(p) | {"file": policy_path.name} for p in err.problems]
    finally:
        trial.unlink(missing_ok=True)
    write_atomic(policy_path, new)
    log.info("mapping saved into %s", policy_path)
    return []


__all__ = ["READ_KINDS", "PREVIEW_FILE", "problem_row", "read_project", "scenario_of", "mapped_policy_text", "save_mapping"]
