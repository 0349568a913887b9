"""Load and validate the inputs: schools, teacher rosters.

Both are read by the one table reader (:func:`cluster_mapper.inputs.tables.read_table`):
CSV, workbooks (.xlsx, .ods) and GIS layers, the office's own headers and
codes mapped by the policy (``[columns.*]``, ``[values.*]``) or recognised
as common names, every guess announced in :attr:`Inputs.notes`. The loaders
here add the checks of their own table (ids, positions, counts, schools of
the roster) to the same problem collector and raise one
:class:`~cluster_mapper.errors.InputError` listing every problem, each with
the file, row, field and fix. Row numbers are what a spreadsheet shows; for
GeoJSON and GeoPackage files the row is the feature number, starting at 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from cluster_mapper.errors import InputError, fail
from cluster_mapper.inputs.specs import SCHOOLS, TEACHERS, InputSettings, ambiguous_number, strip_invisible, table_spec, visible
from cluster_mapper.inputs.tables import ColumnReading, Table, code_key, position_advice, read_csv_rows, read_table

if TYPE_CHECKING:
    from cluster_mapper.policy.rules import Policy

SCHOOL_GENDERS = ("boys", "girls", "mixed")
TEACHER_GENDERS = ("female", "male")
LEVELS = ("primary", "middle", "high")
ROLES = ("teacher", "head_teacher")
#: Count columns accepted in a schools file when there is no roster.
COUNT_COLUMNS = tuple(f"{g}_{lvl}" for g in TEACHER_GENDERS for lvl in LEVELS)
#: Per-school counts by gender; the level comes from the school's ``level`` column.
GENDER_COUNT_COLUMNS = ("female_teachers", "male_teachers")
#: The three ways a schools file can give its teachers, each a set of columns.
COUNT_FORMS = {"teachers": ("teachers",), "by gender": GENDER_COUNT_COLUMNS, "by gender and level": COUNT_COLUMNS}
MAX_TEACHERS_PER_SCHOOL = 500


def parse_float(value: str) -> float | None:
    try:
        v = float(str(value).replace(",", ".")) if str(value).count(",") == 1 and "." not in str(value) else float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def id_key(value: str) -> str:
    """How ids are compared for near-duplicates: case, inner spaces and invisible characters ignored."""
    return re.sub(r"\s+", "", strip_invisible(str(value))).casefold()


def missing_columns(t: Table, *, optional: tuple[str, ...] = ()) -> list[str]:
    """The table's required columns that the file does not have (already reported by the reader)."""
    spec = table_spec(t.kind)
    return [f.name for f in (spec.fields if spec else ()) if f.required and not t.has(f.name) and f.name not in optional]


def check_ids(t: Table, column: str, what: str) -> None:
    col, df, fld = t.problems, t.data, t.field(column)
    first_seen: dict[str, tuple[str, int]] = {}
    for value, row in zip(df[column], df["_row"], strict=False):
        if value == "":
            col.add(f"the {what} has no {column}.", row=row, field=fld, fix=f"give every {what} a unique {column}.")
            continue
        key = id_key(value)
        if key in first_seen:
            other, other_row = first_seen[key]
            if other == value:
                col.add(
                    f"{column} '{visible(value)}' is used twice (also row {other_row}).",
                    row=row,
                    field=fld,
                    fix=f"give each {what} its own {column}, or delete the duplicate row.",
                )
            else:
                col.add(
                    f"{column} '{visible(value)}' differs from '{visible(other)}' (row {other_row}) only in case, spaces or invisible characters; they look like the same {what}.",
                    row=row,
                    field=fld,
                    fix="make the two ids clearly different, or merge the rows.",
                )
        else:
            first_seen[key] = (value, row)


