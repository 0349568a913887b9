"""Benchmark: a district of 5,000 schools without a travel limit, through the public API.

Run::

    python -m benchmarks.bench_no_limit [--schools 5000] [--seed 2026] [--time-limit 120] [--keep DIR]

Generates one district with ``tests.fixtures.synthetic.make_district`` (schools and
rosters; generated, none real), and plans it through the public API
(``cluster_mapper.plan``, ``write_plan``) with straight-line travel and a policy
without a travel limit or school limit (``max_travel_minutes = 0``,
``max_schools = 0``; 6-12 teachers, gender segregated, levels separate).
Nothing is quadratic: the travel table holds each school's nearest schools
(``travel/nearest.py``; any other pair is computed when needed, with the chord
through the Earth as a lower bound for the pairs left out), and a group of
more than ``planning.solve.COMPLETE_UNITS`` units is built on sparse
candidates with a bound valid for every pair (``model/candidates.py``) — a
rule on the problem's size, never on the machine's free memory. Prints per
group the units and the complete problem's pairs, the travel pairs kept,
objective, bound, gap, times and the peak memory of the process tree, and
checks the written plan with the independent validator.

Floor (issue 19): within 2 GB and within 2 % of the plan's proven bound.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.measure import PeakMemory
from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from tests.fixtures.synthetic import make_district


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schools", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--time-limit", type=float, default=120.0, help="solver time limit of the district, seconds")
    ap.add_argument("--keep", type=Path, help="keep inputs and plan in this folder")
    args = ap.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench_no_limit_"))
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    d = make_district(args.schools, args.seed, name="Nolimit", with_network=False)
    d.schools.drop(columns="geometry").to_csv(base / "schools.csv", index=False)
    d.teachers.to_csv(base / "teachers.csv", index=False)
    (base / "policy.toml").write_text(f"max_travel_minutes = 0\nmax_schools = 0\ntime_limit_seconds = {args.time_limit}\n", encoding="utf-8")
    print(f"generated {len(d.schools):,} schools and {len(d.teachers):,} teachers in {time.perf_counter() - t0:.1f} s (generated data)")
    scenario = Scenario(base / "schools.csv", TravelSource(straight_line=True), teachers=base / "teachers.csv", policy=base / "policy.toml", cache_dir=False)
    t1 = time.perf_counter()
    with PeakMemory() as mem:
        result = plan(scenario)
        t_plan = time.perf_counter() - t1
        for key, g in result.units.groupby(["gender_group", "level_group"]):
            print(f"group {'/'.join(key)}: {len(g):,} units, complete problem {len(g) ** 2:,} pairs")
        print(f"travel table: {len(result.travel.pairs):,} pairs (complete: {len(d.schools) ** 2:,})")
        for note in result.notes:
            if "sparse candidates" in note or "cut the solver" in note:
                print("note:", note)
        t2 = time.perf_counter()
        out = write_plan(result, base / "plan", review=False)
        t_write = time.perf_counter() - t2
    t3 = time.perf_counter()
    report = validate_plan(out)
    t_val = time.perf_counter() - t3
    print(
        f"plan {result.objective:,.1f} teacher-minutes, bound {result.lower_bound:,.1f}, gap {100 * result.gap:.2f} %, status {result.status}; "
        f"{result.teachers_placed:,} placed, {result.teachers_not_placed:,} not placed, {len(result.clusters):,} clusters"
    )
    print(
        f"plan (read, travel, solve) {t_plan:.1f} s (solve_seconds {result.solve_seconds:.1f}); write {t_write:.1f} s; "
        f"validate {t_val:.1f} s, {len(report.violations)} violation(s); peak memory (plan and write) {mem.peak / 1e9:.2f} GB"
    )
    ok = not report.violations and mem.peak <= 2e9 and result.gap <= 0.02
    print(f"floor (within 2 GB and 2 % of the bound, validator clean): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
