"""The whole ``cluster-mapper plan`` command against spopt's ``PMedian`` on the public SJC2 instance.

Run from the repository root (spopt is a development dependency: ``pip install -e '.[dev]'``)::

    python -m benchmarks.bench_vs_spopt [--instance SJC2] [--time-limit 60]

SJC2 (Lorena & Senne: 200 points, 15 medians, capacity 720) is written as
the files an office would give: ``schools.csv`` (one school per point, its
demand as its teacher count), ``travel.csv`` (the exact Euclidean distance
of every pair as minutes) and ``policy.toml`` (a plain capacitated
p-median: ``n_clusters = 15``, ``max_teachers = 720``, ``min_teachers = 1``,
no school or travel limit, one trip per school, gender and levels mixed).
Both sides run as a user runs them, each in its own process, timed from
start to end (imports and reading included):

* ``cluster-mapper plan --schools ... --travel-matrix ... --policy ... --no-review``
  (the installed command's ``app``, with the input check's limit of 500
  teachers a school lifted: SJC2's demands reach 654);
* spopt 0.7's ``PMedian.from_cost_matrix`` with ``facility_capacities`` and
  its documented solver, ``pulp.PULP_CBC_CMD`` (the cost matrix is divided
  by each point's demand, because ``PMedian`` weights costs by demand, so
  the objective is the instance's unweighted sum of distances).

Prints both objectives (recomputed here from each plan with exact
distances), the best known value, both times and the ratio. The machine is
shared (2 cores): times are noisy, run it twice.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.measure import run_measured
from tests.fixtures.cpmp import DATA, CpmpInstance, find_file, plan_command, point_id, point_venues, read_cpmp, write_cpmp_files

ROOT = Path(__file__).resolve().parents[1]


def write_district(inst: CpmpInstance, folder: Path, time_limit: float) -> tuple[Path, Path, Path]:
    """The instance as a schools file, a travel matrix of exact distances and a plain-CPMP policy."""
    schools, policy = write_cpmp_files(inst, folder, time_limit_seconds=time_limit, straight_line=False)
    ids = [point_id(i) for i in range(inst.n)]
    d = np.hypot(*(inst.xy[:, None, :] - inst.xy[None, :, :]).transpose(2, 0, 1))
    travel = folder / "travel.csv"
    with open(travel, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["from_school_id", "to_school_id", "minutes"])
        for i in range(inst.n):
            for j in range(inst.n):
                if i != j:
                    w.writerow([ids[i], ids[j], repr(float(d[i, j]))])
    return schools, travel, policy


SPOPT_SCRIPT = """
import sys, numpy as np, pulp
from spopt.locate import PMedian
from tests.fixtures.cpmp import read_cpmp
from pathlib import Path
inst = read_cpmp(Path(sys.argv[1]))
d = np.hypot(*(inst.xy[:, None, :] - inst.xy[None, :, :]).transpose(2, 0, 1))
w = inst.demand.astype(float)
model = PMedian.from_cost_matrix(d / w[:, None], w, inst.p, facility_capacities=np.full(inst.n, float(inst.capacity)))
model = model.solve(pulp.PULP_CBC_CMD(msg=False))
venue = np.full(inst.n, -1)
for j, clients in enumerate(model.fac2cli):
    venue[np.asarray(clients, dtype=int)] = j
print("VENUES", " ".join(map(str, venue.tolist())))
"""


def run_spopt(path: Path) -> tuple[float, np.ndarray]:
    """spopt's PMedian in its own process: (seconds, venue of each point)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SPOPT_SCRIPT, str(path)], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    line = next(x for x in done.stdout.splitlines() if x.startswith("VENUES"))
    return seconds, np.array([int(v) for v in line.split()[1:]])


def run_cluster_mapper(schools: Path, travel: Path, policy: Path, out: Path, n: int) -> tuple[float, np.ndarray, dict]:
    """The command line in its own process: (seconds, venue of each point, summary.json)."""
    cmd = plan_command("--schools", str(schools), "--travel-matrix", str(travel), "--policy", str(policy), "--out", str(out))
    seconds, _ = run_measured(cmd, cwd=out.parent, what="cluster-mapper plan")
    return seconds, point_venues(out, n), json.loads((out / "summary.json").read_text())


def cost(inst: CpmpInstance, venue: np.ndarray) -> tuple[float, bool]:
    """Sum of exact distances of a plan, and whether it is a feasible CPMP plan (everyone placed, p venues, capacities kept)."""
    if np.any(venue < 0):
        return float("inf"), False
    d = np.hypot(*(inst.xy - inst.xy[venue]).T)
    venues = np.unique(venue)
    ok = len(venue) == inst.n and len(venues) == inst.p and all(inst.demand[venue == j].sum() <= inst.capacity for j in venues)
    return float(d.sum()), bool(ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", default="SJC2")
    ap.add_argument("--time-limit", type=float, default=60.0, help="cluster-mapper's time_limit_seconds")
    args = ap.parse_args(argv)
    with open(DATA / "best_known.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["instance"].lower() == args.instance.lower())
    path = find_file(DATA, row["folder"], row["instance"])
    inst = read_cpmp(path)
    with tempfile.TemporaryDirectory(prefix="bench_vs_spopt_") as tmp:
        schools, travel, policy = write_district(inst, Path(tmp) / "inputs", args.time_limit)
        load = os.getloadavg()[0]
        t_cm, v_cm, summary = run_cluster_mapper(schools, travel, policy, Path(tmp) / "plan", inst.n)
        t_sp, v_sp = run_spopt(path)
    c_cm, ok_cm = cost(inst, v_cm)
    c_sp, ok_sp = cost(inst, v_sp)
    best = float(row["best_known"])
    print(f"{row['instance']}: n={inst.n} p={inst.p} capacity={inst.capacity}; best known {best:,.2f} ({row['status']})")
    print(f"cluster-mapper plan: {t_cm:6.1f} s  objective {c_cm:,.2f} (feasible {ok_cm}; status {summary.get('status')}, gap {summary.get('gap')})")
    print(f"spopt PMedian (CBC): {t_sp:6.1f} s  objective {c_sp:,.2f} (feasible {ok_sp})")
    print(f"ratio spopt / cluster-mapper time: {t_sp / t_cm:.2f}x; load average at start {load:.2f} (2 cores, shared: noisy)")
    return 0 if ok_cm and c_cm <= c_sp + 1e-6 * max(1.0, c_sp) else 1


if __name__ == "__main__":
    sys.exit(main())
