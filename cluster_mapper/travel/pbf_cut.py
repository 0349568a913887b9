"""Cut a province ``.osm.pbf`` into buffered per-district road networks, streaming.

The province file (hundreds of MB) is never loaded at once: three streaming
passes with pyosmium keep only id sets (``osmium.IdTracker`` bitmaps):

1. nodes: which nodes lie inside each district's buffered polygon;
2. ways with a ``highway`` tag: which ways touch those nodes (kept whole,
   so a road leaving the district and coming back stays connected; their
   ids in a set per district), and every node those ways need;
3. one ``osmium.SimpleWriter`` per district writes its nodes and ways.

The cuts are cached in ``cache_dir / <key>/`` where the key hashes the
province file (size, modification time, first and last MB), the district
polygons and the buffer; a second call with the same inputs returns the
files at once.

Node ids are tracked by absolute value, as libosmium's id sets do (files
edited locally, like the real Abbottabad extract, carry negative ids): a
node ``-5`` next to a node ``5`` may then be written to a district's file
without being needed, which the network reader ignores (it keeps only the
nodes its roads use).

How it plugs in: :func:`cut_by_districts` gives ``{district: path}``;
:func:`cluster_mapper.programme.run.plan_programme` takes it as
``district_networks`` (command line: ``cluster-mapper programme --network
province.osm.pbf --district-polygons districts.geojson``), and each task
then reads only its district's file with the ordinary network reader
(:func:`cluster_mapper.travel.network.load_network`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from cluster_mapper._geo import utm_crs
from cluster_mapper.errors import fail

log = logging.getLogger(__name__)

#: Buffer around each district polygon, metres: roads just outside still carry teachers.
DEFAULT_BUFFER_METRES = 5000.0
_BATCH = 500_000


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "district"


def _file_key(path: Path) -> bytes:
    st = path.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        if st.st_size > 1 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
    return h.digest()


def _add_references(ids: Any, way: Any) -> None:
    """Add a way's nodes to an id set (by absolute value: pyosmium refuses negative ids)."""
    try:
        ids.add_references(way)
    except RuntimeError:
        for ref in way.nodes:
            ids.add_node(abs(ref.ref))


def _contains_any_reference(ids: Any, nodes: Any, way: Any) -> bool:
    """Whether a way uses a node of the tracker ``ids`` (its ``node_ids()`` as ``nodes``; by absolute value, as :func:`_add_references`)."""
    try:
        return bool(ids.contains_any_references(way))
    except RuntimeError:
        return any(nodes.get(abs(ref.ref)) for ref in way.nodes)


def buffered_polygons(districts: gpd.GeoDataFrame, name_column: str, buffer_m: float) -> dict[str, shapely.Geometry]:
    """Each district's polygon grown by ``buffer_m`` metres (in its UTM zone), back in EPSG:4326."""
    gdf = districts.to_crs(4326) if districts.crs is not None else districts.set_crs(4326)
    minx, miny, maxx, maxy = gdf.total_bounds
    utm = utm_crs(np.array([minx, maxx]), np.array([miny, maxy]))
    grown = gdf.to_crs(utm).buffer(buffer_m).to_crs(4326)
    out = {}
    for name, geom in zip(gdf[name_column].astype(str), grown, strict=True):
        shapely.prepare(geom)
        out[name] = geom
    return out


def cut_by_districts(
    pbf: str | Path, districts: gpd.GeoDataFrame, out_dir: str | Path, *, name_column: str = "district", buffer_m: float = DEFAULT_BUFFER_METRES
) -> dict[str, Path]:
    """Per-district ``.osm.pbf`` road networks cut from a province file (cached).

    Parameters
    ----------
    pbf : path
        The province's OpenStreetMap extract (``.osm.pbf``).
    districts : geopandas.GeoDataFrame
        District polygons (any CRS) with a name column.
    out_dir : path
        Cache folder; the cuts go into a sub-folder named by the inputs' hash.
    name_column : str
        Column holding the district names (as in the schools' ``district``).
    buffer_m : float
        Buffer around each polygon, metres.

    Returns
    -------
    dict
        District name to its network file.
    """
    import osmium

    pbf = Path(pbf)
    if not pbf.is_file():
        fail(pbf, "the road network file does not exist.", fix="check the --network path.")
    if name_column not in districts.columns:
        fail(
            "<district polygons>",
            f"the district polygons have no '{name_column}' column.",
            fix=f"name each polygon in a '{name_column}' column, as in the schools file.",
            field=name_column,
        )
    polys = buffered_polygons(districts, name_column, buffer_m)
    h = hashlib.sha256(_file_key(pbf))
    for name in sorted(polys):
        h.update(name.encode() + shapely.to_wkb(polys[name]))
    h.update(str(buffer_m).encode())
    folder = Path(out_dir) / h.hexdigest()[:20]
    paths = {name: folder / f"{_slug(name)}.osm.pbf" for name in polys}
    if all(p.is_file() for p in paths.values()):
        log.info("district networks read from cache %s", folder)
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(polys)
    bounds = {n: polys[n].bounds for n in names}
    inside = {n: osmium.IdTracker() for n in names}
    # 1. nodes inside each buffered polygon, tested in vectorised batches
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []

    def flush() -> None:
        if not ids:
            return
        a, x, y = np.asarray(ids, dtype=np.int64), np.asarray(lons), np.asarray(lats)
        for n in names:
            x0, y0, x1, y1 = bounds[n]
            box = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
            if box.any():
                hit = np.flatnonzero(box)[shapely.contains_xy(polys[n], x[box], y[box])]
                for i in np.abs(a[hit]).tolist():
                    inside[n].add_node(i)
        ids.clear()
        lons.clear()
        lats.clear()

    node: Any
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        if node.location.valid():
            ids.append(node.id)
            lons.append(node.location.lon)
            lats.append(node.location.lat)
            if len(ids) >= _BATCH:
                flush()
    flush()
    # 2. roads touching each district, and every node they need
    inside_nodes = {n: inside[n].node_ids() for n in names}  # fixed from here on: taken once, not per way
    way_sets: dict[str, set[int]] = {n: set() for n in names}
    needed = {n: osmium.IdTracker() for n in names}
    for way in osmium.FileProcessor(str(pbf), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway")):
        for n in names:
            if _contains_any_reference(inside[n], inside_nodes[n], way):
                way_sets[n].add(way.id)
                _add_references(needed[n], way)
    # 3. write each district's file
    node_sets = {n: needed[n].node_ids() for n in names}
    tmp = {n: paths[n].with_suffix(".tmp.pbf") for n in names}
    writers = {}
    for n in names:
        tmp[n].unlink(missing_ok=True)
        writers[n] = osmium.SimpleWriter(str(tmp[n]))
    try:
        obj: Any
        for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node():
                for n in names:
                    if abs(obj.id) in node_sets[n]:
                        writers[n].add_node(obj)
            elif obj.is_way():
                for n in names:
                    if obj.id in way_sets[n]:
                        writers[n].add_way(obj)
    finally:
        for w in writers.values():
            w.close()
    for n in names:
        os.replace(tmp[n], paths[n])
    log.info("cut %s into %d district networks in %s", pbf, len(names), folder)
    return paths


__all__ = ["cut_by_districts", "buffered_polygons", "DEFAULT_BUFFER_METRES"]
