"""User-facing input errors.

Every problem in a user's file is reported as an :class:`InputProblem` naming
the file, the row (1-based, counting the header as row 1 for CSV files, so it
matches what a spreadsheet shows), the field and the fix. Loaders collect all
problems of a file and raise one :class:`InputError` with all of them, so the
user can fix a file in one pass. The CLI prints them and exits with code 2,
without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn


@dataclass(frozen=True)
class InputProblem:
    """One problem in one place of one input file."""

    file: str
    message: str
    fix: str = ""
    row: int | None = None
    field: str | None = None
    #: What ``row`` counts: spreadsheet "row" for tables, "line" for text files such as TOML.
    row_word: str = "row"

    def __str__(self) -> str:
        where = [Path(self.file).name if self.file else "<input>"]
        if self.row is not None:
            where.append(f"{self.row_word} {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        text = ", ".join(where) + f": {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


@dataclass
class InputError(Exception):
    """One or more problems that stop the run; nothing has been written."""

    problems: list[InputProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input:"
        shown = self.problems[:50]
        lines = [head] + [f"  - {p}" for p in shown]
        if n > len(shown):
            lines.append(f"  ... and {n - len(shown)} more of the same kind")
        return "\n".join(lines)


class ProblemCollector:
    """Collects problems for one file, then raises them all at once."""

    def __init__(self, file: str | Path, row_word: str = "row"):
        self.file = str(file)
        self.row_word = row_word
        self.problems: list[InputProblem] = []

    def add(self, message: str, *, fix: str = "", row: int | None = None, field: str | None = None) -> None:
        self.problems.append(InputProblem(self.file, message, fix, row, field, self.row_word))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(list(self.problems))


def fail(file: str | Path, message: str, *, fix: str = "", row: int | None = None, field: str | None = None) -> NoReturn:
    """Raise an :class:`InputError` with a single problem."""
    raise InputError([InputProblem(str(file), message, fix, row, field)])
