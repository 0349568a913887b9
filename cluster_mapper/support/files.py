"""Support files in a plan folder: ``support.csv``, ``itineraries.csv``, one GPX per facilitator.

- ``support.csv``: ``cluster_id, facilitator_id`` (empty when unsupported),
  ``reason, suggestion``;
- ``itineraries.csv``: ``facilitator_id, day, date`` (ISO, with ``month``),
  ``stop`` (from 0), ``kind`` (``base`` or ``meeting``), ``cluster_id,
  school_id, school_name`` (the venue; a school base's school),
  ``latitude, longitude, arrive_minute, leave_minute`` (minutes from
  leaving the base), ``start_time, end_time`` (clock times: a meeting's
  start and end; the base's leaving time on the first row, the coming back
  on the last). Each day starts with a
  ``base`` row (its ``leave_minute`` filled) and ends with one (its
  ``arrive_minute`` filled);
- ``gpx/<facilitator_id>.gpx``: the base and the venues as waypoints, each
  working day as a route along the roads where the plan has a network;
- ``ics/<facilitator_id>.ics``: with ``[support] month``, each supporting
  facilitator's meetings as iCalendar events (venue name and position), and
  ``ics/clusters/<cluster_id>.ics``, each cluster's meetings for its teachers;
- ``summary.json`` gains a ``support`` entry (:func:`add_to_summary`).

:func:`write_support_to_plan` adds support to an existing plan folder (the
``cluster-mapper support`` command), replacing the folder in one move like
:func:`~cluster_mapper.planning.files.write_plan`.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pandas as pd

from cluster_mapper._files import write_csv
from cluster_mapper.planning.files import file_sha256, read_plan_csv
from cluster_mapper.support.planning import ITINERARY_COLUMNS, SUPPORT_COLUMNS, SupportPlan, minutes_clock

log = logging.getLogger(__name__)

SUPPORT_FILES = ("support.csv", "itineraries.csv")
GPX_DIR = "gpx"
ICS_DIR = "ics"
#: Under ``ics/``: one calendar per cluster, for its teachers.
ICS_CLUSTER_DIR = "clusters"


def gpx_names(facilitator_ids: list[str], ext: str = "gpx") -> dict[str, str]:
    """A safe, unique file name (``<id>.gpx``, or another ``ext``) for each facilitator or cluster id."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for fid in facilitator_ids:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(fid)).strip("._") or "facilitator"
        name, k = f"{base}.{ext}", 2
        while name.lower() in used:
            name, k = f"{base}_{k}.{ext}", k + 1
        used.add(name.lower())
        out[fid] = name
    return out


def gpx_text(fid: str, name: str, itinerary: pd.DataFrame, legs: list, place: dict[str, str], generated: bool = False) -> str:
    """The GPX document of one facilitator: base and venues as waypoints, one route per working day.

    Parameters
    ----------
    fid, name : str
        The facilitator.
    itinerary : pandas.DataFrame
        Their rows of ``itineraries.csv``.
    legs : list of (int, list of (lon, lat))
        Each day's way.
    place : dict
        School id -> name, for waypoint names.
    """
    import gpxpy.gpx

    g = gpxpy.gpx.GPX()
    g.creator = "cluster_mapper"
    g.name = f"{fid}: {name}"
    g.description = "Month of cluster meetings planned by cluster_mapper" + (" (generated sample data)" if generated else "")
    seen: set[tuple[str, str]] = set()
    for r in itinerary.itertuples(index=False):
        key = (r.kind, r.school_id if r.school_id else f"{r.latitude},{r.longitude}")
        if key in seen:
            continue
        seen.add(key)
        if r.kind == "base":
            label = f"Base of {fid}: " + (place.get(r.school_id, r.school_id) if r.school_id else f"home ({float(r.latitude):.5f}, {float(r.longitude):.5f})")
        else:
            label = f"{place.get(r.school_id, r.school_id)} ({r.cluster_id})"
        g.waypoints.append(
            gpxpy.gpx.GPXWaypoint(latitude=float(r.latitude), longitude=float(r.longitude), name=label, symbol="Flag" if r.kind == "base" else "Meeting Place")
        )
    by_day = {d: rows for d, rows in itinerary.groupby("day", sort=True)}
    for day, way in legs:
        rows = by_day.get(day)
        stops = [] if rows is None else [_stop_words(r) for r in rows.itertuples(index=False) if r.kind == "meeting"]
        date = "" if rows is None else str(rows["date"].iloc[0] or "") if "date" in rows.columns else ""
        when = f"{date} ({_weekday(date)})" if date else f"day {day}"
        leave = "" if rows is None or "end_time" not in rows.columns else str(rows["end_time"].iloc[0] or "")
        desc = (f"leave base {leave}; " if leave else "") + "; ".join(stops)
        rte = gpxpy.gpx.GPXRoute(name=f"{fid} {when}", description=desc, number=int(day))
        last = None
        for lon, lat in way:
            pt = (round(lat, 6), round(lon, 6))
            if pt != last:
                rte.points.append(gpxpy.gpx.GPXRoutePoint(latitude=pt[0], longitude=pt[1]))
                last = pt
        g.routes.append(rte)
    return g.to_xml(version="1.1")


