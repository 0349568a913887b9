"""Benchmark: plan facilitator support for a four-district programme at the field study's scale.

Run (from the repository root)::

    python -m benchmarks.bench_support [--teachers 10316] [--districts 4] [--seed 2026]
                                       [--per 10] [--binding-per 20] [--binding-days 8]
                                       [--compare-routing [--routing-seconds 60]] [--sample]
                                       [--only {programme,real}] [--real-schools 300]
                                       [--real-per 30] [--real-drive-per 200] [--real-days 8]

Generates the programme as ``bench_programme.py`` does (10,316 teachers in
four districts, generated road networks, walking with Tobler's function),
plans each district's clusters through the public API, then gives each
district a generated team of facilitators, one per ``--per`` clusters of each
gender, tied to their district (``tests.fixtures.generate_facilitators.facilitators_for_plan``:
TTOs as in Mansehra, all levels, bases chosen among host schools), and plans
their support with ``support.plan_support`` (the field defaults: 180-minute
meetings, 480-minute days, one meeting a month). Each plan is written and
checked by the independent validator, support files included.

Printed per district and for the programme: clusters, facilitators, clusters
supported (and how many no eligible facilitator can reach in a day),
facilitator travel in the month (total, mean and largest per facilitator),
the one-round-trip-per-meeting floor, the proven lower bound and gap, and
the times.

Then, per district, a team where facilitator-days bind (issue 18): one
facilitator per ``--binding-per`` clusters with ``--binding-days`` days, so
most days must hold two meetings. Support is planned twice with the default
time: printed are the clusters supported, the bound (the assignment
relaxation counting facilitator-days and meetings a day), whether the count
is proven, whether the two runs gave the same support plan, and the
validator's verdict (which includes the no-false-"full" check).

Then a district on a REAL road network (issue 18's floor): the Abbottabad
OpenStreetMap extract (``tests/data/abbottabad``, © OpenStreetMap
contributors, ODbL 1.0) with ``--real-schools`` generated schools on its
intersections (seeded) and 3 to 12 generated staff each
(``tests.fixtures.real_network``), clustered with the field defaults, a
real month (``[support] month = "2027-03"``), and a team whose days bind:
walking facilitators (one per ``--real-per`` clusters of each gender) and
driving ones (one per ``--real-drive-per``), ``--real-days`` days each,
fewer facilitator-days than clusters. Support is planned twice with the
default time (60 s) through ``plan_support``/``write_plan``; printed are
clusters, facilitators, days, supported, the bound, the gap, the status,
the seconds, whether the two plan folders' support files (``support.csv``,
``itineraries.csv``, ``gpx/``) are byte for byte the same, and the
validator's violations (its no-false-"full" check included).

``--compare-routing`` also solves each district's support problem with
OR-Tools routing (one vehicle per facilitator-day, a time dimension for the
working day, dropped meetings with a penalty, cross-day limits as
constraints on vehicle variables), started from the same floor plan with
``--routing-seconds``, to compare with CP-SAT: the measurement behind the
solver choice in ``cluster_mapper.support.model``. ``--sample`` runs the
comparison on the bundled Mansehra sample and its facilitators too.

Floors (PASS/FAIL; exit status 1 on any FAIL): support planning of the
programme under 5 minutes on 2 cores; the validator finds no violation;
facilitator travel never above the floor when as many clusters are supported;
with days binding, the count equals its bound (or the gap is shown, FAIL)
and two runs give the same plan; on the real network the same, and each
solve within the default time (``time_limit_seconds``, 60 s).

The programme's data is generated, not real; the real-network case has
real roads and generated schools, staff and facilitators.
"""

from __future__ import annotations

import argparse
import filecmp
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.measure import pin_cores
from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support import SupportProblem, plan_support
from cluster_mapper.support.model import SCALE, floor_plan
from tests.fixtures.generate_facilitators import facilitators_for_plan
from tests.fixtures.real_network import make_real_district
from tests.fixtures.synthetic import make_programme, write_district

