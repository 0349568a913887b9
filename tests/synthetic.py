"""Generated districts: schools, teacher rosters, terrain and roads.

Used for the bundled Mansehra sample, the tests and the scale benchmarks; it
lives with the tests, not in the installed ``cluster_mapper`` package.
Everything here is *generated* and labelled so (a ``generated`` column in the
schools, a ``generated`` graph attribute in the road network); only the
settlement locations and the district polygon of the Mansehra sample are real.

The pieces:

- :class:`SyntheticTerrain` (and :func:`terrain_elevation_metres`): a smooth
  terrain of deep valleys and high ridges, calibrated over a district polygon
  to a target minimum, maximum and mean elevation and mean slope (Mansehra:
  457 m to 5,202 m, mean 2,408 m, mean slope 24 degrees, from Copernicus
  GLO-30). Valleys follow the links between settlements, so settlements sit on
  valley floors, below the district mean; rivers run along the main valleys.
- :func:`make_road_network`: a sparse road and path network linking the
  settlements, subdivided into 200-400 m segments whose nodes carry terrain
  elevation, with rivers crossed only at a few bridges.
- :func:`make_district`, :func:`make_programme`: whole districts and a
  four-district programme of any size, deterministic for a seed.
- :func:`build_mansehra_sample`: the bundled sample in ``data/schools/``, from
  the real OpenStreetMap settlements of Mansehra.

Run ``python -m tests.synthetic`` from the repository root to rebuild the sample.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import Delaunay, cKDTree
from scipy.special import ndtr
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

#: Mansehra terrain from Copernicus GLO-30 (data/pakistan/district_terrain.csv).
MANSEHRA_TERRAIN = {"min_elev_m": 457.0, "max_elev_m": 5202.3, "mean_elev_m": 2408.2, "mean_slope_deg": 24.01}
#: Programme figures from the field study (000): shares of teachers.
FEMALE_SHARE = 0.48
LEVEL_SHARES = {"primary": 0.73, "middle": 0.18, "high": 0.10}
#: Districts of the field study and rough centres (lon, lat).
PROGRAMME_DISTRICTS = {
    "Mansehra": (73.20, 34.45),
    "Bagh": (73.77, 33.98),
    "Muzaffarabad": (73.47, 34.37),
    "Poonch": (73.76, 33.86),
}
SCHOOL_COLUMNS = ["school_id", "name", "district", "latitude", "longitude", "gender", "can_host", "generated"]
TEACHER_COLUMNS = ["teacher_id", "school_id", "gender", "level", "subject", "role"]

_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON_EQ = 111.320


def repo_root() -> Path:
    """The repository root (the folder holding ``data/``, ``tests/`` and ``cluster_mapper/``)."""
    return Path(__file__).resolve().parent.parent


def default_pakistan_dir() -> Path:
    """``repo_root/data/pakistan``: the real data the Mansehra sample is built from."""
    return repo_root() / "data" / "pakistan"


# --------------------------------------------------------------------------
# local planar frame


@dataclass(frozen=True)
class LocalFrame:
    """An equirectangular frame in kilometres around an origin (lon, lat).

    Accurate to well under 1 % over a district (about 150 km), which is all
    the generator needs.
    """

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return _KM_PER_DEG_LON_EQ * math.cos(math.radians(self.lat0))

    def to_km(self, lon, lat):
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * _KM_PER_DEG_LAT

    def to_lonlat(self, x_km, y_km):
        x_km = np.asarray(x_km, dtype=float)
        y_km = np.asarray(y_km, dtype=float)
        return self.lon0 + x_km / self.kx, self.lat0 + y_km / _KM_PER_DEG_LAT

    def geom_to_km(self, geom: BaseGeometry) -> BaseGeometry:
        import shapely

        return shapely.transform(geom, lambda c: np.column_stack(self.to_km(c[:, 0], c[:, 1])))

    def geom_to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        import shapely

        return shapely.transform(geom, lambda c: np.column_stack(self.to_lonlat(c[:, 0], c[:, 1])))


def _great_circle_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (same formula as osmnx)."""
    r = 6_371_009.0
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


# --------------------------------------------------------------------------
# terrain


def _mst_edges(xy: np.ndarray) -> list[tuple[int, int]]:
    """Euclidean minimum spanning tree of points (via Delaunay)."""
    n = len(xy)
    if n < 2:
        return []
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for i, j in _delaunay_edges(xy):
        g.add_edge(i, j, weight=float(np.hypot(*(xy[i] - xy[j]))))
    return [tuple(sorted(e)) for e in nx.minimum_spanning_edges(g, data=False)]


def _delaunay_edges(xy: np.ndarray) -> set[tuple[int, int]]:
    n = len(xy)
    if n < 2:
        return set()
    if n == 2:
        return {(0, 1)}
    try:
        tri = Delaunay(xy)
    except Exception:  # noqa: BLE001 - collinear points (scipy's QhullError or others)
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        return {tuple(sorted((int(a), int(b)))) for a, b in itertools.pairwise(order)}
    edges = set()
    for s in tri.simplices:
        for a, b in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2])):
            edges.add((int(min(a, b)), int(max(a, b))))
    return edges


def _densify(lines: list[np.ndarray], step_km: float) -> np.ndarray:
    pts = []
    for line in lines:
        for a, b in itertools.pairwise(line):
            n = max(1, math.ceil(np.hypot(*(b - a)) / step_km))
            t = np.linspace(0, 1, n + 1)[:, None]
            pts.append(a + (b - a) * t)
    return np.vstack(pts) if pts else np.zeros((0, 2))