@dataclass
class Inputs:
    """Validated inputs of one planning run.

    Attributes
    ----------
    schools : geopandas.GeoDataFrame
        One row per school, EPSG:4326 points; columns ``school_id``, ``name``,
        ``district``, ``gender``, ``can_host``, ``geometry``, ``_row`` (and
        ``level`` when the file gives it).
    teachers : pandas.DataFrame
        One row per teacher (roster input) or per school, gender and level
        group (count input); columns ``teacher_id``, ``school_id``,
        ``gender``, ``level``, ``subject``, ``role``, ``n_teachers``.
    schools_path, teachers_path : str or None
        Where they came from (``FILE.xlsx#Sheet`` for a sheet), for messages
        and plan summaries.
    tables : dict
        The :class:`~cluster_mapper.inputs.tables.Table` of each file read
        (``schools``, ``teachers``): how each column and value was read.
    """

    schools: gpd.GeoDataFrame
    teachers: pd.DataFrame
    schools_path: str | None = None
    teachers_path: str | None = None
    tables: dict[str, Table] = field(default_factory=dict)

    @property
    def counts_input(self) -> bool:
        """True when teachers came as per-school counts, not a roster."""
        return self.teachers_path is None

    @property
    def notes(self) -> list[str]:
        """How the inputs were read, where it involved a guess or skipped rows (one line each)."""
        return [n for t in self.tables.values() for n in t.notes]


def _x_y_as_degrees(t: Table, crs: str | None) -> bool:
    """x/y columns without a crs whose values are all degrees: read as longitude/latitude (announced)."""
    if crs or not (t.has("x") and t.has("y")) or t.has("latitude") or t.has("longitude") or len(t.data) == 0:
        return False
    xs = [parse_float(v) for v in t.data["x"]]
    ys = [parse_float(v) for v in t.data["y"]]
    if any(v is None for v in xs + ys) or not all(x is not None and y is not None and abs(x) <= 180 and abs(y) <= 90 for x, y in zip(xs, ys, strict=True)):
        return False

    hx, hy = t.headers.pop("x"), t.headers.pop("y")
    t.data = t.data.rename(columns={"x": "longitude", "y": "latitude"})
    t.headers.update(longitude=hx, latitude=hy)
    t.columns = [
        ColumnReading({"x": "longitude", "y": "latitude"}.get(c.field, c.field), c.header, "degrees" if c.field in ("x", "y") else c.how, c.letter)
        for c in t.columns
    ]
    t.notes.append(f"{t.source}: columns '{hx}' and '{hy}' read as longitude and latitude: every value is in degrees and the policy names no crs")
    return True


