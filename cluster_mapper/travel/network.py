"""Road networks, offline first: load, add elevation, travel minutes, snap schools.

Plain functions over ``networkx.MultiDiGraph`` road graphs in the osmnx
convention: nodes carry ``x`` (longitude) and ``y`` (latitude) in EPSG:4326,
edges carry ``length`` in metres. The normal case is a network file on disk
(:func:`load_network`: GraphML, OSM PBF, OSM XML or Overpass JSON);
:func:`download_network` is there for users who ask for a download.

This module decides which roads a travel mode may use and what the user is
told; reading OSM files and every call into osmnx go through
:mod:`cluster_mapper.travel.osm` (osmnx public API only).

Edge attributes added by :func:`add_travel_minutes` (units in the names):

``travel_minutes``
    Time to traverse the edge, in minutes. The weight used for routing.
``speed_kmh``
    Speed on the edge, in km/h.
``grade``
    Rise over run of the edge (walk mode, when nodes carry ``elevation``).

Notes for the user are lists of strings: ``G.graph["travel_notes"]`` from
loading and elevation, ``G.graph["travel_minutes_notes"]`` from
:func:`add_travel_minutes` (for example "no elevation: flat walking speed").
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, NoReturn

import networkx as nx
import numpy as np
import pyproj

from cluster_mapper.errors import fail
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel import osm

log = logging.getLogger(__name__)

#: File name endings :func:`load_network` understands, and their format.
NETWORK_FORMATS = {
    ".graphml": "graphml",
    ".graphml.gz": "graphml",
    ".osm.pbf": "osm_pbf",
    ".pbf": "osm_pbf",
    ".osm": "osm_xml",
    ".osm.bz2": "osm_xml",
    ".osm.gz": "osm_xml",
    ".xml": "osm_xml",
    ".xml.bz2": "osm_xml",
    ".xml.gz": "osm_xml",
    ".json": "overpass_json",
    ".json.gz": "overpass_json",
}

#: ``highway`` values a car cannot use (dropped in drive mode).
NON_MOTORABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "track",
        "steps",
        "pedestrian",
        "cycleway",
        "bridleway",
        "corridor",
        "elevator",
        "escalator",
        "platform",
        "bus_guideway",
        "raceway",
        "abandoned",
        "construction",
        "proposed",
        "planned",
        "razed",
        "no",
        "rest_area",
        "services",
    }
)
#: ``service`` values a car cannot use for through travel (drive mode).
NON_MOTORABLE_SERVICE = frozenset({"parking", "parking_aisle", "private", "emergency_access"})
#: ``highway`` values a walker cannot use (dropped in walk mode).
NON_WALKABLE_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "cycleway",
        "bus_guideway",
        "raceway",
        "platform",
        "abandoned",
        "construction",
        "proposed",
        "planned",
        "razed",
        "no",
        "rest_area",
        "services",
    }
)

#: Typical free-flow speeds (km/h) on hilly rural roads, used in drive mode for
#: road types whose edges carry no ``maxspeed`` tag.
DEFAULT_DRIVE_SPEEDS_KMH = {
    "motorway": 80.0,
    "motorway_link": 50.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 50.0,
    "primary_link": 35.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 30.0,
    "tertiary_link": 25.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
}
#: Speed (km/h) for drive edges of an unknown road type without ``maxspeed``.
FALLBACK_DRIVE_SPEED_KMH = 25.0


# --------------------------------------------------------------------------- loading


def _network_format(path: Path) -> str | None:
    name = path.name.lower()
    for ending in sorted(NETWORK_FORMATS, key=len, reverse=True):
        if name.endswith(ending):
            return NETWORK_FORMATS[ending]
    return None


def _open_binary(path: Path):
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    return path.open("rb")


def _refuse_entities(path: Path) -> NoReturn:
    """Refuse an XML file that declares entities (entity expansion attacks, local file reads)."""
    fail(
        path,
        "the XML file declares a DOCTYPE or ENTITY; such files are refused because entities can read local files or exhaust memory.",
        fix="export the network again from OpenStreetMap/osmnx (their files have no DOCTYPE), or remove the <!DOCTYPE ...> block.",
    )


def _refuse_dtd(path: Path, head: bytes) -> None:
    """Refuse XML with a document type declaration (checked on the file's first bytes)."""
    low = head.lower()
    if b"<!entity" in low or b"<!doctype" in low:
        _refuse_entities(path)


def _read_osm_file(path: Path, fmt: str, travel: TravelPolicy) -> osm.OsmRoads:
    """Stream the mode's road ways and their nodes out of an OSM XML or PBF file.

    XML is checked for a DOCTYPE/ENTITY in its first 64 KiB before it is
    parsed; libosmium refuses entity declarations anywhere in the file too.
    """

    if fmt == "osm_xml":
        try:
            with _open_binary(path) as fh:
                head = fh.read(65536)
        except Exception as exc:  # noqa: BLE001 - OSError (bad bz2/gzip stream), EOFError (truncated)
            fail(
                path,
                f"the file could not be read ({type(exc).__name__}: {exc}).",
                fix="check that the download finished and that the file is OSM XML (.osm, .osm.bz2).",
            )
        _refuse_dtd(path, head)
    try:
        return osm.read_osm_roads(path, lambda tags: _way_allowed(tags, travel.travel_mode), kind="xml" if fmt == "osm_xml" else "pbf")
    except osm.OsmEntityError:
        _refuse_entities(path)
    except osm.OsmReadError as exc:
        if fmt == "osm_xml":
            fail(path, f"the file could not be read as OSM XML ({exc}).", fix="check that the download finished and that the file is OSM XML (.osm).")
        fail(
            path,
            f"the file could not be read as an OpenStreetMap PBF extract ({exc}).",
            fix="download the .osm.pbf extract again (the download may have stopped early), or give the roads as OSM XML (.osm, .osm.bz2) or osmnx GraphML.",
        )


def _overpass_json_from_json(path: Path) -> dict[str, Any]:
    try:
        with _open_binary(path) as fh:
            data = json.loads(fh.read().decode("utf-8-sig"))
    except Exception as exc:  # noqa: BLE001 - any failure on a user's file becomes a message
        fail(
            path,
            f"the file could not be read as JSON ({type(exc).__name__}: {exc}).",
            fix="check that the download finished; the file must be an Overpass API JSON response.",
        )
    if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
        fail(
            path,
            "this JSON file is not an Overpass API response (no 'elements' list).",
            fix="download the roads with Overpass using [out:json], or give an osmnx .graphml file.",
        )
    return data


def _way_allowed(tags: dict[str, Any], mode: str) -> bool:
    """Whether an OSM way (its tags) is usable by the travel mode."""
    hw = tags.get("highway")
    if not hw:
        return False
    if tags.get("area") == "yes" or tags.get("access") == "private":
        return False
    if mode == "drive":
        if hw in NON_MOTORABLE_HIGHWAYS:
            return False
        if tags.get("service") in NON_MOTORABLE_SERVICE:
            return False
        return tags.get("motor_vehicle") != "no" and tags.get("motorcar") != "no"
    if hw in NON_WALKABLE_HIGHWAYS:
        return False
    return tags.get("foot") != "no" and tags.get("service") != "private"


def _roads_from_json(path: Path, data: dict[str, Any], travel: TravelPolicy) -> osm.OsmRoads:

    try:
        return osm.roads_from_overpass(data, lambda tags: _way_allowed(tags, travel.travel_mode))
    except (KeyError, TypeError, ValueError) as exc:
        fail(path, f"the OSM data is malformed ({type(exc).__name__}: {exc}).", fix="download or export the roads again.")


def _graph_from_roads(path: Path, roads: osm.OsmRoads, travel: TravelPolicy, simplify: bool, ways_word: str) -> nx.MultiDiGraph:
    """Build the road graph of the mode's ways (osmnx conventions), split at missing nodes."""

    if not roads.ways:
        what = "motorable roads" if travel.travel_mode == "drive" else "roads or paths"
        fail(
            path,
            f"the file has no {what} ({roads.n_ways_read} {ways_word} in total) for travel_mode '{travel.travel_mode}'.",
            fix="check that the extract covers the district and includes highway=* ways.",
        )
    # ways clipped at the extract edge reference nodes outside it: they are
    # split there (never joined across the missing node)
    ways = osm.split_at_missing_nodes(roads)
    try:
        G = osm.graph_from_roads(roads.nodes, ways, bidirectional=travel.travel_mode == "walk")
    except Exception as exc:  # noqa: BLE001 - any failure on a user's file becomes a message
        fail(path, f"could not build a road graph from the file ({type(exc).__name__}: {exc}).", fix="download or export the roads again.")
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if simplify and len(G.edges):
        G = osm.simplify_graph(G)
    G.graph["travel_notes"] = []
    if roads.missing_nodes:
        G.graph["travel_notes"].append(f"{len(roads.missing_nodes)} way node(s) lie outside the extract and were dropped")
    return G


def _load_graphml(path: Path) -> nx.MultiDiGraph:

    try:
        with _open_binary(path) as fh:
            raw = fh.read()
    except Exception as exc:  # noqa: BLE001 - any failure on a user's file becomes a message
        fail(path, f"the file could not be read ({type(exc).__name__}: {exc}).", fix="check that the file is complete (a .graphml or .graphml.gz file).")
    _refuse_dtd(path, raw[:65536])
    try:
        import defusedxml.ElementTree as DET

        DET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)  # safety check only
        G = osm.load_graphml(raw.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any failure on a user's file becomes a message
        fail(
            path,
            f"the file could not be read as a GraphML road network ({type(exc).__name__}: {exc}).",
            fix="save the network with osmnx.save_graphml, or give an .osm / Overpass .json file.",
        )
    if not isinstance(G, nx.MultiDiGraph):
        G = nx.MultiDiGraph(G)
    # graph-level values come back as text: recompute travel minutes and notes
    for key in ("travel_notes", "travel_mode", "travel_minutes_mode", "travel_minutes_speed_kmh", "source_file"):
        G.graph.pop(key, None)
    G.graph["travel_notes"] = []
    return G


def _filter_graph_for_mode(G: nx.MultiDiGraph, travel: TravelPolicy) -> None:
    """Drop non-motorable edges of a loaded graph in drive mode (in place)."""
    if travel.travel_mode != "drive":
        return
    drop = []
    no_tag = 0
    for u, v, k, hw in G.edges(keys=True, data="highway"):
        if hw is None:
            no_tag += 1
            continue
        values = hw if isinstance(hw, list) else [hw]
        if any(str(h) in NON_MOTORABLE_HIGHWAYS for h in values):
            drop.append((u, v, k))
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if no_tag:
        G.graph["travel_notes"].append(f"{no_tag} edge(s) have no highway type; they are assumed motorable")


def load_network(path: str | Path, travel: TravelPolicy, *, simplify: bool = True) -> nx.MultiDiGraph:
    """Load a road network file for the travel mode.

    Parameters
    ----------
    path : str or Path
        An osmnx GraphML file (``.graphml``, ``.graphml.gz``), an OSM PBF
        extract (``.osm.pbf``), OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``,
        ``.xml``) or an Overpass API JSON response (``.json``, ``.json.gz``).
        PBF and XML are streamed (:func:`cluster_mapper.travel.osm.read_osm_roads`):
        only the mode's highway ways and their nodes are kept in memory.
    travel : TravelPolicy
        ``travel_mode`` decides which ways are kept: drive keeps motorable
        highways only (footway, path, track, steps, pedestrian, cycleway,
        bridleway ... are dropped) and respects one-way streets; walk keeps
        walkable ways, each usable in both directions.
    simplify : bool
        Simplify the topology of graphs built from OSM data (osmnx
        ``simplify_graph``): edge ``length`` is kept exact, but grades are then
        computed over whole simplified edges.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``/``y`` in EPSG:4326, edges with ``length`` in metres.
        All connected components are kept (a river without a bridge is a wall;
        schools on different components are unreachable from each other).
        ``G.graph["travel_notes"]`` lists what the user should know.

    Raises
    ------
    InputError
        Missing file, unknown extension, corrupt or truncated file (XML, PBF,
        compressed stream), XML with entity declarations, or no usable roads.
    """

    path = Path(path)
    if not path.exists():
        fail(path, "the road network file does not exist.", fix="check the path given for the network.")
    if path.is_dir():
        fail(path, "this is a folder, not a road network file.", fix="give the path of a .graphml, .osm.pbf, .osm(.bz2) or Overpass .json(.gz) file.")
    fmt = _network_format(path)
    if fmt is None:
        fail(
            path,
            f"unknown road network file type '{''.join(path.suffixes) or path.name}'.",
            fix="use an osmnx .graphml(.gz), OSM PBF .osm.pbf, OSM XML .osm(.bz2/.gz) or Overpass .json(.gz) file.",
        )
    if path.stat().st_size == 0:
        fail(path, "the road network file is empty.", fix="download or export the network again.")

    if fmt == "graphml":
        G = _load_graphml(path)
        _filter_graph_for_mode(G, travel)
    elif fmt == "overpass_json":
        G = _graph_from_roads(path, _roads_from_json(path, _overpass_json_from_json(path), travel), travel, simplify, "ways")
    else:
        G = _graph_from_roads(path, _read_osm_file(path, fmt, travel), travel, simplify, "highway ways")

    if len(G) == 0 or len(G.edges) == 0:
        fail(
            path,
            f"the road network is empty for travel_mode '{travel.travel_mode}' (no usable roads).",
            fix="check that the file covers the area and has roads usable by this travel mode.",
        )
    missing_xy = [n for n, d in G.nodes(data=True) if "x" not in d or "y" not in d]
    if missing_xy:
        fail(
            path,
            f"{len(missing_xy)} node(s) have no x/y coordinates (e.g. node {missing_xy[0]}).",
            fix="give a network whose nodes have x (longitude) and y (latitude).",
        )
    no_length = sum(1 for *_, ln in G.edges(data="length") if ln is None or not np.isfinite(float(ln)))
    if no_length:
        fail(path, f"{no_length} edge(s) have no length.", fix="add edge lengths in metres (osmnx.distance.add_edge_lengths) and save again.")
    crs = G.graph.get("crs", "epsg:4326")
    G.graph["crs"] = crs
    try:
        if pyproj.CRS.from_user_input(crs).is_projected:
            G = osm.project_to_lonlat(G)
    except pyproj.exceptions.CRSError:
        fail(path, f"the graph's crs '{crs}' is not a CRS PROJ knows.", fix="save the graph with a valid crs (EPSG:4326).")
    G.graph.setdefault("travel_notes", [])
    G.graph["travel_mode"] = travel.travel_mode
    G.graph["source_file"] = str(path)
    n_comp = nx.number_weakly_connected_components(G)
    if n_comp > 1:
        G.graph["travel_notes"].append(f"the network has {n_comp} separate parts; schools on different parts cannot reach each other")
    log.info("loaded %s: %d nodes, %d edges", path, len(G), len(G.edges))
    return G


def download_network(place_or_polygon: str | Any, travel: TravelPolicy) -> nx.MultiDiGraph:
    """Download a road network from OpenStreetMap (needs internet; only on request).

    Parameters
    ----------
    place_or_polygon : str or shapely Polygon/MultiPolygon
        A place name Nominatim can geocode (e.g. "Mansehra District,
        Pakistan") or a polygon in EPSG:4326.
    travel : TravelPolicy
        ``travel_mode`` walk or drive chooses the osmnx network type.

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`load_network`; save it with ``osmnx.save_graphml`` to work
        offline afterwards.
    """

    network_type: Literal["walk", "drive"] = "drive" if travel.travel_mode == "drive" else "walk"
    try:
        G = osm.download_graph(place_or_polygon, network_type)
    except Exception as exc:  # noqa: BLE001 - any download failure becomes a message
        fail(
            "<download>",
            f"downloading the road network failed ({type(exc).__name__}: {exc}).",
            fix="check the internet connection and the place name, or give a network file instead.",
        )
    G.graph["travel_notes"] = []
    G.graph["travel_mode"] = travel.travel_mode
    return G


#: Travel notes written by :func:`add_elevation_from_raster` start with this (replaced when it runs again).
ELEVATION_NOTE = "elevation rasters"


def add_elevation_from_raster(G: nx.MultiDiGraph, raster_paths: str | Path | Iterable[str | Path]) -> nx.MultiDiGraph:
    """Add node ``elevation`` (metres) from elevation rasters (DEM tiles) in any CRS.

    Each node's longitude/latitude is reprojected into the raster's CRS
    (``rasterio.warp.transform``) and takes the value of the cell it falls
    in (band 1; nodata and NaN cells give none). A node takes its value from
    the first raster that covers it with data, so overlapping tiles are fine.
    Nodes outside every raster get no ``elevation`` attribute; their edges
    are walked at flat speed and :func:`add_travel_minutes` says so. A note
    in ``G.graph["travel_notes"]`` says which share of the nodes got one.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Road graph with ``x``/``y`` in EPSG:4326 (modified in place).
    raster_paths : path or iterable of paths
        GeoTIFF (or any GDAL raster) elevation tiles, band 1, in metres, in
        any CRS the raster declares (geographic or projected, e.g. UTM).

    Returns
    -------
    networkx.MultiDiGraph
        The same graph, with ``elevation`` on covered nodes.

    Raises
    ------
    InputError
        A raster that does not exist, cannot be read or declares no CRS, or
        rasters that together cover none of the network's nodes.
    """
    import rasterio
    from rasterio.transform import rowcol
    from rasterio.warp import transform as warp_transform
    from rasterio.windows import Window

    paths = [Path(raster_paths)] if isinstance(raster_paths, (str, Path)) else [Path(p) for p in raster_paths]
    extents = []
    for p in paths:
        if not p.is_file():
            fail(
                p,
                "the elevation raster does not exist." if not p.exists() else "this is a folder, not an elevation raster.",
                fix="check the path given to --elevation (or elevation in the policy).",
            )
        try:
            with rasterio.open(p) as r:
                crs, bounds = r.crs, r.bounds
        except Exception as exc:  # noqa: BLE001 - GDAL raises RasterioIOError and others for non-rasters
            fail(
                p,
                f"this is not a readable raster ({type(exc).__name__}: {exc}).",
                fix="give a GeoTIFF elevation model (DEM), e.g. an SRTM or Copernicus GLO-30 tile.",
            )
        if crs is None:
            fail(
                p,
                "the elevation raster declares no coordinate reference system, so its cells cannot be placed on the map.",
                fix="save it with its CRS, e.g. gdal_edit.py -a_srs EPSG:4326 dem.tif (EPSG:4326 for longitude/latitude tiles).",
            )
        extents.append((p, crs, bounds))
    nodes = list(G.nodes)
    lon = np.array([float(G.nodes[n]["x"]) for n in nodes])
    lat = np.array([float(G.nodes[n]["y"]) for n in nodes])
    z = np.full(len(nodes), np.nan)
    for p, crs, _ in extents:
        todo = np.flatnonzero(np.isnan(z))
        if len(todo) == 0:
            break
        with rasterio.open(p) as r:
            if crs.to_epsg() == 4326:
                xs, ys = lon[todo], lat[todo]
            else:
                xs, ys = (np.asarray(a) for a in warp_transform("EPSG:4326", crs, lon[todo].tolist(), lat[todo].tolist()))
            rows, cols = (np.asarray(a, dtype=np.int64) for a in rowcol(r.transform, xs, ys))
            inside = (rows >= 0) & (rows < r.height) & (cols >= 0) & (cols < r.width)
            if not inside.any():
                continue
            r0, r1, c0, c1 = rows[inside].min(), rows[inside].max(), cols[inside].min(), cols[inside].max()
            band = r.read(1, window=Window(c0, r0, c1 - c0 + 1, r1 - r0 + 1), masked=True)
            vals = band[rows[inside] - r0, cols[inside] - c0]
            ok = ~np.ma.getmaskarray(vals) & np.isfinite(np.ma.getdata(vals).astype(float))
            z[todo[inside][ok]] = np.ma.getdata(vals)[ok].astype(float)
    found = {n: float(v) for n, v in zip(nodes, z, strict=True) if np.isfinite(v)}
    names = ", ".join(p.name for p in paths)
    if not found and len(G):
        spans = "; ".join(f"{p.name} spans {b.left:.4f}..{b.right:.4f}, {b.bottom:.4f}..{b.top:.4f} in {c.to_string()}" for p, c, b in extents)
        fail(
            paths[0],
            f"the elevation raster{'s' if len(paths) > 1 else ''} ({names}) cover{'' if len(paths) > 1 else 's'} none of the {len(G):,} network nodes "
            f"(the network spans longitude {lon.min():.4f}..{lon.max():.4f}, latitude {lat.min():.4f}..{lat.max():.4f}; {spans}).",
            fix="give the elevation tiles of the network's area.",
        )
    nx.set_node_attributes(G, found, name="elevation")
    share = len(found) / max(len(G), 1)
    G.graph["travel_notes"] = [n for n in G.graph.get("travel_notes", []) if not n.startswith(ELEVATION_NOTE)]
    G.graph["travel_notes"].append(
        f"{ELEVATION_NOTE} ({names}) give heights to {len(found):,} of {len(G):,} network nodes ({100 * share:.0f}%)"
        + ("" if len(found) == len(G) else "; roads at the other nodes are walked at the flat speed")
    )
    G.graph["elevation_share"] = share
    log.info("elevation on %d of %d nodes from %s", len(found), len(G), names)
    return G


# --------------------------------------------------------------------------- travel minutes
__all__ = ["NETWORK_FORMATS", "add_elevation_from_raster", "download_network", "load_network"]


def check_network_reaches(G: nx.MultiDiGraph, lon: np.ndarray, lat: np.ndarray, travel: TravelPolicy, *, source: str | Path) -> None:
    """Refuse a road network of another place, before any travel time is computed.

    A network that leaves most schools farther than ``max_snap_metres`` from
    its nearest node, or whose extent lies wholly apart from the schools',
    is not the schools' network (a wrong file, or positions with longitude
    and latitude swapped); planning on it would leave nearly everyone out
    with reasons that blame the rules. Like an elevation raster of another
    place, it is an input error.
    """
    from scipy.spatial import cKDTree

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if len(lon) == 0 or G.number_of_nodes() == 0:
        return
    nx_ = np.array([d["x"] for _, d in G.nodes(data=True)], dtype=float)
    ny_ = np.array([d["y"] for _, d in G.nodes(data=True)], dtype=float)
    r = 6_371_008.8
    cos0 = np.cos(np.radians(float(np.mean(lat))))
    tree = cKDTree(np.c_[np.radians(nx_) * cos0 * r, np.radians(ny_) * r])
    metres, _ = tree.query(np.c_[np.radians(lon) * cos0 * r, np.radians(lat) * r], k=1)
    far = int((metres > travel.max_snap_metres).sum())
    margin = travel.max_snap_metres / 111_000.0
    apart = lon.max() < nx_.min() - margin or lon.min() > nx_.max() + margin or lat.max() < ny_.min() - margin or lat.min() > ny_.max() + margin
    if far * 2 <= len(lon) and not apart:
        return
    fail(
        source,
        f"the road network does not reach the schools: {far} of {len(lon)} schools are farther than {travel.max_snap_metres:g} m from its "
        f"nearest road (median {float(np.median(metres)) / 1000:,.1f} km). The network covers longitude {nx_.min():.3f} to {nx_.max():.3f}, "
        f"latitude {ny_.min():.3f} to {ny_.max():.3f}; the schools lie at longitude {lon.min():.3f} to {lon.max():.3f}, latitude "
        f"{lat.min():.3f} to {lat.max():.3f}. It looks like the network of another place; nothing was planned.",
        fix="give the road network of the schools' area (an .osm.pbf or .osm extract that covers them), or check the schools' positions "
        "(longitude and latitude swapped?).",
        field="--network",
    )
