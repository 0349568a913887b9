"""Write the bad-input corpus (run once; the files are committed).

    /work/venv/bin/python tests/bad_inputs/make_corpus.py          # every file
    /work/venv/bin/python tests/bad_inputs/make_corpus.py inputs   # only the workbook, mapping, code and DEM cases

Every file is small and broken the way a real export breaks (see cases.toml).
The ``good_*`` files are the valid base each broken file is paired with.
"""

from __future__ import annotations

import bz2
import gzip
import json
import sys
from pathlib import Path

import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent

# a small district: 10 schools on a 2 km grid near Mansehra
SCHOOLS = [
    # id, name, lat, lon, gender, can_host
    ("S01", "GPS Bala (Boys)", 34.3300, 73.2000, "boys", "true"),
    ("S02", "GGPS Bala (Girls)", 34.3310, 73.2020, "girls", "true"),
    ("S03", "GPS Pain (Boys)", 34.3400, 73.2100, "boys", "true"),
    ("S04", "GGPS Pain (Girls)", 34.3410, 73.2110, "girls", "true"),
    ("S05", "GPS Kund (Mixed)", 34.3350, 73.2200, "mixed", "true"),
    ("S06", "GPS Dheri (Boys)", 34.3250, 73.2150, "boys", "false"),
    ("S07", "GGPS Dheri (Girls)", 34.3260, 73.2160, "girls", "true"),
    ("S08", "GPS Banda (Mixed)", 34.3450, 73.1950, "mixed", "true"),
]
HEADER = "school_id,name,district,latitude,longitude,gender,can_host"


def school_lines(rows=SCHOOLS, district="Mansehra", sep=","):
    return [sep.join(HEADER.split(","))] + [
        sep.join([s, n if sep != "," or "," not in n else f'"{n}"', district, f"{la}", f"{lo}", g, h]) for s, n, la, lo, g, h in rows
    ]


def roster_lines():
    out = ["teacher_id,school_id,gender,level,subject,role"]
    k = 0
    for sid, _, _, _, g, _ in SCHOOLS:
        genders = {"boys": ["male"], "girls": ["female"], "mixed": ["female", "male"]}[g]
        for i in range(4):
            k += 1
            out.append(f"T{k:03d},{sid},{genders[i % len(genders)]},{'primary' if i < 3 else 'middle'},{['math', 'science', 'english', ''][i]},teacher")
    return out


def write(name: str, text: str | bytes, encoding: str = "utf-8") -> None:
    p = HERE / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))


def lines(ls) -> str:
    return "\n".join(ls) + "\n"


