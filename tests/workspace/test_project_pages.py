"""The Read, Policy, Scenarios and Support pages and their API, on the planned sample of the session.

What an office would check: the files read as ``inspect`` reads them, with
every problem at once; a header and codes chosen in drop-downs land in the
policy and make the files read; the policy form holds every setting with its
default and help and refuses a bad policy whole; a scenario under another
policy is planned and shown beside the first plan with compare's figures;
support is planned as a new version whose facilitators' months and calendar
pages match its files. Plans are checked by the independent validator.
"""

from __future__ import annotations

import csv
from dataclasses import fields
from pathlib import Path

import pandas as pd

from cluster_mapper.policy.load import load_policy
from cluster_mapper.policy.rules import DistrictPolicy, SupportPolicy, TravelPolicy
from cluster_mapper.policy.template import KEY_HELP, SUPPORT_HELP
from cluster_mapper.sample import sample_paths
from cluster_mapper.validate.plan import validate_plan
from tests.workspace.conftest import csrf, wait_for
from tests.workspace.test_security import _login, accounts

#: The first facilitators of the sample: support on them is quick enough for a test.
FACILITATORS = 4


def _sample_project(client, name: str) -> int:
    r = client.post("/api/projects", json={"name": name, "sample": True}, headers=csrf(client))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def test_read_shows_every_column_as_read_the_counts_and_the_preview_map(planned):
    c = planned.client
    pid = _sample_project(c, "read the sample")
    r = c.get(f"/api/projects/{pid}/inputs")
    assert r.status_code == 200, r.text
    read = r.json()
    assert read["ok"] and read["problems"] == []
    paths = sample_paths()
    schools = next(t for t in read["tables"] if t["kind"] == "schools")
    with paths["schools"].open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    found = {col["field"]: col["header"] for col in schools["columns"] if col["how"] != "missing"}
    assert sorted(found.values()) == sorted(header), "every column of the sample's schools file is read, under its own name"
    assert schools["rows"] == _rows(paths["schools"])
    assert sum(row["teachers"] for row in read["counts"]) == _rows(paths["teachers"])
    assert sum(row["schools"] for row in read["schools_by_district"]) == _rows(paths["schools"])
    assert read["travel"]["source"] == "network" and read["travel"]["network_nodes"] > 0
    preview = c.get(f"/projects/{pid}/files/read/{read['preview']}")
    assert preview.status_code == 200 and f"{_rows(paths['schools']):,} schools as read" in preview.text
    page = c.get(f"/projects/{pid}/read").text
    assert 'id="read-ok"' in page and "min_teachers = 6" in page, "the page shows the project's policy as TOML"
    assert c.get(f"/projects/{pid}/files/inputs/{paths['schools'].name}").status_code == 404, "only the preview and comparison maps are served"


def _odd_schools() -> bytes:
    """The sample's schools with the gender column renamed 'School Type' and coded B, G, Co-ed."""
    df = pd.read_csv(sample_paths()["schools"], dtype=str)
    df = df.rename(columns={"gender": "School Type"})
    df["School Type"] = df["School Type"].map({"boys": "B", "girls": "G", "mixed": "Co-ed"})
    return df.to_csv(index=False).encode()


