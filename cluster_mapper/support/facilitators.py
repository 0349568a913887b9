"""Read and check a facilitators file: who can support clusters, from where.

One entry function, :func:`load_facilitators`, reads a CSV, workbook
(``FILE.xlsx#Sheet``) or GeoJSON file with one row per person through the
one table reader of the package (:func:`cluster_mapper.inputs.tables.read_table`:
the policy's ``[sheets]``, ``[columns.facilitators]`` and
``[values.facilitators.*]`` apply, common headers and codes are recognised
and announced) and returns a checked table. Like the other inputs, it reads
the whole file and raises one :class:`~cluster_mapper.errors.InputError`
listing every problem with its file, row, field and fix (spreadsheet rows:
the header is row 1; GeoJSON features count from 1).

Columns
-------
``facilitator_id``, ``name``
    Unique id and the person's name.
``gender``
    ``female`` or ``male`` (``f``/``m``, ``woman``/``man`` accepted).
base
    ``base_school_id`` (a school of the schools file), or ``latitude`` and
    ``longitude`` in WGS84 degrees (or, in GeoJSON, the feature's point).
``levels``
    The levels they support, ``;``-separated from ``primary``, ``middle``,
    ``high`` (``,``, ``/`` and ``|`` work too).
``max_clusters``
    Most clusters they support; blank means no limit.
``days_per_month``
    Working days in a month they can give to clusters (1 to 31).
optional
    ``subjects`` (``;``-separated), ``max_teachers`` (most teachers over
    their clusters, blank = no limit; the 30 to 40 mentees of the mentoring
    programme), ``district`` (they support only that district's clusters),
    ``travel_mode`` (``walk`` or ``drive``; blank = the policy's).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cluster_mapper.errors import ProblemCollector, fail
from cluster_mapper.inputs.schools import LEVELS, SWAP_CHECK_KM, check_ids, id_key, parse_float
from cluster_mapper.inputs.specs import FACILITATORS
from cluster_mapper.inputs.tables import Table, read_table, split_sheet

FACILITATOR_GENDERS = ("female", "male")
TRAVEL_MODES = ("walk", "drive")
#: Columns of the checked facilitators table, in order.
FACILITATOR_COLUMNS = [
    "facilitator_id",
    "name",
    "gender",
    "base_school_id",
    "latitude",
    "longitude",
    "levels",
    "subjects",
    "max_clusters",
    "max_teachers",
    "days_per_month",
    "district",
    "travel_mode",
    "_row",
]
_SPLIT = re.compile(r"[;,/|+]+|\s+")


def split_list(value: str) -> tuple[str, ...]:
    """``"math; Science"`` -> ``("math", "science")`` (separators ``; , / | +`` or spaces)."""
    return tuple(dict.fromkeys(p.strip().lower() for p in _SPLIT.split(str(value or "")) if p.strip()))


def _km(lat: float, lon: float, centre: tuple[float, float]) -> float:
    """Rough kilometres from ``centre`` (latitude, longitude)."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return float("inf")
    dla = (lat - centre[0]) * 111.0
    dlo = (lon - centre[1]) * 111.0 * np.cos(np.radians((lat + centre[0]) / 2))
    return float(np.hypot(dla, dlo))


def _whole(value: str, field: str, row: int, col: ProblemCollector, *, low: int, high: int | None = None, blank_ok: bool) -> int | None:
    if value == "":
        if not blank_ok:
            col.add(f"{field} is blank.", row=row, field=field, fix=f"write a whole number of {low} or more.")
        return None
    f = parse_float(value)
    if f is None or f != int(f):
        col.add(
            f"{field} '{value}' is not a whole number.",
            row=row,
            field=field,
            fix="write a whole number without units" + (", or leave it blank for no limit." if blank_ok else "."),
        )
        return None
    if f < low or (high is not None and f > high):
        rng = f"{low} to {high}" if high is not None else f"{low} or more"
        col.add(
            f"{field} is {value}; it must be {rng}.",
            row=row,
            field=field,
            fix=f"write a number from {rng}" + (", or leave it blank for no limit." if blank_ok else "."),
        )
        return None
    return int(f)