def read_schools(path: str | Path, policy: Policy | None = None, *, crs: str | None = None) -> tuple[gpd.GeoDataFrame, Table]:
    """Read and check a schools table; its schools and how it was read.

    Parameters
    ----------
    path : path
        CSV, workbook (``.xlsx``, ``.ods``; ``FILE.xlsx#Sheet``), GeoJSON or
        GeoPackage. Columns (under these names, names the policy maps in
        ``[columns.schools]``, or common synonyms): ``school_id``, ``name``,
        ``district`` (or ``district`` given for the run), ``gender``
        (boys|girls|mixed) and a position: ``latitude``/``longitude`` (WGS84
        degrees), ``x``/``y`` (metres in the policy's ``crs``; degrees without
        one), or the file's own geometry. Optional ``can_host`` (default
        true), ``level`` (primary|middle|high) and, without a roster, teacher
        counts: ``teachers``, ``male_teachers``/``female_teachers`` (level
        from ``level``) or ``female_primary`` ... ``male_high``.
    policy : Policy, optional
        Its ``inputs`` (sheets, columns, values, district) and ``travel.crs``.
    crs : str, optional
        The CRS of ``x``/``y`` columns, when no policy gives it.

    Returns
    -------
    (geopandas.GeoDataFrame, Table)
        The schools in EPSG:4326, one row per school, and the table as read.
    """

    settings = policy.inputs if policy is not None else InputSettings()
    crs = crs if crs is not None else (policy.travel.crs if policy is not None else None)
    district = settings.district
    t = read_table(path, SCHOOLS, settings, optional=("district",) if district else (), defer=True)
    path = t.path
    col = t.problems
    F = t.field
    has_geom = "_geometry" in t.data.columns
    _x_y_as_degrees(t, crs)
    df = t.data
    has_latlon = t.has("latitude") or t.has("longitude")
    has_xy = t.has("x") or t.has("y")
    if not (has_geom or has_latlon or has_xy):
        pair = position_advice(t.raw, t.unused) if t.raw is not None else None
        col.add(
            "the schools have no position" + (f": columns '{pair[0]}' and '{pair[1]}' hold degrees north and east." if pair else "."),
            row=t.header_row,
            field="latitude",
            fix=f'name them in the policy: [columns.schools] latitude = "{pair[0]}" and longitude = "{pair[1]}".'
            if pair
            else "add 'latitude' and 'longitude' columns (WGS84 degrees), or 'x' and 'y' with the policy key crs, or name the file's columns in [columns.schools].",
        )
    if has_xy and not has_latlon and not crs:
        col.add(
            "positions are given as x/y but the policy names no CRS for them.",
            row=t.header_row,
            field=F("x"),
            fix='set crs = "EPSG:...." in the policy (for example EPSG:32643 for UTM 43N), or give latitude/longitude.',
        )
    if missing_columns(t, optional=("district",) if district else ()) or not (has_geom or has_latlon or has_xy) or (has_xy and not has_latlon and not crs):
        col.raise_if_any()  # no row can be checked further
    if len(df) == 0:
        col.raise_if_any()
        fail(path, "the file has a header but no schools.", fix="export the schools table again with its rows.", row=t.header_row + 1)

    check_ids(t, "school_id", "school")
    lons, lats = [], []
    transformer = None
    if has_xy and not has_latlon and crs:
        import pyproj

        transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        _check_xy_not_degrees(t, crs)
    for fld in ("latitude", "longitude"):
        if has_latlon and not t.has(fld):
            col.add(f"column '{fld}' is missing.", row=t.header_row, field=fld, fix="give both latitude and longitude.")
    districts = _districts(t, district)
    for _, r in df.iterrows():
        if r["name"] == "":
            col.add("the school has no name.", row=int(r["_row"]), field=F("name"), fix="fill in the school's name.")
        lon, lat = _row_position(t, r, has_latlon=has_latlon, has_xy=has_xy, transformer=transformer, crs=crs)
        lons.append(lon)
        lats.append(lat)
    _check_count_columns(t)
    _check_swapped(t, lats, lons)
    col.raise_if_any()
    out = pd.DataFrame(
        {
            "school_id": df["school_id"].astype(str),
            "name": df["name"].astype(str),
            "district": districts,
            "gender": df["gender"].astype(str),
            "can_host": [v != "false" for v in df["can_host"]] if t.has("can_host") else True,
            "_row": df["_row"].astype(int),
        }
    )
    if t.has("level"):
        out["level"] = df["level"].astype(str)
    for c in ("teachers", *GENDER_COUNT_COLUMNS, *COUNT_COLUMNS):
        if t.has(c):
            out[c] = [int(parse_float(v) or 0) if v != "" else 0 for v in df[c]]
    if t.has("generated"):
        out["generated"] = [v == "true" for v in df["generated"]]
    gdf = gpd.GeoDataFrame(out, geometry=[Point(lo, la) for lo, la in zip(lons, lats, strict=False)], crs="EPSG:4326")
    gdf.attrs["source"] = str(path)
    return gdf, t