SUPPORT_LIMIT_S = 300.0
CORES = 2


@dataclass
class Run:
    name: str
    clusters: int = 0
    facilitators: int = 0
    supported: int = 0
    reachable: int = 0
    travel: float = 0.0
    mean_f: float = 0.0
    max_f: float = 0.0
    floor_supported: int = 0
    floor_travel: float = 0.0
    bound: float | None = None
    status: str = ""
    support_s: float = 0.0
    solve_s: float = 0.0
    validate_s: float = 0.0
    violations: int = 0
    routing: tuple | None = None


# --------------------------------------------------------------------------- routing, for comparison


def routing_support(p: SupportProblem, seconds: float, start: np.ndarray | None = None) -> tuple[int, float, float]:
    """Solve a support problem with OR-Tools routing (one vehicle per facilitator-day); returns (supported, travel minutes, seconds).

    Meetings are nodes (``meetings_per_month`` per cluster), dropped with a
    penalty larger than any plan's travel, allowed only on the days of the
    facilitators that may support them; a time dimension holds each day to
    ``working_day_minutes``; ``max_clusters`` and ``max_teachers`` are sums
    over a facilitator's vehicles: constraints on vehicle variables. Started
    from ``start`` (the floor plan: a round trip per meeting). Measurement
    only, for one meeting a month (several meetings of a cluster on different
    days of one facilitator would need more constraints on vehicle variables).
    """
    if p.meetings_per_month != 1:
        raise NotImplementedError("the routing comparison handles one meeting a month")
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    F, C, k = p.n_facilitators, p.n_clusters, p.meetings_per_month
    reach = p.reach
    meet = [(c, j) for c in range(C) for j in range(k) if reach[:, c].any()]
    n_nodes = F + len(meet)
    vehicles = [f for f in range(F) for _ in range(int(p.days[f]))]
    manager = pywrapcp.RoutingIndexManager(n_nodes, len(vehicles), vehicles, vehicles)
    routing = pywrapcp.RoutingModel(manager)
    M = round(p.meeting_minutes * SCALE)
    big = 10**6

    def matrix(mode: int) -> list[list[int]]:
        out = np.zeros((n_nodes, n_nodes))
        cs = np.array([c for c, _ in meet], dtype=int)
        out[:F, F:] = p.to_venue[:, cs]
        out[F:, :F] = p.from_venue[:, cs].T
        out[F:, F:] = p.between[mode][np.ix_(cs, cs)]
        out[~np.isfinite(out)] = big
        return np.rint(out * SCALE).astype(np.int64).tolist()

    cost_cb, time_cb = {}, {}
    for mode in sorted(set(p.mode.tolist())):
        mat = matrix(mode)
        cost_cb[mode] = routing.RegisterTransitCallback(lambda i, j, mat=mat: mat[manager.IndexToNode(i)][manager.IndexToNode(j)])
        time_cb[mode] = routing.RegisterTransitCallback(
            lambda i, j, mat=mat: mat[manager.IndexToNode(i)][manager.IndexToNode(j)] + (M if manager.IndexToNode(i) >= F else 0)
        )
    for v, f in enumerate(vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[int(p.mode[f])], v)
    routing.AddDimensionWithVehicleTransits([time_cb[int(p.mode[f])] for f in vehicles], 0, int(p.working_day_minutes * SCALE), True, "day")
    penalty = int(np.nansum(np.where(np.isfinite(p.round_trip), p.round_trip, 0)) * k * SCALE) + 1
    solver = routing.solver()
    idx_of = {}
    for n, (c, j) in enumerate(meet):
        idx = manager.NodeToIndex(F + n)
        idx_of[c, j] = idx
        routing.AddDisjunction([idx], penalty)
        allowed = [v for v, f in enumerate(vehicles) if reach[f, c]]
        routing.VehicleVar(idx).SetValues([-1, *allowed])  # SetAllowedVehiclesForIndex's Span binding fails in OR-Tools 9.15
    # cross-day capacities of each facilitator
    for f in range(F):
        vs = [v for v, g in enumerate(vehicles) if g == f]
        firsts = [(c, idx_of[c, 0]) for c in range(C) if (c, 0) in idx_of and reach[f, c]]
        if not firsts:
            continue
        on = [solver.IsMemberVar(routing.VehicleVar(i), vs) for _, i in firsts]
        if p.max_clusters[f] < len(firsts):
            solver.Add(solver.Sum(on) <= int(p.max_clusters[f]))
        if p.max_teachers[f] < sum(int(p.n_teachers[c]) for c, _ in firsts):
            solver.Add(solver.ScalProd(on, [int(p.n_teachers[c]) for c, _ in firsts]) <= int(p.max_teachers[f]))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = None
    if start is not None:
        routes: list[list[int]] = [[] for _ in vehicles]
        free = {f: [v for v, g in enumerate(vehicles) if g == f] for f in range(F)}
        node_of = {cj: F + n for n, cj in enumerate(meet)}
        for c, f in enumerate(start):
            if f >= 0:
                for j in range(k):
                    routes[free[f].pop(0)].append(node_of[c, j])
        routing.CloseModelWithParameters(params)
        init = routing.ReadAssignmentFromRoutes(routes, True)
        if init is not None:
            sol = routing.SolveFromAssignmentWithParameters(init, params)
    if sol is None:
        sol = routing.SolveWithParameters(params)
    if sol is None:
        return 0, math.nan, time.perf_counter() - t0
    supported, travel = set(), 0.0
    for v in range(len(vehicles)):
        i = routing.Start(v)
        prev = None
        while True:
            node = manager.IndexToNode(i)
            if prev is not None:
                travel += routing.GetArcCostForVehicle(prev, i, v) / SCALE
            if node >= F:
                supported.add(meet[node - F][0])
            if routing.IsEnd(i):
                break
            prev, i = i, sol.Value(routing.NextVar(i))
    return len(supported), travel, time.perf_counter() - t0


