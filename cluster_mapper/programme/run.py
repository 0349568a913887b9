"""Running a plan of many districts: one region in this process, several as Dask tasks, checkpointed and resumable.

:func:`plan_districts` is what ``cluster-mapper plan`` (and its alias
``programme``) runs::

    read all inputs ─► one region? ─► api.plan in this process
                          │ several
                          ▼
    check policy ─► cut network per region ─► tasks on Dask ─► merge ─► the Plan
                   (tasks.network_parts)      (as they finish;   (merge.py)
                                               checkpointed in
                                               OUT/.programme/)

Where the tasks run (:class:`ProgrammeSettings`):

* by default on a local Dask cluster started for the run, one single-threaded
  worker process per core (stopped at the end);
* with ``scheduler="tcp://host:8786"`` (or ``DASK_SCHEDULER_ADDRESS``) on an
  existing Dask cluster whose workers have cluster_mapper installed; the run
  uses it and leaves it running;
* with ``executor="inline"`` one after another in this process (no Dask).

A lost worker does not lose the programme: each task's data goes to Dask by
value inside the task (never ``client.scatter``-ed as the only copy), so the
scheduler can run a task again on another worker when the one running it (or
holding its result) dies; a task that raises is retried ``retries`` times.
At most two tasks per worker are submitted at a time, so the scheduler never
holds every region's data at once.

Checkpoints (:mod:`cluster_mapper.programme.checkpoints`): every finished
region is saved as JSON in ``OUT/.programme`` with a fingerprint of its
inputs, policy, network part and solver; a later run with the same inputs
reuses it instead of planning the region again. A region that fails is
reported with its reason (:class:`ProgrammeFailed`) while the others complete
and are checkpointed, so the run can be repeated after the fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx

from cluster_mapper.api import Scenario, load_road_network, plan
from cluster_mapper.errors import InputError, fail
from cluster_mapper.folder import check_output_folder
from cluster_mapper.inputs.schools import Inputs
from cluster_mapper.planning.solve import Plan
from cluster_mapper.policy.load import check_policy_districts
from cluster_mapper.policy.rules import Policy
from cluster_mapper.programme.checkpoints import CHECKPOINT_DIR, load_checkpoint, save_checkpoint, slug
from cluster_mapper.programme.merge import merge_results, region_table
from cluster_mapper.programme.tasks import DistrictResult, DistrictTask, plan_district, read_programme_inputs, region_of_schools, split_programme
from cluster_mapper.support import plan_support
from cluster_mapper.travel.pbf_cut import cut_by_districts
from cluster_mapper.travel.times import default_cache_dir

log = logging.getLogger(__name__)

#: Called with (what is happening, fraction done between 0 and 1).
Progress = Callable[[str, float], None]
#: Called with (task, its result or None, the exception or None) as each region finishes.
OnDone = Callable[[DistrictTask, DistrictResult | None, BaseException | None], None]

ENV_SCHEDULER = "DASK_SCHEDULER_ADDRESS"
TASKS_PER_WORKER = 2


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
    retries : int
        How often Dask runs a region again after it raised (a lost worker is
        handled by the scheduler and does not count).
    """

    scheduler: str | None = None
    n_workers: int | None = None
    executor: str = "dask"
    checkpoint: bool = True
    worker_memory_limit: str | int = 0
    retries: int = 1

    def __post_init__(self) -> None:
        if self.executor not in ("dask", "inline"):
            raise ValueError(f"ProgrammeSettings.executor must be 'dask' or 'inline', not {self.executor!r}")
        if self.n_workers is not None and self.n_workers < 1:
            raise ValueError(f"ProgrammeSettings.n_workers must be at least 1, not {self.n_workers!r}")
        if self.retries < 0:
            raise ValueError(f"ProgrammeSettings.retries must be 0 or more, not {self.retries!r}")

    @property
    def scheduler_address(self) -> str | None:
        """The scheduler to use: the setting, else ``$DASK_SCHEDULER_ADDRESS``, else None (local)."""
        return self.scheduler or os.environ.get(ENV_SCHEDULER) or None


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
        lines = [f"{len(failures)} of {_districts(len(failures) + len(finished))} could not be planned; no plan was written:"]
        lines += [f"  - {k}: {why}" for k, why in failures.items()]
        if checkpoint_dir is not None and finished:
            lines.append(
                f"The finished districts are kept ({len(finished)}, in {checkpoint_dir}); run the same command again after the fix "
                "and only the failed ones are planned."
            )
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------- running the tasks


