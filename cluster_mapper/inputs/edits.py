"""Edits: what managers and teachers know that no input file holds.

An edits file (CSV, or the sheet named ``edits`` of an XLSX workbook) has one
edit a row, with the columns ``action, school_id, other_school_id,
cluster_id, minutes, note``:

==================  ====================================================
``lock_cluster``    keep cluster ``cluster_id`` of the previous plan
                    exactly (same teachers, same venue); needs ``--revise``
``together``        teachers of ``school_id`` and ``other_school_id`` of the
                    same cluster type meet in the same cluster
``apart``           the two schools are never in the same cluster
``venue``           ``school_id`` hosts the cluster it is in
``no_venue``        ``school_id`` hosts no cluster
``travel_minutes``  ``minutes`` between the two schools, both ways,
                    instead of the computed time (``impassable`` or a very
                    large number: no way through)
``exclude``         leave ``school_id`` out; its teachers are listed with
                    the note as reason
==================  ====================================================

Every edit is a hard rule. :func:`read_edits` checks each row on its own
(action, ids given, minutes a number); :func:`check_edits` checks them against
the inputs, the rules and each other before anything is solved, and reports
every problem at once, naming the rows and the school and cluster ids, so the
command line exits with code 2 and writes nothing.

This module is also the one place that turns edits into the planner's terms:
:meth:`Edits.apply_travel` (travel overrides) and :func:`together_groups`.
The validator reads the edits file itself and shares none of this code.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from networkx.utils import UnionFind

from cluster_mapper.errors import InputError, InputProblem, ProblemCollector, fail
from cluster_mapper.inputs.cells import csv_cells
from cluster_mapper.inputs.schools import read_csv_rows
from cluster_mapper.inputs.specs import ambiguous_number, strip_invisible, visible

log = logging.getLogger(__name__)

EDIT_COLUMNS = ["action", "school_id", "other_school_id", "cluster_id", "minutes", "note"]
ACTIONS = ("lock_cluster", "together", "apart", "venue", "no_venue", "travel_minutes", "exclude")
#: What each action needs, besides ``action``.
REQUIRED = {
    "lock_cluster": ("cluster_id",),
    "together": ("school_id", "other_school_id"),
    "apart": ("school_id", "other_school_id"),
    "venue": ("school_id",),
    "no_venue": ("school_id",),
    "travel_minutes": ("school_id", "other_school_id", "minutes"),
    "exclude": ("school_id",),
}
#: Words accepted in ``minutes`` for a way that cannot be travelled.
IMPASSABLE_WORDS = ("impassable", "inf", "infinite", "closed")
#: The sheet of a workbook that holds the edits.
EDITS_SHEET = "edits"


@dataclass(frozen=True)
class Edit:
    """One row of an edits file.

    Attributes
    ----------
    row : int
        Spreadsheet row number (header = 1).
    action : str
        One of :data:`ACTIONS`.
    school_id, other_school_id, cluster_id : str
        Ids the action names ("" when not used).
    minutes : float or None
        Travel minutes of a ``travel_minutes`` edit (``inf``: impassable).
    note : str
        Why; carried to the plan's outputs.
    """

    row: int
    action: str
    school_id: str = ""
    other_school_id: str = ""
    cluster_id: str = ""
    minutes: float | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """Short text naming the edit, e.g. ``row 3 (apart S001 S002)``."""
        ids = " ".join(x for x in (self.school_id, self.other_school_id, self.cluster_id) if x)
        return f"row {self.row} ({self.action} {ids})"

    def describe(self) -> str:
        """The edit with its note, as shown in outputs."""
        return f"{self.label}" + (f": {self.note}" if self.note else "")


@dataclass
class Edits:
    """The edits of one run, read from ``path``."""

    path: str
    rows: list[Edit] = field(default_factory=list)

    def of(self, *actions: str) -> list[Edit]:
        """The edits of the given actions, in file order."""
        return [e for e in self.rows if e.action in actions]

    def excluded(self) -> dict[str, Edit]:
        """Excluded schools and the edit that excludes each."""
        return {e.school_id: e for e in self.of("exclude")}

    def schools_named(self) -> dict[str, list[Edit]]:
        """Every school id and the edits that name it (travel overrides left aside)."""
        out: dict[str, list[Edit]] = defaultdict(list)
        for e in self.rows:
            if e.action == "travel_minutes":
                continue
            for s in (e.school_id, e.other_school_id):
                if s:
                    out[s].append(e)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The edits as a table (``row`` plus :data:`EDIT_COLUMNS`), as written to ``edits.csv``."""
        rows = [
            {
                "row": e.row,
                "action": e.action,
                "school_id": e.school_id,
                "other_school_id": e.other_school_id,
                "cluster_id": e.cluster_id,
                "minutes": "" if e.minutes is None else ("impassable" if math.isinf(e.minutes) else e.minutes),
                "note": e.note,
            }
            for e in self.rows
        ]
        return pd.DataFrame(rows, columns=["row", *EDIT_COLUMNS])

    def apply_travel(self, travel):
        """A copy of ``travel`` (:class:`~cluster_mapper.travel.times.TravelTimes`) with the overrides applied both ways.

        An impassable override removes the pair (unreachable is absent).
        """
        overrides = self.of("travel_minutes")
        if not overrides:
            return travel
        from dataclasses import replace

        pairs = travel.pairs
        drop = set()
        add = []
        for e in overrides:
            for a, b in ((e.school_id, e.other_school_id), (e.other_school_id, e.school_id)):
                drop.add((a, b))
                if e.minutes is not None and math.isfinite(e.minutes):
                    add.append({"from_school_id": a, "to_school_id": b, "minutes": float(e.minutes)})
        keep = [(a, b) not in drop for a, b in zip(pairs["from_school_id"], pairs["to_school_id"], strict=False)]
        new = pd.concat([pairs[keep], pd.DataFrame(add, columns=["from_school_id", "to_school_id", "minutes"])], ignore_index=True)
        n = len(overrides)
        note = f"{n} travel time{'s' if n != 1 else ''} set by edits in {Path(self.path).name} (local knowledge overrides the computed times)"
        reach = getattr(travel, "reach", None)  # pairs computed on demand: the overrides go there too
        if reach is not None:
            reach = reach.with_overrides(
                {
                    (a, b): (math.inf if e.minutes is None else float(e.minutes))
                    for e in overrides
                    for a, b in ((e.school_id, e.other_school_id), (e.other_school_id, e.school_id))
                }
            )
            return replace(travel, pairs=new.reset_index(drop=True), notes=[*travel.notes, note], reach=reach)
        return replace(travel, pairs=new.reset_index(drop=True), notes=[*travel.notes, note])


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of the ``edits`` sheet of a workbook: (sheet row, {column: text})."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        fail(path, "reading a workbook needs the openpyxl package.", fix="pip install openpyxl, or save the edits sheet as CSV.")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        fail(path, f"could not be read as an Excel workbook ({type(exc).__name__}).", fix="save it again as .xlsx, or save the edits sheet as CSV.")
    names = {n.strip().lower(): n for n in wb.sheetnames}
    if EDITS_SHEET not in names:
        fail(
            path,
            f"the workbook has no sheet named '{EDITS_SHEET}' (sheets: {', '.join(wb.sheetnames)}).",
            fix="put the edits on a sheet named 'edits' (as `cluster-mapper export --xlsx` writes it).",
            field=EDITS_SHEET,
        )
    ws = wb[names[EDITS_SHEET]]
    out: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip() for v in values]
        if header is None:
            if any(cells):
                header = [c.strip().lower() for c in cells]
                out.append((r, {"__header__": "\t".join(header)}))
            continue
        if any(cells):
            out.append((r, dict(zip(header, cells, strict=False))))
    wb.close()
    return out


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        rows = _read_xlsx(path)
        if not rows:
            fail(path, f"the '{EDITS_SHEET}' sheet is empty.", fix="write the header row action, school_id, other_school_id, cluster_id, minutes, note.", row=1)
        header = rows[0][1]["__header__"].split("\t")
        return header, rows[1:]

    df = read_csv_rows(path)
    df.columns = [str(c).strip().lower() if c != "_row" else c for c in df.columns]
    header = [c for c in df.columns if c != "_row"]
    records = [(int(r["_row"]), {c: str(r[c]).strip() for c in header}) for r in df.to_dict("records")]
    return header, records + _rows_below(path, header, records)


