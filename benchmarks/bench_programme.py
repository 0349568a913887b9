"""Benchmark: plan a four-district programme at the field study's scale.

Run::

    python -m benchmarks.bench_programme [--teachers 10316] [--districts 4] [--seed 2026] [--travel network|straight]

from the repository root (the generators live in ``tests/fixtures/synthetic.py``, not in the package).

Generates a programme like the field study's (10,316 teachers in Mansehra,
Bagh, Muzaffarabad and Poonch) with ``tests.fixtures.synthetic.make_programme``,
writes each district's schools and roster as the CSV files a user would give
(and its road network as GraphML in network mode) into a temporary folder,
then runs the real pipeline the way ``cluster-mapper plan`` does:
``cluster_mapper.plan`` (the public API) (field-study default policy: 6-12 teachers,
at most 5 schools, 60 minutes, segregated, separate levels, 60 s solver limit
per district), ``cluster_mapper.write_plan`` and ``cluster_mapper.validate_plan`` on the
written plan. Each stage is timed.

Each district is planned with its own files and its own network, one run per
district, and the figures are summed (a plan's objective and bound are sums
over districts in the planner too). One composed network is not used: the
generator numbers every district's nodes 0..n-1 and neighbouring districts
overlap in space (Bagh and Poonch by about three quarters), so schools would
snap onto a neighbour's disconnected network.

Travel: ``network`` (the generated road networks, walking with Tobler's
function) or ``straight`` (straight lines x detour factor). By default the
networks are built and used if that takes under 2 minutes, else straight
lines are used for the same schools and teachers; the choice is printed.

Floors (PASS/FAIL; exit status 1 on any FAIL):
  - whole plan (reading inputs + travel times + solve) under 5 minutes on 2 cores;
  - gap between objective and lower bound <= 2 %;
  - the independent validator finds no violation.

The data is generated, not real.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.measure import pin_cores
from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.policy.rules import DistrictPolicy
from tests.fixtures.synthetic import make_programme, write_district

NETWORK_BUILD_LIMIT_S = 120.0
PLAN_LIMIT_S = 300.0
GAP_LIMIT = 0.02
CORES = 2


@dataclass
class DistrictRun:
    name: str
    schools: int = 0
    teachers: int = 0
    clusters: int = 0
    placed: int = 0
    not_placed: int = 0
    heads_left_out: int = 0
    objective: float = 0.0
    lower_bound: float = 0.0
    status: str = ""
    read_s: float = 0.0
    travel_s: float = 0.0
    solve_s: float = 0.0
    write_s: float = 0.0
    validate_s: float = 0.0
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def plan_s(self) -> float:
        return self.read_s + self.travel_s + self.solve_s

    @property
    def gap(self) -> float:
        return 0.0 if self.objective <= 1e-9 else max(0.0, (self.objective - self.lower_bound) / self.objective)


def run_district(name: str, paths: dict[str, Path], source: TravelSource, work: Path) -> DistrictRun:
    """Plan one district from its files exactly as the CLI does; time each stage."""
    r = DistrictRun(name)
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    result = plan(
        Scenario(paths["schools"], source, paths["teachers"], cache_dir=work / "travel_cache"),
        progress=lambda msg, frac: marks.append((msg, time.perf_counter())),
    )
    t_end = time.perf_counter()
    # progress marks: "reading schools and teachers", "computing travel times", then the solver's own
    t_travel = next(t for m, t in marks if m == "computing travel times")
    after = [t for m, t in marks if t > t_travel and m != "computing travel times"]
    t_solve = after[0] if after else t_end
    r.read_s, r.travel_s, r.solve_s = t_travel - t0, t_solve - t_travel, t_end - t_solve

    out = work / "plans" / name.lower().replace(" ", "_")
    t0 = time.perf_counter()
    write_plan(result, out)
    r.write_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    rep = validate_plan(out)
    r.validate_s = time.perf_counter() - t0
    r.violations = list(rep.violations)

    s = result.summary
    r.schools = len(result.inputs.schools)
    r.teachers = s["teachers_total"]
    r.clusters = s["clusters"]
    r.placed = s["teachers_placed"]
    r.not_placed = s["teachers_not_placed"]
    r.heads_left_out = s["head_teachers_left_out"]
    r.objective = float(result.objective)
    r.lower_bound = float(result.lower_bound)
    r.status = result.status
    r.notes = list(result.travel.notes)
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teachers", type=int, default=10316)
    ap.add_argument("--districts", type=int, default=4)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--travel", choices=["network", "straight"], default=None, help="default: network if building the networks takes under 2 minutes, else straight lines"
    )
    ap.add_argument("--keep", type=Path, default=None, help="write inputs and plans into this folder and keep them (default: a temporary folder)")
    args = ap.parse_args(argv)

    cores = pin_cores(CORES)
    dp = DistrictPolicy()
    print(f"bench_programme: {args.teachers:,} teachers, {args.districts} districts, seed {args.seed} (generated data)")
    print(f"cores used: {cores}")
    print(
        f"policy: field-study defaults: {dp.min_teachers}-{dp.max_teachers} teachers, at most {dp.max_schools} schools, "
        f"{dp.max_travel_minutes:g} min, gender {dp.gender}, levels {dp.levels}, objective {dp.objective}, "
        f"solver limit {dp.time_limit_seconds:g} s per district"
    )

    # 1. generation
    want_network = args.travel != "straight"
    t0 = time.perf_counter()
    prog = make_programme(n_teachers=args.teachers, n_districts=args.districts, seed=args.seed, with_network=want_network)
    gen_s = time.perf_counter() - t0
    if args.travel == "network":
        travel, why = "network", "asked for with --travel network"
    elif args.travel == "straight":
        travel, why = "straight", "asked for with --travel straight"
    elif gen_s < NETWORK_BUILD_LIMIT_S:
        travel, why = "network", f"default: the networks were built in {gen_s:.1f} s (< {NETWORK_BUILD_LIMIT_S:.0f} s)"
    else:
        travel, why = "straight", f"default: building the networks took {gen_s:.1f} s (>= {NETWORK_BUILD_LIMIT_S:.0f} s)"
    print(f"travel times: {'road networks (walking, Tobler)' if travel == 'network' else 'straight lines x detour factor'} -- {why}")
    if want_network:
        nodes = sum(g.number_of_nodes() for g in prog.graphs.values())
        edges = sum(g.number_of_edges() for g in prog.graphs.values())
        print(f"networks: {nodes:,} nodes, {edges:,} directed edges in {len(prog.graphs)} district graphs")

    with tempfile.TemporaryDirectory(prefix="bench_programme_") as tmp:
        work = args.keep if args.keep is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        files = {}
        for name, d in prog.districts.items():
            if travel == "straight":
                d.graph = None  # write CSVs only
            files[name] = write_district(d, work / "inputs")
        inputs_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for f in files.values() for p in f.values())
        print(f"input files: {sum(len(f) for f in files.values())} files, {size / 1e6:.1f} MB in {work / 'inputs'}")

        # 2. the pipeline, one run per district
        runs = []
        print()
        print(
            f"{'district':<14}{'schools':>8}{'teachers':>9}{'clusters':>9}{'placed':>8}{'not pl.':>8}"
            f"{'objective':>11}{'bound':>11}{'gap %':>7}  {'status':<11}{'read+travel s':>14}{'solve s':>8}{'valid':>7}"
        )
        for name, paths in files.items():
            src = TravelSource(network_path=str(paths["roads"])) if travel == "network" else TravelSource(straight_line=True)
            r = run_district(name, paths, src, work)
            runs.append(r)
            print(
                f"{r.name:<14}{r.schools:>8,}{r.teachers:>9,}{r.clusters:>9,}{r.placed:>8,}{r.not_placed:>8,}"
                f"{r.objective:>11,.1f}{r.lower_bound:>11,.1f}{100 * r.gap:>7.2f}  {r.status:<11}"
                f"{r.read_s + r.travel_s:>14.1f}{r.solve_s:>8.1f}{'yes' if not r.violations else 'NO':>7}",
                flush=True,
            )

    return report(runs, gen_s=gen_s, inputs_s=inputs_s, want_network=want_network)


def report(runs: list[DistrictRun], *, gen_s: float, inputs_s: float, want_network: bool) -> int:
    """Print the programme's totals, times and floors; 0 when every floor passes, else 1."""
    obj = sum(r.objective for r in runs)
    lb = sum(r.lower_bound for r in runs)
    gap = 0.0 if obj <= 1e-9 else max(0.0, (obj - lb) / obj)
    status = "optimal" if all(r.status == "optimal" for r in runs) else "time_limit"
    read_s = sum(r.read_s for r in runs)
    travel_s = sum(r.travel_s for r in runs)
    solve_s = sum(r.solve_s for r in runs)
    plan_s = sum(r.plan_s for r in runs)
    violations = [f"{r.name}: {v}" for r in runs for v in r.violations]
    teachers = sum(r.teachers for r in runs)
    placed = sum(r.placed for r in runs)
    not_placed = sum(r.not_placed for r in runs)
    heads = sum(r.heads_left_out for r in runs)

    print()
    print("programme")
    print(f"  teachers            {teachers:,}")
    print(f"  schools             {sum(r.schools for r in runs):,}")
    print(f"  clusters            {sum(r.clusters for r in runs):,}")
    print(f"  teachers placed     {placed:,} ({100 * placed / max(1, teachers):.1f} %)")
    print(f"  teachers not placed {not_placed:,} (of whom {heads:,} head teachers, left out by policy)")
    print(f"  objective           {obj:,.1f} teacher-minutes")
    print(f"  lower bound         {lb:,.1f}")
    print(f"  gap                 {100 * gap:.3f} %")
    print(f"  status              {status}")
    print("times (s)")
    print(f"  generation          {gen_s:8.1f}{'  (incl. road networks)' if want_network else ''}")
    print(f"  write inputs        {inputs_s:8.1f}")
    print(f"  read inputs         {read_s:8.1f}")
    print(f"  travel times        {travel_s:8.1f}")
    print(f"  solve               {solve_s:8.1f}")
    print(f"  write plan          {sum(r.write_s for r in runs):8.1f}")
    print(f"  validate            {sum(r.validate_s for r in runs):8.1f}")
    print(f"  whole plan          {plan_s:8.1f}  (read + travel + solve)")
    notes = [f"{r.name}: {n}" for r in runs for n in r.notes]
    for n in notes[:12]:
        print(f"note: {n}")

    checks = [
        (f"whole plan (read + travel + solve) {plan_s:.1f} s < {PLAN_LIMIT_S:.0f} s on {CORES} cores", plan_s < PLAN_LIMIT_S),
        (f"gap {100 * gap:.3f} % <= {100 * GAP_LIMIT:.0f} %", gap <= GAP_LIMIT),
        (f"validator: {len(violations)} violation(s)", not violations),
    ]
    print("floors")
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    for v in violations[:20]:
        print(f"  violation: {v}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
