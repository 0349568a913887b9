"""Travel-time matrices: network (checked against networkx), matrix CSV, straight line."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from cluster_mapper.errors import InputError
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.minutes import add_travel_minutes
from cluster_mapper.travel.network import add_elevation_from_raster, load_network
from cluster_mapper.travel.times import (
    TravelTimes,
    matrix_travel_times,
    network_travel_times,
    straight_line_travel_times,
    write_travel_times,
)

DATA = Path(__file__).parents[1] / "data" / "osm"
PIEDMONT = DATA / "overpass-response-7.json.gz"
SF = DATA / "overpass-response-5.json.gz"
WALK = TravelPolicy(travel_mode="walk", walking_speed_kmh=5.0)
DRIVE = TravelPolicy(travel_mode="drive")


def _schools_on(G: nx.MultiDiGraph, n: int, seed: int, jitter_deg: float = 1e-4) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    nodes = list(G.nodes)
    picks = rng.choice(len(nodes), n, replace=False)
    pts = [Point(G.nodes[nodes[i]]["x"] + rng.normal(0, jitter_deg), G.nodes[nodes[i]]["y"] + rng.normal(0, jitter_deg)) for i in picks]
    return gpd.GeoDataFrame({"school_id": [f"S{i:03d}" for i in range(n)], "district": "D"}, geometry=pts, crs=4326)


def _check_against_networkx(G, tt: TravelTimes, cutoff=None):
    """Every pair against an independent networkx Dijkstra from the school's node."""
    node_of = dict(zip(tt.snaps["school_id"], tt.snaps["node"]))
    # the walk between each school and its node, straight at 5 km/h (WALK and DRIVE walk alike)
    walk = dict(zip(tt.snaps["school_id"], tt.snaps["snap_metres"] / 1000 / 5.0 * 60))
    got = tt.lookup()
    n_checked = 0
    for a, na in node_of.items():
        dist = nx.single_source_dijkstra_path_length(G, na, weight="travel_minutes")
        for b, nb in node_of.items():
            expected = dist.get(nb, math.inf) + (walk[a] + walk[b] if a != b else 0.0)
            if cutoff is not None and expected > cutoff:
                expected = math.inf
            if math.isinf(expected):
                assert (a, b) not in got
            else:
                assert got[(a, b)] == pytest.approx(expected, rel=1e-3, abs=1e-9)
                n_checked += 1
    return n_checked


@pytest.fixture(scope="module")
def piedmont_walk():
    return add_travel_minutes(load_network(PIEDMONT, WALK), WALK)


@pytest.fixture(scope="module")
def piedmont_drive():
    return add_travel_minutes(load_network(PIEDMONT, DRIVE), DRIVE)


@pytest.fixture(scope="module")
def sf_walk_elev():
    G = load_network(SF, WALK)
    add_elevation_from_raster(G, [DATA / "elevation1.tif", DATA / "elevation2.tif"])
    return add_travel_minutes(G, WALK)


# --------------------------------------------------------------------------- network


@pytest.mark.parametrize("which", ["piedmont_walk", "piedmont_drive", "sf_walk_elev"])
def test_network_agrees_with_networkx(request, which):
    G = request.getfixturevalue(which)
    schools = _schools_on(G, 40, seed=1)
    tt = network_travel_times(schools, G, WALK if "walk" in which else DRIVE, cache_dir=False)
    assert tt.source == "network" and tt.cutoff_minutes is None
    assert list(tt.pairs.columns) == ["from_school_id", "to_school_id", "minutes"]
    assert _check_against_networkx(G, tt) > 800
    for sid in schools["school_id"]:
        assert tt.minutes(sid, sid) == 0.0


def test_hills_make_travel_directed(sf_walk_elev):
    G = sf_walk_elev
    elev = nx.get_node_attributes(G, "elevation")
    # schools on the highest and lowest covered nodes: walking down is faster
    top = max(elev, key=elev.get)
    bottom = min(elev, key=elev.get)
    pts = [Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in (top, bottom)]
    schools = gpd.GeoDataFrame({"school_id": ["top", "bottom"], "district": "D"}, geometry=pts, crs=4326)
    tt = network_travel_times(schools, G, WALK, cache_dir=False)
    assert elev[top] - elev[bottom] > 30
    assert tt.minutes("bottom", "top") > tt.minutes("top", "bottom") * 1.05