def _rows_below(path: Path, header: list[str], records: list[tuple[int, dict[str, str]]]) -> list[tuple[int, dict[str, str]]]:
    """Rows after the last edit that the table reader took for notes: in an edits file every row is an edit, so they are checked as edits."""
    cells = csv_cells(path)
    header_row = next((i + 1 for i, r in enumerate(cells) if "action" in (c.strip().lower() for c in r)), len(cells))
    last = max((row for row, _ in records), default=header_row)
    below = [(i + 1, r) for i, r in enumerate(cells) if i + 1 > last and any(r)]
    return [(row, dict(zip(header, r, strict=False))) for row, r in below]


def read_edits(path: str | Path) -> Edits:
    """Read and check an edits file (CSV, or the ``edits`` sheet of an XLSX workbook).

    Blank rows are skipped (a workbook's drop-down rows may be empty). Each
    row is checked on its own: a known action (with a suggestion for a
    misspelt one), the ids the action needs, ``minutes`` a positive number or
    ``impassable``. Checks against the plan's inputs are in :func:`check_edits`.

    Raises
    ------
    InputError
        Every problem of the file, with row, field and fix.
    """
    path = Path(path)
    if not path.exists():
        fail(path, "the edits file does not exist.", fix="check the path given to --edits.")
    header, records = _read_rows(path)
    col = ProblemCollector(path)
    if "action" not in header:
        col.add(
            f"the required column 'action' is missing (columns found: {', '.join(h for h in header if h) or 'none'}).",
            row=1,
            field="action",
            fix="write the header row action, school_id, other_school_id, cluster_id, minutes, note.",
        )
        col.raise_if_any()
    edits: list[Edit] = []
    for row, rec in records:
        get = {c: rec.get(c, "").strip() for c in EDIT_COLUMNS}
        action = get["action"].lower().replace(" ", "_").replace("-", "_")
        if not any(get.values()):
            continue
        if action not in ACTIONS:
            close = difflib.get_close_matches(action, ACTIONS, n=1)
            col.add(
                f"unknown action '{get['action']}'.",
                row=row,
                field="action",
                fix=(f"did you mean '{close[0]}'? " if close else "") + f"use one of {', '.join(ACTIONS)}.",
            )
            continue
        missing = [c for c in REQUIRED[action] if not get[c]]
        for c in missing:
            col.add(f"{action} needs {c}.", row=row, field=c, fix=f"fill in {c} for this {action} edit, or delete the row.")
        if missing:
            continue
        minutes = None
        if action == "travel_minutes":
            why = ambiguous_number(get["minutes"])
            if why:
                col.add(f"minutes {why}.", row=row, field="minutes", fix="write the minutes without a separator (1000), or with a decimal point (1.5).")
                continue
            text = get["minutes"].replace(",", ".").lower()
            if text in IMPASSABLE_WORDS:
                minutes = math.inf
            else:
                try:
                    minutes = float(text)
                except ValueError:
                    col.add(
                        f"minutes '{get['minutes']}' is not a number.",
                        row=row,
                        field="minutes",
                        fix="write the travel time in minutes, such as 45, or 'impassable'.",
                    )
                    continue
                if not minutes > 0 or math.isnan(minutes):
                    col.add(
                        f"minutes must be more than 0, not {get['minutes']}.",
                        row=row,
                        field="minutes",
                        fix="write the travel time in minutes, or 'impassable'.",
                    )
                    continue
        if action in ("together", "apart", "travel_minutes") and get["school_id"] == get["other_school_id"]:
            col.add(f"{action} names school {get['school_id']} twice.", row=row, field="other_school_id", fix="give two different schools.")
            continue
        edits.append(
            Edit(
                row,
                action,
                get["school_id"],
                get["other_school_id"] if action in ("together", "apart", "travel_minutes") else "",
                get["cluster_id"] if action == "lock_cluster" else "",
                minutes,
                get["note"],
            )
        )
    col.raise_if_any()
    log.info("read %d edit(s) from %s", len(edits), path)
    return Edits(str(path), edits)


