"""Benchmark: a district without a travel limit, too large for a complete model, planned on sparse candidates.

Run::

    python -m benchmarks.bench_no_limit [--schools 5000] [--seed 2026] [--time-limit 120] [--keep DIR]

Generates one district with ``tests.fixtures.synthetic.make_district`` (schools and
rosters; generated, none real), and plans it through the public API with
straight-line travel and a policy without a travel limit or school limit
(``max_travel_minutes = 0``, ``max_schools = 0``; 6-12 teachers, gender
segregated, levels separate). Every pair of a gender and level group is then
allowed: the complete model's estimated memory
(:func:`cluster_mapper.model.limits.estimate_model_bytes`) is printed per group,
and groups whose complete model would not fit are built on sparse candidates
(:mod:`cluster_mapper.model.candidates`). Prints the pairs built against the
complete problem's, objective, the bound (valid for every pair), the gap,
times and peak memory, and checks the written plan with the independent
validator. Before sparse candidates such a district was refused by the memory
guard before it started.

There is no floor: the figures say how far the bound and the plan are apart
when the field's minimum cluster size weakens the LP bound.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.model.limits import MAX_FRACTION, available_memory_bytes, estimate_model_bytes
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
    result = plan(scenario)
    t_plan = time.perf_counter() - t1
    avail = available_memory_bytes()
    for key, g in result.units.groupby(["gender_group", "level_group"]):
        need = estimate_model_bytes(len(g), len(g) ** 2)
        fits = avail is None or need <= MAX_FRACTION * avail
        print(f"group {'/'.join(key)}: {len(g):,} units, {len(g) ** 2:,} pairs; complete model ~{need / 1e9:.1f} GB: {'fits' if fits else 'would be refused'}")
    for note in result.notes:
        if "sparse candidates" in note:
            print("note:", note)
    out = write_plan(result, base / "plan", review=False)
    t2 = time.perf_counter()
    report = validate_plan(out)
    t_val = time.perf_counter() - t2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"plan {result.objective:,.1f} teacher-minutes, bound {result.lower_bound:,.1f}, gap {100 * result.gap:.2f} %, status {result.status}; "
        f"{result.teachers_placed:,} placed, {result.teachers_not_placed:,} not placed, {len(result.clusters):,} clusters"
    )
    print(f"plan (read, travel, solve) {t_plan:.1f} s; validate {t_val:.1f} s, {len(report.violations)} violation(s); peak memory {peak / 1e9:.2f} GB")
    return 0 if not report.violations else 1


if __name__ == "__main__":
    raise SystemExit(main())
