"""Benchmark: travel-time matrix for 1,000 schools on a 100,000-node hilly network.

Run::

    python -m benchmarks.bench_travel_times

Builds a synthetic walking network (a perturbed grid of about 102,400 nodes
around 34.5 N 73.3 E with smooth hills, like a Mansehra valley), places 1,000
schools on it, then times

(a) ``cluster_mapper.travel.times.network_travel_times`` with a 60-minute cutoff
    (all pairs, scipy many-source Dijkstra on CSR), and
(b) the per-pair networkx approach, ``nx.shortest_path_length`` for each pair
    (pairs over the cutoff or without a path are dropped, the same semantics),
    timed on a random sample of pairs and extrapolated to all pairs. A second
    per-pair baseline, ``nx.single_source_dijkstra(..., target, cutoff)``, which
    stops at the cutoff, is timed the same way for fairness.

It checks that both agree on every sampled pair, prints the figures and
exits with status 1 if the matrix is not at least 20x faster than (b) or takes
15 s or more. The network is synthetic, not a real road network.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
from shapely.geometry import Point

from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.minutes import add_travel_minutes
from cluster_mapper.travel.times import access_minutes, network_travel_times

LON0, LAT0 = 73.30, 34.50
GEOD = pyproj.Geod(ellps="WGS84")


def synthetic_network(side: int, spacing_m: float, seed: int) -> nx.MultiDiGraph:
    """A ``side`` x ``side`` perturbed grid of two-way roads with hills (x/y EPSG:4326, elevation m)."""
    rng = np.random.default_rng(seed)
    dlat = spacing_m / 110_950.0
    dlon = spacing_m / (111_320.0 * math.cos(math.radians(LAT0)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    lon = LON0 + (jj + rng.uniform(-0.3, 0.3, ii.shape)) * dlon
    lat = LAT0 + (ii + rng.uniform(-0.3, 0.3, ii.shape)) * dlat
    xm, ym = jj * spacing_m, ii * spacing_m  # metres, for the terrain
    elev = 1500.0 + 600.0 * np.sin(xm / 8000.0) * np.cos(ym / 6000.0) + 250.0 * np.sin(xm / 2500.0 + 1.0) * np.sin(ym / 3100.0) + rng.normal(0.0, 3.0, ii.shape)
    ids = (ii * side + jj).ravel()
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_nodes_from((int(n), {"x": float(x), "y": float(y), "elevation": float(z)}) for n, x, y, z in zip(ids, lon.ravel(), lat.ravel(), elev.ravel()))
    # horizontal and vertical neighbours; drop 8 % of roads at random (gaps, ravines)
    u = np.concatenate([ids.reshape(side, side)[:, :-1].ravel(), ids.reshape(side, side)[:-1, :].ravel()])
    v = np.concatenate([ids.reshape(side, side)[:, 1:].ravel(), ids.reshape(side, side)[1:, :].ravel()])
    keep = rng.random(len(u)) > 0.08
    u, v = u[keep], v[keep]
    flon, flat = lon.ravel(), lat.ravel()
    _, _, length = GEOD.inv(flon[u], flat[u], flon[v], flat[v])
    length = np.abs(length) * rng.uniform(1.0, 1.3, len(u))  # winding roads
    G.add_edges_from((int(a), int(b), {"length": float(m), "highway": "unclassified"}) for a, b, m in zip(u, v, length))
    G.add_edges_from((int(b), int(a), {"length": float(m), "highway": "unclassified"}) for a, b, m in zip(u, v, length))
    return G


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=320, help="grid side; nodes = side^2 (default 320 -> 102,400)")
    ap.add_argument("--spacing", type=float, default=150.0, help="grid spacing, metres")
    ap.add_argument("--schools", type=int, default=1000)
    ap.add_argument("--cutoff", type=float, default=60.0, help="cutoff, minutes")
    ap.add_argument("--sample", type=int, default=2000, help="random pairs timed with the cut-off networkx Dijkstra")
    ap.add_argument("--sample-spl", type=int, default=200, help="random pairs timed with nx.shortest_path_length (about 0.35 s each)")
    ap.add_argument("--check-near", type=int, default=500, help="extra pairs within the cutoff checked against networkx")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    travel = TravelPolicy(travel_mode="walk", walking_speed_kmh=5.0)

    t0 = time.perf_counter()
    G = synthetic_network(args.side, args.spacing, args.seed)
    add_travel_minutes(G, travel)
    t_build = time.perf_counter() - t0
    print(
        f"synthetic network: {len(G):,} nodes, {G.number_of_edges():,} directed edges, hills "
        f"{min(nx.get_node_attributes(G, 'elevation').values()):.0f}-{max(nx.get_node_attributes(G, 'elevation').values()):.0f} m "
        f"(built + Tobler minutes in {t_build:.1f} s; synthetic, not a real road network)"
    )

    rng = np.random.default_rng(args.seed + 1)
    nodes = list(G.nodes)
    picks = rng.choice(len(nodes), args.schools, replace=False)
    pts = [Point(G.nodes[nodes[i]]["x"] + rng.normal(0, 3e-4), G.nodes[nodes[i]]["y"] + rng.normal(0, 3e-4)) for i in picks]
    schools = gpd.GeoDataFrame({"school_id": [f"KP{i:05d}" for i in range(args.schools)], "district": "Mansehra"}, geometry=pts, crs=4326)

    # (a) the matrix
    t0 = time.perf_counter()
    tt = network_travel_times(schools, G, travel, cutoff_minutes=args.cutoff, cache_dir=False)
    t_matrix = time.perf_counter() - t0
    n_pairs = args.schools**2
    print(
        f"(a) network_travel_times, {args.schools:,} schools, cutoff {args.cutoff:g} min: {t_matrix:.2f} s "
        f"for all {n_pairs:,} pairs ({len(tt.pairs):,} within the cutoff)"
    )

    # (b) per pair with networkx, on a random sample of ordered pairs
    node_of = dict(zip(tt.snaps["school_id"], tt.snaps["node"]))
    ids = schools["school_id"].to_numpy()
    sample = [(ids[a], ids[b]) for a, b in zip(rng.integers(0, len(ids), args.sample), rng.integers(0, len(ids), args.sample))]
    sample_spl = sample[: args.sample_spl]
    lookup = tt.lookup()

    access = access_minutes(tt.snaps, travel)  # each school's walk to and from its network node

    def per_pair(fn, pairs):
        out = {}
        t0 = time.perf_counter()
        for a, b in pairs:
            try:
                m = 0.0 if a == b else access[a] + fn(node_of[a], node_of[b]) + access[b]
            except nx.NetworkXNoPath:
                m = math.inf
            out[(a, b)] = m if m <= args.cutoff else math.inf
        return out, time.perf_counter() - t0

    def spl(s, t):
        return nx.shortest_path_length(G, s, t, weight="travel_minutes")

    def ssd(s, t):
        d, _ = nx.single_source_dijkstra(G, s, target=t, cutoff=args.cutoff, weight="travel_minutes")
        return d

    res_b, t_b = per_pair(spl, sample_spl)
    res_c, t_c = per_pair(ssd, sample)
    est_b = t_b / len(sample_spl) * n_pairs
    est_c = t_c / len(sample) * n_pairs
    print(
        f"(b) nx.shortest_path_length per pair: {t_b:.2f} s for a random sample of {len(sample_spl):,} pairs "
        f"-> {est_b:,.0f} s ({est_b / 3600:,.0f} h) extrapolated to all {n_pairs:,} pairs"
    )
    print(
        f"    nx.single_source_dijkstra(target, cutoff) per pair: {t_c:.2f} s for a random sample of {len(sample):,} pairs "
        f"-> {est_c:,.0f} s ({est_c / 3600:,.1f} h) extrapolated"
    )

    # agreement: the random samples, plus pairs the matrix found within the cutoff
    near_rows = tt.pairs[tt.pairs["from_school_id"] != tt.pairs["to_school_id"]]
    near_rows = near_rows.iloc[rng.choice(len(near_rows), min(args.check_near, len(near_rows)), replace=False)]
    near = list(zip(near_rows["from_school_id"], near_rows["to_school_id"]))
    res_near, _ = per_pair(spl, near)
    checks = list(res_b.items()) + list(res_c.items()) + list(res_near.items())
    bad = 0
    for key, ref in checks:
        got = lookup.get(key, math.inf)
        if math.isinf(ref) != math.isinf(got) or (not math.isinf(ref) and abs(got - ref) > 1e-6 * max(1.0, ref)):
            bad += 1
    within = sum(1 for _, ref in checks if not math.isinf(ref))
    print(
        f"agreement with networkx: {len(checks) - bad:,}/{len(checks):,} checked pairs identical to 1e-6 "
        f"({within:,} within the cutoff, the rest absent in both)"
    )

    ratio = est_b / t_matrix
    ratio_c = est_c / t_matrix
    print(f"speed-up: {ratio:,.0f}x over nx.shortest_path_length, {ratio_c:,.0f}x over cut-off single_source_dijkstra")
    ok = bad == 0 and ratio >= 20 and t_matrix < 15
    print("floors (>= 20x faster, < 15 s, agreement):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
