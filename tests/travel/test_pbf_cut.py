"""Cutting a province .osm.pbf by district polygons: streaming, buffered, cached."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
import pandas as pd
import pytest
from shapely.geometry import box

from cluster_mapper.api import Scenario, TravelSource, plan
from cluster_mapper.folder import write_plan
from cluster_mapper.programme.run import ProgrammeSettings, plan_programme
from cluster_mapper.travel.pbf_cut import cut_by_districts
from cluster_mapper.validate.plan import validate_plan


def _province(path):
    w = osmium.SimpleWriter(str(path))
    nid, wid = 1, 1
    for x0 in (73.0, 73.2):  # two districts' road grids, far apart
        rows = []
        for i in range(10):
            rows.append(list(range(nid, nid + 10)))
            for j in range(10):
                w.add_node(osmium.osm.mutable.Node(id=nid, location=(x0 + 0.01 * j, 34.0 + 0.01 * i), tags={}))
                nid += 1
        for r in rows:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=r, tags={"highway": "residential"}))
            wid += 1
        w.add_way(osmium.osm.mutable.Way(id=wid, nodes=[r[0] for r in rows], tags={"waterway": "river"}))
        wid += 1
    # a road from district A running 5 km east, out of A's buffer: kept whole, with all its nodes
    w.add_node(osmium.osm.mutable.Node(id=nid, location=(73.15, 34.0), tags={}))
    w.add_way(osmium.osm.mutable.Way(id=wid, nodes=[1, nid], tags={"highway": "track"}))
    w.close()


def _count(path):
    c = {"nodes": 0, "ways": 0}
    for o in osmium.FileProcessor(str(path)):
        c["nodes" if o.is_node() else "ways"] += 1
    return c


def test_cut_by_districts_keeps_each_districts_roads_and_caches(tmp_path):
    pbf = tmp_path / "province.osm.pbf"
    _province(pbf)
    districts = gpd.GeoDataFrame({"district": ["A", "B"]}, geometry=[box(73.0, 34.0, 73.09, 34.09), box(73.2, 34.0, 73.29, 34.09)], crs=4326)
    paths = cut_by_districts(pbf, districts, tmp_path / "cache", buffer_m=500)
    assert _count(paths["A"]) == {"nodes": 101, "ways": 11}  # its grid and the road leaving it, no river
    assert _count(paths["B"]) == {"nodes": 100, "ways": 10}
    mtime = paths["A"].stat().st_mtime_ns
    assert cut_by_districts(pbf, districts, tmp_path / "cache", buffer_m=500) == paths
    assert paths["A"].stat().st_mtime_ns == mtime  # read from the cache, not cut again


def test_negative_ids_of_locally_edited_files_are_cut_too(tmp_path):
    # files edited in JOSM or cut by hand carry negative ids (the real Abbottabad extract does)
    pbf = tmp_path / "edited.osm.pbf"
    w = osmium.SimpleWriter(str(pbf))
    for k in range(5):
        w.add_node(osmium.osm.mutable.Node(id=-(k + 1), location=(73.0 + 0.01 * k, 34.0), tags={}))
    w.add_way(osmium.osm.mutable.Way(id=-1, nodes=[-1, -2, -3, -4, -5], tags={"highway": "track"}))
    w.close()
    districts = gpd.GeoDataFrame({"district": ["A"]}, geometry=[box(72.99, 33.99, 73.015, 34.01)], crs=4326)
    paths = cut_by_districts(pbf, districts, tmp_path / "cache", buffer_m=100)
    assert _count(paths["A"]) == {"nodes": 5, "ways": 1}  # the whole road, though only two of its nodes are inside


REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parents[1] / "data"


def test_real_extract_cut_by_the_real_district_polygon_plans_as_the_whole_file(tmp_path):
    """The real Abbottabad extract cut by the real KP district polygons: the same plan as on the whole file."""
    emis = DATA / "emis"
    network = DATA / "abbottabad" / "abbottabad.osm.pbf"
    scenario = Scenario(emis / "abbottabad_emis.csv", TravelSource(network_path=network), policy=emis / "emis_policy.toml", cache_dir=tmp_path / "cache")
    whole = plan(scenario)
    write_plan(whole, tmp_path / "whole", review=False)
    settings = ProgrammeSettings(executor="inline")
    cut = plan_programme(scenario, settings, out=tmp_path / "cut", district_polygons=REPO / "data" / "pakistan" / "kp_districts.geojson")
    write_plan(cut, tmp_path / "cut", review=False)
    cut_files = list((tmp_path / "cache" / "district_networks").rglob("*.osm.pbf"))
    assert [f.name for f in cut_files] == ["Abbottabad.osm.pbf"]  # only the programme's district is cut
    assert validate_plan(tmp_path / "cut").ok
    a = pd.read_csv(tmp_path / "whole" / "assignments.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(tmp_path / "cut" / "assignments.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(a, b)
    assert cut.objective == pytest.approx(whole.objective)
    # the map outlines the planned district from the bundled KP polygons
    from cluster_mapper.review.map import map_context

    assert [d[0] for d in map_context(cut, network=False)["d"]] == ["Abbottabad"]
