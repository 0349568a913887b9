"""The workspace on PostgreSQL (``serve --database postgresql+psycopg://...``), as a province server runs it.

``.ci/run`` starts a private PostgreSQL from Debian's package and sets
``CLUSTER_MAPPER_TEST_POSTGRES`` to its URL; without it (or when it cannot
be reached) these tests are skipped. Each test starts from an empty database.
"""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData

from cluster_mapper.workspace import WorkspaceConfig, create_app
from cluster_mapper.workspace.db import Store
from cluster_mapper.workspace.security import add_user, check_listen
from tests.workspace.conftest import csrf

#: PostgreSQL tests share one database: with pytest-xdist they run in one worker, one after another.
pytestmark = pytest.mark.xdist_group("postgresql")


URL = os.environ.get("CLUSTER_MAPPER_TEST_POSTGRES", "")
PASSWORD = "correct horse battery"


@pytest.fixture()
def pg_url():
    if not URL:
        pytest.skip("no PostgreSQL (set CLUSTER_MAPPER_TEST_POSTGRES; .ci/run starts one)")
    pytest.importorskip("psycopg")
    try:
        store = Store(URL)
    except Exception as exc:  # the server is not there: skip, as the issue asks
        pytest.skip(f"PostgreSQL at {URL} cannot be reached: {exc}")
    everything = MetaData()  # the workspace's tables and Alembic's alembic_version
    everything.reflect(store.engine)
    everything.drop_all(store.engine)
    store.engine.dispose()
    return URL


def test_projects_accounts_and_roles_on_postgresql(pg_url, tmp_path):
    store = Store(pg_url)
    assert store.engine.dialect.name == "postgresql"
    assert check_listen("0.0.0.0", store) is not None
    assert add_user(store, "mona", PASSWORD, "manager") == []
    assert add_user(store, "vera", PASSWORD, "viewer") == []
    assert add_user(store, "mona", PASSWORD, "viewer") == ["user 'mona' exists already; choose another name."]
    assert check_listen("0.0.0.0", store) is None
    app = create_app(WorkspaceConfig(project_dir=tmp_path, database=pg_url, jobs="thread"))
    with TestClient(app) as c:
        h = csrf(c)
        r = c.post("/api/login", json={"username": "vera", "password": PASSWORD}, headers=h)
        assert r.status_code == 200
        h = {"X-CSRF-Token": r.json()["csrf_token"]}
        assert c.post("/api/projects", json={"name": "p", "sample": True}, headers=h).status_code == 403
        r = c.post("/api/login", json={"username": "mona", "password": PASSWORD}, headers=h)
        h = {"X-CSRF-Token": r.json()["csrf_token"]}
        r = c.post("/api/projects", json={"name": "Mansehra on PostgreSQL", "sample": True}, headers=h)
        assert r.status_code == 201
        project = c.get(f"/api/projects/{r.json()['id']}").json()
        assert project["name"] == "Mansehra on PostgreSQL" and set(project["inputs"]) == {"schools", "teachers", "network", "policy", "facilitators"}
        assert (tmp_path / "projects" / str(project["id"]) / "inputs" / project["inputs"]["schools"]).is_file()
        assert not (tmp_path / "workspace.db").exists(), "the metadata went to PostgreSQL, not SQLite"