def together_groups(edits: Edits) -> list[tuple[set[str], list[Edit]]]:
    """Schools joined by ``together`` edits (directly or through others), with the edits that join them."""
    uf = UnionFind()
    for e in edits.of("together"):
        uf.union(e.school_id, e.other_school_id)
    groups: dict[str, tuple[set[str], list[Edit]]] = {}
    for e in edits.of("together"):
        g = groups.setdefault(uf[e.school_id], (set(), []))
        g[0].update((e.school_id, e.other_school_id))
        g[1].append(e)
    return list(groups.values())


def edit_rows(*edits: Edit) -> str:
    """``row 3``, ``rows 2-9`` or ``rows 2, 5, 7``: the spreadsheet rows of some edits."""
    rows = sorted({e.row for e in edits})
    if len(rows) == 1:
        return f"row {rows[0]}"
    if rows[-1] - rows[0] == len(rows) - 1:
        return f"rows {rows[0]}-{rows[-1]}"
    return "rows " + ", ".join(map(str, rows))


@dataclass
class _Check:
    """What every edit checker needs: the run's inputs, the edits whose ids are known, and the problems found."""

    edits: Edits
    units: pd.DataFrame
    sch: pd.DataFrame
    travel: Any
    policy: Any
    previous: pd.DataFrame | None
    teachers: pd.DataFrame | None
    ok: Edits = field(default_factory=lambda: Edits(""))
    prev_clusters: dict[str, pd.DataFrame] = field(default_factory=dict)
    problems: list[InputProblem] = field(default_factory=list)

    def bad(self, msg: str, fix: str, *rows: Edit, fld: str | None = None) -> None:
        self.problems.append(InputProblem(self.edits.path, msg, fix, min(e.row for e in rows), fld))

    def district(self, sid: str):
        return self.policy.for_district(self.sch.at[sid, "district"])

    @property
    def active(self) -> pd.DataFrame:
        return self.units[~self.units["school_id"].isin(self.ok.excluded())]

    def types(self) -> dict[str, dict[tuple, int]]:
        """Each school's units by cluster type ``(region, gender group, level group)``, with their teachers."""
        return {
            s: {(r, g, lv): int(n) for r, g, lv, n in zip(u["region"], u["gender_group"], u["level_group"], u["n_teachers"], strict=False)}
            for s, u in self.active.groupby("school_id")
        }

    def hosts(self, key: tuple) -> pd.DataFrame:
        """Units of cluster type ``key`` that may host (no_venue edits applied)."""
        a = self.active
        no = {e.school_id for e in self.ok.of("no_venue")}
        h = a[a["can_be_venue"] & ~a["school_id"].isin(no)]
        return h[(h["region"] == key[0]) & (h["gender_group"] == key[1]) & (h["level_group"] == key[2])]


