"""The support step on the bundled Mansehra sample and its generated facilitators (done-when of issue 9)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.sample import sample_paths
from tests.fixtures.review_fixtures import browser  # noqa: F401

ITINERARY_COLUMNS = [
    "facilitator_id",
    "day",
    "date",
    "stop",
    "kind",
    "cluster_id",
    "school_id",
    "school_name",
    "latitude",
    "longitude",
    "arrive_minute",
    "leave_minute",
    "start_time",
    "end_time",
]


def sample_facilitators() -> Path:
    return sample_paths()["facilitators"]


@pytest.fixture(scope="module")
def supported(tmp_path_factory) -> Path:
    """The sample planned with its facilitators, written once for the module."""
    from cluster_mapper import Scenario, plan, write_plan

    out = tmp_path_factory.mktemp("support") / "plan"
    write_plan(plan(Scenario.sample(facilitators=sample_facilitators())), out)
    return out


def test_sample_facilitators_file_is_generated_ttos():
    fac = pd.read_csv(sample_facilitators(), dtype=str, keep_default_na=False)
    assert len(fac) >= 20 and (fac["generated"] == "true").all()
    assert fac["name"].str.contains("TTO, generated").all()
    assert set(fac["subjects"]) == {"math", "science", "english"}
    assert set(fac["gender"]) == {"female", "male"}


def test_every_reachable_cluster_is_supported(supported):
    from cluster_mapper import read_plan

    sp = read_plan(supported).support
    fig = sp.figures
    assert fig["clusters_supported"] == fig["clusters_reachable"] > 0.9 * fig["clusters"]
    assert fig["supported_proven_maximal"] and fig["status"] == "optimal"
    assert fig["travel_minutes_month"] <= fig["floor"]["travel_minutes_month"]
    assert fig["travel_lower_bound"] <= fig["travel_minutes_month"] + 1e-6
    unsupported = sp.support[sp.support["facilitator_id"] == ""]
    assert len(unsupported) == fig["clusters_unreachable"]
    assert unsupported["reason"].str.len().gt(0).all() and unsupported["suggestion"].str.contains("based within").all()
    assert not unsupported["reason"].str.startswith("everyone within reach is full").any()
    sizing = sp.sizing
    assert set(sizing["gender"]) == {"female", "male"} and (sizing["fewest_needed"] >= sizing["lower_bound"]).all()


def test_files_have_the_issue_columns(supported):
    sup = read_plan_csv(supported / "support.csv")
    assert list(sup.columns) == ["cluster_id", "facilitator_id", "reason", "suggestion"]
    it = read_plan_csv(supported / "itineraries.csv")
    assert list(it.columns) == ITINERARY_COLUMNS
    for _, day in it.groupby(["facilitator_id", "day"]):
        assert day["kind"].iloc[0] == "base" and day["kind"].iloc[-1] == "base"
        assert day["leave_minute"].iloc[0] == "0.0" and day["arrive_minute"].iloc[0] == ""
        assert day["arrive_minute"].iloc[-1] != "" and day["leave_minute"].iloc[-1] == ""
        assert list(day["stop"].astype(int)) == list(range(len(day)))


def test_validator_checks_the_support_files(supported):
    from cluster_mapper import validate_plan

    rep = validate_plan(supported)
    assert rep.ok, rep.violations[:10]
    assert rep.checked["facilitators"] == len(pd.read_csv(sample_facilitators()))
    assert rep.checked["facilitator_days"] > 100


def test_validator_catches_broken_support_files(supported, tmp_path):
    from cluster_mapper import validate_plan

    bad = tmp_path / "bad"
    shutil.copytree(supported, bad)
    it = pd.read_csv(bad / "itineraries.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    first_meeting = it.index[it["kind"] == "meeting"][0]
    it.loc[first_meeting, "leave_minute"] = str(float(it.loc[first_meeting, "leave_minute"]) - 60)  # a short meeting
    last = it.index[(it["facilitator_id"] == it.at[first_meeting, "facilitator_id"]) & (it["day"] == it.at[first_meeting, "day"])][-1]
    it.loc[last, "arrive_minute"] = "900"  # back long after the working day
    it.to_csv(bad / "itineraries.csv", index=False, encoding="utf-8-sig")
    sup = pd.read_csv(bad / "support.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    fac = pd.read_csv(sample_facilitators(), dtype=str)
    women = set(fac.loc[fac["gender"] == "female", "facilitator_id"])
    man = fac.loc[fac["gender"] == "male", "facilitator_id"].iloc[0]
    row = sup.index[sup["facilitator_id"].isin(women)][0]
    sup.loc[row, "facilitator_id"] = man  # a man for a women's cluster
    sup.to_csv(bad / "support.csv", index=False, encoding="utf-8-sig")
    rep = validate_plan(bad)
    text = "\n".join(rep.violations)
    assert "lasts 120 minutes, not 180" in text
    assert "after the 480-minute day" in text
    assert "(same_gender)" in text
    assert "meets with someone other than its facilitator" in text


def test_report_has_facilitator_pages_and_programme(supported):
    html = (supported / "report.html").read_text(encoding="utf-8")
    fac = pd.read_csv(sample_facilitators(), dtype=str)
    for fid in fac["facilitator_id"]:
        assert f"<h2>Facilitator {fid}:" in html
    assert "<h3>Programme: who supports what</h3>" in html
    assert "The month's calendar" in html and "back at base" in html
    assert "Candidate subject leaders: math:" in html
    assert "How many facilitators are needed, and where" in html


def test_map_has_one_facilitators_layer_off_by_default_with_a_picker(supported):
    html = (supported / "map.html").read_text(encoding="utf-8")
    fac = pd.read_csv(sample_facilitators(), dtype=str)
    assert f"Facilitators ({len(fac)}): pick one on the map; squares are bases" in html
    assert html.count("Facilitator F0") == 0  # no layer per facilitator any more
    for fid in fac["facilitator_id"]:
        assert f'["{fid}",' in html  # in the layer's data, for the picker
    assert "clusterSupportStats" in html and "Clusters without a facilitator" in html and "cm-fpicker" in html


def test_facilitator_colours_are_distinct():
    from cluster_mapper.review.support_pages import facilitator_colours

    for n in (1, 8, 30, 120):
        assert len(set(facilitator_colours(n))) == n


def test_gpx_files_parse_and_follow_the_roads(supported):
    import gpxpy

    it = read_plan_csv(supported / "itineraries.csv")
    days = it.groupby("facilitator_id")["day"].nunique()
    files = sorted((supported / "gpx").glob("*.gpx"))
    assert len(files) == len(pd.read_csv(sample_facilitators()))
    points = 0
    for p in files:
        g = gpxpy.parse(p.read_text(encoding="utf-8"))
        fid = p.stem
        assert len(g.routes) == days.get(fid, 0)
        assert any(w.name.startswith(f"Base of {fid}") for w in g.waypoints)
        assert all(len(r.points) >= 1 for r in g.routes)  # one point: a day whose meetings are at the base school
        points += sum(len(r.points) for r in g.routes)
    assert points > 5 * len(it)  # along the roads: many more points than stops


def test_support_map_renders_offline_in_a_browser(browser, supported, tmp_path):  # noqa: F811 - the fixture
    browser.open((supported / "map.html").as_uri())
    browser.drain(0.5)
    assert [u for u in browser.requested_urls() if not u.startswith(("file:", "data:", "about:", "blob:"))] == []
    assert browser.errors() == []
    stats = browser.evaluate("window.clusterSupportStats")
    assert stats["facilitators"] == len(pd.read_csv(sample_facilitators()))
    assert stats["unsupported"] == read_plan_csv(supported / "support.csv")["facilitator_id"].eq("").sum()
    assert browser.evaluate("document.querySelectorAll('.cm-fbase').length") == 0  # the facilitators layer is off by default
    browser.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".find(l => l.textContent.includes('Facilitators (')).querySelector('input').click()"
    )
    browser.drain(0.3)
    assert browser.evaluate("document.querySelectorAll('path.cm-froute').length") > 100
    assert browser.evaluate("document.querySelectorAll('.cm-fbase').length") == stats["facilitators"]
    browser.evaluate("(() => { const s = document.querySelector('.cm-fpicker select'); s.value = '0'; s.dispatchEvent(new Event('change')); })()")
    browser.drain(0.3)
    assert browser.evaluate("document.querySelectorAll('.cm-fbase').length") == 1  # the picker shows one facilitator
    browser.screenshot(tmp_path / "support_map.png")
