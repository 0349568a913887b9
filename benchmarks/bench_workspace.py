"""Benchmark: an edit-and-re-plan round in the workspace (the sample), and the map page of a 10,000-school programme.

Run::

    python benchmarks/bench_workspace.py [--rounds 3] [--workers 1]
    python -m benchmarks.bench_workspace --map [--schools 10000] [--districts 10] [--keep DIR]

**Edit-and-re-plan round.**
Makes a workspace in a temporary folder (``cluster-mapper serve``'s app,
driven by FastAPI's TestClient; plans run in the worker process pool as in
``serve``), a project from the sample, and its first plan; then ``--rounds``
times: an ``apart`` edit on two schools of one cluster of the latest version,
``POST /api/plans/{id}/revise``, polled every 0.1 s until ``done``. Printed:
the first plan's time (includes the worker's start and the road network's
first travel times), each round's time from the request to ``done`` (the
plan, written with its map and report, and checked by the validator), and the
time of ``GET /api/plans/{a}/diff/{b}`` and ``GET /api/plans/{id}/download``.

**The map page at programme scale** (``--map``): a programme of
``--schools`` generated schools in ``--districts`` districts (about 5.4
teachers a school; straight-line travel) is uploaded to a workspace and
planned as a job (kept in ``--keep DIR`` to measure again without planning).
The workspace is then served by uvicorn and Debian's chromium (Playwright,
offline, a fresh browser context each time: nothing cached) opens the
version's review page and the plan's own Folium map (``files/map.html``).
Printed for each: the bytes of the page and everything it loads (as
the page reads them, and as sent: compressed where the server compresses),
the time until the markers are drawn, and the *time to interactive*: from the start of navigation until a
real mouse click on a school's marker shows that school (the side panel of
the review page; the popup of the Folium map).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cluster_mapper.workspace import WorkspaceConfig, create_app
from tests.fixtures.live_server import serving
from tests.workspace.conftest import csrf, two_schools_sharing_a_cluster, wait_for

CHROMIUM = "/usr/bin/chromium"
#: Longest wait for the programme's plan, seconds.
PROGRAMME_PLAN_TIMEOUT_S = 3600


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def planned_programme(folder: Path, n_schools: int, n_districts: int) -> int:
    """A done version of a generated programme in the workspace at ``folder`` (planned once, then reused); its id."""
    from benchmarks.bench_province import generate

    marker = folder / "bench_map.json"
    if marker.exists():
        return json.loads(marker.read_text())["plan_id"]
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    paths = generate(n_districts, n_schools, int(5.4 * n_schools), 2026, False, folder)
    print(f"generated {n_schools:,} schools in {n_districts} districts in {time.perf_counter() - t:.0f} s")
    with TestClient(create_app(WorkspaceConfig(project_dir=folder / "ws"))) as c:
        h = csrf(c)
        files = {k: (paths[k].name, paths[k].read_bytes(), "text/csv") for k in ("schools", "teachers")}
        pid = c.post("/api/projects", data={"name": f"programme of {n_schools:,} schools"}, files=files, headers=h).json()["id"]
        plan_id = c.post(f"/api/projects/{pid}/plans", headers=h).json()["plan_id"]
        t = time.perf_counter()
        while (j := c.get(f"/api/plans/{plan_id}").json())["status"] in ("queued", "running"):
            assert time.perf_counter() - t < PROGRAMME_PLAN_TIMEOUT_S, "the programme did not plan in time"
            time.sleep(2)
        assert j["status"] == "done", j
        s = j["summary"]
        print(f"planned as a workspace job in {time.perf_counter() - t:.0f} s: {s['teachers_placed']:,} teachers placed in {s['clusters']:,} clusters")
    marker.write_text(json.dumps({"plan_id": plan_id}))
    return plan_id


#: Click a school's marker with the mouse: the page position of a school (review page: CM.map and the GeoJSON layer).
REVIEW_SCHOOL = """() => {
  const m = CM.map, b = m.getBounds();
  const ids = Object.keys(CM.markers).filter(id => b.contains(CM.markers[id].getLatLng()));
  const id = ids[Math.floor(ids.length / 2)], p = m.latLngToContainerPoint(CM.markers[id].getLatLng()), r = m.getContainer().getBoundingClientRect();
  CM.markers[id].bringToFront && CM.markers[id].bringToFront();
  return {id: id, x: r.left + p.x, y: r.top + p.y};
}"""
#: The Folium map's Leaflet map and a drawn school marker in view (one that opens a popup; on canvas, markers have no class).
FOLIUM_SCHOOL = """() => {
  const name = Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map), m = window[name];
  let mk = null;
  m.eachLayer(l => { if (!mk && l instanceof L.CircleMarker && (l.getPopup() || l.listens("click")) && m.getBounds().contains(l.getLatLng())) mk = l; });
  const p = m.latLngToContainerPoint(mk.getLatLng()), r = m.getContainer().getBoundingClientRect();
  return {x: r.left + p.x, y: r.top + p.y};
}"""


def _measure(browser, url: str, *, ready: str, school: str, shown: str) -> dict:
    """Bytes received and times (ms from navigation start) until ``ready`` and until a click on a school shows ``shown``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    responses: list = []
    page.on("response", lambda r: responses.append(r))
    page.goto(url, wait_until="commit", timeout=600_000)
    page.wait_for_function(ready, timeout=600_000, polling=50)
    ready_ms = page.evaluate("performance.now()")
    where = page.evaluate(school)
    page.mouse.click(where["x"], where["y"])
    page.wait_for_function(shown, arg=where.get("id"), timeout=600_000, polling=50)
    usable_ms = page.evaluate("performance.now()")
    page.wait_for_load_state("networkidle")
    ok = [r for r in responses if r.request.method == "GET" and r.status == 200]
    out = {
        "bytes": sum(len(r.body()) for r in ok),  # as the page reads them
        "sent_bytes": sum(r.request.sizes()["responseBodySize"] for r in ok),  # on the wire (compressed, if the server compressed)
        "requests": len(ok),
        "ready_ms": ready_ms,
        "interactive_ms": usable_ms,
    }
    context.close()
    return out