def _check_ids(c: _Check) -> None:
    """Every school and cluster an edit names exists; edits naming an unknown one are left out of the other checks."""
    known = set(c.sch.index)
    bad_rows: set[int] = set()
    for e in c.edits.rows:
        for fld, sid in (("school_id", e.school_id), ("other_school_id", e.other_school_id)):
            if sid and sid not in known:
                close = difflib.get_close_matches(sid, sorted(known), n=1)
                clean = strip_invisible(sid).strip()
                c.bad(
                    f"{e.label.replace(sid, visible(sid))}: school {visible(sid)} is not in the schools file.",
                    f"delete the invisible character{'s' if len(sid) - len(clean) > 1 else ''} in the cell: write {clean}."
                    if clean != sid and clean in known
                    else (f"did you mean {close[0]}? " if close else "") + "use a school_id of the schools file.",
                    e,
                    fld=fld,
                )
                bad_rows.add(e.row)
    if c.previous is not None:
        p = c.previous[c.previous["status"] == "placed"]
        c.prev_clusters = {str(k): g for k, g in p.groupby("cluster_id")}
    for e in c.edits.of("lock_cluster"):
        if c.previous is None:
            c.bad(
                f"{e.label}: lock_cluster keeps a cluster of a previous plan, but no previous plan was given.",
                "add --revise PREVIOUS_PLAN_FOLDER, or delete the row.",
                e,
                fld="cluster_id",
            )
            bad_rows.add(e.row)
        elif e.cluster_id not in c.prev_clusters:
            close = difflib.get_close_matches(e.cluster_id, sorted(c.prev_clusters), n=1)
            c.bad(
                f"{e.label}: cluster {visible(e.cluster_id)} is not in the previous plan.",
                (f"did you mean {close[0]}? " if close else "") + "use a cluster_id of the previous plan's clusters.csv.",
                e,
                fld="cluster_id",
            )
            bad_rows.add(e.row)
    c.ok = Edits(c.edits.path, [e for e in c.edits.rows if e.row not in bad_rows])


