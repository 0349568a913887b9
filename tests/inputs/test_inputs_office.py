"""A district office's own workbook, end to end (tests/data/emis/abbottabad_office.xlsx).

Two sheets (Institutions, Staff), title, total and note rows, ``Sr. No``
running numbers, Boys/Girls/Co-Education, ``GPS North``/``GPS East``, and a
``Designation`` column that carries both the level (PST, EST, SST) and the
head post (Head Master, Head Mistress), over the 25 real Abbottabad
OpenStreetMap schools, planned on the real Abbottabad ``.osm.pbf`` with a
policy that only maps columns and codes (office_policy.toml).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.cli import app
from cluster_mapper.errors import InputError
from cluster_mapper.inputs.schools import load_inputs
from cluster_mapper.policy.load import load_policy

DATA = Path(__file__).parents[1] / "data"
EMIS = DATA / "emis"
OFFICE = EMIS / "abbottabad_office.xlsx"
PBF = DATA / "abbottabad" / "abbottabad.osm.pbf"
runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _problems(policy_text: str, tmp_path: Path) -> list[str]:
    pol = tmp_path / "p.toml"
    pol.write_text(policy_text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_inputs(OFFICE, OFFICE, policy=load_policy(pol))
    return [str(p) for p in err.value.problems]


def test_first_run_without_mappings_lists_every_problem_of_both_sheets_at_once(tmp_path):
    pol = tmp_path / "p.toml"
    pol.write_text('district = "Abbottabad"\n', encoding="utf-8")
    out = tmp_path / "plan"
    res = runner.invoke(
        app, ["plan", "--schools", str(OFFICE), "--teachers", str(OFFICE), "--policy", str(pol), "--straight-line", "--out", str(out)], env={"COLUMNS": "250"}
    )
    assert res.exit_code == 2, res.output
    text = _flat(res.output)
    # the schools' id, name and position problems together, each naming the sheet, with a fix from the columns' values
    assert "abbottabad_office.xlsx#Institutions, row 3, field 'school_id'" in text
    assert '[columns.schools] school_id = "Institution Code"' in text
    assert '[columns.schools] name = "Name of Institution"' in text
    assert "columns 'GPS North' and 'GPS East' hold degrees north and east" in text
    assert '[columns.schools] latitude = "GPS North" and longitude = "GPS East"' in text
    # the staff sheet's problems in the same run: its school column matches the schools' ids
    assert "abbottabad_office.xlsx#Staff, row 3, field 'school_id'" in text
    assert '[columns.teachers] school_id = "Institution Code"' in text
    assert '[columns.teachers] gender = "Sex (M/F)"' in text
    # a head post is not offered as a level: the fix reads the column as the role too
    assert "'Head Master' is a role (head_teacher), not a level" in text
    assert '[columns.teachers] role = "Designation" and [values.teachers.role] "Head Master" = "head_teacher"' in text
    assert "'PST' is not one of primary, middle, high" in text
    assert "Sr. No" not in text.split("columns found:")[0]  # never suggested
    assert '= "Sr. No"' not in text
    assert not out.exists()


def test_office_workbook_plans_on_the_real_network_with_head_posts_left_out(tmp_path):
    p = plan(Scenario(schools=OFFICE, teachers=OFFICE, policy=EMIS / "office_policy.toml", travel=TravelSource(network_path=str(PBF)), cache_dir=False))
    t = p.inputs.teachers
    heads = t[t["role"] == "head_teacher"]
    assert len(heads) == 25  # one Head Master or Head Mistress per school
    assert set(t.loc[t["role"] == "teacher", "level"]) == {"primary", "middle", "high"}
    assert (heads["level"] != "").all()  # a head post takes its school's level
    a = p.assignments
    ha = a[a["role"] == "head_teacher"]
    assert (ha["status"] == "not_placed").all()
    # each head teacher is listed as supporting the cluster(s) their school's teachers are in
    placed = a[a["status"] == "placed"]
    for r in ha.itertuples():
        mine = sorted(set(placed.loc[placed["school_id"] == r.school_id, "cluster_id"]))
        if mine:
            assert r.reason.startswith("head teacher: supports cluster") and all(c in r.reason for c in mine), r.reason
    assert not placed.empty and placed["travel_minutes"].max() > 1.0
    out = tmp_path / "plan"
    write_plan(p, out, review=False)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["head_teachers_left_out"] == 25 and s["travel_source"] == "network"
    rep = validate_plan(out)
    assert rep.ok, rep.violations
    assert pd.read_csv(out / "assignments.csv").query("role == 'head_teacher'")["status"].eq("not_placed").all()


def test_a_values_table_for_a_field_no_column_feeds_is_refused(tmp_path):
    text = (EMIS / "office_policy.toml").read_text(encoding="utf-8").replace('role = "Designation"\n', "")
    probs = _problems(text, tmp_path)
    hit = [p for p in probs if "[values.teachers.role] maps codes, but no column of abbottabad_office.xlsx#Staff feeds role" in p]
    assert hit and hit[0].startswith("p.toml, field 'values.teachers.role'") and '[columns.teachers] role = "Header"' in hit[0]


def test_one_header_for_two_fields_is_refused_unless_both_hold_codes(tmp_path):
    text = (EMIS / "office_policy.toml").read_text(encoding="utf-8").replace('teacher_id = "Personnel No"', 'teacher_id = "Institution Code"')
    pol = tmp_path / "p.toml"
    pol.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_policy(pol)
    assert "the header 'Institution Code' is given for both teacher_id and school_id" in str(err.value)
