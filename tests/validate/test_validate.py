"""The validator passes real plans and catches every kind of broken plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cluster_mapper import Scenario, TravelSource, plan
from cluster_mapper._files import write_csv
from cluster_mapper.folder import write_plan
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.validate.plan import validate_plan
from tests.conftest import write_district, write_policy

POLICY = """
min_teachers = 3
max_teachers = 8
max_schools = 3
max_travel_minutes = 120
gender = "segregated"
levels = "separate"
"""


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validate")
    schools, teachers, _ = write_district(tmp, 24, 11)
    policy = write_policy(tmp, POLICY)
    result = plan(Scenario(schools, TravelSource(straight_line=True), teachers, policy))
    out = tmp / "plan"
    write_plan(result, out)
    assert len(result.clusters) >= 3, "the fixture must have several clusters to break"
    return out


def _broken(plan_dir, tmp_path, change):
    d = tmp_path / "broken"
    shutil.copytree(plan_dir, d)
    a = read_plan_csv(d / "assignments.csv")
    c = read_plan_csv(d / "clusters.csv")
    s = json.loads((d / "summary.json").read_text())
    a, c, s = change(a, c, s)
    write_csv(a, d / "assignments.csv")
    write_csv(c, d / "clusters.csv")
    (d / "summary.json").write_text(json.dumps(s))
    return validate_plan(d)


def test_real_plan_is_valid(plan_dir):
    rep = validate_plan(plan_dir)
    assert rep.ok, rep.violations
    assert rep.checked["teachers"] > 50


def _placed(a):
    return a[a["status"] == "placed"]


def test_dropped_teacher_is_caught(plan_dir, tmp_path):
    rep = _broken(plan_dir, tmp_path, lambda a, c, s: (a.iloc[1:], c, s))
    assert any("missing from the plan" in v for v in rep.violations)


def test_duplicated_teacher_is_caught(plan_dir, tmp_path):
    rep = _broken(plan_dir, tmp_path, lambda a, c, s: (pd.concat([a, a.iloc[[0]]]), c, s))
    assert any("more than once" in v for v in rep.violations)


def test_split_school_is_caught(plan_dir, tmp_path):
    def change(a, c, s):
        p = _placed(a)
        multi = p.groupby(["school_id", "gender", "level"]).filter(lambda g: len(g) >= 2)
        i = multi.index[0]
        other = next(x for x in c["cluster_id"] if x != a.at[i, "cluster_id"])
        a.at[i, "cluster_id"] = other
        a.at[i, "venue_school_id"] = c.set_index("cluster_id").at[other, "venue_school_id"]
        return a, c, s

    rep = _broken(plan_dir, tmp_path, change)
    assert any("split over clusters" in v for v in rep.violations)


def test_travel_over_limit_and_wrong_minutes_are_caught(plan_dir, tmp_path):
    def change(a, c, s):
        p = _placed(a)
        i = p.index[p["travel_minutes"].astype(float) > 1][0]
        a.at[i, "travel_minutes"] = str(float(a.at[i, "travel_minutes"]) + 10)
        return a, c, s

    rep = _broken(plan_dir, tmp_path, change)
    assert any("validator finds" in v for v in rep.violations)


def test_oversize_cluster_and_wrong_venue_are_caught(plan_dir, tmp_path):
    def change(a, c, s):
        p = _placed(a)
        first, second = c["cluster_id"].iloc[0], c["cluster_id"].iloc[1]
        rows = p.index[p["cluster_id"] == second]
        a.loc[rows, "cluster_id"] = first
        a.loc[rows, "venue_school_id"] = c.set_index("cluster_id").at[first, "venue_school_id"]
        return a, c, s

    rep = _broken(plan_dir, tmp_path, change)
    text = " ".join(rep.violations)
    assert "teachers, outside" in text or "schools, more than" in text or "over the" in text
    assert "different clusters" in text


def test_placed_head_teacher_and_missing_reason_are_caught(plan_dir, tmp_path):
    def change(a, c, s):
        heads = a.index[a["role"] == "head_teacher"]
        a.at[heads[0], "status"] = "placed"
        a.at[heads[0], "cluster_id"] = c["cluster_id"].iloc[0]
        a.at[heads[0], "venue_school_id"] = c["venue_school_id"].iloc[0]
        a.at[heads[0], "travel_minutes"] = "0"
        nonplaced = a.index[(a["status"] == "not_placed")]
        a.at[nonplaced[-1], "reason"] = ""
        return a, c, s

    rep = _broken(plan_dir, tmp_path, change)
    text = " ".join(rep.violations)
    assert "head teacher" in text
    assert "no reason" in text


def test_bound_above_objective_is_caught(plan_dir, tmp_path):
    def change(a, c, s):
        s["lower_bound"] = s["objective"] + 5
        return a, c, s

    rep = _broken(plan_dir, tmp_path, change)
    assert any("lower bound" in v for v in rep.violations)


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_plans_on_a_real_osm_network_validate(tmp_path, mode):
    """Real Oakland/Piedmont streets: the validator's own travel times agree with the plan's."""
    import numpy as np

    from cluster_mapper.policy.rules import TravelPolicy
    from cluster_mapper.travel.network import load_network

    osm = Path(__file__).parents[1] / "data" / "osm" / "overpass-response-7.json.gz"
    G = load_network(osm, TravelPolicy(travel_mode=mode))
    rng = np.random.default_rng(3)
    nodes = list(G.nodes)
    rows = []
    for k, i in enumerate(rng.choice(len(nodes), 50, replace=False)):
        n = nodes[i]
        rows.append(
            {
                "school_id": f"P{k:02d}",
                "name": f"Piedmont {k}",
                "district": "Alameda",
                "latitude": G.nodes[n]["y"] + rng.normal(0, 2e-4),
                "longitude": G.nodes[n]["x"] + rng.normal(0, 2e-4),
                "gender": "mixed",
                "teachers": int(rng.integers(1, 6)),
            }
        )
    schools = tmp_path / "schools.csv"
    pd.DataFrame(rows).to_csv(schools, index=False)
    limit = 15 if mode == "walk" else 4
    policy = write_policy(tmp_path, f'min_teachers = 4\nmax_travel_minutes = {limit}\ngender = "mixed"\nlevels = "mixed"\ntravel_mode = "{mode}"\n')
    result = plan(Scenario(schools, TravelSource(network_path=str(osm)), None, policy, cache_dir=False))
    write_plan(result, tmp_path / "plan", review=False)
    assert result.units["travel_minutes"].max() > 0.5, "some members travel, so the check is not trivial"
    rep = validate_plan(tmp_path / "plan")
    assert rep.ok, rep.violations


def test_venue_searches_stop_at_a_radius_but_times_stay_exact():
    """Each venue's search stops at twice the longest limit; members beyond it get an exact search of their own."""
    import math

    import geopandas as gpd
    import numpy as np

    from cluster_mapper.policy.load import policy_from_dict
    from cluster_mapper.policy.rules import TravelPolicy
    from cluster_mapper.travel.network import load_network
    from cluster_mapper.validate.plan import _TravelCheck

    osm = Path(__file__).parents[1] / "data" / "osm" / "overpass-response-7.json.gz"
    G = load_network(osm, TravelPolicy(travel_mode="walk"))
    rng = np.random.default_rng(5)
    nodes = [list(G.nodes)[i] for i in rng.choice(G.number_of_nodes(), 12, replace=False)]
    schools = gpd.GeoDataFrame(
        {"school_id": [f"S{k}" for k in range(len(nodes))]},
        geometry=gpd.points_from_xy([G.nodes[n]["x"] for n in nodes], [G.nodes[n]["y"] for n in nodes]),
        crs="EPSG:4326",
    )
    summary = {"travel": {"source": "network", "network_path": str(osm)}}
    near = _TravelCheck(summary, schools, policy_from_dict({"max_travel_minutes": 2}))
    assert near.radius == 4.0
    full = _TravelCheck(summary, schools, policy_from_dict({"max_travel_minutes": 2}))
    full.radius = None  # the whole network from every venue
    ids = list(schools["school_id"])
    a = np.array([[near.minutes(m, v) for v in ids] for m in ids])
    b = np.array([[full.minutes(m, v) for v in ids] for m in ids])
    assert np.array_equal(a, b)
    assert np.isfinite(a).any() and (a[np.isfinite(a)] > 4.0).any(), "some members lie beyond the venues' searches"
    assert not any(math.isnan(x) for x in a.ravel())


