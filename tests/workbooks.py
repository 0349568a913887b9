"""Write small workbooks as district offices send them, for the tests and the bad-input corpus.

``write_xlsx`` uses openpyxl (a test dependency); ``write_ods`` writes the
OpenDocument spreadsheet XML directly (no maintained ODS writer is needed for
a few cells). Both take ``{sheet name: rows}``, where a row is a list of cell
values (``None`` for an empty cell), and merged ranges per sheet as Excel
references (``"A1:E1"``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

Rows = list[list[Any]]


def write_xlsx(path: str | Path, sheets: dict[str, Rows], merged: dict[str, list[str]] | None = None) -> Path:
    """An .xlsx workbook with one worksheet per entry, cells written with their types."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row, start=1):
                if v is not None:
                    ws.cell(row=i, column=j, value=v)
        for ref in (merged or {}).get(name, []):
            ws.merge_cells(ref)
    path = Path(path)
    wb.save(path)
    return path


def _ref(ref: str) -> tuple[int, int, int, int]:
    """``"B3:D4"`` -> (row0, col0, row1, col1), 0-based."""

    def one(cell: str) -> tuple[int, int]:
        m = re.fullmatch(r"([A-Z]+)(\d+)", cell)
        assert m, cell
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        return int(m.group(2)) - 1, col - 1

    a, b = ref.split(":")
    (r0, c0), (r1, c1) = one(a), one(b)
    return r0, c0, r1, c1


def _cell(v: Any, rows: int = 1, cols: int = 1) -> str:
    span = (f' table:number-columns-spanned="{cols}"' if cols > 1 else "") + (f' table:number-rows-spanned="{rows}"' if rows > 1 else "")
    if v is None or v == "":
        return f"<table:table-cell{span}/>"
    if isinstance(v, bool):
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{str(v).lower()}"{span}><text:p>{str(v).upper()}</text:p></table:table-cell>'
        )
    if isinstance(v, (int, float)):
        return f'<table:table-cell office:value-type="float" office:value="{v}"{span}><text:p>{v}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"{span}><text:p>{escape(str(v))}</text:p></table:table-cell>'


def write_ods(path: str | Path, sheets: dict[str, Rows], merged: dict[str, list[str]] | None = None) -> Path:
    """An OpenDocument spreadsheet (.ods) with one table per entry; merged cells as spanned and covered cells."""
    body = []
    for name, rows in sheets.items():
        spans = {}
        covered = set()
        for ref in (merged or {}).get(name, []):
            r0, c0, r1, c1 = _ref(ref)
            spans[r0, c0] = (r1 - r0 + 1, c1 - c0 + 1)
            covered |= {(i, j) for i in range(r0, r1 + 1) for j in range(c0, c1 + 1)} - {(r0, c0)}
        width = max((len(r) for r in rows), default=0)
        xml_rows = []
        for i, row in enumerate(rows):
            cells = []
            for j in range(width):
                v = row[j] if j < len(row) else None
                if (i, j) in covered:
                    cells.append("<table:covered-table-cell/>")
                else:
                    cells.append(_cell(v, *spans.get((i, j), (1, 1))))
            xml_rows.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
        body.append(f'<table:table table:name="{escape(name)}">' + "".join(xml_rows) + "</table:table>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        "<office:body><office:spreadsheet>" + "".join(body) + "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    path = Path(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path
