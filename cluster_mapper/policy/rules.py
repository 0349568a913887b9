"""Planning policy: the rules from the field, as typed and validated settings.

A policy is a TOML file. Top-level keys are the defaults for every district;
``[districts.NAME]`` tables override them for one district. Travel settings
(how travel times are computed) apply to the whole run and sit at top level.

Example::

    min_teachers = 6
    max_teachers = 12
    max_travel_minutes = 60
    gender = "segregated"
    travel_mode = "walk"

    [districts.Muzaffarabad]
    gender = "mixed"

How the input files are read (their sheets, their column names, their codes,
the district of a one-district file) is part of the policy too
(:class:`InputSettings`)::

    district = "Abbottabad"          # the file has no district column

    [sheets]
    schools = "Schools"              # the sheet of a workbook

    [columns.schools]                # tool's name = the file's header
    school_id = "EMIS Code"

    [values.schools.gender]          # the file's code = the tool's value
    "Co-education" = "mixed"
    [support]                 # facilitators (see cluster_mapper.support)
    meeting_minutes = 180
    working_day_minutes = 480
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from cluster_mapper.errors import InputError, ProblemCollector
from cluster_mapper.inputs.specs import TABLE_KINDS, InputSettings, table_spec

GENDER_POLICIES = ("segregated", "mixed")
LEVEL_POLICIES = ("separate", "mixed")
OBJECTIVES = ("teacher_minutes", "school_trips")
TRAVEL_MODES = ("walk", "drive")
SUBJECT_RULES = ("preferred", "hard")


@dataclass(frozen=True)
class DistrictPolicy:
    """The clustering rules for one district.

    Attributes
    ----------
    min_teachers, max_teachers : int
        Size bounds of a cluster, in teachers (field study: 6 to 12).
    max_schools : int or None
        Most schools in one cluster; ``None`` means no limit (written ``0`` in
        the TOML file).
    max_travel_minutes : float or None
        Longest travel from a member school to the venue, in minutes;
        ``None`` means no limit (written ``0`` in the TOML file).
    gender : {"segregated", "mixed"}
        Separate clusters for women and men, or mixed clusters.
    levels : {"separate", "mixed"}
        Separate primary and middle (with high) clusters, or mixed-level ones.
    n_clusters : int or None
        If set, exactly this many clusters in the district (one per mentor).
    objective : {"teacher_minutes", "school_trips"}
        Minimise each teacher's travel, or one trip per school.
    time_limit_seconds : float
        Solver time limit for the district.
    include_head_teachers : bool
        Place head teachers as regular members (the study advises against).
    min_schools : int
        Fewest schools in one cluster (1: a school may form a cluster alone;
        2 or more: teachers from several schools meet in every cluster).
    max_moved_teachers : int or None
        With ``--revise``: most teachers of the district that may meet at
        another venue than in the previous plan (``None``: no limit, but as
        few as possible move). A hard rule: rather than move more, the plan
        leaves teachers unplaced (they are listed with the reason).
    subjects_required : tuple of str
        Cluster roles (field study: each cluster chose subject leaders in
        math, science and English): clusters with middle or high teachers
        should include at least one teacher of each of these subjects (the
        roster's ``subject`` column). Empty (the default): no rule.
    subjects_rule : {"preferred", "hard"}
        ``preferred``: the plan moves teachers between clusters to cover the
        subjects where it can without leaving anyone out, and says which
        clusters still lack one and why; ``hard``: a cluster that cannot
        cover them is not formed (its teachers are listed as not placed).
    """

    min_teachers: int = 6
    max_teachers: int = 12
    max_schools: int | None = 5
    max_travel_minutes: float | None = 60.0
    gender: str = "segregated"
    levels: str = "separate"
    n_clusters: int | None = None
    objective: str = "teacher_minutes"
    time_limit_seconds: float = 60.0
    include_head_teachers: bool = False
    min_schools: int = 1
    max_moved_teachers: int | None = None
    subjects_required: tuple[str, ...] = ()
    subjects_rule: str = "preferred"

    @property
    def travel_limit(self) -> float:
        """Travel limit in minutes, ``inf`` when there is none."""
        return float("inf") if self.max_travel_minutes is None else float(self.max_travel_minutes)

    def leaves_out(self, role: str) -> bool:
        """Whether a teacher of ``role`` stays out of clusters by policy.

        Head teachers support clusters but are not regular members (field
        study), unless ``include_head_teachers = true``.
        """
        return role == "head_teacher" and not self.include_head_teachers

    @property
    def school_limit(self) -> int:
        """Most schools per cluster, a large number when there is no limit."""
        return 10**9 if self.max_schools is None else self.max_schools


@dataclass(frozen=True)
class TravelPolicy:
    """How travel times are computed, for the whole run.

    Attributes
    ----------
    travel_mode : {"walk", "drive"}
        Walkers use every road and path both ways, at Tobler hiking speeds;
        drivers use motorable roads at their speeds and respect one-way streets.
    walking_speed_kmh : float
        Walking speed on flat ground, km/h (Tobler's function gives about 5).
    detour_factor : float
        Straight-line distance times this factor approximates road distance,
        used only for straight-line travel times.
    max_snap_metres : float
        A school farther than this from the network is flagged.
    crs : str or None
        The projected CRS of ``x``/``y`` school coordinates (e.g. "EPSG:32643").
    elevation : tuple of str
        Elevation rasters (DEM tiles, metres, any CRS) whose heights are put
        on the road network's nodes, so walking times follow the slopes.
        Paths relative to the policy file are resolved against its folder.
    """

    travel_mode: str = "walk"
    walking_speed_kmh: float = 5.0
    detour_factor: float = 1.4
    max_snap_metres: float = 500.0
    crs: str | None = None
    elevation: tuple[str, ...] = ()


@dataclass(frozen=True)
class SupportPolicy:
    """How facilitators support clusters: the ``[support]`` table, for the whole run.

    Defaults come from the field study (000) and the mentoring programme (002).

    Attributes
    ----------
    meeting_minutes : float
        Length of one cluster meeting, in minutes (000: meetings "last from
        2-3 hours"; 180).
    working_day_minutes : float
        A facilitator's working day, from leaving the base to coming back, in
        minutes (480: eight hours).
    meetings_per_month : int
        Meetings of each cluster a facilitator attends in a month, each on a
        different day (000: clusters met monthly; 1).
    same_gender : bool
        A cluster whose teachers are all women gets a woman facilitator, all
        men a man, whatever the district's gender policy; a cluster of women
        and men gets anyone (true).
    match_levels : bool
        The facilitator's levels include every teacher level of the cluster
        (000: TTOs for middle clusters, TTFs for primary ones; true).
    match_subjects : bool
        A facilitator who lists subjects supports only clusters with a
        teacher of one of them (false).
    same_district : bool
        A facilitator with a ``district`` supports only clusters of that
        district (true).
    time_limit_seconds : float
        Solver time for assignment and calendar, for the whole run (60).
    """

    meeting_minutes: float = 180.0
    working_day_minutes: float = 480.0
    meetings_per_month: int = 1
    same_gender: bool = True
    match_levels: bool = True
    match_subjects: bool = False
    same_district: bool = True
    time_limit_seconds: float = 60.0


@dataclass(frozen=True)
class Policy:
    """Defaults, per-district overrides and travel settings of one scenario."""

    default: DistrictPolicy = field(default_factory=DistrictPolicy)
    districts: dict[str, DistrictPolicy] = field(default_factory=dict)
    travel: TravelPolicy = field(default_factory=TravelPolicy)
    cross_district: bool = False
    source: str | None = None
    inputs: InputSettings = field(default_factory=InputSettings)
    support: SupportPolicy = field(default_factory=SupportPolicy)

    def with_overrides(self, *, district: str | None = None, elevation: Iterable[str | Path] | None = None) -> Policy:
        """The same policy with the command line's ``--district`` and ``--elevation`` in place of the file's.

        ``None`` keeps the policy's own setting.
        """
        pol = self
        if district is not None:
            pol = replace(pol, inputs=replace(pol.inputs, district=str(district).strip() or None))
        if elevation is not None:
            pol = replace(pol, travel=replace(pol.travel, elevation=tuple(str(Path(p).resolve()) for p in elevation)))
        return pol

    def for_district(self, district: str) -> DistrictPolicy:
        """The rules that apply in ``district``: the one answer to "which policy applies here".

        Its ``[districts.NAME]`` table where there is one, else the defaults.
        With ``cross_district = true`` there are no district tables (the
        loader refuses them), so every district gets the defaults.
        """
        return self.districts.get(district, self.default)

    def left_out(self, assignments: pd.DataFrame) -> pd.Series:
        """Rows of an assignments table (``role``, ``district``, ``status``) left out by policy, not by the rules."""
        import pandas as pd

        rules = {d: self.for_district(d) for d in assignments["district"].unique()}
        flags = [
            st != "placed" and rules[d].leaves_out(r) for r, d, st in zip(assignments["role"], assignments["district"], assignments["status"], strict=False)
        ]
        return pd.Series(flags, index=assignments.index, dtype=bool)

    @property
    def travel_cutoff_minutes(self) -> float | None:
        """How far travel times are computed: three times the longest travel limit.

        Beyond the limit, times are still needed to say which longer limit
        would place a teacher; ``None`` (no cutoff) when any district has no
        travel limit.
        """
        limits = [self.default.max_travel_minutes, *(p.max_travel_minutes for p in self.districts.values())]
        if any(lim is None for lim in limits):
            return None
        return 3.0 * max(lim for lim in limits if lim is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary, as written in plan summaries."""
        out: dict[str, Any] = {f.name: _plain(getattr(self.default, f.name)) for f in fields(DistrictPolicy)}
        out.update({f.name: getattr(self.travel, f.name) for f in fields(TravelPolicy)})
        out["elevation"] = list(self.travel.elevation)
        out["cross_district"] = self.cross_district
        out["district"] = self.inputs.district
        out["sheets"] = dict(self.inputs.sheets)
        out["columns"] = {k: dict(v) for k, v in self.inputs.columns.items()}
        out["values"] = {k: {f: dict(m) for f, m in v.items()} for k, v in self.inputs.values.items()}
        out["support"] = {f.name: getattr(self.support, f.name) for f in fields(SupportPolicy)}
        out["districts"] = {
            name: {f.name: _plain(getattr(p, f.name)) for f in fields(DistrictPolicy) if getattr(p, f.name) != getattr(self.default, f.name)}
            for name, p in self.districts.items()
        }
        return out


def _plain(value: Any) -> Any:
    """Policy values as plain TOML/JSON values (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


_DISTRICT_KEYS = {f.name: f for f in fields(DistrictPolicy)}
_SUPPORT_KEYS = {f.name: f for f in fields(SupportPolicy)}
_TRAVEL_KEYS = {f.name: f for f in fields(TravelPolicy)}
_TOP_ONLY = {"cross_district"}
#: Top-level keys and tables on how the input files are read (:class:`InputSettings`).
_INPUT_KEYS = ("district", "sheets", "columns", "values")
#: Keys where 0 in the TOML file means "no limit / not fixed": ``None`` in the typed policy.
_NONE_WHEN_ZERO = {"max_schools", "max_travel_minutes", "n_clusters"}

_CHOICES = {
    "gender": GENDER_POLICIES,
    "levels": LEVEL_POLICIES,
    "objective": OBJECTIVES,
    "travel_mode": TRAVEL_MODES,
    "subjects_rule": SUBJECT_RULES,
}


def _check_value(key: str, value: Any, col: ProblemCollector, where: str) -> Any:
    """Type-check one policy value; returns the converted value or None on error."""
    fieldname = f"{where}{key}"
    if key in _CHOICES:
        if not isinstance(value, str) or value not in _CHOICES[key]:
            col.add(f"'{value}' is not a valid {key}.", fix=f"use one of {', '.join(_CHOICES[key])}.", field=fieldname)
            return None
        return value
    if key == "crs":
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            col.add('crs must be text such as "EPSG:32643".', fix="quote the CRS name.", field=fieldname)
            return None
        try:
            import pyproj

            pyproj.CRS.from_user_input(value)
        except Exception:
            col.add(f"'{value}' is not a coordinate reference system PROJ knows.", fix='use an EPSG code such as "EPSG:32643" (UTM 43N).', field=fieldname)
            return None
        return value
    if key == "elevation":
        paths = [value] if isinstance(value, str) else value
        if not isinstance(paths, list) or not all(isinstance(p, str) and p.strip() for p in paths):
            col.add(
                f"elevation must be a list of raster files, not {value!r}.",
                fix='write elevation = ["dem.tif"] (paths relative to the policy file).',
                field=fieldname,
            )
            return None
        return tuple(p.strip() for p in paths)
    if key == "subjects_required":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            col.add(
                f"subjects_required must be a list of subject names, not {value!r}.",
                fix='write for example subjects_required = ["math", "science", "english"].',
                field=fieldname,
            )
            return None
        return tuple(dict.fromkeys(v.strip().lower() for v in value))
    if key in ("include_head_teachers", "cross_district"):
        if not isinstance(value, bool):
            col.add(f"{key} must be true or false, not {value!r}.", fix="write true or false without quotes.", field=fieldname)
            return None
        return value
    if key in ("min_teachers", "max_teachers", "max_schools", "n_clusters", "min_schools", "max_moved_teachers"):
        if isinstance(value, bool) or not isinstance(value, int):
            col.add(f"{key} must be a whole number, not {value!r}.", fix="write a whole number without quotes.", field=fieldname)
            return None
        low = 1 if key in ("min_teachers", "max_teachers", "n_clusters", "min_schools") else 0
        if value < low:
            col.add(f"{key} must be at least {low}, not {value}.", fix=f"use a number of {low} or more.", field=fieldname)
            return None
        return value
    # non-negative numbers
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        col.add(f"{key} must be a number, not {value!r}.", fix="write a number without quotes.", field=fieldname)
        return None
    value = float(value)
    positive = key in ("walking_speed_kmh", "detour_factor", "time_limit_seconds", "max_snap_metres")
    if value < 0 or (positive and value == 0) or value != value or value == float("inf"):
        col.add(f"{key} must be {'greater than 0' if positive else 'zero or more'}, not {value}.", fix="use a sensible positive number.", field=fieldname)
        return None
    if key == "detour_factor" and value < 1:
        col.add(
            f"detour_factor must be 1 or more (roads are never shorter than a straight line), not {value}.", fix="use a value such as 1.4.", field=fieldname
        )
        return None
    return value


def _district_values(table: dict[str, Any], col: ProblemCollector, where: str, allow_travel: bool) -> tuple[dict, dict, dict]:
    district_vals: dict[str, Any] = {}
    travel_vals: dict[str, Any] = {}
    top_vals: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("districts", "support", *_INPUT_KEYS) and not where:
            continue
        if key in _DISTRICT_KEYS:
            if key == "max_moved_teachers" and value is None:  # null in a summary: no limit (0 is a real limit)
                district_vals[key] = None
                continue
            if key in _NONE_WHEN_ZERO and (value is None or (value == 0 and not isinstance(value, bool))):
                district_vals[key] = None  # 0 in the file (or null in a summary) means "no limit"
                continue
            v = _check_value(key, value, col, where)
            if v is not None:
                district_vals[key] = v
        elif key in _TRAVEL_KEYS or key in _TOP_ONLY or key in _INPUT_KEYS:
            if not allow_travel:
                col.add(
                    f"'{key}' applies to the whole run and cannot be set for one district.",
                    fix=f"move '{key}' to the top of the policy file.",
                    field=f"{where}{key}",
                )
                continue
            v = _check_value(key, value, col, where)
            if v is not None or key == "crs":
                (top_vals if key in _TOP_ONLY else travel_vals)[key] = v
        else:
            known = sorted(list(_DISTRICT_KEYS) + ([] if not allow_travel else list(_TRAVEL_KEYS) + list(_TOP_ONLY) + list(_INPUT_KEYS)))
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys are: {', '.join(known)}."
            col.add(f"unknown policy key '{key}'.", fix=hint, field=f"{where}{key}")
    return district_vals, travel_vals, top_vals


def _support_values(table: Any, col: ProblemCollector) -> SupportPolicy:
    """The ``[support]`` table, type-checked; every problem names ``support.KEY``."""
    import difflib

    if not isinstance(table, dict):
        col.add("'support' must be a table: [support].", fix="write [support] on its own line, then its keys.", field="support")
        return SupportPolicy()
    vals: dict[str, Any] = {}
    for key, value in table.items():
        where = f"support.{key}"
        if key not in _SUPPORT_KEYS:
            close = difflib.get_close_matches(key, list(_SUPPORT_KEYS), n=1)
            col.add(
                f"unknown key '{key}' in [support].",
                fix=f"did you mean '{close[0]}'?" if close else f"known keys are: {', '.join(_SUPPORT_KEYS)}.",
                field=where,
            )
            continue
        default = getattr(SupportPolicy(), key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                col.add(f"{key} must be true or false, not {value!r}.", fix="write true or false without quotes.", field=where)
                continue
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                col.add(f"{key} must be a whole number of 1 or more, not {value!r}.", fix="write a whole number without quotes, such as 1.", field=where)
                continue
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
                col.add(
                    f"{key} must be a number of minutes (or seconds) greater than 0, not {value!r}.", fix="write a positive number without quotes.", field=where
                )
                continue
            value = float(value)
        vals[key] = value
    sp = replace(SupportPolicy(), **vals)
    if sp.meeting_minutes > sp.working_day_minutes:
        col.add(
            f"meeting_minutes ({sp.meeting_minutes:g}) is longer than working_day_minutes ({sp.working_day_minutes:g}); no meeting fits in a day.",
            fix="make the meeting shorter than the working day.",
            field="support.meeting_minutes",
        )
    return sp


def _check_bounds(p: DistrictPolicy, col: ProblemCollector, where: str) -> None:
    if p.max_schools is not None and p.min_schools > p.max_schools:
        col.add(
            f"min_schools ({p.min_schools}) is larger than max_schools ({p.max_schools}); no cluster could exist.",
            fix="make min_schools at most max_schools.",
            field=f"{where}min_schools",
        )
    if p.min_teachers > p.max_teachers:
        col.add(
            f"min_teachers ({p.min_teachers}) is larger than max_teachers ({p.max_teachers}); no cluster could exist.",
            fix="make min_teachers at most max_teachers.",
            field=f"{where}min_teachers",
        )


def _norm_code(value: Any) -> str:
    """How a file's code is compared: case, spaces, hyphens and underscores ignored."""
    import re
    import unicodedata

    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", str(value))).casefold()


def _table_kind(kind: str, col: ProblemCollector, where: str) -> bool:
    if kind in TABLE_KINDS:
        return True
    import difflib

    close = difflib.get_close_matches(kind, TABLE_KINDS, n=1)
    col.add(
        f"[{where}.{kind}] names no table the tool reads.",
        fix=f"did you mean [{where}.{close[0]}]?" if close else f"use one of {', '.join(f'[{where}.{k}]' for k in TABLE_KINDS)}.",
        field=f"{where}.{kind}",
    )
    return False


def _known_field(kind: str, name: str, col: ProblemCollector, where: str, coded: bool = False) -> bool:
    """Whether ``name`` is a column of the ``kind`` table (unchecked for a table no reader has declared yet)."""

    spec = table_spec(kind)
    if spec is None:
        return True
    names = [f.name for f in spec.fields if not coded or f.coded]
    if name in names:
        return True
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    what = "a column with codes" if coded else "a column"
    hint = f"did you mean '{close[0]}'?" if close else f"{kind} columns{' with codes' if coded else ''} are: {', '.join(names)}."
    col.add(f"'{name}' is not {what} of the {kind} table.", fix=hint, field=f"{where}.{kind}.{name}")
    return False


def _input_settings(data: dict[str, Any], col: ProblemCollector) -> InputSettings:
    """The ``district``, ``[sheets]``, ``[columns.*]`` and ``[values.*.*]`` settings, checked."""

    district = data.get("district")
    if district is not None and not isinstance(district, str):
        col.add(f"district must be text, not {district!r}.", fix='write district = "Abbottabad" (with quotes).', field="district")
        district = None
    district = district.strip() or None if isinstance(district, str) else None

    def table(key: str) -> dict[str, Any]:
        raw = data.get(key, {})
        if not isinstance(raw, dict):
            col.add(f"'{key}' must be a table such as [{key}.schools].", fix=f"write [{key}.schools] followed by its keys.", field=key)
            return {}
        return raw

    sheets: dict[str, str] = {}
    for kind, sheet in table("sheets").items():
        if not _table_kind(kind, col, "sheets"):
            continue
        if not isinstance(sheet, str) or not sheet.strip():
            col.add(f"sheets.{kind} must be the name of a sheet, not {sheet!r}.", fix=f'write {kind} = "Sheet1" under [sheets].', field=f"sheets.{kind}")
            continue
        sheets[kind] = sheet.strip()

    columns: dict[str, dict[str, str]] = {}
    for kind, mapping in table("columns").items():
        if not _table_kind(kind, col, "columns"):
            continue
        if not isinstance(mapping, dict):
            col.add(
                f"columns.{kind} must be a table of column names.",
                fix=f'write [columns.{kind}] followed by lines such as school_id = "EMIS Code".',
                field=f"columns.{kind}",
            )
            continue
        out: dict[str, str] = {}
        seen: dict[str, str] = {}
        for name, header in mapping.items():
            if not _known_field(kind, name, col, "columns"):
                continue
            if not isinstance(header, str) or not header.strip():
                col.add(
                    f"columns.{kind}.{name} must be the header of a column in the file, not {header!r}.",
                    fix=f'write {name} = "Header as in the file" (with quotes).',
                    field=f"columns.{kind}.{name}",
                )
                continue
            key = _norm_code(header)
            if key in seen:
                col.add(
                    f"the header '{header}' is given for both {seen[key]} and {name}.",
                    fix="each column of the file can stand for one column of the tool only.",
                    field=f"columns.{kind}.{name}",
                )
                continue
            seen[key] = name
            out[name] = header.strip()
        columns[kind] = out

    values: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, fields_ in table("values").items():
        if not _table_kind(kind, col, "values"):
            continue
        if not isinstance(fields_, dict):
            col.add(
                f"values.{kind} must hold tables such as [values.{kind}.gender].",
                fix=f'write [values.{kind}.FIELD] followed by lines such as "Co-education" = "mixed".',
                field=f"values.{kind}",
            )
            continue
        spec = table_spec(kind)
        values[kind] = {}
        for name, mapping in fields_.items():
            where = f"values.{kind}.{name}"
            if not _known_field(kind, name, col, "values", coded=True):
                continue
            if not isinstance(mapping, dict):
                col.add(
                    f"{where} must be a table of the file's values and the tool's.",
                    fix=f'write [{where}] followed by lines such as "File value" = "tool value".',
                    field=where,
                )
                continue
            fs = spec.field(name) if spec is not None else None
            out_map: dict[str, Any] = {}
            seen_codes: dict[str, str] = {}
            for code, target in mapping.items():
                if fs is not None:
                    canon = fs.canonical(target)
                    if canon is None:
                        col.add(f"'{target}' is not a {name} the tool knows.", fix=f"map {code!r} to one of {fs.allowed_text()}.", field=f"{where}.{code}")
                        continue
                    target = canon
                k = _norm_code(code)
                if k in seen_codes:
                    col.add(
                        f"the value '{code}' is mapped twice (also as '{seen_codes[k]}'; case and spaces are ignored).",
                        fix="keep one of the two lines.",
                        field=f"{where}.{code}",
                    )
                    continue
                seen_codes[k] = code
                out_map[str(code)] = target
            values[kind][name] = out_map
    return InputSettings(district=district, sheets=sheets, columns=columns, values=values)


def _resolve_elevation(paths: tuple[str, ...], source: str) -> tuple[str, ...]:
    """Elevation raster paths, relative ones taken from the policy file's folder."""
    base = Path(source).parent if source and Path(source).is_file() else None
    return tuple(str((base / p).resolve()) if base is not None and not Path(p).is_absolute() else p for p in paths)


def policy_from_dict(data: dict[str, Any], source: str = "<policy>") -> Policy:
    """Build and validate a :class:`Policy` from parsed TOML."""
    col = ProblemCollector(source)
    dvals, tvals, topvals = _district_values(data, col, "", allow_travel=True)
    inputs = _input_settings(data, col)
    if "elevation" in tvals:
        tvals["elevation"] = _resolve_elevation(tvals["elevation"], source)
    default = replace(DistrictPolicy(), **dvals)
    _check_bounds(default, col, "")
    districts: dict[str, DistrictPolicy] = {}
    raw = data.get("districts", {})
    if not isinstance(raw, dict):
        col.add("'districts' must be tables such as [districts.Mansehra].", fix="write one [districts.NAME] table per district.", field="districts")
        raw = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            col.add(f"districts.{name} must be a table.", fix=f"write [districts.{name}] followed by its keys.", field=f"districts.{name}")
            continue
        dv, _, _ = _district_values(table, col, f"districts.{name}.", allow_travel=False)
        districts[str(name)] = replace(default, **dv)
        if {"min_teachers", "max_teachers", "min_schools", "max_schools"} & set(dv):
            _check_bounds(districts[str(name)], col, f"districts.{name}.")
    support = _support_values(data.get("support", {}), col)
    cross = bool(topvals.get("cross_district", False))
    if cross and districts:
        col.add(
            "cross_district = true plans all districts together under one set of rules, so per-district overrides cannot apply.",
            fix="remove the [districts.*] tables or set cross_district = false.",
            field="cross_district",
        )
    col.raise_if_any()
    return Policy(
        default=default, districts=districts, travel=replace(TravelPolicy(), **tvals), cross_district=cross, source=source, inputs=inputs, support=support
    )


def _key_lines(text: str) -> dict[str, int]:
    """Line number of each key and table header of a TOML text, by dotted path.

    ``{"max_teachers": 2, "districts.Bagh": 5, "districts.Bagh.gender": 6}``.
    A light scan (tomllib keeps no positions); good enough to point a manager
    at the right line.
    """
    import re

    lines: dict[str, int] = {}
    table = ""
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip() if not line.lstrip().startswith(("'", '"')) else line.strip()
        m = re.match(r"^\[\s*([^\[\]]+?)\s*\]$", stripped)
        if m:
            table = ".".join(part.strip().strip('"').strip("'") for part in m.group(1).split("."))
            lines.setdefault(table, n)
            continue
        m = re.match(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_.\- ]+?)\s*=""", stripped)
        if m:
            key = ".".join(part.strip().strip('"').strip("'") for part in m.group(1).split("."))
            lines.setdefault(f"{table}.{key}" if table else key, n)
    return lines


def _with_lines(err: InputError, text: str) -> InputError:
    """Add the TOML line of each problem's field to the problem."""
    where = _key_lines(text)
    problems = []
    for p in err.problems:
        row = p.row
        if row is None and p.field:
            parts = p.field.split(".")
            for k in range(len(parts), 0, -1):  # the key, else its table
                if ".".join(parts[:k]) in where:
                    row = where[".".join(parts[:k])]
                    break
        problems.append(replace(p, row=row, row_word="line"))
    return InputError(problems)


def load_policy(path: str | Path | None) -> Policy:
    """Read a policy TOML file; ``None`` gives the field-study defaults.

    Every problem names the file, the line and the key.
    """
    if path is None:
        return Policy()
    path = Path(path)
    col = ProblemCollector(path, row_word="line")
    if not path.exists():
        col.add("the policy file does not exist.", fix="check the path given to --policy.")
        col.raise_if_any()
    if path.is_dir():
        col.add("this is a folder, not a policy file.", fix="give the path of the .toml file.")
        col.raise_if_any()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col.add(f"the policy file is not UTF-8 text (byte {raw[exc.start]:#04x}).", fix="save it as UTF-8 (in Notepad: Save as, Encoding UTF-8).", row=line)
        col.raise_if_any()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        row = None
        import re

        m = re.search(r"line (\d+)", msg)
        if m:
            row = int(m.group(1))
        col.add(
            f"not valid TOML ({msg}).", fix="check quotes, '=' signs and [section] headers on that line (text values need quotes: gender = \"mixed\").", row=row
        )
        col.raise_if_any()
    try:
        return policy_from_dict(data, str(path))
    except InputError as err:
        raise _with_lines(err, text) from None


#: What each policy key means, for the template ``cluster-mapper init`` writes.
KEY_HELP = {
    "min_teachers": "smallest cluster, in teachers (field study: 6)",
    "max_teachers": "largest cluster, in teachers (field study: 12)",
    "max_schools": "most schools in one cluster; 0 = no limit",
    "max_travel_minutes": "longest trip from a member school to the venue, in minutes; 0 = no limit",
    "gender": '"segregated" (women and men in separate clusters) or "mixed"',
    "levels": '"separate" (primary apart from middle and high) or "mixed"',
    "n_clusters": "exactly this many clusters in each district (one per mentor); 0 = as many as suit",
    "objective": '"teacher_minutes" (each teacher\'s travel) or "school_trips" (one trip per school)',
    "time_limit_seconds": "solver time for each district, in seconds",
    "include_head_teachers": "place head teachers as regular members (the field study advises against)",
    "min_schools": "fewest schools in one cluster (2 or more: teachers meet colleagues of other schools)",
    "subjects_required": 'cluster roles: subjects each middle/high cluster should have a teacher of, e.g. ["math", "science", "english"]',
    "subjects_rule": '"preferred" (cover the subjects where possible) or "hard" (no cluster without them)',
    "max_moved_teachers": "with --revise: most teachers moved to another venue; unset = no limit (0 is a limit)",
    "travel_mode": '"walk" (every road and path, both ways, slopes) or "drive" (motorable roads, one-way streets)',
    "walking_speed_kmh": "walking speed on flat ground, km/h (Tobler's hiking function on slopes)",
    "detour_factor": "road distance over straight distance, only for --straight-line",
    "max_snap_metres": "schools farther than this from the road network are flagged, in metres",
    "crs": 'projected CRS of x/y school columns, e.g. "EPSG:32643" (UTM 43N); "" = none',
    "elevation": "elevation rasters (DEM tiles, any CRS) for the road network, paths relative to this file (or --elevation)",
    "cross_district": "plan all districts together: clusters may cross district borders (no [districts.*] tables then)",
    "district": 'the district of every school, for a one-district file without a district column (or --district); "" = from the file',
}


def _toml_value(key: str, value: Any) -> str:
    if value is None:
        return "0" if key in _NONE_WHEN_ZERO else '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def policy_template() -> str:
    """A commented policy file with every setting at its default (``cluster-mapper init``).

    Read back with :func:`load_policy`, it gives the defaults. The tables
    on how input files are read (``[sheets]``, ``[columns.*]``,
    ``[values.*]``) and ``[districts.NAME]`` are shown commented out, with
    every column of the tool's tables.
    """

    d, t, i = DistrictPolicy(), TravelPolicy(), InputSettings()
    out = [
        "# cluster_mapper policy: the rules for forming clusters, and how the input files are read.",
        "# Every setting is shown at its default; delete a line to keep the default.",
        "# Check it with: cluster-mapper inspect --schools SCHOOLS --policy THIS_FILE",
        "",
    ]

    def line(key: str, value: Any) -> str:
        if value is None and key == "max_moved_teachers":  # 0 is a real limit and TOML has no null: show it commented out
            text = f"# {key} = 100"
        else:
            text = f"{key} = {_toml_value(key, value)}"
        return f"{text:<34}# {KEY_HELP[key]}"

    out.append("# ---- clusters (defaults for every district)")
    out += [line(f.name, getattr(d, f.name)) for f in fields(DistrictPolicy)]
    out += ["", "# ---- travel (the whole run)"]
    out += [line(f.name, getattr(t, f.name)) for f in fields(TravelPolicy)]
    out += [line("cross_district", False), "", "# ---- input files (the whole run)", line("district", i.district), ""]
    out += [
        "# [sheets]                        # the sheet of a workbook that holds each table (or FILE.xlsx#Sheet)",
        '# schools = "Schools"',
        '# teachers = "Staff"',
        "",
    ]
    for kind in TABLE_KINDS:
        spec = table_spec(kind)
        if spec is None:
            continue
        out.append(f"# [columns.{kind}]{' ' * (22 - len(kind))}# the tool's column = your file's header (common names are recognised without it)")
        out += [f'# {f.name} = "..."{" " * max(1, 24 - len(f.name))}# {f.description}' for f in spec.fields]
        out.append("")
    out += [
        "# [values.schools.gender]        # your file's codes = the tool's (case and spaces ignored)",
        '# "Co-education" = "mixed"',
        "",
        "# [values.teachers.level]        # post designations to the level taught",
        '# PST = "primary"',
        '# EST = "middle"',
        '# SST = "high"',
        "",
        "# [values.teachers.role]",
        '# "Head Teacher" = "head_teacher"',
        "",
        "# [values.schools.can_host]",
        "# Yes = true",
        "",
        "# [districts.Abbottabad]          # one district's own rules: any key of the clusters block",
        '# gender = "mixed"',
        "",
    ]
    return "\n".join(out)


def check_policy_districts(policy: Policy, districts: Iterable[str]) -> list[str]:
    """Check the policy's ``[districts.NAME]`` overrides against the schools' districts.

    An override for a district that has no schools is either a typo of a real
    district (then the real district silently gets the default rules: refused)
    or a province-wide policy used on part of the province (accepted, with a
    note). A name counts as a typo when it matches a district of the schools
    file that has no override of its own, ignoring case and spaces, or closely
    (difflib ratio >= 0.8).

    Returns
    -------
    list of str
        Notes for the plan summary, one per override with no schools.

    Raises
    ------
    InputError
        When an override looks like a misspelt district of the schools file.
    """
    import difflib

    present = sorted({str(d) for d in districts})
    without_override = [d for d in present if d not in policy.districts]

    def key(s: str) -> str:
        return "".join(s.split()).casefold()

    col = ProblemCollector(policy.source or "<policy>", row_word="line")
    notes = []
    for name in policy.districts:
        if name in present:
            continue
        same = [d for d in without_override if key(d) == key(name)]
        close = same or difflib.get_close_matches(name, without_override, n=1, cutoff=0.8)
        if close:
            col.add(
                f"[districts.{name}] names no district of the schools file, but '{close[0]}' has schools and no rules of its own: "
                f"it looks misspelt, and '{close[0]}' would silently get the default rules.",
                fix=f"rename the table to [districts.{close[0]}].",
                field=f"districts.{name}",
            )
        else:
            notes.append(f"policy [districts.{name}]: no schools of district {name} in this schools file; its rules are not used")
    if col.problems:
        text = Path(policy.source).read_text(encoding="utf-8-sig") if policy.source and Path(policy.source).is_file() else ""
        raise _with_lines(InputError(col.problems), text)
    return notes


__all__ = [
    "TABLE_KINDS",
    "SupportPolicy",
    "DistrictPolicy",
    "InputError",
    "InputSettings",
    "Policy",
    "TravelPolicy",
    "check_policy_districts",
    "load_policy",
    "policy_from_dict",
    "policy_template",
]
