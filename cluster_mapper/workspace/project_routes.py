"""The Read, Policy, Scenarios and Support pages of a project, and the JSON API they use.

API (under ``/api/``, the same sign-in, roles and CSRF rules as the rest):

- ``GET /api/projects/{id}/inputs``: every table, column and code as read, every problem, counts, notes;
- ``POST /api/projects/{id}/mapping``: ``{"columns": {KIND: {field: header}}, "values": {KIND: {field: {value: code}}}}``
  saved into the project's policy (422 with every problem; nothing saved then);
- ``GET /api/projects/{id}/policy``: the settings (default, help), the values the file sets (``given``), its TOML;
  ``GET /api/projects/{id}/policy.toml`` downloads it;
- ``POST /api/projects/{id}/policy``: ``{"settings": {KEY | support.KEY | districts.NAME.KEY: text}, "new_district": NAME}``
  (422 with every problem, with its line; the file unchanged then);
- ``POST /api/projects/{id}/scenarios``: ``{"name", "settings"}``: plan a version under the project's policy with those settings;
- ``GET /api/projects/{id}/compare?plans=A,B``: done versions side by side (compare's figures, policy differences);
- ``POST /api/plans/{id}/support``: plan the facilitators' month on a version as a new version
  (the project's facilitators, or the multipart file field ``facilitators``);
- ``GET /api/plans/{id}/support``: the support figures, the facilitators' months and each person's calendar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from cluster_mapper.workspace import policy_form, reading, scenarios, support_view
from cluster_mapper.workspace.api_routes import need, workspace
from cluster_mapper.workspace.db import Project
from cluster_mapper.workspace.pages import page, signed_in
from cluster_mapper.workspace.projects import MAX_UPLOAD_BYTES, check_upload, inside, safe_name
from cluster_mapper.workspace.security import Who
from cluster_mapper.workspace.service import Workspace, WorkspaceError

api = APIRouter(prefix="/api")
pages = APIRouter(include_in_schema=False)
#: Sub-folders of a project served as pages' files (the preview map, comparison maps).
SERVED = ("read", "compare")


def project_files(ws: Workspace, project_id: int) -> tuple[Path, dict[str, str]]:
    """A project's folder and its input files (absolute paths)."""
    with ws.store.session() as s:
        p = s.get(Project, project_id)
        if p is None:
            raise WorkspaceError(404, f"there is no project {project_id}.")
        return ws.path(p.folder), {k: str(ws.path(v)) for k, v in p.inputs.items() if v}


def policy_path(ws: Workspace, project_id: int) -> Path:
    """The project's policy file; an empty one is made (and recorded) when the project has none."""
    with ws.store.session() as s:
        p = s.get(Project, project_id)
        if p is None:
            raise WorkspaceError(404, f"there is no project {project_id}.")
        if p.inputs.get("policy"):
            return ws.path(p.inputs["policy"])
        path = ws.path(p.folder) / "inputs" / "policy.toml"
        path.write_text("# policy of this project, written by the workspace (cluster-mapper init shows every setting)\n", encoding="utf-8")
        p.inputs = {**p.inputs, "policy": path.relative_to(ws.root).as_posix()}
        s.commit()
        return path


def _read(ws: Workspace, project_id: int) -> dict[str, Any]:
    folder, inputs = project_files(ws, project_id)
    if not inputs.get("schools"):
        raise WorkspaceError(409, f"project {project_id} has no schools file.")
    (folder / "read").mkdir(exist_ok=True)
    return reading.read_project(inputs, folder / "read")


def _policy_text(ws: Workspace, project_id: int) -> tuple[str, str]:
    """The project's policy file name and text (none yet: every setting at its default; reading makes no file)."""
    _, files = project_files(ws, project_id)
    if not files.get("policy"):
        return "(none yet: every setting at its default)", ""
    path = Path(files["policy"])
    return path.name, path.read_text(encoding="utf-8-sig")


def _policy(ws: Workspace, project_id: int) -> dict[str, Any]:
    name, text = _policy_text(ws, project_id)
    return {"file": name, "toml": text, "settings": policy_form.settings(), "given": policy_form.form_values(text)}


# ---------------------------------------------------------------------------------------- API


class Mapping(BaseModel):
    """``POST /api/projects/{id}/mapping``: headers per column, codes per value (blank: read as the tool guesses)."""

    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)