def _check_exclude(c: _Check) -> None:
    """An excluded school is named by no edit that places it."""
    named = c.ok.schools_named()
    for sid, ex in c.ok.excluded().items():
        for e in named.get(sid, []):
            if e is not ex and e.action != "exclude":
                c.bad(
                    f"{ex.label} and {e.label} contradict each other: school {sid} is excluded but another edit places it.",
                    "delete one of the two rows.",
                    ex,
                    e,
                    fld="school_id",
                )


def _check_venues(c: _Check) -> None:
    """A venue can host and is not also a no_venue."""
    no_venue = {e.school_id: e for e in c.ok.of("no_venue")}
    for e in c.ok.of("venue"):
        sid = e.school_id
        if sid in no_venue:
            c.bad(
                f"{e.label} and {no_venue[sid].label} contradict each other: school {sid} both hosts and does not host.",
                "delete one of the two rows.",
                e,
                no_venue[sid],
                fld="action",
            )
        if not bool(c.sch.at[sid, "can_host"]):
            c.bad(
                f"{e.label}: school {sid} cannot host (can_host is false in the schools file).",
                "set can_host for the school in the schools file, or delete the row.",
                e,
                fld="school_id",
            )


def _check_no_venue(c: _Check) -> None:
    """no_venue edits leave at least one school that may host each group of teachers they concern."""
    rows = c.ok.of("no_venue")
    if not rows:
        return
    a = c.active
    for key, g in a.groupby(["region", "gender_group", "level_group"]):
        could = set(g.loc[g["can_be_venue"], "school_id"])
        if could and c.hosts(key).empty:
            mine = [e for e in rows if e.school_id in could]
            label = " ".join(w for w in (key[1] if key[1] != "mixed" else "", key[2] if key[2] != "mixed" else "") if w)
            c.bad(
                f"{edit_rows(*mine)} (no_venue): no school may host the {int(g['n_teachers'].sum())} {label + ' ' if label else ''}teachers "
                f"of {key[0]}: every school that could host them is a no_venue.",
                "delete some of the no_venue rows (a cluster needs a venue), or set can_host for another school.",
                *mine,
                fld="school_id",
            )


