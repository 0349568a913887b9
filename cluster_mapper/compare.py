"""Scenario comparison: plan the same schools and teachers under several policies.

Planners test, for example, separate primary and middle clusters against
mixed-level regrouping (the field study's clusters did this), or a different
gender policy or travel limit. :func:`compare_scenarios` plans every scenario
on the same inputs, computing travel times once for all scenarios that share
travel settings, writes each plan (with its map and report) to
``out/<policy-stem>/``, a side-by-side ``out/comparison.csv`` and one map,
``out/comparison_map.html``, with each scenario as a layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from .model import DEFAULT_BACKEND
from .pipeline import TravelSource, compute_travel, travel_cutoff

#: Columns of comparison.csv, in order.
COMPARISON_COLUMNS = [
    "scenario", "policy", "clusters", "teachers_placed", "teachers_not_placed", "head_teachers_left_out",
    "mean_travel_minutes", "max_travel_minutes", "mean_schools_per_cluster", "mean_teachers_per_cluster",
    "objective", "lower_bound", "gap", "status", "travel_source",
]


def _review(tmp: Path) -> None:
    from .mapping import write_map
    from .report import write_report

    write_map(tmp)
    write_report(tmp)


def _scenario_names(paths: Sequence[Path]) -> list[str]:
    """Folder names from the policy file stems, made unique."""
    names: list[str] = []
    for p in paths:
        base = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in p.stem) or "scenario"
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def _widest_cutoff_policy(policies: list):
    """Of policies sharing travel settings, the one whose travel cutoff covers all the others."""
    cutoffs = [travel_cutoff(p) for p in policies]
    if any(c is None for c in cutoffs):
        return policies[cutoffs.index(None)]
    return policies[max(range(len(policies)), key=lambda i: cutoffs[i])]


def compare_scenarios(
    policy_paths: Sequence[str | Path],
    schools: str | Path,
    teachers: str | Path | None,
    source: TravelSource,
    out: str | Path,
    *,
    backend: str = DEFAULT_BACKEND,
    review: bool = True,
) -> pd.DataFrame:
    """Plan each policy on the same inputs and compare them.

    Parameters
    ----------
    policy_paths : policy TOML files, one per scenario (at least one).
    schools, teachers : input files, as for ``cluster-mapper plan``.
    source : where travel times come from (the same for every scenario).
    out : folder; receives ``<policy-stem>/`` plan folders, ``comparison.csv``
        and ``comparison_map.html``.
    review : also write each scenario's map.html and report.html.

    Returns
    -------
    pandas.DataFrame
        One row per scenario with :data:`COMPARISON_COLUMNS`.
    """
    from .errors import fail
    from .inputs import load_inputs
    from .mapping import write_comparison_map
    from .plan_io import plan_summary, write_csv, write_plan
    from .planner import solve_plan
    from .policy import load_policy

    paths = [Path(p) for p in policy_paths]
    if not paths:
        fail("<command line>", "no scenario was given.", fix="give at least one --policy FILE (two or more to compare).")
    policies = [load_policy(p) for p in paths]
    names = _scenario_names(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    # inputs once per CRS, travel times once per set of travel settings
    inputs_by_crs: dict = {}
    travel_groups: dict = {}
    for pol in policies:
        travel_groups.setdefault(pol.travel, []).append(pol)
    travel_by_settings = {}
    for settings, group in travel_groups.items():
        crs = settings.crs
        if crs not in inputs_by_crs:
            inputs_by_crs[crs] = load_inputs(schools, teachers, crs=crs)
        travel_by_settings[settings] = compute_travel(inputs_by_crs[crs], source, _widest_cutoff_policy(group))

    rows = []
    folders = []
    for name, path, pol in zip(names, paths, policies):
        inputs = inputs_by_crs[pol.travel.crs]
        travel = travel_by_settings[pol.travel]
        plan = solve_plan(inputs, travel, pol, backend=backend)
        spec = source.spec(travel.cutoff_minutes)
        pol_path = str(path.resolve())
        folder = out / name
        write_plan(plan, folder, spec, pol_path, extra=_review if review else None)
        folders.append((name, folder))
        s = plan_summary(plan, spec, pol_path)
        cl = plan.clusters
        rows.append({
            "scenario": name,
            "policy": path.name,
            "clusters": int(len(cl)),
            "teachers_placed": int(s["teachers_placed"]),
            "teachers_not_placed": int(s["teachers_not_placed"]),
            "head_teachers_left_out": int(s["head_teachers_left_out"]),
            "mean_travel_minutes": round(float(s["mean_travel_minutes"]), 1),
            "max_travel_minutes": round(float(s["max_travel_minutes"]), 1),
            "mean_schools_per_cluster": round(float(cl["n_schools"].mean()), 2) if len(cl) else 0.0,
            "mean_teachers_per_cluster": round(float(cl["n_teachers"].mean()), 2) if len(cl) else 0.0,
            "objective": round(float(s["objective"]), 1),
            "lower_bound": round(float(s["lower_bound"]), 1),
            "gap": round(float(s["gap"]), 4),
            "status": s["status"],
            "travel_source": s["travel_source"],
        })
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    write_csv(table, out / "comparison.csv")
    write_comparison_map(folders, out / "comparison_map.html")
    return table


__all__ = ["compare_scenarios", "COMPARISON_COLUMNS"]
