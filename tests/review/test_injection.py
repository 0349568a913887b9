"""User text is data, never page code: every placeholder and hostile string in a plan shows as given.

A plan whose school names, ids, district, teacher ids, edit notes and policy
file name carry the map script's old placeholders (``__ATTRIB__`` ...),
script-closing tags, template syntax (``{{7*7}}``, ``${...}``) and quotes is
written with its map and report; the names must reach the page exactly (as
escaped text in the data, as text in the browser) and no script of theirs
may run.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape

from cluster_mapper.folder import read_plan
from cluster_mapper.review.html import esc, script_json
from cluster_mapper.review.map import write_map
from cluster_mapper.review.report import write_report
from tests.fixtures.review_fixtures import browser  # noqa: F401

PLACEHOLDERS = ["__ATTRIB__", "__LEGEND_HEAD__", "__CTX__", "__NET__", "__NETGEN__", "__CANVAS__", "__GROUPS__", "__UGROUP__"]
HOSTILE = [
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "{{7*7}} {% raw %}",
    "${window.__pwned=3} `tick`",
    "GPS \"Quote\" 'Apos' & Sons",
]
#: One school name per placeholder and hostile string (each with the next placeholder, so every name is distinct).
NAMES = [f"School {p} Banda" for p in PLACEHOLDERS] + [f"{h} {PLACEHOLDERS[i]}" for i, h in enumerate(HOSTILE)]
NOTE = "kept together: __ATTRIB__ __CTX__ </script><script>window.__pwned=4</script> {{7*7}}"
POLICY_NAME = "__ATTRIB__{{7*7}}'x'.toml"


@pytest.fixture(scope="module")
def hostile_plan(tmp_path_factory) -> Path:
    from cluster_mapper import Scenario, TravelSource, plan, write_plan

    d = tmp_path_factory.mktemp("hostile")
    schools, teachers = [], []
    for i, name in enumerate(NAMES):
        sid = f"S{i:02d}" if i != 3 else "S__NET__03"
        schools.append(
            {
                "school_id": sid,
                "name": name,
                "district": "D __GROUPS__ <b>1</b>",
                "latitude": 34.3 + 0.003 * (i % 5),
                "longitude": 73.2 + 0.003 * (i // 5),
                "gender": "mixed",
                "can_host": "true",
            }
        )
        for j in range(3):
            tid = f"T{i}-{j}" if j else f"T{i}-__UGROUP__"
            teachers.append({"teacher_id": tid, "school_id": sid, "gender": "female", "level": "primary", "subject": "math", "role": "teacher"})
    schools.append(
        {
            "school_id": "FAR",
            "name": "__CANVAS__ far </script>",
            "district": "D __GROUPS__ <b>1</b>",
            "latitude": 35.6,
            "longitude": 74.6,
            "gender": "girls",
            "can_host": "true",
        }
    )
    teachers += [{"teacher_id": f"TF{j}", "school_id": "FAR", "gender": "female", "level": "primary", "subject": "math", "role": "teacher"} for j in range(2)]
    pd.DataFrame(schools).to_csv(d / "schools.csv", index=False)
    pd.DataFrame(teachers).to_csv(d / "teachers.csv", index=False)
    pd.DataFrame([{"action": "together", "school_id": "S00", "other_school_id": "S01", "cluster_id": "", "minutes": "", "note": NOTE}]).to_csv(
        d / "edits.csv", index=False
    )
    policy = d / POLICY_NAME
    policy.write_text('min_teachers = 4\nmax_teachers = 12\ngender = "mixed"\nlevels = "mixed"\nmax_travel_minutes = 60\n')
    result = plan(Scenario(d / "schools.csv", TravelSource(straight_line=True), d / "teachers.csv", policy, edits=d / "edits.csv"))
    out = d / "plan"
    write_plan(result, out)
    return out


def _map_config(page: str) -> dict:
    """The JSON value the map script is given (``var CFG = ...;``)."""
    start = page.index("var CFG = ") + len("var CFG = ")
    value, _ = json.JSONDecoder().raw_decode(page[start:])
    return value


def test_placeholders_and_hostile_names_stay_data_in_the_map(hostile_plan):
    page = (hostile_plan / "map.html").read_text(encoding="utf-8")
    # each name reaches the page once as escaped, script-safe text: nothing replaced inside it
    for name in [*NAMES, NOTE]:
        assert script_json(esc(name))[1:-1] in page, name
    cfg = _map_config(page)
    shown = {html.unescape(s[0]) for s in cfg["plans"][0][0]["s"]}
    assert set(NAMES) <= shown
    assert "__ATTRIB__{{7*7}}'x'.toml" in html.unescape(cfg["legendHead"])
    # no hostile string is markup anywhere in the page, and the script closes only where the page closes it
    for h in HOSTILE[:2] + [NOTE]:
        assert h not in page
    assert page.count("</script>") == page.count("<script")


def test_placeholders_and_hostile_names_stay_text_in_the_report(hostile_plan):
    page = (hostile_plan / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    for name in [*NAMES, NOTE, "D __GROUPS__ <b>1</b>", "T0-__UGROUP__", POLICY_NAME]:
        assert str(escape(name)) in page, name
    assert "{{7*7}}" in html.unescape(page)


def test_hostile_plan_in_the_browser_shows_names_and_runs_nothing(browser, hostile_plan):  # noqa: F811
    browser.open((hostile_plan / "map.html").as_uri())
    browser.drain(0.5)
    assert browser.errors() == []
    assert browser.evaluate("window.clusterMapStats.schools") == len(NAMES) + 1
    texts = browser.evaluate(
        """(function(m){ var out = [];
        m.eachLayer(function(l){ if (l.getPopup && l.getPopup()) { l.openPopup(); var c = l.getPopup().getElement().querySelector('.leaflet-popup-content');
          if (c) out.push(c.textContent); l.closePopup(); } });
        return out; })(window[Object.keys(window).find(function(k){return /^map_[0-9a-f]+$/.test(k)})])"""
    )
    joined = "\n".join(texts)
    for name in [*NAMES, NOTE]:
        assert name in joined, name
    legend = browser.evaluate("document.querySelector('.cm-legend').textContent")
    assert POLICY_NAME in legend
    assert browser.evaluate("window.__pwned") is None
    assert browser.evaluate("document.querySelectorAll('.leaflet-popup-pane img, .cm-legend img, .cm-legend script').length") == 0
    browser.open((hostile_plan / "report.html").as_uri())
    body = browser.evaluate("document.body.textContent")
    for name in [*NAMES, NOTE, POLICY_NAME]:
        assert name in body, name
    assert browser.evaluate("document.scripts.length") == 0 and browser.evaluate("window.__pwned") is None


def test_map_html_is_byte_identical_for_the_same_plan(hostile_plan, tmp_path):
    pf = read_plan(hostile_plan)
    first = write_map(pf, tmp_path).read_bytes()
    second = write_map(pf, tmp_path).read_bytes()
    assert first == second
    assert first == (hostile_plan / "map.html").read_bytes()


def test_report_is_written_whole_or_not_at_all(hostile_plan, tmp_path, monkeypatch):
    """A write that fails half way (a full disk) leaves the previous report.html whole, and no temporary file."""
    import shutil

    d = tmp_path / "plan"
    shutil.copytree(hostile_plan, d)
    before = (d / "report.html").read_bytes()
    real_write = Path.write_text

    def full_disk(self, data, *args, **kwargs):
        if self.name.endswith(".tmp") or self.name == "report.html":
            real_write(self, data[:100], *args, **kwargs)
            raise OSError(28, "No space left on device")
        return real_write(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError):
        write_report(read_plan(d), d)
    assert (d / "report.html").read_bytes() == before
    assert not [p.name for p in d.iterdir() if p.name.endswith(".tmp")]
