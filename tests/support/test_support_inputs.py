"""The facilitators file and the [support] policy table: every mistake named with file, row, field and fix."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point

from cluster_mapper.errors import InputError
from cluster_mapper.policy.load import load_policy, policy_from_dict
from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.facilitators import load_facilitators

HEADER = "facilitator_id,name,gender,base_school_id,latitude,longitude,levels,subjects,max_clusters,max_teachers,days_per_month,district,travel_mode\n"


@pytest.fixture
def schools():
    return gpd.GeoDataFrame(
        {"school_id": ["S1", "S2"], "name": ["One", "Two"], "district": ["Mansehra", "Mansehra"]},
        geometry=[Point(73.2, 34.3), Point(73.3, 34.4)],
        crs="EPSG:4326",
    )


def write(tmp_path, text, name="facilitators.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems(tmp_path, schools, rows, header=HEADER):
    with pytest.raises(InputError) as e:
        load_facilitators(write(tmp_path, header + rows), schools)
    return [(p.row, p.field, p.message, p.fix) for p in e.value.problems]


def test_good_file(tmp_path, schools):
    fac = load_facilitators(
        write(tmp_path, HEADER + "F1,Ayesha,f,S1,,,primary;middle,Math; science,10,40,16,Mansehra,drive\nF2,Bilal,male,,34.35,73.25,primary,,,,20,,\n"), schools
    )
    a, b = fac.iloc[0], fac.iloc[1]
    assert a["gender"] == "female" and a["levels"] == ("primary", "middle") and a["subjects"] == ("math", "science")
    assert (a["latitude"], a["longitude"]) == (34.3, 73.2) and a["base_school_id"] == "S1"
    assert a["max_clusters"] == 10 and a["max_teachers"] == 40 and a["travel_mode"] == "drive"
    assert b["max_clusters"] is None and b["max_teachers"] is None and b["base_school_id"] == "" and b["latitude"] == 34.35


def test_every_problem_is_reported_with_row_field_and_fix(tmp_path, schools):
    found = problems(
        tmp_path,
        schools,
        "F1,Ayesha,x,S9,,,primary,,10,,16,,\n"  # row 2: gender, unknown school
        "F2,,female,s1,,,secondary,,0,,40,,bike\n"  # row 3: name, near school id, level, max_clusters, days, mode
        "F3,C,male,S1,34.3,73.2,primary,,,,10,,\n"  # row 4: both bases
        "F4,D,male,,73.2,34.3,primary,,,,10,Mansehraa,\n"  # row 5: swapped lat/lon, misspelt district
        "F1,E,male,,,,middle,,,,,,\n",
    )  # row 6: duplicate id, no base, no days
    by = {(r, f) for r, f, *_ in found}
    assert {
        (2, "gender"),
        (2, "base_school_id"),
        (3, "name"),
        (3, "base_school_id"),
        (3, "levels"),
        (3, "max_clusters"),
        (3, "days_per_month"),
        (3, "travel_mode"),
        (4, "base_school_id"),
        (5, "latitude"),
        (5, "district"),
        (6, "facilitator_id"),
        (6, "base_school_id"),
        (6, "days_per_month"),
    } <= by
    msgs = {(r, f): (m, fix) for r, f, m, fix in found}
    assert "differs in case or spaces" in msgs[3, "base_school_id"][0] and "'S1'" in msgs[3, "base_school_id"][1]
    assert "swapped" in msgs[5, "latitude"][0]
    assert msgs[5, "district"][1] == "write 'Mansehra'."
    assert all(fix for *_, fix in found)


def test_missing_columns(tmp_path, schools):
    found = problems(tmp_path, schools, "F1,A,female,S1\n", header="facilitator_id,name,gender,base_school_id\n")
    assert {f for _, f, *_ in found} == {"levels", "max_clusters", "days_per_month"}
    assert all(r == 1 for r, *_ in found)


def test_geojson_with_point_bases(tmp_path, schools):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [73.25, 34.35]},
                "properties": {"facilitator_id": "F1", "name": "A", "gender": "female", "levels": "primary", "max_clusters": 5, "days_per_month": 10},
            }
        ],
    }
    p = write(tmp_path, json.dumps(fc), "f.geojson")
    fac = load_facilitators(p, schools)
    assert (fac.at[0, "latitude"], fac.at[0, "longitude"]) == (34.35, 73.25)


def test_support_policy_defaults_and_errors(tmp_path):
    assert policy_from_dict({}).support == SupportPolicy()
    sp = SupportPolicy()
    assert (sp.meeting_minutes, sp.working_day_minutes, sp.meetings_per_month, sp.same_gender, sp.match_levels) == (180, 480, 1, True, True)
    p = tmp_path / "p.toml"
    p.write_text('[support]\nmeeting_minutes = 600\nmeetings_per_month = 0\nsame_gender = "yes"\nworking_day = 400\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_policy(p)
    got = {(x.row, x.field) for x in e.value.problems}
    assert {(2, "support.meeting_minutes"), (3, "support.meetings_per_month"), (4, "support.same_gender"), (5, "support.working_day")} <= got
    assert any("did you mean 'working_day_minutes'" in x.fix for x in e.value.problems)


def test_support_policy_round_trips_through_the_summary():
    pol = policy_from_dict(
        {
            "subjects_required": ["Math", "science"],
            "support": {"meetings_per_month": 2, "match_subjects": True},
            "districts": {"Bagh": {"subjects_rule": "hard"}},
        }
    )
    assert pol.default.subjects_required == ("math", "science")
    again = policy_from_dict(json.loads(json.dumps(pol.to_dict())))
    assert again.support == pol.support and again.districts == pol.districts and again.default == pol.default
    with pytest.raises(InputError):
        policy_from_dict({"subjects_rule": "sometimes"})
    with pytest.raises(InputError):
        policy_from_dict({"subjects_required": "math"})