def _row_position(t: Table, r: pd.Series, *, has_latlon: bool, has_xy: bool, transformer: Any, crs: str | None) -> tuple[float | None, float | None]:
    """One school's (longitude, latitude) in degrees, or (None, None) with the problem added."""
    col, F = t.problems, t.field
    row = int(r["_row"])
    lon = lat = None
    if has_latlon:
        if t.has("latitude") and t.has("longitude"):
            lat, lon = parse_float(r["latitude"]), parse_float(r["longitude"])
            if r["latitude"] == "" or r["longitude"] == "":
                col.add(
                    "the school has no coordinates.",
                    row=row,
                    field=F("latitude" if r["latitude"] == "" else "longitude"),
                    fix="fill in latitude and longitude (WGS84 degrees), or remove the school.",
                )
                lat = lon = None
            elif lat is None or lon is None:
                bad = "latitude" if lat is None else "longitude"
                col.add(f"{bad} '{r[bad]}' is not a number.", row=row, field=F(bad), fix="write decimal degrees such as 34.33.")
                lat = lon = None
            elif not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
                if -90 <= lon <= 90 and -180 <= lat <= 180:
                    col.add(
                        f"latitude {lat} is out of range; latitude and longitude look swapped.",
                        row=row,
                        field=F("latitude"),
                        fix="swap the latitude and longitude values.",
                    )
                else:
                    col.add(
                        f"coordinates ({lat}, {lon}) are out of range.",
                        row=row,
                        field=F("latitude"),
                        fix="latitude must be within -90..90 and longitude within -180..180.",
                    )
                lat = lon = None
    elif has_xy and transformer is not None:
        x, y = parse_float(r.get("x", "")), parse_float(r.get("y", ""))
        if x is None or y is None:
            col.add("x or y is missing or not a number.", row=row, field=F("x" if x is None else "y"), fix="fill in x and y in metres of the policy's crs.")
        else:
            lon, lat = transformer.transform(x, y)
            if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
                col.add(f"x/y ({x}, {y}) do not fall on the earth in {crs}.", row=row, field=F("x"), fix="check the policy's crs matches the coordinates.")
                lon = lat = None
    else:
        geom = r["_geometry"]
        if geom is None or geom.is_empty:
            col.add("the feature has no geometry.", row=row, field="geometry", fix="place the school on the map, or remove it.")
        else:
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            src_crs = t.crs
            if src_crs is not None and not src_crs.equals("EPSG:4326"):
                import pyproj

                lon, lat = pyproj.Transformer.from_crs(src_crs, "EPSG:4326", always_xy=True).transform(pt.x, pt.y)
            else:
                lon, lat = pt.x, pt.y
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                col.add(
                    f"position ({pt.x}, {pt.y}) is not in degrees; the file's CRS is missing or wrong.",
                    row=row,
                    field="geometry",
                    fix="save the file with its CRS, or reproject it to EPSG:4326.",
                )
                lon = lat = None
    if lat is not None and lon is not None and lat == 0 and lon == 0:
        col.add("coordinates are 0, 0 (a blank exported as zero).", row=row, field=F("latitude"), fix="fill in the school's real position.")
        lat = lon = None
    return lon, lat


def load_schools(path: str | Path, crs: str | None = None, *, policy: Policy | None = None) -> gpd.GeoDataFrame:
    """Read and check a schools table (see :func:`read_schools`); the schools only, in EPSG:4326."""
    return read_schools(path, policy, crs=crs)[0]


def _districts(t: Table, district: str | None) -> list[str]:
    """Each school's district: its own cell, else the district given for the run (a one-district file)."""
    col, F = t.problems, t.field
    if not t.has("district"):
        t.notes.append(f"{t.source}: every school is in district {district} (given for the run; the file has no district column)")
        return [str(district)] * len(t.data)
    out = []
    filled = 0
    for v, row in zip(t.data["district"], t.data["_row"], strict=False):
        if v == "" and district:
            v = district
            filled += 1
        elif v == "":
            col.add(
                "the school has no district.",
                row=row,
                field=F("district"),
                fix="fill in the district name (or give --district NAME for a file of one district).",
            )
        elif district and code_key(v) != code_key(district):
            col.add(
                f"district '{v}' differs from the district given for this run ('{district}': --district or district in the policy).",
                row=row,
                field=F("district"),
                fix=f"correct the cell, or give --district {v} (a file of several districts needs no --district).",
            )
        out.append(v)
    if filled:
        t.notes.append(
            f"{t.source}: {filled} school{'s' if filled != 1 else ''} with a blank district {'are' if filled != 1 else 'is'} in district {district} (given for the run)"
        )
    return out


def _check_xy_not_degrees(t: Table, crs: str) -> None:
    """x/y in a projected CRS are metres; values that all fit in degrees are degrees."""
    import pyproj

    df, col = t.data, t.problems
    try:
        projected = pyproj.CRS.from_user_input(crs).is_projected
    except Exception:
        return
    xs = [parse_float(v) for v in df.get("x", [])]
    ys = [parse_float(v) for v in df.get("y", [])]
    pts = [(x, y, r) for x, y, r in zip(xs, ys, df["_row"], strict=False) if x is not None and y is not None]
    if projected and pts and all(abs(x) <= 180 and abs(y) <= 90 for x, y, _ in pts):
        x, y, row = pts[0]
        col.add(
            f"x/y ({x}, {y}) look like longitude/latitude degrees, but the policy's crs {crs} is in metres.",
            row=int(row),
            field=t.field("x"),
            fix="name the columns longitude and latitude (and drop crs from the policy), or give x/y in metres of the crs.",
        )


