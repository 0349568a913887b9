"""A province (or a nation) of generated districts planned as Dask tasks.

Usage::

    # a province: 35 districts, about 30,000 schools and 150,000 teachers, one road network, local Dask cluster
    python -m benchmarks.bench_province --districts 35 --schools 30000 --teachers 150000 --workers 2

    # a national simulation: 150 districts, 1,000,000 teachers (straight-line travel); plan a sample of
    # SAMPLE districts on 1 and on 2 workers and extrapolate to 64 workers
    python -m benchmarks.bench_province --national --sample 8

Districts come from ``tests.fixtures.synthetic.make_district`` (generated settlements,
schools, rosters and, with ``--travel network``, terrain and a walking
network; the districts' networks are put into ONE network file, node ids
made distinct, as a province extract would be). The run is
:func:`cluster_mapper.programme.run.plan_districts` (what ``cluster-mapper plan``
runs) on a local Dask cluster of ``--workers`` single-threaded worker processes, then ``write_plan`` and the
independent validator. Prints the whole time, the gap, the peak memory of the
coordinator and its workers (sampled every 0.5 s with psutil) and the load.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import pandas as pd

from benchmarks.measure import PeakMemory
from cluster_mapper import Scenario, TravelSource, validate_plan, write_plan
from cluster_mapper.programme.merge import region_table
from cluster_mapper.programme.run import ProgrammeSettings, plan_districts
from tests.fixtures.synthetic import SCHOOL_COLUMNS, TEACHER_COLUMNS, make_district


def generate(n_districts: int, n_schools: int, n_teachers: int, seed: int, network: bool, out: Path) -> dict[str, Path]:
    """Write schools.csv, teachers.csv (all districts) and roads.graphml (one network for all)."""
    import osmnx as ox

    schools, teachers, graphs = [], [], []
    per_s, per_t = n_schools // n_districts, n_teachers // n_districts
    side = math.ceil(math.sqrt(n_districts))
    for i in range(n_districts):
        centre = (70.5 + 0.55 * (i % side), 31.0 + 0.45 * (i // side))
        d = make_district(per_s, seed + 101 * i, f"District {i + 1:03d}", centre, with_network=network, n_teachers=per_t, id_prefix=f"D{i + 1:03d}")
        schools.append(pd.DataFrame(d.schools[SCHOOL_COLUMNS]))
        teachers.append(d.teachers[TEACHER_COLUMNS])
        if d.graph is not None:
            graphs.append(nx.relabel_nodes(d.graph, {n: (i + 1) * 10_000_000 + n for n in d.graph.nodes}))
    sch = pd.concat(schools, ignore_index=True)
    sch["can_host"] = sch["can_host"].map({True: "true", False: "false"})
    paths = {"schools": out / "schools.csv", "teachers": out / "teachers.csv"}
    sch.to_csv(paths["schools"], index=False)
    pd.concat(teachers, ignore_index=True).to_csv(paths["teachers"], index=False)
    if graphs:
        G = nx.union_all(graphs)
        G.graph.update({k: v for k, v in graphs[0].graph.items() if k != "district"})
        paths["network"] = out / "roads.graphml"
        ox.save_graphml(G, paths["network"])
    return paths


def run(paths: dict[str, Path], workers: int, out: Path, executor: str = "dask") -> tuple[float, object, int]:
    travel = TravelSource(network_path=str(paths["network"])) if "network" in paths else TravelSource(straight_line=True)
    scenario = Scenario(schools=paths["schools"], teachers=paths["teachers"], travel=travel, cache_dir=False)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        plan = plan_districts(scenario, ProgrammeSettings(n_workers=workers, executor=executor, checkpoint=False), out=out)
        seconds = time.perf_counter() - t0
    return seconds, plan, mem.peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--districts", type=int, default=35)
    ap.add_argument("--schools", type=int, default=30000)
    ap.add_argument("--teachers", type=int, default=150000)
    ap.add_argument("--travel", choices=["network", "straight"], default="network")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--national", action="store_true", help="150 districts, 1,000,000 teachers, 150,000 schools, straight lines")
    ap.add_argument("--sample", type=int, default=8, help="national: districts planned on 1 and 2 workers (default: %(default)s)")
    ap.add_argument("--keep", type=Path, help="keep inputs and plan in this folder (inputs already there are reused)")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory() if args.keep is None else None
    base = Path(tmp.name) if tmp else args.keep
    base.mkdir(parents=True, exist_ok=True)
    if args.national:
        n_d, n_s, n_t = 150, 150_000, 1_000_000
        share = args.sample
        t0 = time.perf_counter()
        paths = generate(share, n_s // n_d * share, n_t // n_d * share, args.seed, False, base)
        print(
            f"national simulation: {n_d} districts of {n_s // n_d:,} schools and {n_t // n_d:,} teachers; "
            f"a sample of {share} districts generated in {time.perf_counter() - t0:.0f} s (straight-line travel)"
        )
        times = {}
        for w in (1, 2):
            load = os.getloadavg()[0]
            seconds, plan, peak = run(paths, w, base / f"plan{w}")
            table = region_table(plan.region_results)
            times[w] = seconds
            print(
                f"{w} worker(s): {seconds:.1f} s for {share} districts (load before {load:.2f}); gap {100 * plan.gap:.3f} %, "
                f"peak memory {peak / 1e9:.2f} GB; per district {table['seconds'].mean():.1f} s mean, {table['seconds'].max():.1f} s max"
            )
        per = times[1] / share  # wall seconds per district on one worker, overheads included
        slowest = float(table["seconds"].max())
        t64 = math.ceil(n_d / 64) * slowest
        print(f"speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x")
        print(
            f"extrapolated: {n_d} districts on 1 worker ~ {n_d * per / 60:.0f} min; on 64 workers ~ {math.ceil(n_d / 64)} rounds of the slowest "
            f"sampled district ({slowest:.0f} s) = {t64 / 60:.1f} min, plus reading the inputs once on the client "
            "(assumptions: districts of this size cost about the same; one core and enough memory per worker; "
            "the client and scheduler keep up with 64 workers; no shared-network bottleneck)"
        )
        return 0
    t0 = time.perf_counter()
    if args.keep is not None and (base / "schools.csv").exists() and (base / "teachers.csv").exists():
        paths = {"schools": base / "schools.csv", "teachers": base / "teachers.csv"}  # inputs kept from an earlier run
        if (base / "roads.graphml").exists() and args.travel == "network":
            paths["network"] = base / "roads.graphml"
    else:
        paths = generate(args.districts, args.schools, args.teachers, args.seed, args.travel == "network", base)
    gen = time.perf_counter() - t0
    print(f"province: {args.districts} districts, {args.schools:,} schools, {args.teachers:,} teachers, travel {args.travel}; generated in {gen:.0f} s")
    load = os.getloadavg()[0]
    seconds, plan, peak = run(paths, args.workers, base / "plan")
    t1 = time.perf_counter()
    write_plan(plan, base / "plan", review=False)
    write_s = time.perf_counter() - t1
    table = region_table(plan.region_results)
    print(table.sort_values("seconds", ascending=False).head(5).to_string(index=False))
    valid = validate_plan(base / "plan") if args.travel == "straight" else None
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in plan.phase_seconds.items())
    print(f"phases: {phases}; sum of the districts' task times {table['seconds'].sum():.1f} s")
    print(
        f"whole run on {args.workers} workers: {seconds:.1f} s (read, cut network, travel, solve, merge), write {write_s:.1f} s; "
        f"gap {100 * plan.gap:.3f} %, status {plan.status}; peak memory (client + workers) {peak / 1e9:.2f} GB; "
        f"load average before {load:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{plan.teachers_placed:,} teachers placed of {plan.teachers_placed + plan.teachers_not_placed:,}; clusters {len(plan.clusters):,}"
        + (f"; validator: {len(valid.violations)} violation(s)" if valid is not None else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
