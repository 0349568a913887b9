"""Tests of the generated districts and the bundled Mansehra sample."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from tests.fixtures import synthetic as S

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "schools"


@pytest.fixture(scope="module")
def small():
    return S.make_district(60, seed=11, name="Bagh", center_lonlat=(73.77, 33.98))


@pytest.fixture(scope="module")
def mansehra():
    return S.build_mansehra_district(seed=2026)


def test_deterministic_with_seed():
    a = S.make_district(40, seed=3)
    b = S.make_district(40, seed=3)
    pd.testing.assert_frame_equal(pd.DataFrame(a.schools), pd.DataFrame(b.schools))
    pd.testing.assert_frame_equal(a.teachers, b.teachers)
    assert nx.utils.graphs_equal(a.graph, b.graph)
    c = S.make_district(40, seed=4)
    assert not c.schools[["latitude", "longitude"]].equals(a.schools[["latitude", "longitude"]])


def test_exact_school_count_and_columns(small):
    assert len(small.schools) == 60
    assert list(small.schools.columns[:8]) == S.SCHOOL_COLUMNS
    assert small.schools.crs.to_epsg() == 4326
    assert small.schools["school_id"].is_unique and small.teachers["teacher_id"].is_unique
    assert set(small.teachers["school_id"]) <= set(small.schools["school_id"])
    assert set(small.schools["gender"]) <= {"boys", "girls", "mixed"}
    assert set(small.teachers["level"]) <= {"primary", "middle", "high"}
    assert set(small.teachers["role"]) <= {"teacher", "head_teacher"}
    assert set(small.teachers["subject"]) <= {"", "math", "science", "english", "urdu", "general"}
    assert small.schools["generated"].all()


def test_proportions_match_the_field_study():
    d = S.make_district(400, seed=5, with_network=False)
    t = d.teachers
    assert abs((t["gender"] == "female").mean() - 0.48) < 0.06
    levels = t["level"].value_counts(normalize=True)
    assert abs(levels["primary"] - 0.73) < 0.06
    assert abs(levels["middle"] - 0.18) < 0.05
    assert abs(levels["high"] - 0.10) < 0.05
    per_school = t.groupby("school_id").size()
    heads = t[t["role"] == "head_teacher"].groupby("school_id").size()
    assert heads.max() == 1 and len(heads) > 0.7 * len(d.schools)
    primary_only = t.groupby("school_id")["level"].agg(lambda s: set(s) == {"primary"})
    assert per_school[primary_only].between(1, 9).all()
    assert per_school[~primary_only].mean() > per_school[primary_only].mean()


def test_teacher_gender_matches_school_gender(small):
    t = small.teachers.merge(small.schools[["school_id", "gender"]], on="school_id", suffixes=("", "_school"))
    assert not ((t["gender"] == "female") & (t["gender_school"] == "boys")).any()
    assert not ((t["gender"] == "male") & (t["gender_school"] == "girls")).any()


def test_network_connected_with_elevation_in_range(small):
    G = small.graph
    assert G.graph["crs"] == "EPSG:4326" and G.graph["generated"] == "true"
    assert nx.is_weakly_connected(G)
    lo, hi = S.MANSEHRA_TERRAIN["min_elev_m"], S.MANSEHRA_TERRAIN["max_elev_m"]
    for _, d in G.nodes(data=True):
        assert lo <= d["elevation"] <= hi
        assert {"x", "y"} <= set(d)
    for u, v, d in G.edges(data=True):
        assert G.has_edge(v, u) and d["oneway"] is False
        assert 0 < d["length"] < 450
        assert d["highway"] in {"secondary", "tertiary", "unclassified", "track", "path"}


def test_rivers_crossed_only_at_bridges(small, mansehra):
    for d in (small, mansehra):
        assert d.rivers
        crossing = S.edges_crossing_rivers(d.graph, d.rivers)
        assert crossing, "the rivers should be bridged somewhere"
        assert all(d.graph.edges[e].get("bridge") == "yes" for e in crossing)
        bridges = [e for e in d.graph.edges(keys=True) if d.graph.edges[e].get("bridge") == "yes"]
        assert set(bridges) == set(crossing)


def test_mansehra_terrain_calibrated(mansehra):
    T = mansehra.terrain
    pts = S._sample_in_polygon(T.frame.geom_to_km(mansehra.polygon), 4000, np.random.default_rng(1))
    e = T.elevation_km_frame(pts[:, 0], pts[:, 1])
    assert e.min() >= 457.0 - 1e-6 and e.max() <= 5202.3 + 1e-6
    assert abs(e.mean() - 2408) < 150
    assert e.max() > 4500 and e.min() < 700
    assert abs(T.mean_slope_degrees(pts[:, 0], pts[:, 1]) - 24.0) < 3.0
    settle = T.elevation_metres(mansehra.settlements.geometry.x.to_numpy(), mansehra.settlements.geometry.y.to_numpy())
    assert np.median(settle) < e.mean() - 500  # villages sit on valley floors


def test_most_teachers_reach_enough_peers(mansehra):
    r = S.peer_reach(mansehra.schools, mansehra.teachers, mansehra.graph, max_minutes=60, min_teachers=6)
    share = (r["n_teachers"] * r["enough"]).sum() / r["n_teachers"].sum()
    assert share > 0.85
    assert not r["enough"].all()  # some remote teachers cannot be placed


def test_programme_scale():
    p = S.make_programme(n_teachers=10316, n_districts=4, seed=1)
    assert len(p.teachers) == 10316
    assert set(p.schools["district"]) == {"Mansehra", "Bagh", "Muzaffarabad", "Poonch"}
    assert p.schools["school_id"].is_unique and p.teachers["teacher_id"].is_unique
    assert set(p.teachers["school_id"]) <= set(p.schools["school_id"])
    assert all(g is None for g in p.graphs.values())


def test_write_district_round_trips(tmp_path, small):
    import osmnx as ox

    from cluster_mapper.inputs.schools import load_inputs

    paths = small.write(tmp_path, "bagh")
    inputs = load_inputs(paths["schools"], paths["teachers"])
    assert len(inputs.schools) == 60 and len(inputs.teachers) == len(small.teachers)
    G = ox.load_graphml(paths["roads"])
    assert len(G) == len(small.graph) and G.graph["generated"] == "true"
    assert isinstance(next(iter(G.nodes(data="elevation")))[1], float)


def test_bundled_sample_files():
    import osmnx as ox

    from cluster_mapper.inputs.schools import load_inputs
    from cluster_mapper.policy.load import load_policy

    for name in ("mansehra_schools.csv", "mansehra_teachers.csv", "mansehra_roads.graphml", "README.md", "policy.toml", "policy_mixed_levels.toml"):
        assert (SAMPLE / name).exists(), name
    inputs = load_inputs(SAMPLE / "mansehra_schools.csv", SAMPLE / "mansehra_teachers.csv")
    assert 2300 <= len(inputs.teachers) <= 2700
    assert inputs.schools["generated"].all()
    assert (SAMPLE / "mansehra_roads.graphml").stat().st_size < 8e6
    G = ox.load_graphml(SAMPLE / "mansehra_roads.graphml")
    assert 2000 <= len(G) <= 20000 and G.graph["generated"] == "true"
    assert load_policy(SAMPLE / "policy.toml").default.levels == "separate"
    assert load_policy(SAMPLE / "policy_mixed_levels.toml").default.levels == "mixed"
    for name in ("mansehra_settlements.geojson", "kp_districts.geojson", "district_terrain.csv", "README.md"):
        assert (REPO / "data" / "pakistan" / name).exists(), name


def test_bundled_sample_is_what_the_generator_writes(tmp_path):
    paths = S.build_mansehra_sample(tmp_path, seed=2026)
    for key in ("schools", "teachers"):
        assert paths[key].read_text() == (SAMPLE / paths[key].name).read_text()
