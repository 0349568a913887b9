"""Reasons for teachers not placed, in the words a district office reads (issue 17 item 3).

Schools on a north-south line; straight-line travel at 5 km/h with detour
factor 1, so 1 km is 12 minutes and every figure is worked by hand.
"""

from __future__ import annotations

import pandas as pd
from pyproj import Geod

from cluster_mapper import Scenario, TravelSource, plan
from cluster_mapper.planning.explain import plural
from tests.conftest import write_policy

GEOD = Geod(ellps="WGS84")
POLICY = 'walking_speed_kmh = 5.0\ndetour_factor = 1.0\ntime_limit_seconds = 10\nmin_teachers = 6\nmax_travel_minutes = 60\nlevels = "mixed"\n'


def _schools(tmp, rows):
    recs = [
        {"school_id": s, "name": f"School {s}", "district": "D", "latitude": GEOD.fwd(73.3, 34.5, 0.0, km * 1000.0)[1], "longitude": 73.3}
        | {"gender": g, "can_host": True, "female_primary": n}
        for s, km, g, n in rows
    ]
    p = tmp / "schools.csv"
    pd.DataFrame(recs).to_csv(p, index=False)
    return p


def test_plural_forms():
    assert plural(1, "female primary teachers") == "1 female primary teacher"
    assert plural(3, "teachers") == "3 teachers" and plural(0, "schools") == "0 schools"


def test_one_teacher_far_from_everyone_gets_singular_words_and_no_cluster_below_three(tmp_path):
    # A: 1 woman, 12 km (144 min) from B and 13 km from C, which have 3 + 3 and meet at B (C is 1 km away: 12 minutes)
    schools = _schools(tmp_path, [("A", 0, "girls", 1), ("B", 12, "girls", 3), ("C", 13, "girls", 3)])
    p = plan(Scenario(schools, TravelSource(straight_line=True), None, write_policy(tmp_path, POLICY)))
    a = p.units.set_index("school_id").loc["A"]
    assert a["status"] == "not_placed"
    assert a["reason"].startswith("1 female teacher: only 1 female teacher within 60 minutes"), a["reason"]
    assert "teacher(s)" not in a["reason"] and "teachers within" not in a["reason"]
    # the venue that would hold them is B at 144 minutes: within what the policy accepts (up to 480), offered after a local edit
    assert a["suggestion"].startswith("a travel_minutes edit from A to B if a shorter way exists (it is 144 minutes")
    assert "max_travel_minutes = 144" in a["suggestion"]
    assert "min_teachers = 1" not in a["suggestion"]  # no cluster of one


def test_a_limit_beyond_what_the_policy_accepts_is_never_suggested(tmp_path):
    # limit 200 (times computed up to 600): A is 45 km (540 minutes) from B: more than the 480 minutes max_travel_minutes accepts
    schools = _schools(tmp_path, [("A", 0, "girls", 2), ("B", 45, "girls", 3), ("C", 46, "girls", 3)])
    p = plan(Scenario(schools, TravelSource(straight_line=True), None, write_policy(tmp_path, POLICY.replace("= 60", "= 200"))))
    a = p.units.set_index("school_id").loc["A"]
    assert a["reason"].startswith("2 female teachers: only 2 female teachers within 200 minutes")
    assert "max_travel_minutes" not in a["suggestion"] and "min_teachers" not in a["suggestion"], a["suggestion"]
    assert a["suggestion"] == "a travel_minutes edit from A to B if a shorter way exists (it is 540 minutes in a straight line)"
