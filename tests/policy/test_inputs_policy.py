"""The policy's settings on reading inputs: [sheets], [columns.*], [values.*], district, elevation."""

from __future__ import annotations

import pytest

from cluster_mapper.errors import InputError
from cluster_mapper.policy.load import load_policy, policy_from_dict
from cluster_mapper.policy.rules import Policy
from cluster_mapper.policy.template import policy_template


def _load(tmp_path, text: str):
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    return load_policy(p)


def test_input_settings_are_typed_and_round_trip(tmp_path):
    (tmp_path / "dem").mkdir()
    pol = _load(
        tmp_path,
        'district = " Abbottabad "\nelevation = ["dem/n34.tif", "/data/n35.tif"]\n\n[sheets]\nteachers = "Staff"\n\n'
        '[columns.schools]\nschool_id = "EMIS Code"\n\n[values.teachers.level]\nPST = "Primary"\n\n'
        '[values.schools.can_host]\nYes = true\nNo = "no"\n',
    )
    assert pol.inputs.district == "Abbottabad"
    assert pol.inputs.sheets == {"teachers": "Staff"}
    assert pol.inputs.columns == {"schools": {"school_id": "EMIS Code"}}
    assert pol.inputs.values == {"teachers": {"level": {"PST": "primary"}}, "schools": {"can_host": {"Yes": "true", "No": "false"}}}
    assert pol.travel.elevation == (str(tmp_path / "dem" / "n34.tif"), "/data/n35.tif")  # relative to the policy file
    again = policy_from_dict(pol.to_dict(), "summary.json")
    assert again.to_dict() == pol.to_dict()
    assert again.inputs == pol.inputs and again.travel == pol.travel


def test_every_problem_in_the_input_tables_names_its_line(tmp_path):
    with pytest.raises(InputError) as err:
        _load(
            tmp_path,
            '[columns.school]\nschool_id = "EMIS"\n\n[columns.teachers]\nteacher_ID = "Personal No"\nschool_id = 5\n\n'
            '[values.teachers.level]\nPST = "prim"\npst = "primary"\n\n[values.teachers.subject]\nMaths = "math"\n\n'
            '[districts.Oghi]\nelevation = ["x.tif"]\ndistrict = "Oghi"\n',
        )
    got = [str(p) for p in err.value.problems]
    assert got == [
        "policy.toml, line 1, field 'columns.school': [columns.school] names no table the tool reads. Fix: did you mean [columns.schools]?",
        "policy.toml, line 5, field 'columns.teachers.teacher_ID': 'teacher_ID' is not a column of the teachers table. Fix: did you mean 'teacher_id'?",
        "policy.toml, line 6, field 'columns.teachers.school_id': columns.teachers.school_id must be the header of a column in the file, not 5. "
        'Fix: write school_id = "Header as in the file" (with quotes).',
        "policy.toml, line 9, field 'values.teachers.level.PST': 'prim' is not a level the tool knows. Fix: map 'PST' to one of primary, middle or high.",
        "policy.toml, line 12, field 'values.teachers.subject': 'subject' is not a column with codes of the teachers table. "
        "Fix: teachers columns with codes are: gender, level, role.",
        "policy.toml, line 16, field 'districts.Oghi.elevation': 'elevation' applies to the whole run and cannot be set for one district. Fix: move 'elevation' to the top of the policy file.",
        "policy.toml, line 17, field 'districts.Oghi.district': 'district' applies to the whole run and cannot be set for one district. Fix: move 'district' to the top of the policy file.",
    ]


def test_duplicate_codes_and_headers_are_refused(tmp_path):
    with pytest.raises(InputError) as err:
        _load(tmp_path, '[columns.schools]\nschool_id = "Code"\nname = " code"\n\n[values.teachers.gender]\nM = "male"\n"m " = "female"\n')
    got = [str(p) for p in err.value.problems]
    assert "line 3, field 'columns.schools.name': the header ' code' is given for both school_id and name." in got[0]
    assert "line 7, field 'values.teachers.gender.m ': the value 'm ' is mapped twice (also as 'M'; case and spaces are ignored)." in got[1]


def test_command_line_overrides_district_and_elevation(tmp_path):
    pol = policy_from_dict({"district": "Oghi", "elevation": ["a.tif"]})
    assert pol.with_overrides() == pol
    o = pol.with_overrides(district="Balakot", elevation=[tmp_path / "b.tif"])
    assert o.inputs.district == "Balakot" and o.travel.elevation == (str(tmp_path / "b.tif"),)
    assert o.to_dict()["district"] == "Balakot"


def test_template_reads_back_as_the_defaults():
    import tomllib

    assert policy_from_dict(tomllib.loads(policy_template())).to_dict() == Policy().to_dict()
