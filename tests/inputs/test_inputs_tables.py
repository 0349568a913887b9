"""The one table reader: workbooks and their layout, column names, codes, counts, one-district files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster_mapper.errors import InputError
from cluster_mapper.inputs.schools import load_inputs, read_schools, teachers_from_counts
from cluster_mapper.inputs.specs import SCHOOLS
from cluster_mapper.inputs.tables import column_letter, read_table, split_sheet
from cluster_mapper.policy.load import policy_from_dict
from tests.fixtures.workbooks import write_ods, write_xlsx

HEADER = ["School ID", "Name", "District", "Latitude", "Longitude", "Gender"]
ROWS = [
    ["S01", "GPS Bala", "Mansehra", 34.33, 73.20, "boys"],
    ["S02", "GGPS Bala", "Mansehra", 34.331, 73.202, "girls"],
    ["S03", "GPS Kund", "Mansehra", 34.335, 73.22, "mixed"],
]


def _problems(err: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in err.value.problems]


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize("writer", [write_xlsx, write_ods], ids=["xlsx", "ods"])
def test_title_two_row_header_blank_rows_total_and_notes(tmp_path, writer):
    """A sheet as offices lay it out: a title, a header over two rows, blank rows, a total and a source note."""
    rows = [
        ["Schools of District Mansehra, 2024", None, None, None, None, None, None, None],
        [None] * 8,
        ["EMIS Code", "School Name", "Lat", "Lon", "Gender", "Teachers", None, "Level"],
        [None, None, None, None, None, "Male", "Female", None],
        [101, "GPS Bala", 34.33, 73.2, "Boys", 4, 0, "Primary"],
        [None] * 8,
        [102, "GGPS Bala", 34.331, 73.202, "Girls", 0, 5, "Middle"],
        [103, "GHS Kund", 34.335, 73.22, "Co-ed", 3, 3, "Higher Secondary"],
        ["Total", None, None, None, None, 7, 8, None],
        [None] * 8,
        ["Source: EMIS 2024"],
    ]
    merged = {"Schools": ["A1:H1", "F3:G3", "A3:A4", "B3:B4", "C3:C4", "D3:D4", "E3:E4", "H3:H4"]}
    path = writer(tmp_path / f"s.{'xlsx' if writer is write_xlsx else 'ods'}", {"Schools": rows}, merged)
    pol = policy_from_dict({"district": "Mansehra"})
    gdf, t = read_schools(path, pol)
    assert list(gdf["school_id"]) == ["101", "102", "103"]
    assert list(gdf["_row"]) == [5, 7, 8]
    assert list(gdf["level"]) == ["primary", "middle", "high"]
    assert list(gdf["male_teachers"]) == [4, 0, 3] and list(gdf["female_teachers"]) == [0, 5, 3]
    assert t.header_row == 4
    notes = " | ".join(t.notes)
    assert "row 1 above the header skipped: 'Schools of District Mansehra, 2024'" in notes
    assert "the header spans rows 3-4" in notes and "'Teachers Male', 'Teachers Female'" in notes
    assert "row 9 at the end of the table looks like a total ('Total') and was skipped" in notes
    assert "row 11 below the table looks like notes and was skipped: 'Source: EMIS 2024'" in notes
    assert "column 'Teachers Male' read as male_teachers" in notes
    assert "'Co-ed' as mixed" in notes and "'Higher Secondary' as high" in notes
    teachers = teachers_from_counts(gdf)
    assert set(zip(teachers["teacher_id"], teachers["level"], teachers["n_teachers"], strict=True)) == {
        ("101:male:primary", "primary", 4),
        ("102:female:middle", "middle", 5),
        ("103:female:high", "high", 3),
        ("103:male:high", "high", 3),
    }


def test_the_header_is_the_row_naming_the_columns(tmp_path):
    """Rows above the header with two values ("District:", "Mansehra") are not taken for the header."""
    csv = tmp_path / "s.csv"
    csv.write_text(
        "District:,Mansehra\nPrinted:,2024-05-01\n\nschool_id,name,district,latitude,longitude,gender\n"
        "S01,A,Mansehra,34.33,73.2,boys\nS02,B,Mansehra,34.331,73.202,girls\n",
        encoding="utf-8",
    )
    t = read_table(csv, SCHOOLS)
    assert t.header_row == 4 and list(t.data["_row"]) == [5, 6]
    assert "rows 1-2 above the header skipped: 'District:', 'Printed:'" in t.notes[0]


def test_header_cell_merged_over_unnamed_columns_is_refused(tmp_path):
    rows = [["School ID", "Name", "District", "Position", None, "Gender"], ["S01", "GPS Bala", "Mansehra", 34.33, 73.2, "boys"]]
    path = write_xlsx(tmp_path / "m.xlsx", {"Schools": rows}, {"Schools": ["D1:E1"]})
    with pytest.raises(InputError) as err:
        read_table(path, SCHOOLS)
    assert _problems(err)[0] == (
        "m.xlsx, row 1, field 'Position': the header cell 'Position' is merged over columns D:E, and column E holds values "
        "but has no name of its own. Fix: unmerge the header cells and give each column its own name "
        "(or add a second header row naming them)."
    )


def test_a_single_value_inside_the_table_and_a_value_right_of_it_are_refused(tmp_path):
    rows = [HEADER, ROWS[0], ["Tehsil Oghi"], ROWS[1], [*ROWS[2], None, "call the head"]]
    path = write_xlsx(tmp_path / "h.xlsx", {"Sheet1": rows})
    with pytest.raises(InputError) as err:
        read_table(path, SCHOOLS)
    assert _problems(err) == [
        "h.xlsx, row 3: the row holds a single value ('Tehsil Oghi') in a table of 6 columns: a heading or note inside the table, "
        "or a row left unfinished. Fix: delete the row, move the note below the table, or fill in the row.",
        "h.xlsx, row 5: the row has a value in column H ('call the head'), to the right of the table, under no header. "
        "Fix: delete it (or move the note below the table), or give its column a header.",
    ]


def test_sheets_chosen_by_hash_by_policy_or_by_name_else_refused(tmp_path):
    path = write_xlsx(tmp_path / "w.xlsx", {"Notes": [["read me", "first"]], "Data": [HEADER, *ROWS], "Empty": []})
    with pytest.raises(InputError) as err:
        read_table(path, SCHOOLS)
    assert _problems(err) == [
        "w.xlsx, field 'sheet': the workbook has 2 sheets with data (Notes, Data); which one holds the schools? "
        'Fix: add the sheet to the file name (w.xlsx#Notes), or set [sheets] schools = "Notes" in the policy.'
    ]
    assert len(read_table(f"{path}#Data", SCHOOLS).data) == 3
    assert len(read_table(f"{path}#data", SCHOOLS).data) == 3  # case ignored
    pol = policy_from_dict({"sheets": {"schools": "Data"}})
    assert read_table(path, SCHOOLS, pol.inputs).sheet == "Data"
    with pytest.raises(InputError) as err:
        read_table(f"{path}#Dta", SCHOOLS)
    assert "the workbook has no sheet 'Dta' (sheets: Notes, Data, Empty)" in _problems(err)[0] and "did you mean 'Data'?" in _problems(err)[0]
    named = write_xlsx(tmp_path / "n.xlsx", {"Cover": [["a", "b"]], "School list": [HEADER, *ROWS]})
    t = read_table(named, SCHOOLS)
    assert t.sheet == "School list" and "read sheet 'School list' for the schools (by its name" in t.notes[0]
    with pytest.raises(InputError) as err:
        read_table(f"{tmp_path / 'x.csv'}#Sheet1", SCHOOLS)


def test_split_sheet():
    assert split_sheet("a/b.xlsx#Sheet 1") == (Path("a/b.xlsx"), "Sheet 1")
    assert split_sheet("a/b.xlsx") == (Path("a/b.xlsx"), None)
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_corrupt_and_protected_looking_workbooks_are_refused(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(InputError) as err:
        read_table(bad, SCHOOLS)
    assert "bad.xlsx: could not be read as a .xlsx workbook" in _problems(err)[0]


# --------------------------------------------------------------------------- columns


def test_an_explicit_mapping_never_falls_back_to_a_guess(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("EMIS Code,School Name,District,Lat,Lon,Gender\nS01,GPS Bala,Mansehra,34.33,73.2,boys\n", encoding="utf-8")
    pol = policy_from_dict({"columns": {"schools": {"school_id": "EMIS No"}}})
    with pytest.raises(InputError) as err:
        read_table(csv, SCHOOLS, pol.inputs)
    assert _problems(err) == [
        "s.csv, row 1, field 'EMIS No': the column 'EMIS No' that the policy names for school_id ([columns.schools] school_id) is not in the file "
        '(columns found: EMIS Code, School Name, District, Lat, Lon, Gender). Fix: write the header exactly as in the file: school_id = "EMIS Code".'
    ]


def test_synonyms_are_announced_and_ambiguous_ones_refused(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("EMIS Code,School Name,District,Lat,GPS Latitude,Lon,Gender\nS01,GPS Bala,Mansehra,34.33,34.33,73.2,boys\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_table(csv, SCHOOLS)
    assert _problems(err) == [
        "s.csv, row 1, field 'latitude': 2 columns could hold latitude: 'Lat', 'GPS Latitude'. "
        'Fix: name the right one in the policy: [columns.schools] latitude = "Lat".'
    ]
    t = read_table(csv, SCHOOLS, policy_from_dict({"columns": {"schools": {"latitude": "GPS Latitude"}}}).inputs)
    assert t.headers["latitude"] == "GPS Latitude" and "Lat" in t.unused
    assert any("column 'EMIS Code' read as school_id" in n for n in t.notes)


def test_advice_for_a_missing_id_points_at_an_id_column_not_a_name_column(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text(
        "School Nm,Schl Code,District,Latitude,Longitude,Gender\nGovt Primary School Bala,101,M,34.33,73.2,boys\n"
        "Govt Girls Primary School Bala,102,M,34.331,73.202,girls\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_table(csv, SCHOOLS)
    probs = _problems(err)
    assert "field 'school_id': the required column 'school_id' is missing" in probs[0]
    assert 'Fix: name the column that holds it in the policy: [columns.schools] school_id = "Schl Code"' in probs[0]
    assert '[columns.schools] name = "School Nm"' in probs[1]


def test_x_y_in_degrees_without_crs_are_longitude_latitude(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("school_id,name,district,X,Y,gender\nS01,A,M,73.2,34.33,boys\nS02,B,M,73.21,34.34,girls\n", encoding="utf-8")
    gdf, t = read_schools(csv)
    assert gdf.geometry.x.tolist() == [73.2, 73.21] and gdf.geometry.y.tolist() == [34.33, 34.34]
    assert "columns 'X' and 'Y' read as longitude and latitude" in t.notes[-1]


# --------------------------------------------------------------------------- codes


def test_codes_mapped_by_the_policy_case_and_spacing_ignored(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text(
        "school_id,name,district,latitude,longitude,gender,can_host\n"
        "S01,A,M,34.33,73.2,BOYS ,Yes\nS02,B,M,34.331,73.202,co education,no\nS03,C,M,34.335,73.22,Girls School,\n",
        encoding="utf-8",
    )
    pol = policy_from_dict({"values": {"schools": {"gender": {"Co-Education": "mixed", "girls school": "girls"}, "can_host": {"Yes": True}}}})
    gdf, t = read_schools(csv, pol)
    assert list(gdf["gender"]) == ["boys", "mixed", "girls"]
    assert list(gdf["can_host"]) == [True, False, True]
    assert not [n for n in t.notes if "common codes" in n]
    how = {(v.value, v.how) for v in t.values}
    assert ("co education", "policy") in how and ("BOYS", "same") in how and ("", "blank") in how


def test_an_unmapped_code_lists_the_values_found_and_allowed(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text(
        "school_id,name,district,latitude,longitude,gender\n"
        "S01,A,M,34.33,73.2,boys\nS02,B,M,34.331,73.202,Girls & Boys\nS03,C,M,34.335,73.22,Girls & Boys\nS04,D,M,34.34,73.23,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_schools(csv)
    assert _problems(err) == [
        "s.csv, row 3, field 'gender': gender 'Girls & Boys' is not one of boys, girls, mixed (also row 4); values found in this column: "
        "'boys', 'Girls & Boys'. Fix: write boys, girls or mixed, or map the code in the policy under [values.schools.gender]: "
        '"Girls & Boys" = one of "boys", "girls", "mixed".',
        "s.csv, row 5, field 'gender': the school has no gender. Fix: fill in boys, girls or mixed.",
    ]


# --------------------------------------------------------------------------- counts and districts


def test_counts_by_gender_with_a_school_level_become_units(tmp_path):
    from cluster_mapper.planning.units import build_units
    from cluster_mapper.policy.rules import Policy

    csv = tmp_path / "s.csv"
    csv.write_text(
        "school_id,name,latitude,longitude,gender,level,male_teachers,female_teachers\n"
        "S01,A,34.33,73.2,mixed,primary,4,3\nS02,B,34.331,73.202,girls,middle,0,6\n",
        encoding="utf-8",
    )
    inputs = load_inputs(csv, policy=policy_from_dict({"district": "Oghi"}))
    units, _ = build_units(inputs, Policy())
    got = {(u.unit_id, u.gender_group, u.level_group, u.n_teachers) for u in units.itertuples()}
    assert got == {("S01:female:primary", "female", "primary", 3), ("S01:male:primary", "male", "primary", 4), ("S02", "female", "middle", 6)}
    assert set(inputs.schools["district"]) == {"Oghi"}
    both = tmp_path / "b.csv"
    both.write_text("school_id,name,district,latitude,longitude,gender,teachers,male_teachers\nS01,A,D,34.33,73.2,boys,4,4\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_inputs(both)
    assert "teacher counts are given in 2 ways (teachers, by gender)" in _problems(err)[0]


def test_district_given_for_the_run_fills_blanks_and_refuses_another(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text(
        "school_id,name,district,latitude,longitude,gender,teachers\n"
        "S01,A,Oghi,34.33,73.2,boys,4\nS02,B,,34.331,73.202,girls,4\nS03,C,Mansehra,34.335,73.22,mixed,4\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_schools(csv, policy_from_dict({"district": "oghi"}))
    assert _problems(err) == [
        "s.csv, row 4, field 'district': district 'Mansehra' differs from the district given for this run "
        "('oghi': --district or district in the policy). Fix: correct the cell, or give --district Mansehra "
        "(a file of several districts needs no --district)."
    ]
    with pytest.raises(InputError) as err:
        read_schools(csv)
    assert "row 3, field 'district': the school has no district." in _problems(err)[0]
    nodist = tmp_path / "n.csv"
    nodist.write_text("school_id,name,latitude,longitude,gender\nS01,A,34.33,73.2,boys\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_schools(nodist)
    assert "--district NAME" in _problems(err)[0]


def test_a_semicolon_table_under_a_title_with_commas_is_split_on_semicolons(tmp_path):
    """Issue 16: the separator is judged over many lines, not the first (a title) alone."""
    from cluster_mapper.inputs.cells import csv_cells, sniff_delimiter

    text = "Schools, District Mansehra, 2024\nschool_id;name;latitude\nS01;GPS Bala, Upper;34,33\nS02;GPS Pain;34,34\n"
    assert sniff_delimiter(text) == ";"
    p = tmp_path / "s.csv"
    p.write_text(text, encoding="utf-8")
    assert csv_cells(p)[2] == ["S01", "GPS Bala, Upper", "34,33"]


def test_ambiguous_numbers_and_invisible_characters_are_shown_as_they_are():
    from cluster_mapper.inputs.specs import ambiguous_number, strip_invisible, visible

    assert ambiguous_number("1,000") == "'1,000' could be 1000 (a thousands separator) or 1 (a decimal comma)"
    assert ambiguous_number("1,5") is None and ambiguous_number("1000") is None and ambiguous_number("12.5") is None
    assert visible("S01\u200b") == "S01<U+200B>" and visible("S\u00a001") == "S<U+00A0>01" and visible("GPS Bala") == "GPS Bala"
    assert strip_invisible("S01\u200b") == "S01"


def test_a_roster_id_with_a_zero_width_character_is_named_with_it_made_visible(tmp_path):
    schools = tmp_path / "s.csv"
    schools.write_text("school_id,name,district,latitude,longitude,gender\nS01,A,M,34.33,73.2,boys\nS02,B,M,34.331,73.202,boys\n", encoding="utf-8")
    roster = tmp_path / "t.csv"
    roster.write_text("teacher_id,school_id,gender,level\nT1,S01\u200b,male,primary\nT2,S02,male,primary\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_inputs(schools, roster)
    text = str(err.value)
    assert "t.csv, row 2, field 'school_id': school_id 'S01<U+200B>' is not in the schools file, but 'S01' is" in text


def test_a_level_column_that_also_names_head_posts_reads_as_level_and_role(tmp_path):
    """Issue 17: one Designation column feeds level and role; a head post needs no level and takes its school's."""
    schools = tmp_path / "s.csv"
    schools.write_text("school_id,name,district,latitude,longitude,gender\nS01,A,M,34.33,73.2,boys\n", encoding="utf-8")
    roster = tmp_path / "t.csv"
    roster.write_text("teacher_id,school_id,gender,Designation\nT1,S01,male,Head Master\nT2,S01,male,EST\nT3,S01,male,EST\nT4,S01,male,PST\n", encoding="utf-8")
    pol = policy_from_dict(
        {
            "columns": {"teachers": {"level": "Designation", "role": "Designation"}},
            "values": {"teachers": {"level": {"PST": "primary", "EST": "middle"}, "role": {"Head Master": "head_teacher"}}},
        }
    )
    t = load_inputs(schools, roster, policy=pol).teachers.set_index("teacher_id")
    assert t.loc["T1", "role"] == "head_teacher" and t.loc["T1", "level"] == "middle"  # most of the school's teachers teach middle
    assert (t.loc[["T2", "T3", "T4"], "role"] == "teacher").all()
    assert list(t.loc[["T2", "T3", "T4"], "level"]) == ["middle", "middle", "primary"]
    # a code no field knows is one problem naming both tables
    roster.write_text("teacher_id,school_id,gender,Designation\nT1,S01,male,Clerk\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_inputs(schools, roster, policy=pol)
    assert len(err.value.problems) == 1
    assert "'Clerk' is neither a role (teacher, head_teacher) nor a level (primary, middle, high)" in str(err.value)


def test_suggested_columns_come_from_their_values_never_a_running_number(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text(
        "Sr. No,Institution Code,Institution Title,District,GPS North,GPS East,Gender\n"
        "1,ATD-0101,GPS Bala,M,34.33,73.2,boys\n2,ATD-0108,GPS Pain,M,34.331,73.202,girls\n3,ATD-0115,GPS Kund,M,34.34,73.21,boys\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_schools(csv)
    text = str(err.value)
    assert '[columns.schools] school_id = "Institution Code"' in text and '= "Sr. No"' not in text
    assert '[columns.schools] name = "Institution Title"' in text  # text in words, not the code
    assert "columns 'GPS North' and 'GPS East' hold degrees north and east" in text
    assert {p.field for p in err.value.problems} >= {"school_id", "name", "latitude"}  # together, in one run


def test_two_school_ids_that_differ_only_by_an_invisible_character_are_shown_apart(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text(
        "school_id,name,district,latitude,longitude,gender,teachers\nS01,A,M,34.33,73.2,boys,6\nS01\u200b,B,M,34.331,73.202,boys,6\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        read_schools(csv)
    assert "row 3, field 'school_id': school_id 'S01<U+200B>' differs from 'S01' (row 2) only in case, spaces or invisible characters" in str(err.value)