def load_facilitators(path: str | Path, schools: gpd.GeoDataFrame, settings=None) -> pd.DataFrame:
    """Read and check a facilitators file (CSV, workbook or GeoJSON) against the plan's schools.

    Parameters
    ----------
    path : path
        The facilitators file (see the module docstring for its columns);
        ``FILE.xlsx#Sheet`` picks a workbook's sheet.
    schools : geopandas.GeoDataFrame
        The plan's schools (``school_id``, ``district``, Point ``geometry`` in
        EPSG:4326): bases given as ``base_school_id`` are placed there.
    settings : InputSettings, optional
        The policy's ``[sheets]``, ``[columns.facilitators]`` and
        ``[values.facilitators.*]``.

    Returns
    -------
    pandas.DataFrame
        One row per facilitator with :data:`FACILITATOR_COLUMNS`: ``levels``
        and ``subjects`` as tuples, ``max_clusters``/``max_teachers`` as
        ``None`` for no limit, the base's ``latitude``/``longitude`` always
        filled (from the school for a school base). ``attrs["source"]`` is the
        file, ``attrs["notes"]`` what the user should know (how the file was read, too).

    Raises
    ------
    InputError
        Every problem of the file, each with file, row, field and fix.
    """

    file, _ = split_sheet(path)
    if not file.exists():
        fail(file, "the file does not exist.", fix="check the path given to --facilitators.")
    return check_facilitators(read_table(path, FACILITATORS, settings), schools)


def check_facilitators(t: Table, schools: gpd.GeoDataFrame) -> pd.DataFrame:
    """Check the facilitator rows of a table read by :func:`~cluster_mapper.inputs.tables.read_table`.

    Parameters
    ----------
    t : Table
        The facilitators table (tool's column names, codes mapped, ``_row``
        as the spreadsheet shows it, ``_geometry`` for GIS files).
    schools : geopandas.GeoDataFrame
        The plan's schools.

    Returns
    -------
    pandas.DataFrame
        As :func:`load_facilitators`.
    """
    path, df, col = t.path, t.data, t.problems
    has_geom = "_geometry" in df.columns
    has_school = "base_school_id" in df.columns
    has_latlon = "latitude" in df.columns and "longitude" in df.columns
    if not (has_school or has_latlon or has_geom):
        col.add(
            "the facilitators have no base.",
            row=t.header_row,
            field="base_school_id",
            fix="add a 'base_school_id' column (a school of the schools file), or 'latitude' and 'longitude' columns.",
        )
        col.raise_if_any()
    if len(df) == 0:
        fail(path, "the file has a header but no facilitators.", fix="add one row per facilitator.", row=2)
    check_ids(t, "facilitator_id", "facilitator")

    school_pos = {sid: (g.y, g.x) for sid, g in zip(schools["school_id"], schools.geometry)}
    centre = (float(np.median(schools.geometry.y)), float(np.median(schools.geometry.x))) if len(schools) else (0.0, 0.0)
    by_key = {id_key(s): s for s in school_pos}
    districts = sorted({str(d) for d in schools["district"]})
    notes: list[str] = []
    rows = []
    for _, r in df.iterrows():
        row = int(r["_row"])

        def get(c: str, r=r) -> str:
            return str(r[c]).strip() if c in df.columns and r[c] is not None else ""

        if get("name") == "":
            col.add("the facilitator has no name.", row=row, field=t.field("name"), fix="fill in the person's name.")
        g = get("gender")  # a code the table reader has checked and mapped
        sid, lat, lon = _base(t, r, get, row, school_pos, by_key, centre, has_geom)
        levels, subjects, max_clusters, days, max_teachers, district = _capacity(t, get, row, districts, notes)
        mode = get("travel_mode")  # a code the table reader has checked and mapped
        rows.append(
            {
                "facilitator_id": get("facilitator_id"),
                "name": get("name"),
                "gender": g,
                "base_school_id": sid if sid in school_pos else "",
                "latitude": np.nan if lat is None else float(lat),
                "longitude": np.nan if lon is None else float(lon),
                "levels": levels,
                "subjects": subjects,
                "max_clusters": max_clusters,
                "max_teachers": max_teachers,
                "days_per_month": days,
                "district": district,
                "travel_mode": mode,
                "_row": row,
            }
        )
    col.raise_if_any()
    out = pd.DataFrame(rows, columns=FACILITATOR_COLUMNS)
    for c in ("max_clusters", "max_teachers"):  # whole numbers, None for no limit
        out[c] = pd.Series([r[c] for r in rows], index=out.index, dtype=object)
    out["days_per_month"] = out["days_per_month"].astype(int)
    out.attrs["source"] = str(path)
    out.attrs["notes"] = list(t.notes) + notes
    return out