# -- the validator trusts nothing: the inputs as they are now, and every "not placed" reason against the rules


def _unplace(a, c, s, rows, reason):
    """Mark ``rows`` of assignments not placed with ``reason``; clusters.csv and the summary made to agree, as a tamperer would."""
    n = a.loc[rows, "n_teachers"].astype(int)
    minutes = a.loc[rows, "travel_minutes"].astype(float)
    a.loc[rows, ["status", "cluster_id", "venue_school_id", "travel_minutes", "reason"]] = ["not_placed", "", "", "", reason]
    p = _placed(a)
    counts = p.groupby("cluster_id").agg(n=("n_teachers", lambda x: int(x.astype(int).sum())), k=("school_id", "nunique"))
    c = c[c["cluster_id"].isin(counts.index)].copy()
    c["n_teachers"] = c["cluster_id"].map(counts["n"]).astype(str)
    c["n_schools"] = c["cluster_id"].map(counts["k"]).astype(str)
    s["teachers_placed"] = int(s["teachers_placed"]) - int(n.sum())
    s["teachers_not_placed"] = int(s["teachers_not_placed"]) + int(n.sum())
    s["clusters"] = len(c)
    s["objective"] = float(s["objective"]) - float((minutes * n).sum())
    return a, c, s


def test_dissolved_cluster_with_made_up_reason_is_caught(plan_dir, tmp_path):
    def change(a, c, s):
        cid = c["cluster_id"].iloc[0]
        return _unplace(
            a,
            c,
            s,
            a.index[a["cluster_id"] == cid],
            "every cluster within 120 minutes is full (8 teachers or 3 schools) and the rest are too few to form another",
        )

    rep = _broken(plan_dir, tmp_path, change)
    assert rep.violations
    assert all("could form a cluster" in v or "has room" in v for v in rep.violations), rep.violations