def grid_graph(split_at: float | None = None) -> nx.MultiDiGraph:
    """A walkable grid over the schools; ``split_at`` removes every edge crossing that longitude."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    lats = np.round(np.arange(34.3200, 34.3501, 0.0025), 5)
    lons = np.round(np.arange(73.1900, 73.2251, 0.0025), 5)
    nid = {}
    for i, la in enumerate(lats):
        for j, lo in enumerate(lons):
            n = 1000 + i * 100 + j
            nid[i, j] = n
            G.add_node(n, x=float(lo), y=float(la), osmid=n)
    for (i, j), n in nid.items():
        for di, dj in ((0, 1), (1, 0)):
            m = nid.get((i + di, j + dj))
            if m is None:
                continue
            a, b = G.nodes[n], G.nodes[m]
            if split_at is not None and min(a["x"], b["x"]) < split_at < max(a["x"], b["x"]):
                continue
            length = float(np.hypot((a["x"] - b["x"]) * 92_000, (a["y"] - b["y"]) * 111_000))
            for u, v in ((n, m), (m, n)):
                G.add_edge(u, v, length=length, highway="residential", oneway=False, reversed=u > v, osmid=u * 10000 + v)
    return G


def write_pbf(G: nx.MultiDiGraph, path: Path) -> None:
    """Write a grid graph as an OSM PBF extract (one two-node way per street segment)."""
    import osmium

    path.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(path)) as w:
        for n, d in sorted(G.nodes(data=True)):
            w.add_node(osmium.osm.mutable.Node(id=n, version=1, location=(d["x"], d["y"])))
        segments = sorted({tuple(sorted((u, v))) for u, v in G.edges()})
        for i, (u, v) in enumerate(segments, start=1):
            w.add_way(osmium.osm.mutable.Way(id=i, version=1, nodes=[u, v], tags={"highway": "residential"}))


def pbf_network_files() -> None:
    """The PBF cases: a download cut off halfway, and an HTML error page saved as .osm.pbf."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "grid.osm.pbf"
        write_pbf(grid_graph(), full)
        data = full.read_bytes()
    write("network_truncated.osm.pbf", data[: len(data) // 2])
    write(
        "network_html_page.osm.pbf",
        b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
        b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n",
    )


def save_graphml(G, name):
    import osmnx as ox

    ox.save_graphml(G, HERE / name)


def main() -> None:
    for old in HERE.iterdir():
        if old.name not in ("make_corpus.py", "cases.toml", "README.md", "__pycache__"):
            old.unlink()
    # ------------------------------------------------------------ valid bases
    write("good_schools.csv", lines(school_lines()))
    write("good_roster.csv", lines(roster_lines()))
    write(
        "good_policy.toml",
        'min_teachers = 6\nmax_teachers = 12\nmax_schools = 5\nmax_travel_minutes = 60\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n',
    )
    save_graphml(grid_graph(), "good_network.graphml")
    pairs = ["from_school_id,to_school_id,minutes"]
    for a in SCHOOLS:
        for b in SCHOOLS:
            if a[0] != b[0]:
                pairs.append(f"{a[0]},{b[0]},{10 + abs(int(a[0][1:]) - int(b[0][1:])) * 3}")
    write("good_matrix.csv", lines(pairs))

    # ------------------------------------------------------------ schools: accepted
    cp = [list(s) for s in SCHOOLS]
    cp[0][1] = "GPS Malik Ãlam Café (Boys)"
    write("schools_cp1252.csv", lines(school_lines([tuple(s) for s in cp])), "cp1252")
    write("schools_utf16.csv", lines(school_lines()), "utf-16")
    # BOM, semicolons and decimal commas, as a European-locale Excel writes them
    semi = [HEADER.replace(",", ";")] + [
        ";".join([s, n, "Mansehra", f"{la}".replace(".", ","), f"{lo}".replace(".", ","), g, h]) for s, n, la, lo, g, h in SCHOOLS
    ]
    write("schools_bom_semicolon.csv", lines(semi), "utf-8-sig")
    ur = [list(s) for s in SCHOOLS]
    ur[0][1] = "گورنمنٹ پرائمری سکول بالا"
    ur[1][1] = "گورنمنٹ گرلز پرائمری سکول بالا"
    ur[4][1] = "سرکاری اسکول کنڈ"
    write("schools_urdu.csv", lines(school_lines([tuple(s) for s in ur], district="مانسہرہ")), "utf-8")
    bl = school_lines()
    write("schools_blank_rows.csv", lines(bl[:3] + ["", ",,,,,,"] + bl[3:] + ["", ""]))
    # numbers as text: spaces, quotes, trailing .0
    nt = [HEADER + ",teachers"] + [f'{s}, {n} ,Mansehra," {la} ",{lo} ,{g}, TRUE ,"{4}.0"' for s, n, la, lo, g, h in SCHOOLS]
    write("schools_numbers_as_text.csv", lines(nt))
    # off-network school: 25 km from the grid -> flagged, not a crash
    off = list(SCHOOLS) + [("S09", "GPS Far Away (Mixed)", 34.55, 73.30, "mixed", "true")]
    write("schools_off_network.csv", lines(school_lines(off)))

    # ------------------------------------------------------------ schools: refused
    bl = school_lines()
    bad = bl[:5] + ["", ""] + [bl[5].replace(",mixed,", ",mixd,")] + bl[6:]
    write("schools_blank_rows_then_error.csv", lines(bad))  # error on spreadsheet row 8
    dup = school_lines()
    dup[4] = dup[4].replace("S04,", "S02,")
    write("schools_duplicate_id.csv", lines(dup))  # row 5
    near = school_lines()
    near[6] = near[6].replace("S06,", "s 03,")
    write("schools_id_case_space.csv", lines(near))  # row 7 vs row 4
    txt = school_lines()
    txt[3] = txt[3].replace("34.34,", "thirty four,")
    write("schools_latitude_text.csv", lines(txt))  # row 4
    sw = school_lines()
    sw[5] = "S05,GPS Kund (Mixed),Mansehra,73.22,34.335,mixed,true"
    write("schools_latlon_swapped.csv", lines(sw))  # row 6
    oor = school_lines()
    oor[2] = "S02,GGPS Bala (Girls),Mansehra,134.331,273.202,girls,true"
    write("schools_coords_out_of_range.csv", lines(oor))  # row 3
    zero = school_lines()
    zero[8] = "S08,GPS Banda (Mixed),Mansehra,0,0,mixed,true"
    write("schools_zero_zero.csv", lines(zero))  # row 9
    write(
        "schools_missing_column.csv", lines([",".join(c for c in line.split(",") if c not in ("gender", "boys", "girls", "mixed")) for line in school_lines()])
    )
    g = school_lines()
    g[3] = g[3].replace(",boys,", ",female school,")
    write("schools_bad_gender.csv", lines(g))  # row 4
    write("schools_empty.csv", b"")
    write("schools_header_only.csv", HEADER + "\n")
    cnt = [HEADER + ",teachers"] + [line + ",6" for line in school_lines()[1:]]
    cnt[3] = cnt[3][:-2] + ",-3"
    write("schools_negative_count.csv", lines(cnt))  # row 4
    huge = [HEADER + ",teachers"] + [line + ",6" for line in school_lines()[1:]]
    huge[6] = huge[6][:-2] + ",60000"
    write("schools_huge_count.csv", lines(huge))  # row 7
    tc = [HEADER + ",teachers"] + [line + ",6" for line in school_lines()[1:]]
    tc[2] = tc[2][:-2] + ",twelve"
    write("schools_count_as_word.csv", lines(tc))  # row 3
    ch = school_lines()
    ch[6] = ch[6].replace(",false", ",maybe")
    write("schools_can_host_bad.csv", lines(ch))  # row 7
    sep = school_lines()
    sep[4] = "S04,GGPS Pain, Girls,Mansehra,34.341,73.211,girls,true"
    write("schools_stray_comma.csv", lines(sep))  # row 5
    # x/y given without a crs in the policy
    xy = ["school_id,name,district,x,y,gender"] + [
        f"{s},{n},Mansehra,{500000 + i * 1000},{3800000 + i * 500},{gd}" for i, (s, n, _, _, gd, _) in enumerate(SCHOOLS)
    ]
    write("schools_xy.csv", lines(xy))
    # x/y that are really degrees, with a projected crs in the policy
    xyd = ["school_id,name,district,x,y,gender"] + [f"{s},{n},Mansehra,{lo},{la},{gd}" for s, n, la, lo, gd, _ in SCHOOLS]
    write("schools_xy_in_degrees.csv", lines(xyd))
    write("policy_utm.toml", 'crs = "EPSG:32643"\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n')
    # GeoJSON in UTM metres without a crs member (read as WGS84 degrees)
    feats = [
        {
            "type": "Feature",
            "properties": {"school_id": s, "name": n, "district": "Mansehra", "gender": gd},
            "geometry": {"type": "Point", "coordinates": [500000 + i * 1000.0, 3800000 + i * 500.0]},
        }
        for i, (s, n, _, _, gd, _) in enumerate(SCHOOLS)
    ]
    write("schools_wrong_crs.geojson", json.dumps({"type": "FeatureCollection", "features": feats}))
    feats2 = [
        {
            "type": "Feature",
            "properties": {"school_id": s, "name": n, "district": "Mansehra", "gender": gd},
            "geometry": {"type": "Point", "coordinates": [lo, la]},
        }
        for s, n, la, lo, gd, _ in SCHOOLS
    ]
    feats2[2]["geometry"] = None
    write("schools_null_geometry.geojson", json.dumps({"type": "FeatureCollection", "features": feats2}))
    write("schools_truncated.geojson", json.dumps({"type": "FeatureCollection", "features": feats2})[:300])
    # an Excel workbook saved with a .csv name
    write("schools_xlsx_renamed.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 4)

    # ------------------------------------------------------------ roster
    r = roster_lines()
    write("roster_utf16_blank_rows.csv", lines(r[:5] + ["", ""] + r[5:]), "utf-16")
    u = list(r)
    u[6] = u[6].replace(",S02,", ",S99,")
    write("roster_unknown_school.csv", lines(u))  # row 7
    c = list(r)
    c[9] = c[9].replace(",S03,", ",s03 ,")
    write("roster_school_id_case.csv", lines(c))  # row 10 (trailing space stripped, case differs)
    gb = list(r)
    gb[3] = gb[3].replace(",male,", ",X,")
    write("roster_bad_gender.csv", lines(gb))  # row 4
    lv = list(r)
    lv[12] = lv[12].replace(",primary,", ",secondary,").replace(",middle,", ",secondary,")
    write("roster_bad_level.csv", lines(lv))  # row 13
    dp = list(r)
    dp[8] = dp[8].replace("T008,", "T002,")
    write("roster_duplicate_teacher.csv", lines(dp))  # row 9
    mc = [r[0].replace(",level,", ",levle,")] + r[1:]
    write("roster_missing_column.csv", lines(mc))  # row 1, level
    write("roster_header_only.csv", lines(r[:1]))
    rl = list(r)
    rl[15] = rl[15].replace(",teacher", ",principal")
    write("roster_bad_role.csv", lines(rl))  # row 16

    # ------------------------------------------------------------ policy
    write("policy_unknown_key.toml", "min_teachers = 6\nmax_teacher = 12\n")  # line 2
    write("policy_min_gt_max.toml", "min_teachers = 14\nmax_teachers = 12\n")  # line 1
    write("policy_number_as_text.toml", 'min_teachers = 6\nmax_teachers = "12"\n')  # line 2
    write("policy_negative_travel.toml", 'gender = "mixed"\nmax_travel_minutes = -30\n')  # line 2
    write("policy_bad_choice.toml", 'gender = "seggregated"\n')  # line 1
    write("policy_syntax_error.toml", "min_teachers = 6\nmax_teachers = 12\ngender = mixed\n")  # line 3
    write("policy_not_utf8.toml", '# Politique de regroupement – élaborée\ngender = "mixed"\n', "cp1252")
    write("policy_travel_key_in_district.toml", 'gender = "mixed"\n\n[districts.Mansehra]\nwalking_speed_kmh = 4\n')  # line 4
    write("policy_district_min_gt_max.toml", 'gender = "mixed"\n\n[districts.Mansehra]\nmin_teachers = 10\nmax_teachers = 8\n')  # line 4
    # an override for a district with no schools: a typo of an existing one is refused
    write("policy_district_typo.toml", 'gender = "segregated"\n\n[districts.Manshera]\ngender = "mixed"\n')  # line 3
    # an override for a district that is simply not in this file: accepted, with a note
    write("policy_district_absent.toml", 'gender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n\n[districts.Bagh]\ngender = "segregated"\n')
    write("policy_bad_crs.toml", 'crs = "EPSG:999999"\n')  # line 1
    write("policy_empty.toml", b"")  # valid: all defaults

    # ------------------------------------------------------------ networks
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
        + ']>\n<osm version="0.6"><node id="1" lat="34.33" lon="73.2"><tag k="name" v="&lol9;"/></node></osm>\n'
    )
    write("network_entity_bomb.osm", bomb)
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE graphml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed"><node id="&xxe;"/></graph></graphml>\n'
    )
    write("network_external_entity.graphml", xxe)
    good = (HERE / "good_network.graphml").read_bytes()
    gz = gzip.compress(good)
    write("network_truncated.graphml.gz", gz[: len(gz) // 2])
    write("network_not_gzip.graphml.gz", good[:2000])
    write("network_corrupt.osm.bz2", bz2.compress(b"<osm>")[:20] + b"\x00garbage" * 20)
    write("network_empty.graphml", b"")
    write(
        "network_no_roads.json",
        json.dumps(
            {
                "version": 0.6,
                "elements": [
                    {"type": "node", "id": 1, "lat": 34.33, "lon": 73.20},
                    {"type": "node", "id": 2, "lat": 34.34, "lon": 73.21},
                    {"type": "way", "id": 10, "nodes": [1, 2], "tags": {"waterway": "river"}},
                ],
            }
        ),
    )
    write("network_not_overpass.json", json.dumps({"type": "FeatureCollection", "features": []}))
    write("network_roads.shp", b"\x00\x00\x27\x0a" + b"\x00" * 96)
    pbf_network_files()
    # a river with no bridge: schools west of 73.2065 cannot reach those east of it
    save_graphml(grid_graph(split_at=73.2065), "network_disconnected.graphml")

    # ------------------------------------------------------------ matrix
    m = pairs
    neg = list(m)
    neg[5] = neg[5].rsplit(",", 1)[0] + ",-12"
    write("matrix_negative.csv", lines(neg))  # row 6
    blank = list(m)
    blank[9] = blank[9].rsplit(",", 1)[0] + ","
    write("matrix_blank_minutes.csv", lines(blank))  # row 10
    word = list(m)
    word[3] = word[3].rsplit(",", 1)[0] + ",1 hour"
    write("matrix_minutes_as_words.csv", lines(word))  # row 4
    unk = list(m)
    unk[7] = "S01,S77,15"
    write("matrix_unknown_school.csv", lines(unk))  # row 8
    write("matrix_missing_column.csv", lines(["from_school_id,to_school_id"] + [",".join(line.split(",")[:2]) for line in m[1:]]))
    dup = list(m) + [m[2]]
    write("matrix_duplicate_pair.csv", lines(dup))  # last row
    slf = list(m) + ["S03,S03,7"]
    write("matrix_self_nonzero.csv", lines(slf))
    # missing pairs are unreachable, not an error: keep only pairs among S01..S04 and S05..S08
    part = [m[0]] + [line for line in m[1:] if (line[1:3] <= "04") == (line[5:7] <= "04")]
    write("matrix_missing_pairs.csv", lines(part))
    write(
        "matrix_semicolon_decimal_comma.csv", lines([line.replace(",", ";") for line in m[:1]] + [line.replace(",", ";") + ",5" for line in m[1:]]), "utf-8-sig"
    )
    input_cases()
    edits_corpus()
    office_cases()


EMIS_HEADER = ["EMIS Code", "School Name", "Lat", "Lon", "Gender", "Male Teachers", "Female Teachers"]
EMIS_GENDER = {"boys": "Boys", "girls": "Girls", "mixed": "Co-education"}


def emis_rows():
    """The good schools as an EMIS export: its headers, its codes, counts by gender, no district column."""
    out = []
    for k, (_sid, name, la, lo, g, _) in enumerate(SCHOOLS):
        male = 0 if g == "girls" else 3 + k % 3
        female = 0 if g == "boys" else 4 + k % 2
        out.append([f"{1000 + k}", name, la, lo, EMIS_GENDER[g], male, female])
    return out


def write_dem(name: str, crs: str | None, where: str = "grid") -> None:
    """A small elevation raster: a slope rising to the north over the good network's grid (or far away)."""
    import pyproj
    import rasterio
    from rasterio.transform import from_origin

    if where == "grid":
        t = pyproj.Transformer.from_crs("EPSG:4326", crs or "EPSG:32643", always_xy=True)
        x0, y1 = t.transform(73.185, 34.355)
        x1, y0 = t.transform(73.230, 34.315)
        size = 30.0
        w, h = int((x1 - x0) / size) + 1, int((y1 - y0) / size) + 1
        transform = from_origin(x0, y1, size, size)
        z = (1000 + 8.0 * np.arange(h)[::-1, None] + np.zeros((h, w))).astype("int16")
    else:  # a tile of another place, in degrees
        w = h = 50
        transform = from_origin(10.0, 10.0, 0.001, 0.001)
        z = np.full((h, w), 500, dtype="int16")
    with rasterio.open(
        HERE / name, "w", driver="GTiff", width=w, height=h, count=1, dtype="int16", crs=crs, transform=transform, nodata=-32768, compress="deflate"
    ) as dst:
        dst.write(z, 1)


def input_cases() -> None:
    """Data as district offices have it: workbooks, their headers and codes, one-district files, elevation rasters."""
    import sys

    sys.path.insert(0, str(HERE.parents[1]))
    from tests.fixtures.workbooks import write_ods, write_xlsx

    header = HEADER.split(",")
    rows = [list(r[:1]) + [r[1], "Mansehra", r[2], r[3], r[4], r[5]] for r in SCHOOLS]
    # ------------------------------------------------------------ workbooks, accepted
    # a title, a header over two rows (Teachers over Male/Female), a blank row, a total and a note; a second sheet named otherwise
    title = [["Government schools of District Mansehra (EMIS 2024)"], []]
    top = ["EMIS Code", "School Name", "Lat", "Lon", "Gender", "Teachers", None]
    sub = [None, None, None, None, None, "Male", "Female"]
    body = emis_rows()
    total = ["Total", None, None, None, None, sum(r[5] for r in body), sum(r[6] for r in body)]
    sheet = title + [top, sub] + body[:3] + [[]] + body[3:] + [total, [], ["Source: EMIS cell, district education office"]]
    merged = {"Schools": ["A1:G1", "F3:G3", "A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4"]}
    cover = [["Prepared by", "DEO office"], ["Date", "2024-05-01"]]
    write_xlsx(HERE / "schools_workbook.xlsx", {"Cover": cover, "Schools": sheet}, merged)
    write_ods(HERE / "schools_workbook.ods", {"Cover": cover, "Schools": sheet}, merged)
    write_xlsx(
        HERE / "roster_workbook.xlsx",
        {
            "Staff": [["teacher_id", "school_id", "Sex", "level", "subject", "Post"]]
            + [
                [r[0], r[1], {"male": "M", "female": "F"}[r[2]], r[3], r[4], "Head Teacher" if r[0] == "T001" else "Teacher"]
                for r in (line.split(",") for line in roster_lines()[1:])
            ]
        },
    )
    # ------------------------------------------------------------ workbooks, refused
    write_xlsx(HERE / "schools_two_sheets.xlsx", {"List A": [header, *rows[:4]], "List B": [header, *rows[4:]]})
    write_xlsx(HERE / "schools_sheet_typo.xlsx", {"Schools": [header, *rows]})
    write_xlsx(
        HERE / "schools_merged_header.xlsx",
        {"Schools": [["school_id", "name", "district", "position", None, "gender"]] + [[r[0], r[1], r[2], r[3], r[4], r[5]] for r in rows]},
        {"Schools": ["D1:E1"]},
    )
    write_xlsx(HERE / "schools_heading_inside.xlsx", {"Schools": [header[:6], *[r[:6] for r in rows[:3]], ["Tehsil Oghi"], *[r[:6] for r in rows[3:]]]})
    write("schools_corrupt.xlsx", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 2)
    # ------------------------------------------------------------ their headers and codes
    emis = [",".join(EMIS_HEADER)] + [",".join(str(v) for v in r) for r in body]
    write("schools_emis_headers.csv", lines(emis))
    write("schools_emis_guessed.csv", lines(emis))
    write(
        "policy_emis_columns.toml",
        'district = "Mansehra"\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n\n'
        '[columns.schools]\nschool_id = "EMIS Code"\nname = "School Name"\nlatitude = "Lat"\nlongitude = "Lon"\n'
        'male_teachers = "Male Teachers"\nfemale_teachers = "Female Teachers"\n\n[values.schools.gender]\n"Co-education" = "mixed"\n',
    )
    write("schools_mapped_header_missing.csv", lines([emis[0].replace("EMIS Code", "EMIS No.")] + emis[1:]))
    write("policy_values_bad_target.toml", 'gender = "mixed"\n[values.schools.gender]\n"Co-ed" = "coed"\n')  # line 3
    write("policy_columns_unknown_field.toml", '[columns.schools]\nschol_id = "EMIS Code"\n')  # line 2
    uc = school_lines()
    uc[2] = uc[2].replace(",girls,", ",Co-ed school,")
    uc[7] = uc[7].replace(",girls,", ",Co-ed school,")
    write("schools_unmapped_code.csv", lines(uc))  # rows 3 and 8
    designation = {"primary": "PST", "middle": "EST"}
    rd = ["teacher_id,school_id,gender,designation,subject,role"] + [
        ",".join([r[0], r[1], r[2], designation[r[3]], r[4], r[5]]) for r in (line.split(",") for line in roster_lines()[1:])
    ]
    rd[7] = rd[7].replace(",PST,", ",SST,")
    write("roster_designations.csv", lines(rd))
    write(
        "policy_designations.toml",
        'gender = "mixed"\nlevels = "separate"\ntime_limit_seconds = 5\n\n'
        '[columns.teachers]\nlevel = "designation"\n\n[values.teachers.level]\nPST = "primary"\nEST = "middle"\nSST = "high"\n',
    )
    # ------------------------------------------------------------ one district, no district column
    nd = [",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in school_lines()]
    write("schools_no_district.csv", lines(nd))
    write("schools_one_district.csv", lines(nd))
    write("policy_district.toml", 'district = "Mansehra"\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n')
    dc = school_lines()
    dc[3] = dc[3].replace(",Mansehra,", ",Abbottabad,")
    write("schools_district_conflict.csv", lines(dc))  # row 4
    # ------------------------------------------------------------ elevation rasters
    write_dem("dem_utm.tif", "EPSG:32643")
    write_dem("dem_no_crs.tif", None)
    write_dem("dem_elsewhere.tif", "EPSG:4326", where="elsewhere")
    write("dem_not_raster.tif", b"II*\x00 this is a text file saved as .tif\n")
    write("policy_elevation.toml", 'gender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\nelevation = ["dem_utm.tif"]\n')


EDITS_HEADER = "action,school_id,other_school_id,cluster_id,minutes,note"


def edits_corpus() -> None:
    """Edits files (``--edits``) that must be refused, and the policies they need."""
    write(
        "policy_segregated.toml",
        'min_teachers = 2\nmax_teachers = 12\nmax_travel_minutes = 60\ngender = "segregated"\nlevels = "mixed"\ntime_limit_seconds = 5\n',
    )
    write(
        "policy_short_travel.toml", 'min_teachers = 2\nmax_teachers = 12\nmax_travel_minutes = 8\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n'
    )
    cases = {
        "edits_unknown_action.csv": ["apart,S01,S02,,,staff rooms do not get along", "merge,S03,S04,,,one compound"],
        "edits_unknown_school.csv": ["together,S01,S99,,,shared compound"],
        "edits_missing_school.csv": ["venue,,,,,new hall"],
        "edits_minutes_as_words.csv": ["travel_minutes,S01,S03,,an hour,footbridge gone"],
        "edits_together_apart.csv": ["together,S01,S02,,,one compound", "together,S02,S03,,,same village", "apart,S01,S03,,,feud"],
        "edits_together_over_max.csv": ["together,S01,S02,,,", "together,S02,S03,,,", "together,S03,S04,,,"],
        "edits_venue_cannot_host.csv": ["venue,S06,,,,new hall"],
        "edits_venue_no_venue.csv": ["venue,S05,,,,hall", "no_venue,S05,,,,head will not host"],
        "edits_exclude_and_together.csv": ["exclude,S07,,,,closed after the floods", "together,S07,S08,,,"],
        "edits_lock_unknown_cluster.csv": ["lock_cluster,,,Mansehra-XX-999,,works well"],
        "edits_lock_without_revise.csv": ["lock_cluster,,,Mansehra-MM-001,,works well"],
        "edits_two_travel_times.csv": ["travel_minutes,S01,S03,,30,", "travel_minutes,S03,S01,,45,"],
        "edits_together_across_genders.csv": ["together,S01,S02,,,brothers and sisters"],
        "edits_together_too_far.csv": ["together,S01,S05,,,same cluster as before"],
    }
    for name, rows in cases.items():
        write(name, lines([EDITS_HEADER, *rows]))
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(EDITS_HEADER.split(","))
    wb.save(HERE / "edits_no_edits_sheet.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "edits"
    ws.append(EDITS_HEADER.split(","))
    ws.append(["apart", "S01", "S02", None, None, "ok"])
    ws.append(["no venue", "S05", None, None, None, "spelt with a space: accepted"])
    ws.append(["together", "S01", "S02", None, None, "contradicts row 2"])
    wb.save(HERE / "edits_contradict.xlsx")


def office_cases() -> None:
    """Issues 17 and 21: what a real office's files hold, and numbers or edits beyond reason (``python make_corpus.py office``)."""
    import sys

    sys.path.insert(0, str(HERE.parents[1]))
    import openpyxl

    from tests.fixtures.workbooks import write_xlsx

    # numbers and characters that cannot be read as they look
    write("edits_zero_width_school.csv", lines([EDITS_HEADER, "together,S01\u200b,S02,,,same compound"]))
    write("edits_minutes_thousands.csv", lines([EDITS_HEADER, 'travel_minutes,S01,S03,,"1,000",river in flood']))
    write("policy_travel_beyond_reason.toml", "max_travel_minutes = 1e300\n")
    write("policy_travel_million.toml", "max_travel_minutes = 1e6\nmin_teachers = 6\n")
    counts = [HEADER + ",teachers"] + [ln + (',"1,000"' if i == 1 else ",6") for i, ln in enumerate(school_lines()[1:], start=1)]
    write("schools_count_thousands.csv", lines(counts))
    # a semicolon table under a title line that holds commas
    write("schools_title_semicolon.csv", lines(["Schools, District Mansehra, 2024 (EMIS)", *school_lines(sep=";")]))
    # workbook cells: a formula saved without its value; ids turned into dates
    header = HEADER.split(",")
    rows = [[r[0], r[1], "Mansehra", r[2], r[3], r[4], r[5]] for r in SCHOOLS]
    rows[2][3] = "=34.34+0"  # openpyxl saves formulas without a value, as some exporters do
    write_xlsx(HERE / "schools_formula_no_value.xlsx", {"Schools": [header, *rows]})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Schools"
    ws.append(header)
    import datetime as dt

    for i, r in enumerate(SCHOOLS):
        ws.append([dt.datetime(2024, 1, 1 + i) if i < 2 else r[0], r[1], "Mansehra", r[2], r[3], r[4], r[5]])
    wb.save(HERE / "schools_date_id.xlsx")
    # a [values] table for a field no column feeds
    write("policy_values_unfed.toml", 'gender = "mixed"\nlevels = "mixed"\n\n[values.schools.level]\n"Primary School" = "primary"\n')
    # one Designation column for level and role, head posts mapped by the role only
    roster = ["teacher_id,school_id,gender,Designation"]
    for line in roster_lines()[1:]:
        tid, sid, g, lvl, _subj, _role = line.split(",")
        post = {"primary": "PST", "middle": "EST"}[lvl]
        roster.append(f"{tid},{sid},{g},{'Head Mistress' if tid == 'T005' else 'Head Master' if tid == 'T001' else post}")
    write("roster_designation_heads.csv", lines(roster))
    write("roster_designation_unmapped.csv", lines(roster))
    write(
        "policy_designation.toml",
        'min_teachers = 6\nmax_teachers = 12\nmax_travel_minutes = 60\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n\n'
        '[columns.teachers]\nlevel = "Designation"\nrole = "Designation"\n\n[values.teachers.level]\nPST = "primary"\nEST = "middle"\n\n'
        '[values.teachers.role]\n"Head Master" = "head_teacher"\n"Head Mistress" = "head_teacher"\n',
    )
    write(
        "policy_designation_level_only.toml",
        'gender = "mixed"\nlevels = "mixed"\n\n[columns.teachers]\nlevel = "Designation"\n\n[values.teachers.level]\nPST = "primary"\nEST = "middle"\n',
    )
    # edits that no cluster can honour
    write(
        "policy_two_schools.toml",
        'min_teachers = 2\nmax_teachers = 12\nmax_schools = 2\nmax_travel_minutes = 60\ngender = "mixed"\nlevels = "mixed"\ntime_limit_seconds = 5\n',
    )
    write("edits_together_chain_over_max_schools.csv", lines([EDITS_HEADER, "together,S01,S03,,,", "together,S03,S05,,,"]))
    write("edits_no_venue_everywhere.csv", lines([EDITS_HEADER] + [f"no_venue,{r[0]},,,,no hall" for r in SCHOOLS if r[5] == "true"]))
    write("edits_unknown_school_and_contradiction.csv", lines([EDITS_HEADER, "together,S01,S99,,,", "venue,S05,,,,hall", "no_venue,S05,,,,no hall"]))


if __name__ == "__main__":
    if sys.argv[1:] == ["inputs"]:
        input_cases()
    elif sys.argv[1:] == ["office"]:
        office_cases()
    else:
        main()
