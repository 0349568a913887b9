"""The main job in one call: inputs, travel times, plan, files.

Used by the command line, the notebook and the benchmarks, so that each
runs the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import fail
from .inputs import Inputs, load_inputs
from .model import DEFAULT_BACKEND
from .planner import Plan, solve_plan
from .policy import Policy, check_policy_districts, load_policy
from .sample import sample_dir, sample_paths
from .travel import TravelTimes, matrix_travel_times, network_travel_times, straight_line_travel_times

#: The bundled Mansehra sample (generated schools and rosters on real settlements):
#: real files from the installed package or the checkout, see :mod:`cluster_mapper.sample`.
SAMPLE_DIR = sample_dir()
SAMPLE = sample_paths()


@dataclass
class TravelSource:
    """Where travel times come from: exactly one of a network, a matrix or straight lines."""

    network_path: str | None = None
    matrix_path: str | None = None
    straight_line: bool = False

    def __post_init__(self) -> None:
        chosen = sum([self.network_path is not None, self.matrix_path is not None, bool(self.straight_line)])
        if chosen != 1:
            fail("<command line>", "give exactly one source of travel times.", fix="use one of --network FILE, --travel-matrix FILE or --straight-line.")

    def spec(self, cutoff_minutes: float | None) -> dict:
        if self.network_path:
            return {"source": "network", "network_path": str(Path(self.network_path).resolve()), "cutoff_minutes": cutoff_minutes}
        if self.matrix_path:
            return {"source": "matrix", "matrix_path": str(Path(self.matrix_path).resolve())}
        return {"source": "straight_line", "cutoff_minutes": cutoff_minutes}


def sample_network_path() -> Path:
    """The bundled sample network (plain or gzipped GraphML)."""
    return SAMPLE["network"]


def travel_cutoff(policy: Policy) -> float | None:
    """How far travel times are computed: three times the longest travel limit.

    Beyond the limit, times are still needed to say which longer limit would
    place a teacher; 0 (no limit) in any district means no cutoff.
    """
    limits = [policy.default.max_travel_minutes, *(p.max_travel_minutes for p in policy.districts.values())]
    if any(not lim for lim in limits):
        return None
    return 3.0 * max(limits)


def compute_travel(inputs: Inputs, source: TravelSource, policy: Policy, cache_dir=None) -> TravelTimes:
    """Travel times between all schools from the chosen source."""
    cutoff = travel_cutoff(policy)
    if source.network_path:
        from .network import load_network

        G = load_network(source.network_path, policy.travel)
        return network_travel_times(inputs.schools, G, policy.travel, cutoff_minutes=cutoff, cache_dir=cache_dir)
    if source.matrix_path:
        return matrix_travel_times(source.matrix_path, inputs.schools)
    return straight_line_travel_times(inputs.schools, policy.travel, cutoff_minutes=cutoff)


def plan_from_files(
    schools: str | Path,
    teachers: str | Path | None,
    source: TravelSource,
    policy_path: str | Path | None,
    *,
    backend: str = DEFAULT_BACKEND,
    progress: Callable[[str, float], None] | None = None,
    cache_dir=None,
    revise: str | Path | None = None,
) -> tuple[Plan, dict]:
    """Load everything, compute travel times, and solve; returns the plan and its travel spec.

    ``revise`` names an earlier plan folder whose still-valid clusters are kept.
    """
    policy = load_policy(policy_path)
    if progress:
        progress("reading schools and teachers", 0.0)
    inputs = load_inputs(schools, teachers, crs=policy.travel.crs)
    district_notes = check_policy_districts(policy, inputs.schools["district"])
    if progress:
        progress("computing travel times", 0.05)
    travel = compute_travel(inputs, source, policy, cache_dir=cache_dir)
    previous = None
    if revise is not None:
        from .plan_io import read_plan

        previous = read_plan(revise).assignments
    plan = solve_plan(inputs, travel, policy, backend=backend, progress=progress, previous=previous)
    plan.notes[:0] = district_notes
    return plan, source.spec(travel.cutoff_minutes)


__all__ = ["SAMPLE", "TravelSource", "plan_from_files", "compute_travel", "travel_cutoff", "sample_network_path"]