def _chaikin(line: np.ndarray, iterations: int = 3) -> np.ndarray:
    for _ in range(iterations):
        if len(line) < 3:
            return line
        q = 0.75 * line[:-1] + 0.25 * line[1:]
        r = 0.25 * line[:-1] + 0.75 * line[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        line = np.vstack([line[:1], mid, line[-1:]])
    return line


@dataclass
class SyntheticTerrain:
    """A smooth synthetic terrain in a local frame, calibrated to a district.

    Elevation is a monotone transform of a raw field made of (1) a regional
    trend rising along ``axis`` (low valleys at one end of the district, high
    mountains at the other), (2) random ridges (a sum of sinusoids of 3-40 km
    wavelength) and (3) valleys carved along ``valley_lines`` (the links
    between settlements and the rivers), whose floors rise with the trend.
    Use :meth:`elevation_metres`; build one with :func:`make_terrain`.
    """

    frame: LocalFrame
    seed: int
    axis: tuple[float, float]
    axis_range_km: tuple[float, float]
    wave_k: np.ndarray  # (n, 2) radians per km
    wave_phase: np.ndarray
    wave_amp: np.ndarray
    valley_points_km: np.ndarray
    rivers_km: list[np.ndarray] = field(default_factory=list)
    trend_weight: float = 0.45
    valley_depth: float = 0.85
    valley_width_km: float = 1.3
    raw_lo: float = 0.0
    raw_hi: float = 1.0
    exponent: float = 1.0
    min_m: float = MANSEHRA_TERRAIN["min_elev_m"]
    max_m: float = MANSEHRA_TERRAIN["max_elev_m"]
    roughness: float = 1.0

    def __post_init__(self) -> None:
        self._tree = cKDTree(self.valley_points_km) if len(self.valley_points_km) else None

    def _raw(self, x_km: np.ndarray, y_km: np.ndarray) -> np.ndarray:
        x = np.asarray(x_km, dtype=float)
        y = np.asarray(y_km, dtype=float)
        shape = np.broadcast(x, y).shape
        x, y = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
        k = self.wave_k * self.roughness
        z = np.zeros_like(x)
        for (kx, ky), ph, a in zip(k, self.wave_phase, self.wave_amp):
            z += a * np.sin(kx * x + ky * y + ph)
        z /= math.sqrt(float(np.sum(self.wave_amp**2)) / 2)
        noise = ndtr(z)
        lo, hi = self.axis_range_km
        t = np.clip(((x * self.axis[0] + y * self.axis[1]) - lo) / (hi - lo), 0.0, 1.0)
        r = self.trend_weight * t + (1 - self.trend_weight) * noise
        if self._tree is not None:
            d, _ = self._tree.query(np.column_stack([x, y]), k=1)
            v = np.exp(-((d / self.valley_width_km) ** 2))
            floor = 0.08 + 0.45 * t
            r = r - self.valley_depth * v * np.maximum(r - floor, 0.0)
        return r.reshape(shape)

    def _to_metres(self, raw: np.ndarray) -> np.ndarray:
        s = np.clip((raw - self.raw_lo) / (self.raw_hi - self.raw_lo), 0.0, 1.0)
        return self.min_m + (self.max_m - self.min_m) * s**self.exponent

    def elevation_km_frame(self, x_km, y_km) -> np.ndarray:
        """Elevation in metres at local-frame coordinates (km)."""
        return self._to_metres(self._raw(x_km, y_km))

    def elevation_metres(self, lon, lat) -> np.ndarray:
        """Elevation in metres at WGS84 longitude/latitude (arrays or scalars).

        Always within ``[min_m, max_m]``.
        """
        x, y = self.frame.to_km(lon, lat)
        out = self.elevation_km_frame(x, y)
        return out if np.ndim(out) else float(out)

    def mean_slope_degrees(self, x_km: np.ndarray, y_km: np.ndarray, step_km: float = 0.1) -> float:
        """Mean terrain slope in degrees at the given local points (central differences)."""
        h = step_km
        dzdx = (self.elevation_km_frame(x_km + h, y_km) - self.elevation_km_frame(x_km - h, y_km)) / (2000 * h)
        dzdy = (self.elevation_km_frame(x_km, y_km + h) - self.elevation_km_frame(x_km, y_km - h)) / (2000 * h)
        return float(np.degrees(np.arctan(np.hypot(dzdx, dzdy))).mean())

    @property
    def rivers_lonlat(self) -> list[LineString]:
        """The rivers as WGS84 LineStrings."""
        return [LineString(np.round(np.column_stack(self.frame.to_lonlat(r[:, 0], r[:, 1])), 6)) for r in self.rivers_km]


def _sample_in_polygon(poly_km: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    import shapely

    minx, miny, maxx, maxy = poly_km.bounds
    out = []
    got = 0
    while got < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        keep = cand[shapely.contains_xy(poly_km, cand[:, 0], cand[:, 1])]
        out.append(keep)
        got += len(keep)
    return np.vstack(out)[:n]


def _rivers_from_tree(xy: np.ndarray, tree_edges: list[tuple[int, int]], n_rivers: int, rng: np.random.Generator, min_len_km: float = 8.0) -> list[np.ndarray]:
    """Rivers along the main valleys: the longest paths of the settlements' tree.

    The first river is the tree's longest path (the main valley, running
    through the district); the next ones are the longest side branches.
    Paths are simplified, smoothed, nudged off the settlements and extended a
    few kilometres beyond their ends.
    """
    g = nx.Graph()
    for i, j in tree_edges:
        g.add_edge(i, j, weight=float(np.hypot(*(xy[i] - xy[j]))))
    rivers = []
    used: set[int] = set()
    for _ in range(n_rivers):
        if g.number_of_edges() == 0:
            break
        # longest path in the remaining forest: double sweep per component
        best = None
        for comp in nx.connected_components(g):
            if len(comp) < 2:
                continue
            sub = g.subgraph(comp)
            start = next(iter(comp))
            d = nx.single_source_dijkstra_path_length(sub, start)
            a = max(d, key=d.get)
            d2, paths = nx.single_source_dijkstra(sub, a)
            b = max(d2, key=d2.get)
            if best is None or d2[b] > best[0]:
                best = (d2[b], paths[b])
        if best is None or best[0] < min_len_km:
            break
        path = best[1]
        line = LineString(xy[path]).simplify(1.5)
        pts = np.asarray(line.coords)
        # extend both ends by 6 km in the direction of the last segment
        for end in (0, -1):
            nb = pts[1] if end == 0 else pts[-2]
            d = pts[end] - nb
            nrm = np.hypot(*d)
            if nrm > 0:
                ext = pts[end] + d / nrm * 6.0
                pts = np.vstack([ext, pts]) if end == 0 else np.vstack([pts, ext])
        pts = _chaikin(pts, 3)
        # nudge the river off any settlement it passes within 150 m of
        tree = cKDTree(xy)
        for k in range(len(pts)):
            dist, idx = tree.query(pts[k])
            if dist < 0.15:
                v = pts[k] - xy[idx]
                nv = np.hypot(*v)
                v = v / nv if nv > 1e-9 else np.array([1.0, 0.0])
                pts[k] = xy[idx] + v * 0.15
        rivers.append(pts)
        used.update(path)
        g.remove_nodes_from(path)
    return rivers


def make_terrain(
    polygon_lonlat: Polygon,
    seed: int,
    settlements_lonlat: np.ndarray | None = None,
    *,
    min_elev_m: float = MANSEHRA_TERRAIN["min_elev_m"],
    max_elev_m: float = MANSEHRA_TERRAIN["max_elev_m"],
    mean_elev_m: float = MANSEHRA_TERRAIN["mean_elev_m"],
    mean_slope_deg: float = MANSEHRA_TERRAIN["mean_slope_deg"],
    n_rivers: int = 2,
    rising_towards_lonlat: tuple[float, float] | None = None,
) -> SyntheticTerrain:
    """Build and calibrate a synthetic terrain over a district polygon.

    Parameters
    ----------
    polygon_lonlat : shapely Polygon
        The district, WGS84.
    seed : int
        Random seed (ridges).
    settlements_lonlat : (n, 2) array, optional
        Settlement positions (lon, lat); valleys are carved along the minimum
        spanning tree linking them, so they sit on valley floors, and rivers
        follow its longest paths.
    min_elev_m, max_elev_m, mean_elev_m, mean_slope_deg : float
        Calibration targets over the polygon (defaults: Mansehra, GLO-30).
    n_rivers : int
        How many rivers to draw along the main valleys.
    rising_towards_lonlat : (lon, lat), optional
        Where the mountains are highest; default: the end of the polygon's
        long axis farthest from the settlements.

    Returns
    -------
    SyntheticTerrain
    """
    rng = np.random.default_rng([seed, 7001])
    c = polygon_lonlat.centroid
    frame = LocalFrame(round(c.x, 4), round(c.y, 4))
    poly_km = frame.geom_to_km(polygon_lonlat)
    # long axis of the polygon (principal component of its boundary)
    ring = np.asarray(poly_km.exterior.coords)
    ring = ring - ring.mean(axis=0)
    _, _, vt = np.linalg.svd(ring, full_matrices=False)
    axis = vt[0] / np.linalg.norm(vt[0])
    if settlements_lonlat is not None and len(settlements_lonlat):
        sx, sy = frame.to_km(settlements_lonlat[:, 0], settlements_lonlat[:, 1])
        sxy = np.column_stack([sx, sy])
    else:
        sxy = np.zeros((0, 2))
    if rising_towards_lonlat is not None:
        tx, ty = frame.to_km(*rising_towards_lonlat)
        if np.dot(axis, [tx, ty]) < 0:
            axis = -axis
    elif len(sxy) and np.dot(sxy.mean(axis=0), axis) > 0:
        axis = -axis  # mountains rise away from where most people live
    proj = ring @ axis
    axis_range = (float(proj.min()), float(proj.max()))

    n_waves = 48
    lam = np.exp(rng.uniform(np.log(3.0), np.log(40.0), n_waves))
    theta = rng.uniform(0, np.pi, n_waves)
    k = (2 * np.pi / lam)[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    amp = lam**0.8
    phase = rng.uniform(0, 2 * np.pi, n_waves)

    tree_edges = _mst_edges(sxy) if len(sxy) >= 2 else []
    rivers = _rivers_from_tree(sxy, tree_edges, n_rivers, rng) if tree_edges else []
    valley_lines = [sxy[[i, j]] for i, j in tree_edges] + rivers
    valley_pts = _densify(valley_lines, 0.1) if valley_lines else np.zeros((0, 2))

    terrain = SyntheticTerrain(
        frame=frame,
        seed=seed,
        axis=(float(axis[0]), float(axis[1])),
        axis_range_km=axis_range,
        wave_k=k,
        wave_phase=phase,
        wave_amp=amp,
        valley_points_km=valley_pts,
        rivers_km=rivers,
        min_m=min_elev_m,
        max_m=max_elev_m,
    )
    samples = _sample_in_polygon(poly_km, 6000, np.random.default_rng([seed, 7002]))
    # calibrate: roughness (slope), then range and exponent (mean), repeat
    for _ in range(4):
        raw = terrain._raw(samples[:, 0], samples[:, 1])
        terrain.raw_lo, terrain.raw_hi = float(raw.min()), float(raw.max())
        s = np.clip((raw - terrain.raw_lo) / (terrain.raw_hi - terrain.raw_lo), 0, 1)
        target = (mean_elev_m - min_elev_m) / (max_elev_m - min_elev_m)
        lo_p, hi_p = 0.2, 6.0
        for _ in range(50):
            p = 0.5 * (lo_p + hi_p)
            if np.mean(s**p) > target:
                lo_p = p
            else:
                hi_p = p
        terrain.exponent = 0.5 * (lo_p + hi_p)
        slope = terrain.mean_slope_degrees(samples[:2000, 0], samples[:2000, 1])
        terrain.roughness *= math.tan(math.radians(mean_slope_deg)) / math.tan(math.radians(slope))
    raw = terrain._raw(samples[:, 0], samples[:, 1])
    terrain.raw_lo, terrain.raw_hi = float(raw.min()), float(raw.max())
    return terrain


_DEFAULT_TERRAINS: dict[int, SyntheticTerrain] = {}


def terrain_elevation_metres(lon, lat, seed: int = 2026, terrain: SyntheticTerrain | None = None):
    """Synthetic elevation in metres at WGS84 lon/lat.

    Parameters
    ----------
    lon, lat : float or array
        WGS84 degrees.
    seed : int
        Seed of the default terrain (the Mansehra sample's terrain, built
        from the repository's Mansehra polygon and settlements) when
        ``terrain`` is not given.
    terrain : SyntheticTerrain, optional
        The terrain to sample (for example ``district.terrain``).

    Returns
    -------
    float or numpy.ndarray
        Elevation, metres; over Mansehra from about 457 to 5,202 m, mean
        about 2,400 m, mean slope about 24 degrees.
    """
    if terrain is None:
        if seed not in _DEFAULT_TERRAINS:
            settlements, polygon = load_mansehra_data()
            pts = np.column_stack([settlements.geometry.x, settlements.geometry.y])
            _DEFAULT_TERRAINS[seed] = make_terrain(polygon, seed, pts)
        terrain = _DEFAULT_TERRAINS[seed]
    return terrain.elevation_metres(lon, lat)


# --------------------------------------------------------------------------
# roads


def _segments_cross(poly: np.ndarray, river_geoms: list[LineString]) -> list[int]:
    """Indices of the segments of a polyline that intersect any river."""
    out = []
    for k, (a, b) in enumerate(itertools.pairwise(poly)):
        seg = LineString([a, b])
        if any(seg.intersects(r) for r in river_geoms):
            out.append(k)
    return out


def make_road_network(
    points_lonlat: np.ndarray,
    polygon: Polygon | None,
    seed: int,
    *,
    terrain: SyntheticTerrain | None = None,
    rivers_lonlat: list[LineString] | None = None,
    segment_m: float = 300.0,
    extra_link_km: float = 7.0,
    extra_link_share: float = 0.55,
    bridge_spacing_km: float = 12.0,
    max_grade: float = 0.6,
    names: list[str] | None = None,
) -> nx.MultiDiGraph:
    """A sparse synthetic road and path network linking settlements.

    The links are the settlements' minimum spanning tree (valley roads, whose
    most used links become ``secondary`` and ``tertiary`` roads, the rest
    ``unclassified``) plus a share of the other short Delaunay links (``track``
    where gentle, ``path`` where steep). Each link is drawn as a gently
    winding line cut into segments of ``segment_m`` (200-400 m) whose nodes
    carry the terrain elevation. A link that crosses a river is kept only as
    a bridge: enough bridges to keep the network connected, plus about one
    per ``bridge_spacing_km`` of river; the rest are removed (a river without
    a bridge is a wall).

    Parameters
    ----------
    points_lonlat : (n, 2) array
        Settlement positions (lon, lat), WGS84; they become nodes ``0..n-1``.
    polygon : shapely Polygon or None
        The district (WGS84); links whose middle lies more than 3 km outside
        it are dropped unless needed for connectivity.
    seed : int
        Random seed.
    terrain : SyntheticTerrain, optional
        Elevation source; default a terrain built for ``polygon``.
    rivers_lonlat : list of LineString, optional
        Rivers; default ``terrain.rivers_lonlat``.
    segment_m : float
        Target segment length in metres.
    extra_link_km : float
        Longest non-tree link, km.
    extra_link_share : float
        Share of the candidate non-tree links kept.
    bridge_spacing_km : float
        About one extra bridge per this length of river.
    max_grade : float
        Non-tree links with a segment steeper than this (rise/run) are
        dropped: nobody walks straight up a ridge.
    names : list of str, optional
        Settlement names, used to name roads.

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-compatible: graph attributes ``crs`` = "EPSG:4326" and
        ``generated`` = "true"; nodes with ``x``, ``y``, ``elevation``;
        edges both ways with ``length`` (m), ``highway``, ``oneway`` False,
        ``bridge`` = "yes" on segments crossing a river, ``name`` on roads.
    """
    rng = np.random.default_rng([seed, 8001])
    pts = np.asarray(points_lonlat, dtype=float)
    if terrain is None:
        if polygon is None:
            from shapely.geometry import MultiPoint

            polygon = MultiPoint([tuple(p) for p in pts]).convex_hull.buffer(0.03)
        terrain = make_terrain(polygon, seed, pts)
    frame = terrain.frame
    rivers_ll = terrain.rivers_lonlat if rivers_lonlat is None else list(rivers_lonlat)
    rivers_km = [frame.geom_to_km(r) for r in rivers_ll]  # for positions along rivers
    x, y = frame.to_km(pts[:, 0], pts[:, 1])
    xy = np.column_stack([x, y])
    n = len(xy)
    poly_km = frame.geom_to_km(polygon).buffer(3.0) if polygon is not None else None

    # candidate links
    tree = set(_mst_edges(xy))
    delaunay = _delaunay_edges(xy)
    links: dict[tuple[int, int], str] = {e: "tree" for e in tree}
    extra = sorted(e for e in delaunay - tree if np.hypot(*(xy[e[0]] - xy[e[1]])) <= extra_link_km)
    for e in extra:
        if rng.random() < extra_link_share:
            links[e] = "extra"
    if poly_km is not None:
        for e in list(links):
            if links[e] == "extra" and not poly_km.contains(Point((xy[e[0]] + xy[e[1]]) / 2)):
                del links[e]

    # geometry of each link: a gently winding polyline, rounded lon/lat as stored
    seg_km = segment_m / 1000.0
    geoms: dict[tuple[int, int], np.ndarray] = {}  # lon/lat, rounded to 1e-6
    elevs: dict[tuple[int, int], np.ndarray] = {}
    ll_settle = np.round(np.column_stack(frame.to_lonlat(xy[:, 0], xy[:, 1])), 6)
    for e in sorted(links):
        a, b = xy[e[0]], xy[e[1]]
        d = b - a
        length = float(np.hypot(*d))
        nseg = max(1, math.ceil(length * 1.08 / seg_km))
        t = np.linspace(0, 1, nseg + 1)
        normal = np.array([-d[1], d[0]]) / max(length, 1e-9)
        amp = min(0.25, 0.06 * length) * rng.uniform(-1, 1)
        waves = rng.integers(1, 4)
        offset = amp * np.sin(np.pi * waves * t)
        g_km = a[None, :] + t[:, None] * d[None, :] + offset[:, None] * normal[None, :]
        g = np.round(np.column_stack(frame.to_lonlat(g_km[:, 0], g_km[:, 1])), 6)
        g[0], g[-1] = ll_settle[e[0]], ll_settle[e[1]]
        geoms[e] = g
        elevs[e] = np.round(terrain.elevation_km_frame(g_km[:, 0], g_km[:, 1]), 1)
    # steep shortcuts over ridges are not walked: drop non-tree links with a
    # segment steeper than max_grade
    for e in list(links):
        if links[e] == "extra":
            g = geoms[e]
            seg_len = _great_circle_m(g[:-1, 0], g[:-1, 1], g[1:, 0], g[1:, 1])
            if np.max(np.abs(np.diff(elevs[e])) / np.maximum(seg_len, 1.0)) > max_grade:
                del links[e], geoms[e], elevs[e]

    # river crossings: keep enough bridges for connectivity, plus a few more
    crossing = {e: _segments_cross(g, rivers_ll) for e, g in geoms.items()} if rivers_ll else {}
    crossing = {e: c for e, c in crossing.items() if c}
    base = nx.Graph()
    base.add_nodes_from(range(n))
    base.add_edges_from(e for e in links if e not in crossing)
    comp_of = {}
    for ci, comp in enumerate(nx.connected_components(base)):
        for v in comp:
            comp_of[v] = ci
    bridges: set[tuple[int, int]] = set()
    uf = {c: c for c in set(comp_of.values())}

    def find(c):
        while uf[c] != c:
            uf[c] = uf[uf[c]]
            c = uf[c]
        return c

    # Kruskal over the components, shortest crossing links first
    by_len = sorted(crossing, key=lambda e: (np.hypot(*(xy[e[0]] - xy[e[1]])), e))
    for e in by_len:
        ca, cb = find(comp_of[e[0]]), find(comp_of[e[1]])
        if ca != cb:
            uf[ca] = cb
            bridges.add(e)

    def river_pos(e, r_ll, r_km):
        p = LineString(geoms[e]).intersection(r_ll).representative_point()
        px, py = frame.to_km(p.x, p.y)
        return r_km.project(Point(float(px), float(py)))

    # extra bridges spaced along each river
    for r_ll, r_km in zip(rivers_ll, rivers_km):
        n_extra = int(r_km.length // bridge_spacing_km)
        if n_extra == 0:
            continue
        on_r = [e for e in by_len if LineString(geoms[e]).intersects(r_ll)]
        have = [river_pos(e, r_ll, r_km) for e in on_r if e in bridges]
        for e in on_r:
            if n_extra <= 0:
                break
            if e in bridges:
                continue
            pos = river_pos(e, r_ll, r_km)
            if all(abs(pos - h) > bridge_spacing_km * 0.6 for h in have):
                bridges.add(e)
                have.append(pos)
                n_extra -= 1
    for e in crossing:
        if e not in bridges:
            del links[e], geoms[e], elevs[e]

    # road classes: the most used tree links are the main roads
    tg = nx.Graph()
    tg.add_nodes_from(range(n))
    for e, kind in links.items():
        if kind == "tree":
            tg.add_edge(*e, weight=float(np.hypot(*(xy[e[0]] - xy[e[1]]))))
    use = nx.edge_betweenness_centrality(tg, normalized=True, weight="weight") if tg.number_of_edges() else {}
    use = {tuple(sorted(k)): v for k, v in use.items()}
    ranked = sorted(use, key=lambda e: (-use[e], e))
    cls: dict[tuple[int, int], str] = {}
    for i, e in enumerate(ranked):
        frac = i / max(1, len(ranked))
        cls[e] = "secondary" if frac < 0.12 else "tertiary" if frac < 0.4 else "unclassified"

    # build the graph
    G = nx.MultiDiGraph()
    G.graph.update({"crs": "EPSG:4326", "generated": "true", "created_with": "tests.synthetic", "seed": str(seed)})
    if rivers_ll:
        G.graph["rivers_wkt"] = MultiLineString([list(r.coords) for r in rivers_ll]).wkt
    settle_elev = np.round(terrain.elevation_km_frame(xy[:, 0], xy[:, 1]), 1)
    for i in range(n):
        G.add_node(i, x=float(ll_settle[i, 0]), y=float(ll_settle[i, 1]), elevation=float(settle_elev[i]))
    next_id = n
    for e in sorted(geoms):
        g, elev = geoms[e], elevs[e].copy()
        elev[0], elev[-1] = settle_elev[e[0]], settle_elev[e[1]]
        ids = [e[0]]
        for k in range(1, len(g) - 1):
            G.add_node(next_id, x=float(g[k, 0]), y=float(g[k, 1]), elevation=float(elev[k]))
            ids.append(next_id)
            next_id += 1
        ids.append(e[1])
        seg_len = _great_circle_m(g[:-1, 0], g[:-1, 1], g[1:, 0], g[1:, 1])
        if links[e] == "tree":
            hw = cls.get(e, "unclassified")
        else:
            grade = np.abs(np.diff(elev)) / np.maximum(seg_len, 1.0)
            hw = "track" if grade.mean() < 0.12 else "path"
        name = f"{names[e[0]]}-{names[e[1]]} Road" if hw in ("secondary", "tertiary") and names is not None else None
        cross = set(crossing.get(e, []))
        for k in range(len(ids) - 1):
            attrs = {"length": round(float(seg_len[k]), 1), "highway": hw, "oneway": False}
            if name:
                attrs["name"] = name
            if k in cross:
                attrs["bridge"] = "yes"
            u, v = ids[k], ids[k + 1]
            G.add_edge(u, v, reversed=False, **attrs)
            G.add_edge(v, u, reversed=True, **attrs)
    return G


def edges_crossing_rivers(G: nx.MultiDiGraph, rivers_lonlat: list[LineString]) -> list[tuple[int, int, int]]:
    """Edges (u, v, key) whose straight segment crosses one of the rivers."""
    out = []
    if not rivers_lonlat:
        return out
    from shapely import STRtree

    rivers = list(rivers_lonlat)
    tree = STRtree(rivers)
    for u, v, k in G.edges(keys=True):
        seg = LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
        if any(seg.intersects(rivers[i]) for i in tree.query(seg)):
            out.append((u, v, k))
    return out


# --------------------------------------------------------------------------
# schools and teachers

_SYL_A = [
    "Bal",
    "Shin",
    "Gar",
    "Ban",
    "Dhe",
    "Khan",
    "Jab",
    "Pai",
    "Sha",
    "Chat",
    "Naw",
    "Bat",
    "Kar",
    "Sar",
    "Man",
    "Dod",
    "Gul",
    "Haz",
    "Ing",
    "Jar",
    "Kun",
    "Lach",
    "Maj",
    "Nak",
    "Phag",
    "Rash",
    "Sum",
    "Tar",
    "Ughi",
    "Zar",
    "Beh",
    "Chak",
    "Dar",
    "Ghaz",
    "Hil",
    "Kot",
    "Lam",
    "Mir",
    "Par",
    "Sang",
    "Tan",
    "Wal",
    "Baf",
    "Jag",
    "Kam",
    "Sac",
    "Sir",
    "Tal",
]
_SYL_B = ["", "a", "i", "o", "an", "ar", "al", "ra", "ri"]
_SYL_C = [
    "kot",
    "gali",
    "dara",
    "pur",
    "bandi",
    "abad",
    "ial",
    "gran",
    "nar",
    "seri",
    "dhak",
    "wal",
    "kund",
    "bela",
    "nala",
    "koh",
    "mang",
    "dor",
    "sar",
    "jat",
    "ot",
    "ai",
    "har",
    "chh",
]


def generated_place_names(n: int, seed: int) -> list[str]:
    """``n`` distinct made-up place names in the style of Hazara villages."""
    rng = np.random.default_rng([seed, 9001])
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        name = (rng.choice(_SYL_A) + rng.choice(_SYL_B) + rng.choice(_SYL_C)).capitalize()
        if rng.random() < 0.12:
            name += " " + rng.choice(["Bala", "Payeen", "Khurd", "Kalan", "Maira", "Dheri"])
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


@dataclass
class _Settlement:
    idx: int
    lon: float
    lat: float
    population: float
    remoteness: float  # 0 central .. 1 remote
    centrality: float  # 0 hamlet .. 1 town
    name: str


def _settlement_table(lonlat: np.ndarray, population: np.ndarray, names: list[str]) -> list[_Settlement]:
    frame = LocalFrame(float(lonlat[:, 0].mean()), float(lonlat[:, 1].mean()))
    x, y = frame.to_km(lonlat[:, 0], lonlat[:, 1])
    xy = np.column_stack([x, y])
    tree = cKDTree(xy)
    density = np.array([len(tree.query_ball_point(p, 4.0)) - 1 for p in xy], dtype=float)
    towns = np.flatnonzero(population >= 2000)
    if len(towns):
        dist_town = cKDTree(xy[towns]).query(xy)[0]
    else:
        dist_town = np.hypot(*(xy - np.median(xy, axis=0)).T)
    dens_n = density / max(1.0, np.percentile(density, 90))
    remoteness = np.clip(0.6 * np.clip(dist_town / 30.0, 0, 1) + 0.4 * (1 - np.clip(dens_n, 0, 1)), 0, 1)
    centrality = np.clip(0.5 * np.clip(dens_n, 0, 1) + 0.5 * np.clip(np.log10(population / 300.0) / 1.5, 0, 1), 0, 1)
    return [
        _Settlement(i, float(lonlat[i, 0]), float(lonlat[i, 1]), float(population[i]), float(remoteness[i]), float(centrality[i]), names[i])
        for i in range(len(lonlat))
    ]


_PREFIX = {"primary": "GPS", "middle": "GMS", "high": "GHS"}


def _plan_schools(settlements: list[_Settlement], rng: np.random.Generator) -> list[dict]:
    """Which schools each settlement has: level and gender.

    Every village has a boys' primary and usually a girls' primary (less
    often in remote places, where a mixed school may serve both); towns have
    several schools of every level. Middle and high schools go to central,
    larger villages: their number is the expected number (sum of the
    per-village chances), their places drawn in proportion to the chances,
    so that the level mix varies little between seeds.
    """
    kinds: dict[int, list[tuple[str, str]]] = {}
    weights = {("middle", "boys"): [], ("middle", "girls"): [], ("high", "boys"): [], ("high", "girls"): []}
    villages = []
    for s in settlements:
        town = s.population >= 2000
        big = s.population >= 450 or s.centrality > 0.6
        p_girls = float(np.clip(0.98 - 0.55 * s.remoteness, 0.2, 0.97))
        k: list[tuple[str, str]] = []
        if town:
            n_pr = max(2, int(round(s.population / 2500)))  # noqa: RUF046 - NumPy 1.x round() gives a float
            k += [("primary", "boys")] * n_pr + [("primary", "girls")] * n_pr
            k += [("middle", "boys")] * 3 + [("middle", "girls")] * 3 + [("high", "boys")] * 3 + [("high", "girls")] * 2
        else:
            k.append(("primary", "boys"))
            if rng.random() < p_girls:
                k.append(("primary", "girls"))
            elif rng.random() < 0.45:
                k[0] = ("primary", "mixed")
            if big and rng.random() < 0.4:
                k.append(("primary", "girls" if rng.random() < p_girls else "boys"))
            p_mid = 0.06 + 0.22 * s.centrality + (0.1 if big else 0.0)
            p_high = 0.035 + 0.24 * s.centrality + (0.16 if big else 0.0)
            villages.append(s.idx)
            weights[("middle", "boys")].append(p_mid)
            weights[("middle", "girls")].append(p_mid * p_girls * 0.8)
            weights[("high", "boys")].append(p_high)
            weights[("high", "girls")].append(p_high * p_girls * 0.6)
        kinds[s.idx] = k
    if villages:
        for kind, w in weights.items():
            w = np.asarray(w)
            n_pick = min(len(w), int(np.floor(w.sum() + rng.random())))
            if n_pick:
                for i in rng.choice(len(w), n_pick, replace=False, p=w / w.sum()):
                    kinds[villages[i]].append(kind)
    plans = []
    for s in settlements:
        for level, gender in kinds[s.idx]:
            plans.append({"settlement": s, "level": level, "gender": gender})
    return plans


def _school_staff(level: str, gender: str, rng: np.random.Generator, scale: float) -> list[tuple[str, str]]:
    """(teacher gender, level) of each teacher of one school; the first is the head."""
    if level == "primary":
        g_scale = {"girls": 1.2, "boys": 0.88, "mixed": 1.0}[gender]
        n = int(np.clip(round(rng.gamma(3.0, 1.55) * scale * g_scale), 1, 8))
        levels = ["primary"] * n
    elif level == "middle":
        n = int(np.clip(round(rng.normal(8, 2.0) * scale), 5, 12))
        n_pr = round(n * rng.uniform(0.25, 0.45))
        levels = ["middle"] * (n - n_pr) + ["primary"] * n_pr
    else:
        # at most 13 with the head teacher: a school's middle/high teachers
        # must fit in one cluster of 12
        n = int(np.clip(round(rng.normal(11, 1.8) * scale), 8, 13))
        n_mid = round(n * rng.uniform(0.3, 0.45))
        levels = ["high"] * (n - n_mid) + ["middle"] * n_mid
    if gender == "girls":
        genders = ["female"] * n
    elif gender == "boys":
        genders = ["male"] * n
    else:  # mixed school: mostly women teach young children; a few mixed staffs
        r = rng.random()
        if r < 0.7:
            genders = ["female"] * n
        elif r < 0.85:
            genders = ["male"] * n
        else:
            genders = [("female" if rng.random() < 0.6 else "male") for _ in range(n)]
    return list(zip(genders, levels))


def _subject(level: str, rng: np.random.Generator) -> str:
    if level == "primary":
        return str(rng.choice(["general", "general", "general", "math", "english", "urdu", "science"]))
    return str(rng.choice(["math", "science", "english", "urdu", "math", "science", "english", "general"]))


def _build_schools_and_teachers(
    settlements: list[_Settlement],
    district: str,
    id_prefix: str,
    rng: np.random.Generator,
    staff_scale: float = 1.0,
    jitter_m: float = 250.0,
    n_schools: int | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    plans = _plan_schools(settlements, rng)
    if n_schools is not None:
        if len(plans) > n_schools:
            keep = np.sort(rng.choice(len(plans), n_schools, replace=False))
            plans = [plans[i] for i in keep]
        while len(plans) < n_schools:
            s = settlements[int(rng.integers(len(settlements)))]
            plans.append({"settlement": s, "level": "primary", "gender": "girls" if rng.random() < 0.5 else "boys"})
    school_rows, teacher_rows = [], []
    name_count: dict[str, int] = {}
    t_no = 0
    for k, p in enumerate(plans):
        s: _Settlement = p["settlement"]
        frame = LocalFrame(s.lon, s.lat)
        ang = rng.uniform(0, 2 * np.pi)
        rad = (jitter_m / 1000.0) * math.sqrt(rng.uniform(0.05, 1.0))
        lon, lat = frame.to_lonlat(rad * math.cos(ang), rad * math.sin(ang))
        base = f"{_PREFIX[p['level']]} {s.name}"
        key = f"{base}|{p['gender']}"
        name_count[key] = name_count.get(key, 0) + 1
        suffix = f" No. {name_count[key]}" if name_count[key] > 1 else ""
        name = f"{base}{suffix} ({p['gender'].capitalize()})"
        sid = f"{id_prefix}-S{k + 1:05d}"
        staff = _school_staff(p["level"], p["gender"], rng, staff_scale)
        has_head = len(staff) >= 3 or p["level"] != "primary" or rng.random() < 0.5
        can_host = len(staff) >= 3 or rng.random() < 0.6
        school_rows.append(
            {
                "school_id": sid,
                "name": name,
                "district": district,
                "latitude": round(float(lat), 6),
                "longitude": round(float(lon), 6),
                "gender": p["gender"],
                "can_host": bool(can_host),
                "generated": True,
            }
        )
        for j, (g, lvl) in enumerate(staff):
            t_no += 1
            head = has_head and j == 0
            teacher_rows.append(
                {
                    "teacher_id": f"{id_prefix}-T{t_no:06d}",
                    "school_id": sid,
                    "gender": g,
                    "level": lvl,
                    "subject": "" if head else _subject(lvl, rng),
                    "role": "head_teacher" if head else "teacher",
                }
            )
    schools = pd.DataFrame(school_rows, columns=SCHOOL_COLUMNS)
    gdf = gpd.GeoDataFrame(schools, geometry=gpd.points_from_xy(schools["longitude"], schools["latitude"]), crs="EPSG:4326")
    return gdf, pd.DataFrame(teacher_rows, columns=TEACHER_COLUMNS)


def _trim_teachers(teachers: pd.DataFrame, target: int, rng: np.random.Generator, id_prefix: str) -> pd.DataFrame:
    """Remove or duplicate ordinary teachers (keeping each school's mix) to reach ``target``."""
    teachers = teachers.copy()
    n = len(teachers)
    if n > target:
        counts = teachers.groupby("school_id")["teacher_id"].transform("size")
        eligible = teachers.index[(teachers["role"] == "teacher") & (counts > 1)]
        drop = rng.choice(eligible, size=min(n - target, len(eligible)), replace=False)
        teachers = teachers.drop(index=drop)
    elif n < target:
        # add primary teachers to the small primary schools (up to 8 staff)
        size = teachers.groupby("school_id").size().to_dict()
        prim = teachers[(teachers["role"] == "teacher") & (teachers["level"] == "primary")]
        by_school = {sid: g.index[0] for sid, g in prim.groupby("school_id")}
        adds = []
        sids = sorted(by_school)
        while len(adds) < target - n:
            open_ = [sid for sid in sids if size[sid] < 8] or sids
            sid = open_[int(rng.integers(len(open_)))]
            size[sid] += 1
            row = teachers.loc[by_school[sid]].copy()
            row["subject"] = _subject("primary", rng)
            adds.append(row)
        teachers = pd.concat([teachers, pd.DataFrame(adds)], ignore_index=True)
    teachers = teachers.sort_values(["school_id", "role", "teacher_id"], ascending=[True, True, True], kind="stable").reset_index(drop=True)
    teachers["teacher_id"] = [f"{id_prefix}-T{i + 1:06d}" for i in range(len(teachers))]
    return teachers


# --------------------------------------------------------------------------
# districts


@dataclass
class SyntheticDistrict:
    """A generated district.

    Attributes
    ----------
    name : str
    schools : geopandas.GeoDataFrame
        EPSG:4326; columns ``school_id, name, district, latitude, longitude,
        gender, can_host, generated`` and ``geometry``.
    teachers : pandas.DataFrame
        Roster: ``teacher_id, school_id, gender, level, subject, role``.
    graph : networkx.MultiDiGraph or None
        Road network (see :func:`make_road_network`).
    polygon : shapely Polygon
        District boundary, WGS84.
    terrain : SyntheticTerrain or None
    rivers : list of shapely LineString
        Rivers, WGS84.
    settlements : geopandas.GeoDataFrame
        Settlement points with ``settlement_id, name, population``; the
        graph's nodes ``0..n-1`` are these settlements in order.
    """

    name: str
    schools: gpd.GeoDataFrame
    teachers: pd.DataFrame
    graph: nx.MultiDiGraph | None
    polygon: Polygon
    terrain: SyntheticTerrain | None
    rivers: list[LineString]
    settlements: gpd.GeoDataFrame

    def write(self, out_dir: str | Path, stem: str | None = None) -> dict[str, Path]:
        """Write ``<stem>_schools.csv``, ``<stem>_teachers.csv`` and ``<stem>_roads.graphml``."""
        return write_district(self, out_dir, stem)


def _random_settlements(n: int, center: tuple[float, float], rng: np.random.Generator, km2_per_settlement: float = 9.0):
    """Clustered settlement points inside an elliptical district."""
    area = max(n * km2_per_settlement, 30.0)
    ratio = rng.uniform(1.3, 2.0)
    a = math.sqrt(area * ratio / math.pi)
    b = area / (math.pi * a)
    rot = rng.uniform(0, np.pi)
    frame = LocalFrame(*center)
    tt = np.linspace(0, 2 * np.pi, 73)[:-1]
    wob = 1 + 0.12 * np.sin(3 * tt + rng.uniform(0, 6)) + 0.06 * np.sin(5 * tt + rng.uniform(0, 6))
    ex, ey = a * np.cos(tt) * wob, b * np.sin(tt) * wob
    px = ex * math.cos(rot) - ey * math.sin(rot)
    py = ex * math.sin(rot) + ey * math.cos(rot)
    poly_km = Polygon(np.column_stack([px, py]))
    # Thomas cluster process: valley clusters of villages
    n_clusters = max(1, n // 8)
    centers = _sample_in_polygon(poly_km.buffer(-0.15 * b) if b > 3 else poly_km, n_clusters, rng)
    import shapely

    pts = []
    while len(pts) < n:
        c = centers[int(rng.integers(n_clusters))]
        p = c + rng.normal(0, 1.8, 2)
        if shapely.contains_xy(poly_km, p[0], p[1]) and (not pts or np.min(np.hypot(*(np.asarray(pts) - p).T)) > 0.5):
            pts.append(p)
    pts = np.asarray(pts)
    pop = np.full(n, 300.0)
    pop[rng.random(n) < 0.04] = 500.0
    n_towns = max(1, n // 80)
    # towns: the settlements closest to the cluster centres
    town_idx = np.unique(cKDTree(pts).query(centers[:n_towns])[1])
    pop[town_idx] = 10000.0 if n >= 40 else 1500.0
    lon, lat = frame.to_lonlat(pts[:, 0], pts[:, 1])
    plon, plat = frame.to_lonlat(px, py)
    return np.column_stack([lon, lat]), pop, Polygon(np.column_stack([plon, plat]))


def _prefix(name: str) -> str:
    letters = "".join(ch for ch in name.upper() if ch.isalpha())
    return (letters[:3] or "DST").ljust(3, "X")


def make_district(
    n_schools: int,
    seed: int,
    name: str = "District",
    center_lonlat: tuple[float, float] = (73.3, 34.6),
    *,
    with_network: bool = True,
    n_teachers: int | None = None,
    terrain_targets: dict | None = None,
    id_prefix: str | None = None,
) -> SyntheticDistrict:
    """Generate a district of any size, deterministic for a seed.

    Settlements are clustered in valleys inside an elliptical district whose
    area grows with ``n_schools`` (about 5 km2 per school); each settlement
    gets a boys' primary, usually a girls' primary (less often in remote
    places, where a mixed school may serve both), and central places get
    middle and high schools. Teachers: about 48 % women, 73 % primary, 18 %
    middle, 10 % high; a head teacher at most schools.

    Parameters
    ----------
    n_schools : int
        Exact number of schools.
    seed : int
    name : str
        District name (column ``district``).
    center_lonlat : (float, float)
        District centre, WGS84.
    with_network : bool
        Build terrain and a road network (slower for large districts).
    n_teachers : int, optional
        Exact roster size (ordinary teachers are added or removed).
    terrain_targets : dict, optional
        ``min_elev_m``, ``max_elev_m``, ``mean_elev_m``, ``mean_slope_deg``;
        default Mansehra's.
    id_prefix : str, optional
        Prefix of school and teacher ids; default from the name.

    Returns
    -------
    SyntheticDistrict
    """
    if n_schools < 1:
        raise ValueError("n_schools must be at least 1")
    rng = np.random.default_rng([seed, 1001])
    prefix = id_prefix or _prefix(name)
    n_settle = max(2, int(round(n_schools / 1.85)))  # noqa: RUF046 - NumPy 1.x round() gives a float
    lonlat, pop, polygon = _random_settlements(n_settle, center_lonlat, rng)
    names = generated_place_names(n_settle, seed)
    setts = _settlement_table(lonlat, pop, names)
    schools, teachers = _build_schools_and_teachers(setts, name, prefix, rng, n_schools=n_schools)
    if n_teachers is not None:
        teachers = _trim_teachers(teachers, n_teachers, rng, prefix)
    sgdf = gpd.GeoDataFrame(
        {"settlement_id": [f"{prefix}-P{i:04d}" for i in range(n_settle)], "name": names, "population": pop},
        geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]),
        crs="EPSG:4326",
    )
    terrain = graph = None
    rivers: list[LineString] = []
    if with_network:
        terrain = make_terrain(polygon, seed, lonlat, **(terrain_targets or {}))
        rivers = terrain.rivers_lonlat
        graph = make_road_network(lonlat, polygon, seed, terrain=terrain, names=names)
        graph.graph["district"] = name
    return SyntheticDistrict(name, schools, teachers, graph, polygon, terrain, rivers, sgdf)


@dataclass
class SyntheticProgramme:
    """Several generated districts and their combined frames."""

    districts: dict[str, SyntheticDistrict]
    schools: gpd.GeoDataFrame
    teachers: pd.DataFrame

    @property
    def graphs(self) -> dict[str, nx.MultiDiGraph | None]:
        return {k: d.graph for k, d in self.districts.items()}


def make_programme(n_teachers: int = 10316, n_districts: int = 4, seed: int = 2026, *, with_network: bool = False) -> SyntheticProgramme:
    """A multi-district programme like the field study's (10,316 teachers, 4 districts).

    Parameters
    ----------
    n_teachers : int
        Exact total number of teachers, split evenly-ish across districts.
    n_districts : int
        Number of districts; the first four are named Mansehra, Bagh,
        Muzaffarabad and Poonch, further ones "District 5", ...
    seed : int
    with_network : bool
        Build road networks too (slow for the full programme).

    Returns
    -------
    SyntheticProgramme
        ``districts`` by name, and combined ``schools`` and ``teachers``.
    """
    rng = np.random.default_rng([seed, 2001])
    names = list(PROGRAMME_DISTRICTS)[:n_districts] + [f"District {i + 1}" for i in range(4, n_districts)]
    weights = rng.uniform(0.8, 1.2, n_districts)
    shares = np.floor(weights / weights.sum() * n_teachers).astype(int)
    shares[0] += n_teachers - shares.sum()
    districts = {}
    for i, (dname, nt) in enumerate(zip(names, shares)):
        center = PROGRAMME_DISTRICTS.get(dname, (72.5 + 0.6 * i, 33.5 + 0.3 * i))
        n_schools = max(1, int(round(nt / 6.6)))  # noqa: RUF046 - NumPy 1.x round() gives a float
        d = make_district(n_schools, seed + 101 * i, dname, center, with_network=with_network, n_teachers=int(nt))
        districts[dname] = d
    schools = gpd.GeoDataFrame(pd.concat([d.schools for d in districts.values()], ignore_index=True), crs="EPSG:4326")
    teachers = pd.concat([d.teachers for d in districts.values()], ignore_index=True)
    return SyntheticProgramme(districts, schools, teachers)


# --------------------------------------------------------------------------
# writing and the Mansehra sample


def write_district(district: SyntheticDistrict, out_dir: str | Path, stem: str | None = None) -> dict[str, Path]:
    """Write schools CSV, roster CSV and (if any) GraphML of a district."""
    from cluster_mapper.travel.osm import save_graphml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or district.name.lower().replace(" ", "_")
    paths = {"schools": out / f"{stem}_schools.csv", "teachers": out / f"{stem}_teachers.csv"}
    sch = pd.DataFrame(district.schools[SCHOOL_COLUMNS]).copy()
    sch["can_host"] = sch["can_host"].map({True: "true", False: "false"})
    sch["generated"] = "true"
    sch.to_csv(paths["schools"], index=False, lineterminator="\n")
    district.teachers[TEACHER_COLUMNS].to_csv(paths["teachers"], index=False, lineterminator="\n")
    if district.graph is not None:
        paths["roads"] = out / f"{stem}_roads.graphml"
        save_graphml(district.graph, paths["roads"])
    return paths


def load_mansehra_data(data_dir: str | Path | None = None) -> tuple[gpd.GeoDataFrame, Polygon]:
    """The real Mansehra settlements and district polygon from ``data/pakistan``."""
    d = Path(data_dir) if data_dir is not None else default_pakistan_dir()
    settlements = gpd.read_file(d / "mansehra_settlements.geojson").to_crs("EPSG:4326")
    settlements = settlements.sort_values("settlement_id").reset_index(drop=True)
    dist = gpd.read_file(d / "kp_districts.geojson").to_crs("EPSG:4326")
    poly = dist.loc[dist["district"] == "Mansehra"].geometry.iloc[0]
    if poly.geom_type == "MultiPolygon":
        poly = max(poly.geoms, key=lambda g: g.area)
    return settlements, poly


def build_mansehra_district(seed: int = 2026, data_dir: str | Path | None = None, n_teachers: int = 2500) -> SyntheticDistrict:
    """The Mansehra sample district, from the real OSM settlements and polygon.

    Real: settlement positions and populations (OpenStreetMap), the district
    polygon (OCHA/HDX), the terrain statistics (Copernicus GLO-30).
    Generated: schools and their names, rosters, roads, rivers, elevations.
    """
    settlements, polygon = load_mansehra_data(data_dir)
    rng = np.random.default_rng([seed, 3001])
    lonlat = np.column_stack([settlements.geometry.x, settlements.geometry.y])
    pop = settlements["population"].astype(float).to_numpy()
    names = generated_place_names(len(settlements), seed)
    setts = _settlement_table(lonlat, pop, names)
    schools, teachers = _build_schools_and_teachers(setts, "Mansehra", "MSR", rng, staff_scale=1.0, jitter_m=250.0)
    teachers = _trim_teachers(teachers, n_teachers, rng, "MSR")
    terrain = make_terrain(polygon, seed, lonlat)
    graph = make_road_network(lonlat, polygon, seed, terrain=terrain, names=names)
    graph.graph["district"] = "Mansehra"
    sgdf = settlements.copy()
    sgdf["name"] = names
    return SyntheticDistrict("Mansehra", schools, teachers, graph, polygon, terrain, terrain.rivers_lonlat, sgdf)


def build_mansehra_sample(out_dir: str | Path | None = None, seed: int = 2026, data_dir: str | Path | None = None) -> dict[str, Path]:
    """Build and write the bundled sample (``data/schools/mansehra_*``).

    Parameters
    ----------
    out_dir : path, optional
        Default ``repo_root/data/schools``.
    seed : int
    data_dir : path, optional
        Where the real Mansehra data is; default ``repo_root/data/pakistan``.

    Returns
    -------
    dict of str to Path
        The files written (schools, teachers, roads).
    """
    out = Path(out_dir) if out_dir is not None else repo_root() / "data" / "schools"
    district = build_mansehra_district(seed, data_dir)
    return write_district(district, out, "mansehra")


write_sample = build_mansehra_sample


# --------------------------------------------------------------------------
# a sanity check: can teachers reach enough peers?


def tobler_speed_kmh(grade: np.ndarray | float, flat_kmh: float = 5.0):
    """Tobler's hiking function, scaled so that flat ground gives ``flat_kmh``."""
    return flat_kmh * np.exp(-3.5 * np.abs(np.asarray(grade) + 0.05)) / math.exp(-3.5 * 0.05)


def peer_reach(
    schools: gpd.GeoDataFrame,
    teachers: pd.DataFrame,
    graph: nx.MultiDiGraph,
    *,
    max_minutes: float = 60.0,
    min_teachers: int = 6,
    levels: str = "separate",
    flat_kmh: float = 5.0,
) -> pd.DataFrame:
    """For each teacher group of each school, the same-group teachers within reach.

    Walking times use Tobler's function on the network (grade = rise/length
    per directed edge); schools snap to the nearest node. Head teachers are
    left out. A group is "gender, level group" (level group: primary vs
    middle/high when ``levels="separate"``, one group otherwise).

    Returns
    -------
    pandas.DataFrame
        One row per school and group: ``school_id, gender, level_group,
        n_teachers, peers_in_reach`` (including the school's own),
        ``enough`` (peers_in_reach >= min_teachers), ``snap_m``.
    """
    t = teachers[teachers["role"] != "head_teacher"].copy()
    t["level_group"] = np.where(t["level"] == "primary", "primary", "middle_high") if levels == "separate" else "all"
    groups = t.groupby(["school_id", "gender", "level_group"]).size().rename("n_teachers").reset_index()
    nodes = list(graph.nodes)
    lon = np.array([graph.nodes[v]["x"] for v in nodes])
    lat = np.array([graph.nodes[v]["y"] for v in nodes])
    frame = LocalFrame(float(lon.mean()), float(lat.mean()))
    nx_, ny_ = frame.to_km(lon, lat)
    tree = cKDTree(np.column_stack([nx_, ny_]))
    sx, sy = frame.to_km(schools["longitude"].to_numpy(float), schools["latitude"].to_numpy(float))
    dist, idx = tree.query(np.column_stack([sx, sy]))
    snap = dict(zip(schools["school_id"], (nodes[i] for i in idx)))
    snap_m = dict(zip(schools["school_id"], dist * 1000))
    H = nx.DiGraph()
    for u, v, d in graph.edges(data=True):
        L = float(d["length"])
        grade = (graph.nodes[v]["elevation"] - graph.nodes[u]["elevation"]) / max(L, 1.0)
        minutes = L / 1000.0 / float(tobler_speed_kmh(grade, flat_kmh)) * 60.0
        if not H.has_edge(u, v) or H[u][v]["w"] > minutes:
            H.add_edge(u, v, w=minutes)
    node_schools: dict = {}
    for sid, v in snap.items():
        node_schools.setdefault(v, []).append(sid)
    # teachers per (school, gender, group)
    count = {(r.school_id, r.gender, r.level_group): r.n_teachers for r in groups.itertuples()}
    reach_cache: dict = {}
    peers = []
    for r in groups.itertuples():
        src = snap[r.school_id]
        if src not in reach_cache:
            reach_cache[src] = nx.single_source_dijkstra_path_length(H, src, cutoff=max_minutes, weight="w") if src in H else {src: 0.0}
        total = 0
        for v in reach_cache[src]:
            for sid in node_schools.get(v, []):
                total += count.get((sid, r.gender, r.level_group), 0)
        peers.append(total)
    groups["peers_in_reach"] = peers
    groups["enough"] = groups["peers_in_reach"] >= min_teachers
    groups["snap_m"] = groups["school_id"].map(snap_m)
    return groups


def main(argv: list[str] | None = None) -> None:
    """Rebuild the bundled Mansehra sample: ``python -m tests.synthetic [OUT_DIR] [--seed N]``."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("out_dir", nargs="?", default=None)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    paths = build_mansehra_sample(args.out_dir, seed=args.seed)
    for k, p in paths.items():
        print(f"{k}: {p} ({p.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