def _districts(n: int) -> str:
    return f"{n} district" if n == 1 else f"{n} districts"


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return "; ".join(str(p) for p in exc.problems)
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _run_inline(tasks: list[DistrictTask], on_done: OnDone) -> None:
    for task in tasks:
        try:
            res = plan_district(task)
        except Exception as exc:  # one region's failure must not stop the others
            log.debug("region %s failed:\n%s", task.key, traceback.format_exc())
            on_done(task, None, exc)
        else:
            on_done(task, res, None)


def dask_log_level() -> int:
    """Dask's own log level, one step quieter than this process's: errors only unless ``-v`` (INFO) was asked for."""
    root = logging.getLogger().getEffectiveLevel()
    return logging.ERROR if root > logging.INFO else logging.WARNING if root == logging.INFO else logging.INFO


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Worker processes started inside ignore Ctrl-C (inherited SIG_IGN): the run stops them itself, without a traceback from each.

    While the local cluster starts (seconds), Ctrl-C is ignored here too; SIGTERM still stops the run.
    """
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _local_cluster(settings: ProgrammeSettings, log_level: int):
    from distributed import LocalCluster

    n = settings.n_workers
    if n is None:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with _children_ignore_ctrl_c():
        return LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=settings.worker_memory_limit, silence_logs=log_level
        )


def _submit_in_window(client, tasks: list[DistrictTask], settings: ProgrammeSettings, on_done: OnDone) -> None:
    """Submit the tasks by value, at most :data:`TASKS_PER_WORKER` per worker thread at a time; report each as it finishes.

    The window follows the cluster: workers that join later widen it.
    """
    from distributed import as_completed

    pending = list(tasks)
    by_key: dict[str, DistrictTask] = {}
    running = as_completed()

    def top_up() -> None:
        window = max(TASKS_PER_WORKER, TASKS_PER_WORKER * sum(client.nthreads().values()))
        while pending and len(by_key) < window:
            task = pending.pop(0)
            # the task is an argument, kept by the scheduler: a lost worker's task runs again elsewhere
            fut = client.submit(plan_district, task, key=f"plan-{slug(task.key)}-{task.fingerprint()[:12]}", pure=False, retries=settings.retries)
            by_key[fut.key] = task
            running.add(fut)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
        top_up()
        for fut in running:
            task = by_key.pop(fut.key)
            try:
                res = fut.result()
            except Exception as exc:  # the region's own error, or Dask gave up on it (KilledWorker)
                on_done(task, None, exc)
            else:
                on_done(task, res, None)
            fut.release()
            top_up()


def _run_dask(tasks: list[DistrictTask], settings: ProgrammeSettings, on_done: OnDone) -> None:
    from distributed import Client

    level = dask_log_level()
    logging.getLogger("distributed").setLevel(level)
    address = settings.scheduler_address
    cluster = None
    if address:
        log.info("using the Dask scheduler at %s (left running)", address)
        client = Client(address, timeout="30s")
    else:
        cluster = _local_cluster(settings, level)
        client = Client(cluster)
        log.info("started a local Dask cluster with %d worker(s); dashboard %s", len(cluster.workers), cluster.dashboard_link)
    try:
        _submit_in_window(client, tasks, settings, on_done)
    except BaseException:
        if level > logging.DEBUG:  # stopping on an interrupt or error: Dask's tracebacks while it shuts down are noise
            logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _resume(tasks: list[DistrictTask], prints: dict[str, str], checkpoint_dir: Path | None) -> dict[str, DistrictResult]:
    """The regions whose checkpoint matches their task (marked ``resumed``)."""
    results: dict[str, DistrictResult] = {}
    if checkpoint_dir is None:
        return results
    for t in tasks:
        res = load_checkpoint(checkpoint_dir, t, prints[t.key])
        if res is not None:
            res.resumed = True
            results[t.key] = res
    if results:
        log.info("resuming: %d of %d region(s) read from checkpoints", len(results), len(tasks))
    return results


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
    ckpt = checkpoint_dir if settings.checkpoint else None
    prints = {t.key: t.fingerprint() for t in tasks}
    results = _resume(tasks, prints, ckpt)
    failures: dict[str, str] = {}
    total = len(tasks)

    def on_done(task: DistrictTask, res: DistrictResult | None, exc: BaseException | None) -> None:
        if res is not None:
            res.fingerprint = prints[task.key]
            results[task.key] = res
            if ckpt is not None:
                save_checkpoint(ckpt, res)
            log.info("planned %s in %.1f s on %s", task.key, res.seconds, res.worker)
        else:
            failures[task.key] = _failure_reason(exc) if exc is not None else "unknown failure"
            log.warning("region %s failed: %s", task.key, failures[task.key])
        if progress:
            done = len(results) + len(failures)
            what = f"{task.key} planned" if res is not None else f"{task.key} failed"
            progress(f"{done} of {_districts(total)} done ({what})", done / max(1, total))

    todo = [t for t in tasks if t.key not in results]
    if progress:
        resumed = f"; resumed {len(results)} from checkpoints" if results else ""
        where = "in this process" if settings.executor == "inline" else f"on Dask ({settings.scheduler_address or 'a local cluster'})"
        progress(f"{len(todo)} of {_districts(total)} to plan {where}{resumed}", len(results) / max(1, total))
    if todo:
        (_run_inline(todo, on_done) if settings.executor == "inline" else _run_dask(todo, settings, on_done))
    if failures:
        raise ProgrammeFailed(failures, [t.key for t in tasks if t.key in results], ckpt)
    return [results[t.key] for t in tasks]


# --------------------------------------------------------------------------- the whole job


def _networks(
    scenario: Scenario, policy: Policy, inputs: Inputs, district_polygons: str | Path | None, progress: Progress | None
) -> tuple[nx.MultiDiGraph | None, dict[str, Path] | None]:
    """The programme's road network (loaded once), or per-district cuts of its ``.osm.pbf`` by polygons."""
    if district_polygons is None:
        if not scenario.travel.network_path:
            return None, None
        if progress:
            progress("reading the road network and cutting it per district", 0.0)
        return load_road_network(scenario.travel, policy), None
    if not scenario.travel.network_path:
        fail("<command line>", "--district-polygons cuts a road network, but none was given.", fix="give --network province.osm.pbf.")
    if progress:
        progress("cutting the road network by district polygons", 0.0)
    cache = Path(scenario.cache_dir) if isinstance(scenario.cache_dir, (str, Path)) else default_cache_dir()
    polygons = gpd.read_file(district_polygons)
    if "district" in polygons.columns:  # only the programme's districts are cut (a missing one is reported by split_programme)
        polygons = polygons[polygons["district"].astype(str).isin(set(inputs.schools["district"].astype(str)))]
    return None, cut_by_districts(str(scenario.travel.network_path), polygons, cache / "district_networks")


