"""The review map's points (``GET /api/plans/{id}/map``): every school of the plan, made once per version, sent compressed."""

from __future__ import annotations

import json

import httpx

from cluster_mapper import read_plan
from cluster_mapper.workspace.projects import map_features


def test_the_map_points_are_the_plans_schools_and_venues(planned):
    c = planned.client
    r = c.get(f"/api/plans/{planned.revised}/map")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    folder = planned.folder / "projects" / str(planned.project_id) / "plans" / str(planned.revised)
    assert fc == json.loads(json.dumps(map_features(folder)))
    saved = read_plan(folder)
    schools = {f["properties"]["school_id"] for f in fc["features"] if f["properties"]["kind"] == "school"}
    assert set(saved.assignments["school_id"].astype(str)) <= schools
    clusters = {f["properties"]["cluster_id"] for f in fc["features"] if f["properties"]["kind"] == "venue"}
    assert clusters == set(saved.clusters["cluster_id"].astype(str)), "one venue point per cluster"
    cached = planned.folder / "projects" / str(planned.project_id) / "downloads" / f"plan-{planned.revised}-map.json"
    assert json.loads(cached.read_text(encoding="utf-8")) == fc, "kept once per version"


def test_the_map_points_are_sent_compressed(planned):
    c = planned.client
    with c.stream("GET", f"/api/plans/{planned.revised}/map", headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
    assert len(raw) < len(c.get(f"/api/plans/{planned.revised}/map").content) / 3
    assert json.loads(httpx.Response(200, content=raw, headers={"Content-Encoding": "gzip"}).read()) == c.get(f"/api/plans/{planned.revised}/map").json()