def compare_with_routing(name: str, sp, seconds: float) -> tuple:
    p = sp.problem
    fl = floor_plan(p, np.arange(p.n_facilitators), np.arange(p.n_clusters))
    n, t, s = routing_support(p, seconds, fl.facilitator_of)
    print(
        f"  {name}: routing {n} supported, {t:,.1f} min in {s:.1f} s | CP-SAT {sp.n_supported} supported, "
        f"{sp.figures['travel_minutes_month']:,.1f} min (bound {sp.figures['travel_lower_bound']}) in {sp.figures['solve_seconds']:.1f} s | "
        f"floor {fl.travel_minutes:,.1f} min",
        flush=True,
    )
    return n, t, s


# --------------------------------------------------------------------------- the benchmark


def run_district(name: str, paths: dict, work: Path, per: int, prefix: str) -> tuple[Run, object, object]:
    r = Run(name)
    cplan = plan(Scenario(paths["schools"], TravelSource(network_path=str(paths["roads"])), paths["teachers"], cache_dir=work / "cache"))
    fac = facilitators_for_plan(cplan, clusters_per_facilitator=per, with_district=True, id_prefix=f"{prefix}-F")
    fac_path = work / f"{name.lower()}_facilitators.csv"
    fac.to_csv(fac_path, index=False)
    t0 = time.perf_counter()
    sp = plan_support(cplan, fac_path)
    r.support_s = time.perf_counter() - t0
    cplan.support = sp
    out = work / "plans" / name.lower()
    write_plan(cplan, out)
    t0 = time.perf_counter()
    rep = validate_plan(out)
    r.validate_s = time.perf_counter() - t0
    r.violations = len(rep.violations)
    for v in rep.violations[:5]:
        print(f"  violation: {v}")
    f = sp.figures
    r.clusters, r.facilitators, r.supported, r.reachable = f["clusters"], f["facilitators"], f["clusters_supported"], f["clusters_reachable"]
    r.travel, r.mean_f, r.max_f = f["travel_minutes_month"], f["travel_minutes_per_facilitator_mean"], f["travel_minutes_per_facilitator_max"]
    r.floor_supported, r.floor_travel = f["floor"]["clusters_supported"], f["floor"]["travel_minutes_month"]
    r.bound, r.status, r.solve_s = f["travel_lower_bound"], f["status"], f["solve_seconds"]
    return r, sp, cplan


