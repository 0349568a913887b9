"""The workspace's pages as served (no browser): each page of the loop answers, names are escaped, uploads are checked."""

from __future__ import annotations

from cluster_mapper.sample import sample_paths
from tests.workspace.conftest import csrf


def test_the_pages_of_the_loop_answer(planned):
    c = planned.client
    for url in (
        "/",
        f"/projects/{planned.project_id}",
        f"/plans/{planned.revised}",
        f"/plans/{planned.revised}/review",
        f"/plans/{planned.first}/diff/{planned.revised}",
        f"/plans/{planned.revised}/files/map.html",
        f"/plans/{planned.revised}/files/report.html",
        "/static/leaflet/leaflet.js",
        "/static/workspace.js",
    ):
        r = c.get(url)
        assert r.status_code == 200, url
    diff = c.get(f"/plans/{planned.first}/diff/{planned.revised}").text
    moved = c.get(f"/api/plans/{planned.first}/diff/{planned.revised}").json()["moved"]
    assert all(m["teacher_id"] in diff for m in moved)
    assert "the bridge is down" in diff


def test_names_are_escaped_on_the_pages(planned):
    c = planned.client
    name = '<script>alert("x")</script>'
    r = c.post("/api/projects", json={"name": name, "sample": True}, headers=csrf(c))
    assert r.status_code == 201
    page = c.get(f"/projects/{r.json()['id']}").text
    assert name not in page and "&lt;script&gt;" in page
    assert name not in c.get("/").text


def test_uploads_are_type_checked_and_every_problem_listed(planned):
    c = planned.client
    files = {
        "schools": ("schools.exe", b"MZ\x00\x00binary", "application/octet-stream"),
        "teachers": ("teachers.xlsx", b"not a zip", "application/octet-stream"),
        "policy": ("policy.toml", b"\x00\x01", "text/plain"),
    }
    r = c.post("/api/projects", data={"name": "bad files"}, files=files, headers=csrf(c))
    assert r.status_code == 422
    fields = sorted(p["field"] for p in r.json()["problems"])
    assert fields == ["policy", "schools", "teachers"]


def test_a_project_from_uploaded_files_keeps_them_in_its_folder(planned):
    c = planned.client
    paths = sample_paths()
    files = {k: (paths[k].name, paths[k].read_bytes(), "text/csv") for k in ("schools", "teachers", "policy")}
    r = c.post("/api/projects", data={"name": "uploaded"}, files=files, headers=csrf(c))
    assert r.status_code == 201, r.text
    project = c.get(f"/api/projects/{r.json()['id']}").json()
    assert project["inputs"] == {k: f"{k}-{paths[k].name}" for k in files}
    folder = planned.folder / "projects" / str(r.json()["id"]) / "inputs"
    assert (folder / f"schools-{paths['schools'].name}").read_bytes() == paths["schools"].read_bytes()