def _check_travel(c: _Check) -> None:
    """One travel time per pair of schools."""
    seen: dict[frozenset, Edit] = {}
    for e in c.ok.of("travel_minutes"):
        pair = frozenset((e.school_id, e.other_school_id))
        if pair in seen and seen[pair].minutes != e.minutes:
            c.bad(
                f"{seen[pair].label} and {e.label} contradict each other: two travel times for schools {e.school_id} and {e.other_school_id}.",
                "keep one of the two rows.",
                seen[pair],
                e,
                fld="minutes",
            )
        seen[pair] = e


def _check_together_pairs(c: _Check) -> None:
    """Each together pair shares a cluster type (district, gender and level groups)."""
    excluded = c.ok.excluded()
    types = c.types()
    for e in c.ok.of("together"):
        if e.school_id in excluded or e.other_school_id in excluded:
            continue  # reported as a contradiction
        if set(types.get(e.school_id, {})) & set(types.get(e.other_school_id, {})):
            continue
        why = (
            "they are in different districts"
            if c.sch.at[e.school_id, "district"] != c.sch.at[e.other_school_id, "district"] and not c.policy.cross_district
            else "their teachers are of different cluster types (gender or level groups the policy keeps apart)"
        )
        c.bad(
            f"{e.label}: schools {e.school_id} and {e.other_school_id} can never meet in one cluster: {why}.",
            "delete the row, or change the policy (gender, levels, cross_district).",
            e,
            fld="other_school_id",
        )


def _check_together_chains(c: _Check) -> None:
    """The schools a together chain joins fit one cluster: a venue within the limit of all, max_teachers, max_schools."""
    types = c.types()
    excluded = c.ok.excluded()
    for members, rows in together_groups(c.ok):
        if members & set(excluded):
            continue
        by_key: dict[tuple, list[str]] = defaultdict(list)
        for s in sorted(members):
            for key in types.get(s, {}):
                by_key[key].append(s)
        what = f"{edit_rows(*rows)} (together {', '.join(sorted(members))})"
        for key, schools in sorted(by_key.items()):
            if len(schools) < 2:
                continue
            dp = c.district(schools[0])
            n = sum(types[s][key] for s in schools)
            label = " ".join(w for w in (key[1], key[2]) if w != "mixed")
            if n > dp.max_teachers:
                c.bad(
                    f"{what}: together they have {n} {label + ' ' if label else ''}teachers, more than the cluster maximum of {dp.max_teachers}.",
                    "delete one of the together rows (or split the chain); the cluster maximum holds for every cluster.",
                    *rows,
                    fld="other_school_id",
                )
            if len(schools) > dp.school_limit:
                c.bad(
                    f"{what}: the chain joins {len(schools)} schools, more than max_schools = {dp.max_schools}.",
                    "delete one of the together rows (or split the chain).",
                    *rows,
                    fld="other_school_id",
                )
            _chain_venue(c, what, rows, key, schools, dp.travel_limit)
        _chain_contradictions(c, members, rows)


def _chain_venue(c: _Check, what: str, rows: list[Edit], key: tuple, schools: list[str], limit: float) -> None:
    """Some school that may host is within the travel limit of every school of the chain."""
    h = pd.unique(c.hosts(key)["school_id"].to_numpy())
    reach = [max(c.travel.minutes(s, v) for s in schools) for v in h]
    if any(m <= limit for m in reach):
        return
    best = min(reach, default=math.inf)
    c.bad(
        f"{what}: no school that may host is within the {limit:g}-minute limit of all of {', '.join(schools)}"
        + (f" (the best common venue is {best:.0f} minutes from the farthest)." if math.isfinite(best) else "."),
        "delete a together row (or the no_venue rows that rule out the venues between them).",
        *rows,
        fld="other_school_id",
    )


