"""The same plan files, byte for byte, on a quiet and on a loaded machine: a district on a real road network.

A manager re-runs yesterday's command to print the map again while another
job keeps the CPU busy. The district: 40 generated schools (seeded sites on
the roads, staff of 3-12 per school; see ``tests/fixtures/real_sites.py``)
on the real walking network of a few blocks of West Oakland (OpenStreetMap,
ODbL; the osmnx test extract), planned with
the field-study defaults through the public API. The solver's work is
counted in nodes, sub-models and steps, never in seconds, so a busy machine
takes longer but writes the same plan.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from tests.fixtures.real_sites import write_sites_district

NETWORK = Path(__file__).resolve().parents[1] / "data" / "osm" / "West-Oakland.osm.bz2"


def _busy() -> None:
    """Keep one core busy until killed."""
    while True:
        pass


def _plan_files(scenario: Scenario, out: Path) -> dict[str, bytes]:
    """Plan and write the folder; its tables and map layer as bytes (``summary.json`` holds timings)."""
    result = plan(scenario)
    assert not any("cut the solver" in n or "stopped" in n for n in result.notes), result.notes  # the work finished
    write_plan(result, out, review=False)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".csv", ".geojson")}


def test_same_plan_files_on_a_loaded_machine(tmp_path):
    schools, teachers = write_sites_district(NETWORK, 40, 3, "West Oakland", tmp_path)
    scenario = Scenario(schools=schools, teachers=teachers, travel=TravelSource(network_path=str(NETWORK)), cache_dir=False)
    quiet = _plan_files(scenario, tmp_path / "quiet")
    burners = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(2)]
    for b in burners:
        b.start()
    try:
        busy = _plan_files(scenario, tmp_path / "busy")
    finally:
        for b in burners:
            b.kill()
            b.join()
    assert {"assignments.csv", "clusters.csv", "clusters.geojson"} <= set(quiet)
    assert quiet == busy
    report = validate_plan(tmp_path / "busy")
    assert report.ok, report.violations
    assert b"placed" in quiet["assignments.csv"] and quiet["clusters.csv"].count(b"\n") > 5  # a real plan, not an empty one
