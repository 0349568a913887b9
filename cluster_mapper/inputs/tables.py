"""Read a table as a district office keeps it: CSV, workbook or GIS layer, its headers, its codes.

One path for every input table (schools, teacher rosters, and any other
reader that declares a :class:`TableSpec`)::

    file ──► cells ──────────► table ─────────────► columns ─────────────► values
    (.csv,    (text per cell,   (title rows, one or   (the policy's         (the policy's
     .xlsx,    spreadsheet       two header rows,      [columns.KIND], the   [values.KIND.FIELD],
     .ods,     row numbers,      merged cells, blank   tool's own names,     the tool's own codes,
     .geojson) merged ranges)    rows, trailing        common synonyms)      common codes)
                                 notes)

:func:`read_table` runs all four steps with one :class:`~cluster_mapper.errors.ProblemCollector`
and returns a :class:`Table`: the rows under the tool's column names and
codes, the spreadsheet row of each, and a record of how every column and
value was read (:class:`ColumnReading`, :class:`ValueReading`). Every guess
(a synonym header, a common code, a sheet chosen by its name, rows skipped
as notes) is announced in :attr:`Table.notes`; an explicit mapping never
falls back to a guess.

Row numbers are what the spreadsheet shows (the first row of the sheet is
row 1, wherever the header is); for GeoJSON and GeoPackage layers the row is
the feature number, starting at 1.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cluster_mapper.errors import InputProblem, ProblemCollector, fail
from cluster_mapper.inputs.cells import cell_text, csv_cells, split_sheet, workbook_cells
from cluster_mapper.inputs.specs import FieldSpec, InputSettings, TableSpec, code_key, column_letter, header_key, visible

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
#: Most values listed when a column holds values the tool does not know.
MAX_VALUES_LISTED = 12

_TOTAL_ROW = re.compile(r"^(grand\s*)?(total|sum)\b", re.IGNORECASE)


# --------------------------------------------------------------------------- what was read, and how


@dataclass(frozen=True)
class ColumnReading:
    """How one of the tool's columns was found in the file.

    ``how`` is ``"policy"`` (named in ``[columns.KIND]``), ``"name"`` (the
    tool's own name), ``"synonym"`` (a common name: a guess, announced) or
    ``"degrees"`` (x/y read as longitude/latitude, announced).
    """

    field: str
    header: str
    how: str
    letter: str = ""


@dataclass(frozen=True)
class ValueReading:
    """How one code of the file was read: ``value`` in ``header`` became ``code`` in ``count`` rows.

    ``how`` is ``"policy"`` (``[values.KIND.FIELD]``), ``"same"`` (the tool's
    own code, case and spacing aside), ``"common"`` (a common code: a guess,
    announced), ``"blank"`` (an empty cell, read as the column's default) or
    ``"unknown"`` (refused).
    """

    field: str
    header: str
    value: str
    code: str | None
    count: int
    how: str


@dataclass
class Table:
    """One input table read under the tool's names and codes.

    Attributes
    ----------
    kind : str
        ``schools``, ``teachers`` ...
    path : Path
        The file.
    sheet : str or None
        The workbook sheet read (``None`` for CSV and GIS files).
    data : pandas.DataFrame
        One row per table row: the tool's columns found (text, codes mapped),
        ``_row`` (spreadsheet row) and, for GIS layers, ``_geometry``.
    headers : dict
        The tool's column name to the file's header.
    columns : list of ColumnReading
    values : list of ValueReading
    unused : list of str
        The file's headers that stand for none of the tool's columns.
    notes : list of str
        Every guess and every skipped row, for the plan summary and the CLI.
    problems : ProblemCollector
        Problems found so far; the reader adds its own and raises them all.
    header_row : int
        The spreadsheet row of the (last) header row: where column problems point.
    crs : object
        The CRS of a GIS layer's geometry, else ``None``.
    """

    kind: str
    path: Path
    sheet: str | None
    data: pd.DataFrame
    headers: dict[str, str]
    columns: list[ColumnReading]
    values: list[ValueReading]
    unused: list[str]
    notes: list[str]
    problems: ProblemCollector
    header_row: int = 1
    crs: Any = None
    raw: RawTable | None = None

    def has(self, name: str) -> bool:
        """Whether the file has the tool's column ``name`` (or a column standing for it)."""
        return name in self.headers

    def field(self, name: str) -> str:
        """The field to name in a problem: the file's header of ``name`` (``name`` itself when absent)."""
        return self.headers.get(name, name)

    @property
    def source(self) -> str:
        """``file.xlsx#Sheet`` or the file name, for messages."""
        return f"{self.path.name}#{self.sheet}" if self.sheet else self.path.name

    def how_read(self) -> list[str]:
        """How each column and value was read, one line each (for ``cluster-mapper inspect``)."""
        words = {"policy": "named in the policy", "name": "the tool's name", "synonym": "a common name (guess)", "degrees": "degrees (guess)"}
        lines = [f"{c.field:<16} <- '{c.header}'" + (f" (column {c.letter})" if c.letter else "") + f": {words.get(c.how, c.how)}" for c in self.columns]
        if self.unused:
            lines.append("not used: " + ", ".join(f"'{h}'" for h in self.unused))
        vwords = {"policy": "policy", "same": "as is", "common": "common code (guess)", "blank": "blank: default", "unknown": "NOT KNOWN"}
        for v in self.values:
            if v.how != "same" or code_key(v.value) != code_key(v.code or ""):
                lines.append(f"{v.field:<16} '{v.value}' -> {v.code or '?'} ({v.count} row{'s' if v.count != 1 else ''}, {vwords[v.how]})")
        return lines


# --------------------------------------------------------------------------- table structure


@dataclass
class RawTable:
    """A table's header and rows as text, before any mapping.

    ``headers`` are the file's own; ``records`` have one text per header;
    ``rows`` are the spreadsheet rows of the records; ``header_row`` is the
    row of the (last) header row.
    """

    headers: list[str]
    records: list[list[str]]
    rows: list[int]
    header_row: int = 1
    notes: list[str] = field(default_factory=list)
    letters: bool = False
    geometry: list | None = None
    crs: Any = None
    several: bool = False
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    dates: set[tuple[int, int]] = field(default_factory=set)


def _quote(text: str, n: int = 40) -> str:
    return "'" + (text if len(text) <= n else text[: n - 1] + "…") + "'"


def _row_span(rows: list[int]) -> str:
    return f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}-{rows[-1]}" if rows[-1] - rows[0] == len(rows) - 1 else "rows " + ", ".join(map(str, rows))


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


#: How many rows from the top are looked at for the header row.
HEADER_SEARCH_ROWS = 30


def structure(
    cells: list[list[str]],
    merged: list[tuple[int, int, int, int]] | None,
    col: ProblemCollector,
    *,
    letters: bool,
    what: str = "file",
    known: set[str] | None = None,
) -> RawTable:
    """Find the table in a sheet's cells: its header row(s), its rows, what lies around it.

    - The header is the first row with two or more values or, when
      ``known`` header keys (:func:`header_key`) are given, the row among the
      first :data:`HEADER_SEARCH_ROWS` that names most of them; rows above it
      (a title, "District: Abbottabad") are skipped and announced.
    - A header over two rows (a name merged over several columns with their
      own names below, e.g. ``Teachers`` over ``Male`` and ``Female``) is read
      as ``Teachers Male``, ``Teachers Female`` and announced; a header cell
      merged over columns that have no names of their own is refused.
    - Blank rows are skipped; cells merged down the rows of the table give
      their value to every row (announced).
    - Rows below the table holding one value (notes, sources) and a last
      ``Total`` row are skipped and announced; a row with one value inside
      the table is refused (a heading or an unfinished row).
    - A value in a column without a header is refused.
    """
    width = max((len(r) for r in cells), default=0)
    grid = [r + [""] * (width - len(r)) for r in cells]
    name_of = (lambda j: f"column {column_letter(j)}") if letters else (lambda j: f"column {j + 1}")
    h, notes = _header_row(grid, col, what=what, known=known)
    merged = merged or []
    header, last_header = _header(grid, h, merged, width, col, notes, name_of)
    # ---- the table's width: up to the last named column
    named = [j for j in range(width) if header[j]]
    ncol = named[-1] + 1 if named else 0
    data, body, last = _body(grid, header, merged, last_header, width, ncol, notes, name_of)
    # ---- unnamed columns and stray values
    for j in range(ncol):
        if not header[j] and any(data[i][j] for i in body if i <= last):
            col.add(
                f"a column has no name in the header row ({name_of(j)} holds values).", row=last_header + 1, fix="name every column or delete the empty one."
            )
    records, rows = _records(data, body, last, ncol, width, col, letters, name_of)
    return RawTable(header[:ncol], records, rows, last_header + 1, notes, letters)


def _header_row(grid: list[list[str]], col: ProblemCollector, *, what: str, known: set[str] | None) -> tuple[int, list[str]]:
    """The header row (the first with two or more values, or the one naming most ``known`` headers); the title rows above it announced."""
    filled = [sum(1 for c in r if c) for r in grid]
    if not any(filled):
        fail(col.file, f"the {what} has no header row.", fix="export the table again with its header row.", row=1)
    candidates = [i for i, n in enumerate(filled[:HEADER_SEARCH_ROWS]) if n >= 2] or [i for i, n in enumerate(filled) if n >= 2][:1]
    if not candidates:
        first = next(i for i, n in enumerate(filled) if n)
        fail(
            col.file,
            "no row has two or more values, so there is no header row naming the columns.",
            fix="put the column names in one row above the table.",
            row=first + 1,
        )
    h = candidates[0]
    if known:
        scores = [sum(1 for c in grid[i] if c and header_key(c) in known) for i in candidates]
        best = max(range(len(candidates)), key=lambda k: (scores[k], -k))
        if scores[best] > scores[0]:
            h = candidates[best]
    notes: list[str] = []
    titles = [i for i in range(h) if filled[i]]
    if titles:
        notes.append(f"{_row_span([i + 1 for i in titles])} above the header skipped: " + ", ".join(_quote(next(c for c in grid[i] if c)) for i in titles))
    return h, notes


def _header_groups(grid: list[list[str]], h: int, merged: list, width: int) -> dict[int, int]:
    """Columns under a header name that spans several (merged, or a name followed by blank cells with names below): column -> its group's first."""
    header = grid[h]
    below = grid[h + 1] if h + 1 < len(grid) else None
    groups: dict[int, int] = {}  # column -> first column of its header group
    for r0, c0, r1, c1 in merged:
        if r0 == h and r1 == h and c1 > c0:
            for j in range(c0, c1 + 1):
                groups[j] = c0
    if below is not None and not merged:
        j = 0
        while j < width:  # a name followed by blank header cells, with names below each of them (an ODS or CSV export of merged cells)
            k = j + 1
            while k < width and not header[k] and below[k]:
                k += 1
            if header[j] and k > j + 1 and below[j]:
                for m in range(j, k):
                    groups[m] = j
            j = max(k, j + 1)
    return groups


def _header(grid: list[list[str]], h: int, merged: list, width: int, col: ProblemCollector, notes: list[str], name_of) -> tuple[list[str], int]:
    """The column names: one header row, or two (a name over several columns, announced); the last header row's index."""
    header = list(grid[h])
    below = grid[h + 1] if h + 1 < len(grid) else None
    groups = _header_groups(grid, h, merged, width)
    two_rows = False
    if below is not None and groups:
        texts = [c for c in below if c]
        names_below = all(below[j] for j in groups)
        gaps_below = any(header[j] and not below[j] for j in range(width))
        two_rows = bool(names_below and texts and not any(_is_number(c) for c in texts) and (gaps_below or merged))
    if two_rows and below is not None:
        names = []
        for j in range(width):
            parent = header[groups[j]] if j in groups else header[j]
            child = below[j]
            names.append(f"{parent} {child}".strip() if parent and child else parent or child)
        combined = [names[j] for j in sorted(groups)]
        notes.append(f"the header spans rows {h + 1}-{h + 2} (a name over several columns): read as " + ", ".join(_quote(n) for n in combined))
        return names, h + 1
    for r0, c0, _r1, c1 in merged:
        if r0 == h and c1 > c0 and header[c0]:
            spanned = [j for j in range(c0 + 1, c1 + 1) if any(grid[i][j] for i in range(h + 1, len(grid)))]
            if spanned:
                col.add(
                    f"the header cell '{header[c0]}' is merged over columns {column_letter(c0)}:{column_letter(c1)}, and {name_of(spanned[0])} holds values but has no name of its own.",
                    row=h + 1,
                    field=header[c0],
                    fix="unmerge the header cells and give each column its own name (or add a second header row naming them).",
                )
                for j in spanned:
                    header[j] = f"{header[c0]} ({column_letter(j)})"
    return header, h


def _body(grid, header: list[str], merged: list, last_header: int, width: int, ncol: int, notes: list[str], name_of) -> tuple[list[list[str]], list[int], int]:
    """The data cells (merged cells filled down, announced), the non-blank rows, and the last row of the table (totals and notes below it announced)."""
    start = last_header + 1
    data = [list(r[:width]) for r in grid]
    filled_down: dict[int, list[int]] = {}
    for r0, c0, r1, c1 in merged:
        if r0 >= start and (r1 > r0 or c1 > c0):
            value = data[r0][c0]
            for i in range(r0, min(r1, len(data) - 1) + 1):
                for j in range(c0, c1 + 1):
                    data[i][j] = value
            if r1 > r0 and value:
                filled_down.setdefault(c0, []).append(r0)
    for j, starts in sorted(filled_down.items()):
        if j < ncol:
            notes.append(
                f"cells merged down {header[j] and _quote(header[j]) or name_of(j)} give their value to every row they cover ({len(starts)} merged block{'s' if len(starts) > 1 else ''})"
            )
    counts = [sum(1 for c in r[:ncol] if c) for r in data]
    body = [i for i in range(start, len(data)) if any(data[i])]
    full = [i for i in body if counts[i] >= 2]
    last = full[-1] if full else start - 1
    totals = []
    while full and _TOTAL_ROW.match(next(c for c in data[last][:ncol] if c)):
        notes.append(f"row {last + 1} at the end of the table looks like a total ({_quote(next(c for c in data[last] if c))}) and was skipped")
        totals.append(full.pop())
        last = full[-1] if full else start - 1
    after = [i for i in body if i > last and i not in totals]
    if after:
        notes.append(
            f"{_row_span([i + 1 for i in after])} below the table look{'s' if len(after) == 1 else ''} like notes and {'was' if len(after) == 1 else 'were'} skipped: "
            + ", ".join(_quote(next(c for c in data[i] if c)) for i in after[:3])
            + (" ..." if len(after) > 3 else "")
        )
    return data, body, last


def _records(data, body: list[int], last: int, ncol: int, width: int, col: ProblemCollector, letters: bool, name_of) -> tuple[list[list[str]], list[int]]:
    """The table's rows and their spreadsheet numbers; values outside the columns and lone values inside the table refused."""
    records, rows = [], []
    for i in body:
        if i > last:
            continue
        extra = [j for j in range(ncol, width) if data[i][j]]
        if extra:
            if letters:
                col.add(
                    f"the row has a value in {name_of(extra[0])} ({_quote(data[i][extra[0]])}), to the right of the table, under no header.",
                    row=i + 1,
                    fix="delete it (or move the note below the table), or give its column a header.",
                )
            else:
                col.add(
                    f"the row has {max(extra) + 1} values but the header has {ncol} columns.",
                    row=i + 1,
                    fix="check for a stray separator (for example a comma inside a name) on this row.",
                )
            continue
        if sum(1 for c in data[i][:ncol] if c) == 1 and ncol > 2:
            value = next(c for c in data[i][:ncol] if c)
            col.add(
                f"the row holds a single value ({_quote(value)}) in a table of {ncol} columns: a heading or note inside the table, or a row left unfinished.",
                row=i + 1,
                fix="delete the row, move the note below the table, or fill in the row.",
            )
            continue
        records.append(data[i][:ncol])
        rows.append(i + 1)
    return records, rows


def geo_table(path: Path) -> RawTable:
    """A GeoJSON, GeoPackage or Shapefile layer as a table: its properties, its geometry, one row per feature."""
    import geopandas as gpd
    import numpy as np

    if not path.exists():
        fail(path, "the file does not exist.", fix="check the path.")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - pyogrio raises many types for corrupt files
        fail(path, f"could not be read as a geographic file ({type(exc).__name__}: {exc}).", fix="check the file opens in QGIS, or export the table as CSV.")
    if len(gdf) == 0:
        fail(path, "the file has no features.", fix="check you exported the right layer.")
    props = [c for c in gdf.columns if c != gdf.geometry.name]

    def text(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        return cell_text(v)

    records = [[text(v) for v in r] for r in gdf[props].itertuples(index=False, name=None)]
    return RawTable([str(p) for p in props], records, list(range(1, len(gdf) + 1)), 1, [], False, list(gdf.geometry), gdf.crs)


def read_raw(
    path: Path, sheet: str | None, spec: TableSpec, col: ProblemCollector, *, sheet_from_policy: bool = False, mapping: dict[str, str] | None = None
) -> tuple[RawTable, str | None]:
    """The raw table of any supported file, and the sheet read (workbooks only).

    The header row is the one naming most of the ``spec``'s columns (their
    names, synonyms and the headers ``mapping`` gives them).
    """
    suffix = path.suffix.lower()
    known = {header_key(k) for f in spec.fields for k in (f.name, *f.synonyms)} | {header_key(h) for h in (mapping or {}).values()}
    if suffix in WORKBOOK_SUFFIXES:
        ws = workbook_cells(path, sheet, spec, from_policy=sheet_from_policy)
        raw = structure(ws.cells, ws.merged, col, letters=True, what=f"sheet '{ws.name}'", known=known)
        raw.notes[:0] = ws.notes
        raw.several, raw.formulas, raw.dates = ws.several, ws.formulas, ws.dates
        return raw, ws.name
    if sheet is not None and not sheet_from_policy:
        fail(path, f"a sheet was given (#{sheet}) but a {suffix or 'text'} file has no sheets.", fix="give the file name without #SHEET, or give the workbook.")
    if suffix in GEO_SUFFIXES:
        return geo_table(path), None
    if suffix in CSV_SUFFIXES:
        return structure(csv_cells(path), None, col, letters=False, known=known), None
    fail(path, f"unknown file type '{suffix}'.", fix=f"give the {spec.kind} as .csv, .xlsx, .ods, .geojson or .gpkg.")
    raise AssertionError  # pragma: no cover


# --------------------------------------------------------------------------- columns


def _looks_like_names(values: list[str]) -> bool:
    """Mostly multi-word text: a name column, not an id column."""
    vals = [v for v in values if v]
    return bool(vals) and sum(1 for v in vals if " " in v.strip() and re.search(r"[^\W\d_]", v)) > len(vals) / 2


def _numbers(values: list[str]) -> list[float] | None:
    """The values as numbers, or ``None`` when a filled value is not one."""
    out = []
    for v in values:
        if not v:
            continue
        try:
            out.append(float(v))
        except ValueError:
            return None
    return out


def _is_serial(values: list[str]) -> bool:
    """A running number (1, 2, 3 ...): a "Sr. No" column, never an id of the office's."""
    nums = _numbers(values)
    return bool(nums) and nums is not None and nums[0] in (0, 1) and all(b - a == 1 for a, b in zip(nums, nums[1:], strict=False))


def _evidence(fs: FieldSpec, spec: TableSpec, vals: list[str], other_ids: set[str] | None) -> bool:
    """Whether a column's values could hold ``fs``: an id unique (or matching the other table's ids), a name as text, a position in range."""
    filled = [v for v in vals if v]
    if not filled:
        return False
    if fs.name.endswith("_id"):
        if _looks_like_names(vals) or _is_serial(vals):
            return False
        if fs.name == spec.id_field:
            return len(set(filled)) == len(filled)
        return other_ids is None or sum(v in other_ids for v in filled) > len(filled) / 2
    if fs.name == "name":
        return _looks_like_names(vals)  # words with letters ("GPS Bala"), not codes ("ATD-0101")
    if fs.name in ("latitude", "longitude"):
        nums = _numbers(filled)
        bound = 90 if fs.name == "latitude" else 180
        return nums is not None and all(abs(x) <= bound for x in nums) and any(x != int(x) for x in nums)
    return True


#: Headers of running numbers, never suggested for an id.
_SERIAL_HEADERS = {"srno", "sno", "serialno", "serial", "serialnumber", "sr", "sl", "slno", "no", "number", "rowno"}

#: Words in a header that say it holds a latitude or a longitude.
_POSITION_WORDS = {"latitude": ("north", "lat", "y", "n"), "longitude": ("east", "lon", "long", "lng", "x", "e")}


def _advice(fs: FieldSpec, spec: TableSpec, unused: list[str], raw: RawTable, other_ids: set[str] | None = None) -> str | None:
    """The unused header most likely to hold ``fs``, judged by its name and by its values (see :func:`_evidence`)."""
    keys = [header_key(fs.name)] + [header_key(s) for s in fs.synonyms]
    best, score = None, 0.0
    for h in unused:
        j = raw.headers.index(h)
        vals = [r[j] for r in raw.records]
        if not _evidence(fs, spec, vals, other_ids) or header_key(h) in _SERIAL_HEADERS:
            continue
        s = max(difflib.SequenceMatcher(None, header_key(h), k).ratio() for k in keys)
        words = set(re.findall(r"[a-z]+", h.casefold()))
        if fs.name in _POSITION_WORDS and words & set(_POSITION_WORDS[fs.name]):
            s = max(s, 0.9)
        if fs.name.endswith("_id") and ({"code", "id", "no", "number", "emis"} & words):
            s = max(s, 0.7)
        if fs.name == "name" and "name" in words:
            s = max(s, 0.7)
        if s > score:
            best, score = h, s
    return best if score >= 0.6 else None


def position_advice(raw: RawTable, unused: list[str]) -> tuple[str, str] | None:
    """Two unused columns that hold latitude and longitude by their values and names (``"GPS North"``, ``"GPS East"``)."""
    spec_lat = FieldSpec("latitude", "")
    spec_lon = FieldSpec("longitude", "")
    dummy = TableSpec("schools", (), "school_id")
    lat = _advice(spec_lat, dummy, unused, raw)
    lon = _advice(spec_lon, dummy, [h for h in unused if h != lat], raw)
    return (lat, lon) if lat and lon else None


def resolve_columns(
    raw: RawTable, spec: TableSpec, mapping: dict[str, str], col: ProblemCollector, *, optional: tuple[str, ...] = (), other_ids: set[str] | None = None
) -> tuple[dict[str, int], list[ColumnReading], list[str]]:
    """Which column of the file stands for each of the tool's columns.

    In order: the policy's ``[columns.KIND]`` (a header named there must be
    in the file), the tool's own name, then a common synonym (announced).
    Two candidate columns for one of the tool's columns, a header used twice,
    and a required column found nowhere are problems; the advice for a
    missing column names the likeliest unused column and the mapping line.

    Returns
    -------
    index : dict
        The tool's column name to the file's column index.
    readings : list of ColumnReading
    notes : list of str
        One line per guess.
    """
    keys = [header_key(h) for h in raw.headers]
    letter = (lambda j: column_letter(j)) if raw.letters else (lambda j: "")
    index: dict[str, int] = {}
    readings: list[ColumnReading] = []
    used: set[int] = set()
    row = raw.header_row
    found_list = ", ".join(h for h in raw.headers if h) or "none"
    for name, header in mapping.items():
        if not any(f.name == name for f in spec.fields):
            col.add(
                f"[columns.{spec.kind}] names '{name}', which is not a column of the {spec.kind} table.",
                row=row,
                field=name,
                fix=f"use one of {', '.join(f.name for f in spec.fields)}.",
            )
            continue
        hits = [j for j, k in enumerate(keys) if k == header_key(header)]
        if not hits:
            close = difflib.get_close_matches(header, [h for h in raw.headers if h], n=1, cutoff=0.5)
            col.add(
                f"the column '{header}' that the policy names for {name} ([columns.{spec.kind}] {name}) is not in the file (columns found: {found_list}).",
                row=row,
                field=header,
                fix=f'write the header exactly as in the file: {name} = "{close[0]}".'
                if close
                else "write the header exactly as in the file, or add the column.",
            )
            continue
        if len(hits) > 1:
            col.add(f"the column '{header}' appears {len(hits)} times.", row=row, field=header, fix="delete or rename all but one of them.")
        index[name] = hits[0]
        used.add(hits[0])
        readings.append(ColumnReading(name, raw.headers[hits[0]], "policy", letter(hits[0])))
    notes: list[str] = []
    for fs in spec.fields:
        if fs.name in index or fs.name in mapping:
            continue
        same = [j for j, k in enumerate(keys) if k == header_key(fs.name) and j not in used]
        how = "name"
        if not same:
            syn = {header_key(s) for s in fs.synonyms}
            same = [j for j, k in enumerate(keys) if k in syn and j not in used]
            how = "synonym"
        if not same:
            continue
        if len(same) > 1:
            hs = [raw.headers[j] for j in same]
            if how == "name":
                col.add(f"the column '{hs[0]}' appears {len(same)} times.", row=row, field=hs[0], fix="delete or rename all but one of them.")
            else:
                col.add(
                    f"{len(same)} columns could hold {fs.name}: " + ", ".join(f"'{h}'" for h in hs) + ".",
                    row=row,
                    field=fs.name,
                    fix=f'name the right one in the policy: [columns.{spec.kind}] {fs.name} = "{hs[0]}".',
                )
            continue
        j = same[0]
        index[fs.name] = j
        used.add(j)
        readings.append(ColumnReading(fs.name, raw.headers[j], how, letter(j)))
        if how == "synonym":
            notes.append(
                f"column '{raw.headers[j]}' read as {fs.name} ({fs.description}); to make it explicit: [columns.{spec.kind}] {fs.name} = \"{raw.headers[j]}\""
            )
    unused = [raw.headers[j] for j in range(len(raw.headers)) if j not in used and raw.headers[j]]
    for fs in spec.fields:
        if fs.required and fs.name not in index and fs.name not in mapping and fs.name not in optional:
            best = _advice(fs, spec, unused, raw, other_ids)
            fix = (
                f"name the column that holds it in the policy: [columns.{spec.kind}] {fs.name} = \"{best}\" (or rename '{best}' to '{fs.name}')."
                if best
                else f"add a '{fs.name}' column ({fs.description}), or name the column that holds it in the policy: [columns.{spec.kind}] {fs.name} = \"Your header\"."
            )
            col.add(f"the required column '{fs.name}' is missing (columns found: {found_list}).", row=row, field=fs.name, fix=fix)
    return index, readings, notes


# --------------------------------------------------------------------------- values


#: One refused code: (row, the file's value, message, fix, the tool's field).
CodeProblem = tuple[int, str, str, str, str]


def map_codes(
    values: list[str],
    rows: list[int],
    fs: FieldSpec,
    header: str,
    spec: TableSpec,
    policy_map: dict[str, Any],
    *,
    shared_known: set[str] | None = None,
    free_rows: set[int] | None = None,
) -> tuple[list[str], list[ValueReading], list[str], list[CodeProblem]]:
    """The tool's code for each cell of a column with codes.

    A cell's code comes from the policy's ``[values.KIND.FIELD]``, else the
    tool's own code (case and spacing ignored), else a common code
    (announced), else a blank cell's default. When the file's column also
    feeds other fields (a Designation column for level and role), a value
    that another field knows (``shared_known``, :func:`code_key` form) takes
    this field's blank default, and rows in ``free_rows`` (head teachers, for
    the level) need no value here. Any other value is one problem per
    distinct value (at its first row), listing the rows, the values found in
    the column and those allowed; its cells become ``""``.

    Returns
    -------
    codes : list of str
    readings : list of ValueReading
    notes : list of str
    problems : list of CodeProblem
        Not yet added to a collector: the caller merges those of a shared column.
    """
    kind = spec.kind
    explicit = {code_key(k): fs.canonical(v) for k, v in policy_map.items()}
    plain = fs.plain_codes()
    common = {code_key(a): c for a, c in fs.aliases}
    shared_known = shared_known or set()
    free_rows = free_rows or set()
    out: list[str] = []
    seen: dict[tuple[str, str | None, str], list[int]] = {}
    problems: list[CodeProblem] = []
    for v, r in zip(values, rows, strict=True):
        k = code_key(v)
        code: str | None
        if v == "":
            code, how = (fs.blank or "", "blank")
            if fs.blank is None and fs.required and r not in free_rows:
                problems.append((r, v, f"the {spec.item} has no {fs.name}.", f"fill in {fs.allowed_text()}.", fs.name))
        elif k in explicit:
            code, how = explicit[k], "policy"
        elif k in plain:
            code, how = plain[k], "same"
        elif k in common:
            code, how = common[k], "common"
        elif r in free_rows or (k in shared_known and fs.blank is not None):
            code, how = (fs.blank or "", "blank")
        else:
            code, how = None, "unknown"
        out.append(code or "")
        seen.setdefault((v, code, how), []).append(r)
    readings = [ValueReading(fs.name, header, v, code, len(rs), how) for (v, code, how), rs in seen.items()]
    found = sorted({v for (v, _, _) in seen if v}, key=str.casefold)
    listed = ", ".join(f"'{visible(v)}'" for v in found[:MAX_VALUES_LISTED]) + (
        f" and {len(found) - MAX_VALUES_LISTED} more" if len(found) > MAX_VALUES_LISTED else ""
    )
    choices = " or ".join(["true", "false"]) if fs.boolean else ", ".join(f'"{c}"' for c in fs.choices or ())
    for (v, _code, how), rs in seen.items():
        if how != "unknown":
            continue
        more = f" (also row{'s' if len(rs) > 2 else ''} {', '.join(map(str, rs[1:6]))}{' ...' if len(rs) > 6 else ''})" if len(rs) > 1 else ""
        post = _other_field_code(fs, spec, v)
        if post is not None:  # a head post in a Designation column read as the level
            other, code = post
            problems.append(
                (
                    rs[0],
                    v,
                    f"'{visible(v)}' is a {other} ({code}), not a {fs.name}{more}; a {code} needs no {fs.name}.",
                    f'read the column as the {other} too: [columns.{kind}] {other} = "{header}" and [values.{kind}.{other}] "{visible(v)}" = "{code}" '
                    f"(one column may feed both).",
                    fs.name,
                )
            )
            continue
        problems.append(
            (
                rs[0],
                v,
                f"{fs.name} '{visible(v)}' is not one of {', '.join(fs.choices or ())}{more}; values found in this column: {listed}.",
                f'write {fs.allowed_text()}, or map the code in the policy under [values.{kind}.{fs.name}]: "{visible(v)}" = one of {choices}.',
                fs.name,
            )
        )
    guesses = [f"'{r.value}' as {r.code}" for r in readings if r.how == "common"]
    notes = [f"{fs.name} values read as common codes: {', '.join(guesses)}; to make it explicit: [values.{kind}.{fs.name}]"] if guesses else []
    return out, readings, notes, problems


def _other_field_code(fs: FieldSpec, spec: TableSpec, value: str) -> tuple[str, str] | None:
    """``(field, code)`` when ``value`` is the code that makes ``fs`` unneeded (``"Head Master"``: role head_teacher, so no level)."""
    if fs.not_needed_when is None:
        return None
    other, code = fs.not_needed_when
    ofs = spec.field(other)
    k = code_key(value)
    return (other, code) if ofs.plain_codes().get(k) == code or dict((code_key(a), c) for a, c in ofs.aliases).get(k) == code else None


def _known_codes(fs: FieldSpec, policy_map: dict[str, Any]) -> set[str]:
    """The file codes (:func:`code_key` form) a field reads without a problem."""
    return {code_key(k) for k in policy_map} | set(fs.plain_codes()) | {code_key(a) for a, _ in fs.aliases}


def _map_all_codes(
    data: pd.DataFrame, rows: list[int], index: dict[str, int], headers: dict[str, str], spec: TableSpec, settings: InputSettings, col: ProblemCollector
):
    """Map every coded column; a column feeding several fields is read once per field and its problems merged."""
    kind_values = settings.values.get(spec.kind, {})
    coded = sorted((fs for fs in spec.fields if fs.coded and fs.name in index), key=lambda f: f.not_needed_when is not None)
    values: list[ValueReading] = []
    notes: list[str] = []
    problems: list[CodeProblem] = []
    for fs in coded:
        sharing = [o for o in coded if o is not fs and index[o.name] == index[fs.name]]
        known = set().union(*(_known_codes(o, kind_values.get(o.name, {})) for o in sharing)) if sharing else set()
        free: set[int] = set()
        if fs.not_needed_when and fs.not_needed_when[0] in index:
            other, code = fs.not_needed_when
            free = {r for r, c in zip(rows, data[other], strict=True) if c == code}
        codes, vr, vnotes, vp = map_codes(
            list(data[fs.name]), rows, fs, headers[fs.name], spec, kind_values.get(fs.name, {}), shared_known=known, free_rows=free
        )
        data[fs.name] = codes
        values.extend(vr)
        notes.extend(vnotes)
        problems.extend(vp)
    by_value: dict[tuple[str, str], list[CodeProblem]] = {}
    for p in problems:
        by_value.setdefault((headers[p[4]], p[1] if p[1] else f"\0{p[0]}"), []).append(p)
    for (header, _v), ps in sorted(by_value.items(), key=lambda kv: kv[1][0][0]):
        r, v, message, fix, name = ps[0]
        if len(ps) > 1:
            also = message[message.index(" (also") : message.index(";")] if " (also" in message else ""
            kinds = " nor ".join(f"a {p[4]} ({', '.join(spec.field(p[4]).choices or ())})" for p in ps)
            message = f"'{visible(v)}' is neither {kinds}{also}."
            first = (spec.field(name).choices or ("...",))[0]
            fix = "map it under " + " or ".join(f"[values.{spec.kind}.{p[4]}]" for p in ps) + f' (for example "{visible(v)}" = "{first}").'
        col.add(message, row=r, field=header, fix=fix)
    for name in kind_values:
        if name not in index and any(f.name == name for f in spec.fields):
            col.problems.append(
                InputProblem(
                    settings.source or col.file,
                    f"[values.{spec.kind}.{name}] maps codes, but no column of {Path(col.file).name} feeds {name}.",
                    f'name the column that holds them: [columns.{spec.kind}] {name} = "Header" (one column may feed several coded fields, '
                    f"such as a Designation column for level and role), or delete the [values.{spec.kind}.{name}] table.",
                    None,
                    f"values.{spec.kind}.{name}",
                )
            )
    return values, notes


# --------------------------------------------------------------------------- the one path


def _cell_problems(raw: RawTable, index: dict[str, int], col: ProblemCollector) -> None:
    """Workbook cells that cannot be read as they look: formulas saved without a value, dates in an id column."""
    rows = set(raw.rows)
    header_of = {j: raw.headers[j] for j in index.values()}
    for (i, j), formula in sorted(raw.formulas.items()):
        if i + 1 in rows and j in header_of:
            col.add(
                f"cell {column_letter(j)}{i + 1} holds a formula ({_quote(formula)}) saved without its value, so it reads as empty.",
                row=i + 1,
                field=header_of[j],
                fix="open the workbook in Excel or LibreOffice and save it again (formulas are then saved with their values), or paste the column as values.",
            )
    ids = {index[n]: n for n in index if n.endswith("_id")}
    for i, j in sorted(raw.dates):
        if i + 1 in rows and j in ids:
            text = raw.records[raw.rows.index(i + 1)][j]
            col.add(
                f"{ids[j]} cell {column_letter(j)}{i + 1} holds a date ({text}), not an id: the spreadsheet turned the code into a date.",
                row=i + 1,
                field=header_of[j],
                fix="format the column as Text and type the id again as the office writes it.",
            )


def read_table(
    source: str | Path,
    spec: TableSpec,
    settings: InputSettings | None = None,
    *,
    optional: tuple[str, ...] = (),
    other_ids: set[str] | None = None,
    defer: bool = False,
) -> Table:
    """Read one input table under the tool's column names and codes.

    Parameters
    ----------
    source : path
        A CSV, workbook (``.xlsx``, ``.xlsm``, ``.xls``, ``.xlsb``, ``.ods``;
        ``FILE.xlsx#Sheet`` picks a sheet) or GIS layer (``.geojson``,
        ``.gpkg``, ``.shp``).
    spec : TableSpec
        What the table holds.
    settings : InputSettings, optional
        The policy's ``[sheets]``, ``[columns.KIND]`` and ``[values.KIND.*]``.
    optional : tuple of str
        Required columns of ``spec`` that this reading can do without (the
        schools' ``district`` when one is given for the run).
    other_ids : set of str, optional
        The ids of the table this one refers to (the schools' ids for a
        roster): a column suggested for ``school_id`` must hold them.
    defer : bool
        Return even when header or column problems were found (the caller
        adds its own checks and raises every problem at once); by default
        they are raised, with the code problems of the columns found.

    Returns
    -------
    Table
        Its ``problems`` collector holds the code problems found (not yet
        raised): the caller adds its own and raises them all at once.

    Raises
    ------
    InputError
        The file cannot be read, or its header or columns are wrong (every
        such problem at once).
    """

    settings = settings or InputSettings()
    path, sheet = split_sheet(source)
    from_policy = sheet is None and spec.kind in settings.sheets
    if from_policy:
        sheet = settings.sheets[spec.kind]
    col = ProblemCollector(path)
    raw, sheet_read = read_raw(path, sheet, spec, col, sheet_from_policy=from_policy, mapping=settings.columns.get(spec.kind, {}))
    if raw.several and sheet_read:  # a workbook of several sheets: every message names the sheet
        col.file = f"{path}#{sheet_read}"
        col.problems = [dataclasses.replace(p, file=col.file) for p in col.problems]
    index, readings, notes = resolve_columns(raw, spec, settings.columns.get(spec.kind, {}), col, optional=optional, other_ids=other_ids)
    _cell_problems(raw, index, col)
    structural = bool(col.problems)
    data = pd.DataFrame({name: [r[j] for r in raw.records] for name, j in index.items()}, dtype=object)
    data["_row"] = pd.Series(raw.rows, dtype=int)
    if raw.geometry is not None:
        data["_geometry"] = raw.geometry
    headers = {name: raw.headers[j] for name, j in index.items()}
    values, vnotes = _map_all_codes(data, raw.rows, index, headers, spec, settings, col)
    notes.extend(vnotes)
    if structural and not defer:
        col.raise_if_any()
    where = f"{path.name}#{sheet_read}" if sheet_read else path.name
    return Table(
        spec.kind,
        path,
        sheet_read,
        data,
        headers,
        readings,
        values,
        [h for h in raw.headers if h and h not in headers.values()],
        [f"{where}: {n}" for n in raw.notes + notes],
        col,
        raw.header_row,
        raw.crs,
        raw,
    )


def read_csv_rows(path: str | Path) -> pd.DataFrame:
    """Read a CSV exported from a spreadsheet, keeping spreadsheet row numbers.

    The cells of :func:`read_table`'s path (encodings, separators, title
    rows, blank rows, trailing notes) without any column mapping: headers are
    lower case with ``_`` for spaces; every value is stripped text; the column
    ``_row`` holds the spreadsheet row (header = 1). For tables of the tool's
    own making (a travel-time matrix).
    """
    path = Path(path)
    col = ProblemCollector(path)
    raw = structure(csv_cells(path), None, col, letters=False)
    header = [unicodedata.normalize("NFKC", h).strip().lower().replace(" ", "_").replace("-", "_") for h in raw.headers]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            col.add(f"the column '{name}' appears twice.", row=raw.header_row, field=name, fix="delete or rename one of them.")
        seen.add(name)
    col.raise_if_any()
    df = pd.DataFrame(raw.records, columns=header, dtype=object)
    df["_row"] = pd.Series(raw.rows, dtype=int)
    return df


__all__ = [
    "ColumnReading",
    "RawTable",
    "Table",
    "ValueReading",
    "read_csv_rows",
    "read_table",
    "structure",
]
