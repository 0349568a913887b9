"""Cancel a plan (queued or running: its worker process is terminated) and discard a version, through the API.

A workspace of its own (worker processes, one at a time, as ``serve`` runs
them): a generated district of 3,000 schools and 16,000 teachers keeps the
worker busy for far longer than the test looks at it (it is cancelled a
moment after it starts; nothing waits for it to finish), so the plans
started after it stay queued. Done versions are imported from the session's
planned sample (its zips), so no test waits for a plan.
"""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cluster_mapper.workspace import WorkspaceConfig, create_app
from cluster_mapper.workspace.db import PlanVersion, Proposal
from cluster_mapper.workspace.jobs import read_progress
from cluster_mapper.workspace.security import add_user
from tests.fixtures.synthetic import make_district, write_district
from tests.workspace.conftest import PLAN_TIMEOUT_SECONDS, csrf, wait_for

#: Longest wait for a worker to start a job (a fresh process imports the planner), seconds.
START_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cancel")
    with TestClient(create_app(WorkspaceConfig(project_dir=folder, workers=1))) as client:
        yield client, folder


def _upload_big_district(client: TestClient, tmp) -> int:
    paths = write_district(make_district(3000, 7, "Bigdist", with_network=False), tmp)
    files = {k: (paths[k].name, paths[k].read_bytes(), "text/csv") for k in ("schools", "teachers")}
    r = client.post("/api/projects", data={"name": "big generated district"}, files=files, headers=csrf(client))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _import(client: TestClient, project_id: int, zipped: bytes) -> int:
    r = client.post(f"/api/projects/{project_id}/plans/import", files={"plan": ("plan.zip", zipped, "application/zip")}, headers=csrf(client))
    assert r.status_code == 201, r.text
    return r.json()["plan_id"]


def _progress_file(folder, client: TestClient, plan_id: int):
    project_id = client.get(f"/api/plans/{plan_id}").json()["project_id"]
    return folder / "projects" / str(project_id) / "jobs" / f"{plan_id}.json"


def _wait_running(client: TestClient, plan_id: int) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        j = client.get(f"/api/plans/{plan_id}").json()
        if j["status"] != "queued":
            return j
        time.sleep(0.1)
    raise AssertionError(f"plan {plan_id} did not start in {START_TIMEOUT_SECONDS} s")


