"""OSM files read by streaming (pyosmium), and osmnx used through its public API only.

Real data: the Abbottabad extract in ``tests/data/abbottabad`` (see
``tests/data/README.md``): the same roads as OSM PBF and as OSM XML.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster_mapper.cli import app
from cluster_mapper.errors import InputError
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel import osm
from cluster_mapper.travel.network import load_network

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "cluster_mapper"
ABBOTTABAD = Path(__file__).parents[1] / "data" / "abbottabad"
PBF = ABBOTTABAD / "abbottabad.osm.pbf"
XML = ABBOTTABAD / "abbottabad_roads.osm.bz2"
SCHOOLS = ABBOTTABAD / "abbottabad_schools.geojson"
OAKLAND_XML = Path(__file__).parents[1] / "data" / "osm" / "West-Oakland.osm.bz2"
WALK = TravelPolicy(travel_mode="walk")
DRIVE = TravelPolicy(travel_mode="drive")
runner = CliRunner()


def _problem_text(exc: InputError) -> str:
    return " ".join(str(p) for p in exc.problems)


# --------------------------------------------------------------------------- osmnx: public API only


def _osmnx_uses(path: Path) -> tuple[bool, list[str]]:
    """Whether a module imports osmnx, and every private osmnx name it reaches."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: set[str] = set()
    imports = False
    private: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "osmnx":
                    imports = True
                    aliases.add(a.asname or "osmnx")
                    private += [f"import {a.name}"] if any(p.startswith("_") for p in a.name.split(".")) else []
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "osmnx":
            imports = True
            parts = node.module.split(".")
            private += [f"from {node.module} import {a.name}" for a in node.names if a.name.startswith("_") or any(p.startswith("_") for p in parts)]
            aliases.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):  # ox._x, ox.io._y, getattr(ox, "_z")
        if isinstance(node, ast.Attribute):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases and any(c.startswith("_") and not c.startswith("__") for c in chain):
                private.append(f"{base.id}.{'.'.join(reversed(chain))}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2:
            obj, name = node.args[0], node.args[1]
            if isinstance(obj, ast.Name) and obj.id in aliases and isinstance(name, ast.Constant) and str(name.value).startswith("_"):
                private.append(f"getattr({obj.id}, {name.value!r})")
    return imports, private


def test_no_module_uses_a_private_osmnx_name():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10
    private = {p.name: names for p in modules if (names := _osmnx_uses(p)[1])}
    assert private == {}, f"private osmnx names (they may change in any osmnx release): {private}"


def test_the_private_name_scan_finds_them(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import osmnx as ox\nfrom osmnx._osm_xml import _OSMContentHandler\nfrom osmnx.io import _convert_bool_string\n"
        "def f(G):\n    return ox.graph._create_graph(G), getattr(ox, '_errors')\n"
    )
    imports, private = _osmnx_uses(bad)
    assert imports and len(private) == 4, private
    good = tmp_path / "good.py"
    good.write_text("import osmnx as ox\ndef f(G):\n    return ox.simplify_graph(G), ox.__version__\n")
    assert _osmnx_uses(good) == (True, [])


# --------------------------------------------------------------------------- PBF and XML agree


def _edge_lengths(G) -> dict[tuple[int, int], list[float]]:
    out: dict[tuple[int, int], list[float]] = {}
    for u, v, length in G.edges(data="length"):
        out.setdefault((u, v), []).append(float(length))
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.parametrize("travel", [WALK, DRIVE], ids=["walk", "drive"])
def test_pbf_and_xml_of_the_same_ways_give_the_same_network(travel):
    G = load_network(PBF, travel)
    H = load_network(XML, travel)
    assert len(G) > 1500 and len(G.edges) > 3500  # the real city, not a toy
    assert list(G.nodes) == list(H.nodes)
    for n in G:
        assert (G.nodes[n]["x"], G.nodes[n]["y"]) == (H.nodes[n]["x"], H.nodes[n]["y"])
    a, b = _edge_lengths(G), _edge_lengths(H)
    assert a.keys() == b.keys()
    for uv in a:
        assert len(a[uv]) == len(b[uv])
        assert np.allclose(a[uv], b[uv], rtol=0, atol=1e-6), uv
    assert G.graph["travel_notes"] == H.graph["travel_notes"]


# Before the streaming reader (osmnx's own XML handler and graph builder), these
# files gave exactly these graphs: nodes, edges, total edge length in metres.
KNOWN_GRAPHS = [
    (OAKLAND_XML, "walk", 49, 122, 15106.955388),
    (OAKLAND_XML, "drive", 32, 62, 12199.051397),
    (XML, "walk", 1872, 4628, 741087.483557),
    (XML, "drive", 1770, 4016, 703995.812571),
    (PBF, "walk", 1872, 4628, 741087.483557),
    (PBF, "drive", 1770, 4016, 703995.812571),
]


@pytest.mark.parametrize("path,mode,n_nodes,n_edges,metres", KNOWN_GRAPHS, ids=[f"{p.name}-{m}" for p, m, *_ in KNOWN_GRAPHS])
def test_osm_graphs_unchanged(path, mode, n_nodes, n_edges, metres):
    G = load_network(path, TravelPolicy(travel_mode=mode))
    assert (len(G), len(G.edges)) == (n_nodes, n_edges)
    assert sum(length for *_, length in G.edges(data="length")) == pytest.approx(metres, abs=1e-5)


def test_xml_names_and_compressions_read_alike(tmp_path):
    raw = bz2.decompress(XML.read_bytes())
    (tmp_path / "roads.osm.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "roads.xml").write_bytes(raw)
    G = load_network(XML, WALK)
    for name in ("roads.osm.gz", "roads.xml"):
        H = load_network(tmp_path / name, WALK)
        assert list(H.nodes) == list(G.nodes) and list(H.edges) == list(G.edges)


# --------------------------------------------------------------------------- the streaming reader


def _write_osm(path: Path, body: str) -> Path:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n{body}</osm>\n', encoding="utf-8")
    return path


def test_reader_keeps_only_kept_highway_ways_and_their_nodes(tmp_path):
    p = _write_osm(
        tmp_path / "mixed.osm",
        """
<node id="1" lat="34.10" lon="73.20"><tag k="highway" v="traffic_signals"/><tag k="name" v="Chowk"/></node>
<node id="2" lat="34.11" lon="73.20"/>
<node id="-3" lat="34.12" lon="73.20"/>
<node id="4" lat="34.13" lon="73.20"/>
<node id="5" lat="34.14" lon="73.20"/>
<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="-3"/><tag k="highway" v="residential"/><tag k="surface" v="asphalt"/></way>
<way id="11"><nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>
<way id="12"><nd ref="4"/><nd ref="2"/><tag k="building" v="yes"/></way>
""",
    )
    roads = osm.read_osm_roads(p, lambda tags: tags["highway"] != "footway", kind="xml")
    assert roads.n_ways_read == 2  # highway ways only; the building never reaches Python
    assert list(roads.ways) == [10]
    assert roads.ways[10] == ([1, 2, -3], {"highway": "residential"})  # only the tags osmnx keeps
    assert roads.nodes == {1: (34.10, 73.20, {"highway": "traffic_signals"}), 2: (34.11, 73.20, {}), -3: (34.12, 73.20, {})}
    assert roads.missing_nodes == set()


def test_way_clipped_at_the_extract_edge_is_split_in_xml(tmp_path):
    p = _write_osm(
        tmp_path / "clipped.osm",
        """
<node id="1" lat="34.500" lon="73.300"/>
<node id="2" lat="34.501" lon="73.300"/>
<node id="4" lat="34.503" lon="73.300"/>
<node id="5" lat="34.504" lon="73.300"/>
<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/><tag k="highway" v="track"/></way>
""",
    )
    G = load_network(p, WALK, simplify=False)
    assert set(G.nodes) == {1, 2, 4, 5}
    assert G.has_edge(1, 2) and G.has_edge(4, 5) and not G.has_edge(2, 4)
    assert {d["osmid"] for *_, d in G.edges(data=True)} == {10}  # both pieces keep the way's id
    assert any("1 way node(s) lie outside the extract" in n for n in G.graph["travel_notes"])


def test_oneway_and_roundabout_follow_osmnx_rules(tmp_path):
    p = _write_osm(
        tmp_path / "oneway.osm",
        """
<node id="1" lat="34.500" lon="73.300"/>
<node id="2" lat="34.501" lon="73.300"/>
<node id="3" lat="34.502" lon="73.301"/>
<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/><tag k="oneway" v="-1"/></way>
<way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/><tag k="junction" v="roundabout"/></way>
""",
    )
    D = load_network(p, DRIVE, simplify=False)
    assert sorted(D.edges()) == [(2, 1), (2, 3)]
    assert all(d["oneway"] is True and d["reversed"] is False for *_, d in D.edges(data=True))
    W = load_network(p, WALK, simplify=False)
    assert sorted(W.edges()) == [(1, 2), (2, 1), (2, 3), (3, 2)]
    assert W.edges[2, 1, 0]["length"] == pytest.approx(W.edges[1, 2, 0]["length"]) and W.edges[1, 2, 0]["length"] > 100


def test_node_without_location_is_a_clear_error(tmp_path):
    p = _write_osm(
        tmp_path / "nolocation.osm",
        """
<node id="1"/>
<node id="2" lat="34.501" lon="73.300"/>
<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="track"/></way>
""",
    )
    with pytest.raises(InputError) as e:
        load_network(p, WALK)
    text = _problem_text(e.value)
    assert "nolocation.osm" in text and "node 1 has no valid latitude/longitude" in text and "Fix:" in text


def test_entity_declared_after_a_long_comment_is_refused(tmp_path):
    """The first 64 KiB are checked before parsing; libosmium refuses entities anywhere."""
    p = tmp_path / "late_entity.osm"
    p.write_text(
        '<?xml version="1.0"?>\n<!--' + "x" * 70_000 + '-->\n<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa">]>\n'
        '<osm version="0.6"><node id="1" lat="1" lon="1"><tag k="name" v="&a;"/></node></osm>\n'
    )
    with pytest.raises(InputError) as e:
        load_network(p, WALK)
    assert "declares a DOCTYPE or ENTITY" in _problem_text(e.value)


def test_pbf_without_roads(tmp_path):
    p = tmp_path / "river.osm.pbf"
    with osmium.SimpleWriter(str(p)) as w:
        w.add_node(osmium.osm.mutable.Node(id=1, version=1, location=(73.2, 34.1)))
        w.add_node(osmium.osm.mutable.Node(id=2, version=1, location=(73.21, 34.1)))
        w.add_way(osmium.osm.mutable.Way(id=5, version=1, nodes=[1, 2], tags={"waterway": "river"}))
        w.add_way(osmium.osm.mutable.Way(id=6, version=1, nodes=[1, 2], tags={"highway": "footway"}))
    assert len(load_network(p, WALK).edges) == 2
    with pytest.raises(InputError) as e:
        load_network(p, DRIVE)
    assert "no motorable roads (1 highway ways in total)" in _problem_text(e.value)


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_pbf_is_a_clear_error(tmp_path, cut):
    p = tmp_path / "cut.osm.pbf"
    data = PBF.read_bytes()
    p.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(InputError) as e:
        load_network(p, WALK)
    assert len(e.value.problems) == 1
    text = str(e.value.problems[0])
    assert text.startswith("cut.osm.pbf: the file could not be read as an OpenStreetMap PBF extract")
    assert "Fix: download the .osm.pbf extract again" in text


def test_corrupt_pbf_in_a_real_process(tmp_path):
    """Exit 2, one problem line naming the file and the fix, no traceback, nothing written."""
    bad = tmp_path / "abbottabad.osm.pbf"
    bad.write_bytes(PBF.read_bytes()[:40_000])
    out = tmp_path / "plan"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "cluster_mapper.cli",
            "plan",
            "--schools",
            str(REPO / "tests/bad_inputs/good_schools.csv"),
            "--teachers",
            str(REPO / "tests/bad_inputs/good_roster.csv"),
            "--network",
            str(bad),
            "--out",
            str(out),
            "--no-review",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if "abbottabad.osm.pbf" in ln]
    assert len(lines) == 1, res.stderr
    assert "could not be read as an OpenStreetMap PBF extract" in lines[0] and "Fix: download the .osm.pbf extract again" in lines[0]
    assert not out.exists()


def test_bool_from_text():
    assert osm.bool_from_text("True") is True and osm.bool_from_text("false") is False and osm.bool_from_text(True) is True
    with pytest.raises(ValueError, match="not a boolean"):
        osm.bool_from_text("yes")


# --------------------------------------------------------------------------- a plan on the PBF


def _abbottabad_schools_csv(path: Path) -> Path:
    """The 25 real OSM schools with GENERATED teacher counts (OpenStreetMap has none)."""
    features = json.loads(SCHOOLS.read_text(encoding="utf-8"))["features"]
    rng = np.random.default_rng(8)
    rows = []
    for f in features:
        name = f["properties"].get("name") or f"unnamed school {f['properties']['osm_id']}"
        low = name.lower()
        rows.append(
            {
                "school_id": "ABT-" + f["properties"]["osm_id"].replace("/", "-"),
                "name": name,
                "district": "Abbottabad",
                "latitude": f["geometry"]["coordinates"][1],
                "longitude": f["geometry"]["coordinates"][0],
                "gender": "girls" if "girl" in low else "boys" if "boy" in low else "mixed",
                "teachers": int(rng.integers(2, 9)),  # generated, not real
                "generated": "true",  # the teacher counts are generated (the schools are real)
            }
        )
    assert len(rows) == 25
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("mode,limit", [("walk", 40), ("drive", 10)])
def test_plan_on_the_pbf_validates(tmp_path, mode, limit):
    schools = _abbottabad_schools_csv(tmp_path / "abbottabad_schools.csv")
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f"min_teachers = 6\nmax_teachers = 14\nmax_schools = 4\nmax_travel_minutes = {limit}\n"
        f'gender = "mixed"\nlevels = "mixed"\ntravel_mode = "{mode}"\ntime_limit_seconds = 20\n',
        encoding="utf-8",
    )
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--schools", str(schools), "--network", str(PBF), "--policy", str(policy), "--out", str(out), "--no-review"])
    assert res.exit_code == 0, f"{res.output}\n{res.exception!r}"
    s = json.loads((out / "summary.json").read_text())
    assert s["travel_source"] == "network"
    assert Path(s["travel"]["network_path"]).name == "abbottabad.osm.pbf"
    assert s["teachers_placed"] > 0.6 * s["teachers_total"]
    assert s["schools_off_network"] == []  # all 25 schools lie in the city, on its streets
    a = pd.read_csv(out / "assignments.csv")
    placed = a[a["status"] == "placed"]
    assert placed["travel_minutes"].max() > 1.0, "members travel over the streets"
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output