def _chain_contradictions(c: _Check, members: set[str], rows: list[Edit]) -> None:
    """A chain holds at most one venue edit, and no apart pair."""
    venue = {e.school_id: e for e in c.ok.of("venue")}
    hosting = [venue[s] for s in sorted(members) if s in venue]
    if len(hosting) > 1:
        c.bad(
            f"{edit_rows(*rows, *hosting)}: schools {', '.join(e.school_id for e in hosting)} must each host their own cluster but are also together.",
            "keep one venue row, or delete a together row.",
            *rows,
            *hosting,
            fld="action",
        )
    for e in c.ok.of("apart"):
        if e.school_id in members and e.other_school_id in members:
            c.bad(
                f"{edit_rows(e, *rows)} contradict each other: schools {e.school_id} and {e.other_school_id} are apart in {e.label} but together through {edit_rows(*rows)}.",
                "delete the apart row or a together row.",
                e,
                *rows,
                fld="action",
            )


def _check_locks(c: _Check) -> None:
    """A locked cluster contradicts no other edit and still obeys the rules with today's teachers and travel times."""
    locked_school: dict[str, tuple[str, Edit]] = {}
    for e in c.ok.of("lock_cluster"):
        cl = c.prev_clusters[e.cluster_id]
        for s in set(cl["school_id"]):
            locked_school[s] = (e.cluster_id, e)
        _lock_contradictions(c, e, cl)
        _lock_rules(c, e, cl)
    for members, rows in together_groups(c.ok):
        locks = {locked_school[s][0] for s in members if s in locked_school}
        outside = sorted(s for s in members if s not in locked_school)
        if locks and (len(locks) > 1 or outside):
            lock_rows = [locked_school[s][1] for s in members if s in locked_school]
            c.bad(
                f"{edit_rows(*rows, *lock_rows)} contradict each other: together joins schools of the locked cluster{'s' if len(locks) != 1 else ''} {', '.join(sorted(locks))} with "
                + (f"schools outside it ({', '.join(outside)})." if outside else "each other."),
                "delete the lock or the together row.",
                *rows,
                *lock_rows,
                fld="action",
            )


def _lock_contradictions(c: _Check, e: Edit, cl: pd.DataFrame) -> None:
    excluded = c.ok.excluded()
    no_venue = {x.school_id: x for x in c.ok.of("no_venue")}
    venue = {x.school_id: x for x in c.ok.of("venue")}
    venue_school = str(cl["venue_school_id"].iloc[0])
    schools_in = set(cl["school_id"])
    pairs = [(excluded[s], f"school {s} of the locked cluster {e.cluster_id} is excluded") for s in sorted(schools_in & set(excluded))]
    if venue_school in no_venue:
        pairs.append((no_venue[venue_school], f"the locked cluster {e.cluster_id} meets at school {venue_school}"))
    pairs += [
        (venue[s], f"school {s} is in the locked cluster {e.cluster_id}, which meets at {venue_school}")
        for s in sorted(schools_in & set(venue))
        if s != venue_school
    ]
    pairs += [
        (ap, f"both schools are in the locked cluster {e.cluster_id}")
        for ap in c.ok.of("apart")
        if ap.school_id in schools_in and ap.other_school_id in schools_in
    ]
    for other, why in pairs:
        c.bad(f"{e.label} and {other.label} contradict each other: {why}.", "delete one of the two rows.", e, other, fld="cluster_id")


