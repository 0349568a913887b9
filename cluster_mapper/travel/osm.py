"""OpenStreetMap adapter: stream road ways out of OSM files, and the one gateway to osmnx.

Two jobs, kept in one small module so that the rest of the package never
depends on how a third-party library is built inside:

Reading OSM files (pyosmium)
    :func:`read_osm_roads` reads an OSM PBF extract (``.osm.pbf``) or OSM XML
    (``.osm``, ``.osm.bz2``, ``.osm.gz``) with pyosmium (libosmium) in two
    streaming passes: first the ways that carry a ``highway`` tag (the tag
    filter runs in C++, other ways are never turned into Python objects) and
    that a caller's predicate keeps, then only the nodes those ways use. The
    file is never held in memory, whatever its size; what is kept is the kept
    ways' node lists and a few tags, and the coordinates of their nodes.
    :func:`roads_from_overpass` turns an Overpass API JSON response into the
    same :class:`OsmRoads`, and :func:`graph_from_roads` builds an osmnx-style
    ``networkx.MultiDiGraph`` from either.

osmnx, public API only
    Every osmnx call of the package goes through the thin wrappers below
    (:func:`simplify_graph`, :func:`load_graphml`, :func:`save_graphml`,
    :func:`project_to_lonlat`,
    :func:`add_drive_speeds`, :func:`nearest_nodes`, :func:`download_graph`).
    No name that starts with an underscore is imported from osmnx: those are
    private and may change in any osmnx release.

Graphs follow the osmnx convention: nodes carry ``x`` (longitude) and ``y``
(latitude) in EPSG:4326, edges carry ``length`` in metres, ``osmid``,
``oneway`` and ``reversed`` and the way tags listed in
``osmnx.settings.useful_tags_way``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any, Literal, cast

import networkx as nx
import numpy as np
import osmium
import osmium.filter
import osmium.io

log = logging.getLogger(__name__)


def _ox() -> Any:
    """osmnx, imported on first use: it loads scikit-learn and takes seconds that a plan from a travel matrix, or reading a plan folder, does not need."""
    import osmnx

    return osmnx


#: ``oneway`` values meaning travel in one direction only (as osmnx reads them).
ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
#: ``oneway`` values meaning travel against the order of the way's nodes.
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})

#: A predicate over a way's tags (all of them, as strings): keep the way?
WayFilter = Callable[[dict[str, Any]], bool]


class OsmReadError(Exception):
    """An OSM file that pyosmium cannot read (corrupt, truncated, wrong format)."""


class OsmEntityError(OsmReadError):
    """An OSM XML file that declares XML entities (refused by libosmium)."""


@dataclass
class OsmRoads:
    """The road ways of an OSM file and the nodes they use.

    Attributes
    ----------
    nodes : dict
        ``{node id: (lat, lon, tags)}`` in file order; latitude and longitude
        in degrees (EPSG:4326), ``tags`` holds only the tags osmnx keeps on
        nodes (``osmnx.settings.useful_tags_node``).
    ways : dict
        ``{way id: (node ids, tags)}`` in file order, for the ways the filter
        kept; ``tags`` holds only ``osmnx.settings.useful_tags_way``.
    n_ways_read : int
        Ways read, kept or not: those with a ``highway`` tag for OSM files,
        all ways for Overpass JSON.
    missing_nodes : set
        Node ids the kept ways use but the file lacks (ways clipped at the
        edge of an extract).
    """

    nodes: dict[int, tuple[float, float, dict[str, Any]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, Any]]] = field(default_factory=dict)
    n_ways_read: int = 0
    missing_nodes: set[int] = field(default_factory=set)


# --------------------------------------------------------------------------- reading OSM files


def _osmium_file(path: Path, kind: Literal["pbf", "xml"]) -> osmium.io.File:
    """The file with its libosmium format (``pbf``, ``osm``, ``osm.bz2``, ``osm.gz``)."""
    if kind == "pbf":
        return osmium.io.File(str(path), "pbf")
    name = path.name.lower()
    compression = ".bz2" if name.endswith(".bz2") else ".gz" if name.endswith(".gz") else ""
    return osmium.io.File(str(path), "osm" + compression)


def _osmium_error(exc: Exception) -> OsmReadError:
    text = f"{type(exc).__name__}: {exc}"
    if "entities" in str(exc).lower():
        return OsmEntityError(text)
    return OsmReadError(text)


#: libosmium's id set (behind ``osmium.filter.IdFilter``) takes memory in
#: blocks of 4 MiB, each covering 2**25 consecutive ids.
_ID_SET_BLOCK_BITS = 25
_ID_SET_BLOCK_BYTES = 4 * 2**20
#: The id set may cost this much, plus :data:`_ID_SET_BYTES_PER_NODE` per node
#: kept (the road graph built afterwards takes several KiB per node anyway).
_ID_SET_BASE_BYTES = 64 * 2**20
_ID_SET_BYTES_PER_NODE = 1024


def _id_filter_pays(ids: set[int]) -> bool:
    """Whether to select nodes with libosmium's id filter (fast) rather than in Python (lean).

    The C++ filter keeps unused nodes out of Python (about ten times faster
    on a large file) but its id set costs 4 MiB for every block of 2**25 ids
    that holds a wanted id: up to 1.6 GB for ids spread over all of today's
    OSM node ids. It is used when that stays small next to the graph that will
    be built from the nodes. Negative ids (objects drawn in an editor and not
    uploaded) do not fit the id set at all.
    """
    if min(ids) < 0:
        return False
    blocks = len({i >> _ID_SET_BLOCK_BITS for i in ids})
    return blocks * _ID_SET_BLOCK_BYTES <= _ID_SET_BASE_BYTES + _ID_SET_BYTES_PER_NODE * len(ids)


def read_osm_roads(path: str | Path, keep_way: WayFilter, *, kind: Literal["pbf", "xml"] = "pbf") -> OsmRoads:
    """Read the road ways of an OSM file and their nodes, streaming (pyosmium).

    Pass 1 reads only ways, with a C++ tag filter on ``highway``, and keeps
    those ``keep_way`` accepts. Pass 2 reads only nodes and keeps those the
    kept ways use (selected by a C++ id filter when its memory is small next
    to the graph to come, else in Python). Memory grows with the kept roads,
    not with the file: buildings, land use, relations and unused nodes are
    never held.

    Parameters
    ----------
    path : str or Path
        ``.osm.pbf`` (``kind="pbf"``) or OSM XML ``.osm``, ``.osm.bz2``,
        ``.osm.gz`` (``kind="xml"``; compression from the name).
    keep_way : callable
        ``keep_way(tags) -> bool`` over all tags of a highway way (strings).
    kind : {"pbf", "xml"}
        The file's format.

    Returns
    -------
    OsmRoads
        Kept ways and their nodes; ``missing_nodes`` lists node ids used by
        kept ways that the file does not hold.

    Raises
    ------
    OsmEntityError
        XML with entity declarations (libosmium refuses them).
    OsmReadError
        Corrupt, truncated or not an OSM file, or a node without a location.
    """
    path = Path(path)
    way_tags = tuple(_ox().settings.useful_tags_way)
    node_tags = tuple(_ox().settings.useful_tags_node)
    roads = OsmRoads()
    try:
        ways = osmium.FileProcessor(_osmium_file(path, kind), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway"))
        for obj in ways:
            w = cast(osmium.osm.Way, obj)
            roads.n_ways_read += 1
            tags = {t.k: t.v for t in w.tags}
            if keep_way(tags):
                roads.ways[w.id] = ([n.ref for n in w.nodes], {k: tags[k] for k in way_tags if k in tags})
    except (RuntimeError, OSError) as exc:
        raise _osmium_error(exc) from exc
    used = {n for refs, _ in roads.ways.values() for n in refs}
    if used:
        try:
            nodes = osmium.FileProcessor(_osmium_file(path, kind), osmium.osm.NODE)
            if _id_filter_pays(used):
                # the id filter runs in C++: unused nodes never reach Python
                nodes = nodes.with_filter(osmium.filter.IdFilter(used))
            for obj in nodes:
                n = cast(osmium.osm.Node, obj)
                if n.id not in used:
                    continue
                loc = n.location
                if not loc.valid():
                    raise OsmReadError(f"node {n.id} has no valid latitude/longitude")
                tags = {t.k: t.v for t in n.tags if t.k in node_tags} if len(n.tags) else {}
                roads.nodes[n.id] = (loc.lat, loc.lon, tags)
        except (RuntimeError, OSError) as exc:
            raise _osmium_error(exc) from exc
    roads.missing_nodes = used - roads.nodes.keys()
    log.info(
        "%s: %d of %d highway ways kept, %d nodes (%d missing)",
        path.name,
        len(roads.ways),
        roads.n_ways_read,
        len(roads.nodes),
        len(roads.missing_nodes),
    )
    return roads


def roads_from_overpass(data: dict[str, Any], keep_way: WayFilter) -> OsmRoads:
    """The road ways and their nodes in an Overpass API JSON response.

    Parameters
    ----------
    data : dict
        The parsed response, with an ``elements`` list of nodes (``id``,
        ``lat``, ``lon`` in degrees, optional ``tags``) and ways (``id``,
        ``nodes``, optional ``tags``).
    keep_way : callable
        ``keep_way(tags) -> bool`` over a way's tags.

    Returns
    -------
    OsmRoads
        As :func:`read_osm_roads`; ``n_ways_read`` counts all ways.

    Raises
    ------
    KeyError, TypeError, ValueError
        Malformed elements (a node without ``lat``, a way without ``nodes`` ...).
    """
    way_tags = tuple(_ox().settings.useful_tags_way)
    node_tags = tuple(_ox().settings.useful_tags_node)
    roads = OsmRoads()
    for e in data["elements"]:
        if e.get("type") != "way":
            continue
        roads.n_ways_read += 1
        tags = e.get("tags") or {}
        if keep_way(tags):
            roads.ways[e["id"]] = (list(e["nodes"]), {k: tags[k] for k in way_tags if k in tags})
    used = {n for refs, _ in roads.ways.values() for n in refs}
    for e in data["elements"]:
        if e.get("type") == "node" and e.get("id") in used:
            tags = e.get("tags") or {}
            roads.nodes[e["id"]] = (float(e["lat"]), float(e["lon"]), {k: tags[k] for k in node_tags if k in tags})
    roads.missing_nodes = used - roads.nodes.keys()
    return roads


def split_at_missing_nodes(roads: OsmRoads) -> list[tuple[int, list[int], dict[str, Any]]]:
    """The kept ways as ``(way id, node ids, tags)``, cut where a node is missing.

    A way clipped at the edge of an extract references nodes outside it: the
    way is split there (its two sides are never joined across the gap), and
    pieces of fewer than two nodes are dropped. Every piece keeps the way's id.

    Parameters
    ----------
    roads : OsmRoads
        Ways and nodes from :func:`read_osm_roads` or :func:`roads_from_overpass`.

    Returns
    -------
    list of tuple
        The pieces, in the order of the ways.
    """
    missing = roads.missing_nodes
    if not missing:
        return [(wid, refs, tags) for wid, (refs, tags) in roads.ways.items()]
    pieces = []
    for wid, (refs, tags) in roads.ways.items():
        run: list[int] = []
        for n in [*refs, None]:
            if n is None or n in missing:
                if len(run) >= 2:
                    pieces.append((wid, run, tags))
                run = []
            else:
                run.append(n)
    return pieces


def graph_from_roads(
    nodes: dict[int, tuple[float, float, dict[str, Any]]],
    ways: Iterable[tuple[int, list[int], dict[str, Any]]],
    *,
    bidirectional: bool,
) -> nx.MultiDiGraph:
    """Build an unsimplified osmnx-style road graph from OSM nodes and ways.

    Follows osmnx's own graph construction (``osmnx.graph_from_xml``): one
    edge per pair of consecutive way nodes, in both directions unless the way
    is one-way (``oneway`` in :data:`ONEWAY_VALUES`, or a roundabout) and the
    network is not ``bidirectional``; ``oneway=-1`` ways run against their
    node order. Edge ``length`` (metres, great-circle) comes from
    ``osmnx.distance.add_edge_lengths``.

    Parameters
    ----------
    nodes : dict
        ``{node id: (lat, lon, tags)}``, degrees; every node a way uses.
    ways : iterable of (way id, node ids, tags)
        The ways (e.g. from :func:`split_at_missing_nodes`).
    bidirectional : bool
        True for walking networks: no way is one-way.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``, ``y`` (degrees) and node tags; edges with
        ``osmid``, the way tags, ``oneway``, ``reversed`` and ``length`` (m).
        Graph attributes ``crs`` (``osmnx.settings.default_crs``),
        ``created_date`` and ``created_with``.
    """
    G = nx.MultiDiGraph(
        created_date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        created_with=f"cluster_mapper with pyosmium and OSMnx {_ox().__version__}",
        crs=_ox().settings.default_crs,
    )
    G.add_nodes_from((nid, {"y": lat, "x": lon, **tags}) for nid, (lat, lon, tags) in nodes.items())
    for wid, refs, tags in ways:
        path = [n for n, _ in groupby(refs)]  # drop consecutive repeats
        oneway = not bidirectional and (tags.get("oneway") in ONEWAY_VALUES or tags.get("junction") == "roundabout")
        if oneway and tags.get("oneway") in REVERSED_VALUES:
            path.reverse()
        attrs = {"osmid": wid, **tags, "oneway": oneway}
        edges = list(pairwise(path))
        G.add_edges_from(edges, **attrs, reversed=False)
        if not oneway:
            G.add_edges_from([(v, u) for u, v in edges], **attrs, reversed=True)
    if len(G.edges):
        _ox().distance.add_edge_lengths(G)
    return G


# --------------------------------------------------------------------------- osmnx, public API


def simplify_graph(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Simplify the topology (``osmnx.simplify_graph``): edge lengths are summed, so stay exact.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Unsimplified graph with edge ``length`` in metres.

    Returns
    -------
    networkx.MultiDiGraph
        A new graph whose edges run between intersections and dead ends.
    """
    return _ox().simplify_graph(G)


