"""Plans that travel: a plan folder finds its inputs from any working directory and after its project folder is copied.

A district officer plans in the project folder, then validates, maps, adds
support, exports, diffs and revises from elsewhere, and hands a copy of the
whole project folder to a colleague. The schools file here is a mapped
workbook-like export whose headers and codes only the policy explains, so
every command must read it as the plan did (the plan's policy copy).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster_mapper.cli import app
from cluster_mapper.validate.plan import validate_plan

EMIS = Path(__file__).parent / "data" / "emis"
runner = CliRunner()

POLICY = """
district = "Abbottabad"
levels = "mixed"
time_limit_seconds = 10

[columns.schools]
school_id = "Inst No"
name = "Institution Title"
latitude = "Northing Deg"
longitude = "Easting Deg"
gender = "Kind"
male_teachers = "Male Teachers"
female_teachers = "Female Teachers"

[values.schools.gender]
B = "boys"
G = "girls"
C = "mixed"
"""


def _flat(text: str) -> str:
    return " ".join(text.split())


def _project(root: Path) -> Path:
    """A project folder: inputs/ (schools with the office's own headers and codes, policy, facilitators)."""
    inputs = root / "inputs"
    inputs.mkdir(parents=True)
    s = pd.read_csv(EMIS / "abbottabad_emis.csv", dtype=str)
    s = s.rename(columns={"EMIS Code": "Inst No", "School Name": "Institution Title", "Lat": "Northing Deg", "Lon": "Easting Deg", "Gender": "Kind"})
    s["Kind"] = s["Kind"].map({"Boys": "B", "Girls": "G", "Co-education": "C"})
    s.to_csv(inputs / "schools.csv", index=False)
    (inputs / "policy.toml").write_text(POLICY, encoding="utf-8")
    girls, boys = s[s["Kind"].isin(["G", "C"])], s[s["Kind"].isin(["B", "C"])]
    fac = pd.DataFrame(
        {
            "facilitator_id": ["W1", "W2", "M1", "M2"],
            "name": ["Woman one", "Woman two", "Man one", "Man two"],
            "gender": ["female", "female", "male", "male"],
            "base_school_id": [girls.iloc[0]["Inst No"], girls.iloc[1]["Inst No"], boys.iloc[2]["Inst No"], boys.iloc[3]["Inst No"]],
            "levels": "primary;middle;high",
            "max_clusters": 30,
            "days_per_month": 20,
        }
    )
    fac.to_csv(inputs / "fac.csv", index=False)
    return root


def _in(monkeypatch, folder: Path, *args: str):
    monkeypatch.chdir(folder)
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A plan made inside the project folder with paths relative to it, as an office would type them."""
    root = tmp_path_factory.mktemp("travel")
    project = _project(root / "A")
    (root / "B").mkdir()
    mp = pytest.MonkeyPatch()
    try:
        res = _in(mp, project, "plan", "--schools", "inputs/schools.csv", "--policy", "inputs/policy.toml", "--straight-line", "--out", "plans/p1")
    finally:
        mp.undo()
    assert res.exit_code == 0, res.output
    return root


def test_summary_records_inputs_relative_absolute_and_hashed(planned):
    s = json.loads((planned / "A" / "plans" / "p1" / "summary.json").read_text())
    rec = s["input_files"]["schools"]
    assert rec["relative"] == "../../inputs/schools.csv"
    assert rec["path"] == str((planned / "A" / "inputs" / "schools.csv").resolve())
    assert len(rec["sha256"]) == 64 and rec["sha256"] == s["input_sha256"]["schools"]
    assert s["input_files"]["policy"]["relative"] == "../../inputs/policy.toml"


def test_validate_map_support_export_revise_diff_from_another_folder(planned, monkeypatch):
    b = planned / "B"
    plan_dir = "../A/plans/p1"
    res = _in(monkeypatch, b, "validate", plan_dir)
    assert res.exit_code == 0 and "valid" in res.output, res.output
    res = _in(monkeypatch, b, "map", plan_dir)
    assert res.exit_code == 0, res.output
    # support on a plan made from a mapped file: the schools are read with the plan's own [columns] and [values]
    res = _in(monkeypatch, b, "support", plan_dir, "--facilitators", "../A/inputs/fac.csv", "--no-review")
    assert res.exit_code == 0, res.output
    assert validate_plan(planned / "A" / "plans" / "p1").ok
    res = _in(monkeypatch, b, "export", plan_dir, "--xlsx", "review.xlsx")
    assert res.exit_code == 0, res.output
    res = _in(
        monkeypatch,
        b,
        "plan",
        "--schools",
        "../A/inputs/schools.csv",
        "--policy",
        "../A/inputs/policy.toml",
        "--straight-line",
        "--revise",
        plan_dir,
        "--out",
        "../A/plans/p2",
        "--no-review",
    )
    assert res.exit_code == 0, res.output
    res = _in(monkeypatch, b, "diff", plan_dir, "../A/plans/p2")
    assert res.exit_code == 0 and "0 teacher(s) moved" in _flat(res.output), res.output
    s = json.loads((planned / "A" / "plans" / "p2" / "summary.json").read_text())
    assert s["input_files"]["revised_from"]["relative"] == "../p1"
    changes = pd.read_csv(planned / "A" / "plans" / "p2" / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    names = _names(planned)
    assert list(changes.columns[:3]) == ["teacher_id", "school_id", "school_name"]
    assert (changes["school_name"] == changes["school_id"].map(names)).all()
    placed = changes["new_venue_school_id"] != ""
    assert placed.any() and (changes.loc[placed, "new_venue_name"] == changes.loc[placed, "new_venue_school_id"].map(names)).all()


def test_project_folder_copied_elsewhere_still_validates(planned, tmp_path, monkeypatch):
    copy = tmp_path / "colleague" / "project"
    shutil.copytree(planned / "A", copy)
    moved = planned / "A_away"
    (planned / "A").rename(moved)  # the original place is gone: only the relative record can find the inputs
    try:
        res = _in(monkeypatch, tmp_path, "validate", str(copy / "plans" / "p1"))
        assert res.exit_code == 0 and "valid" in res.output, res.output
        (copy / "inputs" / "schools.csv").unlink()
        res = _in(monkeypatch, tmp_path, "validate", str(copy / "plans" / "p1"))
        assert res.exit_code == 2
        text = _flat(res.output)
        assert "schools file is not found" in text and "put the file back" in text
        assert str(copy / "inputs" / "schools.csv") in "".join(res.output.split())  # where it was looked for (the terminal wraps long paths)
    finally:
        moved.rename(planned / "A")


def _names(planned: Path) -> dict[str, str]:
    s = pd.read_csv(planned / "A" / "inputs" / "schools.csv", dtype=str)
    return dict(zip(s["Inst No"], s["Institution Title"], strict=True))


def test_assignments_carry_school_names(planned):
    a = pd.read_csv(planned / "A" / "plans" / "p1" / "assignments.csv", dtype=str, encoding="utf-8-sig")
    names = _names(planned)
    assert list(a.columns[:3]) == ["teacher_id", "school_id", "school_name"]
    assert (a["school_name"] == a["school_id"].map(names)).all()


def test_teacher_names_beside_ids_when_the_roster_has_them():
    """A roster read with names gives assignments.csv a teacher_name column; one without gives none."""
    from cluster_mapper import Scenario, TravelSource, plan
    from cluster_mapper.planning.files import named_assignments

    corpus = Path(__file__).parent / "bad_inputs"
    p = plan(Scenario(corpus / "good_schools.csv", TravelSource(straight_line=True), corpus / "good_roster.csv", corpus / "good_policy.toml"))
    assert "teacher_name" not in named_assignments(p).columns
    p.inputs.teachers["name"] = ["Teacher " + t for t in p.inputs.teachers["teacher_id"]]
    a = named_assignments(p)
    assert list(a.columns[:2]) == ["teacher_id", "teacher_name"]
    assert (a["teacher_name"] == "Teacher " + a["teacher_id"]).all()
