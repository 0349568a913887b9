"""The workspace's JSON API through the whole loop on the sample, as a script would use it.

A project from the sample plans in the background; an ``apart`` revision
makes a new version in which the two schools never share a cluster; the
diff lists exactly the teachers whose venue changed; the downloaded zip is a
plan folder the independent validator accepts.
"""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd

from cluster_mapper import read_plan, validate_plan
from tests.workspace.conftest import csrf


def _unzip(client, plan_id, dest):
    r = client.get(f"/api/plans/{plan_id}/download")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(dest)
    return dest


def test_a_sample_project_plans_in_the_background_and_reports_its_summary(planned):
    c = planned.client
    order = ["queued", "running", "done"]
    assert planned.statuses[-1] == "done"
    assert planned.statuses == sorted(planned.statuses, key=order.index), f"status went back: {planned.statuses}"
    j = c.get(f"/api/plans/{planned.first}").json()
    folder = planned.folder / "projects" / str(planned.project_id) / "plans" / str(planned.first)
    assert j["summary"] == json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert j["summary"]["teachers_placed"] > 0
    assert j["valid"] is True and j["violations"] == []
    project = c.get(f"/api/projects/{planned.project_id}").json()
    assert [p["id"] for p in project["plans"]][:2] == [planned.first, planned.revised]
    assert set(project["inputs"]) == {"schools", "teachers", "network", "policy", "facilitators"}


def test_the_downloaded_zip_is_a_plan_folder_the_validator_accepts(planned, tmp_path):
    folder = _unzip(planned.client, planned.revised, tmp_path / "plan")
    report = validate_plan(folder)
    assert report.ok, report.violations
    assert report.checked["teachers"] == planned.client.get(f"/api/plans/{planned.revised}").json()["summary"]["teachers_total"]


def test_an_apart_revision_is_a_new_version_that_keeps_the_two_schools_apart(planned, tmp_path):
    c = planned.client
    j = c.get(f"/api/plans/{planned.revised}").json()
    assert j["parent_id"] == planned.first
    assert [(e["action"], e["school_id"], e["other_school_id"], e["author"]) for e in j["edits"]] == [("apart", *planned.apart, "local")]
    old = read_plan(_unzip(c, planned.first, tmp_path / "old")).assignments
    new = read_plan(_unzip(c, planned.revised, tmp_path / "new")).assignments

    def clusters(a: pd.DataFrame, school: str) -> set[str]:
        return set(a[(a["school_id"] == school) & (a["status"] == "placed")]["cluster_id"])

    s1, s2 = planned.apart
    assert clusters(old, s1) & clusters(old, s2), "the two schools shared a cluster before the edit"
    assert clusters(new, s1) and clusters(new, s2), "both schools are still placed"
    assert not clusters(new, s1) & clusters(new, s2)


def test_the_diff_lists_every_teacher_whose_venue_changed_with_why(planned, tmp_path):
    c = planned.client
    d = c.get(f"/api/plans/{planned.first}/diff/{planned.revised}").json()
    old = read_plan(_unzip(c, planned.first, tmp_path / "old")).assignments.set_index("teacher_id")
    new = read_plan(_unzip(c, planned.revised, tmp_path / "new")).assignments.set_index("teacher_id")
    placed_both = old.index[(old["status"] == "placed") & (new.loc[old.index, "status"] == "placed")]
    by_hand = {t for t in placed_both if old.at[t, "venue_school_id"] != new.at[t, "venue_school_id"]}
    lost = {t for t in old.index if old.at[t, "status"] == "placed" and new.at[t, "status"] != "placed"}
    assert {m["teacher_id"] for m in d["moved"]} == by_hand | lost
    assert d["moved"], "keeping two schools of one cluster apart moves someone"
    s1, s2 = planned.apart
    for m in d["moved"]:
        if m["school_id"] in planned.apart:
            assert f"apart {s1} {s2}" in m["why"] and "the bridge is down" in m["why"]
    assert d["summary"]["teachers_moved"] == len(d["moved"])


