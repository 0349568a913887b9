"""Cells of CSV files and workbooks: text per cell, spreadsheet row numbers, the sheet to read."""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from cluster_mapper.errors import InputError, fail
from cluster_mapper.inputs.specs import TableSpec, code_key

# --------------------------------------------------------------------------- cells


def split_sheet(source: str | Path) -> tuple[Path, str | None]:
    """``"schools.xlsx#Sheet1"`` -> (``schools.xlsx``, ``"Sheet1"``); a path that exists as given has no sheet."""
    text = str(source)
    if "#" not in text or Path(text).exists():
        return Path(text), None
    base, sheet = text.rsplit("#", 1)
    return Path(base), sheet.strip() or None


def cell_text(v: Any) -> str:
    """A workbook cell as text: whole numbers without ``.0`` (ids, counts), dates in ISO form."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    return unicodedata.normalize("NFC", str(v)).strip()


def decode_text(path: Path) -> str:
    """A text file's content: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if not path.exists():
        fail(path, "the file does not exist.", fix="check the path.")
    if path.is_dir():
        fail(path, "this is a folder, not a file.", fix="give the path of the CSV file.")
    raw = path.read_bytes()
    if not raw.strip():
        fail(path, "the file is empty.", fix="export the table again with its header row.", row=1)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        fail(path, "the file contains binary data, not text.", fix="export the table as CSV (UTF-8), or give the workbook itself (.xlsx, .ods).")
    return text


#: How many lines from the top the separator is judged on.
SNIFF_LINES = 50


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits most of the first lines into the same number of cells.

    Judged over :data:`SNIFF_LINES` non-blank lines (quotes respected), so a
    title line above a semicolon table ("Schools, District Abbottabad") does
    not decide it.
    """
    lines = [ln for ln in text.splitlines()[: SNIFF_LINES * 2] if ln.strip()][:SNIFF_LINES]
    best, score = ",", (-1, -1)
    for d in (",", ";", "\t"):
        widths = [len(r) for r in csv.reader(lines, delimiter=d)]
        counts: dict[int, int] = {}
        for w in widths:
            if w > 1:
                counts[w] = counts.get(w, 0) + 1
        if not counts:
            continue
        width, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if (n, width) > score:
            best, score = d, (n, width)
    return best


def csv_cells(path: Path) -> list[list[str]]:
    """Every row of a CSV as stripped text; comma, semicolon or tab separated (see :func:`sniff_delimiter`)."""
    text = decode_text(path)
    delim = sniff_delimiter(text)
    return [[c.strip() for c in r] for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]


@dataclass
class _Sheet:
    cells: list[list[str]]
    merged: list[tuple[int, int, int, int]] | None
    name: str | None
    notes: list[str] = field(default_factory=list)
    #: Several sheets hold data: messages name the sheet (``file.xlsx#Sheet``).
    several: bool = False
    #: 0-based ``(row, column)`` of formulas saved without their value, with the formula.
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    #: 0-based ``(row, column)`` of cells holding a date or time.
    dates: set[tuple[int, int]] = field(default_factory=set)


#: A formula cell saved with no value: ``<f>..</f>`` (or ``<f .../>``) followed by an empty or absent ``<v>``.
_FORMULA_NO_VALUE = re.compile(rb"(</f>|<f[^>]*/>)\s*(<v\s*/>|<v>\s*</v>)?\s*</c>")


def _may_hold_formulas_without_values(path: Path) -> bool:
    """A quick look at the worksheets' XML: whether any formula cell has no saved value (most exports have none)."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(_FORMULA_NO_VALUE.search(z.read(n)) for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    except (OSError, zipfile.BadZipFile, KeyError):
        return False


