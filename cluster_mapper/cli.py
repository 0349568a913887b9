"""The ``cluster-mapper`` command line.

User mistakes (bad files, impossible settings) print every problem with its
file, row, field and fix, and exit with code 2 without a traceback. An
interrupted run leaves the previous plan untouched and says so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Form teacher peer-learning clusters from schools, rosters and a road network.",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out_console = Console()

DEFAULT_OUT = Path("outputs") / "plan"


@app.callback()
def _main(verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Say more about each step (-v: steps, -vv: solver details).")) -> None:
    """Form teacher peer-learning clusters from schools, rosters and a road network."""
    import logging

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)


def _fail_input(err: InputError) -> None:
    console.print(f"[bold red]Cannot continue.[/] {len(err.problems)} problem(s) in the input; nothing was written.")
    for p in err.problems[:100]:
        console.print(f"  - {p}", markup=False, highlight=False)
    if len(err.problems) > 100:
        console.print(f"  ... and {len(err.problems) - 100} more")
    raise typer.Exit(2)


def _interrupt(signum, frame):  # pragma: no cover - exercised by subprocess tests
    raise KeyboardInterrupt


def _run(fn):
    """Run a command body with the user-facing error handling.

    SIGTERM (a job scheduler's or `timeout`'s stop) is treated like Ctrl-C.
    """
    import signal

    try:
        signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread (e.g. inside a notebook helper)
        pass
    try:
        return fn()
    except InputError as err:
        _fail_input(err)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted.[/] No new files were written; any previous plan in the output folder is unchanged.")
        raise typer.Exit(130)
    except MemoryError:
        console.print("[red]The input is too large for this machine's memory.[/] Plan one district at a time (split the schools file by district).")
        raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)


def _scenario(schools, teachers, network, travel_matrix, straight_line, policy, **kwargs):
    """The command line's inputs as a :class:`~cluster_mapper.api.Scenario`; the bundled sample without ``--schools``."""
    from .api import Scenario, TravelSource
    from .errors import InputProblem

    if schools is None:
        if teachers is not None:
            raise InputError([InputProblem("<command line>", "--teachers was given without --schools.", "give --schools too.")])
        sample = Scenario.sample(policy=policy, **kwargs)
        if network is None and travel_matrix is None and not straight_line:
            return sample
        schools, teachers = sample.schools, sample.teachers
        policy = sample.policy
    source = TravelSource(str(network) if network else None, str(travel_matrix) if travel_matrix else None, straight_line)
    return Scenario(schools=schools, teachers=teachers, policy=policy, travel=source, **kwargs)


