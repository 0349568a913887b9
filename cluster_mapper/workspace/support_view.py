"""Support in the workspace: who supports each cluster of a version, as a new version, and the Support pages.

``POST /api/plans/{id}/support`` plans the facilitators' month on a done
version's clusters as ``cluster-mapper support`` does
(:func:`~cluster_mapper.support.plan_support` and
:func:`~cluster_mapper.folder.write_support_to_plan`), but into a copy: a
new version whose parent is the planned one, checked by the validator, so
the version it came from stays as it was. The job runs in the workspace's
job pool (the server never waits). The pages show what
``report.html`` shows, from :mod:`cluster_mapper.review.support_pages`: the
support figures, the facilitators' months, and one calendar page per person
with their GPX and iCalendar files.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from cluster_mapper.errors import InputError
from cluster_mapper.folder import read_plan, write_support_to_plan
from cluster_mapper.policy.load import load_policy
from cluster_mapper.review.support_pages import facilitator_pages, support_figure_rows
from cluster_mapper.support import plan_support
from cluster_mapper.support.files import GPX_DIR, ICS_DIR, gpx_names
from cluster_mapper.validate.plan import validate_plan
from cluster_mapper.workspace.db import PlanVersion
from cluster_mapper.workspace.jobs import write_progress
from cluster_mapper.workspace.service import Workspace, WorkspaceError

log = logging.getLogger(__name__)


def run_support_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Plan support on a copy of a plan folder (in a worker process); the summary and the validator's result, or the problems.

    ``spec``: ``parent`` (the planned folder), ``out`` (the new version's
    folder), ``facilitators`` (the file), ``policy`` (a policy file whose
    ``[support]`` table applies, or ``None`` for the plan's), ``progress_file``.
    """
    started = time.perf_counter()
    progress_file, out = Path(spec["progress_file"]), Path(spec["out"])
    stop_file = Path(spec["stop_file"]) if spec.get("stop_file") else None

    def _progress(path: Path, message: str, fraction: float) -> None:
        write_progress(path, message, fraction, stop_file)

    try:
        _progress(progress_file, "copying the plan", 0.02)
        shutil.copytree(spec["parent"], out)
        saved = read_plan(out)
        policy = load_policy(spec["policy"]) if spec.get("policy") else None
        _progress(progress_file, "planning the facilitators' month", 0.1)
        result = plan_support(saved, spec["facilitators"], policy=policy)
        _progress(progress_file, "writing support files, map and report", 0.85)
        write_support_to_plan(out, saved, result)
        _progress(progress_file, "checking the plan with the validator", 0.95)
        report = validate_plan(out)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        return {"ok": True, "summary": summary, "valid": report.ok, "violations": report.violations, "seconds": time.perf_counter() - started}
    except InputError as err:
        problems = [{"file": Path(p.file).name, "row": p.row, "field": p.field, "message": p.message, "fix": p.fix} for p in err.problems]
        return {"ok": False, "error": f"{len(problems)} problem(s) in the facilitators or policy; no support was planned.", "problems": problems}
    except Exception as exc:  # a job's failure is reported on its version, never lost
        log.exception("support job failed")
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=8)}


def start_support(ws: Workspace, plan_id: int, *, author: str, facilitators: Path | None = None) -> int:
    """Queue support planning on a done version as a new version; its id.

    ``facilitators`` defaults to the project's facilitators file; the
    project's policy gives the ``[support]`` settings (month, workdays ...).
    """
    with ws.store.session() as s:
        parent = s.get(PlanVersion, plan_id)
        if parent is None:
            raise WorkspaceError(404, f"there is no plan {plan_id}.")
        if parent.status != "done":
            raise WorkspaceError(409, f"plan {plan_id} is {parent.status}, not done; wait for it to finish.")
        p = parent.project
        fac = facilitators or (ws.path(p.inputs["facilitators"]) if p.inputs.get("facilitators") else None)
        if fac is None:
            raise WorkspaceError(
                422,
                "this project has no facilitators file.",
                [
                    {
                        "field": "facilitators",
                        "message": "no facilitators file",
                        "fix": "upload one with the project, or send it as the file field 'facilitators'.",
                    }
                ],
            )
        v = PlanVersion(project_id=p.id, parent_id=parent.id, created_by=author)
        s.add(v)
        s.flush()
        folder = ws.path(p.folder)
        spec = {
            "parent": str(ws.path(parent.folder)),
            "out": str(folder / "plans" / str(v.id)),
            "facilitators": str(fac),
            "policy": str(ws.path(p.inputs["policy"])) if p.inputs.get("policy") else None,
            "progress_file": str(folder / "jobs" / f"{v.id}.json"),
        }
        v.folder = (folder / "plans" / str(v.id)).relative_to(ws.root).as_posix()
        s.commit()
        new_id = v.id
    ws.runner.submit(new_id, spec, job=run_support_job)
    return new_id


def support_of(folder: Path) -> dict[str, Any] | None:
    """A version's support as the pages show it (figures, the facilitators' months, one page per person), or ``None`` without support."""
    saved = read_plan(folder)
    sp = saved.support
    if sp is None:
        return None
    files = gpx_names(sp.programme["facilitator_id"].tolist()) if len(sp.programme) else {}
    ics = gpx_names(list(files), "ics")
    people = []
    for page in facilitator_pages(saved):
        fid = str(page["id"])
        page["gpx"] = f"{GPX_DIR}/{files[fid]}" if fid in files and (folder / GPX_DIR / files[fid]).is_file() else None
        page["ics"] = f"{ICS_DIR}/{ics[fid]}" if fid in ics and (folder / ICS_DIR / ics[fid]).is_file() else None
        people.append(page)
    unsupported = sp.support[sp.support["facilitator_id"].astype(str) == ""]
    return {
        "figures": support_figure_rows(sp.figures),
        "notes": sp.figures.get("notes") or [],
        "month": (sp.figures.get("policy") or {}).get("month"),
        "people": people,
        "unsupported": unsupported[["cluster_id", "reason", "suggestion"]].to_dict("records"),
    }


__all__ = ["run_support_job", "start_support", "support_of"]
