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

from cluster_mapper._files import write_csv
from cluster_mapper.api import Scenario, Travel, plan, read_inputs, travel_times, with_policy
from cluster_mapper.errors import fail
from cluster_mapper.folder import atomic_directory, check_writable, read_plan, write_plan
from cluster_mapper.policy.load import check_policy_districts, load_policy
from cluster_mapper.policy.rules import Policy
from cluster_mapper.review.map import write_comparison_map

#: Columns of comparison.csv, in order.
COMPARISON_COLUMNS = [
    "scenario",
    "policy",
    "clusters",
    "teachers_placed",
    "teachers_not_placed",
    "head_teachers_left_out",
    "mean_travel_minutes",
    "max_travel_minutes",
    "mean_schools_per_cluster",
    "mean_teachers_per_cluster",
    "objective",
    "lower_bound",
    "gap",
    "status",
    "travel_source",
]


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


def _reading(policy: Policy) -> tuple:
    """What decides how the input files are read under a policy: the crs and the input settings (not the file they came from)."""
    s = policy.inputs
    return (policy.travel.crs, repr((s.district, s.sheets, s.columns, s.values)))


def _widest_cutoff_policy(policies: list[Policy]) -> Policy:
    """Of policies sharing travel settings, the one whose travel cutoff covers all the others."""
    cutoffs = [p.travel_cutoff_minutes for p in policies]
    if any(c is None for c in cutoffs):
        return policies[cutoffs.index(None)]
    return policies[max(range(len(policies)), key=lambda i: cutoffs[i] or 0.0)]


def check_comparison_folder(out: Path) -> None:
    """Refuse an ``--out`` that is not a comparison folder: a comparison replaces its whole folder."""
    check_writable(out)
    if not out.exists():
        return
    if not out.is_dir():
        fail(
            out,
            "--out names an existing file; a comparison is a folder and would replace it.",
            fix="give a new folder name for --out, such as outputs/compare.",
        )
    entries = list(out.iterdir())
    if entries and not (out / "comparison.csv").exists():
        shown = ", ".join(sorted(e.name for e in entries)[:3])
        fail(
            out,
            f"--out is a folder that holds other files ({shown}{', ...' if len(entries) > 3 else ''}), not a comparison; writing it would delete them.",
            fix="give a new or empty folder for --out, such as outputs/compare.",
        )


def comparison_row(name: str, path: Path, result) -> dict:
    """One scenario's line of comparison.csv: ``result`` is a plan or a plan folder read back (its ``summary`` and ``clusters``)."""
    s = result.summary
    cl = result.clusters
    return {
        "scenario": name,
        "policy": path.name,
        "clusters": int(len(cl)),
        "teachers_placed": int(s["teachers_placed"]),
        "teachers_not_placed": int(s["teachers_not_placed"]),
        "head_teachers_left_out": int(s["head_teachers_left_out"]),
        "mean_travel_minutes": round(float(s["mean_travel_minutes"]), 1),
        "max_travel_minutes": round(float(s["max_travel_minutes"]), 1),
        "mean_schools_per_cluster": round(float(pd.to_numeric(cl["n_schools"]).mean()), 2) if len(cl) else 0.0,  # text in a folder read back
        "mean_teachers_per_cluster": round(float(pd.to_numeric(cl["n_teachers"]).mean()), 2) if len(cl) else 0.0,
        "objective": round(float(s["objective"]), 1),
        "lower_bound": round(float(s["lower_bound"]), 1),
        "gap": round(float(s["gap"]), 4),
        "status": s["status"],
        "travel_source": s["travel_source"],
    }


def compare_scenarios(
    scenario: Scenario,
    policy_paths: Sequence[str | Path],
    out: str | Path,
    *,
    review: bool = True,
) -> pd.DataFrame:
    """Plan the same inputs under each policy and compare them.

    Each scenario goes through :func:`cluster_mapper.api.plan`, so it gets
    the same checks as ``cluster-mapper plan``; travel times are computed
    once per set of travel settings and shared.

    Parameters
    ----------
    scenario : Scenario
        Inputs and travel source (its own policy is not used).
    policy_paths : sequence of paths
        Policy TOML files, one per scenario (at least one).
    out : path
        Folder; receives ``<policy-stem>/`` plan folders, ``comparison.csv``
        and ``comparison_map.html``.
    review : bool
        Also write each scenario's map.html and report.html.

    Returns
    -------
    pandas.DataFrame
        One row per scenario with :data:`COMPARISON_COLUMNS`.
    """

    paths = [Path(p) for p in policy_paths]
    if not paths:
        fail("<command line>", "no scenario was given.", fix="give at least one --policy FILE (two or more to compare).")
    # each policy with the scenario's --district and --elevation in it
    policies = [with_policy(scenario, load_policy(p)).load_policy() for p in paths]
    # inputs once per way of reading them (crs, columns, codes, district); every scenario's district tables checked before any is planned
    inputs_by_crs: dict = {}
    for pol in policies:
        if _reading(pol) not in inputs_by_crs:
            inputs_by_crs[_reading(pol)] = read_inputs(scenario, pol)
        check_policy_districts(pol, inputs_by_crs[_reading(pol)].schools["district"])
    names = _scenario_names(paths)
    out = Path(out)
    check_comparison_folder(out)

    # travel times once per set of travel settings
    groups: dict = {}
    for pol in policies:
        groups.setdefault((pol.travel, _reading(pol)), []).append(pol)
    shared: dict = {}
    network = None
    net_elevation: tuple[str, ...] = ()
    for key, group in groups.items():
        settings = key[0]
        widest = _widest_cutoff_policy(group)
        shared[key] = travel_times(
            inputs_by_crs[_reading(widest)].schools,
            scenario.travel,
            widest,
            network=network
            if network is not None and network.graph.get("travel_mode") == settings.travel_mode and net_elevation == settings.elevation
            else None,
            cache_dir=scenario.cache_dir,
        )
        network, net_elevation = shared[key].network, settings.elevation

    results = []
    for pol in policies:
        travel: Travel = shared[(pol.travel, _reading(pol))]
        results.append(plan(with_policy(scenario, pol), inputs=inputs_by_crs[_reading(pol)], travel=travel))
    rows = [comparison_row(name, path, result) for name, path, result in zip(names, paths, results)]
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    # all scenarios or none: the whole comparison is written beside ``out`` and swapped in at the end
    with atomic_directory(out) as tmp:
        folders = []
        for name, result in zip(names, results):
            write_plan(result, tmp / name, review=review)
            folders.append((name, read_plan(tmp / name)))
        write_csv(table, tmp / "comparison.csv")
        write_comparison_map(folders, tmp / "comparison_map.html")
    return table


__all__ = ["compare_scenarios", "comparison_row", "COMPARISON_COLUMNS"]
