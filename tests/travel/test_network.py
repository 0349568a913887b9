"""Road networks: loading each format, elevation, Tobler minutes, one-way, snapping."""

from __future__ import annotations

import bz2
import gzip
import json
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.transform
from shapely.geometry import Point

from cluster_mapper.errors import InputError
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.minutes import add_travel_minutes, snap_schools, tobler_speed_kmh
from cluster_mapper.travel.network import NON_MOTORABLE_HIGHWAYS, add_elevation_from_raster, load_network
from cluster_mapper.travel.osm import save_graphml

DATA = Path(__file__).parents[1] / "data" / "osm"
OAKLAND_XML = DATA / "West-Oakland.osm.bz2"
PIEDMONT = DATA / "overpass-response-7.json.gz"
SF = DATA / "overpass-response-5.json.gz"
TILES = [DATA / "elevation1.tif", DATA / "elevation2.tif"]
WALK = TravelPolicy(travel_mode="walk", walking_speed_kmh=5.0)
DRIVE = TravelPolicy(travel_mode="drive")
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def sf_walk_elev():
    G = load_network(SF, WALK)
    add_elevation_from_raster(G, TILES)
    add_travel_minutes(G, WALK)
    return G


@pytest.fixture(scope="module")
def piedmont_drive():
    G = load_network(PIEDMONT, DRIVE)
    return add_travel_minutes(G, DRIVE)


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("path", [OAKLAND_XML, PIEDMONT, SF])
@pytest.mark.parametrize("travel", [WALK, DRIVE], ids=["walk", "drive"])
def test_load_osm_formats(path, travel):
    G = load_network(path, travel)
    assert isinstance(G, nx.MultiDiGraph)
    assert len(G) > 20 and len(G.edges) > 20
    for _, d in G.nodes(data=True):
        assert -123 < d["x"] < -122 and 37 < d["y"] < 38
    assert all(d["length"] >= 0 for *_, d in G.edges(data=True))
    if travel.travel_mode == "drive":
        for *_, hw in G.edges(data="highway"):
            values = hw if isinstance(hw, list) else [hw]
            assert not set(values) & NON_MOTORABLE_HIGHWAYS


def test_drive_keeps_fewer_edges_than_walk_and_drops_footways():
    walk = load_network(PIEDMONT, WALK)
    drive = load_network(PIEDMONT, DRIVE)
    walk_types = {h for *_, hw in walk.edges(data="highway") for h in (hw if isinstance(hw, list) else [hw])}
    assert {"footway", "steps"} <= walk_types  # the extract really has footways and steps
    assert len(drive.edges) < len(walk.edges)


def test_load_plain_json_and_plain_osm(tmp_path):
    js = tmp_path / "roads.json"
    js.write_bytes(gzip.decompress(PIEDMONT.read_bytes()))
    osm = tmp_path / "roads.osm"
    osm.write_bytes(bz2.decompress(OAKLAND_XML.read_bytes()))
    assert len(load_network(js, WALK)) == len(load_network(PIEDMONT, WALK))
    assert len(load_network(osm, WALK)) == len(load_network(OAKLAND_XML, WALK))


def test_load_graphml_roundtrip_and_gz(tmp_path):
    G = load_network(PIEDMONT, WALK)
    path = tmp_path / "net.graphml"
    save_graphml(G, path)
    H = load_network(path, WALK)
    assert len(H) == len(G) and len(H.edges) == len(G.edges)
    gz = tmp_path / "net.graphml.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    H2 = load_network(gz, WALK)
    assert len(H2) == len(G)
    # drive mode on a walk graphml drops the non-motorable edges
    D = load_network(path, DRIVE)
    assert len(D.edges) < len(G.edges)
    assert not {h for *_, hw in D.edges(data="highway") for h in (hw if isinstance(hw, list) else [hw])} & NON_MOTORABLE_HIGHWAYS


def _problem_text(exc: InputError) -> str:
    return " ".join(str(p) for p in exc.problems)


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as e:
        load_network(tmp_path / "nope.osm", WALK)
    assert "does not exist" in _problem_text(e.value)


def test_unknown_extension(tmp_path):
    p = tmp_path / "roads.shp"
    p.write_text("x")
    with pytest.raises(InputError) as e:
        load_network(p, WALK)
    assert "unknown road network file type" in _problem_text(e.value)
    assert "graphml" in e.value.problems[0].fix


