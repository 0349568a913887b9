"""The tasks of a programme: one independent planning problem per region, and the function that plans it.

A programme (one schools file with a ``district`` column, or several files)
is split into its planning regions (a district, or every district together
when the policy sets ``cross_district = true``). Each region becomes a
:class:`DistrictTask` that carries its own schools and teachers, the policy
tables that apply there and *its part* of the road network, never the whole
province graph. :func:`plan_district` runs the same
:func:`cluster_mapper.api.plan` as a one-district run and sends back a
:class:`DistrictResult`.

Why the network parts give the same plan: travel times are computed with a
cutoff (three times the longest travel limit). A shortest path of at most
``cutoff`` minutes from a school only visits nodes at most ``cutoff`` minutes
from that school, so the subgraph of the nodes within ``cutoff`` of the
region's schools (one multi-source Dijkstra) holds every path the region's
travel times need. Without a cutoff (a policy without travel limit) the part
is the weakly connected components that hold the region's schools. Each
school's nearest node is in its region's part, so schools snap to the same
node (unless the part's bounding box falls in another UTM zone than the
whole network's and two nodes are within centimetres of a tie).

A task is plain data passed to Dask by value: the scheduler keeps it, so a
task whose worker is lost can run again on another worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from cluster_mapper._version import __version__
from cluster_mapper.api import Scenario, Travel, TravelSource, load_road_network, plan, travel_times
from cluster_mapper.errors import fail
from cluster_mapper.inputs.schools import Inputs, load_inputs
from cluster_mapper.model import DEFAULT_BACKEND
from cluster_mapper.planning.units import region_district
from cluster_mapper.policy.rules import Policy
from cluster_mapper.travel.minutes import add_travel_minutes, snap_schools
from cluster_mapper.travel.times import TravelTimes, graph_arrays

log = logging.getLogger(__name__)

UNIT_RESULT_COLUMNS = ["unit_id", "venue_unit", "travel_minutes", "status", "reason", "suggestion"]


@dataclass
class DistrictTask:
    """One independent planning problem of a programme: a region and everything it needs.

    Attributes
    ----------
    key : str
        The region (a district name, or ``"all districts"``).
    inputs : Inputs
        The region's schools and teachers only.
    policy : Policy
        The programme's policy with only the region's ``[districts.X]`` tables.
    travel_policy : Policy
        The programme's whole policy: its travel cutoff sets the travel times.
    source : TravelSource
        Where the programme's travel times come from.
    network : networkx.MultiDiGraph or None
        The region's part of the road network (see the module docstring).
    travel : TravelTimes or None
        Pre-cut travel times (matrix source).
    backend : str
        Mixed-integer backend.
    cache_dir : path, None or False
        Travel-time cache folder (on the worker's machine).
    """

    key: str
    inputs: Inputs
    policy: Policy
    travel_policy: Policy
    source: TravelSource
    network: nx.MultiDiGraph | None = None
    travel: TravelTimes | None = None
    backend: str = DEFAULT_BACKEND
    cache_dir: str | Path | None | bool = None

    @property
    def n_teachers(self) -> int:
        """Teachers of the region (for ordering: largest first)."""
        return int(self.inputs.teachers["n_teachers"].sum())

    def fingerprint(self) -> str:
        """Hash of everything the region's plan depends on (its checkpoint is valid while it matches)."""
        h = hashlib.sha256()
        h.update(f"{__version__}\x1f{self.key}\x1f{self.backend}".encode())
        h.update(pd.DataFrame(self.inputs.schools.drop(columns="geometry")).to_csv(index=False).encode())
        h.update(np.asarray(self.inputs.schools.geometry.x, dtype=float).tobytes())
        h.update(np.asarray(self.inputs.schools.geometry.y, dtype=float).tobytes())
        h.update(self.inputs.teachers.to_csv(index=False).encode())
        h.update(json.dumps(self.policy.to_dict(), sort_keys=True, default=str).encode())
        h.update(json.dumps(self.travel_policy.travel_cutoff_minutes).encode())
        h.update(json.dumps(dataclasses.asdict(self.source), sort_keys=True).encode())
        if self.network is None and self.source.network_path and Path(self.source.network_path).is_file():
            st = Path(self.source.network_path).stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        if self.network is not None:
            nodes, csr = graph_arrays(self.network)
            h.update("\x1f".join(map(repr, nodes)).encode())
            h.update(csr.indptr.tobytes() + csr.indices.tobytes() + csr.data.tobytes())
        if self.travel is not None:
            h.update(self.travel.pairs.to_csv(index=False).encode())
        return h.hexdigest()


@dataclass
class DistrictResult:
    """What a task sends back: its units' venues and reasons, figures and travel times.

    Attributes
    ----------
    key : str
        The region.
    units : pandas.DataFrame
        :data:`UNIT_RESULT_COLUMNS` of every unit of the region.
    objective, lower_bound : float
        The region's travel and proven bound (teacher-minutes or trips).
    status : str
        ``optimal`` or ``time_limit``.
    placement_proven : bool
    notes : list of str
    travel : TravelTimes
        The region's travel times (pairs, snaps, notes).
    seconds : float
        Wall-clock time of the task, seconds.
    worker : str
        Dask worker address (or ``"inline"``).
    fingerprint : str
        :meth:`DistrictTask.fingerprint` of the task.
    resumed : bool
        True when read from a checkpoint of an earlier run, not planned now.
    """

    key: str
    units: pd.DataFrame
    objective: float
    lower_bound: float
    status: str
    placement_proven: bool
    notes: list[str]
    travel: TravelTimes
    seconds: float
    worker: str = "inline"
    fingerprint: str = ""
    resumed: bool = False


# --------------------------------------------------------------------------- splitting


def read_programme_inputs(schools: str | Path | Iterable[str | Path], teachers: str | Path | Iterable[str | Path] | None, policy: Policy) -> Inputs:
    """Read one or several schools files (and their rosters) as one programme.

    Parameters
    ----------
    schools : path or list of paths
        Schools files, each with a ``district`` column.
    teachers : path, list of paths or None
        Rosters, one per schools file in the same order, or none (counts).

    Raises
    ------
    InputError
        Problems of any file, or a school id used in two files.
    """
    s_list = [schools] if isinstance(schools, (str, Path)) else list(schools)
    t_list: list[Any]
    if teachers is None:
        t_list = [None] * len(s_list)
    else:
        t_list = [teachers] if isinstance(teachers, (str, Path)) else list(teachers)
    if len(t_list) != len(s_list):
        fail(
            "<command line>",
            f"{len(s_list)} schools file(s) but {len(t_list)} roster(s).",
            fix="give one --teachers file per --schools file, in the same order, or none.",
        )
    # the policy says how the files are read (its [columns], [values], [sheets] and district), as for `plan`
    if len(s_list) == 1:
        return load_inputs(s_list[0], t_list[0], policy=policy)
    parts = [load_inputs(s, t, policy=policy) for s, t in zip(s_list, t_list, strict=True)]
    seen: dict[str, str] = {}
    for part in parts:
        for sid in part.schools["school_id"]:
            if sid in seen:
                fail(
                    part.schools_path or "<schools>",
                    f"school_id '{sid}' is also in {seen[sid]}.",
                    fix="give every school of the programme a unique school_id.",
                    field="school_id",
                )
            seen[sid] = str(part.schools_path)
    schools_all = gpd.GeoDataFrame(pd.concat([p.schools for p in parts], ignore_index=True), crs=parts[0].schools.crs)
    teachers_all = pd.concat([p.teachers for p in parts], ignore_index=True)
    tables = {f"{kind} {k + 1}": t for k, p in enumerate(parts) for kind, t in p.tables.items()}
    return Inputs(
        schools_all,
        teachers_all,
        ";".join(str(p.schools_path) for p in parts),
        None if teachers is None else ";".join(str(p.teachers_path) for p in parts),
        tables,
    )


def region_of_schools(inputs: Inputs, policy: Policy) -> pd.Series:
    """The planning region of every school (index: school_id)."""
    return pd.Series([region_district(str(d), policy) for d in inputs.schools["district"]], index=inputs.schools["school_id"].to_numpy())


def network_parts(G: nx.MultiDiGraph, schools, regions: pd.Series, policy: Policy) -> dict[str, nx.MultiDiGraph]:
    """Each region's part of one road network: the nodes its travel times can use.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The programme's road network (travel minutes are added if missing).
    schools : geopandas.GeoDataFrame
        All schools.
    regions : pandas.Series
        Region of each school, indexed by school_id.
    policy : Policy
        The programme's policy (travel settings and cutoff, minutes).

    Returns
    -------
    dict
        Region to a copy of its subgraph: nodes within the travel cutoff of
        the region's schools' nearest nodes (one multi-source Dijkstra), or
        without a cutoff the weakly connected components holding them.
    """
    from scipy.sparse.csgraph import connected_components, dijkstra

    travel = policy.travel
    if G.graph.get("travel_minutes_mode") != travel.travel_mode or G.graph.get("travel_minutes_speed_kmh") != travel.walking_speed_kmh:
        add_travel_minutes(G, travel)
    snaps = snap_schools(G, schools, travel)
    nodes, csr = graph_arrays(G)
    index = {n: i for i, n in enumerate(nodes)}
    school_pos = pd.Series([index[n] for n in snaps["node"]], index=snaps["school_id"].to_numpy())
    cutoff = policy.travel_cutoff_minutes
    labels = np.zeros(0, dtype=np.int64)
    if cutoff is None:
        _, labels = connected_components(csr, directed=True, connection="weak")
    parts = {}
    for key in sorted(set(regions)):
        src = np.unique(school_pos.loc[regions.index[regions == key]].to_numpy())
        if cutoff is None:
            keep = np.isin(labels, labels[src])
        else:
            dist = dijkstra(csr, directed=True, indices=src, min_only=True, limit=float(cutoff) * (1 + 1e-9) + 1e-12)
            keep = np.isfinite(dist)
        sub = G.subgraph([nodes[i] for i in np.flatnonzero(keep)]).copy()
        log.info("network part of %s: %d of %d nodes", key, sub.number_of_nodes(), G.number_of_nodes())
        parts[key] = sub
    return parts


def _only_districts(policy: Policy, districts: set[str]) -> Policy:
    return dataclasses.replace(policy, districts={k: v for k, v in policy.districts.items() if k in districts})


def split_programme(
    inputs: Inputs,
    policy: Policy,
    source: TravelSource,
    *,
    network: nx.MultiDiGraph | None = None,
    backend: str = DEFAULT_BACKEND,
    cache_dir: str | Path | None | bool = None,
    district_networks: dict[str, Path] | None = None,
) -> list[DistrictTask]:
    """Split a programme into one :class:`DistrictTask` per planning region (largest first).

    Parameters
    ----------
    inputs : Inputs
        All schools and teachers.
    policy : Policy
        The programme's policy.
    source : TravelSource
        Where travel times come from.
    network : networkx.MultiDiGraph, optional
        The loaded road network of ``source`` (loaded here when needed and not given).
    district_networks : dict, optional
        A network file per district (e.g. cut from a province ``.osm.pbf``
        by :func:`cluster_mapper.travel.pbf_cut.cut_by_districts`): each task reads
        its own file, and the whole network is never loaded.
    """
    regions = region_of_schools(inputs, policy)
    parts: dict[str, nx.MultiDiGraph] = {}
    matrix: TravelTimes | None = None
    if district_networks is not None:
        if policy.cross_district:
            fail(
                "<policy>",
                "per-district networks cannot be used with cross_district = true (clusters then span districts).",
                fix="give one network for the whole programme, or set cross_district = false.",
                field="cross_district",
            )
        missing = sorted(set(regions) - set(district_networks))
        if missing:
            fail(
                "<district polygons>",
                f"no polygon (so no road network) for district(s) {', '.join(missing[:10])}.",
                fix="add their polygons, named as in the schools file's district column.",
                field="district",
            )
    elif source.network_path:
        G = network if network is not None else load_road_network(source, policy)
        assert G is not None
        parts = network_parts(G, inputs.schools, regions, policy)
    elif source.matrix_path:
        matrix = travel_times(inputs.schools, source, policy).times
    tasks = []
    school_region = regions.to_numpy()
    teacher_region = regions.reindex(inputs.teachers["school_id"].to_numpy()).to_numpy()
    for key in sorted(set(regions)):
        sch = inputs.schools[school_region == key].reset_index(drop=True)
        tea = inputs.teachers[teacher_region == key].reset_index(drop=True)
        sub_inputs = Inputs(sch, tea, inputs.schools_path, inputs.teachers_path)
        sub_travel = None
        if matrix is not None:
            ids = set(sch["school_id"])
            pairs = matrix.pairs[matrix.pairs["from_school_id"].isin(ids) & matrix.pairs["to_school_id"].isin(ids)].reset_index(drop=True)
            sub_travel = dataclasses.replace(matrix, pairs=pairs, notes=list(matrix.notes))
        districts = {str(d) for d in sch["district"]}
        task_source = TravelSource(network_path=str(district_networks[key])) if district_networks is not None else source
        tasks.append(DistrictTask(key, sub_inputs, _only_districts(policy, districts), policy, task_source, parts.get(key), sub_travel, backend, cache_dir))
    tasks.sort(key=lambda t: (-t.n_teachers, t.key))
    return tasks


# --------------------------------------------------------------------------- the task


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "inline"


def plan_district(task: DistrictTask) -> DistrictResult:
    """Plan one region with :func:`cluster_mapper.api.plan` (this runs on a Dask worker).

    The region's travel times use the programme's cutoff (``task.travel_policy``),
    so they are the same as in a whole-programme run.
    """
    t0 = time.perf_counter()
    if task.travel is not None:
        travel = Travel(task.travel, None, task.source.spec(task.travel.cutoff_minutes))
    else:
        travel = travel_times(task.inputs.schools, task.source, task.travel_policy, network=task.network, cache_dir=task.cache_dir)
    scenario = Scenario(
        schools=task.inputs.schools_path or "<schools>",
        travel=task.source,
        teachers=task.inputs.teachers_path,
        policy=task.policy,
        backend=task.backend,
        cache_dir=task.cache_dir,
    )
    result = plan(scenario, inputs=task.inputs, travel=travel)
    return DistrictResult(
        key=task.key,
        units=result.units[UNIT_RESULT_COLUMNS].copy(),
        objective=result.objective,
        lower_bound=result.lower_bound,
        status=result.status,
        placement_proven=result.placement_proven,
        notes=[n for n in result.notes if n not in travel.times.notes],
        travel=travel.times,
        seconds=time.perf_counter() - t0,
        worker=_worker_name(),
        fingerprint=task.fingerprint(),
    )