@dataclass
class Binding:
    name: str
    clusters: int = 0
    facilitators: int = 0
    floor: int = 0
    supported: int = 0
    bound: int = 0
    proven: bool = False
    same: bool = False
    seconds: float = 0.0
    violations: int = 0
    status: str = ""


def run_binding(name: str, cplan, work: Path, per: int, days: int, prefix: str) -> Binding:
    """Facilitator-days binding: supported against the bound, twice, validated."""
    fac = facilitators_for_plan(cplan, clusters_per_facilitator=per, days_per_month=days, max_clusters="", with_district=True, id_prefix=f"{prefix}-B")
    fac_path = work / f"{name.lower()}_binding_facilitators.csv"
    fac.to_csv(fac_path, index=False)
    t0 = time.perf_counter()
    a = plan_support(cplan, fac_path)
    secs = time.perf_counter() - t0
    b = plan_support(cplan, fac_path)
    same = a.support.equals(b.support) and a.itineraries.equals(b.itineraries)
    cplan.support = a
    out = work / "plans" / f"{name.lower()}_binding"
    write_plan(cplan, out)
    rep = validate_plan(out)
    for v in rep.violations[:5]:
        print(f"  violation: {v}")
    f = a.figures
    return Binding(
        name,
        f["clusters"],
        f["facilitators"],
        f["floor"]["clusters_supported"],
        f["clusters_supported"],
        f["supported_bound"],
        bool(f["supported_proven_maximal"]),
        same,
        secs,
        len(rep.violations),
        f["status"],
    )


# --------------------------------------------------------------------------- a real road network


@dataclass
class Real:
    schools: int = 0
    teachers: int = 0
    clusters: int = 0
    walkers: int = 0
    drivers: int = 0
    days: int = 0
    supported: int = 0
    bound: int = 0
    proven: bool = False
    status: str = ""
    travel: float = 0.0
    travel_bound: float | None = None
    seconds: tuple[float, float] = (0.0, 0.0)
    solve_seconds: tuple[float, float] = (0.0, 0.0)
    cpu_seconds: tuple[float, float] = (0.0, 0.0)
    same: bool = False
    violations: int = 0
    false_full: int = 0
    plan_s: float = 0.0


