"""Small file helpers shared by every layer: CSV cells safe from spreadsheet formulas, SHA-256 of a file, atomic single-file writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: Cells that get a leading apostrophe: formulas, and cells already starting with one.
_ESCAPED = (*FORMULA_START, "'")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    A cell that already starts with an apostrophe gets one more, so that
    :func:`restore_formulas` gives every value back exactly.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [("'" + v) if isinstance(v, str) and v.startswith(_ESCAPED) else v for v in out[col]]
    return out


def restore_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` when reading a plan back."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [v[1:] if isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1:].startswith(_ESCAPED) else v for v in out[col]]
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV that is safe to open in a spreadsheet (UTF-8 with BOM for Excel)."""
    neutralise_formulas(df).to_csv(path, index=False, encoding="utf-8-sig")


def read_plan_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv`, ids kept as text."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return restore_formulas(df)
