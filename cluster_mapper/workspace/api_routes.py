"""The JSON API under ``/api/`` (the pages use it; scripts can call it). Documented in the README.

Sign-in, CSRF and roles are checked by :func:`need`: viewers read, reviewers
propose edits, managers make projects, plan, re-plan, accept versions and add
users. Bad requests get every problem at once (``problems``), with the status
the README lists.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from cluster_mapper.workspace.db import User
from cluster_mapper.workspace.projects import INPUT_KEYS, MAX_PLAN_ZIP_BYTES, MAX_UPLOAD_BYTES
from cluster_mapper.workspace.security import LOCAL_USER, SAFE_METHODS, Who, add_user, authenticate, csrf_ok, csrf_token
from cluster_mapper.workspace.service import Workspace, WorkspaceError

router = APIRouter(prefix="/api")


def workspace(request: Request) -> Workspace:
    """The app's workspace."""
    return request.app.state.workspace


def current_user(request: Request) -> Who | None:
    """The signed-in user; the local user when the workspace has no accounts."""
    ws = workspace(request)
    if not ws.store.has_users():
        return LOCAL_USER
    name = request.session.get("user")
    if not name:
        return None
    with ws.store.session() as s:
        u = s.scalar(select(User).where(User.username == name))
        return Who(u.username, u.role) if u is not None else None


async def check_csrf(request: Request) -> None:
    """Refuse a changing request without the session's CSRF token (header or form field)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not csrf_ok(request.session, sent):
        raise HTTPException(403, "missing or wrong CSRF token: GET /api/session and send its csrf_token as the X-CSRF-Token header.")


def need(role: str):
    """A dependency: the user, signed in, with ``role`` or higher, and the CSRF token on changes."""

    async def dep(request: Request) -> Who:
        user = current_user(request)
        if user is None:
            raise HTTPException(401, "sign in first (POST /api/login).")
        await check_csrf(request)
        if not user.can(role):
            raise HTTPException(403, f"this needs the {role} role; {user.username} is a {user.role}.")
        return user

    return dep


class NewProject(BaseModel):
    """``POST /api/projects`` as JSON."""

    name: str
    sample: bool = False


class EditRow(BaseModel):
    """A row with the edits file's columns."""

    model_config = {"extra": "allow"}
    action: str = ""
    school_id: str = ""
    other_school_id: str = ""
    cluster_id: str = ""
    minutes: str | float | int | None = ""
    note: str = ""


class Revision(BaseModel):
    """``POST /api/plans/{id}/revise``: edit rows, and whether to add the version's open proposals."""

    edits: list[EditRow] = Field(default_factory=list)
    proposals: bool = False


class Login(BaseModel):
    username: str
    password: str


class NewUser(BaseModel):
    username: str
    password: str
    role: str


@router.get("/session")
def session_info(request: Request) -> dict[str, Any]:
    """Who is signed in, and the CSRF token to send with changes."""
    user = current_user(request)
    return {"user": user.username if user else None, "role": user.role if user else None, "csrf_token": csrf_token(request.session)}


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(body: Login, request: Request) -> dict[str, Any]:
    """Sign in; the session cookie carries the user from then on."""
    user = authenticate(workspace(request).store, body.username, body.password)
    if user is None:
        raise HTTPException(401, "wrong user name or password.")
    request.session.clear()
    request.session["user"] = user.username
    return {"user": user.username, "role": user.role, "csrf_token": csrf_token(request.session)}


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> dict[str, Any]:
    request.session.clear()
    return {"user": None}


