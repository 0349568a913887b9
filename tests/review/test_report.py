"""The printable plan report."""

from __future__ import annotations

import base64
import re

from cluster_mapper.folder import read_plan
from tests.fixtures.review_fixtures import XSS_NAMES, sample_plan, xss_plan  # noqa: F401


def test_report_has_summary_districts_clusters_and_not_placed(sample_plan):
    html = (sample_plan / "report.html").read_text(encoding="utf-8")
    pf = read_plan(sample_plan)
    s = pf.summary
    assert "<h2>Summary</h2>" in html
    for text in ("Teachers placed", "Teachers not placed", "Objective", "Lower bound", "Gap", "Travel times", "road network"):
        assert text in html
    assert f"{s['teachers_placed']:,}" in html and f"{s['teachers_not_placed']:,}" in html
    assert "District: Mansehra" in html
    # one block per cluster, naming its venue
    assert html.count("class='cluster'") == len(pf.clusters)
    for cid in pf.clusters["cluster_id"].head(20):
        assert f"Cluster {cid}:" in html
    # every placed teacher is listed in its cluster block, every other teacher in the not-placed table
    a = pf.assignments
    non_head = a[(a["status"] != "placed") & ~a["reason"].str.startswith("head teacher")]
    for tid in list(a.loc[a["status"] == "placed", "teacher_id"].sample(30, random_state=1)) + list(non_head["teacher_id"].head(30)):
        assert tid in html
    assert "why not placed" in html and "smallest change" in html
    assert "generated sample data" in html


def test_report_is_printable_and_self_contained(sample_plan):
    html = (sample_plan / "report.html").read_text(encoding="utf-8")
    assert "@media print" in html and "break-before:page" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html, re.I)
    m = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert m, "the travel histogram is embedded"
    png = base64.b64decode(m.group(1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_names_with_markup_are_text_in_the_report(xss_plan):
    html = (xss_plan / "report.html").read_text(encoding="utf-8")
    for name in XSS_NAMES + ["<script>alert(3)</script>Far", "<b>School</b>", "<i>00</i>", "<u>1</u>"]:
        assert name not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "D&lt;u&gt;1&lt;/u&gt;" in html
    assert "<script" not in html.lower()


def test_straight_line_travel_is_announced_in_the_report(xss_plan):
    html = (xss_plan / "report.html").read_text(encoding="utf-8")
    assert "STRAIGHT-LINE" in html and "not travel on roads" in html


def test_histogram_with_an_absurd_travel_limit_is_drawn():
    """max_travel_minutes = 1e300 (no real limit) must not stop the report (np.arange up to the limit did)."""
    import numpy as np

    from cluster_mapper.review.report import travel_histogram_png

    png = travel_histogram_png(np.array([3.0, 25.0, 40.0]), np.array([2.0, 1.0, 1.0]), 1e300)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_names_beside_ids_when_the_plan_has_them(xss_plan, tmp_path):
    """With ``teacher_name`` and ``school_name`` in assignments.csv, the report's rosters and the map's popups show names beside ids."""
    import shutil

    from cluster_mapper._files import read_plan_csv, write_csv
    from cluster_mapper.review.map import plan_payload
    from cluster_mapper.review.report import build_report

    d = tmp_path / "plan"
    shutil.copytree(xss_plan, d)
    a = read_plan_csv(d / "assignments.csv")
    a["teacher_name"] = [f"Teacher {t} Bibi" if k % 2 == 0 else "" for k, t in enumerate(a["teacher_id"])]  # some rows without a name
    a["school_name"] = "School of " + a["school_id"]
    write_csv(a, d / "assignments.csv")
    pf = read_plan(d)
    page = build_report(pf)
    placed = a[(a["status"] == "placed") & (a["teacher_name"] != "")].iloc[0]
    unnamed = a[(a["status"] == "placed") & (a["teacher_name"] == "")].iloc[0]
    assert f"Teacher {placed['teacher_id']} Bibi ({placed['teacher_id']})" in page
    assert unnamed["teacher_id"] in page and f"({unnamed['teacher_id']})" not in page.replace(f"Bibi ({unnamed['teacher_id']})", "")
    assert "teachers (names and ids)" in page
    lost = a[(a["status"] != "placed") & (a["teacher_name"] != "")].iloc[0]
    assert f"Teacher {lost['teacher_id']} Bibi ({lost['teacher_id']})" in page, "not-placed teachers are named too"
    p = plan_payload(pf)
    member_names = " ".join(m[3] for c in p["c"] for m in c[8])
    assert f"Teacher {placed['teacher_id']} Bibi ({placed['teacher_id']})" in member_names
    np_names = " ".join(d[4] for n in p["np"] for d in n[2])
    assert f"Teacher {lost['teacher_id']} Bibi ({lost['teacher_id']})" in np_names
    # a plan without the columns still reports ids alone
    write_csv(a.drop(columns=["teacher_name", "school_name"]), d / "assignments.csv")
    plain = build_report(read_plan(d))
    assert "teachers (ids)" in plain and "Bibi" not in plain
    assert all(m[3] == "" for c in plan_payload(read_plan(d))["c"] for m in c[8])
