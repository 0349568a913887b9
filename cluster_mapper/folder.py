"""The plan folder: composed from the plan, its support and its review, written completely or not at all, and read back.

The composer at the top of the house: the planner and the support planner
hand over what they made, and this module writes the cluster files
(:mod:`cluster_mapper.planning.files`), the support files
(:mod:`cluster_mapper.support.files`) and the review (map, report) into one
folder. Files are first written to a temporary folder beside the target and
swapped into place at the end, so an interrupted run leaves the previous plan
as it was.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pandas as pd

from cluster_mapper._files import write_csv
from cluster_mapper.errors import fail
from cluster_mapper.planning.alternatives import feasible_alternatives
from cluster_mapper.planning.changes import names_of, with_names
from cluster_mapper.planning.files import SavedPlan, named_assignments, read_saved_plan, record_inputs
from cluster_mapper.review.map import write_map
from cluster_mapper.review.report import write_report
from cluster_mapper.support.files import GPX_DIR, SUPPORT_FILES, add_to_summary, read_support, school_names, write_support_files

if TYPE_CHECKING:
    from cluster_mapper.support.planning import SupportPlan


#: Folders this process has put in place (so that an interrupt message can say the new files are there).
WRITTEN: list[Path] = []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = renameat2(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    return rc == 0


def recover_interrupted(out: str | Path) -> list[str]:
    """Clean up after a run that was killed while replacing ``out`` (SIGKILL, power loss).

    Leftover ``.NAME.writing-PID-*`` folders of dead processes are removed; if
    ``out`` is missing but a ``.NAME.old-PID`` folder of a dead process holds
    the previous plan, it is put back. Returns what was done, for the user.
    """
    out = Path(out).resolve()
    done: list[str] = []
    if not out.parent.is_dir():
        return done
    for p in sorted(out.parent.glob(f".{out.name}.*-*")):
        kind, _, rest = p.name[len(out.name) + 2 :].partition("-")
        try:
            pid = int(rest.split("-")[0])
        except ValueError:
            continue
        if kind not in ("writing", "old") or _pid_alive(pid):  # a live process (or this one) may still be writing
            continue
        if kind == "old" and not out.exists():
            os.replace(p, out)
            done.append(f"restored the previous plan in {out} from an interrupted run")
        else:
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name} left by an interrupted run")
    return done


def _umask_mode() -> int:
    """The mode a new folder gets under the user's umask (``mkdtemp`` always makes 0700)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o777 & ~mask


