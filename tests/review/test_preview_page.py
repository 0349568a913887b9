"""The ``inspect`` preview map: renders offline in a browser with no console error, names shown as text."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster_mapper import Scenario
from cluster_mapper.preview import inspect_scenario, write_preview_map
from tests.fixtures.review_fixtures import browser  # noqa: F401

HOSTILE = ["</script><script>window.__pwned=1</script>", "<img src=x onerror=window.__pwned=2>", "${window.__pwned=3} `x` {{7*7}} __ATTRIB__"]


@pytest.fixture(scope="module")
def inspection():
    """The bundled sample read as `inspect` reads it (tables only), two schools said to be far from the network."""
    ins = inspect_scenario(Scenario.sample(), with_travel=False)
    schools = ins.inputs.schools
    ins.snaps = pd.DataFrame(
        {
            "school_id": schools["school_id"],
            "node": 0,
            "snap_metres": [1234.0 if i < 2 else 10.0 for i in range(len(schools))],
            "off_network": [i < 2 for i in range(len(schools))],
        }
    )
    return ins


@pytest.fixture(scope="module")
def hostile_inspection(inspection):
    import copy

    ins = copy.copy(inspection)
    ins.inputs = copy.copy(inspection.inputs)
    schools = inspection.inputs.schools.head(10).copy()  # a few schools: every popup is opened
    for i, h in enumerate(HOSTILE):
        schools.loc[schools.index[i], "name"] = h
    ins.inputs.schools = schools
    return ins


def test_preview_page_has_every_school_and_no_jquery(inspection, tmp_path):
    page = write_preview_map(inspection, tmp_path / "preview.html").read_text(encoding="utf-8")
    assert "$(" not in page.replace("$(document", "")  # folium's popups needed jQuery, which the offline page does not carry
    assert page.startswith("<!DOCTYPE html>") and "L.map(" in page
    for name in inspection.inputs.schools["name"].head(20):
        assert str(name) in page


def test_preview_renders_in_the_browser_without_errors(browser, inspection, tmp_path):  # noqa: F811
    p = write_preview_map(inspection, tmp_path / "preview.html")
    browser.open(p.as_uri())
    browser.drain(0.5)
    assert browser.errors() == []
    outside = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:", "about:"))]
    assert outside == []
    n = len(inspection.inputs.schools)
    stats = browser.evaluate("window.previewStats")
    assert stats == {"schools": n, "far": 2}
    assert browser.evaluate("document.querySelectorAll('path.pv-school').length") == n
    assert browser.evaluate("document.querySelectorAll('path.pv-far').length") == 2
    layers = browser.evaluate("Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(function(l){return l.textContent.trim()})")
    assert "Girls schools" in layers and "Boys schools" in layers and "Far from the road network" in layers
    first = inspection.inputs.schools.iloc[0]
    text = browser.evaluate(
        "(function(){ var el = document.querySelector('path.pv-school'); el.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        " var c = document.querySelector('.leaflet-popup-content'); return c ? c.textContent : null; })()"
    )
    assert text and str(first["name"]) in text and f"row {int(first['_row'])} of the schools file" in text
    browser.screenshot(tmp_path / "preview.png")


def test_preview_shows_hostile_names_as_text(browser, hostile_inspection, tmp_path):  # noqa: F811
    p = write_preview_map(hostile_inspection, tmp_path / "preview.html")
    browser.open(p.as_uri())
    browser.drain(0.5)
    assert browser.errors() == []
    texts = browser.evaluate(
        "Array.from(document.querySelectorAll('path.pv-school')).map(function(el){ el.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
        " var all = document.querySelectorAll('.leaflet-popup-content'); return all.length ? all[all.length - 1].textContent : ''; })"
    )
    joined = "\n".join(texts)
    for h in HOSTILE:
        assert h in joined, h
    assert browser.evaluate("window.__pwned") is None
    assert browser.evaluate("document.querySelectorAll('.leaflet-popup-pane img').length") == 0


def test_preview_in_a_frame_without_size_yet_draws_without_errors(browser, inspection, tmp_path):  # noqa: F811
    """A page that shows the preview in a frame still hidden (no size yet), as the workspace's Read page may: no Leaflet error."""
    write_preview_map(inspection, tmp_path / "preview.html")
    host = tmp_path / "host.html"
    host.write_text('<!DOCTYPE html><html><body><iframe id="f" src="preview.html" style="width:0;height:0;border:0"></iframe></body></html>', encoding="utf-8")
    browser.open(host.as_uri())
    browser.drain(0.5)
    assert browser.errors() == []
    browser.evaluate("(function(){ var f = document.getElementById('f'); f.style.width = '800px'; f.style.height = '500px'; return true; })()")
    browser.drain(0.5)
    assert browser.errors() == [], "the map fits once the frame has its size"
