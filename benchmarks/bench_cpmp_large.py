"""A capacitated p-median of 3,000 points and 1,000 medians through ``cluster-mapper plan``, as a user runs it.

Usage::

    python -m benchmarks.bench_cpmp_large [--n 3000] [--p 1000] [--tau 0.8] [--seed 1] [--time-limit 300]
    python -m benchmarks.bench_cpmp_large --file PATH/p3038_1000.txt --best 85854.05    # the public p3038 instance
    python -m benchmarks.bench_cpmp_large --instance SJC4a --time-limit 60               # a public instance of benchmarks/data/cpmp

The instance is written as the files an office would give: ``schools.csv``
(one school per point, its demand as its teacher count, the point placed on
the map at the equator with one coordinate unit = one metre) and a plain
CPMP ``policy.toml`` (``n_clusters = p``, ``max_teachers`` = the capacity,
``min_teachers = 1``, no school or travel limit, one trip per school, gender
and levels mixed, ``time_limit_seconds``). Travel is straight-line at 0.06
km/h with no detour, so a minute is a metre. Then the installed command runs
in its own process, timed from start to end (imports, reading, travel,
solving and writing)::

    cluster-mapper plan --schools schools.csv --straight-line --policy policy.toml --out plan --no-review

With no travel limit the travel table holds each school's nearest schools
(``travel/nearest.py``), and the group of 3,000 units with 1,000 clusters
goes to the block-and-regroup solver (``model/large.py``). The plan's value
is recomputed here from ``assignments.csv`` with exact Euclidean distances,
and compared with the best known value when there is one (the public
p3038 file of Lorena & Senne is not in this repository: give it with
``--file``) and with the plan's own bound (``summary.json``). Prints the
command's time, the solve time the plan reports, the peak memory of the
process tree and the load.

Floor (issue 19): the solve within ``time_limit_seconds`` and the plan within
2 % of the best known value (or, without one, of its own proven bound).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.measure import run_measured
from tests.fixtures.cpmp import DATA, CpmpInstance, clustered_instance, find_file, plan_command, point_venues, read_cpmp, write_cpmp_files


# metres per degree at the equator (one coordinate unit = one metre)
def run_plan(schools: Path, policy: Path, out: Path, n: int) -> tuple[float, int, np.ndarray, dict]:
    """``cluster-mapper plan`` in its own process: (seconds, peak bytes of the process tree, venue of each point, summary)."""
    cmd = plan_command("--schools", str(schools), "--straight-line", "--policy", str(policy), "--out", str(out))
    seconds, peak = run_measured(cmd, cwd=out.parent, what="cluster-mapper plan")
    return seconds, peak, point_venues(out, n), json.loads((out / "summary.json").read_text())


def cost(inst: CpmpInstance, venue: np.ndarray, round_down: bool) -> tuple[float, bool]:
    """Sum of exact distances of a plan, and whether it is a feasible CPMP plan (everyone placed, p venues, capacities kept)."""
    if np.any(venue < 0):
        return float("inf"), False
    d = np.hypot(*(inst.xy - inst.xy[venue]).T)
    if round_down:
        d = np.floor(d + 1e-9)
    venues = np.unique(venue)
    ok = len(venues) == inst.p and bool(np.all(venue[venues] == venues)) and all(inst.demand[venue == j].sum() <= inst.capacity for j in venues)
    return float(d.sum()), ok


def instance(args) -> tuple[CpmpInstance, str, float | None, bool]:
    """The instance to plan, its label, its best known value (None: unknown) and whether distances round down."""
    if args.file:
        inst = read_cpmp(Path(args.file))
        return inst, f"{Path(args.file).name} n={inst.n} p={inst.p} capacity={inst.capacity}", args.best, False
    if args.instance:
        with open(DATA / "best_known.csv", newline="") as fh:
            row = next(r for r in csv.DictReader(fh) if r["instance"].lower() == args.instance.lower())
        inst = read_cpmp(find_file(DATA, row["folder"], row["instance"]))
        return inst, f"{row['instance']} n={inst.n} p={inst.p} capacity={inst.capacity}", float(row["best_known"]), row["distance"] == "euclid_floor"
    inst = clustered_instance(args.seed, args.n, args.p, towns=60, side=4000, spread=120, tau=args.tau)
    return inst, f"generated n={args.n} p={args.p} tau={args.tau} seed={args.seed} capacity={inst.capacity}", None, False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--p", type=int, default=1000)
    ap.add_argument("--tau", type=float, default=0.8, help="capacity tightness (Lorena & Senne use 0.8 and 0.9)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--instance", help="a public instance of benchmarks/data/cpmp instead of a generated one")
    ap.add_argument("--file", help="an instance file in the same format (e.g. Lorena & Senne's p3038_1000)")
    ap.add_argument("--best", type=float, help="the best known value of --file")
    ap.add_argument("--time-limit", type=float, default=300.0, help="time_limit_seconds of the policy (default: %(default)s)")
    args = ap.parse_args(argv)
    inst, label, best, round_down = instance(args)
    with tempfile.TemporaryDirectory(prefix="bench_cpmp_large_") as tmp:
        schools, policy = write_cpmp_files(inst, Path(tmp) / "inputs", time_limit_seconds=args.time_limit, straight_line=True)
        load = os.getloadavg()[0]
        seconds, peak, venue, summary = run_plan(schools, policy, Path(tmp) / "plan", inst.n)
        load_after = os.getloadavg()[0]
    value, feasible = cost(inst, venue, round_down)
    solve = float(summary.get("solve_seconds") or 0.0)
    print(label)
    print(
        f"cluster-mapper plan: {seconds:.1f} s in all (the plan's solve_seconds {solve:.1f}), peak memory {peak / 1e9:.2f} GB; "
        f"load average {load:.2f} before, {load_after:.2f} after (2 cores, shared)"
    )
    print(
        f"plan {value:,.2f} (exact distances; feasible {feasible}); status {summary.get('status')}, gap to its own bound {100 * float(summary.get('gap') or 0):.3f} %"
    )
    for note in summary.get("notes", []):
        print("note:", note)
    if best is not None:
        within = (value - best) / best
        print(f"best known {best:,.2f}: plan {100 * within:+.3f} %")
    else:
        within = float(summary.get("gap") or 0.0)
    ok = feasible and within <= 0.02 and solve <= args.time_limit
    print(f"floor (solve within time_limit_seconds, plan within 2 % of the best known or of its own bound): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