def same_support_files(a: Path, b: Path) -> bool:
    """The two plan folders' support files are byte for byte the same: support.csv, itineraries.csv and every GPX file."""
    names = ["support.csv", "itineraries.csv", *sorted(f"gpx/{g.name}" for g in (a / "gpx").glob("*.gpx"))]
    if sorted(g.name for g in (a / "gpx").glob("*.gpx")) != sorted(g.name for g in (b / "gpx").glob("*.gpx")):
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def run_real(work: Path, n_schools: int, per: int, drive_per: int, days: int, seed: int) -> Real:
    """The Abbottabad network with generated schools; walking and driving facilitators whose days bind; support planned twice and validated."""
    r = Real()
    paths = make_real_district(work / "real_inputs", n_schools=n_schools, seed=seed)
    policy = work / "real_policy.toml"
    policy.write_text('time_limit_seconds = 30\n\n[support]\nmonth = "2027-03"\n', encoding="utf-8")
    t0 = time.perf_counter()
    cplan = plan(Scenario(paths["schools"], TravelSource(network_path=str(paths["network"])), paths["teachers"], policy=policy, cache_dir=work / "cache"))
    r.plan_s = time.perf_counter() - t0
    common = {"days_per_month": days, "max_clusters": "", "with_district": True}
    walk = facilitators_for_plan(cplan, clusters_per_facilitator=per, id_prefix="ABT-W", travel_mode="walk", **common)
    drive = facilitators_for_plan(cplan, clusters_per_facilitator=drive_per, id_prefix="ABT-D", travel_mode="drive", seed=seed + 1, **common)
    fac_path = work / "real_facilitators.csv"
    pd.concat([walk, drive], ignore_index=True).to_csv(fac_path, index=False)
    r.schools, r.teachers, r.walkers, r.drivers = len(cplan.inputs.schools), len(cplan.teachers), len(walk), len(drive)
    outs, secs, solve, cpu = [], [], [], []
    for run in (1, 2):
        t0, c0 = time.perf_counter(), time.process_time()
        sp = plan_support(cplan, fac_path)
        secs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        solve.append(sp.figures["solve_seconds"])
        cplan.support = sp
        outs.append(write_plan(cplan, work / "plans" / f"real_run{run}", review=False))
        if run == 1:
            first = sp
    rep = validate_plan(outs[0])
    for v in rep.violations[:5]:
        print(f"  violation: {v}")
    f = first.figures
    r.clusters, r.supported, r.bound, r.proven, r.status = (
        f["clusters"],
        f["clusters_supported"],
        f["supported_bound"],
        f["supported_proven_maximal"],
        f["status"],
    )
    r.days = int(first.problem.days.sum()) if first.problem is not None else 0
    r.travel, r.travel_bound = f["travel_minutes_month"], f["travel_lower_bound"]
    r.seconds, r.solve_seconds, r.cpu_seconds = (secs[0], secs[1]), (solve[0], solve[1]), (cpu[0], cpu[1])
    r.same = same_support_files(outs[0], outs[1])
    r.violations = len(rep.violations)
    r.false_full = sum("free day" in v for v in rep.violations)
    return r


def print_real(r: Real) -> None:
    tb = "-" if r.travel_bound is None else f"{r.travel_bound:,.1f}"
    print(
        f"\nreal network: Abbottabad OSM extract, {r.schools} generated schools, {r.teachers:,} generated teachers "
        f"(clustered in {r.plan_s:.1f} s), a real month (2027-03)\n"
        f"{'clusters':>9}{'walk f.':>8}{'drive f.':>9}{'days':>6}{'supp.':>7}{'bound':>7}{'gap':>5}  {'proven':<7}{'status':<9}"
        f"{'travel min':>11}{'bound min':>11}{'s run 1':>9}{'s run 2':>9}{'cpu s':>7}{'solve s':>9}  {'same files':<11}{'violations':>11}{'false full':>11}"
    )
    print(
        f"{r.clusters:>9}{r.walkers:>8}{r.drivers:>9}{r.days:>6}{r.supported:>7}{r.bound:>7}{r.bound - r.supported:>5}  {'yes' if r.proven else 'NO':<7}"
        f"{r.status:<9}{r.travel:>11,.1f}{tb:>11}{r.seconds[0]:>9.1f}{r.seconds[1]:>9.1f}{max(r.cpu_seconds):>7.1f}{max(r.solve_seconds):>9.1f}  "
        f"{'yes' if r.same else 'NO':<11}{r.violations:>11}{r.false_full:>11}",
        flush=True,
    )


