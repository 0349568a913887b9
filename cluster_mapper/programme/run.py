"""A programme of many districts: independent plans as tasks, on Dask distributed.

A programme (one schools file with a ``district`` column, or several files)
is split into its planning regions (a district, or every district together
when the policy sets ``cross_district = true``). Each region becomes a
:class:`DistrictTask` that carries its own schools and teachers, the policy
tables that apply there and *its part* of the road network, never the whole
province graph. A task runs the same :func:`cluster_mapper.api.plan` as a
one-district run. The results are merged into one plan, identical to
planning the whole programme at once in one process::

    read all inputs ─► check policy ─► cut network per region ─► tasks on Dask ─► merge ─► write_plan
                                       (balls of the travel        (as they finish;
                                        cutoff around the           checkpointed in
                                        region's schools)           OUT/.programme/)

Where the tasks run (:class:`ProgrammeSettings`):

* by default on a local Dask cluster started for the run, one single-threaded
  worker process per core (stopped at the end);
* with ``scheduler="tcp://host:8786"`` (or ``DASK_SCHEDULER_ADDRESS``) on an
  existing Dask cluster whose workers have cluster_mapper installed; the run
  uses it and leaves it running;
* with ``executor="inline"`` one after another in this process (no Dask).

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

Checkpoints: every finished region is pickled to
``OUT/.programme/<region>.pkl`` with a fingerprint of its inputs, policy,
network part and solver; a later run with the same inputs reuses it instead
of planning the region again. Writing the plan replaces ``OUT`` (and so
removes the checkpoints). A region that fails is reported with its reason
(:class:`ProgrammeFailed`) while the others complete and are checkpointed,
so the run can be repeated after the fix without redoing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import pickle
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from cluster_mapper._version import __version__
from cluster_mapper.api import Scenario, Travel, TravelSource, load_road_network, plan, travel_times
from cluster_mapper.errors import InputError, fail
from cluster_mapper.folder import check_output_folder
from cluster_mapper.inputs.schools import Inputs, load_inputs
from cluster_mapper.model import DEFAULT_BACKEND
from cluster_mapper.planning.solve import Plan, name_clusters, teacher_rows
from cluster_mapper.planning.units import build_units, region_district
from cluster_mapper.policy.load import check_policy_districts
from cluster_mapper.policy.rules import Policy
from cluster_mapper.travel.minutes import add_travel_minutes, snap_schools
from cluster_mapper.travel.pbf_cut import cut_by_districts
from cluster_mapper.travel.times import TravelTimes, default_cache_dir, graph_arrays

log = logging.getLogger(__name__)

#: Called with (what is happening, fraction done between 0 and 1).
Progress = Callable[[str, float], None]

CHECKPOINT_DIR = ".programme"
ENV_SCHEDULER = "DASK_SCHEDULER_ADDRESS"
UNIT_RESULT_COLUMNS = ["unit_id", "venue_unit", "travel_minutes", "status", "reason", "suggestion"]


@dataclass(frozen=True)
class ProgrammeSettings:
    """Where and how the regions of a programme are planned.

    Attributes
    ----------
    scheduler : str or None
        Address of an existing Dask scheduler (``tcp://host:8786``); None
        reads ``DASK_SCHEDULER_ADDRESS``, and without it a local cluster is
        started for the run.
    n_workers : int or None
        Worker processes of the local cluster (one single-threaded worker
        each); None: one per core this process may use.
    executor : {"dask", "inline"}
        ``"inline"`` plans the regions one after another in this process,
        without Dask (debugging, and the reference of the equality test).
    checkpoint : bool
        Save finished regions in ``OUT/.programme`` and reuse them.
    worker_memory_limit : str or int
        Memory limit of each local worker (Dask's ``memory_limit``); 0 means
        none: the model's own memory guard refuses models that do not fit.
    """

    scheduler: str | None = None
    n_workers: int | None = None
    executor: str = "dask"
    checkpoint: bool = True
    worker_memory_limit: str | int = 0

    def __post_init__(self) -> None:
        if self.executor not in ("dask", "inline"):
            raise ValueError(f"ProgrammeSettings.executor must be 'dask' or 'inline', not {self.executor!r}")
        if self.n_workers is not None and self.n_workers < 1:
            raise ValueError(f"ProgrammeSettings.n_workers must be at least 1, not {self.n_workers!r}")

    @property
    def scheduler_address(self) -> str | None:
        """The scheduler to use: the setting, else ``$DASK_SCHEDULER_ADDRESS``, else None (local)."""
        return self.scheduler or os.environ.get(ENV_SCHEDULER) or None


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


class ProgrammeFailed(Exception):
    """Some regions could not be planned; the others finished and are checkpointed.

    Attributes
    ----------
    failures : dict
        Region to its reason (the error message).
    finished : list of str
        Regions planned (and checkpointed).
    checkpoint_dir : Path or None
    """

    def __init__(self, failures: dict[str, str], finished: list[str], checkpoint_dir: Path | None):
        self.failures = failures
        self.finished = finished
        self.checkpoint_dir = checkpoint_dir
        lines = [f"{len(failures)} of {len(failures) + len(finished)} region(s) could not be planned; no plan was written:"]
        lines += [f"  - {k}: {why}" for k, why in failures.items()]
        if checkpoint_dir is not None and finished:
            lines.append(
                f"The {len(finished)} finished region(s) are saved in {checkpoint_dir}; run the same command again after the fix "
                "and only the failed region(s) are planned."
            )
        super().__init__("\n".join(lines))


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
    import geopandas as gpd

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


# --------------------------------------------------------------------------- checkpoints


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_") or "region"


def _checkpoint_path(folder: Path, key: str) -> Path:
    return folder / f"{_slug(key)}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.pkl"


def load_checkpoint(folder: Path, task: DistrictTask, fingerprint: str) -> DistrictResult | None:
    """A region's saved result when its fingerprint still matches (else None)."""
    path = _checkpoint_path(folder, task.key)
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            res = pickle.load(fh)
    except Exception as exc:  # partial or foreign file: plan the region again
        log.warning("ignoring unreadable checkpoint %s (%s)", path, exc)
        return None
    if not isinstance(res, DistrictResult) or res.fingerprint != fingerprint:
        log.info("checkpoint of %s is out of date; planning it again", task.key)
        return None
    return res


def save_checkpoint(folder: Path, res: DistrictResult) -> None:
    """Save a finished region atomically (a half-written file is never read as valid)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.txt").write_text("Regions of an unfinished cluster_mapper programme run; removed when the plan is written.\n")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(res, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, _checkpoint_path(folder, res.key))


# --------------------------------------------------------------------------- running


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return "; ".join(str(p) for p in exc.problems)
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _run_inline(tasks: list[DistrictTask], on_done: Callable[[DistrictTask, DistrictResult | None, BaseException | None], None]) -> None:
    for task in tasks:
        try:
            res = plan_district(task)
        except Exception as exc:  # one region's failure must not stop the others
            log.debug("region %s failed:\n%s", task.key, traceback.format_exc())
            on_done(task, None, exc)
        else:
            on_done(task, res, None)


def _local_cluster(settings: ProgrammeSettings):
    from distributed import LocalCluster

    n = settings.n_workers
    if n is None:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=settings.worker_memory_limit, silence_logs=logging.ERROR
    )


def _run_dask(
    tasks: list[DistrictTask], settings: ProgrammeSettings, on_done: Callable[[DistrictTask, DistrictResult | None, BaseException | None], None]
) -> None:
    from distributed import Client, as_completed

    address = settings.scheduler_address
    cluster = None
    if address:
        log.info("using the Dask scheduler at %s (left running)", address)
        client = Client(address, timeout="30s")
    else:
        cluster = _local_cluster(settings)
        client = Client(cluster)
        log.info("started a local Dask cluster with %d worker(s); dashboard %s", len(cluster.workers), cluster.dashboard_link)
    try:
        by_key = {t.key: t for t in tasks}
        # tasks are scattered (not embedded in the graph): each worker receives only its regions' data
        data = client.scatter(tasks)
        futures = [
            client.submit(plan_district, d, key=f"plan-{_slug(t.key)}-{t.fingerprint()[:12]}", pure=False, retries=0) for t, d in zip(tasks, data, strict=True)
        ]
        key_of = {f.key: t.key for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures):
            task = by_key[key_of[fut.key]]
            if fut.status == "error":
                on_done(task, None, fut.exception())
            else:
                on_done(task, fut.result(), None)
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_programme(
    tasks: list[DistrictTask], settings: ProgrammeSettings | None = None, *, checkpoint_dir: Path | None = None, progress: Progress | None = None
) -> list[DistrictResult]:
    """Plan every region (reusing checkpoints), return the results in task order.

    Raises
    ------
    ProgrammeFailed
        When some region failed; the others are planned and checkpointed.
    """
    settings = settings or ProgrammeSettings()
    results: dict[str, DistrictResult] = {}
    failures: dict[str, str] = {}
    prints = {t.key: t.fingerprint() for t in tasks}
    todo = []
    for t in tasks:
        res = load_checkpoint(checkpoint_dir, t, prints[t.key]) if (checkpoint_dir is not None and settings.checkpoint) else None
        if res is not None:
            results[t.key] = res
        else:
            todo.append(t)
    if results:
        log.info("resuming: %d of %d region(s) read from checkpoints", len(results), len(tasks))
    total = len(tasks)

    def on_done(task: DistrictTask, res: DistrictResult | None, exc: BaseException | None) -> None:
        if res is not None:
            res.fingerprint = prints[task.key]
            results[task.key] = res
            if checkpoint_dir is not None and settings.checkpoint:
                save_checkpoint(checkpoint_dir, res)
            log.info("planned %s in %.1f s on %s", task.key, res.seconds, res.worker)
        else:
            assert exc is not None
            failures[task.key] = _failure_reason(exc)
            log.warning("region %s failed: %s", task.key, failures[task.key])
        if progress:
            done = len(results) + len(failures)
            progress(f"{done} of {total} region(s) planned" + (f", {len(failures)} failed" if failures else ""), done / max(1, total))

    if progress:
        progress(f"{len(results)} of {total} region(s) planned", len(results) / max(1, total))
    if todo:
        if settings.executor == "inline":
            _run_inline(todo, on_done)
        else:
            _run_dask(todo, settings, on_done)
    if failures:
        raise ProgrammeFailed(failures, [t.key for t in tasks if t.key in results], checkpoint_dir if settings.checkpoint else None)
    return [results[t.key] for t in tasks]


# --------------------------------------------------------------------------- merging


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


# --------------------------------------------------------------------------- the whole job


def plan_programme(
    scenario: Scenario,
    settings: ProgrammeSettings | None = None,
    *,
    out: str | Path | None = None,
    schools: Iterable[str | Path] | None = None,
    teachers: Iterable[str | Path] | None = None,
    district_polygons: str | Path | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Plan a programme region by region as Dask tasks; the same plan as :func:`~cluster_mapper.api.plan`.

    Parameters
    ----------
    scenario : Scenario
        Inputs, policy, travel source, backend, cache. ``revise`` is not
        supported for programmes.
    settings : ProgrammeSettings, optional
        Where the tasks run (default: a local Dask cluster).
    out : path, optional
        The plan folder: finished regions are checkpointed in
        ``out/.programme`` and reused by a later run.
    schools, teachers : list of paths, optional
        Several schools files (and rosters) instead of ``scenario.schools``.
    district_polygons : path, optional
        District polygons (GeoJSON, GeoPackage; a ``district`` column): the
        scenario's ``.osm.pbf`` is cut into buffered per-district networks
        (:func:`cluster_mapper.travel.pbf_cut.cut_by_districts`, cached), and each
        task reads only its district's cut. The plan can then differ from
        one whole-network run where a shortest path leaves the buffer.
    progress : callable, optional
        Called with (message, fraction done).

    Raises
    ------
    InputError
        A problem of the inputs (nothing planned).
    ProgrammeFailed
        Some regions failed (the others are checkpointed).
    """
    t0 = time.perf_counter()
    settings = settings or ProgrammeSettings()
    if scenario.revise is not None:
        fail("<command line>", "--revise is not supported for a programme run.", fix="revise one district at a time with `cluster-mapper plan --revise`.")
    policy = scenario.load_policy()
    if progress:
        progress("reading schools and teachers", 0.0)
    inputs = read_programme_inputs(list(schools) if schools else scenario.schools, list(teachers) if teachers else scenario.teachers, policy)
    notes = check_policy_districts(policy, inputs.schools["district"])
    network = None
    district_networks = None
    if district_polygons is not None:
        if not scenario.travel.network_path:
            fail("<command line>", "--district-polygons cuts a road network, but none was given.", fix="give --network province.osm.pbf.")
        import geopandas as gpd

        if progress:
            progress("cutting the road network by district polygons", 0.0)
        cache = Path(scenario.cache_dir) if isinstance(scenario.cache_dir, (str, Path)) else default_cache_dir()
        polygons = gpd.read_file(district_polygons)
        if "district" in polygons.columns:  # only the programme's districts are cut (a missing one is reported by split_programme)
            polygons = polygons[polygons["district"].astype(str).isin(set(inputs.schools["district"].astype(str)))]
        district_networks = cut_by_districts(str(scenario.travel.network_path), polygons, cache / "district_networks")
    elif scenario.travel.network_path:
        if progress:
            progress("reading the road network and cutting it per district", 0.0)
        network = load_road_network(scenario.travel, policy)
    tasks = split_programme(
        inputs, policy, scenario.travel, network=network, backend=scenario.backend, cache_dir=scenario.cache_dir, district_networks=district_networks
    )
    log.info("programme: %d region(s), %d teachers", len(tasks), sum(t.n_teachers for t in tasks))
    ckpt = Path(out) / CHECKPOINT_DIR if out is not None else None
    if ckpt is not None and settings.checkpoint:
        check_output_folder(out)  # type: ignore[arg-type]
    t_split = time.perf_counter()
    results = run_programme(tasks, settings, checkpoint_dir=ckpt, progress=progress)
    t_tasks = time.perf_counter()
    spec = scenario.travel.spec(policy.travel_cutoff_minutes if not scenario.travel.matrix_path else None)
    merged = merge_results(
        results,
        inputs,
        policy,
        backend=scenario.backend,
        notes=notes,
        network=network,
        travel_spec=spec,
        policy_path=scenario.policy_path,
        seconds=time.perf_counter() - t0,
    )
    merged.region_results = results
    # wall-clock seconds of the phases, for benchmarks and logs
    merged.phase_seconds = {
        "read_and_split": t_split - t0,
        "tasks": t_tasks - t_split,
        "merge": time.perf_counter() - t_tasks,
    }
    log.info("programme phases (s): %s", merged.phase_seconds)
    return merged


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


__all__ = [
    "ProgrammeSettings",
    "DistrictTask",
    "DistrictResult",
    "ProgrammeFailed",
    "plan_programme",
    "split_programme",
    "run_programme",
    "merge_results",
    "network_parts",
    "plan_district",
    "read_programme_inputs",
    "region_table",
]