def _weekday(iso: str) -> str:
    import datetime as dt

    return dt.date.fromisoformat(iso).strftime("%A")


def _stop_words(r) -> str:
    """``"C001 at GPS X 09:00-12:00"``: a meeting with its clock times."""
    start, end = getattr(r, "start_time", ""), getattr(r, "end_time", "")
    times = f"{start}-{end}" if start else f"{minutes_clock(r.arrive_minute)}-{minutes_clock(r.leave_minute)} from leaving the base"
    name = getattr(r, "school_name", "") or r.school_id
    return f"{r.cluster_id} at {name} {times}"


def ics_calendars(itineraries: pd.DataFrame, programme: pd.DataFrame, month: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """iCalendar files: one per facilitator (one event per meeting) and one per cluster for its teachers.

    Written with the ``icalendar`` library. Times are local clock times
    (floating, as a school day is). ``DTSTAMP`` is the first moment of the
    planned month, so the same plan gives the same files; each event's
    ``UID`` is the facilitator, cluster and date.

    Returns
    -------
    (by_facilitator, by_cluster) : dict of id to bytes
    """
    import datetime as dt

    import icalendar

    stamp = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    names = dict(zip(programme["facilitator_id"], programme["name"])) if len(programme) else {}
    meet = itineraries[(itineraries["kind"] == "meeting") & (itineraries["date"].astype(str) != "")]

    def calendar(title: str) -> icalendar.Calendar:
        cal = icalendar.Calendar()
        cal.add("prodid", "-//cluster_mapper//support plan//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", title)
        return cal

    def event(r, summary: str, description: str) -> icalendar.Event:
        day = dt.date.fromisoformat(str(r.date))
        ev = icalendar.Event()
        ev.add("uid", f"{r.facilitator_id}-{r.cluster_id}-{r.date}@cluster-mapper")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", dt.datetime.combine(day, dt.time.fromisoformat(str(r.start_time))))
        ev.add("dtend", dt.datetime.combine(day, dt.time.fromisoformat(str(r.end_time))))
        ev.add("summary", summary)
        ev.add("location", f"{r.school_name or r.school_id} ({r.school_id})")
        ev.add("geo", (float(r.latitude), float(r.longitude)))
        ev.add("description", description)
        return ev

    by_f: dict[str, bytes] = {}
    for fid, rows in meet.groupby("facilitator_id", sort=True):
        cal = calendar(f"Cluster meetings of {fid} {names.get(fid, '')}".strip())
        for r in rows.itertuples(index=False):
            cal.add_component(event(r, f"Cluster {r.cluster_id} meeting", f"Facilitator {fid}: cluster {r.cluster_id} at {r.school_name or r.school_id}"))
        by_f[str(fid)] = cal.to_ical()
    by_c: dict[str, bytes] = {}
    for cid, rows in meet.groupby("cluster_id", sort=True):
        cal = calendar(f"Cluster {cid} meetings")
        for r in rows.itertuples(index=False):
            who = f"{r.facilitator_id} {names.get(r.facilitator_id, '')}".strip()
            cal.add_component(event(r, f"Cluster {cid} meeting at {r.school_name or r.school_id}", f"Cluster meeting with facilitator {who}"))
        by_c[str(cid)] = cal.to_ical()
    return by_f, by_c


def write_support_files(sp: SupportPlan, folder: str | Path, place: dict[str, str] | None = None, generated: bool | None = None) -> None:
    """Write ``support.csv``, ``itineraries.csv`` and the GPX files of a support plan into ``folder``.

    ``generated`` (default: read from the facilitators file's ``generated``
    column) marks the GPX files as generated sample data.
    """

    folder = Path(folder)
    if generated is None:
        generated = _generated(sp.facilitators_path)
    write_csv(sp.support[SUPPORT_COLUMNS], folder / "support.csv")
    write_csv(sp.itineraries[ITINERARY_COLUMNS], folder / "itineraries.csv")
    gdir = folder / GPX_DIR
    if gdir.exists():
        shutil.rmtree(gdir)
    gdir.mkdir()
    names = gpx_names(sp.programme["facilitator_id"].tolist())
    it = {fid: rows for fid, rows in sp.itineraries.groupby("facilitator_id", sort=False)}
    for fr in sp.programme.itertuples(index=False):
        text = gpx_text(
            fr.facilitator_id, fr.name, it.get(fr.facilitator_id, sp.itineraries.iloc[0:0]), sp.legs.get(fr.facilitator_id, []), place or {}, generated
        )
        (gdir / names[fr.facilitator_id]).write_text(text, encoding="utf-8")
    idir = folder / ICS_DIR
    if idir.exists():
        shutil.rmtree(idir)
    month = (sp.figures.get("policy") or {}).get("month")
    if month and "date" in sp.itineraries.columns:
        by_f, by_c = ics_calendars(sp.itineraries, sp.programme, month)
        (idir / ICS_CLUSTER_DIR).mkdir(parents=True)
        fnames = gpx_names(list(by_f), "ics")
        for fid, data in by_f.items():
            (idir / fnames[fid]).write_bytes(data)
        cnames = gpx_names(list(by_c), "ics")
        for cid, data in by_c.items():
            (idir / ICS_CLUSTER_DIR / cnames[cid]).write_bytes(data)


def add_to_summary(summary: dict, sp: SupportPlan) -> dict:
    """Put the support figures, the facilitators file and its hash into a plan summary (in place)."""

    summary["support"] = sp.figures
    if sp.facilitators_path:
        summary.setdefault("inputs", {})["facilitators"] = sp.facilitators_path
        if Path(sp.facilitators_path).is_file():
            summary.setdefault("input_sha256", {})["facilitators"] = file_sha256(sp.facilitators_path)
    return summary


def read_support(folder: str | Path, summary: dict) -> SupportPlan | None:
    """The support plan of a plan folder (None when the folder has none)."""

    folder = Path(folder)
    fig = summary.get("support")
    if not fig or not (folder / "support.csv").is_file():
        return None
    support = read_plan_csv(folder / "support.csv")
    it = read_plan_csv(folder / "itineraries.csv") if (folder / "itineraries.csv").is_file() else pd.DataFrame(columns=ITINERARY_COLUMNS)
    for c in ITINERARY_COLUMNS:  # a folder written before dates and clock times
        if c not in it.columns:
            it[c] = ""
    for c in ("day", "stop"):
        it[c] = pd.to_numeric(it[c], errors="coerce").astype("Int64")
    for c in ("latitude", "longitude", "arrive_minute", "leave_minute"):
        it[c] = pd.to_numeric(it[c], errors="coerce")
    prog = pd.DataFrame(fig.get("facilitator_table") or [])
    sizing = pd.DataFrame(fig.get("sizing") or [])
    legs = read_gpx_legs(folder / GPX_DIR, prog["facilitator_id"].tolist() if len(prog) else [])
    return SupportPlan(support, it, prog, sizing, fig, legs, (summary.get("inputs") or {}).get("facilitators"))


def read_gpx_legs(gdir: Path, facilitator_ids: list[str]) -> dict:
    """Each facilitator's days as ``[(day, [(lon, lat), ...])]`` from their GPX routes."""
    import gpxpy

    out: dict = {}
    names = gpx_names(facilitator_ids)
    for fid in facilitator_ids:
        p = gdir / names[fid]
        if not p.is_file():
            continue
        try:
            g = gpxpy.parse(p.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - a damaged GPX must not stop the review
            log.warning("could not read %s: %s", p, exc)
            continue
        out[fid] = [(int(r.number or k + 1), [(pt.longitude, pt.latitude) for pt in r.points]) for k, r in enumerate(g.routes)]
    return out


def school_names(saved) -> dict[str, str]:
    geo = saved.geodata
    if geo is None:
        return {}
    sch = geo[geo["kind"] == "school"]
    return dict(zip(sch["school_id"], sch["name"]))


def _generated(path: str | None) -> bool:
    """Whether a facilitators file marks its rows as generated."""
    if not path or not Path(path).is_file() or not str(path).lower().endswith(".csv"):
        return False
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError):  # a label must not stop the run
        return False
    col = {c.strip().lower(): c for c in df.columns}.get("generated")
    return bool(col) and df[col].str.strip().str.lower().isin(["true", "1", "yes"]).any()


__all__ = [
    "ICS_DIR",
    "ICS_CLUSTER_DIR",
    "ics_calendars",
    "GPX_DIR",
    "SUPPORT_FILES",
    "add_to_summary",
    "gpx_names",
    "gpx_text",
    "read_gpx_legs",
    "read_support",
    "write_support_files",
]
