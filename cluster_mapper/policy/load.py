"""Reading a policy: TOML checked key by key, every problem at once, into the typed rules of :mod:`cluster_mapper.policy.rules`."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from cluster_mapper.errors import InputError, ProblemCollector
from cluster_mapper.inputs.specs import TABLE_KINDS, InputSettings, table_spec
from cluster_mapper.policy.rules import (
    GENDER_POLICIES,
    LEVEL_POLICIES,
    LIMITS,
    OBJECTIVES,
    SUBJECT_RULES,
    TRAVEL_MODES,
    ZERO_MEANS_NO_LIMIT,
    DistrictPolicy,
    Policy,
    SupportPolicy,
    TravelPolicy,
)

_DISTRICT_KEYS = {f.name: f for f in fields(DistrictPolicy)}


_SUPPORT_KEYS = {f.name: f for f in fields(SupportPolicy)}


_TRAVEL_KEYS = {f.name: f for f in fields(TravelPolicy)}


_TOP_ONLY = {"cross_district"}


#: Top-level keys and tables on how the input files are read (:class:`InputSettings`).
_INPUT_KEYS = ("district", "sheets", "columns", "values")


#: Keys where 0 in the TOML file means "no limit / not fixed": ``None`` in the typed policy.
NONE_WHEN_ZERO = {"max_schools", "max_travel_minutes", "n_clusters"}


_CHOICES = {
    "gender": GENDER_POLICIES,
    "levels": LEVEL_POLICIES,
    "objective": OBJECTIVES,
    "travel_mode": TRAVEL_MODES,
    "subjects_rule": SUBJECT_RULES,
}


def _check_value(key: str, value: Any, col: ProblemCollector, where: str) -> Any:
    """Type-check one policy value and its range (:data:`LIMITS`); returns the converted value or None on error."""
    v = _check_type(key, value, col, where)
    if v is None or key not in LIMITS or isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    low, high, unit = LIMITS[key]
    if v > high:
        no_limit = ", or 0 for no limit" if key in ZERO_MEANS_NO_LIMIT else ""
        col.add(
            f"{key} = {value!r} is beyond reason: it accepts up to {high:g}{' ' + unit if unit else ''}{no_limit}.",
            fix=f"write a number from {max(low, 1 if no_limit else low):g} to {high:g}{no_limit}.",
            field=f"{where}{key}",
        )
        return None
    return v


def _check_type(key: str, value: Any, col: ProblemCollector, where: str) -> Any:
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
            if key in NONE_WHEN_ZERO and (value is None or (value == 0 and not isinstance(value, bool))):
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
            close = [k for k in _SUPPORT_KEYS if k.startswith(key)][:1] or difflib.get_close_matches(key, list(_SUPPORT_KEYS), n=1)
            col.add(
                f"unknown key '{key}' in [support].",
                fix=f"did you mean '{close[0]}'?" if close else f"known keys are: {', '.join(_SUPPORT_KEYS)}.",
                field=where,
            )
            continue
        if key in _SUPPORT_CALENDAR_KEYS:
            got = _support_calendar_value(key, value, col, where)
            if got is not None:
                vals.update(got)
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
    if sp.meeting_window and sp.meeting_window[0] > sp.meeting_window[1]:
        col.add(
            f"meeting_window starts at {sp.meeting_window[0]}, after its end {sp.meeting_window[1]}.",
            fix='write the earlier time first, e.g. meeting_window = ["09:00", "14:00"].',
            field="support.meeting_window",
        )
    if sp.month and sp.holidays and not all(h.startswith(sp.month) for h in sp.holidays):
        away = [h for h in sp.holidays if not h.startswith(sp.month)]
        col.add(
            f"holidays {', '.join(away[:3])} are not in the planned month {sp.month}, so they cannot apply.",
            fix=f"list only dates of {sp.month}, or change month.",
            field="support.holidays",
        )
    if sp.meeting_minutes > sp.working_day_minutes:
        col.add(
            f"meeting_minutes ({sp.meeting_minutes:g}) is longer than working_day_minutes ({sp.working_day_minutes:g}); no meeting fits in a day.",
            fix="make the meeting shorter than the working day.",
            field="support.meeting_minutes",
        )
    return sp


#: ``[support]`` keys of the calendar, read by :func:`_support_calendar_value` (the others are numbers and switches).
_SUPPORT_CALENDAR_KEYS = {"month", "workdays", "district_workdays", "holidays", "day_start", "meeting_window", "attendance_threshold"}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: Any) -> str | None:
    """``"8:00"`` / ``"08:00"`` -> ``"08:00"``; None when not a clock time."""
    import re

    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value) if isinstance(value, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _weekdays(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip().lower()[:3] in _WEEKDAYS for v in value):
        return None
    days = {v.strip().lower()[:3] for v in value}
    return tuple(d for d in _WEEKDAYS if d in days)


def _support_calendar_value(key: str, value: Any, col: ProblemCollector, where: str) -> dict[str, Any] | None:
    """One calendar key of ``[support]``, checked; the typed values it sets, or None after an error."""
    import datetime as dt

    if key == "month":
        try:
            dt.date.fromisoformat(f"{value}-01") if isinstance(value, str) and len(value) == 7 else None
            ok = isinstance(value, str) and len(value) == 7
        except ValueError:
            ok = False
        if not ok:
            col.add(f'month must be a year and month like "2027-03", not {value!r}.', fix='write month = "2027-03" (quoted).', field=where)
            return None
        return {"month": value}
    if key == "workdays":
        if isinstance(value, dict):
            parsed = {d: _weekdays(v) for d, v in value.items()}
            bad = [d for d, v in parsed.items() if v is None]
            if bad:
                col.add(
                    f"workdays for {', '.join(map(str, bad))} must be a list of weekdays.",
                    fix='write e.g. default = ["mon", "tue", "wed", "thu", "fri"].',
                    field=where,
                )
                return None
            out: dict[str, Any] = {"district_workdays": tuple(sorted((d, v) for d, v in parsed.items() if d != "default" and v))}
            if parsed.get("default"):
                out["workdays"] = parsed["default"]
            return out
        days = _weekdays(value)
        if days is None:
            col.add(
                f"workdays must be a list of weekdays (mon, tue, ... sun), or a table of district = list, not {value!r}.",
                fix='write workdays = ["mon", "tue", "wed", "thu", "fri"].',
                field=where,
            )
            return None
        return {"workdays": days}
    if key == "district_workdays":
        col.add("district_workdays is set through workdays.", fix='write workdays = {default = ["mon", ...], "District" = ["mon", ...]}.', field=where)
        return None
    if key == "holidays":
        good: list[str] = []
        for v in value if isinstance(value, list) else [value]:
            try:
                good.append(dt.date.fromisoformat(v).isoformat() if isinstance(v, str) else "")
            except ValueError:
                good.append("")
        if not isinstance(value, list) or "" in good:
            col.add(f'holidays must be a list of ISO dates like "2027-03-23", not {value!r}.', fix='write holidays = ["2027-03-23"].', field=where)
            return None
        return {"holidays": tuple(sorted(set(good)))}
    if key == "day_start":
        c = _clock(value)
        if c is None:
            col.add(f'day_start must be a clock time like "08:00", not {value!r}.', fix='write day_start = "08:00" (quoted, 24-hour).', field=where)
            return None
        return {"day_start": c}
    if key == "meeting_window":
        pair = [_clock(v) for v in value] if isinstance(value, list) and len(value) == 2 else [None]
        if None in pair:
            col.add(
                f"meeting_window must be two clock times, not {value!r}.",
                fix='write meeting_window = ["09:00", "14:00"] (meetings start within it).',
                field=where,
            )
            return None
        return {"meeting_window": (pair[0], pair[1])}
    # attendance_threshold
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        col.add(f"attendance_threshold must be a share between 0 and 1, not {value!r}.", fix="write e.g. attendance_threshold = 0.6.", field=where)
        return None
    return {"attendance_threshold": float(value)}


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


def _may_share(kind: str, first: str, second: str) -> bool:
    """Whether one header may feed both fields: both hold codes (a Designation column for level and role)."""
    spec = table_spec(kind)
    if spec is None:
        return False
    fields = {f.name: f for f in spec.fields}
    return all(n in fields and fields[n].coded and not fields[n].boolean for n in (first, second))


def _input_settings(data: dict[str, Any], col: ProblemCollector) -> InputSettings:
    """The ``district``, ``[sheets]``, ``[columns.*]`` and ``[values.*.*]`` settings, checked."""
    district = data.get("district")
    if district is not None and not isinstance(district, str):
        col.add(f"district must be text, not {district!r}.", fix='write district = "Abbottabad" (with quotes).', field="district")
        district = None
    district = district.strip() or None if isinstance(district, str) else None

    sheets = _sheets(_table(data, "sheets", col), col)
    columns = _columns(_table(data, "columns", col), col)
    values = _values(_table(data, "values", col), col)
    return InputSettings(district=district, sheets=sheets, columns=columns, values=values)


def _table(data: dict[str, Any], key: str, col: ProblemCollector) -> dict[str, Any]:
    """A top-level table of the policy (``[sheets]``, ``[columns.*]``, ``[values.*]``), or {} with the problem noted."""
    raw = data.get(key, {})
    if not isinstance(raw, dict):
        col.add(f"'{key}' must be a table such as [{key}.schools].", fix=f"write [{key}.schools] followed by its keys.", field=key)
        return {}
    return raw


def _sheets(raw: dict[str, Any], col: ProblemCollector) -> dict[str, str]:
    """``[sheets]``: the sheet of a workbook to read for each table."""
    sheets: dict[str, str] = {}
    for kind, sheet in raw.items():
        if not _table_kind(kind, col, "sheets"):
            continue
        if not isinstance(sheet, str) or not sheet.strip():
            col.add(f"sheets.{kind} must be the name of a sheet, not {sheet!r}.", fix=f'write {kind} = "Sheet1" under [sheets].', field=f"sheets.{kind}")
            continue
        sheets[kind] = sheet.strip()

    return sheets


def _columns(raw: dict[str, Any], col: ProblemCollector) -> dict[str, dict[str, str]]:
    """``[columns.KIND]``: the file's header for each of the tool's columns (one header may feed several coded fields)."""
    columns: dict[str, dict[str, str]] = {}
    for kind, mapping in raw.items():
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
            if key in seen and not _may_share(kind, seen[key], name):
                col.add(
                    f"the header '{header}' is given for both {seen[key]} and {name}.",
                    fix="one column of the file may feed several of the tool's columns only when each holds codes ([values.KIND.FIELD]), "
                    "such as a Designation column for both level and role.",
                    field=f"columns.{kind}.{name}",
                )
                continue
            seen.setdefault(key, name)
            out[name] = header.strip()
        columns[kind] = out

    return columns


def _values(raw: dict[str, Any], col: ProblemCollector) -> dict[str, dict[str, dict[str, Any]]]:
    """``[values.KIND.FIELD]``: the file's codes and the tool's, each target checked against the field's codes."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, fields_ in raw.items():
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
    return values


def _resolve_elevation(paths: tuple[str, ...], source: str) -> tuple[str, ...]:
    """Elevation raster paths, relative ones taken from the policy file's folder."""
    base = Path(source).parent if source and Path(source).is_file() else None
    return tuple(str((base / p).resolve()) if base is not None and not Path(p).is_absolute() else p for p in paths)


def policy_from_dict(data: dict[str, Any], source: str = "<policy>") -> Policy:
    """Build and validate a :class:`Policy` from parsed TOML."""
    col = ProblemCollector(source)
    dvals, tvals, topvals = _district_values(data, col, "", allow_travel=True)
    inputs = replace(_input_settings(data, col), source=source)
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