# --------------------------------------------------------------------------- node selection: C++ id filter or Python


def test_id_filter_only_when_its_memory_is_small():
    assert osm._id_filter_pays(set(range(1, 100_000)))  # one 4 MiB block
    assert osm._id_filter_pays({5, 2**30, 2**33})  # three blocks, 12 MiB
    assert not osm._id_filter_pays({i << 25 for i in range(100)})  # 100 blocks, 400 MiB for 100 nodes
    assert not osm._id_filter_pays({-5, 7})  # negative ids do not fit libosmium's id set


@pytest.mark.parametrize("path", [OAKLAND_XML, PBF], ids=["oakland-positive-ids", "abbottabad-negative-ids"])
def test_both_node_selections_read_the_same(monkeypatch, path):
    kind = "pbf" if path.suffix == ".pbf" else "xml"

    def keep(tags):
        return True

    monkeypatch.setattr(osm, "_id_filter_pays", lambda ids: False)
    in_python = osm.read_osm_roads(path, keep, kind=kind)
    if kind == "xml":  # positive ids only: the C++ filter can be used
        monkeypatch.setattr(osm, "_id_filter_pays", lambda ids: True)
        in_cpp = osm.read_osm_roads(path, keep, kind=kind)
        assert in_cpp == in_python
    assert len(in_python.nodes) > 40 and not in_python.missing_nodes