def test_cancel_stops_queued_and_running_plans_and_reopens_proposals(ws, planned, tmp_path):
    client, folder = ws
    h = csrf(client)
    big = _upload_big_district(client, tmp_path)
    running = client.post(f"/api/projects/{big}/plans", headers=h).json()["plan_id"]

    sample = client.post("/api/projects", json={"name": "sample", "sample": True}, headers=h).json()["id"]
    base = _import(client, sample, planned.client.get(f"/api/plans/{planned.first}/download").content)
    s1, s2 = planned.apart
    r = client.post(f"/api/plans/{base}/proposals", json={"action": "apart", "school_id": s1, "other_school_id": s2, "note": "river"}, headers=h)
    assert r.status_code == 201, r.text
    revision = client.post(f"/api/plans/{base}/revise", json={"proposals": True}, headers=h).json()["plan_id"]
    after = client.post(f"/api/projects/{sample}/plans", headers=h).json()["plan_id"]
    assert client.get(f"/api/plans/{base}/proposals").json() == [], "the revision took the proposal"

    # a queued plan: it never starts, and the proposal it was to use is open again
    assert client.get(f"/api/plans/{revision}").json()["status"] == "queued"
    r = client.post(f"/api/plans/{revision}/cancel", json={"note": "wrong school"}, headers=h)
    assert r.status_code == 200, r.text
    j = r.json()
    assert (j["status"], j["closed_by"], j["closed_note"], j["error"]) == ("cancelled", "local", "wrong school", "cancelled by local: wrong school")
    assert [p["note"] for p in client.get(f"/api/plans/{base}/proposals").json()] == ["river"]

    # a running plan: its worker process is terminated
    assert _wait_running(client, running)["status"] == "running"
    pid = read_progress(_progress_file(folder, client, running))["pid"]
    worker = psutil.Process(pid)
    assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
    started = time.monotonic()
    r = client.post(f"/api/plans/{running}/cancel", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["error"] == "cancelled by local."
    gone, alive = psutil.wait_procs([worker], timeout=30)
    assert alive == [], "the worker process that was planning is gone"
    print(f"worker {pid} gone {time.monotonic() - started:.2f} s after the cancel")
    progress = _progress_file(folder, client, running)
    deadline = time.monotonic() + 30  # the pool's thread that saw the worker end removes it
    while progress.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not progress.exists(), "the cancelled job's progress file is removed"

    # the pool goes on with a fresh worker: the next queued plan starts
    assert _wait_running(client, after)["status"] == "running"
    assert client.post(f"/api/plans/{after}/cancel", headers=h).json()["status"] == "cancelled"

    for plan_id in (running, revision, after):
        j = client.get(f"/api/plans/{plan_id}").json()
        assert j["status"] == "cancelled" and j["closed_at"], j
        r = client.post(f"/api/plans/{plan_id}/cancel", headers=h)
        assert r.status_code == 409 and "only a queued or running plan can be cancelled" in r.json()["detail"]
    assert (
        client.post(f"/api/plans/{running}/revise", json={"edits": [{"action": "apart", "school_id": "x", "other_school_id": "y"}]}, headers=h).status_code
        == 409
    )
    assert client.get(f"/api/plans/{running}/download").status_code == 409
    r = client.post(f"/api/plans/{base}/cancel", headers=h)
    assert r.status_code == 409 and f"discard it (POST /api/plans/{base}/discard)" in r.json()["detail"]


def test_discard_sets_a_version_aside(ws, planned):
    client, _ = ws
    h = csrf(client)
    project = client.post("/api/projects", json={"name": "two versions", "sample": True}, headers=h).json()["id"]
    first = _import(client, project, planned.client.get(f"/api/plans/{planned.first}/download").content)
    second = _import(client, project, planned.client.get(f"/api/plans/{planned.revised}/download").content)
    assert client.post(f"/api/plans/{first}/accept", headers=h).status_code == 200

    r = client.post(f"/api/plans/{first}/discard", headers=h)
    assert r.status_code == 409 and "accept another version first" in r.json()["detail"]
    r = client.post(f"/api/plans/{second}/discard", json={"note": "moves too many teachers"}, headers=h)
    assert r.status_code == 200, r.text
    j = r.json()
    assert (j["status"], j["closed_by"], j["closed_note"]) == ("discarded", "local", "moves too many teachers")
    assert j["summary"]["teachers_placed"] == planned.client.get(f"/api/plans/{planned.revised}").json()["summary"]["teachers_placed"]

    # still readable: the diff, the map points, the zip
    assert client.get(f"/api/plans/{first}/diff/{second}").json()["moved"]
    assert client.get(f"/api/plans/{second}/map").json()["features"]
    assert client.get(f"/api/plans/{second}/download").content[:2] == b"PK"
    # never accepted, revised, reviewed or discarded twice
    for url, body in (
        (f"/api/plans/{second}/accept", None),
        (f"/api/plans/{second}/revise", {"edits": [{"action": "apart", "school_id": planned.apart[0], "other_school_id": planned.apart[1]}]}),
        (f"/api/plans/{second}/proposals", {"action": "cannot_host", "school_id": planned.apart[0], "note": "x"}),
    ):
        r = client.post(url, json=body, headers=h)
        assert r.status_code == 409 and "was discarded by local" in r.json()["detail"], (url, r.text)
    r = client.post(f"/api/plans/{second}/discard", headers=h)
    assert r.status_code == 409 and "only a done version can be discarded" in r.json()["detail"]
    versions = {p["id"]: p for p in client.get(f"/api/projects/{project}").json()["plans"]}
    assert versions[second]["status"] == "discarded" and versions[first]["status"] == "done"
    assert client.post("/api/plans/999999/discard", headers=h).status_code == 404


def test_only_managers_cancel_or_discard(ws, planned, tmp_path):
    """A reviewer may propose edits but neither stop a plan nor discard a version (the roles of the issue)."""
    folder = tmp_path / "roles"
    app = create_app(WorkspaceConfig(project_dir=folder, jobs="thread"))
    assert add_user(app.state.store, "rafi", "correct horse battery", "reviewer") == []
    with TestClient(app) as c:
        h = {"X-CSRF-Token": c.post("/api/login", json={"username": "rafi", "password": "correct horse battery"}, headers=csrf(c)).json()["csrf_token"]}
        for action in ("cancel", "discard"):
            r = c.post(f"/api/plans/1/{action}", headers=h)
            assert r.status_code == 403 and "needs the manager role" in r.json()["detail"], r.text


def test_a_plan_in_a_thread_stops_at_its_next_step(planned, tmp_path):
    """With jobs="thread" a running plan cannot be killed: it is cancelled at once and stops at its next progress step."""
    app = create_app(WorkspaceConfig(project_dir=tmp_path, jobs="thread"))
    with TestClient(app) as c:
        h = csrf(c)
        project = c.post("/api/projects", json={"name": "threaded", "sample": True}, headers=h).json()["id"]
        plan_id = c.post(f"/api/projects/{project}/plans", headers=h).json()["plan_id"]
        assert _wait_running(c, plan_id)["status"] == "running"
        r = c.post(f"/api/plans/{plan_id}/cancel", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        runner = app.state.workspace.runner
        deadline = time.monotonic() + PLAN_TIMEOUT_SECONDS
        while runner.futures and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runner.futures == {}, "the job ended"
        assert c.get(f"/api/plans/{plan_id}").json()["status"] == "cancelled"
        assert not (tmp_path / "projects" / str(project) / "plans" / str(plan_id) / "summary.json").exists(), "it stopped before writing the plan"


def test_a_failed_or_discarded_revision_gives_its_proposals_back(planned, tmp_path, monkeypatch):
    """Nothing a reviewer proposed is lost: a revision that fails, or that a manager discards, leaves its proposals open on its parent."""
    app = create_app(WorkspaceConfig(project_dir=tmp_path, jobs="thread"))
    with TestClient(app) as c:
        h = csrf(c)
        project = c.post("/api/projects", json={"name": "proposals kept", "sample": True}, headers=h).json()["id"]
        base = _import(c, project, planned.client.get(f"/api/plans/{planned.first}/download").content)
        s1, s2 = planned.apart
        r = c.post(f"/api/plans/{base}/proposals", json={"action": "apart", "school_id": s1, "other_school_id": s2, "note": "river"}, headers=h)
        assert r.status_code == 201, r.text

        def broken_planner(*args, **kwargs):
            raise RuntimeError("the solver crashed")

        monkeypatch.setattr("cluster_mapper.workspace.jobs.plan", broken_planner)
        failed = c.post(f"/api/plans/{base}/revise", json={"proposals": True}, headers=h).json()["plan_id"]
        j = wait_for(c, failed)
        assert j["status"] == "failed" and "the solver crashed" in j["error"] and "open again on its parent" in j["error"]
        assert [p["note"] for p in c.get(f"/api/plans/{base}/proposals").json()] == ["river"], "the failed revision gave the proposal back"

        # a done revision that used it (imported, its proposal marked as a revision marks it: no second plan to wait for)
        revised = _import(c, project, planned.client.get(f"/api/plans/{planned.revised}/download").content)
        with app.state.store.session() as s:
            for q in s.scalars(select(Proposal).where(Proposal.plan_id == base)):
                q.used_in_plan_id = revised
            s.commit()
        assert c.get(f"/api/plans/{base}/proposals").json() == []
        assert c.post(f"/api/plans/{revised}/discard", json={"note": "not this way"}, headers=h).status_code == 200
        assert [p["note"] for p in c.get(f"/api/plans/{base}/proposals").json()] == ["river"], "the discarded revision gave it back"


def test_a_stopped_workers_half_written_plan_is_removed(planned, tmp_path):
    """A worker terminated while writing (a cancel, a server stop) leaves a hidden half-written copy; the next start removes it."""
    app = create_app(WorkspaceConfig(project_dir=tmp_path, jobs="thread"))
    with TestClient(app) as c:
        h = csrf(c)
        project = c.post("/api/projects", json={"name": "stopped", "sample": True}, headers=h).json()["id"]
        base = _import(c, project, planned.client.get(f"/api/plans/{planned.first}/download").content)
        with app.state.store.session() as s:  # a version whose worker was stopped while writing its folder
            stopped = PlanVersion(project_id=project, parent_id=base, created_by="local", status="cancelled", folder=f"projects/{project}/plans/999")
            s.add(stopped)
            s.commit()
            folder = tmp_path / stopped.folder
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    half = folder.parent / f".{folder.name}.writing-{int(dead.stdout)}-x1"
    half.mkdir(parents=True)
    (half / "assignments.csv").write_text("teacher_id,cluster_id\n")
    with TestClient(create_app(WorkspaceConfig(project_dir=tmp_path, jobs="thread"))):
        assert not half.exists(), "the half-written copy of a stopped worker is removed at start"
    assert (tmp_path / f"projects/{project}/plans").is_dir()
