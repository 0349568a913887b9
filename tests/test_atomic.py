"""Atomic plan folders and hostile cell content (issue 5, items 3 and 4).

A plan folder is written completely or not at all: a second plan interrupted
mid-write (KeyboardInterrupt in-process, SIGINT or SIGKILL to a real process)
leaves the previous plan complete and valid by the independent validator.
CSV outputs neutralise cells a spreadsheet would run as a formula, and read
back intact.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from cluster_mapper import Scenario, TravelSource, plan
from cluster_mapper import folder as plan_io
from cluster_mapper.cli import app
from cluster_mapper.folder import read_plan, recover_interrupted, write_plan
from cluster_mapper.validate.plan import validate_plan

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
SCHOOLS, ROSTER, POLICY = CORPUS / "good_schools.csv", CORPUS / "good_roster.csv", CORPUS / "good_policy.toml"


def make_plan(schools=SCHOOLS, roster=ROSTER, policy=POLICY):
    return plan(Scenario(schools, TravelSource(straight_line=True), roster, policy))


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path):
    result = make_plan()
    out = tmp_path / "plan"
    write_plan(result, out, review=False)
    assert validate_plan(out).ok
    return out, tree(out)


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


@pytest.mark.parametrize("stage", ["plan_geodata", "extra"])
def test_keyboard_interrupt_mid_write_keeps_previous_plan(previous, monkeypatch, stage):
    out, before = previous
    result = make_plan()
    if stage == "plan_geodata":

        def boom(*_args, **_kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(gpd.GeoDataFrame, "to_file", boom)  # after assignments.csv and clusters.csv
    else:

        def review(_plan, tmp):
            assert (tmp / "summary.json").exists()  # every plan file written, then Ctrl-C
            raise KeyboardInterrupt

        monkeypatch.setattr(plan_io, "write_review", review)
    with pytest.raises(KeyboardInterrupt):
        write_plan(result, out)
    assert tree(out) == before
    assert _siblings(out) == ["plan"]
    assert validate_plan(out).ok


def test_error_mid_write_keeps_previous_plan(previous, monkeypatch):
    out, before = previous
    result = make_plan()

    def review(_plan, tmp):
        raise OSError("disk full")

    monkeypatch.setattr(plan_io, "write_review", review)
    with pytest.raises(OSError):
        write_plan(result, out)
    assert tree(out) == before and _siblings(out) == ["plan"]


def test_successful_rewrite_replaces_whole_folder(previous):
    out, before = previous
    (out / "stale.txt").write_text("from an older plan")
    result = make_plan()
    write_plan(result, out, review=False)
    assert not (out / "stale.txt").exists()
    assert _siblings(out) == ["plan"]
    assert validate_plan(out).ok


WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_atomic import make_plan
    from cluster_mapper import folder as plan_io

    result = make_plan()

    def review(_plan, tmp):
        print("WRITING", flush=True)
        time.sleep(60)

    plan_io.write_review = review
    plan_io.write_plan(result, {out!r})
    print("DONE", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_real_process_killed_mid_write(previous, sig, tmp_path):
    out, before = previous
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=str(Path(__file__).parent), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.strip() == "WRITING":
                break
        assert seen and seen[-1].strip() == "WRITING", "".join(seen) + proc.stderr.read()
        writing = [p for p in out.parent.iterdir() if p.name.startswith(".plan.writing-")]
        assert len(writing) == 1 and (writing[0] / "assignments.csv").exists()  # the new plan is half in place
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    # the previous plan is complete and valid, whatever the signal
    assert tree(out) == before
    assert validate_plan(out).ok
    if sig == signal.SIGINT:
        assert _siblings(out) == ["plan", "writer.py"]  # Ctrl-C cleans up its temporary folder
    # a kill cannot clean up; the next write removes what the dead process left
    recover_interrupted(out)
    assert _siblings(out) == ["plan", "writer.py"]


def test_recover_restores_previous_plan_moved_aside(previous):
    """Killed between the two renames (non-Linux path): the next run puts the old plan back."""
    out, before = previous
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    os.replace(out, out.parent / f".plan.old-{dead}")
    (out.parent / f".plan.writing-{dead}-abc").mkdir()
    notes = recover_interrupted(out)
    assert tree(out) == before and _siblings(out) == ["plan"]
    assert any("restored" in n for n in notes)


def test_write_without_rename_exchange(previous, monkeypatch):
    """The portable two-rename path also leaves a complete plan."""
    out, _ = previous
    monkeypatch.setattr(plan_io, "_exchange", lambda a, b: False)
    result = make_plan()
    write_plan(result, out, review=False)
    assert _siblings(out) == ["plan"] and validate_plan(out).ok


# --------------------------------------------------------------------------- hostile content

HOSTILE = ['=HYPERLINK("http://x")', "+1", "@SUM(1)", "-2", "'=already quoted", "=1+2,3"]


def test_formula_cells_are_neutralised_and_read_back(tmp_path):
    import csv

    rows = ["school_id,name,district,latitude,longitude,gender,can_host"]
    lats = [34.3300, 34.3310, 34.3400, 34.3410, 34.3350, 34.3250]
    for i, h in enumerate(HOSTILE):
        q = '"' + h.replace('"', '""') + '"'
        rows.append(f"{q},{q},=cmd|' /C calc'!A0,{lats[i]},{73.20 + i * 0.003},mixed,true")
    schools = tmp_path / "schools.csv"
    schools.write_text("\n".join(rows) + "\n", encoding="utf-8")
    roster = ["teacher_id,school_id,gender,level,subject,role"]
    for _i, h in enumerate(HOSTILE):
        q = '"' + h.replace('"', '""') + '"'
        for k in range(3):
            tid = '"' + f"{h}#{k}".replace('"', '""') + '"'
            roster.append(f"{tid},{q},{'female' if k % 2 else 'male'},primary,,teacher")
    teachers = tmp_path / "roster.csv"
    teachers.write_text("\n".join(roster) + "\n", encoding="utf-8")
    result = make_plan(schools, teachers, POLICY)
    out = tmp_path / "plan"
    write_plan(result, out, review=False)

    raw = list(csv.DictReader((out / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()))
    for r in raw:
        for col in ("school_id", "teacher_id", "district", "unit_id", "venue_school_id", "cluster_id"):
            v = r[col]
            assert not v.startswith(("=", "+", "-", "@")), f"{col} {v!r} would run as a formula"
    assert {r["school_id"] for r in raw} == {"'" + h for h in HOSTILE}
    back = read_plan(out)
    assert set(back.assignments["school_id"]) == set(HOSTILE)
    assert set(back.assignments["teacher_id"]) == {f"{h}#{k}" for h in HOSTILE for k in range(3)}
    assert set(back.assignments["district"]) == {"=cmd|' /C calc'!A0"}
    assert (back.assignments["status"] == "placed").all()
    rep = validate_plan(out)
    assert rep.ok, rep.violations


# --------------------------------------------------------------------------- --out that is not a plan folder


def test_out_naming_a_user_folder_is_refused_and_untouched(tmp_path):
    """`--out ~/Documents` by mistake must not delete the user's files."""
    from typer.testing import CliRunner

    from cluster_mapper.cli import app

    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "thesis.docx").write_bytes(b"precious")
    args = ["plan", "--schools", str(SCHOOLS), "--teachers", str(ROSTER), "--policy", str(POLICY), "--straight-line", "--no-review"]
    res = CliRunner().invoke(app, args + ["--out", str(docs)])
    assert res.exit_code == 2, res.output
    assert "thesis.docx" in res.output and "Traceback" not in res.output
    assert (docs / "thesis.docx").read_bytes() == b"precious"
    target = tmp_path / "schools_copy.csv"
    target.write_bytes(SCHOOLS.read_bytes())
    res = CliRunner().invoke(app, args + ["--out", str(target)])
    assert res.exit_code == 2 and target.read_bytes() == SCHOOLS.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Documents", "schools_copy.csv"]
    # an empty folder and an earlier plan folder are fine
    empty = tmp_path / "empty"
    empty.mkdir()
    assert CliRunner().invoke(app, args + ["--out", str(empty)]).exit_code == 0
    assert CliRunner().invoke(app, args + ["--out", str(empty)]).exit_code == 0
    assert validate_plan(empty).ok