def test_a_header_and_codes_chosen_on_the_read_page_go_into_the_policy(planned):
    c = planned.client
    paths = sample_paths()
    files = {
        "schools": ("schools.csv", _odd_schools(), "text/csv"),
        "teachers": (paths["teachers"].name, paths["teachers"].read_bytes(), "text/csv"),
        "policy": ("policy.toml", paths["policy"].read_bytes(), "text/plain"),
    }
    r = c.post("/api/projects", data={"name": "odd headers"}, files=files, headers=csrf(c))
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    read = c.get(f"/api/projects/{pid}/inputs").json()
    assert not read["ok"]
    gender = [p for p in read["problems"] if p["field"] == "gender"]
    assert gender and "School Type" in gender[0]["fix"]
    schools = next(t for t in read["tables"] if t["kind"] == "schools")
    assert "School Type" in schools["headers"] and "School Type" in schools["unused"]
    page = c.get(f"/projects/{pid}/read").text
    assert "the required column &#39;gender&#39; is missing" in page and '<option value="School Type">' in page

    h = csrf(c)
    r = c.post(f"/api/projects/{pid}/mapping", json={"columns": {"schools": {"gender": "School Type"}}}, headers=h)
    assert r.status_code == 200, r.text
    read = c.get(f"/api/projects/{pid}/inputs").json()
    assert read["ok"], read["problems"]
    codes = {v["value"]: v for v in next(t for t in read["tables"] if t["kind"] == "schools")["codes"] if v["field"] == "gender"}
    assert set(codes) == {"B", "G", "Co-ed"}
    r = c.post(f"/api/projects/{pid}/mapping", json={"values": {"schools": {"gender": {"B": "boys", "G": "girls", "Co-ed": "mixed"}}}}, headers=h)
    assert r.status_code == 200, r.text
    read = c.get(f"/api/projects/{pid}/inputs").json()
    codes = {v["value"]: v for v in next(t for t in read["tables"] if t["kind"] == "schools")["codes"] if v["field"] == "gender"}
    assert {k: (v["code"], v["how"]) for k, v in codes.items()} == {"B": ("boys", "policy"), "G": ("girls", "policy"), "Co-ed": ("mixed", "policy")}
    policy_file = planned.folder / "projects" / str(pid) / "inputs" / "policy-policy.toml"
    policy = load_policy(policy_file)
    assert policy.inputs.columns["schools"] == {"gender": "School Type"}
    assert policy.inputs.values["schools"]["gender"] == {"B": "boys", "G": "girls", "Co-ed": "mixed"}
    assert policy_file.read_text(encoding="utf-8").startswith("# Sample policy"), "the file's comments are kept"
    r = c.post(f"/api/projects/{pid}/mapping", json={"values": {"schools": {"gender": {"co-ed": "mixed"}}}}, headers=h)
    assert r.status_code == 200, r.text
    assert load_policy(policy_file).inputs.values["schools"]["gender"] == {"B": "boys", "G": "girls", "co-ed": "mixed"}, "one entry per code, case aside"
    toml = c.get(f"/api/projects/{pid}/policy.toml")
    assert toml.status_code == 200 and "attachment" in toml.headers["content-disposition"] and 'gender = "School Type"' in toml.text

    before = policy_file.read_bytes()
    r = c.post(
        f"/api/projects/{pid}/mapping",
        json={"columns": {"schools": {"nosuch": "School Type"}}, "values": {"schools": {"gender": {"B": "bogus"}}}},
        headers=h,
    )
    assert r.status_code == 422
    assert sorted(p["field"] for p in r.json()["problems"]) == ["columns.schools.nosuch", "values.schools.gender.B"]
    assert policy_file.read_bytes() == before, "a refused mapping changes nothing"


def test_the_policy_form_has_every_setting_and_refuses_a_bad_policy_whole(planned):
    c = planned.client
    pid = _sample_project(c, "policy form")
    form = c.get(f"/api/projects/{pid}/policy").json()
    keys = [(s["section"], s["key"]) for s in form["settings"]]
    expected = [("clusters", f.name) for f in fields(DistrictPolicy)] + [("travel", f.name) for f in fields(TravelPolicy)]
    expected += [("travel", "cross_district"), ("inputs", "district")] + [("support", f.name) for f in fields(SupportPolicy) if f.name in SUPPORT_HELP]
    assert keys == expected
    by_key = {(s["section"], s["key"]): s for s in form["settings"]}
    assert by_key[("clusters", "min_teachers")]["default"] == "6" and by_key[("clusters", "max_travel_minutes")]["default"] == "60"
    assert by_key[("clusters", "n_clusters")]["default"] == "0", "0 stands for 'as many as suit', as the template writes it"
    assert by_key[("support", "workdays")]["default"] == "mon, tue, wed, thu, fri"
    assert by_key[("clusters", "levels")]["choices"] == ["separate", "mixed"]
    assert all(s["help"] == (SUPPORT_HELP if s["section"] == "support" else KEY_HELP)[s["key"]] for s in form["settings"])
    assert form["given"][""]["time_limit_seconds"] == "20", "the sample's own value, not the default"

    policy_file = planned.folder / "projects" / str(pid) / "inputs" / "policy.toml"
    before = policy_file.read_bytes()
    h = csrf(c)
    bad = {"max_travel_minutes": "an hour", "levels": "both", "support.meeting_minutes": "600", "support.working_day_minutes": "480"}
    r = c.post(f"/api/projects/{pid}/policy", json={"settings": bad}, headers=h)
    assert r.status_code == 422
    problems = {p["field"]: p for p in r.json()["problems"]}
    assert set(problems) == {"max_travel_minutes", "levels", "support.meeting_minutes"}
    assert all(p["row"] and p["row_word"] == "line" for p in problems.values())
    assert policy_file.read_bytes() == before

    good = {"max_travel_minutes": "45", "levels": "mixed", "min_teachers": "", "districts.Mansehra.gender": "mixed"}
    r = c.post(f"/api/projects/{pid}/policy", json={"settings": good, "new_district": "Mansehra"}, headers=h)
    assert r.status_code == 200, r.text
    r = c.post(f"/api/projects/{pid}/policy", json={"settings": {"districts.Mansehra.gender": "mixed", "districts.Mansehra.max_teachers": "10"}}, headers=h)
    assert r.status_code == 200, r.text
    policy = load_policy(policy_file)
    assert policy.default.max_travel_minutes == 45 and policy.default.levels == "mixed"
    assert "min_teachers" not in policy_file.read_text(encoding="utf-8"), "a blank field keeps the default"
    assert policy.districts["Mansehra"].gender == "mixed" and policy.districts["Mansehra"].max_teachers == 10
    assert policy.districts["Mansehra"].max_travel_minutes == 45, "the override takes the other settings from the defaults"
    page = c.get(f"/projects/{pid}/policy").text
    assert "<h3>Mansehra</h3>" in page and "longest trip from a member school to the venue" in page