def _base(t: Table, r, get, row: int, school_pos: dict, by_key: dict, centre: tuple[float, float], has_geom: bool) -> tuple[str, float | None, float | None]:
    """A facilitator's base: a school of the schools file, latitude and longitude (checked for sense), or the row's geometry."""
    col = t.problems
    sid = get("base_school_id")
    lat_s, lon_s = get("latitude"), get("longitude")
    lat = lon = None
    if sid and (lat_s or lon_s):
        col.add(
            "both base_school_id and latitude/longitude are given.",
            row=row,
            field=t.field("base_school_id"),
            fix="give the base either as a school (base_school_id) or as latitude and longitude, not both.",
        )
    elif sid:
        if sid in school_pos:
            lat, lon = school_pos[sid]
        elif id_key(sid) in by_key:
            col.add(
                f"base_school_id '{sid}' is not in the schools file, but '{by_key[id_key(sid)]}' is (differs in case or spaces).",
                row=row,
                field=t.field("base_school_id"),
                fix=f"write '{by_key[id_key(sid)]}'.",
            )
        else:
            col.add(
                f"base_school_id '{sid}' is not in the schools file.",
                row=row,
                field=t.field("base_school_id"),
                fix="use a school_id of the schools file, or give the base as latitude and longitude.",
            )
    elif lat_s or lon_s:
        lat, lon = parse_float(lat_s), parse_float(lon_s)
        if lat is None or lon is None:
            bad = "latitude" if lat is None else "longitude"
            col.add(
                f"{bad} '{get(bad)}' is not a number." if get(bad) else f"{bad} is blank.",
                row=row,
                field=t.field(bad),
                fix="write decimal degrees such as 34.33 (WGS84).",
            )
            lat = lon = None
        elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
            swapped = -90 <= lon <= 90 and -180 <= lat <= 180
            col.add(
                f"latitude {lat} is out of range" + ("; latitude and longitude look swapped." if swapped else "."),
                row=row,
                field=t.field("latitude"),
                fix="swap the latitude and longitude values." if swapped else "latitude must be within -90..90 and longitude within -180..180.",
            )
            lat = lon = None
        elif lat == 0 and lon == 0:
            col.add("the base is at 0, 0 (a blank exported as zero).", row=row, field=t.field("latitude"), fix="fill in the base's real position.")
            lat = lon = None
        elif len(school_pos) and _km(lat, lon, centre) > SWAP_CHECK_KM and _km(lon, lat, centre) < SWAP_CHECK_KM / 3:
            col.add(
                f"latitude {lat} and longitude {lon} look swapped: the base lies {_km(lat, lon, centre):,.0f} km from the schools, "
                f"swapped it would be {_km(lon, lat, centre):,.0f} km from them.",
                row=row,
                field=t.field("latitude"),
                fix="swap the latitude and longitude values of this row.",
            )
            lat = lon = None
    elif has_geom and r["_geometry"] is not None and not r["_geometry"].is_empty:
        pt = r["_geometry"] if r["_geometry"].geom_type == "Point" else r["_geometry"].representative_point()
        src = t.crs
        if src is not None and not src.equals("EPSG:4326"):
            import pyproj

            lon, lat = pyproj.Transformer.from_crs(src, "EPSG:4326", always_xy=True).transform(pt.x, pt.y)
        else:
            lon, lat = pt.x, pt.y
    else:
        col.add(
            "the facilitator has no base.",
            row=row,
            field=t.field("base_school_id"),
            fix="fill in base_school_id (a school of the schools file), or latitude and longitude.",
        )
    return sid, lat, lon


def _capacity(t: Table, get, row: int, districts: list[str], notes: list[str]) -> tuple:
    """Levels, subjects, the most clusters, days and teachers, and the district of a facilitator's row, checked."""
    col = t.problems
    levels = split_list(get("levels"))
    bad_levels = [lv for lv in levels if lv not in LEVELS]
    if not levels:
        col.add("levels is blank.", row=row, field=t.field("levels"), fix="write the levels they support, such as primary;middle.")
    elif bad_levels:
        col.add(
            f"level '{bad_levels[0]}' is not one of primary, middle, high.",
            row=row,
            field=t.field("levels"),
            fix="write levels separated by ';', such as primary;middle.",
        )
    subjects = split_list(get("subjects"))
    max_clusters = _whole(get("max_clusters"), "max_clusters", row, col, low=1, blank_ok=True)
    days = _whole(get("days_per_month"), "days_per_month", row, col, low=1, high=31, blank_ok=False)
    max_teachers = _whole(get("max_teachers"), "max_teachers", row, col, low=1, blank_ok=True)
    district = get("district")
    if district and district not in districts:
        close = difflib.get_close_matches(district, districts, n=1, cutoff=0.8) or [d for d in districts if id_key(d) == id_key(district)]
        if close:
            col.add(
                f"district '{district}' is not a district of the schools file, but '{close[0]}' is.",
                row=row,
                field=t.field("district"),
                fix=f"write '{close[0]}'.",
            )
        else:
            notes.append(f"facilitator {get('facilitator_id')}: district {district} has no schools in this plan; they support no cluster")
    return levels, subjects, max_clusters, days, max_teachers, district


__all__ = ["FACILITATORS", "FACILITATOR_COLUMNS", "check_facilitators", "load_facilitators", "split_list"]
