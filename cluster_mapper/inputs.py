"""Load and validate the inputs: schools, teacher rosters.

Every loader reads the whole file, collects every problem it finds and raises
one :class:`~cluster_mapper.errors.InputError` listing them all, each with the
file, row, field and fix. Row numbers are what a spreadsheet shows: the header
is row 1, the first school is row 2. For GeoJSON and GeoPackage files the row
is the feature number, starting at 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from .errors import InputError, ProblemCollector, fail

SCHOOL_GENDERS = ("boys", "girls", "mixed")
TEACHER_GENDERS = ("female", "male")
LEVELS = ("primary", "middle", "high")
ROLES = ("teacher", "head_teacher")
#: Count columns accepted in a schools file when there is no roster.
COUNT_COLUMNS = tuple(f"{g}_{lvl}" for g in TEACHER_GENDERS for lvl in LEVELS)
MAX_TEACHERS_PER_SCHOOL = 500

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def _clean_header(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().lower().replace(" ", "_").replace("-", "_")


def read_csv_rows(path: str | Path) -> pd.DataFrame:
    """Read a CSV exported from a spreadsheet, keeping spreadsheet row numbers.

    Accepts UTF-8 (with or without BOM), UTF-16 with BOM and, failing those,
    Windows-1252; comma, semicolon or tab separators. Every value is kept as
    stripped text; blank rows are skipped. The column ``_row`` holds the
    spreadsheet row number (header = 1).
    """
    path = Path(path)
    if not path.exists():
        fail(path, "the file does not exist.", fix="check the path.")
    if path.is_dir():
        fail(path, "this is a folder, not a file.", fix="give the path of the CSV file.")
    raw = path.read_bytes()
    if not raw.strip():
        fail(path, "the file is empty.", fix="export the table again with its header row.", row=1)
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        fail(path, "the file contains binary data, not text.", fix="export the table as CSV (UTF-8).")
    first = text.splitlines()[0] if text.splitlines() else ""
    delim = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows = list(reader)
    header_idx = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    if header_idx is None:
        fail(path, "the file has no header row.", fix="export the table again with its header row.")
    header = [_clean_header(c) for c in rows[header_idx]]
    while header and header[-1] == "":
        header.pop()
    col = ProblemCollector(path)
    seen = set()
    for name in header:
        if name == "":
            col.add("a column has no name in the header row.", row=header_idx + 1, fix="name every column or delete the empty one.")
        elif name in seen:
            col.add(f"the column '{name}' appears twice.", row=header_idx + 1, field=name, fix="delete or rename one of them.")
        seen.add(name)
    col.raise_if_any()
    records = []
    for i, r in enumerate(rows[header_idx + 1:], start=header_idx + 2):
        if not any(c.strip() for c in r):
            continue
        cells = [c.strip() for c in r]
        if len(cells) > len(header) and any(cells[len(header):]):
            col.add(f"the row has {len(cells)} values but the header has {len(header)} columns.", row=i, fix="check for a stray separator (for example a comma inside a name) on this row.")
            continue
        cells = (cells + [""] * len(header))[: len(header)]
        records.append([*cells, i])
    col.raise_if_any()
    return pd.DataFrame(records, columns=[*header, "_row"], dtype=object).astype({"_row": int})


def _parse_float(value: str) -> float | None:
    try:
        v = float(str(value).replace(",", ".")) if str(value).count(",") == 1 and "." not in str(value) else float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _parse_bool(value: str) -> bool | None:
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def _id_key(value: str) -> str:
    """How ids are compared for near-duplicates: case and inner spaces ignored."""
    return re.sub(r"\s+", "", str(value)).casefold()


def _check_ids(df: pd.DataFrame, column: str, col: ProblemCollector, what: str) -> None:
    first_seen: dict[str, tuple[str, int]] = {}
    for value, row in zip(df[column], df["_row"]):
        if value == "":
            col.add(f"the {what} has no {column}.", row=row, field=column, fix=f"give every {what} a unique {column}.")
            continue
        key = _id_key(value)
        if key in first_seen:
            other, other_row = first_seen[key]
            if other == value:
                col.add(f"{column} '{value}' is used twice (also row {other_row}).", row=row, field=column, fix=f"give each {what} its own {column}, or delete the duplicate row.")
            else:
                col.add(
                    f"{column} '{value}' differs from '{other}' (row {other_row}) only in case or spaces; they look like the same {what}.",
                    row=row, field=column, fix=f"make the two ids clearly different, or merge the rows.",
                )
        else:
            first_seen[key] = (value, row)


def _require_columns(df: pd.DataFrame, required: list[str], col: ProblemCollector, hint: str) -> None:
    present = [c for c in df.columns if c != "_row"]
    for c in required:
        if c not in df.columns:
            import difflib

            close = difflib.get_close_matches(c, present, n=1, cutoff=0.6)
            fix = f"rename column '{close[0]}' to '{c}'." if close else f"add a '{c}' column ({hint})."
            col.add(f"the required column '{c}' is missing (columns found: {', '.join(present) or 'none'}).", row=1, field=c, fix=fix)


@dataclass
class Inputs:
    """Validated inputs of one planning run.

    Attributes
    ----------
    schools : geopandas.GeoDataFrame
        One row per school, EPSG:4326 points; columns ``school_id``, ``name``,
        ``district``, ``gender``, ``can_host``, ``geometry``, ``_row``.
    teachers : pandas.DataFrame
        One row per teacher (roster input) or per school, gender and level
        group (count input); columns ``teacher_id``, ``school_id``,
        ``gender``, ``level``, ``subject``, ``role``, ``n_teachers``.
    schools_path, teachers_path : str or None
        Where they came from, for messages and plan summaries.
    """

    schools: gpd.GeoDataFrame
    teachers: pd.DataFrame
    schools_path: str | None = None
    teachers_path: str | None = None

    @property
    def counts_input(self) -> bool:
        """True when teachers came as per-school counts, not a roster."""
        return self.teachers_path is None


def _read_geo(path: Path) -> pd.DataFrame:
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises many types for corrupt files
        fail(path, f"could not be read as a geographic file ({type(exc).__name__}: {exc}).", fix="check the file opens in QGIS, or export the schools as CSV.")
    if len(gdf) == 0:
        fail(path, "the file has no schools.", fix="check you exported the right layer.")
    df = pd.DataFrame({_clean_header(c): gdf[c] for c in gdf.columns if c != gdf.geometry.name})
    df = df.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    df["_row"] = np.arange(1, len(df) + 1)
    df["_geometry"] = list(gdf.geometry)
    df.attrs["crs"] = gdf.crs
    return df


def load_schools(path: str | Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read and check a schools file (CSV, GeoJSON or GeoPackage).

    Parameters
    ----------
    path : path
        Columns ``school_id``, ``name``, ``district``, ``gender`` and a
        position: ``latitude``/``longitude`` (WGS84 degrees), ``x``/``y``
        (metres in the projected CRS ``crs``), or the file's own geometry.
        Optional ``can_host`` (default true) and, without a roster, teacher
        counts: ``teachers`` or ``female_primary`` ... ``male_high``.
    crs : str, optional
        The CRS of ``x``/``y`` columns (policy key ``crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326, one row per school.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json", ".gpkg", ".shp"):
        if not path.exists():
            fail(path, "the file does not exist.", fix="check the path given to --schools.")
        df = _read_geo(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        df = read_csv_rows(path)
    else:
        fail(path, f"unknown file type '{suffix}'.", fix="give schools as .csv, .geojson or .gpkg.")
    col = ProblemCollector(path)
    has_geom = "_geometry" in df.columns
    _require_columns(df, ["school_id", "name", "district", "gender"], col, "see the README for the schools format")
    has_latlon = "latitude" in df.columns or "longitude" in df.columns
    has_xy = "x" in df.columns or "y" in df.columns
    if not (has_geom or has_latlon or has_xy):
        for alt, name in (("lat", "latitude"), ("lon", "longitude"), ("lng", "longitude"), ("long", "longitude")):
            if alt in df.columns:
                col.add(f"column '{alt}' found; positions must be named 'latitude' and 'longitude'.", row=1, field=alt, fix=f"rename '{alt}' to '{name}'.")
        if not col.problems or all(p.field in ("school_id", "name", "district", "gender") for p in col.problems):
            col.add("the schools have no position.", row=1, field="latitude", fix="add 'latitude' and 'longitude' columns (WGS84 degrees), or 'x' and 'y' with the policy key crs.")
    if has_xy and not has_latlon and not crs:
        col.add("positions are given as x/y but the policy names no CRS for them.", row=1, field="x", fix="set crs = \"EPSG:....\" in the policy (for example EPSG:32643 for UTM 43N), or give latitude/longitude.")
    col.raise_if_any()
    if len(df) == 0:
        fail(path, "the file has a header but no schools.", fix="export the schools table again with its rows.", row=2)

    _check_ids(df, "school_id", col, "school")
    genders, hosts, lons, lats = [], [], [], []
    transformer = None
    if has_xy and not has_latlon:
        import pyproj

        transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        _check_xy_not_degrees(df, crs, col)
    for _, r in df.iterrows():
        row = int(r["_row"])
        if r["district"] == "":
            col.add("the school has no district.", row=row, field="district", fix="fill in the district name.")
        if r["name"] == "":
            col.add("the school has no name.", row=row, field="name", fix="fill in the school's name.")
        g = str(r["gender"]).strip().lower()
        g = {"boy": "boys", "girl": "girls", "male": "boys", "female": "girls", "co-ed": "mixed", "coed": "mixed"}.get(g, g)
        if g not in SCHOOL_GENDERS:
            col.add(f"gender '{r['gender']}' is not one of boys, girls, mixed.", row=row, field="gender", fix="write boys, girls or mixed.")
        genders.append(g)
        host = True
        if "can_host" in df.columns and r["can_host"] != "":
            host = _parse_bool(r["can_host"])
            if host is None:
                col.add(f"can_host '{r['can_host']}' is not true or false.", row=row, field="can_host", fix="write true or false.")
                host = True
        hosts.append(host)
        lon = lat = None
        if has_latlon:
            for fld in ("latitude", "longitude"):
                if fld not in df.columns:
                    col.add(f"column '{fld}' is missing.", row=1, field=fld, fix="give both latitude and longitude.")
            if "latitude" in df.columns and "longitude" in df.columns:
                lat, lon = _parse_float(r["latitude"]), _parse_float(r["longitude"])
                if r["latitude"] == "" or r["longitude"] == "":
                    col.add("the school has no coordinates.", row=row, field="latitude" if r["latitude"] == "" else "longitude", fix="fill in latitude and longitude (WGS84 degrees), or remove the school.")
                    lat = lon = None
                elif lat is None or lon is None:
                    bad = "latitude" if lat is None else "longitude"
                    col.add(f"{bad} '{r[bad]}' is not a number.", row=row, field=bad, fix="write decimal degrees such as 34.33.")
                    lat = lon = None
                elif not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
                    if -90 <= lon <= 90 and -180 <= lat <= 180:
                        col.add(f"latitude {lat} is out of range; latitude and longitude look swapped.", row=row, field="latitude", fix="swap the latitude and longitude values.")
                    else:
                        col.add(f"coordinates ({lat}, {lon}) are out of range.", row=row, field="latitude", fix="latitude must be within -90..90 and longitude within -180..180.")
                    lat = lon = None
        elif has_xy:
            x, y = _parse_float(r.get("x", "")), _parse_float(r.get("y", ""))
            if x is None or y is None:
                col.add("x or y is missing or not a number.", row=row, field="x" if x is None else "y", fix="fill in x and y in metres of the policy's crs.")
            else:
                lon, lat = transformer.transform(x, y)
                if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
                    col.add(f"x/y ({x}, {y}) do not fall on the earth in {crs}.", row=row, field="x", fix="check the policy's crs matches the coordinates.")
                    lon = lat = None
        else:
            geom = r["_geometry"]
            if geom is None or geom.is_empty:
                col.add("the feature has no geometry.", row=row, field="geometry", fix="place the school on the map, or remove it.")
            else:
                pt = geom if geom.geom_type == "Point" else geom.representative_point()
                src_crs = df.attrs.get("crs")
                if src_crs is not None and not src_crs.equals("EPSG:4326"):
                    import pyproj

                    lon, lat = pyproj.Transformer.from_crs(src_crs, "EPSG:4326", always_xy=True).transform(pt.x, pt.y)
                else:
                    lon, lat = pt.x, pt.y
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    col.add(f"position ({pt.x}, {pt.y}) is not in degrees; the file's CRS is missing or wrong.", row=row, field="geometry", fix="save the file with its CRS, or reproject it to EPSG:4326.")
                    lon = lat = None
        if lat is not None and lon is not None and lat == 0 and lon == 0:
            col.add("coordinates are 0, 0 (a blank exported as zero).", row=row, field="latitude", fix="fill in the school's real position.")
            lat = lon = None
        lons.append(lon)
        lats.append(lat)
    _check_count_columns(df, col)
    _check_swapped(df, lats, lons, col)
    col.raise_if_any()
    out = pd.DataFrame(
        {
            "school_id": df["school_id"].astype(str),
            "name": df["name"].astype(str),
            "district": df["district"].astype(str),
            "gender": genders,
            "can_host": hosts,
            "_row": df["_row"].astype(int),
        }
    )
    for c in ("teachers", *COUNT_COLUMNS):
        if c in df.columns:
            out[c] = [int(_parse_float(v) or 0) if v != "" else 0 for v in df[c]]
    if "generated" in df.columns:
        out["generated"] = [_parse_bool(v) is True for v in df["generated"]]
    gdf = gpd.GeoDataFrame(out, geometry=[Point(lo, la) for lo, la in zip(lons, lats)], crs="EPSG:4326")
    gdf.attrs["source"] = str(path)
    return gdf


def _check_xy_not_degrees(df: pd.DataFrame, crs: str, col: ProblemCollector) -> None:
    """x/y in a projected CRS are metres; values that all fit in degrees are degrees."""
    import pyproj

    try:
        projected = pyproj.CRS.from_user_input(crs).is_projected
    except Exception:
        return
    xs = [_parse_float(v) for v in df.get("x", [])]
    ys = [_parse_float(v) for v in df.get("y", [])]
    pts = [(x, y, r) for x, y, r in zip(xs, ys, df["_row"]) if x is not None and y is not None]
    if projected and pts and all(abs(x) <= 180 and abs(y) <= 90 for x, y, _ in pts):
        x, y, row = pts[0]
        col.add(
            f"x/y ({x}, {y}) look like longitude/latitude degrees, but the policy's crs {crs} is in metres.",
            row=int(row), field="x",
            fix="name the columns longitude and latitude (and drop crs from the policy), or give x/y in metres of the crs.",
        )


#: A school farther than this from the median of its file is checked for swapped coordinates.
SWAP_CHECK_KM = 300.0


def _check_swapped(df: pd.DataFrame, lats: list, lons: list, col: ProblemCollector) -> None:
    """Flag a school whose latitude and longitude look swapped.

    A school far (more than :data:`SWAP_CHECK_KM`) from the median position of
    the file, whose swapped position lies close to it, is almost always a
    swapped row (Pakistan at 34 N 73 E becomes 73 N 34 E, both in range).
    """
    ok = [(la, lo) for la, lo in zip(lats, lons) if la is not None and lo is not None]
    if len(ok) < 3:
        return
    mla = float(np.median([p[0] for p in ok]))
    mlo = float(np.median([p[1] for p in ok]))

    def km(la, lo):
        dla = (la - mla) * 111.0
        dlo = (lo - mlo) * 111.0 * np.cos(np.radians((la + mla) / 2))
        return float(np.hypot(dla, dlo))

    for i, (la, lo) in enumerate(zip(lats, lons)):
        if la is None or lo is None or abs(lo) > 90:
            continue
        if km(la, lo) > SWAP_CHECK_KM and km(lo, la) < SWAP_CHECK_KM / 3:
            col.add(
                f"latitude {la} and longitude {lo} look swapped: the school lies {km(la, lo):,.0f} km from the others, "
                f"but swapped it would be {km(lo, la):,.0f} km from them.",
                row=int(df["_row"].iloc[i]), field="latitude", fix="swap the latitude and longitude values of this row.",
            )
            lats[i] = lons[i] = None


def _check_count_columns(df: pd.DataFrame, col: ProblemCollector) -> None:
    for c in ("teachers", *COUNT_COLUMNS):
        if c not in df.columns:
            continue
        for v, row in zip(df[c], df["_row"]):
            if v == "":
                continue
            f = _parse_float(v)
            if f is None or f != int(f):
                col.add(f"{c} '{v}' is not a whole number.", row=row, field=c, fix="write a whole number of teachers.")
            elif f < 0:
                col.add(f"{c} is negative ({v}).", row=row, field=c, fix="write the number of teachers, 0 or more.")
            elif f > MAX_TEACHERS_PER_SCHOOL:
                col.add(f"{c} = {v} is more teachers than any school has (limit {MAX_TEACHERS_PER_SCHOOL}).", row=row, field=c, fix="check for an extra digit or a total row.")
    if "teachers" in df.columns and any(c in df.columns for c in COUNT_COLUMNS):
        col.add("both 'teachers' and gender/level count columns are given.", row=1, field="teachers", fix="give either one 'teachers' column or the split columns female_primary ... male_high.")


def teachers_from_counts(schools: gpd.GeoDataFrame) -> pd.DataFrame:
    """Teacher groups from per-school counts, one row per school, gender and level.

    A plain ``teachers`` column gives one group of unknown gender and level
    (``gender`` and ``level`` are ``"any"``); it then cannot be split by a
    segregated or separate-level policy.
    """
    rows = []
    if "teachers" in schools.columns:
        for sid, n in zip(schools["school_id"], schools["teachers"]):
            if n > 0:
                rows.append((f"{sid}", sid, "any", "any", "", "teacher", int(n)))
    else:
        for c in COUNT_COLUMNS:
            if c not in schools.columns:
                continue
            g, lvl = c.split("_")
            for sid, n in zip(schools["school_id"], schools[c]):
                if n > 0:
                    rows.append((f"{sid}:{g}:{lvl}", sid, g, lvl, "", "teacher", int(n)))
    df = pd.DataFrame(rows, columns=["teacher_id", "school_id", "gender", "level", "subject", "role", "n_teachers"])
    return df.sort_values(["school_id", "teacher_id"], kind="stable").reset_index(drop=True)


def load_teachers(path: str | Path, schools: gpd.GeoDataFrame) -> pd.DataFrame:
    """Read and check a teacher roster CSV against the schools.

    Columns ``teacher_id``, ``school_id``, ``gender`` (female|male), ``level``
    (primary|middle|high); optional ``subject`` and ``role``
    (teacher|head_teacher, default teacher).
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        fail(path, f"unknown roster file type '{path.suffix}'.", fix="give the roster as a CSV file.")
    df = read_csv_rows(path)
    col = ProblemCollector(path)
    _require_columns(df, ["teacher_id", "school_id", "gender", "level"], col, "see the README for the roster format")
    col.raise_if_any()
    _check_ids(df, "teacher_id", col, "teacher")
    known = set(schools["school_id"])
    by_key = {_id_key(s): s for s in known}
    school_ids = []
    genders, levels, roles = [], [], []
    for _, r in df.iterrows():
        row = int(r["_row"])
        sid = r["school_id"]
        if sid == "":
            col.add("the teacher has no school_id.", row=row, field="school_id", fix="fill in the id of the teacher's school.")
        elif sid not in known:
            if _id_key(sid) in by_key:
                col.add(f"school_id '{sid}' is not in the schools file, but '{by_key[_id_key(sid)]}' is (differs in case or spaces).", row=row, field="school_id", fix=f"write '{by_key[_id_key(sid)]}'.")
            else:
                col.add(f"school_id '{sid}' is not in the schools file.", row=row, field="school_id", fix="add the school to the schools file or correct the id.")
        school_ids.append(sid)
        g = r["gender"].lower()
        g = {"f": "female", "m": "male", "woman": "female", "man": "male", "women": "female", "men": "male"}.get(g, g)
        if g not in TEACHER_GENDERS:
            col.add(f"gender '{r['gender']}' is not female or male.", row=row, field="gender", fix="write female or male.")
        genders.append(g)
        lvl = r["level"].lower()
        if lvl not in LEVELS:
            col.add(f"level '{r['level']}' is not one of primary, middle, high.", row=row, field="level", fix="write primary, middle or high.")
        levels.append(lvl)
        role = r["role"].lower().replace(" ", "_") if "role" in df.columns and r["role"] != "" else "teacher"
        role = {"head": "head_teacher", "headteacher": "head_teacher", "head_master": "head_teacher", "headmaster": "head_teacher", "headmistress": "head_teacher"}.get(role, role)
        if role not in ROLES:
            col.add(f"role '{r['role']}' is not teacher or head_teacher.", row=row, field="role", fix="write teacher or head_teacher.")
        roles.append(role)
    col.raise_if_any()
    if len(df) == 0:
        fail(path, "the roster has a header but no teachers.", fix="export the roster again with its rows.", row=2)
    out = pd.DataFrame(
        {
            "teacher_id": df["teacher_id"].astype(str),
            "school_id": school_ids,
            "gender": genders,
            "level": levels,
            "subject": df["subject"].str.lower() if "subject" in df.columns else "",
            "role": roles,
            "n_teachers": 1,
            "_row": df["_row"].astype(int),
        }
    )
    out.attrs["source"] = str(path)
    return out


def load_inputs(schools_path: str | Path, teachers_path: str | Path | None = None, crs: str | None = None) -> Inputs:
    """Load schools and, if given, the roster; without a roster use the counts."""
    schools = load_schools(schools_path, crs=crs)
    if teachers_path is not None:
        teachers = load_teachers(teachers_path, schools)
    else:
        if "teachers" not in schools.columns and not any(c in schools.columns for c in COUNT_COLUMNS):
            fail(
                schools_path,
                "no roster was given and the schools file has no teacher counts.",
                fix="give --teachers ROSTER.csv, or add a 'teachers' column (or female_primary ... male_high) to the schools file.",
                row=1, field="teachers",
            )
        teachers = teachers_from_counts(schools)
        if teachers.empty:
            fail(schools_path, "every teacher count is zero: there is nobody to place.", fix="fill in the teacher counts.", field="teachers")
    return Inputs(schools, teachers, str(schools_path), None if teachers_path is None else str(teachers_path))


__all__ = ["Inputs", "InputError", "load_schools", "load_teachers", "load_inputs", "teachers_from_counts", "read_csv_rows"]