def test_a_scenario_with_mixed_levels_is_planned_and_shown_beside_the_first_plan(planned):
    c = planned.client
    h = csrf(c)
    versions = len(c.get(f"/api/projects/{planned.project_id}").json()["plans"])
    r = c.post(f"/api/projects/{planned.project_id}/scenarios", json={"name": "mixed", "settings": {"levels": "both"}}, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "levels"
    assert len(c.get(f"/api/projects/{planned.project_id}").json()["plans"]) == versions, "a refused scenario plans nothing"

    r = c.post(f"/api/projects/{planned.project_id}/scenarios", json={"name": "mixed levels", "settings": {"levels": "mixed"}}, headers=h)
    assert r.status_code == 202, r.text
    mixed = r.json()["plan_id"]
    j = wait_for(c, mixed)
    assert j["status"] == "done", j
    folder = planned.folder / "projects" / str(planned.project_id) / "plans" / str(mixed)
    report = validate_plan(folder)
    assert report.ok, report.violations
    assert j["summary"]["policy"]["levels"] == "mixed"
    assert "<td>mixed-levels.toml</td>" in c.get(f"/plans/{mixed}").text, "the version's page names the scenario's policy"

    side = c.get(f"/api/projects/{planned.project_id}/compare", params={"plans": f"{planned.first},{mixed}"}).json()
    first = c.get(f"/api/plans/{planned.first}").json()["summary"]
    rows = dict(side["rows"])
    assert rows["Clusters"] == [f"{first['clusters']:,}", f"{j['summary']['clusters']:,}"]
    assert rows["Teachers placed"] == [f"{first['teachers_placed']:,}", f"{j['summary']['teachers_placed']:,}"]
    assert dict(side["policy_differences"]) == {"levels": ["separate", "mixed"]}
    assert side["labels"] == [f"version {planned.first} (policy)", f"version {mixed} (mixed-levels)"]
    page = c.get(f"/projects/{planned.project_id}/scenarios", params={"plans": f"{planned.first},{mixed}"}).text
    assert "version " + str(mixed) + " (mixed-levels)" in page and 'id="policy-differences"' in page
    assert c.get(f"/projects/{planned.project_id}/files/{side['map']}").status_code == 200
    assert c.get(f"/api/projects/{planned.project_id}/compare", params={"plans": str(mixed)}).status_code == 422


def test_support_is_planned_as_a_new_version_with_each_facilitators_month(planned):
    c = planned.client
    h = csrf(c)
    pid = _sample_project(c, "support")
    zipped = c.get(f"/api/plans/{planned.first}/download").content
    r = c.post(f"/api/projects/{pid}/plans/import", files={"plan": ("plan.zip", zipped, "application/zip")}, headers=h)
    assert r.status_code == 201, r.text
    base = r.json()["plan_id"]
    assert 'id="no-support"' in c.get(f"/plans/{base}/support").text
    r = c.post(f"/api/projects/{pid}/policy", json={"settings": {"support.month": "2027-03", "support.time_limit_seconds": "2"}}, headers=h)
    assert r.status_code == 200, r.text
    lines = sample_paths()["facilitators"].read_text(encoding="utf-8").splitlines()[: FACILITATORS + 1]
    r = c.post(f"/api/plans/{base}/support", files={"facilitators": ("few.csv", "\n".join(lines).encode(), "text/csv")}, headers=h)
    assert r.status_code == 202, r.text
    sup = r.json()["plan_id"]
    j = wait_for(c, sup)
    assert j["status"] == "done", j
    assert j["parent_id"] == base and j["valid"], j["violations"]
    folder = planned.folder / "projects" / str(pid) / "plans" / str(sup)
    assert validate_plan(folder).ok
    assert not (planned.folder / "projects" / str(pid) / "plans" / str(base) / "support.csv").exists(), "the version it came from stays as it was"

    got = c.get(f"/api/plans/{sup}/support").json()
    people = {p["id"]: p for p in got["people"]}
    assert sorted(people) == [row.split(",")[0] for row in lines[1:]]
    table = pd.read_csv(folder / "support.csv", dtype=str).fillna("")
    for fid, person in people.items():
        assert person["clusters"] == int((table["facilitator_id"] == fid).sum())
        assert all(day[0].startswith("2027-03-") for day in person["days_rows"]), "days on dates of the policy's month"
    assert got["month"] == "2027-03"
    fid, person = next((k, p) for k, p in people.items() if p["clusters"])
    page = c.get(f"/plans/{sup}/support/{fid}").text
    assert person["name"] in page and person["days_rows"][0][0] in page
    ics = c.get(f"/plans/{sup}/files/{person['ics']}")
    assert ics.status_code == 200 and ics.text.startswith("BEGIN:VCALENDAR")
    assert 'id="programme"' in c.get(f"/plans/{sup}/support").text
    figures = j["summary"]["support"]
    assert f"{figures['clusters_supported']} of {figures['clusters']} clusters supported by {len(people)} facilitator(s)" in c.get(f"/plans/{sup}").text
    assert c.get(f"/plans/{sup}/support/NOBODY").status_code == 404


def test_support_needs_a_facilitators_file(planned):
    c = planned.client
    r = c.post(f"/api/plans/{planned.first}/support", files={"facilitators": ("f.exe", b"MZ\x00", "application/octet-stream")}, headers=csrf(c))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "facilitators"


def test_a_project_without_a_policy_reads_the_defaults_and_gets_one_when_saved(planned):
    c = planned.client
    paths = sample_paths()
    files = {k: (paths[k].name, paths[k].read_bytes(), "text/csv") for k in ("schools", "teachers")}
    r = c.post("/api/projects", data={"name": "no policy"}, files=files, headers=csrf(c))
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    form = c.get(f"/api/projects/{pid}/policy").json()
    assert form["toml"] == "" and form["given"][""] == {}
    inputs = planned.folder / "projects" / str(pid) / "inputs"
    assert not (inputs / "policy.toml").exists(), "reading the form makes no file"
    r = c.post(f"/api/projects/{pid}/policy", json={"settings": {"max_teachers": "10"}}, headers=csrf(c))
    assert r.status_code == 200, r.text
    assert load_policy(inputs / "policy.toml").default.max_teachers == 10
    assert c.get(f"/api/projects/{pid}").json()["inputs"]["policy"] == "policy.toml"


def test_read_lists_the_facilitators_problems_as_stopping_support_only(planned):
    c = planned.client
    paths = sample_paths()
    text = paths["facilitators"].read_text(encoding="utf-8")
    bad = text.replace("F001,", "F001x,", 1).replace(",MSR-S00256,", ",NOPE-1,", 1).replace(",female,", ",femme,", 1)
    files = {k: (paths[k].name, paths[k].read_bytes(), "text/csv") for k in ("schools", "teachers")}
    files["facilitators"] = ("facilitators.csv", bad.encode(), "text/csv")
    r = c.post("/api/projects", data={"name": "bad facilitators"}, files=files, headers=csrf(c))
    assert r.status_code == 201, r.text
    read = c.get(f"/api/projects/{r.json()['id']}/inputs").json()
    assert read["ok"], "the schools and teachers read: clusters can be planned"
    assert sorted((p["row"], p["field"]) for p in read["problems"]) == [(2, "base_school_id"), (2, "gender")]
    assert all(p["file"] == "facilitators-facilitators.csv" for p in read["problems"])
    page = c.get(f"/projects/{r.json()['id']}/read").text
    assert "planning support would stop on these" in page and 'id="read-ok"' not in page


def test_viewers_and_reviewers_read_these_pages_and_only_managers_change_them(accounts, planned):
    _, c = accounts
    pid, first = planned.project_id, planned.first
    changes = (
        (f"/api/projects/{pid}/mapping", {"columns": {"schools": {"gender": "gender"}}}),
        (f"/api/projects/{pid}/policy", {"settings": {"max_teachers": "10"}}),
        (f"/api/projects/{pid}/scenarios", {"name": "x", "settings": {"levels": "mixed"}}),
        (f"/api/plans/{first}/support", {}),
    )
    for who in ("vera", "rashid"):
        h = _login(c, who)
        assert c.get(f"/api/projects/{pid}/inputs").status_code == 200
        assert c.get(f"/api/projects/{pid}/policy").status_code == 200
        for url, body in changes:
            r = c.post(url, json=body, headers=h)
            assert r.status_code == 403 and "manager" in r.json()["detail"], url
        page = c.get(f"/projects/{pid}/policy").text
        assert "disabled" in page and 'id="policy-form"' in page and "Check and save the policy" not in page
        assert "<select data-path" not in c.get(f"/projects/{pid}/read").text
    c.post("/api/logout", headers=h)
    assert c.get(f"/api/projects/{pid}/inputs").status_code == 401
    assert c.get(f"/projects/{pid}/read", follow_redirects=False).status_code == 303