class PolicyForm(BaseModel):
    """``POST /api/projects/{id}/policy``: the form's settings as text (blank: the default)."""

    settings: dict[str, str] = Field(default_factory=dict)
    new_district: str = ""


class ScenarioForm(PolicyForm):
    """``POST /api/projects/{id}/scenarios``: a name and the settings that differ from the project's policy."""

    name: str


@api.get("/projects/{project_id}/inputs")
def inputs(project_id: int, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    """Every table, column and code of the project's files as read, and every problem at once (as ``cluster-mapper inspect``)."""
    return _read(workspace(request), project_id)


@api.post("/projects/{project_id}/mapping")
def save_mapping(project_id: int, body: Mapping, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Save header and code mappings into the project's policy; 422 with every problem (nothing saved then)."""
    path = policy_path(workspace(request), project_id)
    problems = reading.save_mapping(path, columns=body.columns, values=body.values)
    if problems:
        raise WorkspaceError(422, f"{len(problems)} problem(s) in the mapping; the policy was not changed.", problems)
    return {"saved": True, "toml": path.read_text(encoding="utf-8")}


@api.get("/projects/{project_id}/policy")
def get_policy(project_id: int, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    """The policy form: every setting (section, default, help, choices), the values the file sets, and the file's TOML."""
    return _policy(workspace(request), project_id)


@api.get("/projects/{project_id}/policy.toml")
def download_policy(project_id: int, request: Request, user: Who = Depends(need("viewer"))) -> PlainTextResponse:
    _, text = _policy_text(workspace(request), project_id)
    return PlainTextResponse(
        text,
        media_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="project-{project_id}-policy.toml"'},
    )


@api.post("/projects/{project_id}/policy")
def save_policy(project_id: int, body: PolicyForm, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Save the policy form; 422 with every problem and its line (the file unchanged then)."""
    path = policy_path(workspace(request), project_id)
    problems, _ = policy_form.save_policy(path, body.settings | {"new_district": body.new_district})
    if problems:
        raise WorkspaceError(422, f"{len(problems)} problem(s) in the policy; it was not saved.", problems)
    return {"saved": True, "toml": path.read_text(encoding="utf-8")}


@api.post("/projects/{project_id}/scenarios", status_code=202)
def plan_scenario(project_id: int, body: ScenarioForm, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Plan a version under the project's policy with some settings changed; 422 with every problem of that policy."""
    ws = workspace(request)
    folder, files = project_files(ws, project_id)
    base = Path(files["policy"]) if files.get("policy") else None
    path, problems = scenarios.scenario_policy(folder, base, body.name, body.settings | {"new_district": body.new_district})
    if problems:
        raise WorkspaceError(422, f"{len(problems)} problem(s) in the scenario's policy; nothing was planned.", problems)
    return {"plan_id": ws.start_plan(project_id, author=user.username, policy=path), "policy": path.name}


def _plan_ids(text: str) -> list[int]:
    try:
        ids = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise WorkspaceError(422, f"plans={text!r}: give version numbers separated by commas, such as plans=1,2.") from None
    if len(ids) < 2:
        raise WorkspaceError(422, "give two or more versions to put side by side, such as plans=1,2.")
    return ids


def _side_by_side(ws: Workspace, project_id: int, ids: list[int]) -> dict[str, Any]:
    folder, _ = project_files(ws, project_id)
    versions = [(i, ws.folder_of(i)) for i in ids]
    foreign = [i for i in ids if ws.plan(i)["project_id"] != project_id]
    if foreign:
        raise WorkspaceError(422, f"version(s) {', '.join(map(str, foreign))} belong to another project.")
    name = "-".join(map(str, ids)) + ".html"
    (folder / "compare").mkdir(exist_ok=True)
    return scenarios.side_by_side(versions, folder / "compare" / name) | {"map": f"compare/{name}"}


@api.get("/projects/{project_id}/compare")
def compare(project_id: int, plans: str, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    """Done versions side by side: compare's figures per version, the policy settings that differ, and the comparison map's file."""
    return _side_by_side(workspace(request), project_id, _plan_ids(plans))


async def _facilitators_upload(request: Request, ws: Workspace, plan_id: int) -> Path | None:
    """The facilitators file sent with a support request (multipart field ``facilitators``), kept in the project's inputs."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    form = await request.form()
    upload = form.get("facilitators")
    if upload is None or isinstance(upload, str):
        return None
    data = await upload.read(MAX_UPLOAD_BYTES["facilitators"] + 1)
    name = upload.filename or "facilitators.csv"
    problems = check_upload("facilitators", name, data[:4096], len(data))
    if problems:
        raise WorkspaceError(422, "the facilitators file was refused.", [{"field": "facilitators", "message": p.message, "fix": p.fix} for p in problems])
    folder, _ = project_files(ws, ws.plan(plan_id)["project_id"])
    path = folder / "inputs" / f"facilitators-{plan_id}-{safe_name(name)}"
    path.write_bytes(data)
    return path


@api.post("/plans/{plan_id}/support", status_code=202)
async def plan_support(plan_id: int, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Plan who supports each cluster of a done version, and their month, as a new version; poll ``GET /api/plans/{plan_id}``."""
    ws = workspace(request)
    fac = await _facilitators_upload(request, ws, plan_id)
    return {"plan_id": await run_in_threadpool(support_view.start_support, ws, plan_id, author=user.username, facilitators=fac)}


@api.get("/plans/{plan_id}/support")
def get_support(plan_id: int, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    """A version's support: figures, the facilitators' months, one calendar per person (404 when it has none)."""
    got = support_view.support_of(workspace(request).folder_of(plan_id))
    if got is None:
        raise WorkspaceError(404, f"plan {plan_id} has no support; plan it with POST /api/plans/{plan_id}/support.")
    return got


# ---------------------------------------------------------------------------------------- pages


@pages.get("/projects/{project_id}/read")
def read_page(project_id: int, request: Request) -> HTMLResponse:
    user = signed_in(request)
    ws = workspace(request)
    return page(request, "read.html", user, project=ws.project(project_id), read=_read(ws, project_id), policy=_policy(ws, project_id))


@pages.get("/projects/{project_id}/policy")
def policy_page(project_id: int, request: Request) -> HTMLResponse:
    user = signed_in(request)
    ws = workspace(request)
    return page(
        request, "policy.html", user, project=ws.project(project_id), policy=_policy(ws, project_id), sections=("clusters", "travel", "inputs", "support")
    )


@pages.get("/projects/{project_id}/scenarios")
def scenarios_page(project_id: int, request: Request, plans: str = "") -> HTMLResponse:
    user = signed_in(request)
    ws = workspace(request)
    project = ws.project(project_id)
    done = [p["id"] for p in project["plans"] if p["status"] == "done"]
    ids = _plan_ids(plans) if plans else done[-2:]
    compared = _side_by_side(ws, project_id, ids) if len(ids) >= 2 else None
    settings = [s for s in policy_form.settings() if s["section"] == "clusters"]
    return page(request, "scenarios.html", user, project=project, compared=compared, settings=settings, done=done, chosen=ids)


@pages.get("/plans/{plan_id}/support")
def support_page(plan_id: int, request: Request) -> HTMLResponse:
    user = signed_in(request)
    ws = workspace(request)
    plan = ws.plan(plan_id)
    got = support_view.support_of(ws.folder_of(plan_id)) if plan["status"] == "done" else None
    return page(request, "support.html", user, plan=plan, project=ws.project(plan["project_id"]), support=got)


@pages.get("/plans/{plan_id}/support/{facilitator_id}")
def person_page(plan_id: int, facilitator_id: str, request: Request) -> HTMLResponse:
    user = signed_in(request)
    ws = workspace(request)
    plan = ws.plan(plan_id)
    got = support_view.support_of(ws.folder_of(plan_id))
    person = next((p for p in (got or {}).get("people", []) if str(p["id"]) == facilitator_id), None)
    if person is None:
        raise HTTPException(404, f"plan {plan_id} has no facilitator {facilitator_id}.")
    return page(request, "person.html", user, plan=plan, project=ws.project(plan["project_id"]), person=person, month=got["month"] if got else None)


@pages.get("/projects/{project_id}/files/{name:path}")
def project_file(project_id: int, name: str, request: Request) -> FileResponse:
    """The preview map and comparison maps of a project (nothing else of its folder)."""
    signed_in(request)
    folder, _ = project_files(workspace(request), project_id)
    path = inside(folder, name) if name.split("/", 1)[0] in SERVED else None
    if path is None:
        raise HTTPException(404, f"project {project_id} has no file {name}.")
    return FileResponse(path)


__all__ = ["api", "pages", "project_files", "policy_path"]
