"""Policy files: defaults from the field, overrides per district, clear errors."""

from __future__ import annotations

import pytest

from cluster_mapper.errors import InputError
from cluster_mapper.policy.load import load_policy
from tests.conftest import write_policy


def test_field_defaults():
    p = load_policy(None)
    d = p.default
    assert (d.min_teachers, d.max_teachers, d.max_schools, d.max_travel_minutes) == (6, 12, 5, 60)
    assert d.gender == "segregated" and d.levels == "separate" and not d.include_head_teachers
    assert p.travel.travel_mode == "walk"


def test_district_override_inherits_defaults(tmp_path):
    p = load_policy(
        write_policy(
            tmp_path,
            """
max_travel_minutes = 45
[districts.Bagh]
gender = "mixed"
n_clusters = 10
""",
        )
    )
    assert p.for_district("Bagh").gender == "mixed"
    assert p.for_district("Bagh").max_travel_minutes == 45
    assert p.for_district("Bagh").n_clusters == 10
    assert p.for_district("Mansehra").gender == "segregated"
    assert p.for_district("Mansehra").n_clusters is None


def test_all_problems_reported_at_once(tmp_path):
    path = write_policy(
        tmp_path,
        """
min_teachers = 8
max_teachers = 4
gender = "women_only"
max_travel_minuts = 60
[districts.Bagh]
travel_mode = "drive"
""",
    )
    with pytest.raises(InputError) as e:
        load_policy(path)
    text = str(e.value)
    assert "larger than max_teachers" in text
    assert "'women_only' is not a valid gender" in text
    assert "did you mean 'max_travel_minutes'" in text
    assert "cannot be set for one district" in text
    assert len(e.value.problems) == 4


def test_toml_syntax_error_names_the_line(tmp_path):
    path = write_policy(tmp_path, "min_teachers = 6\nmax_teachers = = 12\n")
    with pytest.raises(InputError) as e:
        load_policy(path)
    assert e.value.problems[0].row == 2


def test_zero_means_no_limit():
    from cluster_mapper.policy.load import policy_from_dict

    p = policy_from_dict({"max_travel_minutes": 0, "max_schools": 0})
    assert p.default.travel_limit == float("inf")
    assert p.default.school_limit > 10**6


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("max_travel_minutes = 1e300", "max_travel_minutes = 1e+300 is beyond reason: it accepts up to 480 minutes (a working day), or 0 for no limit."),
        ("max_travel_minutes = 1e6", "max_travel_minutes = 1000000.0 is beyond reason"),
        ("max_teachers = 100000", "max_teachers = 100000 is beyond reason: it accepts up to 500 teachers."),
        ("detour_factor = 40", "detour_factor = 40 is beyond reason: it accepts up to 5."),
    ],
)
def test_numbers_beyond_reason_are_refused_with_the_range_the_field_allows(tmp_path, line, words):
    with pytest.raises(InputError) as err:
        load_policy(write_policy(tmp_path, line + "\n"))
    assert words in str(err.value)


def test_zero_still_means_no_travel_limit_and_the_top_of_the_range_is_accepted(tmp_path):
    assert load_policy(write_policy(tmp_path, "max_travel_minutes = 0\n")).default.travel_limit == float("inf")
    assert load_policy(write_policy(tmp_path, "max_travel_minutes = 480\n")).default.travel_limit == 480.0


def test_one_header_may_feed_level_and_role_but_not_two_free_columns(tmp_path):
    pol = load_policy(write_policy(tmp_path, '[columns.teachers]\nlevel = "Designation"\nrole = "Designation"\n'))
    assert pol.inputs.columns["teachers"] == {"level": "Designation", "role": "Designation"}
    with pytest.raises(InputError) as err:
        load_policy(write_policy(tmp_path, '[columns.teachers]\nteacher_id = "No"\nsubject = "No"\n'))
    assert "the header 'No' is given for both teacher_id and subject" in str(err.value)
