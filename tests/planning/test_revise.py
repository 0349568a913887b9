"""Revising a plan after teacher transfers changes as few clusters as the rules allow."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from cluster_mapper.cli import app
from cluster_mapper.folder import read_plan
from cluster_mapper.validate.plan import validate_plan
from tests.conftest import write_district, write_policy

runner = CliRunner()
POLICY = 'min_teachers = 4\nmax_teachers = 10\nmax_travel_minutes = 90\ngender = "segregated"\nlevels = "mixed"\n'


def _plan(args):
    res = runner.invoke(app, ["plan", *args, "--straight-line", "--no-review"])
    assert res.exit_code == 0, res.output
    return res


def test_revision_keeps_valid_clusters_and_replans_the_broken_one(tmp_path):
    schools, teachers, _ = write_district(tmp_path, 40, 21)
    policy = write_policy(tmp_path, POLICY)
    first = tmp_path / "first"
    _plan(["--schools", str(schools), "--teachers", str(teachers), "--policy", str(policy), "--out", str(first)])
    before = read_plan(first)
    placed = before.assignments[before.assignments["status"] == "placed"]

    # transfers: every teacher of one cluster's venue school leaves the roster
    sizes = placed.groupby("cluster_id")["teacher_id"].count()
    victim = sizes.index[0]
    venue = placed.loc[placed["cluster_id"] == victim, "venue_school_id"].iloc[0]
    roster = pd.read_csv(teachers, dtype=str)
    roster = roster[roster["school_id"] != venue]
    teachers2 = tmp_path / "teachers_after_transfer.csv"
    roster.to_csv(teachers2, index=False)

    second = tmp_path / "second"
    _plan(["--schools", str(schools), "--teachers", str(teachers2), "--policy", str(policy), "--out", str(second), "--revise", str(first)])
    assert validate_plan(second).ok, validate_plan(second).violations
    after = read_plan(second)
    s = json.loads((second / "summary.json").read_text())
    n_clusters = before.clusters["cluster_id"].nunique()
    assert s["kept_clusters"] == n_clusters - 1, "only the cluster that lost its venue school is re-planned"
    # every other cluster has exactly the same members, venue and id
    key = ["teacher_id", "cluster_id", "venue_school_id"]
    old = placed[placed["cluster_id"] != victim][key].sort_values("teacher_id").reset_index(drop=True)
    new = after.assignments.set_index("teacher_id").loc[old["teacher_id"]].reset_index()[key]
    assert old.equals(new)
    # nobody lost: every teacher of the new roster appears once
    assert sorted(after.assignments["teacher_id"]) == sorted(roster["teacher_id"])


def test_revision_under_a_changed_policy_replans_what_breaks(tmp_path):
    schools, teachers, _ = write_district(tmp_path, 30, 22)
    policy = write_policy(tmp_path, POLICY)
    first = tmp_path / "first"
    _plan(["--schools", str(schools), "--teachers", str(teachers), "--policy", str(policy), "--out", str(first)])
    tighter = write_policy(tmp_path, POLICY.replace("max_travel_minutes = 90", "max_travel_minutes = 20"), "tight.toml")
    second = tmp_path / "second"
    _plan(["--schools", str(schools), "--teachers", str(teachers), "--policy", str(tighter), "--out", str(second), "--revise", str(first)])
    rep = validate_plan(second)
    assert rep.ok, rep.violations
    s = json.loads((second / "summary.json").read_text())
    first_clusters = len(read_plan(first).clusters)
    assert 0 < s["kept_clusters"] < first_clusters, "short clusters are kept, long ones re-planned"
    a = read_plan(second).assignments
    assert pd.to_numeric(a.loc[a["status"] == "placed", "travel_minutes"]).max() <= 20.0 + 1e-9
