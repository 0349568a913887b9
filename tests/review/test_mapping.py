"""The offline plan map: content, offline-ness, escaping and province scale."""

from __future__ import annotations

import json
import re
import time

import pytest

from cluster_mapper.folder import read_plan
from cluster_mapper.review.html import script_json
from cluster_mapper.review.map import plan_payload, write_map
from tests.fixtures.review_fixtures import XSS_NAMES, make_province_plan, sample_plan, xss_plan  # noqa: F401


def test_sample_map_is_written_by_plan(sample_plan):
    html = (sample_plan / "map.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "L.version" in html or "Leaflet" in html  # Leaflet is inlined
    for label in ("Clusters: Women, primary", "Clusters: Men, primary", "Teachers not placed", "Schools in no cluster", "Road network"):
        assert label in html
    assert "L.control.scale" in html
    assert "OpenStreetMap contributors" in html and "ODbL" in html
    assert "generated" in html


def test_map_loads_nothing_from_outside(sample_plan):
    html = (sample_plan / "map.html").read_text(encoding="utf-8")
    # no external script, stylesheet, image or font reference in the markup
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"@import|url\(\s*[\"']?(https?:)?//", html, re.I)
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn", "fontawesome"):
        assert cdn not in html
    # the only online URL is the optional tile layer, off when the map opens
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    online = {u for u in urls if "openstreetmap.org" in u and "{z}" in u}
    assert online, "the optional OpenStreetMap layer is offered"
    assert re.search(r"OpenStreetMap background \(needs internet\)", html)


def test_every_school_venue_and_not_placed_teacher_is_drawn(sample_plan):
    pf = read_plan(sample_plan)
    p = plan_payload(pf)
    n_schools = int((pf.geodata["kind"] == "school").sum())
    drawn = {m[0] for c in p["c"] for m in c[8]} | set(p["o"])
    assert drawn == set(range(n_schools))
    assert len(p["c"]) == len(pf.clusters) == pf.summary["clusters"]
    assert all(c[3] >= 0 for c in p["c"]), "every cluster has its venue"
    np_total = sum(n[1] for n in p["np"])
    assert np_total == pf.summary["teachers_not_placed"] - pf.summary["head_teachers_left_out"]
    # each not-placed entry carries a reason
    assert all(d[2] for n in p["np"] for d in n[2])
    # one layer per cluster type present in the plan
    types = {(g, lvl) for g, lvl in zip(pf.clusters["gender_group"], pf.clusters["level_group"])}
    assert len(p["types"]) == len(types)


def test_script_json_cannot_close_the_script():
    s = script_json({"a": "</script><script>alert(1)</script><!-- x -->", "b": "\u2028"})
    assert "</" not in s and "<!--" not in s and "<" not in s
    assert json.loads(s) == {"a": "</script><script>alert(1)</script><!-- x -->", "b": "\u2028"}


def test_names_with_markup_are_text_in_the_map(xss_plan):
    html = (xss_plan / "map.html").read_text(encoding="utf-8")
    for name in XSS_NAMES + ["<script>alert(3)</script>Far", "<b>School</b>", "<i>00</i>", "<u>1</u>"]:
        assert name.lower() not in html.lower()
    # the escaped form is what the page receives
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in html
    assert "\\u0026lt;img src=x onerror=alert(2)\\u0026gt;" in html


def test_straight_line_travel_is_announced_on_the_map(xss_plan):
    html = (xss_plan / "map.html").read_text(encoding="utf-8")
    assert "straight-line estimates" in html


def test_province_sized_map_stays_small_and_fast(tmp_path):
    d = make_province_plan(tmp_path / "province")
    t0 = time.time()
    p = write_map(read_plan(d), d)
    seconds = time.time() - t0
    size = p.stat().st_size
    html = p.read_text(encoding="utf-8")
    assert '"canvas":true' in html, "a province-sized plan is drawn on canvas"
    print(f"province map: {size / 1e6:.1f} MB written in {seconds:.1f} s")
    assert size < 15e6
    assert seconds < 60


def _map_command(plan_dir, *, env_extra: dict | None = None, file_size_limit: int | None = None):
    """Run ``cluster-mapper map PLAN`` in its own process (optionally with a file-size limit: a disk that fills up)."""
    import os
    import resource
    import subprocess
    import sys
    from pathlib import Path

    def limit():
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "cluster_mapper", "map", str(plan_dir)],
        cwd=plan_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=300,
    )


def test_map_command_is_atomic_and_the_same_bytes_every_time(xss_plan, tmp_path):
    """`cluster-mapper map` twice gives the same map.html; a disk that fills up while writing leaves the earlier files whole."""
    import shutil

    d = tmp_path / "plan"
    shutil.copytree(xss_plan, d)
    first = _map_command(d, env_extra={"PYTHONHASHSEED": "1"})
    assert first.returncode == 0, first.stderr
    map_bytes, report_bytes = (d / "map.html").read_bytes(), (d / "report.html").read_bytes()
    second = _map_command(d, env_extra={"PYTHONHASHSEED": "2"})
    assert second.returncode == 0, second.stderr
    assert (d / "map.html").read_bytes() == map_bytes, "map.html is byte-identical for the same plan"
    assert (d / "report.html").read_bytes() == report_bytes
    full = _map_command(d, file_size_limit=64_000)  # map.html is far larger: the write fails part way (EFBIG, as a full disk)
    assert full.returncode == 2, full.stdout + full.stderr
    assert "Traceback" not in full.stdout + full.stderr
    assert "could not be written" in " ".join((full.stdout + full.stderr).split())
    assert (d / "map.html").read_bytes() == map_bytes and (d / "report.html").read_bytes() == report_bytes
    assert not [p.name for p in d.iterdir() if p.name.endswith(".tmp")], "no temporary file left behind"
