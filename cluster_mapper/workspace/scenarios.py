"""Scenarios in the workspace: a version planned under another policy, and versions side by side as ``cluster-mapper compare`` shows them.

A scenario is the project's policy with some settings changed (mixed
levels, another travel limit ...): :func:`scenario_policy` writes it to
``scenarios/<name>.toml`` in the project's folder, checked as a policy file
is (every problem at once, nothing planned then), and the workspace plans a
version with it. :func:`side_by_side` puts any done versions next to each
other with compare's own rows (:func:`~cluster_mapper.compare.comparison_row`),
the policy settings in which they differ, and compare's map with one layer
per version (:func:`~cluster_mapper.review.map.write_comparison_map`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cluster_mapper.compare import COMPARISON_COLUMNS, comparison_row
from cluster_mapper.folder import read_plan
from cluster_mapper.review.map import write_comparison_map
from cluster_mapper.workspace.policy_form import save_policy

#: Rows of the side-by-side table: (label, comparison column, format).
ROWS = (
    ("Clusters", "clusters", "{:,.0f}"),
    ("Teachers placed", "teachers_placed", "{:,.0f}"),
    ("Teachers not placed", "teachers_not_placed", "{:,.0f}"),
    ("Head teachers left out", "head_teachers_left_out", "{:,.0f}"),
    ("Mean travel (minutes)", "mean_travel_minutes", "{:.1f}"),
    ("Max travel (minutes)", "max_travel_minutes", "{:.1f}"),
    ("Schools per cluster", "mean_schools_per_cluster", "{:.2f}"),
    ("Teachers per cluster", "mean_teachers_per_cluster", "{:.2f}"),
    ("Objective", "objective", "{:,.1f}"),
    ("Gap to the bound", "gap", "{:.2%}"),
    ("Solver status", "status", "{}"),
    ("Travel times", "travel_source", "{}"),
)
#: Policy settings not compared (how files are read, not the rules).
_NOT_RULES = ("sheets", "columns", "values", "support")


def scenario_name(text: str) -> str:
    """A scenario's file name from what the user typed (letters, digits, ``-`` and ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", text.strip()).strip("-")[:60]
    return name or "scenario"


def scenario_policy(project_folder: Path, base_policy: Path | None, name: str, form: dict[str, str]) -> tuple[Path, list[dict[str, Any]]]:
    """Write scenario ``name``'s policy (the project's policy with the form's settings) and check it; its path and every problem."""
    base, k = scenario_name(name), 2
    path = project_folder / "scenarios" / f"{base}.toml"
    while path.exists():  # a version planned under a scenario keeps its policy file as it was
        path, k = path.with_name(f"{base}-{k}.toml"), k + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base_policy.read_text(encoding="utf-8-sig") if base_policy is not None and base_policy.is_file() else ""
    header = f"# scenario {path.stem}: the project's policy with the settings changed on the Scenarios page\n"
    path.write_text(text if text.startswith("# scenario ") else header + text, encoding="utf-8")
    problems, _ = save_policy(path, form)
    if problems:
        path.unlink(missing_ok=True)
    return path, problems


def _policy_label(summary: dict[str, Any]) -> str:
    policy = (summary.get("inputs") or {}).get("policy")
    return Path(policy).stem if policy else "defaults"


def _rules(summary: dict[str, Any]) -> dict[str, Any]:
    pol = summary.get("policy") or {}
    return {k: v for k, v in pol.items() if k not in _NOT_RULES}


def side_by_side(versions: list[tuple[int, Path]], map_path: Path | None = None) -> dict[str, Any]:
    """Done versions (id, folder) side by side: compare's figures, the policy settings that differ, and the comparison map.

    ``map_path``: where to write the map with one layer per version (not written when ``None`` or already there).
    """
    plans = [(vid, read_plan(folder)) for vid, folder in versions]
    labels = [f"version {vid} ({_policy_label(p.summary)})" for vid, p in plans]
    table = [comparison_row(label, Path(_policy_label(p.summary) + ".toml"), p) for label, (_, p) in zip(labels, plans)]
    rows = [(label, [fmt.format(r[col]) for r in table]) for label, col, fmt in ROWS]
    rules = [_rules(p.summary) for _, p in plans]
    keys = sorted({k for r in rules for k in r})
    differ = [(k, [str(r.get(k, "")) for r in rules]) for k in keys if len({repr(r.get(k)) for r in rules}) > 1]
    districts = [(p.summary.get("policy") or {}).get("districts") or {} for _, p in plans]
    if len({repr(d) for d in districts}) > 1:
        differ.append(("districts", [", ".join(f"{n}: {o}" for n, o in d.items()) or "none" for d in districts]))
    if map_path is not None and not map_path.exists():  # versions never change: a map once written stays right
        write_comparison_map(list(zip(labels, (p for _, p in plans))), map_path)
    return {"labels": labels, "ids": [vid for vid, _ in plans], "rows": rows, "policy_differences": differ, "table": table, "columns": COMPARISON_COLUMNS}


__all__ = ["ROWS", "scenario_name", "scenario_policy", "side_by_side"]
