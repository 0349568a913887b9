"""People and safety: who may listen where, accounts with roles, CSRF, nothing served outside a project.

The refusals are what a district's IT person would try: start on 0.0.0.0
without accounts; sign in with a wrong password; a viewer starting a plan; a
reviewer re-planning; a request from another site without the CSRF token; a
path that climbs out of a plan folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cluster_mapper.cli import app as cli
from cluster_mapper.workspace import WorkspaceConfig, create_app
from cluster_mapper.workspace.app import database_url
from cluster_mapper.workspace.db import Store, User
from cluster_mapper.workspace.security import add_user, check_listen
from tests.fixtures.live_server import free_port
from tests.workspace.conftest import csrf

runner = CliRunner()
PASSWORD = "correct horse battery"


def test_serve_on_every_address_without_accounts_refuses_and_names_the_fix(tmp_path):
    res = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--no-browser", "--project-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert "--add-user NAME --role manager" in res.output
    assert "Not started" in res.output


def test_an_administrator_added_on_the_command_line_lets_it_listen(tmp_path):
    res = runner.invoke(cli, ["serve", "--project-dir", str(tmp_path), "--add-user", "amina", "--role", "manager"], env={"CLUSTER_MAPPER_PASSWORD": PASSWORD})
    assert res.exit_code == 0, res.output
    store = Store(database_url(tmp_path, None))
    assert check_listen("0.0.0.0", store) is None
    with store.session() as s:
        stored = s.query(User).one()
    assert stored.role == "manager" and stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    res = runner.invoke(cli, ["serve", "--project-dir", str(tmp_path), "--add-user", "bob", "--role", "boss"], env={"CLUSTER_MAPPER_PASSWORD": "short"})
    assert res.exit_code == 2
    assert "unknown role 'boss'" in res.output and "at least 10" in res.output


def test_serve_answers_on_loopback_only_to_its_own_host_names(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "cluster_mapper", "serve", "--no-browser", "--port", str(port), "--project-dir", str(tmp_path / "ws")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/session", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "serve did not answer in 60 s"
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["user"] == "local" and r.json()["role"] == "manager"
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        # DNS rebinding: a page of another name resolving to 127.0.0.1 is not answered
        assert httpx.get(f"http://127.0.0.1:{port}/api/session", headers={"Host": "evil.example"}, timeout=5).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (tmp_path / "ws" / "workspace.db").is_file()


@pytest.fixture()
def accounts(planned, tmp_path):
    """A copy of the planned workspace with three accounts: a viewer, a reviewer and a manager."""
    folder = tmp_path / "ws"
    shutil.copytree(planned.folder, folder)
    store = Store(database_url(folder, None))
    for name, role in (("vera", "viewer"), ("rashid", "reviewer"), ("rukhsana", "reviewer"), ("mona", "manager")):
        assert add_user(store, name, PASSWORD, role) == []
    app = create_app(WorkspaceConfig(project_dir=folder, jobs="thread"))
    with TestClient(app) as client:
        yield app, client


def _login(client: TestClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/login", json={"username": name, "password": password}, headers=csrf(client))
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_with_accounts_everyone_signs_in_and_wrong_passwords_are_refused(accounts, planned):
    _, c = accounts
    assert c.get("/api/projects").status_code == 401
    for page in ("/", f"/projects/{planned.project_id}", f"/plans/{planned.first}/review", f"/plans/{planned.first}/files/map.html"):
        r = c.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", page
    assert c.get(f"/api/plans/{planned.first}/download").status_code == 401
    r = c.post("/api/login", json={"username": "vera", "password": "wrong password"}, headers=csrf(c))
    assert r.status_code == 401
    r = c.post("/api/login", json={"username": "vera", "password": PASSWORD})
    assert r.status_code == 403, "signing in needs the CSRF token too"
    _login(c, "vera")
    assert c.get("/api/projects").status_code == 200


def test_roles_viewer_reads_reviewer_proposes_manager_replans(accounts, planned):
    app, c = accounts
    apart = {"action": "apart", "school_id": planned.apart[0], "other_school_id": planned.apart[1], "note": "bridge"}
    h = _login(c, "vera")
    assert c.get(f"/api/plans/{planned.first}").json()["status"] == "done"
    r = c.post(f"/api/projects/{planned.project_id}/plans", headers=h)
    assert r.status_code == 403 and "manager" in r.json()["detail"]
    assert c.post(f"/api/plans/{planned.first}/proposals", json=apart, headers=h).status_code == 403

    h = _login(c, "rashid")
    assert c.post(f"/api/plans/{planned.first}/proposals", json=apart, headers=h).status_code == 201
    assert c.post(f"/api/plans/{planned.first}/revise", json={"edits": [apart]}, headers=h).status_code == 403
    assert c.post("/api/users", json={"username": "x", "password": PASSWORD, "role": "manager"}, headers=h).status_code == 403

    # a second reviewer on the same version at the same time: both proposals are kept
    other = TestClient(app)
    h2 = _login(other, "rukhsana")
    r = other.post(f"/api/plans/{planned.first}/proposals", json={"action": "no_venue", "school_id": planned.apart[0], "note": "no room"}, headers=h2)
    assert r.status_code == 201
    got = c.get(f"/api/plans/{planned.first}/proposals").json()
    assert [(p["action"], p["author"]) for p in got] == [("apart", "rashid"), ("no_venue", "rukhsana")]

    h = _login(c, "mona")
    r = c.post(f"/api/plans/{planned.first}/revise", json={"edits": [{"action": "exclude", "school_id": "NO-SUCH"}]}, headers=h)
    assert r.status_code == 422, "a manager gets past the role check to the edits check"
    assert c.post("/api/users", json={"username": "sana", "password": PASSWORD, "role": "viewer"}, headers=h).status_code == 201


def test_files_outside_a_plan_folder_are_not_served(planned):
    c = planned.client
    (planned.folder / "secret.txt").write_text("not for the web", encoding="utf-8")
    for path in ("../../../secret.txt", "..%2F..%2F..%2Fsecret.txt", "%2e%2e/%2e%2e/%2e%2e/secret.txt"):
        r = c.get(f"/plans/{planned.first}/files/{path}")
        assert r.status_code == 404 and "not for the web" not in r.text
    assert c.get(f"/plans/{planned.first}/files/summary.json").status_code == 200
    assert c.get("/static/../workspace.db").status_code == 404