def map_page(args) -> None:
    """The review page and the Folium map of a planned programme, in chromium: bytes and time to interactive."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        plan_id = planned_programme(folder, args.schools, args.districts)
        with serving(create_app(WorkspaceConfig(project_dir=folder / "ws", jobs="thread"))) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            pages = {
                "review page": _measure(
                    browser,
                    f"{base}/plans/{plan_id}/review",
                    ready="() => document.querySelector('#map[data-ready]') !== null",
                    school=REVIEW_SCHOOL,
                    shown="id => document.getElementById('school').textContent.indexOf(id) >= 0",
                ),
                "Folium map.html": _measure(
                    browser,
                    f"{base}/plans/{plan_id}/files/map.html",
                    ready="() => window.clusterMapStats !== undefined",
                    school=FOLIUM_SCHOOL,
                    shown="() => document.querySelector('.leaflet-popup-content') !== null",
                ),
            }
            browser.close()
        for name, m in pages.items():
            print(
                f"{name}: {m['bytes'] / 1e6:.2f} MB ({m['sent_bytes'] / 1e6:.2f} MB sent) in {m['requests']} responses; markers drawn {m['ready_ms'] / 1000:.2f} s, "
                f"time to interactive (a click on a school shows it) {m['interactive_ms'] / 1000:.2f} s"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--map", action="store_true", help="measure the map page of a generated programme instead of the edit round")
    ap.add_argument("--schools", type=int, default=10_000)
    ap.add_argument("--districts", type=int, default=10)
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the planned programme's workspace in this folder")
    args = ap.parse_args()
    if args.map:
        map_page(args)
        return
    with tempfile.TemporaryDirectory() as tmp, TestClient(create_app(WorkspaceConfig(project_dir=Path(tmp), workers=args.workers))) as c:
        h = csrf(c)
        pid = c.post("/api/projects", json={"name": "bench", "sample": True}, headers=h).json()["id"]
        plan_id = c.post(f"/api/projects/{pid}/plans", headers=h).json()["plan_id"]
        j, first = _timed(wait_for, c, plan_id)
        assert j["status"] == "done", j
        print(f"first plan of the sample: {first:.1f} s ({j['summary']['teachers_placed']} teachers placed, {j['summary']['clusters']} clusters)")
        rounds = []
        for _ in range(args.rounds):
            s1, s2 = two_schools_sharing_a_cluster(c, plan_id)
            t = time.perf_counter()
            r = c.post(
                f"/api/plans/{plan_id}/revise", json={"edits": [{"action": "apart", "school_id": s1, "other_school_id": s2, "note": "bench"}]}, headers=h
            )
            new = r.json()["plan_id"]
            j = wait_for(c, new)
            rounds.append(time.perf_counter() - t)
            assert j["status"] == "done" and j["valid"], j
            diff, diff_s = _timed(c.get, f"/api/plans/{plan_id}/diff/{new}")
            z, zip_s = _timed(c.get, f"/api/plans/{new}/download")
            d = diff.json()
            print(
                f"round: apart {s1} {s2} -> version {new} in {rounds[-1]:.1f} s (job {j['seconds']} s); "
                f"{len(d['moved'])} teacher(s) moved; diff {diff_s:.2f} s; zip {len(z.content) / 1e6:.1f} MB in {zip_s:.2f} s"
            )
            plan_id = new
        print(f"edit-and-re-plan round: median {statistics.median(rounds):.1f} s over {len(rounds)} round(s)")


if __name__ == "__main__":
    main()
