"""Merging a programme's region results into one plan, the same tables a whole-programme run builds."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from cluster_mapper.inputs.schools import Inputs
from cluster_mapper.model import DEFAULT_BACKEND
from cluster_mapper.planning.solve import Plan, name_clusters, teacher_rows
from cluster_mapper.planning.units import build_units
from cluster_mapper.policy.rules import Policy
from cluster_mapper.programme.tasks import UNIT_RESULT_COLUMNS, DistrictResult
from cluster_mapper.travel.times import TravelTimes


def merge_results(
    results: list[DistrictResult],
    inputs: Inputs,
    policy: Policy,
    *,
    backend: str = DEFAULT_BACKEND,
    notes: list[str] | None = None,
    network: nx.MultiDiGraph | None = None,
    travel_spec: dict | None = None,
    policy_path: str | None = None,
    seconds: float = 0.0,
) -> Plan:
    """One plan from the regions' results: the same tables a whole-programme run builds.

    Units are rebuilt from all inputs (:func:`~cluster_mapper.planning.units.build_units`),
    given each region's venues, times and reasons, and named and tabled by
    the planner's own functions, so cluster ids and rows are those of a
    sequential run.
    """
    units, teachers = build_units(inputs, policy)
    units = units.copy()
    found = (
        pd.concat([r.units for r in results], ignore_index=True).set_index("unit_id")
        if results
        else pd.DataFrame(columns=UNIT_RESULT_COLUMNS).set_index("unit_id")
    )
    missing = set(units["unit_id"]) - set(found.index)
    if missing:
        raise RuntimeError(f"{len(missing)} unit(s) missing from the regions' results, e.g. {sorted(missing)[:3]}")
    for col in UNIT_RESULT_COLUMNS[1:]:
        units[col] = found.loc[units["unit_id"], col].to_numpy()
    units["travel_minutes"] = units["travel_minutes"].astype(float)
    units, clusters = name_clusters(units, inputs, {})
    teachers_out = teacher_rows(teachers, units)
    order = {k: i for i, k in enumerate(sorted(r.key for r in results))}
    ordered = sorted(results, key=lambda r: order[r.key])
    travel = _merge_travel([r.travel for r in ordered], inputs)
    all_notes = list(notes or []) + list(travel.notes)
    for r in ordered:
        all_notes.extend(r.notes)
    objective = math.fsum(r.objective for r in ordered)
    bound = math.fsum(r.lower_bound for r in ordered)
    status = "optimal" if all(r.status == "optimal" for r in ordered) else "time_limit"
    return Plan(
        units=units,
        teachers=teachers_out,
        clusters=clusters,
        objective=objective,
        lower_bound=min(bound, objective),
        solve_seconds=seconds,
        status=status,
        placement_proven=all(r.placement_proven for r in ordered),
        travel=travel,
        policy=policy,
        inputs=inputs,
        backend=backend,
        notes=all_notes,
        network=network,
        travel_spec=travel_spec or {},
        policy_path=policy_path,
    )


def _merge_travel(parts: list[TravelTimes], inputs: Inputs) -> TravelTimes:
    if not parts:
        return TravelTimes(pd.DataFrame({"from_school_id": [], "to_school_id": [], "minutes": []}), "straight_line")
    pairs = pd.concat([p.pairs for p in parts], ignore_index=True)
    snaps = pd.concat([p.snaps for p in parts if len(p.snaps)], ignore_index=True) if any(len(p.snaps) for p in parts) else parts[0].snaps
    if len(snaps):
        pos = {s: i for i, s in enumerate(inputs.schools["school_id"])}
        snaps = snaps.iloc[np.argsort([pos.get(s, len(pos)) for s in snaps["school_id"]], kind="stable")].reset_index(drop=True)
    notes = list(dict.fromkeys(n for p in parts for n in p.notes if " school pairs are " not in n))
    return TravelTimes(pairs, parts[0].source, parts[0].cutoff_minutes, snaps, notes)


def region_table(results: list[DistrictResult]) -> pd.DataFrame:
    """One row per region: where and how long it ran, its figures (for ``districts.csv``)."""
    rows = []
    for r in results:
        placed = r.units["status"] == "placed"
        rows.append(
            {
                "region": r.key,
                "units": len(r.units),
                "units_placed": int(placed.sum()),
                "objective": round(r.objective, 4),
                "lower_bound": round(r.lower_bound, 4),
                "status": r.status,
                "seconds": round(r.seconds, 2),
                "worker": r.worker,
            }
        )
    return pd.DataFrame(rows, columns=["region", "units", "units_placed", "objective", "lower_bound", "status", "seconds", "worker"])


__all__ = ["merge_results", "region_table"]