def bool_from_text(value: bool | str) -> bool:
    """Read a boolean written to GraphML as text (``"True"``/``"False"``, any case).

    Raises
    ------
    ValueError
        Any other text.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"not a boolean: {value!r}")


#: Types of the edge attributes this package writes, for reading them back.
GRAPHML_EDGE_DTYPES: dict[str, Callable[[Any], Any]] = {
    "walk_reverse": bool_from_text,
    "travel_minutes": float,
    "speed_kmh": float,
}


def load_graphml(text: str) -> nx.MultiDiGraph:
    """Parse GraphML text saved by osmnx (``osmnx.load_graphml``).

    osmnx converts its own attributes (``length`` in metres, ``oneway``, ...);
    this package's edge attributes are converted by
    :data:`GRAPHML_EDGE_DTYPES`. Check the text for XML entities before.

    Parameters
    ----------
    text : str
        The GraphML document.

    Returns
    -------
    networkx.MultiDiGraph
    """
    return _ox().load_graphml(graphml_str=text, edge_dtypes=GRAPHML_EDGE_DTYPES)


def save_graphml(G: nx.MultiDiGraph, path: str | Path) -> None:
    """Save a road graph as GraphML (``osmnx.save_graphml``), readable by :func:`load_graphml`.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The graph.
    path : str or Path
        The ``.graphml`` file to write (folders are created).
    """
    _ox().save_graphml(G, Path(path))


def project_to_lonlat(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Project a graph with a projected ``crs`` to longitude/latitude (``osmnx.project_graph``).

    Returns
    -------
    networkx.MultiDiGraph
        A new graph in ``osmnx.settings.default_crs`` (EPSG:4326), degrees.
    """
    return _ox().projection.project_graph(G, to_latlong=True)


