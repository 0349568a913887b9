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
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cluster_mapper.errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Form teacher peer-learning clusters from schools, rosters and a road network.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(stderr=True)
out_console = Console()

DEFAULT_OUT = Path("outputs") / "plan"

SCHOOLS_HELP = (
    "Schools file: CSV, workbook (.xlsx, .ods; FILE.xlsx#Sheet for one sheet), GeoJSON or GeoPackage, with your own headers "
    "and codes (common ones are recognised; map others in the policy's [columns.schools] and [values.schools.*])."
)
TEACHERS_HELP = "Teacher roster: CSV or workbook (FILE.xlsx#Sheet). Without it, teacher counts in the schools file are used."
DISTRICT_HELP = "The district of every school, for a schools file of one district without a district column (wins over the policy's district)."
ELEVATION_HELP = (
    "Elevation raster (DEM tile, GeoTIFF, any CRS) for the road network; repeat for several tiles. Walking times then follow "
    "the slopes. Wins over the policy's elevation."
)


def _print_version(value: bool) -> None:
    if value:
        from cluster_mapper._version import __version__

        out_console.print(f"cluster-mapper {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Say more about each step (-v: steps, -vv: solver details)."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the installed version and exit."),
) -> None:
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


#: errno values of a full, read-only or forbidden output: a clean message, not a traceback.
_WRITE_ERRORS = {28, 30, 13, 1, 122}  # ENOSPC, EROFS, EACCES, EPERM, EDQUOT


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
    done = getattr(sys.modules.get("cluster_mapper.folder"), "WRITTEN", [])
    done.clear()  # what this command puts in place
    try:
        return fn()
    except InputError as err:
        _fail_input(err)
    except KeyboardInterrupt as exc:
        done = getattr(sys.modules.get("cluster_mapper.folder"), "WRITTEN", [])  # folders put in place by this run
        written = getattr(exc, "written", None) or (done[-1] if done else None)
        if written is not None:
            console.print(
                f"[yellow]Interrupted[/] after the new files were written: {written} is complete (check it with `cluster-mapper validate`).", highlight=False
            )
        else:
            console.print("[yellow]Interrupted.[/] No new files were written; any previous plan in the output folder is unchanged.")
        raise typer.Exit(130) from None
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        where = exc.filename or "the output folder"
        console.print(
            f"[red]Could not write {where}:[/] {exc.strerror}. The new files were not put in place; any previous plan or file there is unchanged. "
            "Fix: free disk space, or give an output on a disk and folder you can write to.",
            highlight=False,
        )
        raise typer.Exit(2) from None
    except MemoryError:
        console.print("[red]The input is too large for this machine's memory.[/] Plan one district at a time (split the schools file by district).")
        raise typer.Exit(2) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _scenario(schools, teachers, network, travel_matrix, straight_line, policy, *, district=None, elevation=None, **kwargs):
    """The command line's inputs as a :class:`~cluster_mapper.api.Scenario`; the bundled sample without ``--schools``.

    ``--district`` and ``--elevation`` go into the scenario, which puts them
    in its policy (:meth:`~cluster_mapper.api.Scenario.load_policy`).
    """
    from cluster_mapper.api import Scenario, TravelSource
    from cluster_mapper.errors import InputProblem

    kwargs.update(district=district or None, elevation=tuple(str(e) for e in elevation) if elevation else None)
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


def _print_notes(notes: list[str], n_inputs: int, limit: int = 10) -> None:
    """Every note on how the inputs were read (the first ``n_inputs``), then up to ``limit`` others."""
    for note in notes[:n_inputs]:
        console.print(f"read: {note}", markup=False, highlight=False)
    for note in notes[n_inputs : n_inputs + limit]:
        console.print(f"note: {note}", markup=False, highlight=False)
    if len(notes) > n_inputs + limit:
        console.print(f"... and {len(notes) - n_inputs - limit} more notes in summary.json", markup=False)


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


SCHEDULER_HELP = (
    "Address of a running Dask scheduler (tcp://host:8786), left running; without it DASK_SCHEDULER_ADDRESS, else a local cluster "
    "for this run when there are several districts."
)


