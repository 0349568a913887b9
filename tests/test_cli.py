"""The main job as a user runs it: plan the bundled sample, validate it."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from cluster_mapper.cli import app

runner = CliRunner()


def test_plan_bundled_sample_and_validate(tmp_path):
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--out", str(out), "--no-review"])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["travel_source"] == "network"
    assert s["teachers_total"] == 2500
    assert s["teachers_placed"] + s["teachers_not_placed"] == 2500
    assert s["gap"] <= 0.02
    assert s["lower_bound"] <= s["objective"] + 1e-6
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output


def test_straight_line_is_announced(tmp_path, repo):
    out = tmp_path / "plan"
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(repo / "data/schools/mansehra_schools.csv"),
            "--teachers",
            str(repo / "data/schools/mansehra_teachers.csv"),
            "--straight-line",
            "--out",
            str(out),
            "--no-review",
        ],
    )
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["travel_source"] == "straight_line"
    assert any("straight-line" in n for n in s["travel_notes"])
    assert "not a road network" in res.output


def test_two_travel_sources_is_a_user_error(tmp_path, repo):
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(repo / "data/schools/mansehra_schools.csv"),
            "--straight-line",
            "--network",
            str(repo / "data/schools/mansehra_roads.graphml"),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert res.exit_code == 2
    assert "exactly one source of travel times" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "x").exists()


def test_help_on_every_command():
    for cmd in ("plan", "validate", "travel-times", "map", "compare"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0
        assert "Usage" in res.output


def test_travel_times_then_plan_from_that_matrix(tmp_path, repo):
    """A manager computes the matrix once, reviews it, and plans from it."""
    sample = repo / "data/schools"
    times = tmp_path / "times.csv"
    res = runner.invoke(
        app,
        [
            "travel-times",
            "--schools",
            str(sample / "mansehra_schools.csv"),
            "--network",
            str(sample / "mansehra_roads.graphml"),
            "--policy",
            str(sample / "policy.toml"),
            "--out",
            str(times),
        ],
    )
    assert res.exit_code == 0, res.output
    m = pd.read_csv(times)
    assert list(m.columns) == ["from_school_id", "to_school_id", "minutes"]
    assert (m["minutes"] >= 0).all() and (m["minutes"] <= 180).all()
    snaps = pd.read_csv(tmp_path / "times_snaps.csv")
    assert len(snaps) == len(pd.read_csv(sample / "mansehra_schools.csv"))
    out = tmp_path / "plan"
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(sample / "mansehra_schools.csv"),
            "--teachers",
            str(sample / "mansehra_teachers.csv"),
            "--travel-matrix",
            str(times),
            "--policy",
            str(sample / "policy.toml"),
            "--out",
            str(out),
            "--no-review",
        ],
    )
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["travel_source"] == "matrix"
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