@contextlib.contextmanager
def atomic_directory(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out`` in one move.

    If the block raises (an error, Ctrl-C), the temporary folder is removed
    and ``out`` keeps its previous content. On Linux the old and new folders
    are swapped in one atomic ``renameat2(RENAME_EXCHANGE)``, so ``out`` is
    complete at every instant, even if the process is killed; elsewhere there
    is a short window between two renames, and :func:`recover_interrupted`
    (run at the start of every write) puts the previous plan back after a kill.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.writing-{os.getpid()}-", dir=out.parent))
    swapped = False
    try:
        os.chmod(tmp, _umask_mode())  # a shared folder stays shared
        yield tmp
        if out.exists() and _exchange(tmp, out):
            swapped = True
            WRITTEN.append(out)
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous plan
            return
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
        os.replace(tmp, out)
        swapped = True
        WRITTEN.append(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        WRITTEN[:] = [w for w in WRITTEN if tmp not in w.parents]  # folders written inside this one are gone with it
        if swapped and isinstance(exc, KeyboardInterrupt):
            exc.written = out  # type: ignore[attr-defined]  # the new files are in place: the interrupt message says so
        raise


#: Free space below which an output is refused before any work (a plan folder of a small district is about this size).
MIN_FREE_BYTES = 2 * 1024 * 1024


def check_writable(out: str | Path) -> None:
    """Refuse, before any work, an output whose folder cannot be written (read-only disk, no permission).

    The nearest existing folder above ``out`` must take a new folder (the
    plan is written beside its target and swapped in); an existing ``out``
    must be writable itself.
    """
    out = Path(out).absolute()
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    probe = None
    try:
        probe = tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=parent)
        writable = not out.exists() or not out.is_dir() or os.access(out, os.W_OK)
    except OSError as exc:
        writable = False
        log_reason = exc.strerror or str(exc)
    else:
        log_reason = "permission denied"
    finally:
        if probe is not None:
            shutil.rmtree(probe, ignore_errors=True)
    if not writable:
        fail(
            out,
            f"the output folder cannot be written ({log_reason}); nothing was planned.",
            fix="give an --out on a disk and folder you can write to, such as outputs/plan in your own project folder.",
            field="out",
        )
    # the new folder is written beside the previous one: it needs about as much room again
    need = max(MIN_FREE_BYTES, sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.is_dir() else 0)
    free = shutil.disk_usage(parent).free
    if free < need:
        fail(
            out,
            f"the disk holding the output folder has {free / 1e6:,.1f} MB free; the plan needs about {need / 1e6:,.1f} MB beside the previous one. "
            "Nothing was planned.",
            fix="free disk space, or give an --out on another disk.",
            field="out",
        )


PROGRAMME_DIR = ".programme"
PROGRAMME_README = "Regions of an unfinished cluster_mapper programme run (JSON checkpoints); removed when the plan is written.\n"


def programme_checkpoints_ours(folder: Path) -> bool:
    """True when ``folder`` holds only a programme run's JSON checkpoints (with its README), nothing else."""
    try:
        names = [e.name for e in folder.iterdir()] if folder.is_dir() and not folder.is_symlink() else None
        readme = (folder / "README.txt").read_text(encoding="utf-8") if names is not None and "README.txt" in names else None
    except OSError:
        return False
    return readme == PROGRAMME_README and all(n == "README.txt" or n.endswith((".json", ".tmp")) for n in names or [])


def check_output_folder(out: str | Path) -> None:
    """Refuse an ``--out`` that is not a plan folder: a plan replaces its whole folder.

    Allowed: a path that does not exist, an empty folder, or a folder written
    by ``cluster-mapper plan`` (it has a ``summary.json`` of ours). A file, or
    a folder with other content (``--out .`` or ``--out ~/Documents`` by
    mistake), would be deleted by the replacement, so it is refused.
    """
    out = Path(out)
    check_writable(out)
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        fail(
            out,
            "--out names an existing file; a plan is a folder and would replace it.",
            fix="give a new folder name for --out, such as outputs/plan.",
            field="out",
        )
    # a programme run's checkpoints (cluster_mapper.programme.checkpoints) belong to the plan being made; a foreign .programme does not
    entries = [e for e in out.iterdir() if not (e.name == PROGRAMME_DIR and programme_checkpoints_ours(e))]
    if not entries:
        return
    summary = out / "summary.json"
    try:
        ours = "cluster_mapper_version" in json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        ours = False
    if not ours:
        shown = ", ".join(sorted(e.name for e in entries)[:3])
        fail(
            out,
            f"--out is a folder that holds other files ({shown}{', ...' if len(entries) > 3 else ''}), not a plan; writing the plan would delete them.",
            fix="give a new or empty folder for --out, such as outputs/plan.",
            field="out",
        )


def write_plan(plan, out: str | Path, *, review: bool = True, extra_tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write all plan files to ``out`` atomically, with the map and report unless ``review`` is False.

    ``extra_tables`` are more CSV files to write with the plan (name to table),
    such as a programme's ``districts.csv``.

    ``out`` must be new, empty, or an earlier plan folder (see
    :func:`check_output_folder`); it is replaced only when every file is
    written, so an interrupted run leaves the previous plan as it was.
    """
    check_output_folder(out)
    # the plan's own summary (computed once: it hashes every input), with the support as attached now
    summary = copy.deepcopy(plan.summary)
    if getattr(plan, "support", None) is not None:  # facilitators: figures, file and hash
        add_to_summary(summary, plan.support)
    record_inputs(summary, out)  # each input also relative to the plan folder: the plan travels
    geo = plan.geodata
    assignments = named_assignments(plan)  # names beside ids
    with atomic_directory(out) as tmp:
        write_csv(assignments, tmp / "assignments.csv")
        write_csv(plan.clusters, tmp / "clusters.csv")
        if getattr(plan, "edits", None) is not None:
            write_csv(plan.edits.to_frame(), tmp / "edits.csv")
        if getattr(plan, "changes", None) is not None:
            write_csv(with_names(plan.changes, *names_of(assignments)), tmp / "changes.csv")
        write_csv(feasible_alternatives(plan), tmp / "alternatives.csv")
        for name, table in (extra_tables or {}).items():
            write_csv(table, tmp / name)
        geo.to_file(tmp / "clusters.geojson", driver="GeoJSON", engine="pyogrio")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        support = getattr(plan, "support", None)
        if support is not None:  # support.csv, itineraries.csv, gpx/
            write_support_files(support, tmp, dict(zip(plan.inputs.schools["school_id"], plan.inputs.schools["name"])))
        if review:
            write_review(SavedPlan(tmp, assignments, plan.clusters, summary, geo, plan.policy, plan.network, support=support), tmp)
    return Path(out)


def write_review(plan, folder: str | Path) -> None:
    """Write ``map.html`` and ``report.html`` of a plan into ``folder``."""
    write_map(plan, folder)
    write_report(plan, folder)


def read_plan(directory: str | Path) -> SavedPlan:
    """Read a plan folder written by :func:`write_plan`, with its support files: the one plan reader."""
    saved = read_saved_plan(directory)
    saved.support = read_support(saved.directory, saved.summary)
    return saved


def write_support_to_plan(plan_dir: str | Path, saved, sp: SupportPlan, *, review: bool = True) -> Path:
    """Add (or replace) the support files of an existing plan folder, atomically.

    The folder's cluster files are kept as they are; ``summary.json`` gains
    the support figures; the map and report are written again with the
    facilitator layers and pages.
    """
    src = Path(plan_dir)
    summary = dict(saved.summary)
    add_to_summary(summary, sp)
    record_inputs(summary, src)
    place = school_names(saved)
    with atomic_directory(src) as tmp:
        for p in src.iterdir():
            if p.name in SUPPORT_FILES or p.name == GPX_DIR or p.name in ("map.html", "report.html", "summary.json"):
                continue
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, tmp / p.name)
        write_support_files(sp, tmp, place)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        if review:
            write_review(SavedPlan(tmp, saved.assignments, saved.clusters, summary, saved.geodata, saved.policy, saved._network, support=sp), tmp)
    return src