class _PlainProgress:
    """Progress as plain lines on stderr (one per new message), for logs and pipes: no bar, no control characters."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, msg: str, frac: float) -> None:
        if msg != self.last:
            self.last = msg
            console.print(f"{msg} ({100 * frac:.0f} %)" if 0 < frac < 1 else msg, markup=False, highlight=False)


def _progress_callback(prog: Progress):
    """A progress callback: the rich bar on a terminal, plain lines when stdout or stderr is not a terminal."""
    if console.is_terminal and out_console.is_terminal:
        task = prog.add_task("planning", total=1.0)
        return lambda msg, frac: prog.update(task, description=msg, completed=frac)
    return _PlainProgress()


def _n_districts(n: int) -> str:
    return f"{n} district" if n == 1 else f"{n} districts"


def _kept_checkpoints(out: Path) -> int:
    """Finished districts saved in OUT/.programme (JSON checkpoints) right now."""
    folder = out / ".programme"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def _plan_settings(scheduler, workers, dask, resume):
    from cluster_mapper.programme.run import ProgrammeSettings

    return ProgrammeSettings(scheduler=scheduler, n_workers=workers, executor="dask" if dask else "inline", checkpoint=resume)


def _print_plan(result, out: Path, revise) -> None:
    from cluster_mapper.programme.run import region_table

    out_console.print(_summary_table(result.summary, out))
    if result.support is not None:
        out_console.print(_support_table(result.support.figures, out))
    if result.travel.source != "network":
        console.print(f"[yellow]Note:[/] travel times are {result.travel.source.replace('_', ' ')}, not from a road network.")
    regions = result.region_results
    if regions:
        table = region_table(regions)
        resumed = sum(r.resumed for r in regions)
        out_console.print(
            f"{_n_districts(len(regions))} planned as tasks"
            + (f"; resumed {_n_districts(resumed)} from checkpoints of an earlier run" if resumed else "")
            + f" (where and how long each ran: {out / 'districts.csv'}; {table['seconds'].sum():.1f} s of district tasks)",
            markup=False,
            highlight=False,
        )
    _print_notes(result.notes, len(result.inputs.notes))
    ch = result.summary.get("changes")
    if ch:
        c = ch["clusters"]
        out_console.print(
            f"changes since {revise}: {ch['teachers_moved']} teacher(s) moved; clusters kept {c['kept']}, changed {c['changed']}, "
            f"created {c['created']}, dissolved {c['dissolved']} (per teacher in {out / 'changes.csv'})"
        )
    out_console.print(_next_steps(out, review=(out / "map.html").exists()), markup=False, highlight=False, soft_wrap=True)


def _next_steps(out: Path, *, review: bool) -> str:
    """What a manager does next with a plan folder: look, check, take it to the people who use it."""
    steps = ["Next:"]
    if review:
        steps.append(f"  open {out / 'map.html'} in a browser (works offline), and print {out / 'report.html'}")
    steps += [
        f"  cluster-mapper validate {out}    (check every rule independently)",
        f"  cluster-mapper export {out} --xlsx {out}_review.xlsx    (a workbook for review, with an edits sheet)",
        f"  cluster-mapper support {out} --facilitators FILE    (who supports each cluster, and their month)",
    ]
    return "\n".join(steps)


def _plan_and_write(scenario, settings, *, out: Path, schools, teachers, district_polygons, review: bool):
    """Plan (one district here, several as tasks) and write the folder; on an interrupt, say truly what is kept."""
    from cluster_mapper.folder import write_plan
    from cluster_mapper.programme.run import ProgrammeFailed, plan_districts, region_table

    with _progress() as prog:
        on_progress = _progress_callback(prog)
        try:
            result = plan_districts(
                scenario,
                settings,
                out=out,
                schools=schools if schools and len(schools) > 1 else None,
                teachers=teachers if teachers and len(teachers) > 1 else None,
                district_polygons=district_polygons,
                progress=on_progress,
            )
        except ProgrammeFailed as err:
            console.print(str(err), markup=False, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            kept = _kept_checkpoints(out) if settings.checkpoint else 0
            if not kept:
                raise
            what = "1 finished district is kept" if kept == 1 else f"{kept} finished districts are kept"
            console.print(
                f"[yellow]Interrupted.[/] No plan was written; any previous plan in {out} is unchanged. "
                f"{what} in {out / '.programme'}; run the same command to resume.",
                highlight=False,
            )
            raise typer.Exit(130) from None
        on_progress("writing plan files", 1.0)
        extra = {"districts.csv": region_table(result.region_results)} if result.region_results else None
        write_plan(result, out, review=review, extra_tables=extra)
    return result


def _plan_command(
    schools: Optional[List[Path]] = typer.Option(
        None, help=SCHOOLS_HELP + " Repeat for several files (one --teachers each, same order). Default: the bundled Mansehra sample."
    ),
    teachers: Optional[List[Path]] = typer.Option(None, help=TEACHERS_HELP + " One per --schools file, in the same order."),
    network: Optional[Path] = typer.Option(
        None, help="Road network file: OSM PBF (.osm.pbf), OSM XML (.osm, .osm.bz2), osmnx GraphML or Overpass JSON; each district's task gets only its part."
    ),
    travel_matrix: Optional[Path] = typer.Option(None, help="Travel-time CSV: from_school_id,to_school_id,minutes."),
    straight_line: bool = typer.Option(False, help="Use straight-line distance x detour factor (announced in every output)."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML file (defaults: 6-12 teachers, 5 schools, 60 minutes)."),
    out: Path = typer.Option(
        DEFAULT_OUT, help="Folder for the plan files; replaced only when the new plan is complete. Finished districts wait in OUT/.programme until then."
    ),
    backend: str = typer.Option("", help="OR-Tools MIP backend (default: the model's own choice)."),
    review: bool = typer.Option(True, help="Also write map.html and report.html."),
    revise: Optional[Path] = typer.Option(
        None, help="An earlier plan folder: re-plan with the least change (most placed, then fewest teachers moved, then least travel)."
    ),
    edits: Optional[Path] = typer.Option(
        None, help="Edits file (CSV, or the 'edits' sheet of an XLSX workbook): lock_cluster, together, apart, venue, no_venue, travel_minutes, exclude."
    ),
    district: Optional[str] = typer.Option(None, help=DISTRICT_HELP),
    elevation: Optional[List[Path]] = typer.Option(None, help=ELEVATION_HELP),
    facilitators: Optional[Path] = typer.Option(None, help="Facilitators file (CSV or GeoJSON): also plan who supports each cluster and their month."),
    scheduler: Optional[str] = typer.Option(None, help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, min=1, help="Worker processes of the local Dask cluster (default: one per core)."),
    dask: bool = typer.Option(True, "--dask/--no-dask", help="--no-dask plans several districts one after another in this process."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Reuse districts finished by an interrupted run with the same inputs (OUT/.programme)."),
    district_polygons: Optional[Path] = typer.Option(
        None,
        help="District polygons (GeoJSON/GeoPackage, 'district' column): cut the --network .osm.pbf into buffered per-district networks (cached); each task reads only its own.",
    ),
):
    """Form clusters for one district or many and write the plan files, map and report.

    With no input options it plans the bundled Mansehra sample. A file of
    several districts (a district column, or several --schools files) is
    planned district by district on a local Dask cluster (or the one at
    --scheduler); each finished district is kept in OUT/.programme, so an
    interrupted run resumes where it stopped. One district is planned in
    this process. The plan is the same either way.
    """

    def body():
        from cluster_mapper.errors import InputProblem
        from cluster_mapper.folder import check_output_folder
        from cluster_mapper.model import BACKENDS, DEFAULT_BACKEND

        if backend and backend.upper() not in BACKENDS:
            raise InputError([InputProblem("<command line>", f"unknown solver backend '{backend}'.", f"use one of {', '.join(BACKENDS)}.", field="--backend")])
        check_output_folder(out)
        scenario = _scenario(
            schools[0] if schools else None,
            teachers[0] if teachers else None,
            network,
            travel_matrix,
            straight_line,
            policy,
            backend=backend.upper() or DEFAULT_BACKEND,
            revise=revise,
            edits=edits,
            district=district,
            elevation=elevation,
            facilitators=facilitators,
        )
        settings = _plan_settings(scheduler, workers, dask, resume)
        result = _plan_and_write(scenario, settings, out=out, schools=schools, teachers=teachers, district_polygons=district_polygons, review=review)
        _print_plan(result, out, revise)

    _run(body)


plan = app.command("plan")(_plan_command)
programme = app.command(
    "programme",
    help="Alias of `plan` (same options, same code path), kept for scripts written for earlier versions.",
)(_plan_command)


@app.command()
def export(
    plan_dir: Path = typer.Argument(..., help="A plan folder."),
    xlsx: Path = typer.Option(..., help="Workbook to write (.xlsx): clusters, schools with their alternatives, and an edits sheet with drop-down lists."),
    force: bool = typer.Option(False, "--force", help="Replace the workbook if it exists (without it, an existing file is left alone)."),
):
    """Write a plan as a workbook to review and edit in Excel or LibreOffice; its edits sheet feeds --edits."""

    def body():
        from cluster_mapper.errors import InputProblem
        from cluster_mapper.review.workbook import write_workbook

        if xlsx.suffix.lower() != ".xlsx":
            raise InputError([InputProblem("<command line>", f"--xlsx {xlsx} does not end in .xlsx.", "give a file name ending in .xlsx.", field="--xlsx")])
        if (xlsx.exists() or xlsx.is_symlink()) and not force:
            raise InputError(
                [
                    InputProblem(
                        "<command line>",
                        f"--xlsx {xlsx} exists (a reviewer's edits or an input workbook may be in it); it was left as it is.",
                        "give a new file name, or add --force to replace it.",
                        field="--xlsx",
                    )
                ]
            )
        try:
            path = write_workbook(plan_dir, xlsx)
        except OSError as exc:  # a full disk or a folder one may not write to: the earlier workbook, if any, is unchanged
            console.print(
                f"[bold red]Cannot write {escape(str(xlsx))}:[/] {escape(str(exc.strerror or exc))}. Any earlier file there is unchanged. "
                "Fix: free disk space, or choose another --xlsx.",
                highlight=False,
            )
            raise typer.Exit(2) from None
        out_console.print(f"workbook written to {path}; add edits on its 'edits' sheet, then: cluster-mapper plan ... --revise {plan_dir} --edits {path}")

    _run(body)


@app.command()
def diff(
    old_plan: Path = typer.Argument(..., help="The earlier plan folder."),
    new_plan: Path = typer.Argument(..., help="The later plan folder."),
    out: Optional[Path] = typer.Option(None, help="Also write the per-teacher changes to this CSV."),
):
    """Show what changed between two plans: teachers moved and why, clusters created, kept and dissolved."""

    def body():
        from cluster_mapper._files import write_csv
        from cluster_mapper.folder import read_plan
        from cluster_mapper.planning.changes import change_summary, cluster_changes, names_of, plan_changes, with_names
        from cluster_mapper.planning.files import read_plan_csv

        a, b = read_plan(old_plan), read_plan(new_plan)
        edits_csv = Path(new_plan) / "edits.csv"
        edits_df = read_plan_csv(edits_csv) if edits_csv.exists() else None
        teacher_names, school_names = names_of(a.assignments, b.assignments)

        def named(sid: str) -> str:
            return f"{sid} ({school_names[sid]})" if school_names.get(sid) else sid

        teachers = with_names(plan_changes(a.assignments, b.assignments, edits_df), teacher_names, school_names)
        clusters = cluster_changes(a.assignments, b.assignments)
        s = change_summary(teachers, clusters)
        c = s["clusters"]
        out_console.print(
            f"{s['teachers_moved']} teacher(s) moved ({s['teachers_moved'] - s['teachers_lost_place']} to another venue, "
            f"{s['teachers_lost_place']} lost their place) from {s['schools_with_moves']} school(s); "
            f"{s['teachers_newly_placed']} newly placed, {s['teachers_joined']} joined, {s['teachers_left']} left."
        )
        out_console.print(
            f"clusters: {c['kept']} kept, {c['changed']} changed, {c['created']} created, {c['dissolved']} dissolved; "
            f"mean travel change {s['mean_travel_change_minutes']:+.1f} minutes per teacher who stayed placed."
        )
        from cluster_mapper.planning.changes import changes_by_school

        moved = changes_by_school(teachers)
        if len(moved):
            out_console.print("Schools whose teachers changed cluster (per teacher: --out FILE):")
            for r in moved.head(300).itertuples(index=False):
                dt = "" if r.travel_change_minutes != r.travel_change_minutes else f", travel {r.travel_change_minutes:+.1f} min"
                out_console.print(
                    f"  - {named(r.school_id)}: {r.teachers} teacher(s) {r.change.replace('_', ' ')} ({r.from_cluster or '-'} -> {r.to_cluster or '-'}{dt}); why: {r.why}",
                    markup=False,
                    highlight=False,
                )
        cc = clusters[clusters["change"] != "kept"]
        if len(cc):
            out_console.print("Clusters created, changed or dissolved:")
            for r in cc.itertuples(index=False):
                venue = r.new_venue_school_id if r.change != "dissolved" else r.old_venue_school_id
                out_console.print(
                    f"  - {r.cluster_id} {r.change} (venue {named(venue)}): {r.old_teachers} -> {r.new_teachers} teachers, {r.joined} joined, {r.left} left",
                    markup=False,
                    highlight=False,
                )
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_csv(teachers, out)
            out_console.print(f"per-teacher changes written to {out}")

    _run(body)


def _support_table(fig: dict, out: Path) -> Table:
    t = Table(title=f"Support written to {out}", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    bound = fig.get("travel_lower_bound")
    rows = [
        ("facilitators", f"{fig['facilitators']} ({fig['facilitators_supporting']} supporting)"),
        (
            "clusters supported",
            f"{fig['clusters_supported']:,} of {fig['clusters']:,}"
            + (
                f" (most possible, proven: equals the bound {fig.get('supported_bound', fig['clusters_supported']):,})"
                if fig.get("supported_proven_maximal")
                else f" (NOT proven the most possible: bound {fig.get('supported_bound', '?')}; to settle it: {fig.get('supported_settle') or 'a longer time limit'})"
            ),
        ),
        ("out of everyone's reach", f"{fig['clusters_unreachable']:,}"),
        (
            "travel in the month",
            (
                f"{fig['travel_minutes_month']:,.0f} minutes; per facilitator mean {fig['travel_minutes_per_facilitator_mean']:,.0f}, "
                f"max {fig['travel_minutes_per_facilitator_max']:,.0f}"
            ),
        ),
        ("lower bound / gap", "none (heuristic calendar)" if bound is None else f"{bound:,.0f} / {100 * float(fig.get('gap') or 0):.2f}%"),
        ("floor (round trips)", f"{fig['floor']['clusters_supported']:,} clusters, {fig['floor']['travel_minutes_month']:,.0f} minutes"),
        ("status", fig["status"]),
        ("solve time", f"{fig['solve_seconds']:.1f} s"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


@app.command()
def support(
    plan_dir: Path = typer.Argument(..., help="A folder written by `cluster-mapper plan`."),
    facilitators: Path = typer.Option(..., help="Facilitators file (CSV or GeoJSON)."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML whose [support] table to use (default: the plan's policy)."),
    review: bool = typer.Option(True, help="Also write map.html and report.html again."),
):
    """Plan who supports each cluster of an existing plan, and their month (after a revision, or new facilitators).

    The plan's clusters are kept; support.csv, itineraries.csv, gpx/, ics/ (with [support] month) and the
    support figures in summary.json are written (replaced) in the folder.
    """

    def body():
        from cluster_mapper.folder import read_plan, write_support_to_plan
        from cluster_mapper.policy.load import load_policy
        from cluster_mapper.support import plan_support

        saved = read_plan(plan_dir)
        pol = load_policy(policy) if policy is not None else None
        with _progress() as prog:
            task = prog.add_task("planning facilitator support", total=None)
            result = plan_support(saved, facilitators, policy=pol)
            prog.update(task, description="writing support files")
            write_support_to_plan(plan_dir, saved, result, review=review)
        out_console.print(_support_table(result.figures, plan_dir))
        for note in result.notes[:10]:
            console.print(f"note: {note}", markup=False)

    _run(body)


@app.command()
def attendance(
    plan_dir: Path = typer.Argument(..., help="A plan folder with support (written by `plan --facilitators` or `support`)."),
    records: Path = typer.Option(..., help="Meeting records: CSV or workbook (FILE.xlsx#Sheet) with date, cluster_id, teacher_id, present."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML for [support] attendance_threshold and [columns.attendance] (default: the plan's policy)."),
    review: bool = typer.Option(True, help="Also write map.html and report.html again (registers, attendance, clusters at risk)."),
):
    """Read meeting records back: attendance.csv per cluster and teacher, with those at risk set against their travel.

    Revise the clusters at risk with `cluster-mapper plan ... --revise PLAN_DIR` (see the README).
    """

    def body():
        from cluster_mapper._files import write_csv
        from cluster_mapper.folder import read_plan, write_review
        from cluster_mapper.policy.load import load_policy
        from cluster_mapper.support.attendance import ATTENDANCE_COLUMNS, attendance_table, read_records
        from cluster_mapper.support.files import school_names

        saved = read_plan(plan_dir)
        pol = load_policy(policy) if policy is not None else saved.policy
        recs, notes = read_records(records, saved.assignments, pol.inputs)
        itin = saved.support.itineraries if saved.support is not None else None
        table, more = attendance_table(recs, saved.assignments, itin, school_names(saved), pol.support.attendance_threshold)
        write_csv(table[ATTENDANCE_COLUMNS], Path(plan_dir) / "attendance.csv")
        if review:
            write_review(read_plan(plan_dir), plan_dir)
        cl = table[table["level"] == "cluster"]
        te = table[table["level"] == "teacher"]
        t = Table(title=f"Attendance written to {Path(plan_dir) / 'attendance.csv'}", show_header=False)
        t.add_column(style="bold")
        t.add_column()
        thr = pol.support.attendance_threshold
        t.add_row("records", f"{len(recs):,} from {records.name}")
        t.add_row("clusters with meetings", f"{int((cl['meetings_held'] > 0).sum()):,} of {len(cl):,}")
        at_risk = cl.loc[cl["at_risk"], "cluster_id"].tolist()
        t.add_row(
            f"clusters at risk (< {100 * thr:.0f}%)",
            f"{len(at_risk):,}" + (f": {', '.join(at_risk[:8])}" + (" ..." if len(at_risk) > 8 else "") if at_risk else ""),
        )
        t.add_row(f"teachers at risk (< {100 * thr:.0f}%)", f"{int(te['at_risk'].sum()):,}")
        risk, rest = te.loc[te["at_risk"], "travel_minutes"], te.loc[~te["at_risk"] & (te["meetings_held"] > 0), "travel_minutes"]
        if len(risk) and len(rest):
            t.add_row("travel (mean minutes)", f"at risk {risk.mean():.0f}, others {rest.mean():.0f}")
        out_console.print(t)
        for note in [*notes, *more][:10]:
            console.print(f"note: {note}", markup=False)

    _run(body)


@app.command()
def validate(plan_dir: Path = typer.Argument(..., help="A folder written by `cluster-mapper plan`.")):
    """Check every rule of a plan independently of the planner (exit 1 on violations)."""

    def body():
        from cluster_mapper.validate.plan import validate_plan

        rep = validate_plan(plan_dir)
        if rep.ok:
            extra = (
                f", {rep.checked['facilitators']:,} facilitators and {rep.checked.get('facilitator_days', 0):,} working days"
                if "facilitators" in rep.checked
                else ""
            )
            out_console.print(
                f"[green]valid[/]: {rep.checked.get('teachers', 0):,} teachers and {rep.checked.get('clusters', 0):,} clusters{extra} checked, no violations."
            )
            return
        out_console.print(f"[red]{len(rep.violations)} violation(s)[/]:")
        for v in rep.violations:
            out_console.print(f"  - {v}", markup=False)
        raise typer.Exit(1)

    _run(body)


@app.command("travel-times")
def travel_times(
    schools: Path = typer.Option(..., help=SCHOOLS_HELP),
    network: Optional[Path] = typer.Option(None, help="Road network file."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Existing travel-time CSV to check and rewrite."),
    straight_line: bool = typer.Option(False, help="Straight-line times (announced)."),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML (travel settings and limits, how the schools file is read)."),
    out: Path = typer.Option(Path("outputs") / "travel_times.csv", help="CSV to write (snap distances go beside it)."),
    district: Optional[str] = typer.Option(None, help=DISTRICT_HELP),
    elevation: Optional[List[Path]] = typer.Option(None, help=ELEVATION_HELP),
):
    """Compute school-to-school travel minutes and write them for review and reuse."""

    def body():
        from cluster_mapper.api import TravelSource, schools_travel_times
        from cluster_mapper.policy.load import load_policy
        from cluster_mapper.travel.times import write_travel_times

        pol = load_policy(policy).with_overrides(district=district, elevation=elevation or None)
        source = TravelSource(str(network) if network else None, str(travel_matrix) if travel_matrix else None, straight_line)
        tt = schools_travel_times(schools, source, pol).times
        out.parent.mkdir(parents=True, exist_ok=True)
        paths = write_travel_times(tt, out)
        out_console.print(f"{len(tt.pairs):,} reachable pairs ({tt.source}) written to {paths[0]}; snap distances in {paths[1]}")
        for n in tt.notes:
            console.print(f"note: {n}", markup=False)
        if len(tt.snaps) and tt.snaps["off_network"].any():
            off = tt.snaps[tt.snaps["off_network"]]
            console.print(
                f"[yellow]{len(off)} school(s) are farther than {pol.travel.max_snap_metres:g} m from the network:[/] " + ", ".join(off["school_id"].head(20))
            )

    _run(body)


@app.command("map")
def map_(plan_dir: Path = typer.Argument(..., help="A plan folder.")):
    """Write map.html (works offline) and report.html for a plan folder."""

    def body():
        from cluster_mapper.folder import read_plan, write_review

        try:
            write_review(read_plan(plan_dir), plan_dir)  # each file written whole, then moved into place
        except OSError as exc:
            console.print(
                f"[bold red]map.html or report.html could not be written:[/] {escape(str(exc.strerror or exc))}. Each is whole: the earlier file or the new one. "
                "Fix: free disk space, or copy the plan folder somewhere writable.",
                highlight=False,
            )
            raise typer.Exit(2) from None
        out_console.print(f"map and report written to {plan_dir}")

    _run(body)


def _comparison_table(table, out: Path) -> Table:
    """The scenarios side by side, one column each, and where their files went."""
    rows = [
        ("clusters", "clusters", "{:,.0f}"),
        ("teachers placed", "teachers_placed", "{:,.0f}"),
        ("teachers not placed", "teachers_not_placed", "{:,.0f}"),
        ("head teachers left out", "head_teachers_left_out", "{:,.0f}"),
        ("mean travel (minutes)", "mean_travel_minutes", "{:.1f}"),
        ("max travel (minutes)", "max_travel_minutes", "{:.1f}"),
        ("schools per cluster", "mean_schools_per_cluster", "{:.2f}"),
        ("teachers per cluster", "mean_teachers_per_cluster", "{:.2f}"),
        ("objective", "objective", "{:,.1f}"),
        ("gap", "gap", "{:.2%}"),
        ("status", "status", "{}"),
        ("travel times", "travel_source", "{}"),
    ]
    t = Table(title=f"Scenarios compared in {out} (comparison.csv, comparison_map.html, one plan folder each)")
    t.add_column("")
    for name in table["scenario"]:
        t.add_column(str(name), justify="right")
    for label, col, fmt in rows:
        if col in table.columns:
            t.add_row(label, *(fmt.format(v) for v in table[col]))
    return t


@app.command()
def compare(
    policy: List[Path] = typer.Option(..., help="Two or more policy TOML files, one per scenario."),
    schools: Optional[Path] = typer.Option(None, help=SCHOOLS_HELP + " Default: the bundled sample."),
    teachers: Optional[Path] = typer.Option(None, help=TEACHERS_HELP),
    network: Optional[Path] = typer.Option(None, help="Road network file."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Travel-time CSV."),
    straight_line: bool = typer.Option(False, help="Straight-line travel times."),
    out: Path = typer.Option(Path("outputs") / "compare", help="Folder for the comparison."),
    district: Optional[str] = typer.Option(None, help=DISTRICT_HELP),
    elevation: Optional[List[Path]] = typer.Option(None, help=ELEVATION_HELP),
):
    """Plan each scenario on the same inputs and compare them side by side."""

    def body():
        from cluster_mapper.compare import compare_scenarios

        scenario = _scenario(schools, teachers, network, travel_matrix, straight_line, None, district=district, elevation=elevation)
        table = compare_scenarios(scenario, [str(p) for p in policy], out)
        out_console.print(_comparison_table(table, out))

    _run(body)


@app.command()
def inspect(
    schools: Optional[Path] = typer.Option(None, help=SCHOOLS_HELP + " Default: the bundled Mansehra sample."),
    teachers: Optional[Path] = typer.Option(None, help=TEACHERS_HELP),
    policy: Optional[Path] = typer.Option(None, help="Policy TOML: how the files are read ([sheets], [columns.*], [values.*], district) and the rules."),
    network: Optional[Path] = typer.Option(None, help="Road network file: also show the schools far from it and the elevation coverage."),
    travel_matrix: Optional[Path] = typer.Option(None, help="Travel-time CSV: also check it against the schools."),
    district: Optional[str] = typer.Option(None, help=DISTRICT_HELP),
    elevation: Optional[List[Path]] = typer.Option(None, help=ELEVATION_HELP),
    out: Path = typer.Option(Path("outputs") / "inputs_preview.html", help="Where to write the preview map of the schools (HTML, works offline)."),
):
    """Read the inputs as `plan` would and show how: columns, codes, counts, network reach, elevation; write a preview map.

    Nothing is planned and nothing else is written. A problem in the inputs
    stops it exactly as it would stop `plan`.
    """

    def body():
        from cluster_mapper.preview import inspect_scenario, write_preview_map

        straight = network is None and travel_matrix is None and schools is not None
        scenario = _scenario(schools, teachers, network, travel_matrix, straight, policy, district=district, elevation=elevation)
        ins = inspect_scenario(scenario)
        for kind, table in ins.inputs.tables.items():
            t = Table(title=f"{kind}: {table.source}, {len(table.data):,} rows (header on row {table.header_row})", show_header=False, title_justify="left")
            t.add_column()
            for line in table.how_read():
                t.add_row(line)
            out_console.print(t)
        if ins.inputs.counts_input:
            out_console.print("teachers: from the counts in the schools file (no roster)")
        t = Table(title="Teachers by district, gender and level", title_justify="left")
        for c in ("district", "gender", "level", "role", "teachers"):
            t.add_column(c, justify="right" if c == "teachers" else "left")
        for r in ins.counts.itertuples(index=False):
            t.add_row(str(r.district), str(r.gender), str(r.level), str(r.role), f"{int(r.teachers):,}")
        out_console.print(t)
        t = Table(title="Schools by district and gender", title_justify="left")
        for c in ("district", "gender", "schools"):
            t.add_column(c, justify="right" if c == "schools" else "left")
        for r in ins.schools_by_district.itertuples(index=False):
            t.add_row(str(r.district), str(r.gender), f"{int(r.schools):,}")
        out_console.print(t)
        if ins.travel_source == "network":
            off = ins.off_network
            limit = ins.policy.travel.max_snap_metres
            out_console.print(
                f"road network: {ins.network_nodes:,} nodes; {len(off)} of {len(ins.inputs.schools)} schools farther than {limit:g} m from it"
                + (": " + ", ".join(f"{r.school_id} ({r.snap_metres:,.0f} m)" for r in off.head(20).itertuples()) if len(off) else "")
            )
            if ins.elevation_share is not None:
                out_console.print(f"elevation: {100 * ins.elevation_share:.0f}% of the network's nodes have a height")
            else:
                out_console.print("elevation: none given (walking times on this network would be flat; see --elevation)")
        elif ins.travel_source == "straight_line":
            out_console.print("travel: no network or matrix given; schools far from the roads are checked with --network")
        path = write_preview_map(ins, out)
        out_console.print(f"preview map written to {path}")
        _print_notes(ins.notes, len(ins.inputs.notes), limit=20)

    _run(body)


@app.command()
def init(
    path: Path = typer.Argument(Path("policy.toml"), help="Where to write the policy template."),
    force: bool = typer.Option(False, help="Replace the file if it exists."),
):
    """Write a commented policy template with every setting and its default.

    Edit it (cluster size, travel limit, gender and level rules, how your
    files' columns and codes are read) and give it to --policy; check it
    with `cluster-mapper inspect --policy FILE`.
    """

    def body():
        from cluster_mapper.errors import InputProblem
        from cluster_mapper.policy.template import policy_template

        if path.exists() and not force:
            raise InputError([InputProblem(str(path), "the file exists and was left as it is.", "give another file name, or --force to replace it.")])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(policy_template(), encoding="utf-8")
        out_console.print(f"policy template written to {path}: every setting at its default. Edit it and give it to --policy.")

    _run(body)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on. Any other than 127.0.0.1/localhost needs accounts with an administrator (--add-user)."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open the browser."),
    project_dir: Optional[Path] = typer.Option(None, help="Folder of the projects, their plans and the SQLite database (default: the user's data folder)."),
    database: Optional[str] = typer.Option(None, help="SQLAlchemy database URL, such as postgresql+psycopg://user@host/db (default: SQLite in --project-dir)."),
    workers: int = typer.Option(1, min=1, help="Plans that run at once (each in its own worker process)."),
    add_user: Optional[str] = typer.Option(
        None, help="Add this account and exit (password from CLUSTER_MAPPER_PASSWORD or asked); the first should be a manager."
    ),
    role: str = typer.Option("manager", help="Role of --add-user: viewer, reviewer or manager."),
):
    """Start the district team's workspace: a local web app over the whole loop (projects, plans, review, versions)."""
    import os
    import threading
    import webbrowser

    import uvicorn

    from cluster_mapper.workspace.app import WorkspaceConfig, create_app, database_url, default_project_dir
    from cluster_mapper.workspace.db import Store
    from cluster_mapper.workspace.migrations import DatabaseVersionError
    from cluster_mapper.workspace.security import add_user as add_account
    from cluster_mapper.workspace.security import check_listen, is_loopback

    folder = (project_dir or default_project_dir()).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        store = Store(database_url(folder, database))  # upgrades the database's schema to this version's (Alembic)
    except DatabaseVersionError as err:
        console.print(f"[bold red]Not started.[/] {err}")
        raise typer.Exit(2) from err
    if add_user is not None:
        password = os.environ.get("CLUSTER_MAPPER_PASSWORD") or typer.prompt(f"password for {add_user}", hide_input=True, confirmation_prompt=True)
        problems = add_account(store, add_user, password, role)
        for p in problems:
            console.print(f"[red]Cannot add the user:[/] {p}")
        if problems:
            raise typer.Exit(2)
        out_console.print(f"user {add_user} ({role}) added to the workspace in {folder}")
        return
    refusal = check_listen(host, store)
    if refusal:
        console.print(f"[bold red]Not started.[/] {refusal}")
        raise typer.Exit(2)
    allowed = ["127.0.0.1", "localhost", "::1", "[::1]"] if is_loopback(host) else None
    application = create_app(WorkspaceConfig(project_dir=folder, database=database, workers=workers, allowed_hosts=allowed))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    out_console.print(f"workspace on {url} (projects in {folder}); Ctrl-C stops it")
    if not no_browser:
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    uvicorn.run(application, host=host, port=port, log_level="warning")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
