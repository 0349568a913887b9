"""What the workspace does, apart from HTTP: projects, plan versions, revisions, diffs and downloads.

Both the JSON API and the pages call this one :class:`Workspace`, so a page
does exactly what a script can do through ``/api/``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cluster_mapper.review.workbook import write_workbook
from cluster_mapper.validate.plan import validate_plan
from cluster_mapper.workspace import projects
from cluster_mapper.workspace.db import EDIT_FIELDS, UNFINISHED, PlanEdit, PlanVersion, Project, Proposal, Store, edit_row, reopen_proposals
from cluster_mapper.workspace.jobs import JobRunner, read_progress

log = logging.getLogger(__name__)


class WorkspaceError(Exception):
    """A request the workspace refuses: HTTP status, message and the problems found."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []


@dataclass
class Workspace:
    """A workspace: its folder, database and job runner."""

    root: Path
    store: Store
    runner: JobRunner

    # ------------------------------------------------------------------ projects
    def create_project(self, name: str, *, author: str, files: dict[str, tuple[str, bytes]] | None = None, sample: bool = False) -> int:
        """A new project from the bundled sample or uploaded files (``kind -> (file name, bytes)``); its id."""
        name = name.strip()
        if not name or len(name) > 200:
            raise WorkspaceError(422, "give the project a name of 1 to 200 characters.")
        if not sample and not (files or {}).get("schools"):
            raise WorkspaceError(422, "give a schools file, or sample: true for the bundled sample.")
        problems = []
        for kind, (filename, data) in (files or {}).items():
            problems += [{"field": kind, "message": p.message, "fix": p.fix} for p in projects.check_upload(kind, filename, data[:4096], len(data))]
        if problems:
            raise WorkspaceError(422, f"{len(problems)} problem(s) in the uploaded files; no project was made.", problems)
        with self.store.session() as s:
            p = Project(name=name, folder="", inputs={}, created_by=author)
            s.add(p)
            s.flush()
            folder = projects.new_project_folder(self.root, p.id)
            inputs = projects.copy_sample(folder) if sample else {}
            for kind, (filename, data) in (files or {}).items():
                dst = folder / "inputs" / f"{kind}-{projects.safe_name(filename)}"
                dst.write_bytes(data)
                inputs[kind] = str(dst)
            p.folder = folder.relative_to(self.root).as_posix()
            p.inputs = {k: Path(v).relative_to(self.root).as_posix() for k, v in inputs.items()}
            s.commit()
            log.info("project %d %r made by %s", p.id, name, author)
            return p.id

    def project(self, project_id: int) -> dict[str, Any]:
        """A project with its versions."""
        with self.store.session() as s:
            p = s.get(Project, project_id)
            if p is None:
                raise WorkspaceError(404, f"there is no project {project_id}.")
            return {
                "id": p.id,
                "name": p.name,
                "created_by": p.created_by,
                "created_at": p.created_at.isoformat(),
                "inputs": {k: Path(v).name for k, v in p.inputs.items()},
                "accepted_plan_id": p.accepted_plan_id,
                "plans": [self._plan_row(v) for v in p.plans],
            }

    def projects(self) -> list[dict[str, Any]]:
        """All projects, newest first."""
        with self.store.session() as s:
            return [
                {"id": p.id, "name": p.name, "created_at": p.created_at.isoformat(), "plans": len(p.plans)}
                for p in s.scalars(select(Project).order_by(Project.id.desc()))
            ]

    # ------------------------------------------------------------------ plans
    def path(self, relative: str) -> Path:
        """A path kept in the database (relative to the workspace folder, so the folder can move) made absolute."""
        return self.root / relative

    def _spec(self, p: Project, plan_id: int) -> dict[str, Any]:
        folder = self.path(p.folder)
        return {
            **{k: str(self.path(p.inputs[k])) if p.inputs.get(k) else None for k in projects.INPUT_KEYS},
            "out": str(folder / "plans" / str(plan_id)),
            "progress_file": str(folder / "jobs" / f"{plan_id}.json"),
            "map_file": str(self._map_file(folder, plan_id)),
            "cache_dir": str(self.root / "cache"),
        }

    def start_plan(self, project_id: int, *, author: str, policy: Path | None = None) -> int:
        """Queue a fresh plan of the project (under another ``policy`` file for a scenario); the new version's id."""
        with self.store.session() as s:
            p = s.get(Project, project_id)
            if p is None:
                raise WorkspaceError(404, f"there is no project {project_id}.")
            v = PlanVersion(project_id=p.id, created_by=author)
            s.add(v)
            s.flush()
            spec = self._spec(p, v.id) | ({"policy": str(policy)} if policy is not None else {})
            v.folder = Path(spec["out"]).relative_to(self.root).as_posix()
            s.commit()
            self.runner.submit(v.id, spec)
            return v.id

    def import_plan(self, project_id: int, data: bytes, *, author: str) -> int:
        """A zipped plan folder as a new done version of the project, checked by the validator; its id."""
        with self.store.session() as s:
            p = s.get(Project, project_id)
            if p is None:
                raise WorkspaceError(404, f"there is no project {project_id}.")
            v = PlanVersion(project_id=p.id, created_by=author, status="failed", error="importing")
            s.add(v)
            s.flush()
            out = self.path(p.folder) / "plans" / str(v.id)
            problems = projects.unzip_plan(data, out)
            if problems:
                s.rollback()
                raise WorkspaceError(
                    422, f"{len(problems)} problem(s) in the plan folder; nothing was imported.", [{"field": "plan", "message": m} for m in problems]
                )
            report = validate_plan(out)
            v.folder = out.relative_to(self.root).as_posix()
            v.summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            v.status, v.error, v.valid, v.violations = "done", "", report.ok, report.violations
            s.commit()
            return v.id

    def _done_plan(self, s, plan_id: int, *, readable: bool = False) -> PlanVersion:
        """A done version (``readable``: or a discarded one, whose files stay readable); 404 or 409 otherwise."""
        v = s.get(PlanVersion, plan_id)
        if v is None:
            raise WorkspaceError(404, f"there is no plan {plan_id}.")
        if v.status == "done" or (readable and v.status == "discarded"):
            return v
        if v.status == "discarded":
            raise WorkspaceError(409, f"plan {plan_id} was discarded by {v.closed_by or 'a manager'}; use another version (its files can still be read).")
        if v.status in UNFINISHED:
            raise WorkspaceError(409, f"plan {plan_id} is {v.status}, not done; wait for it to finish.")
        raise WorkspaceError(409, f"plan {plan_id} is {v.status}, not done: nothing was planned; start the plan again.")

    def revise(self, plan_id: int, rows: list[dict[str, Any]], *, author: str, use_proposals: bool = False) -> int:
        """Queue a least-change re-plan of ``plan_id`` with edit rows (and its open proposals); the new version's id.

        Raises :class:`WorkspaceError` 422 listing every problem of the edits found before planning.
        """
        with self.store.session() as s:
            parent = self._done_plan(s, plan_id)
            used = list(s.scalars(select(Proposal).where(Proposal.plan_id == plan_id, Proposal.used_in_plan_id.is_(None)))) if use_proposals else []
            rows = [projects.used_fields(r) for r in rows] + [{f: getattr(q, f) for f in EDIT_FIELDS} | {"author": q.author} for q in used]
            authors = [str(r.pop("author", "") or author) for r in rows]
            folder = self.path(parent.project.folder)
            check_path = folder / "edits" / f"check-{plan_id}-{author}.csv"
            problems = projects.check_edit_rows(rows, check_path, self.path(parent.folder))
            check_path.unlink(missing_ok=True)
            if problems:
                raise WorkspaceError(422, f"{len(problems)} problem(s) in the edits; nothing was planned.", problems)
            v = PlanVersion(project_id=parent.project_id, parent_id=parent.id, created_by=author)
            s.add(v)
            s.flush()
            edits_file = projects.write_edits_file(folder / "edits" / f"{v.id}.csv", rows)
            for r, who in zip(rows, authors):
                s.add(PlanEdit(plan_id=v.id, author=who, **{f: str(r.get(f) or "") for f in EDIT_FIELDS}))
            for q in used:
                q.used_in_plan_id = v.id
            spec = self._spec(parent.project, v.id) | {"revise": str(self.path(parent.folder)), "edits": str(edits_file)}
            v.folder = Path(spec["out"]).relative_to(self.root).as_posix()
            s.commit()
            self.runner.submit(v.id, spec)
            return v.id

    def _plan_row(self, v: PlanVersion) -> dict[str, Any]:
        status = v.status
        progress = None
        if status == "queued":
            progress = read_progress(self.path(v.project.folder) / "jobs" / f"{v.id}.json")
            status = "running" if progress else "queued"
        s = v.summary or {}
        return {
            "id": v.id,
            "project_id": v.project_id,
            "parent_id": v.parent_id,
            "status": status,
            "progress": progress,
            "created_by": v.created_by,
            "created_at": v.created_at.isoformat(),
            "seconds": None if v.seconds is None else round(v.seconds, 1),
            "valid": v.valid,
            "error": v.error,
            "teachers_placed": s.get("teachers_placed"),
            "clusters": s.get("clusters"),
            "teachers_moved": (s.get("changes") or {}).get("teachers_moved"),
            "edits": len(v.edits),
            "closed_by": v.closed_by,
            "closed_at": v.closed_at.isoformat() if v.closed_at else None,
            "closed_note": v.closed_note,
        }

    def plan(self, plan_id: int) -> dict[str, Any]:
        """A version: status, progress, and when done its summary and the validator's result."""
        with self.store.session() as s:
            v = s.get(PlanVersion, plan_id)
            if v is None:
                raise WorkspaceError(404, f"there is no plan {plan_id}.")
            out = self._plan_row(v)
            out["problems"] = v.problems or []
            out["violations"] = v.violations or []
            out["edits"] = [edit_row(e) for e in v.edits]
            if v.status in ("done", "discarded"):
                out["summary"] = v.summary
            return out

    def cancel(self, plan_id: int, *, author: str, note: str = "") -> dict[str, Any]:
        """Stop a queued or running plan (its worker process is terminated); the version, ``cancelled``.

        The proposals it was to use are open again on its parent. Raises
        :class:`WorkspaceError` 409 for a version that has finished.
        """
        with self.store.session() as s:
            v = s.get(PlanVersion, plan_id)
            if v is None:
                raise WorkspaceError(404, f"there is no plan {plan_id}.")
            if v.status not in UNFINISHED:
                hint = f" To set a done version aside, discard it (POST /api/plans/{plan_id}/discard)." if v.status == "done" else ""
                raise WorkspaceError(409, f"plan {plan_id} is {v.status}: only a queued or running plan can be cancelled.{hint}")
            if not self.runner.cancel(plan_id):
                raise WorkspaceError(409, f"plan {plan_id} finished before it could be cancelled; see its status (discard it if it is not wanted).")
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            v.status, v.finished_at = "cancelled", now
            v.closed_by, v.closed_at, v.closed_note = author, now, note.strip()
            v.error = f"cancelled by {author}" + (f": {v.closed_note}" if v.closed_note else ".")
            reopen_proposals(s, plan_id)
            s.commit()
            log.info("plan %d cancelled by %s", plan_id, author)
        return self.plan(plan_id)

    def discard(self, plan_id: int, *, author: str, note: str = "") -> dict[str, Any]:
        """Set a done version aside (a revision not accepted); the version, ``discarded``.

        Its files stay readable (map, diff, downloads) but it can no longer be
        accepted, revised or reviewed; the proposals it used are open again on
        its parent. The accepted version cannot be discarded.
        """
        with self.store.session() as s:
            v = s.get(PlanVersion, plan_id)
            if v is None:
                raise WorkspaceError(404, f"there is no plan {plan_id}.")
            if v.status != "done":
                hint = f" Cancel it instead (POST /api/plans/{plan_id}/cancel)." if v.status in UNFINISHED else ""
                raise WorkspaceError(409, f"plan {plan_id} is {v.status}: only a done version can be discarded.{hint}")
            if v.project.accepted_plan_id == v.id:
                raise WorkspaceError(409, f"plan {plan_id} is the accepted version of its project; accept another version first.")
            v.status = "discarded"
            v.closed_by, v.closed_at, v.closed_note = author, dt.datetime.now(dt.timezone.utc).replace(microsecond=0), note.strip()
            reopen_proposals(s, plan_id)
            s.commit()
            log.info("plan %d discarded by %s", plan_id, author)
        return self.plan(plan_id)

    def accept(self, plan_id: int) -> None:
        """Make a done version its project's accepted plan."""
        with self.store.session() as s:
            v = self._done_plan(s, plan_id)
            v.project.accepted_plan_id = v.id
            s.commit()

    def folder_of(self, plan_id: int) -> Path:
        """The folder of a done version (or a discarded one: its files stay readable)."""
        with self.store.session() as s:
            return self.path(self._done_plan(s, plan_id, readable=True).folder)

    # ------------------------------------------------------------------ review
    def propose(self, plan_id: int, row: dict[str, Any], *, author: str) -> dict[str, Any]:
        """Record a reviewer's proposed edit on a version (checked like a revision's edits)."""
        with self.store.session() as s:
            v = self._done_plan(s, plan_id)
            row = projects.used_fields(row)
            check_path = self.path(v.project.folder) / "edits" / f"propose-{plan_id}-{author}.csv"
            problems = projects.check_edit_rows([row], check_path, self.path(v.folder))
            check_path.unlink(missing_ok=True)
            if problems:
                raise WorkspaceError(422, f"{len(problems)} problem(s) in the proposed edit.", problems)
            q = Proposal(plan_id=plan_id, author=author, **{f: str(row.get(f) or "") for f in EDIT_FIELDS})
            s.add(q)
            s.commit()
            return edit_row(q)

    def proposals(self, plan_id: int) -> list[dict[str, Any]]:
        """The open proposals on a version."""
        with self.store.session() as s:
            rows = s.scalars(select(Proposal).where(Proposal.plan_id == plan_id, Proposal.used_in_plan_id.is_(None)).order_by(Proposal.id))
            return [edit_row(q) for q in rows]

    def diff(self, a: int, b: int) -> dict[str, Any]:
        """Teachers moved from version ``a`` to ``b`` and why (:func:`~cluster_mapper.workspace.projects.plan_diff`)."""
        return {"from": a, "to": b} | projects.plan_diff(self.folder_of(a), self.folder_of(b))

    def workbook(self, plan_id: int) -> Path:
        """A done version's review workbook (as ``cluster-mapper export`` writes it), made once in the project's folder."""
        folder = self.folder_of(plan_id)
        xlsx = folder.parent.parent / "downloads" / f"plan-{plan_id}.xlsx"
        if not xlsx.exists():
            xlsx.parent.mkdir(parents=True, exist_ok=True)
            write_workbook(folder, xlsx)
        return xlsx

    @staticmethod
    def _map_file(project_folder: Path, plan_id: int) -> Path:
        return project_folder / "downloads" / f"plan-{plan_id}-map.json"

    def map_points(self, plan_id: int) -> Path:
        """A readable version's schools and venues as a GeoJSON file (written by its job, or made once here)."""
        folder = self.folder_of(plan_id)
        return projects.map_features_file(folder, self._map_file(folder.parent.parent, plan_id))

    def zip(self, plan_id: int) -> bytes:
        """A done version's plan folder as a zip."""
        return projects.zip_folder(self.folder_of(plan_id))


__all__ = ["Workspace", "WorkspaceError"]