#: A school farther than this from the median of its file is checked for swapped coordinates.
SWAP_CHECK_KM = 300.0


def _check_swapped(t: Table, lats: list, lons: list) -> None:
    """Flag a school whose latitude and longitude look swapped.

    A school far (more than :data:`SWAP_CHECK_KM`) from the median position of
    the file, whose swapped position lies close to it, is almost always a
    swapped row (Pakistan at 34 N 73 E becomes 73 N 34 E, both in range).
    """
    df, col = t.data, t.problems
    ok = [(la, lo) for la, lo in zip(lats, lons, strict=False) if la is not None and lo is not None]
    if len(ok) < 3:
        return
    mla = float(np.median([p[0] for p in ok]))
    mlo = float(np.median([p[1] for p in ok]))

    def km(la, lo):
        dla = (la - mla) * 111.0
        dlo = (lo - mlo) * 111.0 * np.cos(np.radians((la + mla) / 2))
        return float(np.hypot(dla, dlo))

    for i, (la, lo) in enumerate(zip(lats, lons, strict=False)):
        if la is None or lo is None or abs(lo) > 90:
            continue
        if km(la, lo) > SWAP_CHECK_KM and km(lo, la) < SWAP_CHECK_KM / 3:
            col.add(
                f"latitude {la} and longitude {lo} look swapped: the school lies {km(la, lo):,.0f} km from the others, "
                f"but swapped it would be {km(lo, la):,.0f} km from them.",
                row=int(df["_row"].iloc[i]),
                field=t.field("latitude"),
                fix="swap the latitude and longitude values of this row.",
            )
            lats[i] = lons[i] = None


def _check_count_columns(t: Table) -> None:
    """Counts are whole numbers from 0 to :data:`MAX_TEACHERS_PER_SCHOOL`, given in one form only."""
    df, col = t.data, t.problems
    for c in ("teachers", *GENDER_COUNT_COLUMNS, *COUNT_COLUMNS):
        if not t.has(c):
            continue
        for v, row in zip(df[c], df["_row"], strict=False):
            if v == "":
                continue
            why = ambiguous_number(v)
            if why:
                col.add(f"{c}: {why}.", row=row, field=t.field(c), fix="write the whole number without separators, such as 1000.")
                continue
            f = parse_float(v)
            if f is None or f != int(f):
                col.add(f"{c} '{v}' is not a whole number.", row=row, field=t.field(c), fix="write a whole number of teachers.")
            elif f < 0:
                col.add(f"{c} is negative ({v}).", row=row, field=t.field(c), fix="write the number of teachers, 0 or more.")
            elif f > MAX_TEACHERS_PER_SCHOOL:
                col.add(
                    f"{c} = {v} is more teachers than any school has (limit {MAX_TEACHERS_PER_SCHOOL}).",
                    row=row,
                    field=t.field(c),
                    fix="check for an extra digit or a total row.",
                )
    given = [name for name, cols in COUNT_FORMS.items() if any(t.has(c) for c in cols)]
    if len(given) > 1:
        first = next(c for c in COUNT_FORMS[given[0]] if t.has(c))
        col.add(
            f"teacher counts are given in {len(given)} ways ({', '.join(given)}).",
            row=t.header_row,
            field=t.field(first),
            fix="give either one 'teachers' column, or 'male_teachers'/'female_teachers' (with the school's 'level'), or the split columns female_primary ... male_high.",
        )
    if any(t.has(c) for c in GENDER_COUNT_COLUMNS) and not t.has("level"):
        t.notes.append(
            f'{t.source}: male/female teacher counts without a school level column: their level is unknown, so they can only be planned where levels = "mixed"'
        )