def _lock_rules(c: _Check, e: Edit, cl: pd.DataFrame) -> None:
    """The locked cluster with today's teachers and travel times still obeys the district's rules."""
    units = c.units
    gone = sorted(set(cl["unit_id"]) - set(units["unit_id"]))
    if gone:
        c.bad(
            f"{e.label}: cluster {e.cluster_id} cannot be kept: its teachers {', '.join(gone)} are no longer in the roster.",
            "delete the row (the cluster is then planned again).",
            e,
            fld="cluster_id",
        )
        return
    if c.teachers is not None:
        now = set(c.teachers.loc[c.teachers["unit_id"].isin(set(cl["unit_id"])), "teacher_id"].astype(str))
        was = set(cl["teacher_id"].astype(str))
        if now != was:
            diff = sorted(now ^ was)
            c.bad(
                f"{e.label}: cluster {e.cluster_id} cannot be kept exactly: teachers {', '.join(diff[:8])}{' ...' if len(diff) > 8 else ''} "
                "joined or left its schools since the previous plan.",
                "delete the row (the cluster is then planned again with the fewest moves).",
                e,
                fld="cluster_id",
            )
            return
    venue_school = str(cl["venue_school_id"].iloc[0])
    members = units[units["unit_id"].isin(set(cl["unit_id"]))]
    dp = c.district(venue_school)
    n = int(members["n_teachers"].sum())
    k = members["school_id"].nunique()
    broken = []
    if not dp.min_teachers <= n <= dp.max_teachers:
        broken.append(f"{n} teachers, outside {dp.min_teachers}..{dp.max_teachers}")
    if k > dp.school_limit:
        broken.append(f"{k} schools, more than {dp.max_schools}")
    if k < dp.min_schools:
        broken.append(f"{k} school{'s' if k != 1 else ''}, fewer than min_schools = {dp.min_schools}")
    far = [(s, c.travel.minutes(s, venue_school)) for s in members["school_id"]]
    far = [(s, m) for s, m in far if m > dp.travel_limit]
    if far:
        broken.append("; ".join(f"school {s} is {m:.0f} minutes from the venue" for s, m in far) + f" (limit {dp.travel_limit:g})")
    if dp.n_clusters is not None:
        broken.append(f"the district's number of clusters is fixed (n_clusters = {dp.n_clusters})")
    if broken:
        c.bad(
            f"{e.label}: cluster {e.cluster_id} cannot be kept as it is: {', '.join(broken)}.",
            "delete the row, or change the edits or policy that break it.",
            e,
            fld="cluster_id",
        )


#: The checks of :func:`check_edits`, in order: ids first (edits naming unknown ids are left out of the rest).
EDIT_CHECKS = (_check_ids, _check_exclude, _check_venues, _check_no_venue, _check_travel, _check_together_pairs, _check_together_chains, _check_locks)


def check_edits(
    edits: Edits, units: pd.DataFrame, schools: pd.DataFrame, travel, policy, previous: pd.DataFrame | None, teachers: pd.DataFrame | None = None
) -> None:
    """Check edits against the inputs, the rules and each other, before solving.

    Parameters
    ----------
    edits : Edits
    units : pandas.DataFrame
        The run's units (:func:`~cluster_mapper.planning.units.build_units`), with
        excluded schools still in.
    schools : pandas.DataFrame
        The schools (``school_id``, ``district``, ``can_host``).
    travel : TravelTimes
        Travel times with the edits' overrides applied, minutes.
    policy : Policy
    previous : pandas.DataFrame or None
        ``assignments.csv`` of the plan being revised.
    teachers : pandas.DataFrame, optional
        Today's teachers with their ``unit_id`` (a locked cluster must keep
        exactly its teachers: none may have left or joined its schools).

    Raises
    ------
    InputError
        Every refused edit at once (one checker per kind, :data:`EDIT_CHECKS`),
        naming its row(s) and the school and cluster ids: unknown schools or
        clusters (the other edits are still checked); an edit that breaks a
        rule by itself (a school that cannot host made a venue, ``together``
        across cluster types or districts); a together chain that no venue
        within the limit can hold, or over ``max_teachers`` or
        ``max_schools``; no_venue edits that leave a group no venue; edits
        that contradict each other.
    """
    c = _Check(edits, units, schools.set_index("school_id"), travel, policy, previous, teachers)
    for check in EDIT_CHECKS:
        check(c)
    if c.problems:
        raise InputError(sorted(c.problems, key=lambda p: p.row or 0))


__all__ = ["ACTIONS", "EDIT_CHECKS", "EDIT_COLUMNS", "EDITS_SHEET", "Edit", "Edits", "read_edits", "check_edits", "edit_rows", "together_groups"]
