"""Travel at scale: 10,000 schools on a network of 1,000,000 nodes.

Usage::

    python -m benchmarks.bench_travel_scale [--side 1000] [--spacing 100] [--schools 10000] [--cutoff 60] [--check 20]

Builds the hilly synthetic walking grid of ``bench_travel_times.py`` with
``side^2`` nodes (1,000,000 by default; synthetic, not a real road network),
puts the schools on random nodes and times
``cluster_mapper.travel.times.network_travel_times`` with the cutoff: on networks
of 200,000 nodes or more it runs tiled cut-off searches, each tile of
schools on its own window of the network, in one process per core
(:mod:`cluster_mapper.travel.reach`). Then it checks ``--check`` random schools'
rows against one whole-network ``scipy`` Dijkstra. Floor: under 60 s on
2 cores, every checked row identical.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import geopandas as gpd
import numpy as np
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point

from benchmarks.bench_travel_times import synthetic_network
from cluster_mapper.policy.rules import TravelPolicy
from cluster_mapper.travel.minutes import add_travel_minutes
from cluster_mapper.travel.times import graph_arrays, network_travel_times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=1000)
    ap.add_argument("--spacing", type=float, default=100.0, help="metres")
    ap.add_argument("--schools", type=int, default=10000)
    ap.add_argument("--cutoff", type=float, default=60.0, help="minutes")
    ap.add_argument("--check", type=int, default=20, help="schools whose rows are checked against a whole-network Dijkstra")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    travel = TravelPolicy(travel_mode="walk", walking_speed_kmh=5.0)
    t0 = time.perf_counter()
    G = synthetic_network(args.side, args.spacing, args.seed)
    add_travel_minutes(G, travel)
    print(f"synthetic network: {len(G):,} nodes, {G.number_of_edges():,} directed edges (built in {time.perf_counter() - t0:.0f} s)")
    rng = np.random.default_rng(args.seed + 1)
    nodes = list(G.nodes)
    picks = rng.choice(len(nodes), args.schools, replace=False)
    pts = [Point(G.nodes[nodes[i]]["x"], G.nodes[nodes[i]]["y"]) for i in picks]
    schools = gpd.GeoDataFrame({"school_id": [f"S{i:05d}" for i in range(args.schools)]}, geometry=pts, crs=4326)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    tt = network_travel_times(schools, G, travel, cutoff_minutes=args.cutoff, cache_dir=False)
    seconds = time.perf_counter() - t0
    print(
        f"network_travel_times: {args.schools:,} schools, cutoff {args.cutoff:g} min: {seconds:.1f} s, {len(tt.pairs):,} pairs within the cutoff "
        f"(load average before {load:.2f}, after {os.getloadavg()[0]:.2f}; 2 shared cores); peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB"
    )
    # check some rows against one whole-network Dijkstra (node-to-node + the access walks, 0 here: schools sit on nodes)
    order, csr = graph_arrays(G)
    index = {n: i for i, n in enumerate(order)}
    pos = np.array([index[n] for n in tt.snaps["node"]])
    ids = schools["school_id"].to_numpy()
    walk = tt.snaps["snap_metres"].to_numpy() / 1000.0 / travel.walking_speed_kmh * 60.0
    bad = 0
    check = rng.choice(args.schools, min(args.check, args.schools), replace=False)
    dist = dijkstra(csr, directed=True, indices=pos[check], limit=args.cutoff * (1 + 1e-9))
    for r, s in enumerate(check):
        m = dist[r, pos] + walk[s] + walk
        m[s] = 0.0
        ok = m <= args.cutoff
        ref = dict(zip(ids[ok], m[ok], strict=True))
        got = tt.pairs[tt.pairs["from_school_id"] == ids[s]]
        got = dict(zip(got["to_school_id"], got["minutes"], strict=True))
        if set(ref) != set(got) or any(abs(ref[k] - got[k]) > 1e-6 for k in ref):
            bad += 1
    print(f"check: {len(check) - bad}/{len(check)} rows identical to a whole-network Dijkstra")
    ok = seconds < 60 and bad == 0
    print(f"floor (10,000 schools on 1,000,000 nodes < 60 s on 2 cores, exact): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
