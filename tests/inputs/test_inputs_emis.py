"""Data as district offices have it: an EMIS export and a staff list plan as they are.

The files (tests/data/emis/) are the real Abbottabad OpenStreetMap schools
with generated EMIS codes, genders, counts and staff (said so in the files'
README). Travel is straight-line to keep these tests fast: they are about
reading; the road network and hills have their own test below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.cli import app

DATA = Path(__file__).parents[1] / "data"
EMIS = DATA / "emis"
OSM = DATA / "osm"
runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def emis_plans():
    """The EMIS export planned as CSV and as XLSX under the same policy, files untouched."""
    before = {p.name: p.read_bytes() for p in EMIS.iterdir() if p.is_file()}
    out = {}
    for kind in ("csv", "xlsx"):
        out[kind] = plan(
            Scenario(schools=EMIS / f"abbottabad_emis.{kind}", policy=EMIS / "emis_policy.toml", travel=TravelSource(straight_line=True), cache_dir=False)
        )
    assert {p.name: p.read_bytes() for p in EMIS.iterdir() if p.is_file()} == before
    return out


def test_emis_export_plans_as_csv_and_as_xlsx(emis_plans, tmp_path):
    csv, xlsx = emis_plans["csv"], emis_plans["xlsx"]
    for p in (csv, xlsx):
        s = p.summary
        assert s["teachers_total"] == s["teachers_placed"] + s["teachers_not_placed"] > 150
        assert set(p.inputs.schools["district"]) == {"Abbottabad"}
        assert set(p.inputs.schools["gender"]) == {"boys", "girls", "mixed"}
        assert p.inputs.schools["school_id"].str.fullmatch(r"601\d\d").all()  # EMIS codes as text, also from the workbook's numbers
        # the policy names every column and code: nothing is guessed
        assert not [n for n in p.notes if "read as" in n or "common codes" in n]
        assert any("every school is in district Abbottabad" in n for n in p.notes)
    assert csv.assignments.drop(columns=[]).equals(xlsx.assignments)
    write_plan(csv, tmp_path / "plan", review=False)
    rep = validate_plan(tmp_path / "plan")
    assert rep.ok, rep.violations


def test_emis_export_without_mapping_is_read_by_its_common_names(tmp_path):
    """No [columns] table: the synonyms are recognised and every guess is announced; the id is the EMIS code, not the name."""
    pol = tmp_path / "p.toml"
    pol.write_text('district = "Abbottabad"\nlevels = "mixed"\ntime_limit_seconds = 5\n', encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            f"{EMIS / 'abbottabad_emis.xlsx'}#Schools",
            "--policy",
            str(pol),
            "--straight-line",
            "--out",
            str(tmp_path / "plan"),
            "--no-review",
        ],
        env={"COLUMNS": "250"},
    )
    assert res.exit_code == 0, res.output
    text = _flat(res.output)
    for header, field in (("EMIS Code", "school_id"), ("School Name", "name"), ("Lat", "latitude"), ("Lon", "longitude")):
        assert f"column '{header}' read as {field}" in text
    assert "'Co-education' as mixed" in text
    s = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert any("column 'EMIS Code' read as school_id" in n for n in s["notes"])
    assert s["inputs"]["schools"].endswith("abbottabad_emis.xlsx#Schools") and "schools" in s["input_sha256"]
    assert runner.invoke(app, ["validate", str(tmp_path / "plan")]).exit_code == 0  # the validator reads the sheet and the policy's district


def test_staff_workbook_with_designations_plans_through_values(tmp_path):
    """A staff list (sheet 'Staff' of a workbook, title row and note around it) with PST/EST/SST and M/F."""
    p = plan(
        Scenario(
            schools=EMIS / "abbottabad_emis.xlsx",
            teachers=EMIS / "abbottabad_staff.xlsx",
            policy=EMIS / "staff_policy.toml",
            travel=TravelSource(straight_line=True),
            cache_dir=False,
        )
    )
    t = p.inputs.teachers
    assert set(t["level"]) == {"primary", "middle", "high"}
    assert set(t["gender"]) == {"female", "male"}
    assert (t["role"] == "head_teacher").sum() == 25
    roster = p.inputs.tables["teachers"]
    assert roster.sheet == "Staff" and roster.header_row == 3
    assert int(t["_row"].min()) == 4  # spreadsheet rows: title, blank, header, then the first teacher
    assert any("below the table" in n and "Source: generated" in n for n in p.notes)
    a = p.assignments
    placed = a[a["status"] == "placed"]
    # separate levels: PST (primary) never sits with EST/SST (middle and high)
    for _, c in placed.groupby("cluster_id"):
        assert len({"primary" if lvl == "primary" else "middle" for lvl in c["level"]}) == 1
    assert (a.loc[a["role"] == "head_teacher", "status"] != "placed").all()
    write_plan(p, tmp_path / "plan", review=False)
    rep = validate_plan(tmp_path / "plan")
    assert rep.ok, rep.violations


def test_staff_designations_without_values_table_are_refused_with_the_codes_found(tmp_path):
    pol = tmp_path / "p.toml"
    text = (EMIS / "staff_policy.toml").read_text(encoding="utf-8").split("[values.teachers.level]")[0]
    pol.write_text(text + '\n[values.teachers.role]\n"Head Teacher" = "head_teacher"\n', encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(EMIS / "abbottabad_emis.xlsx"),
            "--teachers",
            str(EMIS / "abbottabad_staff.xlsx"),
            "--policy",
            str(pol),
            "--straight-line",
            "--out",
            str(tmp_path / "plan"),
        ],
        env={"COLUMNS": "250"},
    )
    assert res.exit_code == 2, res.output
    out = _flat(res.output)
    # the workbook has two sheets: the message names the sheet; row 7 is a head teacher, who needs no level
    assert "abbottabad_staff.xlsx#Staff, row 4, field 'Designation': level 'SST' is not one of primary, middle, high (also rows 10, 16" in out
    assert "field 'Designation': level 'PST' is not one of primary, middle, high" in out
    assert "values found in this column: 'EST', 'PST', 'SST'" in out
    assert 'map the code in the policy under [values.teachers.level]: "PST" = one of "primary", "middle", "high".' in out
    assert not (tmp_path / "plan").exists()


# --------------------------------------------------------------------------- inspect and init


def test_inspect_shows_how_the_files_were_read_and_writes_only_a_map(tmp_path):
    out = tmp_path / "preview.html"
    res = runner.invoke(
        app,
        [
            "inspect",
            "--schools",
            str(EMIS / "abbottabad_emis.xlsx"),
            "--teachers",
            str(EMIS / "abbottabad_staff.xlsx"),
            "--policy",
            str(EMIS / "staff_policy.toml"),
            "--out",
            str(out),
        ],
        env={"COLUMNS": "250"},
    )
    assert res.exit_code == 0, res.output
    text = _flat(res.output)
    assert "teacher_id <- 'Personal No' (column A): named in the policy" in text
    assert "level 'PST' -> primary" in text and "'M' -> male" in text
    assert "Teachers by district, gender and level" in text
    assert "Abbottabad" in text and "head_teacher" in text
    assert "rows 1 above the header" not in text and "row 1 above the header skipped" in text
    assert [p.name for p in tmp_path.iterdir()] == ["preview.html"]
    html = out.read_text(encoding="utf-8")
    assert "Girls Comprehensive Higher Secondary School" in html and "leaflet" in html.lower()


def test_inspect_flags_schools_far_from_the_network_and_elevation(tmp_path):
    """On the San Francisco extract with its elevation tiles: snap distances and the share of nodes with a height."""
    schools = tmp_path / "sf.csv"
    schools.write_text(
        "school_id,name,district,latitude,longitude,gender,teachers\n"
        "A,Top,SF,37.8021,-122.4187,mixed,8\nB,Bottom,SF,37.8060,-122.4100,mixed,8\nC,Bay,SF,37.8300,-122.4300,mixed,8\n",
        encoding="utf-8",
    )
    res = runner.invoke(
        app,
        [
            "inspect",
            "--schools",
            str(schools),
            "--network",
            str(OSM / "overpass-response-5.json.gz"),
            "--elevation",
            str(OSM / "elevation1.tif"),
            "--elevation",
            str(OSM / "elevation2.tif"),
            "--out",
            str(tmp_path / "m.html"),
        ],
        env={"COLUMNS": "250"},
    )
    assert res.exit_code == 0, res.output
    text = _flat(res.output)
    assert "1 of 3 schools farther than 500 m from it: C (" in text
    assert "% of the network's nodes have a height" in text
    assert "elevation rasters (elevation1.tif, elevation2.tif) give heights to" in text


def test_init_writes_a_template_that_reads_back_as_the_defaults(tmp_path):
    from dataclasses import fields

    from cluster_mapper.policy.load import load_policy
    from cluster_mapper.policy.rules import DistrictPolicy, Policy, TravelPolicy

    path = tmp_path / "policy.toml"
    res = runner.invoke(app, ["init", str(path)])
    assert res.exit_code == 0, res.output
    text = path.read_text(encoding="utf-8")
    pol = load_policy(path)
    assert pol.to_dict() == Policy().to_dict()
    for f in [*fields(DistrictPolicy), *fields(TravelPolicy)]:
        assert f"\n{f.name} = " in text or f"\n# {f.name} = " in text, f.name  # a setting unset by default is shown commented out
    for key in ("cross_district", "district"):
        assert f"\n{key} = " in text
    for table in ("# [sheets]", "# [columns.schools]", "# [columns.teachers]", "# [values.teachers.level]", "# [districts."):
        assert table in text
    # an existing file is left alone
    res = runner.invoke(app, ["init", str(path)])
    assert res.exit_code == 2 and "the file exists" in _flat(res.output)
    assert runner.invoke(app, ["init", str(path), "--force"]).exit_code == 0


def test_help_texts_name_the_new_options():
    for cmd, words in (
        ("plan", ["--elevation", "--district", ".xlsx", "FILE.xlsx#Sheet"]),
        ("inspect", ["--out", "preview map"]),
        ("init", ["--force"]),
        ("travel-times", ["--elevation"]),
        ("compare", ["--district"]),
    ):
        res = runner.invoke(app, [cmd, "--help"], env={"COLUMNS": "250"})
        assert res.exit_code == 0
        for w in words:
            assert w in _flat(res.output), (cmd, w)


# --------------------------------------------------------------------------- hills from the command line


def test_cli_elevation_makes_uphill_walks_slower_than_downhill(tmp_path):
    """San Francisco (real OSM streets, real elevation tiles): a walk up Russian Hill takes longer than the walk down."""
    import networkx as nx
    import pandas as pd

    from cluster_mapper.policy.rules import TravelPolicy
    from cluster_mapper.travel.network import add_elevation_from_raster, load_network

    net = OSM / "overpass-response-5.json.gz"
    tiles = [OSM / "elevation1.tif", OSM / "elevation2.tif"]
    G = add_elevation_from_raster(load_network(net, TravelPolicy()), tiles)
    elev = nx.get_node_attributes(G, "elevation")
    top, bottom = max(elev, key=elev.get), min(elev, key=elev.get)
    schools = tmp_path / "hill.csv"
    schools.write_text(
        "school_id,name,district,latitude,longitude,gender,teachers\n"
        f"TOP,Hilltop School,SF,{G.nodes[top]['y']},{G.nodes[top]['x']},mixed,6\n"
        f"BOT,Bayside School,SF,{G.nodes[bottom]['y']},{G.nodes[bottom]['x']},mixed,2\n",
        encoding="utf-8",
    )
    elev_args = ["--elevation", str(tiles[0]), "--elevation", str(tiles[1])]
    res = runner.invoke(app, ["travel-times", "--schools", str(schools), "--network", str(net), *elev_args, "--out", str(tmp_path / "tt.csv")])
    assert res.exit_code == 0, res.output
    m = pd.read_csv(tmp_path / "tt.csv").set_index(["from_school_id", "to_school_id"])["minutes"]
    up, down = m[("BOT", "TOP")], m[("TOP", "BOT")]
    assert up > 1.1 * down
    # the plan: the limit lies between the walk down and the walk up, so the venue must be at the bottom
    # (without hills it would be the hilltop school, where most teachers are)
    limit = round((up + down) / 2, 2)
    pol = tmp_path / "p.toml"
    pol.write_text(
        f'min_teachers = 8\nmax_teachers = 8\nmax_travel_minutes = {limit}\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n', encoding="utf-8"
    )
    res = runner.invoke(
        app,
        ["plan", "--schools", str(schools), "--network", str(net), *elev_args, "--policy", str(pol), "--out", str(tmp_path / "plan"), "--no-review"],
        env={"COLUMNS": "250"},
    )
    assert res.exit_code == 0, res.output
    c = pd.read_csv(tmp_path / "plan" / "clusters.csv")
    assert list(c["venue_school_id"]) == ["BOT"]
    s = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert any("give heights to" in n and "network nodes" in n for n in s["travel_notes"])
    assert s["policy"]["elevation"] == [str(t.resolve()) for t in tiles]
    assert runner.invoke(app, ["validate", str(tmp_path / "plan")]).exit_code == 0
    # the same plan without hills meets at the hilltop
    res = runner.invoke(app, ["plan", "--schools", str(schools), "--network", str(net), "--policy", str(pol), "--out", str(tmp_path / "flat"), "--no-review"])
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(tmp_path / "flat" / "clusters.csv")["venue_school_id"]) == ["TOP"]


def test_elevation_raster_in_another_crs_is_reprojected(tmp_path):
    """A DEM in UTM (metres) gives the same heights as the same DEM in degrees, within a cell's variation."""
    import numpy as np
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from cluster_mapper.policy.rules import TravelPolicy
    from cluster_mapper.travel.network import add_elevation_from_raster, load_network

    src_path = OSM / "elevation1.tif"
    utm = tmp_path / "elevation1_utm.tif"
    with rasterio.open(src_path) as src:
        transform, w, h = calculate_default_transform(src.crs, "EPSG:32610", src.width, src.height, *src.bounds)
        meta = src.meta | {"crs": "EPSG:32610", "transform": transform, "width": w, "height": h}
        with rasterio.open(utm, "w", **meta) as dst:
            reproject(rasterio.band(src, 1), rasterio.band(dst, 1), resampling=Resampling.nearest)
    G1 = add_elevation_from_raster(load_network(OSM / "overpass-response-5.json.gz", TravelPolicy()), [src_path])
    G2 = add_elevation_from_raster(load_network(OSM / "overpass-response-5.json.gz", TravelPolicy()), [utm])
    a, b = G1.nodes(data="elevation"), G2.nodes(data="elevation")
    both = [n for n in G1 if a[n] is not None and b[n] is not None]
    assert len(both) > 0.9 * sum(1 for n in G1 if a[n] is not None)
    diff = np.array([a[n] - b[n] for n in both])
    assert np.median(np.abs(diff)) <= 2.0
    assert "give heights to" in G2.graph["travel_notes"][-1]


def test_compare_reads_the_export_with_each_policy_and_the_command_line_district(tmp_path):
    """Two policies without a district, --district on the command line; the second maps no columns (guessed, announced)."""
    import pandas as pd

    p1, p2 = tmp_path / "segregated.toml", tmp_path / "mixed.toml"
    mapping = (EMIS / "emis_policy.toml").read_text(encoding="utf-8").replace('district = "Abbottabad"\n', "")
    p1.write_text(mapping, encoding="utf-8")
    p2.write_text('gender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n', encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "compare",
            "--schools",
            str(EMIS / "abbottabad_emis.csv"),
            "--straight-line",
            "--district",
            "Abbottabad",
            "--policy",
            str(p1),
            "--policy",
            str(p2),
            "--out",
            str(tmp_path / "cmp"),
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert list(table["scenario"]) == ["segregated", "mixed"]
    s = json.loads((tmp_path / "cmp" / "mixed" / "summary.json").read_text())
    assert s["policy"]["district"] == "Abbottabad"
    assert any("column 'EMIS Code' read as school_id" in n for n in s["notes"])