# -- issue 21: truthful interrupts, folders of the user's mode, outputs that cannot be written, networks of another place

runner = CliRunner()
PLAN_ARGS = ["plan", "--schools", str(SCHOOLS), "--teachers", str(ROSTER), "--policy", str(POLICY), "--straight-line", "--no-review"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o002, 0o775), (0o077, 0o700)])
def test_plan_folder_gets_the_mode_of_the_users_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_plan(make_plan(), tmp_path / "plan", review=False)
    finally:
        os.umask(old)
    assert (tmp_path / "plan").stat().st_mode & 0o777 == mode


def test_interrupt_after_the_swap_says_the_new_plan_is_there(tmp_path, monkeypatch):
    import cluster_mapper.cli as cli

    def interrupted(*_args, **_kwargs):  # Ctrl-C while the summary is printed: the new plan is already in place
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_summary_table", interrupted)
    out = tmp_path / "plan"
    res = runner.invoke(app, [*PLAN_ARGS, "--out", str(out)])
    text = " ".join(res.output.split())
    assert res.exit_code == 130
    assert "No new files were written" not in text and "after the new files were written" in text
    assert validate_plan(out).ok


def test_interrupt_before_the_swap_says_nothing_was_written(tmp_path, monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_io, "write_csv", interrupted)
    res = runner.invoke(app, [*PLAN_ARGS, "--out", str(tmp_path / "plan")])
    assert res.exit_code == 130 and "No new files were written" in " ".join(res.output.split())
    assert not (tmp_path / "plan").exists()


