"""Cutting a province .osm.pbf by district polygons: streaming, buffered, cached."""

from __future__ import annotations

import geopandas as gpd
import osmium
from shapely.geometry import box

from cluster_mapper.pbf_cut import cut_by_districts


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