def teachers_from_counts(schools: gpd.GeoDataFrame) -> pd.DataFrame:
    """Teacher groups from per-school counts, one row per school, gender and level.

    - ``female_primary`` ... ``male_high``: a group per gender and level.
    - ``female_teachers`` / ``male_teachers``: a group per gender, at the
      school's ``level`` (``"any"`` without a level column).
    - ``teachers``: one group of unknown gender (``"any"``) at the school's
      ``level`` (``"any"`` without one).

    A group of unknown gender or level cannot be split by a segregated or
    separate-level policy (the unit builder says so).
    """
    rows = []
    level = list(schools["level"]) if "level" in schools.columns else ["any"] * len(schools)
    level = [lvl or "any" for lvl in level]
    if "teachers" in schools.columns:
        for sid, n, lvl in zip(schools["school_id"], schools["teachers"], level, strict=False):
            if n > 0:
                rows.append((f"{sid}", sid, "any", lvl, "", "teacher", int(n)))
    elif any(c in schools.columns for c in GENDER_COUNT_COLUMNS):
        for c in GENDER_COUNT_COLUMNS:
            if c not in schools.columns:
                continue
            g = c.split("_")[0]
            for sid, n, lvl in zip(schools["school_id"], schools[c], level, strict=False):
                if n > 0:
                    rows.append((f"{sid}:{g}:{lvl}", sid, g, lvl, "", "teacher", int(n)))
    else:
        for c in COUNT_COLUMNS:
            if c not in schools.columns:
                continue
            g, lvl = c.split("_")
            for sid, n in zip(schools["school_id"], schools[c], strict=False):
                if n > 0:
                    rows.append((f"{sid}:{g}:{lvl}", sid, g, lvl, "", "teacher", int(n)))
    df = pd.DataFrame(rows, columns=["teacher_id", "school_id", "gender", "level", "subject", "role", "n_teachers"])
    return df.sort_values(["school_id", "teacher_id"], kind="stable").reset_index(drop=True)


def read_teachers(path: str | Path, schools: gpd.GeoDataFrame | None, policy: Policy | None = None) -> tuple[pd.DataFrame, Table]:
    """Read and check a teacher roster against the schools; the teachers and how the roster was read.

    Columns (under these names, names the policy maps in ``[columns.teachers]``,
    or common synonyms): ``teacher_id``, ``school_id``, ``gender``
    (female|male), ``level`` (primary|middle|high); optional ``subject`` and
    ``role`` (teacher|head_teacher, default teacher). Codes such as post
    designations (PST, EST, SST) are mapped by ``[values.teachers.level]``;
    one column may feed both level and role (``Designation``: PST, Head
    Master), and a head teacher needs no level: it takes its school's (the
    school's ``level`` column, else the level most of its teachers teach).
    ``schools`` is ``None`` when the schools file could not be read: the
    roster is then checked on its own (every problem of both files at once).
    """

    known = None if schools is None else set(schools["school_id"])
    t = read_table(path, TEACHERS, policy.inputs if policy is not None else InputSettings(), other_ids=known, defer=True)
    path, df, col = t.path, t.data, t.problems
    if missing_columns(t):
        col.raise_if_any()
    check_ids(t, "teacher_id", "teacher")
    if known is not None:
        _check_school_ids(t, known)
    col.raise_if_any()
    if len(df) == 0:
        fail(path, "the roster has a header but no teachers.", fix="export the roster again with its rows.", row=t.header_row + 1)
    out = pd.DataFrame(
        {
            "teacher_id": df["teacher_id"].astype(str),
            "school_id": df["school_id"].astype(str),
            "gender": df["gender"].astype(str),
            "level": df["level"].astype(str),
            "subject": df["subject"].str.lower() if t.has("subject") else "",
            "role": df["role"].astype(str) if t.has("role") else "teacher",
            "n_teachers": 1,
            "_row": df["_row"].astype(int),
        }
    )
    if t.has("name"):  # people are known by name: kept beside the id (assignments.csv's teacher_name)
        out.insert(1, "teacher_name", df["name"].astype(str).str.strip())
    _head_teacher_levels(out, schools, t)
    out.attrs["source"] = str(path)
    return out, t


