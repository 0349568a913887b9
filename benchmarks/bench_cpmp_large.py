"""Large capacitated p-median problems on sparse candidates (nothing quadratic).

Usage::

    python -m benchmarks.bench_cpmp_large [--n 3000] [--p 1000] [--tau 0.8] [--seed 1] \
                                          [--time-limit 300] [--workers 2] [--block-units 90]
    python -m benchmarks.bench_cpmp_large --instance SJC4a --time-limit 60   # a public instance, best known known

Generates a plain CPMP of ``n`` points and ``p`` medians in the way of
Lorena & Senne's TSPLIB-based instances (clustered points, integer demands
1-20, one capacity for all ``ceil(sum demand / (tau p))``, distances
Euclidean, one trip per point), or reads a public instance of
``benchmarks/data/cpmp``, and solves it with
:func:`cluster_mapper.model.large.solve_large`: each point's nearest venues
first, more where the LP's reduced costs ask for them, an LP bound valid for
the complete problem, a plan by blocks, a stronger (knapsack Lagrangian)
bound also valid for the complete problem, then the plan improved by
regrouping neighbouring clusters. Prints the
plan's value, the proven bound, the gap between them, the candidate pairs
used against the ``n^2`` of the complete problem, the time, the peak memory
and the machine's load.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time

import numpy as np

from cluster_mapper.model import ClusterProblem
from cluster_mapper.model.large import PointCandidates, solve_large
from tests.fixtures.cpmp import DATA, clustered_instance, find_file, read_cpmp


def generated(n: int, p: int, tau: float, seed: int) -> tuple[ClusterProblem, PointCandidates, str]:
    """A clustered instance: 60 towns, points around them, demands 1-20, capacity ceil(sum / (tau p))."""
    inst = clustered_instance(seed, n, p, towns=60, side=4000, spread=120, tau=tau)
    label = f"generated n={n} p={p} tau={tau} seed={seed} capacity={inst.capacity}"
    return inst.problem(), PointCandidates(inst.xy, np.ones(n, dtype=bool)), label


def public(name: str) -> tuple[ClusterProblem, PointCandidates, str, float]:
    """A public instance of benchmarks/data/cpmp and its best known value."""
    with open(DATA / "best_known.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["instance"].lower() == name.lower())
    inst = read_cpmp(find_file(DATA, row["folder"], row["instance"]))
    n, p, prob = inst.n, inst.p, inst.problem()
    cands = PointCandidates(inst.xy, np.ones(n, dtype=bool), round_down=row["distance"] == "euclid_floor")
    return prob, cands, f"{row['instance']} n={n} p={p}", float(row["best_known"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--p", type=int, default=1000)
    ap.add_argument("--tau", type=float, default=0.8, help="capacity tightness (Lorena & Senne use 0.8 and 0.9)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--instance", help="a public instance of benchmarks/data/cpmp instead of a generated one")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=2, help="processes solving blocks (default: %(default)s)")
    ap.add_argument("--block-units", type=int, default=90)
    args = ap.parse_args(argv)
    best = None
    if args.instance:
        prob, cands, label, best = public(args.instance)
    else:
        prob, cands, label = generated(args.n, args.p, args.tau, args.seed)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    sol = solve_large(prob, cands, args.time_limit, workers=args.workers, block_units=args.block_units)
    seconds = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    children_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    print(label)
    print(
        f"plan {sol.objective:,.2f}  bound {sol.lower_bound:,.2f}  gap to own bound {100 * sol.gap:.3f} %  status {sol.status}  "
        f"all placed {bool(np.all(sol.venue_of >= 0))}"
    )
    if best is not None:
        print(
            f"best known {best:,.2f}: plan {100 * (sol.objective - best) / best:+.3f} %, bound {100 * (sol.lower_bound - best) / best:+.3f} % "
            f"(a valid bound is never above the optimum)"
        )
    for note in sol.notes:
        print(f"note: {note}")
    print(
        f"time {seconds:.1f} s, peak memory {peak_gb:.2f} GB (largest block process {children_gb:.2f} GB), "
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (2 cores, shared)"
    )
    ok = sol.gap <= 0.02 and seconds <= 300 and bool(np.all(sol.venue_of >= 0))
    print(f"floor (within 2 % of the bound, so of the optimum, in 5 minutes): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