@pytest.mark.parametrize(
    "name,content",
    [
        ("bad.json", b"{not json"),
        ("bad.json.gz", gzip.compress(b'{"elements": [', mtime=0)[:15]),  # truncated download
        ("bad.osm", b"<osm><node id='1' lat='1' lon='1'>"),
        ("bad.osm.bz2", b"BZh9 this is not bzip2"),
        ("bad.graphml", b"<graphml><graph"),
        ("notoverpass.json", b'{"type": "FeatureCollection", "features": []}'),
    ],
)
def test_corrupt_files(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        load_network(p, WALK)
    assert e.value.problems[0].fix


def test_empty_file_and_no_roads(tmp_path):
    empty = tmp_path / "empty.osm"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_network(empty, WALK)
    only_paths = {
        "elements": [
            {"type": "node", "id": 1, "lat": 34.5, "lon": 73.3},
            {"type": "node", "id": 2, "lat": 34.501, "lon": 73.3},
            {"type": "way", "id": 10, "nodes": [1, 2], "tags": {"highway": "footway"}},
        ]
    }
    p = tmp_path / "paths.json"
    p.write_text(json.dumps(only_paths))
    assert len(load_network(p, WALK).edges) == 2  # a footway is walkable both ways
    with pytest.raises(InputError) as e:
        load_network(p, DRIVE)
    assert "no motorable roads" in _problem_text(e.value)


def test_xml_entities_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    xxe = tmp_path / "xxe.osm"
    xxe.write_text(
        f'<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY x SYSTEM "file://{secret}">]><osm><node id="1" lat="1" lon="1"><tag k="name" v="&x;"/></node></osm>'
    )
    laughs = tmp_path / "laughs.graphml"
    laughs.write_text('<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><graphml>&b;</graphml>')
    for p in (xxe, laughs):
        with pytest.raises(InputError) as e:
            load_network(p, WALK)
        assert "DOCTYPE or ENTITY" in _problem_text(e.value)


# --------------------------------------------------------------------------- elevation and Tobler


def test_tobler_normalised():
    assert tobler_speed_kmh(0.0, 5.0) == pytest.approx(5.0)
    # Tobler's peak is slightly downhill: 6 km/h at -5% for a 6 km/h Tobler walker
    assert tobler_speed_kmh(-0.05, 5.0) == pytest.approx(5.0 * math.exp(3.5 * 0.05))
    assert tobler_speed_kmh(0.10, 5.0) < tobler_speed_kmh(-0.10, 5.0) < tobler_speed_kmh(0.0, 5.0) * 1.2


def test_elevation_matches_raster(sf_walk_elev):
    G = sf_walk_elev
    elev = nx.get_node_attributes(G, "elevation")
    assert 100 < len(elev) < len(G)  # the tiles cover part of the extract
    tiles = []
    for path in TILES:
        with rasterio.open(path) as r:
            tiles.append((r.read(1), r.transform, r.nodata))

    def first_value(x, y):
        for band, transform, nodata in tiles:
            row, col = rasterio.transform.rowcol(transform, x, y)
            if 0 <= row < band.shape[0] and 0 <= col < band.shape[1] and band[row, col] != nodata:
                return float(band[row, col])
        return None

    for _n, d in G.nodes(data=True):
        expected = first_value(d["x"], d["y"])
        if expected is None:
            assert "elevation" not in d
        else:
            assert d["elevation"] == pytest.approx(expected)


def test_uphill_slower_than_downhill_on_same_street(sf_walk_elev):
    G = sf_walk_elev
    steep = []
    for u, v, _k, d in G.edges(keys=True, data=True):
        if d.get("grade", 0) > 0.08 and d["length"] > 30 and G.has_edge(v, u):
            back = [b for b in G[v][u].values() if abs(b["length"] - d["length"]) < 1e-6]
            if back:
                steep.append((u, v, d, back[0]))
    assert len(steep) > 10, "the San Francisco extract has steep streets"
    for u, v, up, down in steep:
        assert down["grade"] == pytest.approx(-up["grade"])
        assert up["travel_minutes"] > down["travel_minutes"]
        # by hand: Tobler speed from the two node elevations
        grade = (G.nodes[v]["elevation"] - G.nodes[u]["elevation"]) / up["length"]
        speed = 5.0 * math.exp(-3.5 * abs(grade + 0.05)) / math.exp(-3.5 * 0.05)
        assert up["travel_minutes"] == pytest.approx(up["length"] / 1000 / speed * 60, rel=1e-9)


def test_flat_edge_time_by_hand(sf_walk_elev):
    G = sf_walk_elev
    flat = [d for u, v, d in G.edges(data=True) if "elevation" not in G.nodes[u] or "elevation" not in G.nodes[v]]
    assert flat
    for d in flat[:50]:
        assert d["travel_minutes"] == pytest.approx(d["length"] / 1000 / 5.0 * 60, rel=1e-12)
    assert any("lack elevation" in n for n in G.graph["travel_minutes_notes"])


def test_no_elevation_note_and_flat_speed():
    G = load_network(OAKLAND_XML, WALK)
    add_travel_minutes(G, TravelPolicy(walking_speed_kmh=4.0))
    assert any("no elevation" in n for n in G.graph["travel_minutes_notes"])
    for *_, d in G.edges(data=True):
        assert d["travel_minutes"] == pytest.approx(d["length"] / 1000 / 4.0 * 60)


# --------------------------------------------------------------------------- one-way


def test_drive_respects_oneway_walk_ignores_it(piedmont_drive):
    G = piedmont_drive
    oneway = [(u, v, d) for u, v, d in G.edges(data=True) if d.get("oneway") is True and not G.has_edge(v, u)]
    assert len(oneway) > 5, "the Piedmont extract has one-way streets"
    for _u, _v, d in oneway:
        assert d["travel_minutes"] == pytest.approx(d["length"] / 1000 / d["speed_kmh"] * 60)
    # the same drive graph, prepared for walkers, can be walked against the one-way
    W = add_travel_minutes(G.copy(), WALK)
    for u, v, d in oneway:
        back = [b for b in W[v][u].values() if abs(b["length"] - d["length"]) < 1e-6]
        assert back and back[0]["walk_reverse"] is True
        assert back[0]["travel_minutes"] == pytest.approx(d["length"] / 1000 / 5.0 * 60)
    # and back to drive drops the walker's reverse edges again
    D = add_travel_minutes(W, DRIVE)
    assert D.number_of_edges() == G.number_of_edges()
    for u, v, _ in oneway:
        assert not D.has_edge(v, u)


def test_walk_graph_has_every_street_both_ways():
    G = add_travel_minutes(load_network(PIEDMONT, WALK), WALK)
    for u, v, d in G.edges(data=True):
        assert any(abs(b["length"] - d["length"]) < 1e-6 for b in G[v][u].values())


# --------------------------------------------------------------------------- snapping


def test_snap_distances_by_brute_force(piedmont_drive):
    G = piedmont_drive
    nodes = list(G.nodes)
    xs = np.array([G.nodes[n]["x"] for n in nodes])
    ys = np.array([G.nodes[n]["y"] for n in nodes])
    rng = np.random.default_rng(3)
    picks = rng.choice(len(nodes), 25, replace=False)
    pts = []
    for i in picks:  # move 0-300 m from a node in a random direction
        lon, lat, _ = GEOD.fwd(xs[i], ys[i], rng.uniform(0, 360), rng.uniform(0, 300))
        pts.append(Point(lon, lat))
    far_lon, far_lat, _ = GEOD.fwd(xs.max(), ys.max(), 45, 3000)
    pts.append(Point(far_lon, far_lat))
    schools = gpd.GeoDataFrame({"school_id": [f"S{i}" for i in range(len(pts))], "district": "D"}, geometry=pts, crs=4326)
    snaps = snap_schools(G, schools, TravelPolicy(max_snap_metres=500))
    assert list(snaps.columns) == ["school_id", "node", "snap_metres", "off_network"]
    for p, row in zip(pts, snaps.itertuples()):
        _, _, d = GEOD.inv(np.full(len(xs), p.x), np.full(len(xs), p.y), xs, ys)
        assert row.snap_metres == pytest.approx(d.min(), abs=0.01)
        assert nodes.index(row.node) == int(np.argmin(d)) or d[nodes.index(row.node)] == pytest.approx(d.min(), abs=0.01)
    assert snaps["off_network"].tolist() == [False] * 25 + [True]
    assert snaps["snap_metres"].iloc[-1] > 2000


def test_snap_projected_schools_and_exact_node():
    G = load_network(OAKLAND_XML, WALK)
    n = next(iter(G.nodes))
    x, y = G.nodes[n]["x"], G.nodes[n]["y"]
    schools = gpd.GeoDataFrame({"school_id": ["A"], "district": "D"}, geometry=[Point(x, y)], crs=4326).to_crs(32610)
    snaps = snap_schools(G, schools, WALK)
    assert snaps["node"].iloc[0] == n
    assert snaps["snap_metres"].iloc[0] < 0.01


def test_graphml_saved_after_walk_preparation_loads_for_drive(tmp_path, piedmont_drive):
    W = add_travel_minutes(piedmont_drive.copy(), WALK)
    path = tmp_path / "walk_prepared.graphml"
    save_graphml(W, path)
    D = load_network(path, DRIVE)
    assert "travel_minutes_mode" not in D.graph  # text from the file is not trusted
    add_travel_minutes(D, DRIVE)
    assert not any(r for *_, r in D.edges(data="walk_reverse"))
    assert D.number_of_edges() == piedmont_drive.number_of_edges()


def test_way_clipped_at_extract_edge_is_split_not_joined(tmp_path):
    data = {
        "elements": [
            {"type": "node", "id": 1, "lat": 34.500, "lon": 73.300},
            {"type": "node", "id": 2, "lat": 34.501, "lon": 73.300},
            {"type": "node", "id": 4, "lat": 34.503, "lon": 73.300},
            {"type": "node", "id": 5, "lat": 34.504, "lon": 73.300},
            # node 3 lies outside the extract
            {"type": "way", "id": 10, "nodes": [1, 2, 3, 4, 5], "tags": {"highway": "track"}},
        ]
    }
    p = tmp_path / "clipped.json"
    p.write_text(json.dumps(data))
    G = load_network(p, WALK, simplify=False)
    assert set(G.nodes) == {1, 2, 4, 5}
    assert G.has_edge(1, 2) and G.has_edge(4, 5) and not G.has_edge(2, 4)
    assert any("outside the extract" in n for n in G.graph["travel_notes"])