def _check_school_ids(t: Table, known: set[str]) -> None:
    """Every teacher's school is in the schools file (a near miss in case or spaces named)."""
    col, F = t.problems, t.field
    by_key = {id_key(s): s for s in known}
    for sid, row in zip(t.data["school_id"], t.data["_row"], strict=False):
        if sid == "":
            col.add("the teacher has no school_id.", row=row, field=F("school_id"), fix="fill in the id of the teacher's school.")
        elif sid not in known:
            near = by_key.get(id_key(strip_invisible(sid)))
            col.add(
                f"school_id '{visible(sid)}' is not in the schools file"
                + (f", but '{near}' is (differs in case, spaces or invisible characters)." if near else "."),
                row=row,
                field=F("school_id"),
                fix=f"write '{near}'." if near else "add the school to the schools file or correct the id.",
            )


def _head_teacher_levels(out: pd.DataFrame, schools: gpd.GeoDataFrame | None, t: Table) -> None:
    """A head teacher without a level takes the school's: its level column, else the level most of its teachers teach."""
    blank = (out["level"] == "") & (out["role"] == "head_teacher")
    if not blank.any():
        return
    school_level = dict(zip(schools["school_id"], schools["level"], strict=False)) if schools is not None and "level" in schools.columns else {}
    taught = out[out["level"] != ""].groupby("school_id")["level"].agg(lambda s: s.value_counts().sort_index().idxmax())
    fill = [school_level.get(sid) or taught.get(sid, "") for sid in out.loc[blank, "school_id"]]
    out.loc[blank, "level"] = fill
    n = int(blank.sum())
    t.notes.append(
        f"{t.source}: {n} head teacher{'s' if n != 1 else ''} without a level take their school's level"
        + (f" ({sum(1 for f in fill if not f)} of them at schools with no level known)" if not all(fill) else "")
    )


def load_teachers(path: str | Path, schools: gpd.GeoDataFrame, *, policy: Policy | None = None) -> pd.DataFrame:
    """Read and check a teacher roster against the schools (see :func:`read_teachers`)."""
    return read_teachers(path, schools, policy)[0]


def load_inputs(schools_path: str | Path, teachers_path: str | Path | None = None, crs: str | None = None, *, policy: Policy | None = None) -> Inputs:
    """Load schools and, if given, the roster; without a roster use the schools' counts.

    Parameters
    ----------
    schools_path, teachers_path : path
        The files (``FILE.xlsx#Sheet`` for one sheet of a workbook).
    crs : str, optional
        The CRS of x/y school columns when no policy is given.
    policy : Policy, optional
        How the files are read (``policy.inputs``) and the crs (``policy.travel.crs``).
    """
    try:
        schools, st = read_schools(schools_path, policy, crs=crs)
    except InputError as err:  # the roster's own problems too, in the same run
        if teachers_path is not None:
            try:
                read_teachers(teachers_path, None, policy)
            except InputError as more:
                raise InputError(err.problems + more.problems) from None
        raise
    tables = {"schools": st}
    if teachers_path is not None:
        teachers, tt = read_teachers(teachers_path, schools, policy)
        tables["teachers"] = tt
    else:
        if not any(c in schools.columns for forms in COUNT_FORMS.values() for c in forms):
            fail(
                st.path,
                "no roster was given and the schools file has no teacher counts.",
                fix="give --teachers ROSTER (CSV or workbook), or add teacher counts to the schools file: 'teachers', "
                "'male_teachers'/'female_teachers' (with the school's 'level'), or female_primary ... male_high.",
                row=st.header_row,
                field="teachers",
            )
        teachers = teachers_from_counts(schools)
        if teachers.empty:
            fail(st.path, "every teacher count is zero: there is nobody to place.", fix="fill in the teacher counts.", field="teachers")
    return Inputs(schools, teachers, str(schools_path), None if teachers_path is None else str(teachers_path), tables)


__all__ = [
    "COUNT_COLUMNS",
    "GENDER_COUNT_COLUMNS",
    "InputError",
    "Inputs",
    "load_inputs",
    "load_schools",
    "load_teachers",
    "read_csv_rows",
    "read_schools",
    "read_teachers",
    "teachers_from_counts",
]