def add_drive_speeds(G: nx.MultiDiGraph, hwy_speeds_kmh: dict[str, float], fallback_kmh: float) -> nx.MultiDiGraph:
    """Add free-flow ``speed_kph`` (km/h) and ``travel_time`` (s) to every edge, in place.

    ``osmnx.routing.add_edge_speeds`` (``maxspeed`` tags where present, else
    the mean speed per ``highway`` type from ``hwy_speeds_kmh``, else
    ``fallback_kmh``) then ``osmnx.routing.add_edge_travel_times``.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Graph with edge ``length`` (metres) and ``highway`` on every edge.
    hwy_speeds_kmh : dict
        Speed in km/h per ``highway`` value.
    fallback_kmh : float
        Speed in km/h for road types neither tagged nor in the table.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph.
    """
    _ox().routing.add_edge_speeds(G, hwy_speeds=hwy_speeds_kmh, fallback=fallback_kmh)
    return _ox().routing.add_edge_travel_times(G)


def nearest_nodes(G: nx.MultiDiGraph, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nearest graph node of each point (``osmnx.distance.nearest_nodes``).

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Graph in a projected CRS (metres), nodes with ``x``/``y``.
    x, y : numpy.ndarray
        Point coordinates in the graph's CRS (metres).

    Returns
    -------
    numpy.ndarray
        The node id nearest to each point.
    """
    return np.asarray(_ox().distance.nearest_nodes(G, np.asarray(x), np.asarray(y)))


def download_graph(place_or_polygon: str | Any, network_type: Literal["walk", "drive"]) -> nx.MultiDiGraph:
    """Download a road graph from OpenStreetMap (``osmnx.graph_from_place`` / ``graph_from_polygon``).

    Parameters
    ----------
    place_or_polygon : str or shapely Polygon/MultiPolygon
        A place name Nominatim can geocode, or a polygon in EPSG:4326.
    network_type : {"walk", "drive"}
        osmnx network type.

    Returns
    -------
    networkx.MultiDiGraph
        Simplified, all connected components kept.
    """
    if isinstance(place_or_polygon, str):
        return _ox().graph_from_place(place_or_polygon, network_type=network_type, retain_all=True)
    return _ox().graph_from_polygon(place_or_polygon, network_type=network_type, retain_all=True)


__all__ = [
    "GRAPHML_EDGE_DTYPES",
    "OsmEntityError",
    "OsmReadError",
    "OsmRoads",
    "add_drive_speeds",
    "bool_from_text",
    "download_graph",
    "graph_from_roads",
    "load_graphml",
    "nearest_nodes",
    "project_to_lonlat",
    "read_osm_roads",
    "roads_from_overpass",
    "save_graphml",
    "simplify_graph",
    "split_at_missing_nodes",
]
