"""Scenario comparison on the same inputs."""

from __future__ import annotations

import pandas as pd
import pytest

import cluster_mapper.compare as compare_mod
from cluster_mapper.compare import COMPARISON_COLUMNS, compare_scenarios
from cluster_mapper.pipeline import SAMPLE, TravelSource, sample_network_path
from cluster_mapper.plan_io import read_plan_csv

MIXED = SAMPLE["policy"].with_name("policy_mixed_levels.toml")


@pytest.fixture(scope="module")
def sample_comparison(tmp_path_factory):
    calls = []
    real = compare_mod.compute_travel

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    compare_mod.compute_travel = counting
    try:
        out = tmp_path_factory.mktemp("cmp") / "cmp"
        table = compare_scenarios([SAMPLE["policy"], MIXED], SAMPLE["schools"], SAMPLE["teachers"],
                                  TravelSource(network_path=str(sample_network_path())), out)
    finally:
        compare_mod.compute_travel = real
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
    schools = pd.DataFrame({"school_id": [f"S{i}" for i in range(12)], "name": [f"School {i}" for i in range(12)], "district": "D",
                            "latitude": 34.3 + rng.random(12) * 0.05, "longitude": 73.2 + rng.random(12) * 0.05,
                            "gender": "mixed", "can_host": "true", "female_primary": 3, "male_primary": 3})
    schools.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "slow.toml").write_text('gender = "mixed"\nlevels = "mixed"\nwalking_speed_kmh = 3.0\n')
    (tmp_path / "fast.toml").write_text('gender = "mixed"\nlevels = "mixed"\nwalking_speed_kmh = 5.0\n')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "fast.toml").write_text('gender = "mixed"\nlevels = "mixed"\nwalking_speed_kmh = 5.0\nmax_travel_minutes = 30\n')
    calls = []
    real = compare_mod.compute_travel
    compare_mod.compute_travel = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    try:
        table = compare_scenarios([tmp_path / "slow.toml", tmp_path / "fast.toml", tmp_path / "b" / "fast.toml"], tmp_path / "s.csv", None,
                                  TravelSource(straight_line=True), tmp_path / "out", review=False)
    finally:
        compare_mod.compute_travel = real
    assert len(calls) == 2
    assert list(table["scenario"]) == ["slow", "fast", "fast_2"]
    assert (tmp_path / "out" / "fast_2" / "summary.json").is_file()
    assert (table["travel_source"] == "straight_line").all()
