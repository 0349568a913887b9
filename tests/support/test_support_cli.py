"""The support step as a user runs it: plan --facilitators, support PLAN_DIR, validate; each travel source."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster_mapper.cli import app
from tests.conftest import write_district

runner = CliRunner()


def facilitators_csv(path, schools_csv, rows=None, drive=False):
    """Two women and two men based at the district's first host schools; one man by coordinates."""
    s = pd.read_csv(schools_csv)
    girls = s[s["gender"].isin(["girls", "mixed"])].iloc[:2]
    boys = s[s["gender"].isin(["boys", "mixed"])].iloc[:2]
    default = [
        {"facilitator_id": "W1", "name": "Woman one", "gender": "female", "base_school_id": girls.iloc[0]["school_id"]},
        {"facilitator_id": "W2", "name": "Woman two", "gender": "female", "base_school_id": girls.iloc[1]["school_id"]},
        {"facilitator_id": "M1", "name": "Man one", "gender": "male", "base_school_id": boys.iloc[0]["school_id"], "travel_mode": "drive" if drive else ""},
        {"facilitator_id": "M2", "name": "Man two", "gender": "male", "latitude": boys.iloc[1]["latitude"] + 0.001, "longitude": boys.iloc[1]["longitude"]},
    ]
    df = pd.DataFrame(rows or default)
    for c, v in {
        "levels": "primary;middle;high",
        "max_clusters": 30,
        "days_per_month": 20,
        "base_school_id": "",
        "latitude": "",
        "longitude": "",
        "travel_mode": "",
    }.items():
        if c not in df.columns:
            df[c] = v
        df[c] = df[c].astype(object).fillna(v)
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    d = tmp_path_factory.mktemp("district")
    schools, teachers, _ = write_district(d, 40, seed=5)
    return d, schools, teachers


def test_plan_with_facilitators_then_support_again(district, tmp_path):
    _d, schools, teachers = district
    fac = facilitators_csv(tmp_path / "fac.csv", schools)
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--schools", str(schools), "--teachers", str(teachers), "--straight-line", "--facilitators", str(fac), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Support written to" in res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["support"]["clusters"] == s["clusters"] and s["inputs"]["facilitators"].endswith("fac.csv")
    assert "facilitators" in s["input_sha256"]
    assert (out / "gpx" / "M2.gpx").is_file() and "Facilitator W1" in (out / "report.html").read_text(encoding="utf-8")
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 facilitators" in res.output

    # support again with one woman fewer: clusters untouched, support replaced, still valid
    before = (out / "assignments.csv").read_bytes()
    fewer = facilitators_csv(tmp_path / "fewer.csv", schools)
    pd.read_csv(fewer).query("facilitator_id != 'W2'").to_csv(fewer, index=False)
    res = runner.invoke(app, ["support", str(out), "--facilitators", str(fewer)])
    assert res.exit_code == 0, res.output
    assert (out / "assignments.csv").read_bytes() == before
    assert not (out / "gpx" / "W2.gpx").exists()
    s2 = json.loads((out / "summary.json").read_text())
    assert s2["support"]["facilitators"] == 3 and s2["inputs"]["facilitators"].endswith("fewer.csv")
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    # the review of a saved plan draws its support again, routes read back from the GPX files
    (out / "map.html").unlink()
    res = runner.invoke(app, ["map", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Facilitators (3)" in html and '["W1",' in html and '["W2",' not in html


def test_bad_facilitators_file_stops_before_writing(district, tmp_path):
    _d, schools, teachers = district
    bad = tmp_path / "bad.csv"
    bad.write_text("facilitator_id,name,gender,base_school_id,levels,max_clusters,days_per_month\nF1,A,female,NOPE,primary,5,40\n", encoding="utf-8")
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--schools", str(schools), "--teachers", str(teachers), "--straight-line", "--facilitators", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "bad.csv, row 2, field 'base_school_id'" in res.output and "bad.csv, row 2, field 'days_per_month'" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_matrix_travel_with_a_shortcut_and_coordinates_refused(district, tmp_path):
    _d, schools, teachers = district
    times = tmp_path / "times.csv"
    res = runner.invoke(app, ["travel-times", "--schools", str(schools), "--straight-line", "--out", str(times)])
    assert res.exit_code == 0, res.output
    m = pd.read_csv(times)
    # one pair made slow: going through a third school is quicker, and both planner and validator must see that
    i = m.index[(m["from_school_id"] != m["to_school_id"])][3]
    m.loc[i, "minutes"] = m.loc[i, "minutes"] * 10 + 100
    m.to_csv(times, index=False)
    fac = facilitators_csv(tmp_path / "fac.csv", schools)
    out = tmp_path / "plan"
    args = ["plan", "--schools", str(schools), "--teachers", str(teachers), "--travel-matrix", str(times), "--out", str(out), "--no-review"]
    res = runner.invoke(app, [*args, "--facilitators", str(fac)])
    assert res.exit_code == 2 and "cannot be used with a travel-time matrix" in res.output and "M2" in res.output
    only_schools = pd.read_csv(fac).query("facilitator_id != 'M2'")
    only_schools.to_csv(fac, index=False)
    res = runner.invoke(app, [*args, "--facilitators", str(fac)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output


def test_network_with_walking_and_driving_facilitators(tmp_path):
    schools, teachers, dist = write_district(tmp_path, 40, seed=11, with_network=True)
    import osmnx as ox

    net = tmp_path / "roads.graphml"
    ox.save_graphml(dist.graph, net)
    fac = facilitators_csv(tmp_path / "fac.csv", schools, drive=True)
    out = tmp_path / "plan"
    res = runner.invoke(
        app,
        ["plan", "--schools", str(schools), "--teachers", str(teachers), "--network", str(net), "--facilitators", str(fac), "--out", str(out), "--no-review"],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())["support"]
    assert s["travel_source"] == "network" and s["clusters_supported"] > 0


def test_support_help():
    res = runner.invoke(app, ["support", "--help"])
    assert res.exit_code == 0 and "--facilitators" in res.output
