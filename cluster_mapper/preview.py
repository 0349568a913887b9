"""Look before planning: how the inputs were read, what they hold, where they sit (``cluster-mapper inspect``).

:func:`inspect_scenario` reads a scenario's inputs exactly as
:func:`~cluster_mapper.api.plan` would (same policy, same reader, same
checks; a problem stops it the same way) and, with a road network, loads it
with its elevation and snaps the schools, but forms no clusters. The
:class:`Inspection` holds how each column and value was read, counts by
district, gender and level, the schools far from the network and the
elevation coverage; :func:`write_preview_map` draws the schools on an
offline map. Nothing else is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cluster_mapper._files import write_atomic
from cluster_mapper.api import load_road_network, read_inputs
from cluster_mapper.policy.load import check_policy_districts
from cluster_mapper.review.preview_page import preview_page, preview_school
from cluster_mapper.travel.minutes import snap_schools
from cluster_mapper.travel.times import matrix_travel_times

if TYPE_CHECKING:
    from cluster_mapper.api import Scenario
    from cluster_mapper.inputs.schools import Inputs
    from cluster_mapper.policy.rules import Policy

log = logging.getLogger(__name__)


@dataclass
class Inspection:
    """What ``cluster-mapper inspect`` found.

    Attributes
    ----------
    policy : Policy
        The policy the inputs were read with (command-line settings in it).
    inputs : Inputs
        Schools and teachers as the planner would get them; ``inputs.tables``
        say how each column and value was read.
    counts : pandas.DataFrame
        Teachers by ``district``, ``gender``, ``level`` and ``role``
        (column ``teachers``), largest groups first within a district.
    schools_by_district : pandas.DataFrame
        Schools by ``district`` and ``gender`` (column ``schools``).
    notes : list of str
        How the inputs were read (guesses, skipped rows), policy notes and,
        with a network, its travel notes (elevation coverage among them).
    snaps : pandas.DataFrame or None
        With a road network: ``school_id, node, snap_metres, off_network``
        for every school (``snap_metres`` in metres).
    network_nodes : int or None
        Nodes of the road network.
    elevation_share : float or None
        Share of network nodes (0 to 1) with a height from the elevation
        rasters; ``None`` without rasters or network.
    travel_source : str
        ``network``, ``matrix``, ``straight_line`` or ``none``.
    stranded : list of str
        With a road network: the schools snapped onto a piece of it that
        holds no other school (they can reach nobody; named in the notes).
    """

    policy: Policy
    inputs: Inputs
    counts: pd.DataFrame
    schools_by_district: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    snaps: pd.DataFrame | None = None
    network_nodes: int | None = None
    elevation_share: float | None = None
    travel_source: str = "none"
    stranded: list[str] = field(default_factory=list)

    @property
    def off_network(self) -> pd.DataFrame:
        """The schools farther than ``max_snap_metres`` from the network (empty without one)."""
        if self.snaps is None:
            return pd.DataFrame(columns=["school_id", "node", "snap_metres", "off_network"])
        return self.snaps[self.snaps["off_network"]].sort_values("snap_metres", ascending=False)


def _counts(inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = inputs.teachers.merge(inputs.schools[["school_id", "district"]], on="school_id", how="left")
    counts = t.groupby(["district", "gender", "level", "role"], sort=True)["n_teachers"].sum().rename("teachers").reset_index()
    schools = inputs.schools.groupby(["district", "gender"], sort=True).size().rename("schools").reset_index()
    return counts, schools


def inspect_scenario(scenario: Scenario, *, with_travel: bool = True) -> Inspection:
    """Read a scenario's inputs as :func:`~cluster_mapper.api.plan` would, and look at them.

    Parameters
    ----------
    scenario : Scenario
        Inputs, policy (with ``district`` and ``elevation`` from the
        scenario) and travel source.
    with_travel : bool
        Load the road network (and elevation) and snap the schools, or read
        the travel matrix; ``False`` reads the tables only.

    Returns
    -------
    Inspection

    Raises
    ------
    InputError
        Any problem :func:`~cluster_mapper.api.plan` would stop on while
        reading (files, policy, network, elevation rasters).
    """

    policy = scenario.load_policy()
    inputs = read_inputs(scenario, policy)
    notes = inputs.notes + check_policy_districts(policy, inputs.schools["district"])
    counts, schools = _counts(inputs)
    result = Inspection(policy, inputs, counts, schools, notes)
    source = scenario.travel
    if not with_travel:
        return result
    if source.network_path:
        G = load_road_network(source, policy)
        assert G is not None
        result.travel_source = "network"
        result.network_nodes = len(G)
        result.snaps = snap_schools(G, inputs.schools, policy.travel)
        result.elevation_share = G.graph.get("elevation_share") if policy.travel.elevation else None
        result.notes.extend(G.graph.get("travel_notes", []))
        result.stranded = stranded_schools(G, result.snaps)
        if result.stranded:
            names = dict(zip(inputs.schools["school_id"], inputs.schools["name"], strict=False))
            listed = ", ".join(f"{s} ({names.get(s, '')})" for s in result.stranded[:20]) + (" ..." if len(result.stranded) > 20 else "")
            n = len(result.stranded)
            result.notes.append(
                f"{n} school{'s' if n != 1 else ''} on a piece of the road network that reaches no other school: {listed}; "
                "they cannot meet anyone: check their positions, or give the missing roads (or travel_minutes edits)"
            )
    elif source.matrix_path:
        result.travel_source = "matrix"
        result.notes.extend(matrix_travel_times(source.matrix_path, inputs.schools).notes)
    elif source.straight_line:
        result.travel_source = "straight_line"
    return result


def stranded_schools(G, snaps: pd.DataFrame) -> list[str]:
    """Schools (on the network) whose part of it (weakly connected) holds no other school, in school order."""
    import networkx as nx

    on = snaps[~snaps["off_network"]]
    if len(on) < 2:
        return []
    part = {node: k for k, comp in enumerate(nx.weakly_connected_components(G)) for node in comp}
    parts = [part.get(node, -1) for node in on["node"]]
    counts = pd.Series(parts).value_counts()
    return [str(s) for s, p in zip(on["school_id"], parts, strict=True) if counts[p] == 1]


def write_preview_map(inspection: Inspection, path: str | Path) -> Path:
    """Draw the schools as read on an offline map (``path``, HTML; see :mod:`cluster_mapper.review.preview_page`).

    One layer per school gender (marker size grows with the teachers), and,
    with a road network, the schools far from it in red with their distance.
    Leaflet is inlined (no request leaves the machine); an OpenStreetMap
    background is an optional layer, off when the map opens.
    """
    schools = inspection.inputs.schools
    teachers = inspection.inputs.teachers.groupby("school_id")["n_teachers"].sum()
    snap = {} if inspection.snaps is None else dict(zip(inspection.snaps["school_id"], inspection.snaps["snap_metres"], strict=True))
    off = set(inspection.off_network["school_id"])
    rows = zip(
        schools["school_id"], schools["name"], schools["district"], schools["gender"], schools["_row"], schools.geometry.y, schools.geometry.x, strict=True
    )
    page = preview_page(
        [
            preview_school(
                school_id=sid,
                name=name,
                district=district,
                gender=gender,
                row=int(row),
                teachers=int(teachers.get(sid, 0)),
                lat=float(y),
                lon=float(x),
                snap_metres=snap.get(sid),
                off_network=sid in off,
            )
            for sid, name, district, gender, row, y, x in rows
        ]
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out, page)


__all__ = ["Inspection", "inspect_scenario", "write_preview_map"]
