"""Plans as background jobs: a worker process plans, writes and validates; the server never waits.

:func:`run_plan_job` runs in a worker process (a ``spawn`` process pool, so
the solver never shares the server's threads or memory); it reports progress
into a small JSON file in the project folder, and returns a plain dict (the
summary and the validator's result, or the input problems). :class:`JobRunner`
submits jobs and records their end in the database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import time
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cluster_mapper._files import write_atomic
from cluster_mapper.api import Scenario, TravelSource, plan
from cluster_mapper.errors import InputError
from cluster_mapper.folder import write_plan
from cluster_mapper.validate.plan import validate_plan
from cluster_mapper.workspace.db import PlanVersion, Store

log = logging.getLogger(__name__)


def _write_progress(path: Path, message: str, fraction: float) -> None:
    write_atomic(path, json.dumps({"message": message, "fraction": round(float(fraction), 3), "time": time.time()}))


def read_progress(path: Path) -> dict[str, Any] | None:
    """The progress a running job last reported (``message``, ``fraction``), or ``None``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_plan_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Plan one version (in a worker process): read, plan, write the folder, validate it.

    ``spec`` holds the input paths (``schools``, ``teachers``, ``network``,
    ``policy``), ``out``, ``progress_file``, ``cache_dir`` and, for a
    revision, ``revise`` (the parent's folder) and ``edits`` (an edits file).
    """
    started = time.perf_counter()
    progress_file = Path(spec["progress_file"])
    try:
        _write_progress(progress_file, "starting", 0.0)
        scenario = Scenario(
            schools=spec["schools"],
            teachers=spec.get("teachers"),
            policy=spec.get("policy"),
            travel=TravelSource(network_path=spec["network"]) if spec.get("network") else TravelSource(straight_line=True),
            revise=spec.get("revise"),
            edits=spec.get("edits"),
            cache_dir=spec.get("cache_dir"),
        )
        result = plan(scenario, progress=lambda msg, frac: _write_progress(progress_file, msg, 0.9 * frac))
        _write_progress(progress_file, "writing the plan folder, map and report", 0.9)
        folder = write_plan(result, spec["out"])
        _write_progress(progress_file, "checking the plan with the validator", 0.97)
        report = validate_plan(folder)
        summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
        return {"ok": True, "summary": summary, "valid": report.ok, "violations": report.violations, "seconds": time.perf_counter() - started}
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


def make_executor(kind: str = "process", workers: int = 1) -> Executor:
    """A pool for plan jobs: ``process`` (spawned worker processes, the default) or ``thread``."""
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan-job")
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


class JobRunner:
    """Submits plan jobs to a pool and records each one's end on its plan version."""

    def __init__(self, store: Store, executor: Executor) -> None:
        self.store = store
        self.executor = executor
        self.futures: dict[int, Future] = {}

    def submit(self, plan_id: int, spec: dict[str, Any]) -> None:
        """Start planning version ``plan_id`` (already ``queued`` in the database)."""
        fut = self.executor.submit(run_plan_job, spec)
        self.futures[plan_id] = fut
        progress_file = Path(spec["progress_file"])
        fut.add_done_callback(lambda f: self._finished(plan_id, f, progress_file))

    def cancel(self, plan_id: int) -> bool:
        """Cancel a job that has not started yet; whether it was cancelled."""
        fut = self.futures.get(plan_id)
        return bool(fut and fut.cancel())

    def _finished(self, plan_id: int, fut: Future, progress_file: Path) -> None:
        if fut.cancelled():
            out: dict[str, Any] = {"ok": False, "error": "cancelled before it started."}
        else:
            try:
                out = fut.result()
            except Exception as exc:  # the worker process died (out of memory, killed)
                out = {"ok": False, "error": f"the plan's worker stopped: {type(exc).__name__}: {exc}"}
        with self.store.session() as s:
            p = s.get(PlanVersion, plan_id)
            if p is None:
                return
            p.finished_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            p.seconds = out.get("seconds")
            if out.get("ok"):
                p.status, p.summary, p.valid, p.violations = "done", out["summary"], out["valid"], out["violations"]
            else:
                p.status, p.error, p.problems = "failed", out.get("error", ""), out.get("problems")
            s.commit()
        progress_file.unlink(missing_ok=True)  # after the commit: a poll never sees "queued" again
        self.futures.pop(plan_id, None)
        log.info("plan %d finished: %s", plan_id, "done" if out.get("ok") else out.get("error"))

    def shutdown(self) -> None:
        """Stop taking jobs; cancel the queued ones."""
        self.executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["run_plan_job", "read_progress", "make_executor", "JobRunner"]
