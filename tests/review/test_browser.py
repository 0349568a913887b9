"""The map as a person sees it: headless Chromium, network blocked.

Opens map.html files in Debian's chromium over the DevTools protocol (see
``tests/fixtures/review_fixtures.py``), checks that the markers, lines and layers are
in the page, that there are no console errors and that no request leaves the
machine, and saves screenshots into the test's temporary folder. Skipped when
chromium is not installed.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from cluster_mapper.folder import read_plan
from tests.fixtures.review_fixtures import XSS_NAMES, browser, make_province_plan, sample_plan, xss_plan  # noqa: F401

LOCAL = ("file:", "data:", "about:", "blob:")

MAP_VAR = "window[Object.keys(window).find(function(k){return /^map_[0-9a-f]+$/.test(k)})]"


def _assert_offline_and_clean(browser):
    browser.drain(0.5)
    outside = [u for u in browser.requested_urls() if not u.startswith(LOCAL)]
    assert outside == [], f"requests left the machine: {outside[:5]}"
    assert browser.errors() == []


def test_sample_map_renders_offline(browser, sample_plan, tmp_path):
    pf = read_plan(sample_plan)
    seconds = browser.open((sample_plan / "map.html").as_uri())
    _assert_offline_and_clean(browser)
    stats = browser.evaluate("window.clusterMapStats")
    assert stats, "the map script ran"
    n_clusters = len(pf.clusters)
    n_lines = int((pf.geodata["kind"] == "member_line").sum())
    # in the page DOM: a venue marker per cluster, a line per member school, school markers, hulls
    dom = browser.evaluate("""({
        venues: document.querySelectorAll('.leaflet-marker-pane .cm-venue').length,
        schools: document.querySelectorAll('path.cm-school').length,
        lines: document.querySelectorAll('path.cm-line').length,
        hulls: document.querySelectorAll('path.cm-hull').length,
        other: document.querySelectorAll('path.cm-other').length,
        notPlaced: document.querySelectorAll('path.cm-notplaced').length,
        canvases: document.querySelectorAll('canvas').length,
        layers: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(function(l){return l.textContent.trim()}),
        legend: (document.querySelector('.cm-legend') || {}).textContent || '',
        scale: document.querySelectorAll('.leaflet-control-scale-line').length,
        attribution: (document.querySelector('.leaflet-control-attribution') || {}).textContent || ''
    })""")
    assert dom["venues"] == n_clusters == stats["venues"]
    assert dom["lines"] == n_lines == stats["lines"]
    assert dom["schools"] == stats["members"] > 0
    assert dom["other"] == stats["outside"]
    assert dom["hulls"] == stats["hulls"] > 0
    assert dom["notPlaced"] > 0
    assert dom["canvases"] >= 1, "the road network is drawn on canvas"
    assert stats["roads"] > 0
    assert any(label.startswith("Clusters: Women") for label in dom["layers"])
    assert any(label.startswith("Clusters: Men") for label in dom["layers"])
    assert "Teachers not placed" in dom["layers"] and any(label.startswith("Road network") for label in dom["layers"])
    assert "venue" in dom["legend"] and "not placed" in dom["legend"]
    assert dom["scale"] >= 1
    assert "OpenStreetMap contributors" in dom["attribution"] and "generated" in dom["attribution"]
    # every school of the plan is on the map (in a cluster or in no cluster)
    assert len({*pf.geodata.loc[pf.geodata["kind"] == "school", "school_id"]}) <= stats["schools"]
    # a venue popup in a manager's words
    text = browser.evaluate(
        MAP_VAR
        + """ && (function(m){
        var out = null;
        m.eachLayer(function(l){ if (!out && l.getIcon && l.getPopup && l.getPopup()) { l.openPopup(); out = l.getPopup().getElement().querySelector('.leaflet-popup-content').textContent; l.closePopup(); } });
        return out; })("""
        + MAP_VAR
        + ")"
    )
    assert text and "Venue" in text and "teachers from" in text and "minutes" in text
    shot = browser.screenshot(tmp_path / "sample_map.png")
    assert shot.stat().st_size > 20_000
    print(f"sample map: loaded in {seconds:.2f} s; screenshot {shot}")


def test_canvas_mode_renders(browser, sample_plan, tmp_path):
    d = tmp_path / "plan"
    shutil.copytree(sample_plan, d)
    from cluster_mapper.review.map import write_map

    write_map(read_plan(d), d, renderer="canvas")
    browser.open((d / "map.html").as_uri())
    _assert_offline_and_clean(browser)
    stats = browser.evaluate("window.clusterMapStats")
    assert stats["renderer"] == "canvas" and stats["venues"] > 0 and stats["lines"] > 0
    assert browser.evaluate("document.querySelectorAll('path.cm-school').length") == 0
    # the canvas holds drawn pixels
    assert browser.evaluate("""Array.from(document.querySelectorAll('canvas')).some(function(c){
        var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (var i = 3; i < d.length; i += 4) if (d[i]) return true; return false; })""")
    browser.screenshot(tmp_path / "canvas_map.png")


def test_names_with_markup_show_as_text_in_the_browser(browser, xss_plan, tmp_path):
    for page in ("map.html", "report.html"):
        browser.open((xss_plan / page).as_uri())
        _assert_offline_and_clean(browser)
        assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert browser.evaluate("document.scripts.length") == (0 if page == "report.html" else browser.evaluate("document.scripts.length"))
        if page == "report.html":
            body = browser.evaluate("document.body.textContent")
            assert XSS_NAMES[0] in body and XSS_NAMES[1] in body
    browser.open((xss_plan / "map.html").as_uri())
    texts = browser.evaluate(
        """(function(m){
        var out = [];
        m.eachLayer(function(l){ if (l.getPopup && l.getPopup()) { l.openPopup(); var c = l.getPopup().getElement().querySelector('.leaflet-popup-content'); if (c) out.push(c.textContent); l.closePopup(); } });
        return out; })("""
        + MAP_VAR
        + ")"
    )
    joined = "\n".join(texts)
    assert XSS_NAMES[0] in joined and XSS_NAMES[1] in joined, "the names are shown, as text"
    assert browser.evaluate("document.querySelectorAll('.leaflet-popup-pane img, .leaflet-popup-pane script').length") == 0
    _assert_offline_and_clean(browser)  # no alert dialog opened, no request for 'x'
    browser.screenshot(tmp_path / "xss_map.png")


def test_report_and_comparison_map_open_offline(browser, sample_plan, tmp_path):
    browser.open((sample_plan / "report.html").as_uri())
    _assert_offline_and_clean(browser)
    assert browser.evaluate("document.querySelectorAll('img.hist').length") == 1
    assert browser.evaluate("document.querySelector('img.hist').naturalWidth") > 100


def test_province_sized_map_loads(browser, tmp_path):
    from cluster_mapper.review.map import write_map

    d = make_province_plan(tmp_path / "province")
    t0 = time.time()
    p = write_map(read_plan(d), d)
    write_s = time.time() - t0
    seconds = browser.open(p.as_uri())
    _assert_offline_and_clean(browser)
    stats = browser.evaluate("window.clusterMapStats")
    assert stats["renderer"] == "canvas"
    assert stats["venues"] == 1000 and stats["schools"] == 10_000
    timing = browser.evaluate("JSON.stringify(performance.timing)")
    tm = json.loads(timing)
    load_ms = tm["loadEventEnd"] - tm["navigationStart"] if tm["loadEventEnd"] else None
    size_mb = p.stat().st_size / 1e6
    browser.screenshot(tmp_path / "province_map.png")
    print(
        f"province map: {size_mb:.1f} MB, written in {write_s:.1f} s, page load {seconds:.2f} s (load event {load_ms} ms; layers built {stats['builtMs']} ms after navigation start)"
    )
    assert seconds < 30


def test_edit_mode_downloads_edits_that_replan(browser, tmp_path):
    """A manager marks edits in the map's edit mode, downloads them, and the plan is made again with them."""
    from typer.testing import CliRunner

    from cluster_mapper.cli import app
    from cluster_mapper.validate.plan import validate_plan
    from tests.conftest import write_district, write_policy

    runner = CliRunner()
    schools, teachers, _ = write_district(tmp_path, 30, 5)
    policy = write_policy(
        tmp_path,
        'min_teachers = 4\nmax_teachers = 10\nmax_travel_minutes = 90\ngender = "segregated"\nlevels = "mixed"\nmin_schools = 2\ntime_limit_seconds = 10\n',
    )
    base = ["--schools", str(schools), "--teachers", str(teachers), "--policy", str(policy), "--straight-line"]
    first = tmp_path / "first"
    res = runner.invoke(app, ["plan", *base, "--out", str(first)])
    assert res.exit_code == 0, res.output
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.open((first / "map.html").as_uri())
    browser.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    clicks = browser.evaluate(
        MAP_VAR
        + """ && (function(m){
        var box = document.querySelector('.cm-editbox'); if (!box) return 'no edit box';
        var t = box.querySelector('.cm-toggle'); t.click();
        if (!window.clusterMapEdits.on) return 'edit mode did not turn on';
        var done = {move: 0, lock: 0, no_venue: 0, apart: 0};
        var markers = [];
        m.eachLayer(function(l){ if (l.getPopup && l.getPopup() && l.getRadius && l.options.className === 'cm-school') markers.push(l); });
        function press(l, kind, note) {
            l.openPopup();
            var b = l.getPopup().getElement().querySelector('[data-cm-edit="' + kind + '"]');
            if (!b) { l.closePopup(); return false; }
            box.querySelector('.cm-note').value = note;
            b.click(); done[kind]++; return true;
        }
        for (var k = 0; k < markers.length && !done.move; k++) press(markers[k], 'move', 'closer by the new road');
        for (k = markers.length - 1; k >= 0 && !done.lock; k--) press(markers[k], 'lock', 'works well');
        // apart: two schools of one cluster, the second one clicked on the map
        for (k = 1; k < markers.length && !done.apart; k++) {
            var a = markers[k - 1], b = markers[k];
            if (a.options.fillColor !== b.options.fillColor) continue;
            if (press(a, 'apart', 'staff rooms do not get along')) b.fire('click');
        }
        box.querySelector('.cm-note').value = '';
        box.querySelector('.cm-download').click();
        return {done: done, rows: window.clusterMapEdits.rows.length, csv: window.clusterMapEdits.csv()};
    })("""
        + MAP_VAR
        + ")"
    )
    assert isinstance(clicks, dict), clicks
    assert clicks["done"]["move"] == 1 and clicks["done"]["lock"] == 1, clicks
    deadline = time.time() + 20
    while time.time() < deadline and not list(downloads.glob("*.csv")):
        time.sleep(0.2)
    got = list(downloads.glob("*.csv"))
    assert got, "the edits file was downloaded"
    text = got[0].read_bytes().decode("utf-8")
    assert text == clicks["csv"]
    assert text.startswith("action,school_id,other_school_id,cluster_id,minutes,note")
    assert "together" in text and "lock_cluster" in text and "closer by the new road" in text
    _assert_offline_and_clean(browser)
    second = tmp_path / "second"
    res = runner.invoke(app, ["plan", *base, "--out", str(second), "--revise", str(first), "--edits", str(got[0]), "--no-review"])
    assert res.exit_code == 0, res.output
    rep = validate_plan(second)
    assert rep.ok, rep.violations
    assert rep.checked["edits"] == clicks["rows"]


def test_context_layers_and_changed_schools(browser, sample_plan, tmp_path):
    """The map says where one is (boundary, places, rivers, main roads); the compare map rings what changed."""
    browser.open((sample_plan / "map.html").as_uri())
    _assert_offline_and_clean(browser)
    stats = browser.evaluate("window.clusterMapStats")
    assert stats.get("districts") == 1 and stats.get("places", 0) > 50 and stats.get("rivers", 0) >= 1 and stats.get("mainRoads", 0) > 100
    dom = browser.evaluate("""({
        layers: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(function(l){return l.textContent.trim()}),
        places: document.querySelectorAll('.cm-place').length,
        legend: (document.querySelector('.cm-legend') || {}).textContent || ''})""")
    for name in ("District boundary", "Place names", "Rivers", "Main roads"):
        assert name in dom["layers"], dom["layers"]
    assert dom["places"] == stats["places"]
    assert "district boundary" in dom["legend"] and "generated sample names" in dom["legend"]
    browser.screenshot(tmp_path / "sample_map_context.png")

    # a comparison of two small plans: the schools whose cluster or venue differs are ringed, with before and after
    from typer.testing import CliRunner

    from cluster_mapper.cli import app
    from cluster_mapper.review.map import write_comparison_map
    from tests.conftest import write_district, write_policy

    runner = CliRunner()
    schools, teachers, _ = write_district(tmp_path, 25, 8)
    base = 'min_teachers = 4\nmax_teachers = 10\ngender = "segregated"\nlevels = "mixed"\ntime_limit_seconds = 10\n'
    plans = []
    for name, extra in (("wide", "max_travel_minutes = 90\n"), ("narrow", "max_travel_minutes = 30\nmin_schools = 2\n")):
        out = tmp_path / name
        res = runner.invoke(
            app,
            [
                "plan",
                "--schools",
                str(schools),
                "--teachers",
                str(teachers),
                "--straight-line",
                "--no-review",
                "--policy",
                str(write_policy(tmp_path, base + extra, f"{name}.toml")),
                "--out",
                str(out),
            ],
        )
        assert res.exit_code == 0, res.output
        plans.append((name, read_plan(out)))
    page = write_comparison_map(plans, tmp_path / "compare.html")
    browser.open(page.as_uri())
    _assert_offline_and_clean(browser)
    # the changes are what a comparison is for: shown when the map opens, in a layer of their own
    shown = browser.evaluate("""({
        rings: document.querySelectorAll('path.cm-changed').length,
        layers: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(function(l){
            return [l.textContent.trim(), l.querySelector('input').checked]; })})""")
    assert shown["rings"] > 0, shown
    assert ["Changed from wide: narrow", True] in shown["layers"], shown["layers"]
    assert ["Scenario: narrow", False] in shown["layers"]
    # show the second scenario, then read a changed school's popup
    text = browser.evaluate(
        MAP_VAR
        + """ && (function(m){
        Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).forEach(function(l){
            var i = l.querySelector('input'); if (l.textContent.indexOf('Scenario: narrow') >= 0 && !i.checked) i.click(); });
        var out = null;
        m.eachLayer(function(l){ if (!out && l.options && l.options.className === 'cm-changed') { l.openPopup(); out = l.getPopup().getElement().textContent; } });
        return out; })("""
        + MAP_VAR
        + ")"
    )
    stats = browser.evaluate("window.clusterMapStats")
    assert stats.get("changed", 0) > 0
    assert text and "Before" in text and "wide:" in text and "After" in text, text
    browser.screenshot(tmp_path / "compare_changed.png")