def test_full_reason_with_room_in_reach_is_caught(plan_dir, tmp_path):
    def change(a, c, s):
        p = _placed(a)
        for _cid, g in p.groupby("cluster_id"):
            per_school = g.groupby("school_id")["n_teachers"].apply(lambda x: int(x.astype(int).sum()))
            movable = [sid for sid, k in per_school.items() if sid != g["venue_school_id"].iloc[0] and per_school.sum() - k >= 3]
            if movable:
                rows = g.index[g["school_id"] == movable[0]]
                return _unplace(a, c, s, rows, "every cluster within 120 minutes is full (8 teachers or 3 schools) and the rest are too few to form another")
        raise AssertionError("the fixture needs a cluster a school can leave")

    rep = _broken(plan_dir, tmp_path, change)
    assert any("has room" in v for v in rep.violations), rep.violations


def test_reason_quoting_another_rule_is_caught(plan_dir, tmp_path):
    def change(a, c, s):
        cid = c["cluster_id"].iloc[0]
        return _unplace(
            a,
            c,
            s,
            a.index[a["cluster_id"] == cid],
            "only 2 female primary teachers within 120 minutes of any girls' or mixed school that can host (a cluster needs 9)",
        )

    rep = _broken(plan_dir, tmp_path, change)
    assert any("quotes 9 but the policy's min_teachers is 3" in v for v in rep.violations), rep.violations


def test_roster_changed_after_planning_is_caught(tmp_path):
    corpus = Path(__file__).parents[1] / "bad_inputs"
    for name in ("good_schools.csv", "good_roster.csv", "good_policy.toml"):
        shutil.copy(corpus / name, tmp_path / name)
    result = plan(Scenario(tmp_path / "good_schools.csv", TravelSource(straight_line=True), tmp_path / "good_roster.csv", tmp_path / "good_policy.toml"))
    out = tmp_path / "plan"
    write_plan(result, out, review=False)
    assert validate_plan(out).ok
    roster = pd.read_csv(tmp_path / "good_roster.csv", dtype=str)
    i = roster.index[roster["gender"] == "male"][0]
    roster.at[i, "gender"] = "female"  # a teacher's gender corrected after planning
    roster.to_csv(tmp_path / "good_roster.csv", index=False)
    rep = validate_plan(out)
    assert any(v.startswith("the roster changed after planning") and "re-plan, or validate against the recorded files" in v for v in rep.violations)
    assert f"teacher {roster.at[i, 'teacher_id']} is planned as gender male but the roster says female" in rep.violations