def _summary_table(summary: dict, out: Path) -> Table:
    t = Table(title=f"Plan written to {out}", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    rows = [
        ("clusters", f"{summary['clusters']}"),
        ("teachers placed", f"{summary['teachers_placed']:,} of {summary['teachers_total']:,}"),
        ("not placed", f"{summary['teachers_not_placed']:,} (of whom {summary['head_teachers_left_out']:,} head teachers left out by policy)"),
        ("mean / max travel", f"{summary['mean_travel_minutes']:.1f} / {summary['max_travel_minutes']:.1f} minutes"),
        ("objective", f"{summary['objective']:,.1f} ({', '.join(summary['objective_kind'])})"),
        ("lower bound / gap", f"{summary['lower_bound']:,.1f} / {100 * summary['gap']:.2f}%"),
        ("status", summary["status"]),
        ("travel times", summary["travel_source"] + ("" if summary["travel_source"] == "network" else "  (not a road network)")),
        ("solve time", f"{summary['solve_seconds']:.1f} s"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


@app.command()
def plan(
    schools: Optional[Path] = typer.Option(None, help="Schools file (CSV, GeoJSON or GeoPackage). Default: the bundled Mansehra sample."),
    teachers: Optional[Path] = typer.Option(None, help="Teacher roster CSV. Without it, counts in the schools file are used."),
    network: Optional[Path] = typer.Option(None, help="Road network file: OSM PBF (.osm.pbf), OSM XML (.osm, .osm.bz2), osmnx GraphML or Overpass JSON."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Travel-time CSV: from_school_id,to_school_id,minutes."),
    straight_line: bool = typer.Option(False, help="Use straight-line distance x detour factor (announced in every output)."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML file (defaults: 6-12 teachers, 5 schools, 60 minutes)."),
    out: Path = typer.Option(DEFAULT_OUT, help="Folder for the plan files; replaced only when the new plan is complete."),
    backend: str = typer.Option("", help="OR-Tools MIP backend (default: the model's own choice)."),
    review: bool = typer.Option(True, help="Also write map.html and report.html."),
    revise: Optional[Path] = typer.Option(None, help="An earlier plan folder: keep its clusters that still obey the rules, re-plan only the rest (after teacher transfers)."),
):
    """Form clusters and write the plan files, map and report.

    With no input options it plans the bundled Mansehra sample.
    """

    def body():
        from .api import plan as plan_scenario
        from .errors import InputProblem
        from .model import BACKENDS, DEFAULT_BACKEND
        from .plan_io import check_output_folder, write_plan

        if backend and backend.upper() not in BACKENDS:
            raise InputError([InputProblem("<command line>", f"unknown solver backend '{backend}'.", f"use one of {', '.join(BACKENDS)}.", field="--backend")])
        check_output_folder(out)
        scenario = _scenario(schools, teachers, network, travel_matrix, straight_line, policy,
                             backend=backend.upper() or DEFAULT_BACKEND, revise=revise)
        with _progress() as prog:
            task = prog.add_task("planning", total=1.0)
            result = plan_scenario(scenario, progress=lambda msg, frac: prog.update(task, description=msg, completed=frac))
            prog.update(task, description="writing plan files")
            write_plan(result, out, review=review)
        out_console.print(_summary_table(result.summary, out))
        if result.travel.source != "network":
            console.print(f"[yellow]Note:[/] travel times are {result.travel.source.replace('_', ' ')}, not from a road network.")
        for note in result.notes[:10]:
            console.print(f"note: {note}", markup=False)

    _run(body)


@app.command()
def programme(
    schools: List[Path] = typer.Option(..., help="Schools file(s) with a district column (repeat --schools for several files)."),
    teachers: Optional[List[Path]] = typer.Option(None, help="Roster CSV(s), one per --schools file in the same order; none: counts in the schools files."),
    network: Optional[Path] = typer.Option(None, help="One road network for all districts; each district's task gets only its part."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Travel-time CSV: from_school_id,to_school_id,minutes."),
    straight_line: bool = typer.Option(False, help="Use straight-line distance x detour factor (announced in every output)."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML file."),
    out: Path = typer.Option(DEFAULT_OUT, help="Plan folder; finished districts are checkpointed in OUT/.programme until the plan is written."),
    backend: str = typer.Option("", help="OR-Tools MIP backend (default: the model's own choice)."),
    review: bool = typer.Option(True, help="Also write map.html and report.html."),
    scheduler: Optional[str] = typer.Option(None, envvar="DASK_SCHEDULER_ADDRESS", help="Address of a running Dask scheduler (tcp://host:8786), left running; default: a local cluster for this run."),
    workers: Optional[int] = typer.Option(None, min=1, help="Worker processes of the local cluster (default: one per core)."),
    dask: bool = typer.Option(True, "--dask/--no-dask", help="--no-dask plans the districts one after another in this process."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse districts checkpointed by an interrupted run with the same inputs."),
    district_polygons: Optional[Path] = typer.Option(None, help="District polygons (GeoJSON/GeoPackage, 'district' column): cut the --network .osm.pbf into buffered per-district networks (cached); each task reads only its own."),
):
    """Plan a programme of many districts in parallel on Dask, into one plan folder.

    Each district (with its part of the road network) is a task; the plan is
    the same as `cluster-mapper plan` on the same files. An interrupted run
    resumes from the districts already finished.
    """

    def body():
        from .api import Scenario, TravelSource
        from .errors import InputProblem
        from .model import BACKENDS, DEFAULT_BACKEND
        from .plan_io import check_output_folder, write_plan
        from .programme import ProgrammeFailed, ProgrammeSettings, plan_programme, region_table

        if backend and backend.upper() not in BACKENDS:
            raise InputError([InputProblem("<command line>", f"unknown solver backend '{backend}'.", f"use one of {', '.join(BACKENDS)}.", field="--backend")])
        check_output_folder(out)
        source = TravelSource(str(network) if network else None, str(travel_matrix) if travel_matrix else None, straight_line)
        scenario = Scenario(schools=schools[0], teachers=teachers[0] if teachers else None, policy=policy, travel=source,
                            backend=backend.upper() or DEFAULT_BACKEND)
        settings = ProgrammeSettings(scheduler=scheduler, n_workers=workers, executor="dask" if dask else "inline", checkpoint=resume)
        with _progress() as prog:
            task = prog.add_task("planning", total=1.0)
            try:
                result = plan_programme(scenario, settings, out=out, schools=schools, teachers=teachers or None,
                                        district_polygons=district_polygons, progress=lambda msg, frac: prog.update(task, description=msg, completed=frac))
            except ProgrammeFailed as err:
                console.print(str(err), markup=False, highlight=False)
                raise typer.Exit(1)
            prog.update(task, description="writing plan files")
            write_plan(result, out, review=review, extra_tables={"districts.csv": region_table(result.region_results)})
        out_console.print(_summary_table(result.summary, out))
        for note in result.notes[:10]:
            console.print(f"note: {note}", markup=False)

    _run(body)


@app.command()
def validate(plan_dir: Path = typer.Argument(..., help="A folder written by `cluster-mapper plan`.")):
    """Check every rule of a plan independently of the planner (exit 1 on violations)."""

    def body():
        from .validate import validate_plan

        rep = validate_plan(plan_dir)
        if rep.ok:
            out_console.print(f"[green]valid[/]: {rep.checked.get('teachers', 0):,} teachers and {rep.checked.get('clusters', 0):,} clusters checked, no violations.")
            return
        out_console.print(f"[red]{len(rep.violations)} violation(s)[/]:")
        for v in rep.violations:
            out_console.print(f"  - {v}", markup=False)
        raise typer.Exit(1)

    _run(body)


@app.command("travel-times")
def travel_times(
    schools: Path = typer.Option(..., help="Schools file."),
    network: Optional[Path] = typer.Option(None, help="Road network file."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Existing travel-time CSV to check and rewrite."),
    straight_line: bool = typer.Option(False, help="Straight-line times (announced)."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML (travel settings and limits)."),
    out: Path = typer.Option(Path("outputs") / "travel_times.csv", help="CSV to write (snap distances go beside it)."),
):
    """Compute school-to-school travel minutes and write them for review and reuse."""

    def body():
        from .api import TravelSource, schools_travel_times
        from .policy import load_policy
        from .travel import write_travel_times

        pol = load_policy(policy)
        source = TravelSource(str(network) if network else None, str(travel_matrix) if travel_matrix else None, straight_line)
        tt = schools_travel_times(schools, source, pol).times
        out.parent.mkdir(parents=True, exist_ok=True)
        paths = write_travel_times(tt, out)
        out_console.print(f"{len(tt.pairs):,} reachable pairs ({tt.source}) written to {paths[0]}; snap distances in {paths[1]}")
        for n in tt.notes:
            console.print(f"note: {n}", markup=False)
        if len(tt.snaps) and tt.snaps["off_network"].any():
            off = tt.snaps[tt.snaps["off_network"]]
            console.print(f"[yellow]{len(off)} school(s) are farther than {pol.travel.max_snap_metres:g} m from the network:[/] " + ", ".join(off["school_id"].head(20)))

    _run(body)


@app.command("map")
def map_(plan_dir: Path = typer.Argument(..., help="A plan folder.")):
    """Write map.html (works offline) and report.html for a plan folder."""

    def body():
        from .plan_io import read_plan, write_review

        write_review(read_plan(plan_dir), plan_dir)
        out_console.print(f"map and report written to {plan_dir}")

    _run(body)


@app.command()
def compare(
    policy: List[Path] = typer.Option(..., help="Two or more policy TOML files, one per scenario."),
    schools: Optional[Path] = typer.Option(None, help="Schools file (default: bundled sample)."),
    teachers: Optional[Path] = typer.Option(None, help="Roster CSV."),
    network: Optional[Path] = typer.Option(None, help="Road network file."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Travel-time CSV."),
    straight_line: bool = typer.Option(False, help="Straight-line travel times."),
    out: Path = typer.Option(Path("outputs") / "compare", help="Folder for the comparison."),
):
    """Plan each scenario on the same inputs and compare them side by side."""

    def body():
        from .compare import compare_scenarios

        scenario = _scenario(schools, teachers, network, travel_matrix, straight_line, None)
        table = compare_scenarios(scenario, [str(p) for p in policy], out)
        typer.echo(table.to_string(index=False))

    _run(body)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