def test_unwritable_out_is_refused_before_solving(monkeypatch):
    import cluster_mapper.api as api

    def never(*_args, **_kwargs):
        raise AssertionError("nothing may be planned for an output that cannot be written")

    monkeypatch.setattr(api, "solve_plan", never)
    res = runner.invoke(app, [*PLAN_ARGS, "--out", "/proc/cluster-mapper-plan"])  # /proc takes no new folder, even for root
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "the output folder cannot be written" in text and "Traceback" not in text


def test_full_disk_while_writing_is_a_clean_message(previous, monkeypatch):
    out, before = previous

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device", str(out / "assignments.csv"))

    monkeypatch.setattr(plan_io, "write_csv", full)
    res = runner.invoke(app, [*PLAN_ARGS, "--out", str(out)])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "No space left on device" in text and "previous plan or file there is unchanged" in text
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert tree(out) == before and _siblings(out) == ["plan"]


def test_network_of_another_place_is_refused_before_solving(previous):
    """West Oakland's roads for schools in Mansehra: exit 2 with the reason, the previous plan untouched."""
    out, before = previous
    oakland = Path(__file__).parent / "data" / "osm" / "West-Oakland.osm.bz2"
    args = ["plan", "--schools", str(SCHOOLS), "--teachers", str(ROSTER), "--policy", str(POLICY), "--network", str(oakland), "--out", str(out)]
    res = runner.invoke(app, args)
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "the road network does not reach the schools" in text and "network of another place" in text
    assert tree(out) == before


def test_full_disk_is_refused_before_solving(previous, monkeypatch):
    """A disk with less room than the previous plan needs again is refused before anything is planned."""
    from collections import namedtuple

    import cluster_mapper.api as api

    out, before = previous
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(plan_io.shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 1000, 1000))
    monkeypatch.setattr(api, "solve_plan", lambda *a, **k: (_ for _ in ()).throw(AssertionError("nothing may be planned")))
    res = runner.invoke(app, [*PLAN_ARGS, "--out", str(out)])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "MB free" in text and "Nothing was planned" in text, res.output
    assert tree(out) == before
