"""Scenario comparison on the same inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cluster_mapper.compare as compare_mod
from cluster_mapper import Scenario, TravelSource
from cluster_mapper.compare import COMPARISON_COLUMNS, compare_scenarios
from cluster_mapper.errors import InputError
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.sample import sample_paths

SAMPLE = sample_paths()


@pytest.fixture(scope="module")
def sample_comparison(tmp_path_factory):
    calls = []
    real = compare_mod.travel_times

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    compare_mod.travel_times = counting
    try:
        out = tmp_path_factory.mktemp("cmp") / "cmp"
        table = compare_scenarios(Scenario.sample(), [SAMPLE["policy"], SAMPLE["policy_mixed_levels"]], out)
    finally:
        compare_mod.travel_times = real
    return out, table, len(calls)


def test_comparison_table_and_files(sample_comparison):
    out, table, n_travel = sample_comparison
    assert list(table.columns) == COMPARISON_COLUMNS
    assert list(table["scenario"]) == ["policy", "policy_mixed_levels"]
    assert n_travel == 1, "travel times are computed once for scenarios with the same travel settings"
    csv = read_plan_csv(out / "comparison.csv")
    assert list(csv["scenario"]) == list(table["scenario"])
    for name in table["scenario"]:
        for f in ("assignments.csv", "clusters.csv", "clusters.geojson", "summary.json", "map.html", "report.html"):
            assert (out / name / f).is_file(), f
        clusters = pd.read_csv(out / name / "clusters.csv", encoding="utf-8-sig")
        row = table[table["scenario"] == name].iloc[0]
        assert row["clusters"] == len(clusters)
        assert row["mean_schools_per_cluster"] == pytest.approx(clusters["n_schools"].mean(), abs=0.01)
    total = table["teachers_placed"] + table["teachers_not_placed"]
    assert total.nunique() == 1, "every scenario accounts for the same teachers"
    # mixed-level regrouping cannot leave more teachers out than separate levels on the same inputs
    sep, mixed = table.iloc[0], table.iloc[1]
    assert mixed["teachers_not_placed"] <= sep["teachers_not_placed"]
    html = (out / "comparison_map.html").read_text(encoding="utf-8")
    assert "Scenario: policy" in html and "Scenario: policy_mixed_levels" in html
    assert "cdn.jsdelivr.net" not in html


def test_different_travel_settings_get_their_own_travel_times(tmp_path):
    import numpy as np

    rng = np.random.default_rng(3)
    schools = pd.DataFrame(
        {
            "school_id": [f"S{i}" for i in range(12)],
            "name": [f"School {i}" for i in range(12)],
            "district": "D",
            "latitude": 34.3 + rng.random(12) * 0.05,
            "longitude": 73.2 + rng.random(12) * 0.05,
            "gender": "mixed",
            "can_host": "true",
            "female_primary": 3,
            "male_primary": 3,
        }
    )
    schools.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "slow.toml").write_text('gender = "mixed"\nlevels = "mixed"\nwalking_speed_kmh = 3.0\n')
    (tmp_path / "fast.toml").write_text('gender = "mixed"\nlevels = "mixed"\nwalking_speed_kmh = 5.0\n')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "fast.toml").write_text('gender = "mixed"\nlevels = "mixed"\nwalking_speed_kmh = 5.0\nmax_travel_minutes = 30\n')
    calls = []
    real = compare_mod.travel_times
    compare_mod.travel_times = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    try:
        table = compare_scenarios(
            Scenario(tmp_path / "s.csv", TravelSource(straight_line=True)),
            [tmp_path / "slow.toml", tmp_path / "fast.toml", tmp_path / "b" / "fast.toml"],
            tmp_path / "out",
            review=False,
        )
    finally:
        compare_mod.travel_times = real
    assert len(calls) == 2
    assert list(table["scenario"]) == ["slow", "fast", "fast_2"]
    assert (tmp_path / "out" / "fast_2" / "summary.json").is_file()
    assert (table["travel_source"] == "straight_line").all()


def test_compare_refuses_a_misspelt_district_like_plan(tmp_path):
    """compare runs the checks plan runs: a [districts.X] table that misspells a district is refused by both."""
    from typer.testing import CliRunner

    from cluster_mapper.cli import app

    schools = pd.DataFrame(
        {
            "school_id": [f"S{i}" for i in range(6)],
            "name": [f"School {i}" for i in range(6)],
            "district": "Mansehra",
            "latitude": 34.3 + 0.001 * pd.RangeIndex(6),
            "longitude": 73.2,
            "gender": "mixed",
            "can_host": "true",
            "female_primary": 3,
            "male_primary": 3,
        }
    )
    schools.to_csv(tmp_path / "s.csv", index=False)
    good = tmp_path / "good.toml"
    good.write_text('gender = "mixed"\nlevels = "mixed"\n')
    typo = tmp_path / "typo.toml"
    typo.write_text('gender = "mixed"\nlevels = "mixed"\n\n[districts.Mansehrra]\nmax_travel_minutes = 30\n')
    scenario = Scenario(tmp_path / "s.csv", TravelSource(straight_line=True))
    with pytest.raises(InputError, match="Mansehrra"):
        compare_scenarios(scenario, [good, typo], tmp_path / "cmp", review=False)
    assert not (tmp_path / "cmp" / "good").exists(), "nothing is planned before every scenario is checked"
    runner = CliRunner()
    for args in (
        ["plan", "--schools", str(tmp_path / "s.csv"), "--straight-line", "--policy", str(typo), "--out", str(tmp_path / "p")],
        ["compare", "--schools", str(tmp_path / "s.csv"), "--straight-line", "--policy", str(good), "--policy", str(typo), "--out", str(tmp_path / "c")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args[0], res.output)
        assert "districts.Mansehrra" in res.output and "rename the table to [districts.Mansehra]" in res.output


def test_interrupted_comparison_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    """All scenarios or none: a comparison stopped while writing leaves the previous comparison as it was."""
    import hashlib

    from cluster_mapper.validate.plan import validate_plan

    corpus = Path(__file__).parent / "bad_inputs"
    wide = tmp_path / "wide.toml"
    wide.write_text((corpus / "good_policy.toml").read_text().replace("max_travel_minutes = 60", "max_travel_minutes = 90"))
    scenario = Scenario(corpus / "good_schools.csv", TravelSource(straight_line=True), corpus / "good_roster.csv")
    out = tmp_path / "cmp"
    compare_scenarios(scenario, [corpus / "good_policy.toml", wide], out, review=False)

    def tree():
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}

    before = tree()
    assert {"good_policy/summary.json", "wide/summary.json", "comparison.csv", "comparison_map.html"} <= set(before)

    def killed(*_args, **_kwargs):  # both scenarios written, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_mod, "write_comparison_map", killed)
    narrow = tmp_path / "narrow.toml"
    narrow.write_text((corpus / "good_policy.toml").read_text().replace("max_travel_minutes = 60", "max_travel_minutes = 30"))
    with pytest.raises(KeyboardInterrupt):
        compare_scenarios(scenario, [narrow, wide], out, review=False)
    assert tree() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp", "narrow.toml", "wide.toml"]  # no half-written folder left beside it
    assert validate_plan(out / "good_policy").ok and validate_plan(out / "wide").ok


def test_compare_refuses_a_folder_of_other_files(tmp_path):
    out = tmp_path / "Documents"
    out.mkdir()
    (out / "letter.docx").write_text("keep me")
    corpus = Path(__file__).parent / "bad_inputs"
    scenario = Scenario(corpus / "good_schools.csv", TravelSource(straight_line=True), corpus / "good_roster.csv")
    with pytest.raises(InputError, match="holds other files"):
        compare_scenarios(scenario, [corpus / "good_policy.toml"], out, review=False)
    assert (out / "letter.docx").read_text() == "keep me"