def _formulas_without_values(path: Path, sheet: str, cells: list[list[str]]) -> dict[tuple[int, int], str]:
    """Formula cells of an .xlsx/.xlsm sheet that were saved without a value (read as empty by calamine)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not _may_hold_formulas_without_values(path):
        return {}
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - calamine read it; a second opinion is optional
        return {}
    out: dict[tuple[int, int], str] = {}
    try:
        for i, row in enumerate(wb[sheet].iter_rows(values_only=True)):
            for j, v in enumerate(row):
                if isinstance(v, str) and v.startswith("=") and (i >= len(cells) or j >= len(cells[i]) or not cells[i][j]):
                    out[(i, j)] = v
    finally:
        wb.close()
    return out


def _pick_sheet(path: Path, names: list[str], filled: dict[str, bool], wanted: str | None, spec: TableSpec, from_policy: bool) -> tuple[str, list[str]]:
    """The sheet to read: the one asked for, the only one with data, or the one named like the table (announced)."""
    if wanted is not None:
        if wanted in names:
            return wanted, []
        same = [n for n in names if code_key(n) == code_key(wanted)]
        if same:
            return same[0], []
        close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
        where = "[sheets] in the policy" if from_policy else "the sheet after # in the file name"
        fail(
            path,
            f"the workbook has no sheet '{wanted}' (sheets: {', '.join(names)}).",
            fix=f"correct {where}" + (f": did you mean '{close[0]}'?" if close else "."),
            field="sheet",
        )
    with_data = [n for n in names if filled[n]]
    if not with_data:
        fail(path, "every sheet of the workbook is empty.", fix="save the workbook with the table in it.", row=1)
    if len(with_data) == 1:
        return with_data[0], []
    named = [n for n in with_data if any(w in code_key(n) for w in spec.sheet_words)]
    if len(named) == 1:
        return named[0], [
            f"{len(with_data)} sheets hold data; read sheet '{named[0]}' for the {spec.kind} (by its name; to choose another: {path.name}#SHEET or [sheets] {spec.kind} = \"...\")"
        ]
    fail(
        path,
        f"the workbook has {len(with_data)} sheets with data ({', '.join(with_data)}); which one holds the {spec.kind}?",
        fix=f'add the sheet to the file name ({path.name}#{with_data[0]}), or set [sheets] {spec.kind} = "{with_data[0]}" in the policy.',
        field="sheet",
    )
    raise AssertionError  # pragma: no cover - fail raises


def workbook_cells(path: Path, sheet: str | None, spec: TableSpec, from_policy: bool = False) -> _Sheet:
    """The cells of one sheet of an .xlsx, .xlsm, .xls, .xlsb or .ods workbook (python-calamine).

    Rows and columns are absolute: ``cells[0][0]`` is cell A1. Merged ranges
    are 0-based ``(first_row, first_col, last_row, last_col)``; ``None`` when
    the format does not say (calamine reports them for Excel files, not ODS).
    """
    import python_calamine as pc

    if not path.exists():
        fail(path, "the file does not exist.", fix="check the path.")
    if path.is_dir():
        fail(path, "this is a folder, not a workbook.", fix="give the path of the .xlsx or .ods file.")
    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError:
        fail(path, "the workbook is protected by a password.", fix="save a copy without the password (File > Info > Protect Workbook) and give that.")
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for corrupt or mislabelled files
        fail(
            path,
            f"could not be read as a {path.suffix.lower()} workbook ({type(exc).__name__}: {exc}).",
            fix="check the file opens in Excel or LibreOffice; save it again as .xlsx, or export the sheet as CSV.",
        )
    try:
        meta = {m.name: m for m in wb.sheets_metadata}
        names = [n for n in wb.sheet_names if str(getattr(meta.get(n), "typ", "WorkSheet")).endswith("WorkSheet")]
        if not names:
            fail(path, "the workbook has no worksheets.", fix="save the workbook with the table on a worksheet.")
        cache: dict[str, list[list[Any]]] = {}

        def rows(name: str) -> list[list[Any]]:
            if name not in cache:
                cache[name] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            return cache[name]

        filled = {n: any(cell_text(v) for r in rows(n) for v in r) for n in names} if sheet is None else {}
        name, notes = _pick_sheet(path, names, filled, sheet, spec, from_policy)
        ws = wb.get_sheet_by_name(name)
        merged = ws.merged_cell_ranges
        cells = [[cell_text(v) for v in r] for r in rows(name)]
        dates = {(i, j) for i, r in enumerate(rows(name)) for j, v in enumerate(r) if isinstance(v, (datetime, date, time))}
        several = sum(1 for n in names if n == name or filled.get(n, True)) > 1
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet calamine cannot decode
        fail(path, f"the workbook could not be read ({type(exc).__name__}: {exc}).", fix="save it again as .xlsx, or export the sheet as CSV.")
    finally:
        wb.close()
    ranges = None if merged is None else [(int(a[0]), int(a[1]), int(b[0]), int(b[1])) for a, b in merged]
    return _Sheet(cells, ranges, name, notes, several, _formulas_without_values(path, name, cells), dates)
