"""Plans as background jobs: a worker process plans, writes and validates; the server never waits.

:func:`run_plan_job` runs in a worker process (Pebble's process pool with
``spawn`` workers, so the solver never shares the server's threads or
memory); it reports progress into a small JSON file in the project folder,
and returns a plain dict (the summary and the validator's result, or the
input problems). :class:`JobRunner` submits jobs, records their end in the
database, and cancels them: a queued job never starts, and a running one's
worker process is terminated (the pool starts a fresh worker for the next
job). With ``jobs="thread"`` (tests, small installs) a running job cannot be
killed; it stops at its next progress step instead (:class:`JobCancelled`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pebble import ProcessPool

from cluster_mapper._files import write_atomic
from cluster_mapper.api import Scenario, TravelSource, plan
from cluster_mapper.errors import InputError
from cluster_mapper.folder import recover_interrupted, write_plan
from cluster_mapper.validate.plan import validate_plan
from cluster_mapper.workspace.db import UNFINISHED, PlanVersion, Store, reopen_proposals
from cluster_mapper.workspace.projects import map_features_file

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """A manager cancelled the job while it ran in a thread (it stops at its next progress step)."""


def write_progress(path: Path, message: str, fraction: float, stop_file: Path | None = None) -> None:
    """Report a job's progress in the file its version's status reads; stop here if the job was asked to (a thread cannot be killed)."""
    if stop_file is not None and stop_file.exists():
        raise JobCancelled(message)
    write_atomic(path, json.dumps({"message": message, "fraction": round(float(fraction), 3), "time": time.time(), "pid": os.getpid()}))


def read_progress(path: Path) -> dict[str, Any] | None:
    """The progress a running job last reported (``message``, ``fraction``, the worker's ``pid``), or ``None``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_plan_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Plan one version (in a worker process): read, plan, write the folder, validate it.

    ``spec`` holds the input paths (``schools``, ``teachers``, ``network``,
    ``policy``), ``out``, ``progress_file``, ``map_file`` (the review map's
    points, written after the validator), ``stop_file`` (its existence
    stops the job at the next progress step), ``cache_dir`` and, for a
    revision, ``revise`` (the parent's folder) and ``edits`` (an edits file).
    """
    started = time.perf_counter()
    progress_file = Path(spec["progress_file"])
    stop_file = Path(spec["stop_file"]) if spec.get("stop_file") else None

    def step(message: str, fraction: float) -> None:
        write_progress(progress_file, message, fraction, stop_file)

    try:
        step("starting", 0.0)
        scenario = Scenario(
            schools=spec["schools"],
            teachers=spec.get("teachers"),
            policy=spec.get("policy"),
            travel=TravelSource(network_path=spec["network"]) if spec.get("network") else TravelSource(straight_line=True),
            revise=spec.get("revise"),
            edits=spec.get("edits"),
            cache_dir=spec.get("cache_dir"),
        )
        result = plan(scenario, progress=lambda msg, frac: step(msg, 0.9 * frac))
        step("writing the plan folder, map and report", 0.9)
        folder = write_plan(result, spec["out"])
        step("checking the plan with the validator", 0.97)
        report = validate_plan(folder)
        if spec.get("map_file"):  # the review map's points, once: a programme's map opens without reading the folder again
            map_features_file(Path(folder), Path(spec["map_file"]))
        summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
        return {"ok": True, "summary": summary, "valid": report.ok, "violations": report.violations, "seconds": time.perf_counter() - started}
    except JobCancelled as stopped:
        return {"ok": False, "cancelled": True, "error": f"cancelled at: {stopped}", "seconds": time.perf_counter() - started}
    except InputError as err:
        problems = [{"file": Path(p.file).name, "row": p.row, "field": p.field, "message": p.message, "fix": p.fix} for p in err.problems]
        return {
            "ok": False,
            "error": f"{len(problems)} problem(s) in the inputs or edits; nothing was planned.",
            "problems": problems,
            "seconds": time.perf_counter() - started,
        }
    except Exception as exc:  # a job's failure is reported on its version, never lost
        log.exception("plan job failed")
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=8), "seconds": time.perf_counter() - started}


#: How the workspace runs plans: ``process`` (worker processes that a cancel terminates) or ``thread``.
JOB_KINDS = ("process", "thread")


class JobRunner:
    """Submits plan jobs to a pool, cancels them, and records each one's end on its plan version."""

    def __init__(self, store: Store, kind: str = "process", workers: int = 1) -> None:
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown kind of jobs {kind!r}: use one of {', '.join(JOB_KINDS)}")
        self.store = store
        self.kind = kind
        self.pool: ProcessPool | ThreadPoolExecutor = (
            ProcessPool(max_workers=workers, context=multiprocessing.get_context("spawn"))
            if kind == "process"
            else ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan-job")
        )
        self.futures: dict[int, Future] = {}
        self.stop_files: dict[int, Path] = {}

    def submit(self, plan_id: int, spec: dict[str, Any], *, job: Callable[[dict[str, Any]], dict[str, Any]] = run_plan_job) -> None:
        """Start the job making version ``plan_id`` (already ``queued`` in the database): planning, or another job of the same result's form.

        ``job`` runs in a worker with ``spec`` (a ``progress_file`` and a
        ``stop_file`` among its keys) and returns ``ok`` with ``summary``,
        ``valid``, ``violations`` and ``seconds``, or ``error`` and ``problems``.
        """
        stop_file = Path(spec["progress_file"]).with_suffix(".stop")
        spec = spec | {"stop_file": str(stop_file)}
        fut: Future = self.pool.schedule(job, args=(spec,)) if isinstance(self.pool, ProcessPool) else self.pool.submit(job, spec)
        self.futures[plan_id] = fut
        self.stop_files[plan_id] = stop_file
        progress_file = Path(spec["progress_file"])
        out = Path(spec["out"])
        fut.add_done_callback(lambda f: self._finished(plan_id, f, progress_file, out))

    def cancel(self, plan_id: int) -> bool:
        """Stop a job: a queued one never starts, a running worker process is terminated; whether it was stopped.

        ``False``: the job had finished (or is not this server's). In a
        thread a running job cannot be killed: it is asked to stop at its next
        progress step (and whatever it ends with, its version stays cancelled).
        """
        fut = self.futures.get(plan_id)
        if fut is None or fut.done():
            return False
        if fut.cancel():  # queued; or running in a worker process, which Pebble terminates
            log.info("plan %d cancelled", plan_id)
            return True
        self.stop_files[plan_id].touch()
        log.info("plan %d asked to stop at its next step (a thread cannot be killed)", plan_id)
        return True

    def _finished(self, plan_id: int, fut: Future, progress_file: Path, folder: Path) -> None:
        self.futures.pop(plan_id, None)
        stop_file = self.stop_files.pop(plan_id, None)
        if stop_file is not None:
            stop_file.unlink(missing_ok=True)
        if fut.cancelled():  # the service that cancelled it records it (or, at shutdown, the next start marks it failed)
            progress_file.unlink(missing_ok=True)
            for done in recover_interrupted(folder):  # a worker stopped while writing leaves a half-written copy
                log.info("%s", done)
            return
        try:
            out = fut.result()
        except Exception as exc:  # the worker process died (out of memory, killed)
            out = {"ok": False, "error": f"the plan's worker stopped: {type(exc).__name__}: {exc}"}
        with self.store.session() as s:
            p = s.get(PlanVersion, plan_id)
            if p is None or p.status not in UNFINISHED:  # cancelled meanwhile: it stays cancelled
                progress_file.unlink(missing_ok=True)
                return
            p.finished_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            p.seconds = out.get("seconds")
            if out.get("ok"):
                p.status, p.summary, p.valid, p.violations = "done", out["summary"], out["valid"], out["violations"]
            else:
                p.status, p.error, p.problems = "failed", out.get("error", ""), out.get("problems")
                if reopen_proposals(s, plan_id):  # nothing a reviewer proposed is lost with a failed plan
                    p.error += " The proposals it was to use are open again on its parent."
            s.commit()
        progress_file.unlink(missing_ok=True)  # after the commit: a poll never sees "queued" again
        log.info("plan %d finished: %s", plan_id, "done" if out.get("ok") else out.get("error"))

    def shutdown(self) -> None:
        """Stop: queued jobs never start, running workers are terminated (the next start marks their versions failed)."""
        if isinstance(self.pool, ProcessPool):
            self.pool.stop()
            self.pool.join(timeout=30)
        else:
            self.pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["run_plan_job", "read_progress", "write_progress", "JobRunner", "JobCancelled", "JOB_KINDS"]
