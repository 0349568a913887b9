"""Rules from the field on small districts worked out by hand.

Schools sit on a north-south line at exact geodesic distances; with
straight-line travel, detour factor 1 and 5 km/h, 1 km is 12 minutes, so
every travel time below can be checked by hand.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pyproj import Geod

from cluster_mapper import Scenario, TravelSource, plan
from cluster_mapper.folder import write_plan
from cluster_mapper.validate.plan import validate_plan
from tests.conftest import write_policy

GEOD = Geod(ellps="WGS84")


def _lat(km: float) -> float:
    """Latitude ``km`` kilometres north of (34.5 N, 73.3 E) along the meridian."""
    return GEOD.fwd(73.3, 34.5, 0.0, km * 1000.0)[1]


def _schools(tmp, rows, name="schools.csv"):
    """rows: (school_id, km north, gender, can_host, counts dict)."""
    recs = []
    for sid, km, gender, host, counts in rows:
        rec = {"school_id": sid, "name": f"School {sid}", "district": "D", "latitude": _lat(km), "longitude": 73.3, "gender": gender, "can_host": host}
        for c in ("female_primary", "male_primary", "female_middle", "male_middle"):
            rec[c] = counts.get(c, 0)
        recs.append(rec)
    p = tmp / name
    pd.DataFrame(recs).to_csv(p, index=False)
    return p


BASE = """
walking_speed_kmh = 5.0
detour_factor = 1.0
time_limit_seconds = 10
"""


def _plan(tmp, schools, policy_text, teachers=None):
    pol = write_policy(tmp, BASE + policy_text)
    result = plan(Scenario(schools, TravelSource(straight_line=True), teachers, pol))
    out = tmp / "plan"
    write_plan(result, out)
    rep = validate_plan(out)
    assert rep.ok, rep.violations
    return result, json.loads((out / "summary.json").read_text())


def test_too_few_women_within_reach_gets_reason_and_working_suggestion(tmp_path):
    schools = _schools(
        tmp_path,
        [
            ("A", 0, "girls", True, {"female_primary": 3}),
            ("B", 2, "girls", True, {"female_primary": 2}),
            ("C", 8, "girls", True, {"female_primary": 4}),
        ],
    )
    plan, summary = _plan(tmp_path, schools, "min_teachers = 6\nmax_travel_minutes = 60\n")
    assert summary["teachers_placed"] == 0
    a = plan.units.set_index("school_id").loc["A"]
    assert a["status"] == "not_placed"
    # by hand: venue A reaches A+B = 5 teachers within 60 minutes; venue B likewise; C alone has 4
    assert "only 5 female primary teachers within 60 minutes" in a["reason"]
    # the smallest limit that gives A six peers: venue B with C at 6 km = 72 minutes
    assert "max_travel_minutes = 72" in a["suggestion"]
    assert "min_teachers = 5" in a["suggestion"]
    # and that change does place everyone, at venue B (cheapest: 3*24 + 4*72 = 360 teacher-minutes)
    plan2, s2 = _plan(tmp_path, schools, "min_teachers = 6\nmax_travel_minutes = 72.5\n")
    assert s2["teachers_placed"] == 9
    assert plan2.clusters["venue_school_id"].tolist() == ["B"]
    assert s2["objective"] == pytest.approx(3 * 24 + 4 * 72, rel=2e-3)


def test_women_cluster_never_meets_at_boys_school(tmp_path):
    # the boys' school is central but may not host the women's cluster
    schools = _schools(
        tmp_path,
        [
            ("G1", 0, "girls", True, {"female_primary": 3}),
            ("M", 2, "boys", True, {"male_primary": 6, "female_primary": 1}),
            ("G2", 4, "mixed", True, {"female_primary": 3, "male_primary": 0}),
        ],
    )
    plan, _ = _plan(tmp_path, schools, 'min_teachers = 6\nmax_travel_minutes = 60\ngender = "segregated"\n')
    women = plan.clusters[plan.clusters["gender_group"] == "female"]
    assert len(women) == 1
    assert women["venue_school_id"].iloc[0] in {"G1", "G2"}
    assert women["n_teachers"].iloc[0] == 7
    # mixed gender, clusters of 8+: all 13 together, and the boys' school is the cheapest venue
    # (3*24 + 3*24 = 144 teacher-minutes, against 7*24 + 3*48 = 312 at G1)
    plan2, _ = _plan(tmp_path, schools, 'min_teachers = 8\nmax_teachers = 13\nmax_travel_minutes = 60\ngender = "mixed"\n')
    assert plan2.clusters["venue_school_id"].tolist() == ["M"]
    assert plan2.clusters["n_teachers"].tolist() == [13]


def test_separate_levels_split_a_school_mixed_levels_keep_it(tmp_path):
    schools = _schools(
        tmp_path,
        [
            ("S1", 0, "girls", True, {"female_primary": 4, "female_middle": 3}),
            ("S2", 1, "girls", True, {"female_primary": 3, "female_middle": 3}),
        ],
    )
    plan, _ = _plan(tmp_path, schools, 'min_teachers = 6\nlevels = "separate"\n')
    assert sorted(plan.clusters["level_group"]) == ["middle", "primary"]
    assert len(plan.units) == 4
    plan2, _ = _plan(tmp_path, schools, 'min_teachers = 8\nmax_teachers = 13\nlevels = "mixed"\n')
    assert len(plan2.units) == 2
    assert plan2.clusters["n_teachers"].tolist() == [13]


def test_school_larger_than_a_cluster_is_explained(tmp_path):
    schools = _schools(tmp_path, [("BIG", 0, "boys", True, {"male_primary": 14})])
    plan, _ = _plan(tmp_path, schools, "max_teachers = 12\n")
    u = plan.units.iloc[0]
    assert u["status"] == "not_placed"
    assert "more than the cluster maximum of 12" in u["reason"]
    assert "max_teachers = 14" in u["suggestion"]


def test_impossible_policy_gives_a_plan_of_reasons(tmp_path):
    schools = _schools(
        tmp_path,
        [
            ("A", 0, "boys", False, {"male_primary": 4}),
            ("B", 1, "boys", False, {"male_primary": 4}),
        ],
    )
    plan, summary = _plan(tmp_path, schools, "min_teachers = 6\n")
    assert summary["teachers_placed"] == 0
    assert summary["teachers_not_placed"] == 8
    assert all("no boys' or mixed school that can host" in r for r in plan.units["reason"])


def test_fixed_number_of_clusters(tmp_path):
    rows = [(f"S{i}", i * 0.5, "mixed", True, {"female_primary": 2, "male_primary": 2}) for i in range(9)]
    schools = _schools(tmp_path, rows)
    plan, summary = _plan(tmp_path, schools, 'gender = "mixed"\nmin_teachers = 4\nmax_teachers = 12\nn_clusters = 3\n')
    assert len(plan.clusters) == 3
    assert summary["teachers_placed"] == 36
    # impossible: 36 teachers cannot fit in 2 clusters of 12 -> as many as fit are placed
    plan2, s2 = _plan(tmp_path, schools, 'gender = "mixed"\nmin_teachers = 4\nmax_teachers = 12\nn_clusters = 2\n')
    assert len(plan2.clusters) == 2
    assert s2["teachers_placed"] == 24
    assert all("clusters have no room" in r for r in plan2.units.loc[plan2.units["status"] != "placed", "reason"])


def test_head_teachers_left_out_unless_included(tmp_path):
    schools = _schools(tmp_path, [("A", 0, "boys", True, {}), ("B", 1, "boys", True, {})])
    roster = tmp_path / "roster.csv"
    pd.DataFrame(
        [(f"A{i}", "A", "male", "primary", "teacher") for i in range(3)]
        + [(f"B{i}", "B", "male", "primary", "teacher") for i in range(2)]
        + [("HA", "A", "male", "primary", "head_teacher"), ("HB", "B", "male", "primary", "head_teacher")],
        columns=["teacher_id", "school_id", "gender", "level", "role"],
    ).to_csv(roster, index=False)
    plan, s = _plan(tmp_path, schools, "min_teachers = 5\n", teachers=roster)
    assert s["teachers_placed"] == 5 and s["head_teachers_left_out"] == 2
    heads = plan.teachers.set_index("teacher_id").loc[["HA", "HB"]]
    assert (heads["status"] == "not_placed").all() and heads["reason"].str.contains("head teacher").all()
    plan2, s2 = _plan(tmp_path, schools, "min_teachers = 5\ninclude_head_teachers = true\n", teachers=roster)
    assert s2["teachers_placed"] == 7
