"""The workspace's web application: :func:`create_app` joins the API, the pages and the plan jobs.

``cluster-mapper serve`` runs it on uvicorn; tests drive it with FastAPI's
``TestClient``. Static files are the package's own (``static/``) and
Leaflet from the installed ``xstatic-leaflet``, and the API's Swagger page
(``/api/docs``) from the installed ``swagger-ui-bundle-v2``: nothing is
fetched from the internet. Every response carries the security headers of
:mod:`cluster_mapper.workspace.headers` (Content-Security-Policy with a
nonce per request).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import xstatic.pkg.leaflet as xleaflet
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from swagger_ui_bundle import swagger_ui_path

from cluster_mapper.folder import recover_interrupted
from cluster_mapper.workspace import api_routes, pages, project_routes
from cluster_mapper.workspace.db import Store
from cluster_mapper.workspace.headers import SecurityHeaders
from cluster_mapper.workspace.jobs import JobRunner
from cluster_mapper.workspace.security import secret_key
from cluster_mapper.workspace.service import Workspace, WorkspaceError

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def default_project_dir() -> Path:
    """Where projects live without ``--project-dir``: the user's data folder."""
    return Path(platformdirs.user_data_dir("cluster-mapper", appauthor=False)) / "workspace"


def database_url(project_dir: Path, database: str | None) -> str:
    """The database URL: ``--database``, else SQLite ``workspace.db`` in the project folder."""
    return database or f"sqlite:///{(project_dir / 'workspace.db').resolve()}"


@dataclass
class WorkspaceConfig:
    """How a workspace runs.

    Attributes
    ----------
    project_dir : Path
        Folder of the projects, their plans and the SQLite database.
    database : str or None
        SQLAlchemy URL; ``None`` for SQLite in ``project_dir``.
    jobs : str
        ``process`` (worker processes; cancelling a running plan terminates
        its worker) or ``thread`` (a cancelled plan stops at its next step).
    workers : int
        Plans run at once.
    allowed_hosts : list of str or None
        Host names the server answers to (``None``: any).
    """

    project_dir: Path
    database: str | None = None
    jobs: str = "process"
    workers: int = 1
    allowed_hosts: list[str] | None = None


def api_docs(request: Request) -> HTMLResponse:
    """The API's Swagger page from the installed bundle, its one inline script carrying the request's nonce."""
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="cluster_mapper workspace: API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon-32x32.png",
    )
    nonce = request.state.csp_nonce
    return HTMLResponse(bytes(page.body).decode().replace("<script", f'<script nonce="{nonce}"'))


def create_app(config: WorkspaceConfig) -> FastAPI:
    """The workspace app over ``config.project_dir``; its jobs start and stop with the app."""
    root = config.project_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    store = Store(database_url(root, config.database))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stale = store.recover()
        if stale:
            log.warning("%d plan(s) left unfinished by a stopped server were marked failed", stale)
        for folder in store.stopped_folders():  # half-written copies of stopped workers (their processes are gone now)
            for done in recover_interrupted(root / folder):
                log.info("%s", done)
        runner = JobRunner(store, kind=config.jobs, workers=config.workers)
        app.state.workspace = Workspace(root, store, runner)
        try:
            yield
        finally:
            runner.shutdown()

    app = FastAPI(title="cluster_mapper workspace", lifespan=lifespan, docs_url=None, openapi_url="/api/openapi.json", redoc_url=None)
    app.state.store = store
    app.add_middleware(SessionMiddleware, secret_key=secret_key(root), same_site="strict", session_cookie="cm_session")
    if config.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=config.allowed_hosts)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)  # a programme's map points: 5 MB of JSON, 0.6 MB sent
    app.add_middleware(SecurityHeaders)  # outermost: every response, refusals included, gets the headers
    app.add_exception_handler(WorkspaceError, api_routes.workspace_error)
    app.include_router(api_routes.router)
    app.include_router(project_routes.api)
    app.include_router(pages.router)
    app.include_router(project_routes.pages)
    app.add_api_route("/api/docs", api_docs, include_in_schema=False)
    app.mount("/static/leaflet", StaticFiles(directory=xleaflet.BASE_DIR), name="leaflet")
    app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


__all__ = ["create_app", "WorkspaceConfig", "default_project_dir", "database_url"]