@router.post("/users", status_code=201)
def create_user(body: NewUser, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Add an account (managers only)."""
    problems = add_user(workspace(request).store, body.username, body.password, body.role)
    if problems:
        raise WorkspaceError(422, f"{len(problems)} problem(s); no user was added.", [{"message": p} for p in problems])
    return {"username": body.username, "role": body.role}


@router.get("/projects")
def list_projects(request: Request, user: Who = Depends(need("viewer"))) -> list[dict[str, Any]]:
    return workspace(request).projects()


async def _uploaded(request: Request) -> tuple[str, bool, dict[str, tuple[str, bytes]]]:
    size = int(request.headers.get("content-length") or 0)
    if size > sum(MAX_UPLOAD_BYTES.values()):
        raise WorkspaceError(413, f"the upload is {size:,} bytes, more than {sum(MAX_UPLOAD_BYTES.values()):,}.")
    form = await request.form()
    files: dict[str, tuple[str, bytes]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) or not value.filename:  # a file field left empty in a browser's form comes without a name
            continue
        if key not in INPUT_KEYS:
            raise WorkspaceError(422, f"unknown file field '{key}'.", [{"field": key, "message": "unknown file field", "fix": f"use {', '.join(INPUT_KEYS)}."}])
        data = await value.read(MAX_UPLOAD_BYTES[key] + 1)
        files[key] = (value.filename or key, data)
    name = form.get("name")
    return (name if isinstance(name, str) else ""), form.get("sample") in ("true", "1", "on"), files


@router.post("/projects", status_code=201)
async def create_project(request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """A project from the bundled sample (JSON ``{"name", "sample": true}``) or uploaded files (multipart)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        name, sample, files = await _uploaded(request)
    else:
        body = NewProject.model_validate(await request.json())
        name, sample, files = body.name, body.sample, {}
    return {"id": workspace(request).create_project(name, author=user.username, files=files, sample=sample)}


@router.get("/projects/{project_id}")
def get_project(project_id: int, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    return workspace(request).project(project_id)


@router.post("/projects/{project_id}/plans", status_code=202)
def start_plan(project_id: int, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Start planning the project (a background job); poll ``GET /api/plans/{plan_id}``."""
    return {"plan_id": workspace(request).start_plan(project_id, author=user.username)}


@router.post("/projects/{project_id}/plans/import", status_code=201)
async def import_plan(project_id: int, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """An existing plan folder, zipped (multipart field ``plan``), as a new version; checked by the validator."""
    size = int(request.headers.get("content-length") or 0)
    if size > MAX_PLAN_ZIP_BYTES:
        raise WorkspaceError(413, f"the upload is {size:,} bytes, more than {MAX_PLAN_ZIP_BYTES:,}.")
    form = await request.form()
    upload = form.get("plan")
    if upload is None or isinstance(upload, str):
        raise WorkspaceError(422, "send the zipped plan folder as the file field 'plan'.")
    data = await upload.read(MAX_PLAN_ZIP_BYTES + 1)
    return {"plan_id": await run_in_threadpool(workspace(request).import_plan, project_id, data, author=user.username)}


@router.get("/plans/{plan_id}")
def get_plan(plan_id: int, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    return workspace(request).plan(plan_id)


class Closing(BaseModel):
    """``POST /api/plans/{id}/cancel`` and ``/discard``: an optional note saying why."""

    note: str = Field(default="", max_length=2000)


@router.post("/plans/{plan_id}/cancel")
def cancel_plan(plan_id: int, request: Request, body: Closing | None = None, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Stop a queued or running plan (its worker process is terminated): the version, with status ``cancelled``; 409 once it has finished."""
    return workspace(request).cancel(plan_id, author=user.username, note=body.note if body else "")


@router.post("/plans/{plan_id}/discard")
def discard_plan(plan_id: int, request: Request, body: Closing | None = None, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Set a done version aside (not accepted): the version, with status ``discarded``; 409 for the accepted one or an unfinished one."""
    return workspace(request).discard(plan_id, author=user.username, note=body.note if body else "")


@router.post("/plans/{plan_id}/revise", status_code=202)
def revise_plan(plan_id: int, body: Revision, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    """Re-plan with the least change under the edits; 422 with every problem when the edits are refused."""
    rows = [r.model_dump() for r in body.edits]
    return {"plan_id": workspace(request).revise(plan_id, rows, author=user.username, use_proposals=body.proposals)}


@router.post("/plans/{plan_id}/proposals", status_code=201)
def propose(plan_id: int, body: EditRow, request: Request, user: Who = Depends(need("reviewer"))) -> dict[str, Any]:
    """A reviewer's proposed edit on a version (kept with its author until a manager re-plans)."""
    return workspace(request).propose(plan_id, body.model_dump(), author=user.username)


@router.get("/plans/{plan_id}/proposals")
def proposals(plan_id: int, request: Request, user: Who = Depends(need("viewer"))) -> list[dict[str, Any]]:
    return workspace(request).proposals(plan_id)


@router.post("/plans/{plan_id}/accept")
def accept(plan_id: int, request: Request, user: Who = Depends(need("manager"))) -> dict[str, Any]:
    workspace(request).accept(plan_id)
    return {"accepted_plan_id": plan_id}


@router.get("/plans/{a}/diff/{b}")
def diff(a: int, b: int, request: Request, user: Who = Depends(need("viewer"))) -> dict[str, Any]:
    """Teachers moved from version ``a`` to ``b``, one row each with why; clusters changed; counts."""
    return workspace(request).diff(a, b)


@router.get("/plans/{plan_id}/map")
def map_points(plan_id: int, request: Request, user: Who = Depends(need("viewer"))) -> FileResponse:
    """The version's schools and venues as GeoJSON (for the review map; made once per version)."""
    return FileResponse(workspace(request).map_points(plan_id), media_type="application/geo+json")


@router.get("/plans/{plan_id}/download")
def download(plan_id: int, request: Request, user: Who = Depends(need("viewer"))) -> Response:
    """The version's plan folder as a zip (``cluster-mapper validate`` accepts it unpacked)."""
    data = workspace(request).zip(plan_id)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.zip"'})


@router.get("/plans/{plan_id}/workbook")
def workbook(plan_id: int, request: Request, user: Who = Depends(need("viewer"))) -> FileResponse:
    """The version's review workbook (clusters, schools with alternatives, an edits sheet with drop-down lists)."""
    path = workspace(request).workbook(plan_id)
    return FileResponse(path, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=path.name)


def workspace_error(request: Request, exc: Exception) -> JSONResponse:
    """A refused request as JSON: ``detail`` and every problem in ``problems``."""
    assert isinstance(exc, WorkspaceError)
    return JSONResponse({"detail": exc.message, "problems": exc.problems}, status_code=exc.status)


__all__ = ["router", "need", "current_user", "check_csrf", "workspace", "workspace_error"]
