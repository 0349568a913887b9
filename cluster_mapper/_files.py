"""Small file helpers shared by every layer: CSV cells safe from spreadsheet formulas, SHA-256 of a file, atomic single-file writes (:func:`atomic_path`, :func:`write_atomic`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import Iterator

import pandas as pd

#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: Cells that get a leading apostrophe: formulas, and cells already starting with one.
_ESCAPED = (*FORMULA_START, "'")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error it replaces ``path`` in one move.

    The temporary file is in the same folder (so :func:`os.replace` is one
    atomic rename), flushed to disk before the swap, and removed if the block
    raises (a full disk, Ctrl-C): ``path`` then keeps its previous content,
    never a truncated one. The new file gets the mode the user's umask gives.
    """
    path = Path(path)
    while True:  # O_EXCL with mode 0o666: the new file gets the mode the user's umask gives (mkstemp would make it 0600)
        tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_path`: the file is whole, old or new, at every instant."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
    return path


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