def plan_programme(
    scenario: Scenario,
    settings: ProgrammeSettings | None = None,
    *,
    out: str | Path | None = None,
    schools: Iterable[str | Path] | None = None,
    teachers: Iterable[str | Path] | None = None,
    district_polygons: str | Path | None = None,
    progress: Progress | None = None,
    inputs: Inputs | None = None,
) -> Plan:
    """Plan a programme region by region as tasks; the same plan as :func:`~cluster_mapper.api.plan`.

    ``scenario`` gives the inputs, policy, travel source, backend, cache and
    facilitators (``revise`` and ``edits`` are not supported here: see
    :func:`plan_districts`). ``settings`` say where the tasks run (default:
    a local Dask cluster). With ``out``, finished regions are checkpointed in
    ``out/.programme`` and reused by a later run. ``schools``/``teachers``:
    several files instead of the scenario's; ``inputs``: already read.
    ``district_polygons`` (GeoJSON, GeoPackage; a ``district`` column) cut
    the scenario's ``.osm.pbf`` into buffered per-district networks
    (:func:`cluster_mapper.travel.pbf_cut.cut_by_districts`, cached); each
    task then reads only its own, and the plan can differ from one
    whole-network run where a shortest path leaves the buffer.
    ``progress`` is called with (message, fraction done).

    Raises
    ------
    InputError
        A problem of the inputs (nothing planned).
    ProgrammeFailed
        Some regions failed (the others are checkpointed).
    """
    t0 = time.perf_counter()
    settings = settings or ProgrammeSettings()
    if scenario.revise is not None or scenario.edits is not None:
        fail("<command line>", "--revise and --edits plan the districts together in one process.", fix="call cluster_mapper.plan (or plan_districts).")
    policy = scenario.load_policy()
    if inputs is None:
        if progress:
            progress("reading schools and teachers", 0.0)
        inputs = read_programme_inputs(list(schools) if schools else scenario.schools, list(teachers) if teachers else scenario.teachers, policy)
    notes = list(inputs.notes) + check_policy_districts(policy, inputs.schools["district"])
    network, district_networks = _networks(scenario, policy, inputs, district_polygons, progress)
    tasks = split_programme(
        inputs, policy, scenario.travel, network=network, backend=scenario.backend, cache_dir=scenario.cache_dir, district_networks=district_networks
    )
    log.info("programme: %d region(s), %d teachers", len(tasks), sum(t.n_teachers for t in tasks))
    ckpt = Path(out) / CHECKPOINT_DIR if out is not None else None
    if out is not None and settings.checkpoint:
        check_output_folder(out)
    t_split = time.perf_counter()
    results = run_programme(tasks, settings, checkpoint_dir=ckpt, progress=progress)
    t_tasks = time.perf_counter()
    spec = scenario.travel.spec(policy.travel_cutoff_minutes if not scenario.travel.matrix_path else None)
    merged = merge_results(
        results, inputs, policy, backend=scenario.backend, notes=notes, network=network, travel_spec=spec, policy_path=scenario.policy_path, seconds=0.0
    )
    merged.region_results = results
    if scenario.facilitators is not None:
        if progress:
            progress("planning facilitator support", 0.95)
        merged.support = plan_support(merged, scenario.facilitators)
    merged.solve_seconds = time.perf_counter() - t0
    # wall-clock seconds of the phases, for benchmarks and logs
    merged.phase_seconds = {"read_and_split": t_split - t0, "tasks": t_tasks - t_split, "merge": time.perf_counter() - t_tasks}
    log.info("programme phases (s): %s", merged.phase_seconds)
    return merged


