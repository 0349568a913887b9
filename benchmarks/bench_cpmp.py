"""Benchmark the cluster model on public capacitated p-median instances.

Usage::

    python -m benchmarks.bench_cpmp [--only NAME] [--time-limit 60] [--data DIR] [--backend HIGHS]

A quick subset (about 35 s on 2 cores)::

    python -m benchmarks.bench_cpmp --only cpmp01 --only cpmp05 --only cpmp11 --only SJC1 --only SJC3b

Reads every instance of ``benchmarks/data/cpmp/`` (OR-Library pmedcap1 and
Lorena & Senne's SJC set; see that folder's README.md), builds a plain CPMP as a
:class:`~cluster_mapper.model.ClusterProblem` (every point a venue candidate,
exactly ``p`` clusters, capacity = ``max_teachers``, no lower size bound, no
school limit, objective = one trip per school, i.e. distances not weighted by
demand), solves it with :class:`~cluster_mapper.model.ClusterModel` and compares
with the proven optima in ``best_known.csv``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from cluster_mapper.model import BACKENDS, DEFAULT_BACKEND, ClusterModel, ClusterProblem
from tests.fixtures.cpmp import DATA as DEFAULT_DATA
from tests.fixtures.cpmp import find_file, read_cpmp


def read_instance(path: Path, distance: str) -> ClusterProblem:
    """One instance file as a ClusterProblem with every point-to-point pair."""
    inst = read_cpmp(path)
    d = np.sqrt(((inst.xy[:, None, :] - inst.xy[None, :, :]) ** 2).sum(axis=-1))
    if distance == "euclid_floor":
        d = np.floor(d + 1e-9)
    elif distance != "euclid":
        raise ValueError(f"{path}: unknown distance {distance!r}")
    member, venue = np.meshgrid(np.arange(inst.n), np.arange(inst.n), indexing="ij")
    return inst.problem(member.ravel(), venue.ravel(), d.ravel())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with best_known.csv (default: %(default)s)")
    ap.add_argument("--only", action="append", help="instance name (repeatable, case-insensitive prefix match)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance (default: %(default)s)")
    ap.add_argument("--backend", default=DEFAULT_BACKEND, choices=BACKENDS)
    args = ap.parse_args(argv)

    with open(args.data / "best_known.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    if args.only:
        wanted = [w.lower() for w in args.only]
        table = [r for r in table if any(r["instance"].lower() == w for w in wanted)] or [
            r for r in table if any(r["instance"].lower().startswith(w) for w in wanted)
        ]
        if not table:
            print(f"no instance matches {args.only}", file=sys.stderr)
            return 2

    header = f"{'instance':<9} {'n':>4} {'p':>3} {'ours':>10} {'optimum':>10} {'gap%':>7} {'our LB':>10} {'LBgap%':>7} {'status':<10} {'time s':>7}"
    print(header)
    print("-" * len(header))
    orlib_hit = orlib_total = 0
    sjc_worst = None
    total_time = 0.0
    for row in table:
        name = row["instance"]
        problem = read_instance(find_file(args.data, row["folder"], name), row["distance"])
        optimum = float(row["best_known"])
        assert problem.n_units == int(row["n"]) and problem.n_clusters == int(row["p"]), name
        t0 = time.perf_counter()
        sol = ClusterModel(problem, backend=args.backend).solve(args.time_limit)
        seconds = time.perf_counter() - t0
        total_time += seconds
        ok_plan = sol.status in ("optimal", "time_limit") and bool(np.all(sol.venue_of >= 0))
        value = sol.objective if ok_plan else float("nan")
        gap = 100.0 * (value - optimum) / optimum
        lb_gap = 100.0 * (value - sol.lower_bound) / value if value > 0 else 0.0
        print(
            f"{name:<9} {problem.n_units:>4} {problem.n_clusters:>3} {value:>10.2f} {optimum:>10.2f} {gap:>7.3f} "
            f"{sol.lower_bound:>10.2f} {lb_gap:>7.3f} {sol.status:<10} {seconds:>7.1f}",
            flush=True,
        )
        if row["folder"].startswith("orlib"):
            orlib_total += 1
            # objectives are integers: equal means at the optimum
            orlib_hit += int(ok_plan and abs(value - optimum) < 0.5)
        else:
            # published SJC values have two decimals
            g = gap if ok_plan else float("inf")
            sjc_worst = g if sjc_worst is None else max(sjc_worst, g)
    print("-" * len(header))
    parts = []
    if orlib_total:
        parts.append(f"OR-Library at the optimum: {orlib_hit}/{orlib_total}")
    if sjc_worst is not None:
        parts.append(f"worst SJC gap to optimum: {sjc_worst:.3f}%")
    parts.append(f"total time {total_time:.0f} s")
    print("; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
