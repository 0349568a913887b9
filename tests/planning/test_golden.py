"""The bundled sample plans as it did before the house was rearranged: same objective, same teachers placed.

The figures are those of the README's comparison table (the sample with its
own policy, walking on its network): 252 clusters, 2,004 teachers placed,
total travel 10,526.1 teacher-minutes, proven optimal. Moving code must not
move a teacher; a change that does is a change of behaviour and says so.
"""

from __future__ import annotations

import dataclasses

import pytest

from cluster_mapper import Scenario, plan, validate_plan, write_plan


@pytest.fixture(scope="module")
def sample_plan():
    return plan(dataclasses.replace(Scenario.sample(), cache_dir=False))


def test_the_sample_plans_to_the_same_objective_and_placements(sample_plan):
    assert sample_plan.status == "optimal"
    assert sample_plan.objective == pytest.approx(10526.1115, abs=1e-3)
    assert sample_plan.lower_bound == pytest.approx(10526.1115, abs=1e-3)
    assert sample_plan.teachers_placed == 2004
    assert sample_plan.teachers_not_placed == 496
    assert len(sample_plan.clusters) == 252


def test_reading_the_summary_before_adding_support_still_writes_a_valid_folder(sample_plan, tmp_path):
    """The summary describes the plan as written, whenever it was first read (issue 16's defect)."""
    from cluster_mapper import plan_support
    from cluster_mapper.sample import sample_paths

    p = dataclasses.replace(sample_plan)
    assert p.summary["gap"] == 0.0  # read before support is attached
    p.support = plan_support(p, sample_paths()["facilitators"], sizing=False)  # the summary's support entry is what matters, not the sizing table
    out = write_plan(p, tmp_path / "plan", review=False)
    report = validate_plan(out)
    assert report.ok, report.violations