def real_checks(r: Real, default_s: float) -> list[tuple[str, bool]]:
    return [
        (f"real network: {r.clusters} clusters (200 or more), {r.days} facilitator-days (fewer: days bind)", r.clusters >= 200 and r.days < r.clusters),
        (f"real network: supported {r.supported} equals the bound {r.bound}, proven (gap {r.bound - r.supported})", r.proven and r.supported == r.bound),
        (
            f"real network: each solve within the default time_limit_seconds ({', '.join(f'{s:.1f}' for s in r.solve_seconds)} s < {default_s:g} s)",
            max(r.solve_seconds) < default_s,
        ),
        ("real network: the same support files on two runs", r.same),
        (f"real network: validator {r.violations} violation(s), {r.false_full} false 'full' reason(s)", r.violations == 0),
    ]


def programme_part(args, work: Path) -> list[tuple[str, bool]]:
    """The generated four-district programme: support planned, days binding, routing compared; returns its floors."""
    print(f"bench_support: {args.teachers:,} teachers, {args.districts} districts, seed {args.seed}, one facilitator per {args.per} clusters (generated data)")
    prog = make_programme(n_teachers=args.teachers, n_districts=args.districts, seed=args.seed, with_network=True)
    runs: list[Run] = []
    print(
        f"\n{'district':<14}{'clusters':>9}{'facil.':>7}{'supp.':>7}{'reach.':>7}{'travel min':>12}{'mean/f':>8}{'max/f':>8}"
        f"{'floor min':>11}{'bound':>11}  {'status':<9}{'support s':>10}{'solve s':>8}{'valid':>7}"
    )
    sps = {}
    cplans: dict = {}
    for k, (name, d) in enumerate(prog.districts.items()):
        paths = write_district(d, work / "inputs")
        r, sp, cplans[name] = run_district(name, paths, work, args.per, f"D{k + 1}")
        runs.append(r)
        sps[name] = sp
        print(
            f"{r.name:<14}{r.clusters:>9,}{r.facilitators:>7}{r.supported:>7,}{r.reachable:>7,}{r.travel:>12,.1f}{r.mean_f:>8,.0f}{r.max_f:>8,.0f}"
            f"{r.floor_travel:>11,.1f}{(r.bound if r.bound is not None else float('nan')):>11,.1f}  {r.status:<9}{r.support_s:>10.1f}"
            f"{r.solve_s:>8.1f}{'yes' if not r.violations else 'NO':>7}",
            flush=True,
        )
    print(
        f"\ndays binding: one facilitator per {args.binding_per} clusters, {args.binding_days} days each (two meetings a day needed)\n"
        f"{'district':<14}{'clusters':>9}{'facil.':>7}{'floor':>7}{'supp.':>7}{'bound':>7}  {'proven':<7}{'same twice':<11}{'status':<10}{'s/run':>7}{'valid':>7}"
    )
    binding = []
    for k, name in enumerate(cplans):
        b = run_binding(name, cplans[name], work, args.binding_per, args.binding_days, f"D{k + 1}")
        binding.append(b)
        print(
            f"{b.name:<14}{b.clusters:>9,}{b.facilitators:>7}{b.floor:>7,}{b.supported:>7,}{b.bound:>7,}  {'yes' if b.proven else 'NO':<7}"
            f"{'yes' if b.same else 'NO':<11}{b.status:<10}{b.seconds:>7.1f}{'yes' if not b.violations else 'NO':>7}",
            flush=True,
        )
    if args.compare_routing:
        if args.sample:
            from cluster_mapper.sample import sample_paths

            sample = plan(Scenario.sample())
            fac = sample_paths()["facilitators"]
            sps["Mansehra sample"] = plan_support(sample, fac)
        for secs in args.routing_seconds:
            print(f"\nOR-Tools routing vs CP-SAT (routing: GUIDED_LOCAL_SEARCH from the floor plan, {secs:g} s)")
            for name, sp in sps.items():
                compare_with_routing(name, sp, secs)

    clusters = sum(r.clusters for r in runs)
    facs = sum(r.facilitators for r in runs)
    supported = sum(r.supported for r in runs)
    reachable = sum(r.reachable for r in runs)
    travel = sum(r.travel for r in runs)
    support_s = sum(r.support_s for r in runs)
    violations = sum(r.violations for r in runs)
    per_f = travel / max(1, sum(1 for r in runs for _ in range(r.facilitators)))
    print("\nprogramme")
    print(f"  clusters                 {clusters:,}")
    print(f"  facilitators             {facs:,}")
    print(f"  clusters supported       {supported:,} ({100 * supported / max(1, clusters):.1f} %); reachable {reachable:,}")
    print(f"  travel in the month      {travel:,.0f} minutes; {per_f:,.0f} per facilitator; largest {max(r.max_f for r in runs):,.0f}")
    print(f"  floor (round trips)      {sum(r.floor_travel for r in runs):,.0f} minutes for {sum(r.floor_supported for r in runs):,} clusters")
    bounds = [r.bound for r in runs]
    if all(b is not None for b in bounds):
        lb = sum(bounds)
        print(f"  lower bound / gap        {lb:,.0f} / {100 * max(0.0, travel - lb) / max(travel, 1e-9):.3f} %")
    print(f"  status                   {', '.join(sorted({r.status for r in runs}))}")
    print(f"  support planning         {support_s:.1f} s (solve {sum(r.solve_s for r in runs):.1f} s), validation {sum(r.validate_s for r in runs):.1f} s")
    floor_ok = all(r.travel <= r.floor_travel + 1e-6 for r in runs if r.supported == r.floor_supported)
    return [
        (f"support planning {support_s:.1f} s < {SUPPORT_LIMIT_S:.0f} s on {CORES} cores", support_s < SUPPORT_LIMIT_S),
        (f"validator: {violations} violation(s)", violations == 0),
        ("travel never above the one-round-trip floor for as many clusters", floor_ok),
        (
            "days binding: supported equals the bound in every district " + ", ".join(f"{b.supported}/{b.bound}" for b in binding),
            all(b.proven and b.supported == b.bound for b in binding),
        ),
        ("days binding: the same support plan on two runs", all(b.same for b in binding)),
        (f"days binding: validator (with no false 'full'): {sum(b.violations for b in binding)} violation(s)", all(b.violations == 0 for b in binding)),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teachers", type=int, default=10316)
    ap.add_argument("--districts", type=int, default=4)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--per", type=int, default=10, help="one facilitator per this many clusters of each gender")
    ap.add_argument("--binding-per", type=int, default=20, help="days binding: one facilitator per this many clusters")
    ap.add_argument("--binding-days", type=int, default=8, help="days binding: days_per_month of each facilitator")
    ap.add_argument("--compare-routing", action="store_true")
    ap.add_argument("--routing-seconds", type=float, nargs="+", default=[10.0, 60.0], help="routing time limits to measure")
    ap.add_argument("--sample", action="store_true", help="also compare on the bundled Mansehra sample")
    ap.add_argument("--only", choices=("programme", "real"), default=None, help="run only the generated programme or only the real network")
    ap.add_argument("--real-schools", type=int, default=300, help="real network: generated schools on the Abbottabad roads")
    ap.add_argument("--real-per", type=int, default=30, help="real network: one walking facilitator per this many clusters of each gender")
    ap.add_argument("--real-drive-per", type=int, default=200, help="real network: one driving facilitator per this many clusters of each gender")
    ap.add_argument("--real-days", type=int, default=8, help="real network: days_per_month of each facilitator")
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args(argv)

    print(f"cores used: {pin_cores(CORES)}")
    checks: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="bench_support_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.only != "real":
            checks += programme_part(args, work)
        if args.only != "programme":
            r = run_real(work, args.real_schools, args.real_per, args.real_drive_per, args.real_days, args.seed)
            print_real(r)
            checks += real_checks(r, SupportPolicy().time_limit_seconds)
    print("floors")
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