def test_bad_edits_are_refused_with_every_problem_and_nothing_planned(planned):
    c = planned.client
    before = len(c.get(f"/api/projects/{planned.project_id}").json()["plans"])
    edits = [
        {"action": "apart", "school_id": "NO-SUCH-SCHOOL", "other_school_id": planned.apart[0]},
        {"action": "apartt", "school_id": planned.apart[0], "other_school_id": planned.apart[1]},
        {"action": "travel_minutes", "school_id": planned.apart[0], "other_school_id": planned.apart[1], "minutes": "soon"},
        {"action": "lock_cluster", "cluster_id": "Nowhere-01"},
        {"action": "venue"},
    ]
    r = c.post(f"/api/plans/{planned.first}/revise", json={"edits": edits}, headers=csrf(c))
    assert r.status_code == 422
    found = {(p["edit"], p["field"]) for p in r.json()["problems"]}
    assert found == {(1, "school_id"), (2, "action"), (3, "minutes"), (4, "cluster_id"), (5, "school_id")}
    assert "did you mean 'apart'" in next(p["fix"] for p in r.json()["problems"] if p["edit"] == 2)
    assert len(c.get(f"/api/projects/{planned.project_id}").json()["plans"]) == before


def test_a_plan_not_done_or_missing_is_refused(planned):
    c = planned.client
    assert c.get("/api/plans/999999").status_code == 404
    assert c.get(f"/api/plans/{planned.first}/diff/999999").status_code == 404
    assert c.post("/api/projects/999999/plans", headers=csrf(c)).status_code == 404


def test_changes_need_the_csrf_token(planned):
    c = planned.client
    r = c.post(f"/api/projects/{planned.project_id}/plans")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = c.post(f"/api/projects/{planned.project_id}/plans", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403


def test_a_downloaded_plan_imports_as_a_version_of_another_project(planned):
    c = planned.client
    h = csrf(c)
    zipped = c.get(f"/api/plans/{planned.first}/download").content
    project = c.post("/api/projects", json={"name": "imported", "sample": True}, headers=h).json()["id"]
    r = c.post(f"/api/projects/{project}/plans/import", files={"plan": ("plan.zip", zipped, "application/zip")}, headers=h)
    assert r.status_code == 201, r.text
    imported = c.get(f"/api/plans/{r.json()['plan_id']}").json()
    assert imported["status"] == "done" and imported["valid"] is True
    assert imported["summary"] == c.get(f"/api/plans/{planned.first}").json()["summary"]
    assert c.get(f"/api/plans/{planned.first}/diff/{imported['id']}").json()["moved"] == []


def test_a_zip_that_is_not_a_plan_or_climbs_out_is_refused(planned, tmp_path):
    c = planned.client
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../escape.txt", "x")
        z.writestr("notes.txt", "y")
    r = c.post(f"/api/projects/{planned.project_id}/plans/import", files={"plan": ("plan.zip", buf.getvalue(), "application/zip")}, headers=csrf(c))
    assert r.status_code == 422
    messages = " ".join(p["message"] for p in r.json()["problems"])
    assert "outside the plan folder" in messages and "missing assignments.csv, clusters.csv, summary.json" in messages
    assert not (planned.folder / "projects" / "escape.txt").exists()
    r = c.post(f"/api/projects/{planned.project_id}/plans/import", files={"plan": ("plan.zip", b"not a zip", "application/zip")}, headers=csrf(c))
    assert r.status_code == 422 and "not a zip" in r.json()["problems"][0]["message"]


def test_a_manager_accepts_a_version_of_the_project(planned):
    c = planned.client
    r = c.post(f"/api/plans/{planned.revised}/accept", headers=csrf(c))
    assert r.status_code == 200
    assert c.get(f"/api/projects/{planned.project_id}").json()["accepted_plan_id"] == planned.revised
    assert c.post("/api/plans/999999/accept", headers=csrf(c)).status_code == 404