def test_drive_oneway_directed_walk_symmetric(piedmont_drive, piedmont_walk):
    G = piedmont_drive
    u, v, d = next((u, v, d) for u, v, d in G.edges(data=True) if d.get("oneway") is True and not G.has_edge(v, u) and d["length"] > 50)
    pts = [Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in (u, v)]
    schools = gpd.GeoDataFrame({"school_id": ["u", "v"], "district": "D"}, geometry=pts, crs=4326)
    drive = network_travel_times(schools, G, DRIVE, cache_dir=False)
    assert drive.minutes("u", "v") == pytest.approx(min(e["travel_minutes"] for e in G[u][v].values()))
    assert drive.minutes("v", "u") > drive.minutes("u", "v")  # a detour, or no way back at all
    walk = network_travel_times(schools, piedmont_walk, WALK, cache_dir=False)
    assert walk.minutes("u", "v") == pytest.approx(walk.minutes("v", "u"))
    # no elevation: the whole walking matrix is symmetric
    many = network_travel_times(_schools_on(piedmont_walk, 30, seed=5), piedmont_walk, WALK, cache_dir=False)
    lk = many.lookup()
    for (a, b), m in lk.items():
        assert lk[(b, a)] == pytest.approx(m)


def _two_islands() -> nx.MultiDiGraph:
    """Two roads 10 km apart with no link: a river without a bridge."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    coords = {1: (73.30, 34.50), 2: (73.31, 34.50), 3: (73.30, 34.60), 4: (73.31, 34.60)}
    for n, (x, y) in coords.items():
        G.add_node(n, x=x, y=y)
    for u, v in ((1, 2), (3, 4)):
        G.add_edge(u, v, length=916.0, highway="track")
        G.add_edge(v, u, length=916.0, highway="track")
    return G


def test_unreachable_pairs_absent_never_zero():
    G = add_travel_minutes(_two_islands(), WALK)
    pts = [Point(73.30, 34.50), Point(73.31, 34.50), Point(73.30, 34.60)]
    schools = gpd.GeoDataFrame({"school_id": ["a1", "a2", "b1"], "district": "D"}, geometry=pts, crs=4326)
    tt = network_travel_times(schools, G, WALK, cache_dir=False)
    assert set(tt.lookup()) == {("a1", "a1"), ("a2", "a2"), ("b1", "b1"), ("a1", "a2"), ("a2", "a1")}
    assert tt.minutes("a1", "a2") == pytest.approx(916.0 / 1000 / 5 * 60)
    assert tt.minutes("a1", "b1") == math.inf
    assert any("unreachable" in n for n in tt.notes)


def test_schools_sharing_a_node_and_off_network_flag():
    G = add_travel_minutes(_two_islands(), WALK)
    pts = [Point(73.30, 34.50), Point(73.30001, 34.50001), Point(73.35, 34.50)]  # last: ~3.7 km off the road
    schools = gpd.GeoDataFrame({"school_id": ["a", "a_twin", "far"], "district": "D"}, geometry=pts, crs=4326)
    tt = network_travel_times(schools, G, TravelPolicy(max_snap_metres=500), cache_dir=False)
    snaps = tt.snaps.set_index("school_id")
    # twins on one node: only their two short walks to it lie between them
    assert tt.minutes("a", "a_twin") == pytest.approx((snaps.at["a", "snap_metres"] + snaps.at["a_twin", "snap_metres"]) / 1000 / 5 * 60)
    assert 0.0 < tt.minutes("a", "a_twin") < 0.1
    # the far school's teachers walk their ~3.7 km to the road first: at least 44 minutes
    assert math.isfinite(tt.minutes("far", "a"))
    assert tt.minutes("far", "a") >= snaps.at["far", "snap_metres"] / 1000 / 5 * 60 > 44
    assert tt.snaps.set_index("school_id").loc["far", "off_network"]
    assert not tt.snaps.set_index("school_id").loc["a_twin", "off_network"]
    assert any("far" in n and "500 m" in n for n in tt.notes)


def test_cutoff_respected(piedmont_walk):
    schools = _schools_on(piedmont_walk, 40, seed=2)
    full = network_travel_times(schools, piedmont_walk, WALK, cache_dir=False)
    cut = network_travel_times(schools, piedmont_walk, WALK, cutoff_minutes=15.0, cache_dir=False)
    assert cut.cutoff_minutes == 15.0
    assert cut.pairs["minutes"].max() <= 15.0
    expected = full.pairs[full.pairs["minutes"] <= 15.0].reset_index(drop=True)
    assert 40 < len(cut.pairs) < len(full.pairs)
    pd.testing.assert_frame_equal(cut.pairs.reset_index(drop=True), expected)
    assert _check_against_networkx(piedmont_walk, cut, cutoff=15.0) == len(cut.pairs)


def test_cache_hit_identical(tmp_path, piedmont_walk, monkeypatch):
    schools = _schools_on(piedmont_walk, 30, seed=4)
    first = network_travel_times(schools, piedmont_walk, WALK, cutoff_minutes=30, cache_dir=tmp_path)
    assert not first.from_cache and len(list(tmp_path.glob("travel_*.npz"))) == 1
    second = network_travel_times(schools, piedmont_walk, WALK, cutoff_minutes=30, cache_dir=tmp_path)
    assert second.from_cache
    pd.testing.assert_frame_equal(first.pairs, second.pairs)
    pd.testing.assert_frame_equal(first.snaps, second.snaps)
    assert first.notes == second.notes
    # another cutoff, another policy or moved schools: not the cached result
    assert not network_travel_times(schools, piedmont_walk, WALK, cutoff_minutes=20, cache_dir=tmp_path).from_cache
    moved = schools.copy()
    moved.geometry = moved.geometry.translate(0.0005, 0)
    assert not network_travel_times(moved, piedmont_walk, WALK, cutoff_minutes=30, cache_dir=tmp_path).from_cache
    # the environment variable sets the default cache folder
    monkeypatch.setenv("CLUSTER_MAPPER_CACHE", str(tmp_path / "env"))
    network_travel_times(schools, piedmont_walk, WALK, cutoff_minutes=30)
    assert len(list((tmp_path / "env").glob("travel_*.npz"))) == 1


def test_cache_invalidated_by_graph_change(tmp_path):
    G = add_travel_minutes(_two_islands(), WALK)
    schools = gpd.GeoDataFrame({"school_id": ["a", "b"], "district": "D"}, geometry=[Point(73.30, 34.50), Point(73.31, 34.50)], crs=4326)
    first = network_travel_times(schools, G, WALK, cache_dir=tmp_path)
    G.edges[1, 2, 0]["length"] = 2000.0  # the road got longer, both ways
    G.edges[2, 1, 0]["length"] = 2000.0
    add_travel_minutes(G, WALK)
    second = network_travel_times(schools, G, WALK, cache_dir=tmp_path)
    assert not second.from_cache
    assert second.minutes("a", "b") > first.minutes("a", "b")


def test_travel_minutes_computed_when_missing():
    G = _two_islands()  # no travel_minutes yet
    schools = gpd.GeoDataFrame({"school_id": ["a", "b"], "district": "D"}, geometry=[Point(73.30, 34.50), Point(73.31, 34.50)], crs=4326)
    tt = network_travel_times(schools, G, TravelPolicy(walking_speed_kmh=4.0), cache_dir=False)
    assert tt.minutes("a", "b") == pytest.approx(916.0 / 1000 / 4 * 60)


def test_write_travel_times(tmp_path, piedmont_walk):
    tt = network_travel_times(_schools_on(piedmont_walk, 10, seed=6), piedmont_walk, WALK, cache_dir=False)
    pairs_path, snaps_path = write_travel_times(tt, tmp_path / "out" / "travel.csv")
    assert snaps_path == tmp_path / "out" / "travel_snaps.csv"
    back = pd.read_csv(pairs_path, dtype={"from_school_id": str, "to_school_id": str})
    assert list(back.columns) == ["from_school_id", "to_school_id", "minutes"]
    assert len(back) == len(tt.pairs)
    np.testing.assert_allclose(back["minutes"], tt.pairs["minutes"], atol=5e-4)
    snaps = pd.read_csv(snaps_path)
    assert list(snaps.columns) == ["school_id", "node", "snap_metres", "off_network"]


# --------------------------------------------------------------------------- matrix


def _schools(ids):
    return gpd.GeoDataFrame({"school_id": ids, "district": "D"}, geometry=[Point(73.3 + i * 0.01, 34.5) for i in range(len(ids))], crs=4326)


def test_matrix_ok(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("from_school_id,to_school_id,minutes\nA,B,12.5\nB,A,14\nA,C,0\n")
    tt = matrix_travel_times(p, _schools(["A", "B", "C"]))
    assert tt.source == "matrix" and tt.cutoff_minutes is None and tt.snaps.empty
    assert tt.minutes("A", "B") == 12.5 and tt.minutes("B", "A") == 14.0
    assert tt.minutes("A", "A") == 0.0 and tt.minutes("C", "C") == 0.0
    assert tt.minutes("C", "A") == math.inf
    assert any("unreachable" in n for n in tt.notes)


def test_matrix_errors_report_row_and_field(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(
        "from_school_id,to_school_id,minutes\n"
        "A,B,12\n"  # row 2 ok
        "A,Z,10\n"  # row 3 unknown to
        "B,A,-3\n"  # row 4 negative
        "B,C,abc\n"  # row 5 not numeric
        "C,A,nan\n"  # row 6 NaN
        "A,B,11\n"  # row 7 duplicate of row 2
        ",A,5\n"  # row 8 blank from
        "C,C,4\n"  # row 9 self pair not 0
    )
    with pytest.raises(InputError) as e:
        matrix_travel_times(p, _schools(["A", "B", "C"]))
    found = {(pr.row, pr.field) for pr in e.value.problems}
    assert found == {
        (3, "to_school_id"),
        (4, "minutes"),
        (5, "minutes"),
        (6, "minutes"),
        (7, "from_school_id"),
        (8, "from_school_id"),
        (9, "minutes"),
    }
    assert all(pr.fix and pr.file.endswith("m.csv") for pr in e.value.problems)
    assert "row 2" in str(e.value)  # the duplicate names the first row


def test_matrix_missing_columns_and_near_id(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("from,to_school_id,time\nA,B,1\n")
    with pytest.raises(InputError) as e:
        matrix_travel_times(p, _schools(["A", "B"]))
    assert {(pr.row, pr.field) for pr in e.value.problems} == {(1, "from_school_id"), (1, "minutes")}
    q = tmp_path / "q.csv"
    q.write_text("from_school_id,to_school_id,minutes\nks 001,KS-002,3\n")
    with pytest.raises(InputError) as e:
        matrix_travel_times(q, _schools(["KS001", "KS-002"]))
    assert "did you mean 'KS001'" in str(e.value)


def test_matrix_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        matrix_travel_times(tmp_path / "none.csv", _schools(["A"]))


# --------------------------------------------------------------------------- straight line


def test_straight_line_by_hand():
    # two points on the equator one degree apart: 2*pi*6378137/360 m on WGS84
    schools = gpd.GeoDataFrame({"school_id": ["a", "b"], "district": "D"}, geometry=[Point(0, 0), Point(1, 0)], crs=4326)
    tt = straight_line_travel_times(schools, TravelPolicy(detour_factor=1.4, walking_speed_kmh=5.0))
    metres = 2 * math.pi * 6378137.0 / 360
    assert tt.minutes("a", "b") == pytest.approx(metres / 1000 * 1.4 / 5.0 * 60, rel=1e-9)
    assert tt.minutes("b", "a") == tt.minutes("a", "b")
    assert tt.minutes("a", "a") == 0.0
    assert tt.source == "straight_line" and tt.snaps.empty
    assert any("not road travel" in n and "1.4" in n and "5 km/h" in n for n in tt.notes)


def test_straight_line_haversine_drive_and_cutoff():
    pts = [Point(73.30, 34.50), Point(73.32, 34.51), Point(73.40, 34.60)]
    schools = gpd.GeoDataFrame({"school_id": ["a", "b", "c"], "district": "D"}, geometry=pts, crs=4326)
    tt = straight_line_travel_times(schools, TravelPolicy(travel_mode="drive", detour_factor=1.3))
    assert any("30 km/h" in n for n in tt.notes)

    def haversine(p, q, r=6371008.8):
        la1, la2 = math.radians(p.y), math.radians(q.y)
        dla, dlo = la2 - la1, math.radians(q.x - p.x)
        h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
        return 2 * r * math.asin(math.sqrt(h))

    for i, a in enumerate("abc"):
        for j, b in enumerate("abc"):
            assert tt.minutes(a, b) == pytest.approx(haversine(pts[i], pts[j]) * 1.3 / 1000 / 30 * 60, rel=4e-3)
    cut = straight_line_travel_times(schools, TravelPolicy(travel_mode="drive", detour_factor=1.3), cutoff_minutes=10)
    assert set(cut.lookup()) == {k for k, m in tt.lookup().items() if m <= 10}
    assert ("a", "c") not in cut.lookup() and ("a", "b") in cut.lookup()
