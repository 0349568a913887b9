"""Benchmark: districts of 200-400 schools on real road networks, with the field's rules, planned twice.

Run::

    python -m benchmarks.bench_real_districts [--only NAME ...] [--keep DIR] [--time-limit S]

Real and generated, honestly: the road networks are real OpenStreetMap
extracts kept in ``tests/data`` (Abbottabad city, ODbL, see
``tests/data/README.md``; a few blocks of West Oakland from the osmnx test
data, MIT, see ``tests/data/osm/README.md``). There is no real school list
of this size here (the Abbottabad extract has 25 schools, and there is no
Islamabad extract), so the *school sites are generated*: seeded points on
the real roads (a random road segment, weighted by length, and a random
point along it), each with a generated gender (boys, girls or mixed), level
(primary, middle or high) and staff of 3-12 teachers (the staff's genders
follow the school's; levels follow the school's level). Every school file
says ``generated = true``.

Each district is planned as ``cluster-mapper plan`` plans it, through the
public API (``cluster_mapper.plan(Scenario(...))`` with the real network as
``TravelSource(network_path=...)``, no policy file: the field-study defaults,
6-12 teachers, at most 5 schools, 60 minutes' walk, gender segregated,
levels separate, 60 s per district), then written with
``cluster_mapper.write_plan`` and checked with ``cluster_mapper.validate_plan``.
It is planned a second time into another folder, and the two plan folders
are compared byte for byte (every ``.csv`` and ``clusters.geojson``, and
``summary.json`` without its one timing, ``solve_seconds``).

Printed per district: schools, teachers, clusters, teachers placed, the
objective (teacher-minutes), the proven lower bound, the gap, the status,
the solve seconds of each run, whether the two runs gave the same plan
files, and the validator's verdict. Floors (PASS/FAIL, exit status 1 on
any FAIL), issue 19: gap <= 1 %, the same plan files twice, validator clean.
The process is pinned to 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import pin_cores
from tests.fixtures.real_sites import write_sites_district

ROOT = Path(__file__).resolve().parents[1]
GAP_LIMIT = 0.01
CORES = 2


@dataclass(frozen=True)
class District:
    """A district to build: a real network and how many generated schools to put on it."""

    name: str
    network: Path
    n_schools: int
    seed: int
    gender_p: tuple[float, float, float] = (0.4, 0.4, 0.2)  # boys', girls' and mixed schools


DISTRICTS = (
    District("Abbottabad-200", ROOT / "tests/data/abbottabad/abbottabad.osm.pbf", 200, 19),
    District("Abbottabad-400", ROOT / "tests/data/abbottabad/abbottabad.osm.pbf", 400, 20),
    District("West-Oakland-300", ROOT / "tests/data/osm/West-Oakland.osm.bz2", 300, 21),
    # a stress case: 500 schools, 70 % of them co-educational, so most units are small and dense
    District("Abbottabad-500-coed", ROOT / "tests/data/abbottabad/abbottabad.osm.pbf", 500, 25, (0.15, 0.15, 0.7)),
)


def plan_files(folder: Path) -> dict[str, bytes]:
    """The plan folder's files as bytes; ``summary.json`` without ``solve_seconds`` (a timing)."""
    out = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".csv", ".geojson")}
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    summary.pop("solve_seconds", None)
    out["summary.json"] = json.dumps(summary, sort_keys=True).encode()
    return out


def run_district(d: District, base: Path, time_limit: float | None) -> dict:
    """Plan ``d`` twice through the public API; the figures of both runs."""
    from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
    from cluster_mapper.policy.load import policy_from_dict

    schools, teachers = write_sites_district(d.network, d.n_schools, d.seed, d.name, base / d.name, gender_p=d.gender_p)
    policy = None if time_limit is None else policy_from_dict({"time_limit_seconds": time_limit})
    scenario = Scenario(schools=schools, teachers=teachers, travel=TravelSource(network_path=str(d.network)), policy=policy, cache_dir=False)
    runs = []
    for k in (1, 2):
        t = time.perf_counter()
        result = plan(scenario)
        seconds = time.perf_counter() - t
        out = write_plan(result, base / d.name / f"plan_{k}", review=False)
        runs.append((result, seconds, out))
    result = runs[0][0]
    valid = validate_plan(runs[0][2])
    return {
        "name": d.name,
        "schools": len(result.inputs.schools),
        "teachers": int(result.teachers["n_teachers"].sum()),
        "clusters": len(result.clusters),
        "placed": result.teachers_placed,
        "objective": result.objective,
        "bound": result.lower_bound,
        "gap": result.gap,
        "status": result.status,
        "solve_s": [r.solve_seconds for r, _, _ in runs],
        "plan_s": [s for _, s, _ in runs],
        "same": plan_files(runs[0][2]) == plan_files(runs[1][2]),
        "objective_2": runs[1][0].objective,
        "violations": len(valid.violations),
        "notes": [n for n in result.notes if "time limit" in n or "proven" in n][:4],
        "notes_2": [n for n in runs[1][0].notes if n not in result.notes and ("time limit" in n or "proven" in n)][:4],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="district names to run (default: all)")
    ap.add_argument("--keep", type=Path, help="keep the generated inputs and plans in this folder")
    ap.add_argument("--time-limit", type=float, help="time_limit_seconds (default: the policy's default, 60 s)")
    args = ap.parse_args(argv)
    cores = pin_cores(CORES)
    tmp = tempfile.TemporaryDirectory() if args.keep is None else None
    base = Path(tmp.name) if tmp else args.keep
    print(f"cores: {cores}; load average {os.getloadavg()[0]:.2f}; school sites, genders, levels and staff GENERATED on real road networks")
    head = f"{'district':18} {'schools':>7} {'teachers':>8} {'clusters':>8} {'placed':>6} {'objective':>11} {'bound':>11} {'gap %':>6} {'status':10} {'solve s':>13} same  valid"
    print(head)
    ok = True
    for d in DISTRICTS:
        if args.only and d.name not in args.only:
            continue
        f = run_district(d, base, args.time_limit)
        secs = "/".join(f"{s:.1f}" for s in f["solve_s"])
        print(
            f"{f['name']:18} {f['schools']:>7,} {f['teachers']:>8,} {f['clusters']:>8,} {f['placed']:>6,} {f['objective']:>11,.1f} {f['bound']:>11,.1f} "
            f"{100 * f['gap']:>6.2f} {f['status']:10} {secs:>13} {'yes' if f['same'] else 'NO':5} {f['violations']} violation(s)"
        )
        for note in f["notes"]:
            print(f"    note: {note}")
        for note in f["notes_2"]:
            print(f"    second run only: {note}")
        if not f["same"]:
            print(f"    second run's objective: {f['objective_2']:,.1f}")
        ok &= f["gap"] <= GAP_LIMIT and f["same"] and f["violations"] == 0
    print(f"load average after {os.getloadavg()[0]:.2f}; {'PASS' if ok else 'FAIL'}: gap <= {100 * GAP_LIMIT:.0f} %, same plan files twice, validator clean")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