def plan_districts(
    scenario: Scenario,
    settings: ProgrammeSettings | None = None,
    *,
    out: str | Path | None = None,
    schools: Iterable[str | Path] | None = None,
    teachers: Iterable[str | Path] | None = None,
    district_polygons: str | Path | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Plan any number of districts: one planning region in this process, several as tasks (``cluster-mapper plan``).

    One region (one district, or ``cross_district = true``), given in one
    schools file with no ``--scheduler`` and no ``--district-polygons``, is
    planned by :func:`~cluster_mapper.api.plan` in this process. Several go
    to :func:`plan_programme` (a local Dask cluster, the given scheduler, or
    inline with ``executor="inline"``), checkpointed in ``out/.programme``.
    ``revise`` and ``edits`` plan all districts of one file together in this
    process (least change and edit rules span the file). The plan is the
    same either way.
    """
    settings = settings or ProgrammeSettings()
    s_files = list(schools) if schools else [scenario.schools]
    t_files = list(teachers) if teachers else ([scenario.teachers] if scenario.teachers is not None else None)
    if scenario.revise is not None or scenario.edits is not None:
        if len(s_files) > 1 or settings.scheduler or district_polygons is not None:
            fail(
                "<command line>",
                "--revise and --edits plan one schools file in this process; they cannot be combined with several --schools, --scheduler or --district-polygons.",
                fix="revise one schools file at a time, without --scheduler and --district-polygons.",
            )
        return plan(scenario, progress=progress)
    t0 = time.perf_counter()
    policy = scenario.load_policy()
    if progress:
        progress("reading schools and teachers", 0.0)
    t_arg: str | Path | list[str | Path] | None = t_files if t_files is None or len(t_files) > 1 else t_files[0]
    inputs = read_programme_inputs(s_files if len(s_files) > 1 else s_files[0], t_arg, policy)
    regions = set(region_of_schools(inputs, policy))
    if len(regions) == 1 and len(s_files) == 1 and district_polygons is None and not settings.scheduler:
        log.info("one planning region: planned in this process")
        return plan(scenario, inputs=inputs, progress=progress)
    log.info("%d planning regions: planned as tasks (%s)", len(regions), settings.executor)
    read_s = time.perf_counter() - t0
    merged = plan_programme(scenario, settings, out=out, district_polygons=district_polygons, progress=progress, inputs=inputs)
    merged.phase_seconds["read_and_split"] += read_s  # the inputs were read here, before plan_programme
    merged.solve_seconds += read_s
    return merged


__all__ = [
    "ProgrammeSettings",
    "ProgrammeFailed",
    "plan_districts",
    "plan_programme",
    "run_programme",
    "region_table",
    "dask_log_level",
]
