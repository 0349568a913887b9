"""One planned sample per test session: a workspace, a project from the sample, its plan and an ``apart`` revision.

Planning the sample takes about ten seconds (more on a busy machine), so the
workspace tests share one plan and one revision.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cluster_mapper.workspace import WorkspaceConfig, create_app

#: Longest wait for one plan of the sample on a busy machine, seconds.
PLAN_TIMEOUT_SECONDS = 600


def wait_for(client: TestClient, plan_id: int, seen: list[str] | None = None) -> dict:
    """Poll ``GET /api/plans/{plan_id}`` until done or failed; the statuses seen go into ``seen``."""
    deadline = time.monotonic() + PLAN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        j = client.get(f"/api/plans/{plan_id}").json()
        if seen is not None and (not seen or seen[-1] != j["status"]):
            seen.append(j["status"])
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.25)
    raise AssertionError(f"plan {plan_id} did not finish in {PLAN_TIMEOUT_SECONDS} s")


def csrf(client: TestClient) -> dict[str, str]:
    """The header that carries the session's CSRF token."""
    return {"X-CSRF-Token": client.get("/api/session").json()["csrf_token"]}


@dataclass
class Planned:
    """The shared workspace: its client and folder, the project, plan 1, and revision 2 keeping two schools apart."""

    client: TestClient
    folder: Path
    project_id: int
    first: int
    revised: int
    apart: tuple[str, str]
    statuses: list[str]
    revise_seconds: float


def two_schools_sharing_a_cluster(client: TestClient, plan_id: int) -> tuple[str, str]:
    """Two schools placed in the same cluster of a plan, from the plan's map points."""
    by_cluster = collections.defaultdict(set)
    for f in client.get(f"/api/plans/{plan_id}/map").json()["features"]:
        p = f["properties"]
        if p["kind"] == "school" and p["cluster_id"]:
            by_cluster[p["cluster_id"]].add(p["school_id"])
    schools = next(sorted(s) for _, s in sorted(by_cluster.items()) if len(s) >= 2)
    return schools[0], schools[1]


@pytest.fixture(scope="session")
def planned(tmp_path_factory) -> Planned:
    folder = tmp_path_factory.mktemp("workspace")
    app = create_app(WorkspaceConfig(project_dir=folder))
    with TestClient(app) as client:
        h = csrf(client)
        r = client.post("/api/projects", json={"name": "Mansehra sample", "sample": True}, headers=h)
        assert r.status_code == 201, r.text
        project_id = r.json()["id"]
        r = client.post(f"/api/projects/{project_id}/plans", headers=h)
        assert r.status_code == 202, r.text
        first = r.json()["plan_id"]
        statuses: list[str] = []
        j = wait_for(client, first, statuses)
        assert j["status"] == "done", j
        apart = two_schools_sharing_a_cluster(client, first)
        started = time.perf_counter()
        r = client.post(
            f"/api/plans/{first}/revise",
            json={"edits": [{"action": "apart", "school_id": apart[0], "other_school_id": apart[1], "note": "the bridge is down"}]},
            headers=h,
        )
        assert r.status_code == 202, r.text
        revised = r.json()["plan_id"]
        j = wait_for(client, revised)
        assert j["status"] == "done", j
        yield Planned(client, folder, project_id, first, revised, apart, statuses, time.perf_counter() - started)
