"""Benchmark: one very large district (about 5,000 schools, 30,000 teachers) on a walking network.

Run::

    python -m benchmarks.bench_district_large [--schools 5000] [--teachers 30000] [--seed 2026]
                                              [--keep DIR] [--no-review]

Generates one district with ``tests.fixtures.synthetic.make_district`` (settlements,
schools, rosters, terrain and a walking network; all generated, none real),
writes the files a user would give (``tests.fixtures.synthetic.write_district``:
schools CSV, roster CSV, roads GraphML) and plans it as ``cluster-mapper
plan`` does, through the public API with the field-study default policy
(6-12 teachers, at most 5 schools, 60-minute walking limit, gender
segregated, levels separate, 60 s solver limit): ``read_inputs``,
``travel_times`` (loading the network and the cut-off searches),
``plan(Scenario(...), inputs=..., travel=...)`` (the solve: units, models,
reasons, cluster names) and ``write_plan(..., review=False)`` (the plan
files), each timed. The map and report are timed on their own: the plan is
written a second time with them (``write_plan(..., review=True)``, what
``cluster-mapper plan`` does by default). The independent validator
(``validate_plan``) then checks the written
plan; its time is reported apart and is not part of the run.

The measurement runs in a fresh child process (so generation does not count
towards its memory); the peak memory is the resident memory of that process
and all its children, sampled every 0.2 s with psutil, and the child's own
``ru_maxrss`` as a check. ``--keep DIR`` keeps the inputs and plan in DIR;
inputs already there are reused (generation takes about 15 s).

Floors (PASS/FAIL; exit status 1 on any FAIL), issue 11 item 4:
  - the whole run (read + travel + solve + write of the plan files) within 60 s on 2 cores;
  - gap between objective and lower bound <= 1 %;
  - peak memory of the run under 2 GB;
  - the independent validator finds no violation.

The data is generated, not real.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The generators live in tests/fixtures/synthetic.py, not in the package: import from the repository root.
from benchmarks.measure import PeakMemory, pin_cores

RUN_LIMIT_S = 60.0
GAP_LIMIT = 0.01
MEMORY_LIMIT = 2e9
CORES = 2
STEM = "large"


def inputs_in(base: Path) -> dict[str, Path] | None:
    paths = {k: base / f"{STEM}_{k}.{ext}" for k, ext in (("schools", "csv"), ("teachers", "csv"), ("roads", "graphml"))}
    return paths if all(p.exists() for p in paths.values()) else None


def generate(n_schools: int, n_teachers: int, seed: int, base: Path) -> dict[str, Path]:
    """Generate the district and write its schools, roster and walking network."""
    from tests.fixtures.synthetic import make_district, write_district

    d = make_district(n_schools, seed, "Large District", (73.3, 34.6), with_network=True, n_teachers=n_teachers, id_prefix="LRG")
    return write_district(d, base, stem=STEM)


def measure(base: Path, review: bool) -> dict:
    """Plan the district in ``base`` as a user does; return the figures (run in a child process)."""
    from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
    from cluster_mapper.api import read_inputs, travel_times

    paths = inputs_in(base)
    assert paths is not None
    out = base / "plan"
    scenario = Scenario(schools=paths["schools"], teachers=paths["teachers"], travel=TravelSource(network_path=str(paths["roads"])), cache_dir=False)
    fig: dict = {"load_before": os.getloadavg()[0]}
    with PeakMemory(every=0.2) as mem:
        t = time.perf_counter()
        policy = scenario.load_policy()
        inputs = read_inputs(scenario, policy)
        fig["read_s"] = time.perf_counter() - t
        t = time.perf_counter()
        travel = travel_times(inputs.schools, scenario.travel, policy, cache_dir=False)
        fig["travel_s"] = time.perf_counter() - t
        t = time.perf_counter()
        result = plan(scenario, inputs=inputs, travel=travel)
        fig["solve_s"] = time.perf_counter() - t
        t = time.perf_counter()
        write_plan(result, out, review=False)
        fig["write_s"] = time.perf_counter() - t
        fig["peak_run"] = mem.peak
        if review:  # the plan files again with the map and report, as `cluster-mapper plan` writes them by default
            t = time.perf_counter()
            write_plan(result, base / "plan_with_review", review=True)
            fig["review_s"] = time.perf_counter() - t
    fig["peak_all"] = mem.peak
    fig["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    fig["load_after"] = os.getloadavg()[0]
    fig.update(
        schools=len(inputs.schools),
        teachers=int(inputs.teachers["n_teachers"].sum()) if "n_teachers" in inputs.teachers else len(inputs.teachers),
        nodes=travel.network.number_of_nodes() if travel.network is not None else 0,
        pairs=len(travel.times.pairs),
        clusters=len(result.clusters),
        placed=result.teachers_placed,
        not_placed=result.teachers_not_placed,
        objective=result.objective,
        bound=result.lower_bound,
        gap=result.gap,
        status=result.status,
        notes=[n for n in result.notes if "pairs" in n or "candidate" in n],
    )
    del result, travel, inputs
    t = time.perf_counter()
    valid = validate_plan(out)
    fig["validate_s"] = time.perf_counter() - t
    fig["violations"] = [str(v) for v in valid.violations][:5]
    fig["n_violations"] = len(valid.violations)
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schools", type=int, default=5000)
    ap.add_argument("--teachers", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", type=Path, help="keep inputs and plan in this folder (inputs already there are reused)")
    ap.add_argument("--no-review", action="store_true", help="do not write (and time) the map and report")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process: plan the inputs in this folder
    args = ap.parse_args(argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure, not args.no_review)))
        return 0
    cores = pin_cores(CORES)
    tmp = tempfile.TemporaryDirectory() if args.keep is None else None
    base = Path(tmp.name) if tmp else args.keep
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if inputs_in(base) is None:
        generate(args.schools, args.teachers, args.seed, base)
        print(f"generated {args.schools:,} schools, {args.teachers:,} teachers and a walking network in {time.perf_counter() - t0:.0f} s")
    else:
        print(f"inputs reused from {base}")
    cmd = [sys.executable, "-m", "benchmarks.bench_district_large", "--measure", str(base)] + (["--no-review"] if args.no_review else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        return 1
    f = json.loads(done.stdout.strip().splitlines()[-1])
    run_s = f["read_s"] + f["travel_s"] + f["solve_s"] + f["write_s"]
    print(
        f"district: {f['schools']:,} schools, {f['teachers']:,} teachers, walking network of {f['nodes']:,} nodes, "
        f"{f['pairs']:,} school pairs within the cutoff; cores: {cores}"
    )
    print(
        f"phases (s): read {f['read_s']:.1f}, travel {f['travel_s']:.1f} (load network + cut-off searches), "
        f"solve {f['solve_s']:.1f} (units, models, reasons, names), write {f['write_s']:.1f} (plan files, no map/report)"
        + (f"; write with map + report {f['review_s']:.1f} (as `plan` does by default; not in the run)" if "review_s" in f else "")
    )
    print(
        f"whole run (read + travel + solve + write) {run_s:.1f} s; objective {f['objective']:,.1f}, bound {f['bound']:,.1f}, "
        f"gap {100 * f['gap']:.3f} %, status {f['status']}; {f['clusters']:,} clusters, {f['placed']:,} placed, {f['not_placed']:,} not placed"
    )
    for note in f["notes"]:
        print(f"note: {note}")
    print(
        f"peak memory (process tree, sampled): run {f['peak_run'] / 1e9:.2f} GB"
        + (f", with map + report {f['peak_all'] / 1e9:.2f} GB" if "review_s" in f else "")
        + f"; ru_maxrss {f['maxrss'] / 1e9:.2f} GB; load average before {f['load_before']:.2f}, after {f['load_after']:.2f}"
    )
    print(f"validate {f['validate_s']:.1f} s (not in the run): {f['n_violations']} violation(s)" + "".join(f"\n  {v}" for v in f["violations"]))
    floors = [
        (f"whole run {run_s:.1f} s <= {RUN_LIMIT_S:.0f} s", run_s <= RUN_LIMIT_S),
        (f"gap {100 * f['gap']:.3f} % <= {100 * GAP_LIMIT:.0f} %", f["gap"] <= GAP_LIMIT),
        (f"peak memory {f['peak_run'] / 1e9:.2f} GB < {MEMORY_LIMIT / 1e9:.0f} GB", max(f["peak_run"], f["maxrss"]) < MEMORY_LIMIT),
        (f"validator {f['n_violations']} violation(s)", f["n_violations"] == 0),
    ]
    print("; ".join(("PASS " if ok else "FAIL ") + text for text, ok in floors))
    return 0 if all(ok for _, ok in floors) else 1


if __name__ == "__main__":
    sys.exit(main())
