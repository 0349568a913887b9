"""The workspace's pages (Jinja2, autoescaped): projects, versions, plan status, review map, diff, sign-in.

Pages show what the API returns and act through the API (``static/workspace.js``
sends each change with the session's CSRF token), so a page can do nothing a
script cannot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from cluster_mapper.workspace.api_routes import current_user, workspace
from cluster_mapper.workspace.db import ROLES
from cluster_mapper.workspace.projects import ACTIONS, inside
from cluster_mapper.workspace.security import Who, csrf_token

router = APIRouter(include_in_schema=False)
TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
#: Files of a plan folder the pages link to.
PLAN_FILES = ("map.html", "report.html", "assignments.csv", "clusters.csv", "summary.json", "changes.csv", "edits.csv")


def _page(request: Request, template: str, user: Who, **context: Any) -> HTMLResponse:
    context.update(request=request, user=user, csrf=csrf_token(request.session), roles=ROLES, can=user.can)
    return TEMPLATES.TemplateResponse(request, template, context)


def _user(request: Request) -> Who:
    user = current_user(request)
    if user is None:
        raise HTTPException(303, headers={"Location": "/login"})
    return user


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "login.html", {"request": request, "csrf": csrf_token(request.session), "user": None})


@router.get("/")
def index(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, "index.html", user, projects=workspace(request).projects())


@router.get("/projects/{project_id}")
def project_page(project_id: int, request: Request) -> HTMLResponse:
    user = _user(request)
    return _page(request, "project.html", user, project=workspace(request).project(project_id))


@router.get("/plans/{plan_id}")
def plan_page(plan_id: int, request: Request) -> HTMLResponse:
    user = _user(request)
    ws = workspace(request)
    plan = ws.plan(plan_id)
    return _page(request, "plan.html", user, plan=plan, project=ws.project(plan["project_id"]), files=PLAN_FILES)


@router.get("/plans/{plan_id}/review")
def review_page(plan_id: int, request: Request) -> HTMLResponse:
    user = _user(request)
    ws = workspace(request)
    plan = ws.plan(plan_id)
    return _page(request, "review.html", user, plan=plan, project=ws.project(plan["project_id"]), actions=ACTIONS, proposals=ws.proposals(plan_id))


@router.get("/plans/{a}/diff/{b}")
def diff_page(a: int, b: int, request: Request) -> HTMLResponse:
    user = _user(request)
    ws = workspace(request)
    plan = ws.plan(b)
    return _page(request, "diff.html", user, diff=ws.diff(a, b), plan=plan, project=ws.project(plan["project_id"]))


@router.get("/plans/{plan_id}/files/{name:path}")
def plan_file(plan_id: int, name: str, request: Request) -> FileResponse:
    """A file of a done version's folder (nothing outside it)."""
    _user(request)
    path = inside(workspace(request).folder_of(plan_id), name)
    if path is None:
        raise HTTPException(404, f"plan {plan_id} has no file {name}.")
    return FileResponse(path)


#: For the pages of other modules (:mod:`cluster_mapper.workspace.project_routes`): a page, and the signed-in user or a redirect to sign in.
page = _page
signed_in = _user

__all__ = ["router", "PLAN_FILES", "page", "signed_in"]
