"""Assignment and calendar against an exact solution by enumeration, on small cases.

Each binding case is checked twice: the model equals the enumeration, and
the rule really binds (the answer changes without it).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.explain import explain_unsupported
from cluster_mapper.support.model import SupportModel, floor_plan
from tests.fixtures.support_cases import exact, make_case

SP = SupportPolicy(meeting_minutes=180, working_day_minutes=480, meetings_per_month=1, time_limit_seconds=10)


def solve(p):
    return SupportModel(p, workers=1).solve(10)


def check_feasible(p, sol) -> None:
    """The solution obeys every rule (independently of the model's constraints)."""
    k = p.meetings_per_month
    for f, days in enumerate(sol.days):
        assert len(days) <= p.days[f]
        mine = set(np.flatnonzero(sol.facilitator_of == f))
        assert len(mine) <= p.max_clusters[f]
        assert p.n_teachers[list(mine)].sum() <= p.max_teachers[f] if mine else True
        seen = {}
        for r in days:
            assert set(r.clusters) <= mine
            assert len(set(r.clusters)) == len(r.clusters)
            B = p.between[p.mode[f]]
            t = p.to_venue[f, r.clusters[0]] + sum(B[a, b] for a, b in zip(r.clusters[:-1], r.clusters[1:])) + p.from_venue[f, r.clusters[-1]]
            assert math.isclose(t, r.travel_minutes, abs_tol=1e-6)
            assert t + len(r.clusters) * p.meeting_minutes <= p.working_day_minutes + 1e-6
            for c in r.clusters:
                seen[c] = seen.get(c, 0) + 1
        assert all(seen.get(c, 0) == k for c in mine)
        assert all(p.eligible[f, c] for c in mine)
    assert math.isclose(sol.travel_minutes, sum(r.travel_minutes for d in sol.days for r in d), abs_tol=1e-6)


def compare(p):
    sol = solve(p)
    check_feasible(p, sol)
    n, t = exact(p)
    assert sol.n_supported == n
    assert sol.travel_minutes == pytest.approx(t, abs=0.01 * max(1, n))
    assert sol.status == "optimal"
    assert sol.travel_bound is not None and sol.travel_bound <= sol.travel_minutes + 1e-6
    # the floor: never more travel than one round trip per meeting when as many clusters are supported
    if sol.floor_supported == sol.n_supported:
        assert sol.travel_minutes <= sol.floor_travel_minutes + 1e-6
    return sol


def test_meetings_on_one_day_share_a_trip():
    # two venues next to each other, 100 minutes from the base: one day for both beats two round trips
    p, *_ = make_case([{"id": "A", "x": 100, "y": 0}, {"id": "B", "x": 100, "y": 5}], [{"id": "F", "x": 0, "y": 0}], replace(SP, meeting_minutes=120))
    sol = compare(p)
    assert sol.n_supported == 2
    assert len(sol.days[0]) == 1 and len(sol.days[0][0].clusters) == 2
    assert sol.travel_minutes < sol.floor_travel_minutes


def test_gender_binds():
    clusters = [{"id": "W1", "x": 20, "y": 0}, {"id": "W2", "x": 25, "y": 0}, {"id": "M1", "x": 0, "y": 30, "genders": ("male",)}]
    facs = [{"id": "man", "gender": "male", "x": 20, "y": 0}, {"id": "woman", "gender": "female", "x": 0, "y": 100}]
    p, *_ = make_case(clusters, facs, SP)
    sol = compare(p)
    assert sol.n_supported == 3
    fid = [p.facilitator_ids[f] for f in sol.facilitator_of]
    assert fid == ["woman", "woman", "man"]
    # without the rule the man would take the women's clusters next to his base: less travel
    p2, *_ = make_case(clusters, facs, replace(SP, same_gender=False))
    assert compare(p2).travel_minutes < sol.travel_minutes


def test_mixed_cluster_takes_anyone():
    p, *_ = make_case([{"id": "X", "x": 10, "y": 0, "genders": ("female", "male")}], [{"id": "man", "gender": "male", "x": 0, "y": 0}], SP)
    assert compare(p).n_supported == 1


def test_levels_bind():
    clusters = [{"id": "P", "x": 10, "y": 0}, {"id": "Mi", "x": 12, "y": 0, "levels": ("middle", "high")}]
    facs = [{"id": "TTF", "levels": ("primary",), "x": 0, "y": 0}, {"id": "TTO", "levels": ("middle",), "x": 0, "y": 50}]
    p, ct, fac, rules = make_case(clusters, facs, SP)
    sol = compare(p)
    # the TTO lacks "high": nobody may support the middle-and-high cluster
    assert sol.n_supported == 1 and sol.facilitator_of[1] == -1
    reason, change = explain_unsupported(1, p, sol, rules, ct, fac, SP, {})
    assert "no facilitator for middle and high" in reason
    assert "match_levels = false" in change
    p2, *_ = make_case(clusters, facs, replace(SP, match_levels=False))
    assert compare(p2).n_supported == 2


@pytest.mark.parametrize("cap", ["max_clusters", "max_teachers", "days"])
def test_capacity_binds(cap):
    clusters = [{"id": f"C{i}", "x": 10 + 5 * i, "y": 0, "n": 8 + i} for i in range(4)]
    limit = {"max_clusters": {"max_clusters": 2}, "max_teachers": {"max_teachers": 18}, "days": {"days": 1}}[cap]
    facs = [{"id": "near", "x": 0, "y": 0, **limit}, {"id": "far", "x": 0, "y": 120}]
    p, _ct, _fac, _rules = make_case(clusters, facs, SP)
    sol = compare(p)
    assert sol.n_supported == 4
    assert (sol.facilitator_of == 1).sum() >= 1  # someone had to go to the far facilitator
    unlimited, *_ = make_case(clusters, [{"id": "near", "x": 0, "y": 0}, {"id": "far", "x": 0, "y": 120}], SP)
    assert compare(unlimited).travel_minutes < sol.travel_minutes


def test_capacity_leaves_a_cluster_out_with_the_change_that_fixes_it():
    clusters = [{"id": f"C{i}", "x": 10 + i, "y": 0} for i in range(3)]
    p, ct, fac, rules = make_case(clusters, [{"id": "F", "x": 0, "y": 0, "max_clusters": 2}], SP)
    sol = compare(p)
    assert sol.n_supported == 2 and sol.supported_proven
    c = int(np.flatnonzero(sol.facilitator_of < 0)[0])
    reason, change = explain_unsupported(c, p, sol, rules, ct, fac, SP, {})
    assert reason.startswith("everyone within reach is full: F (2 of 2 clusters)")
    assert change.startswith("max_clusters = 3 for F")


def test_day_length_binds():
    # 160 minutes out: a round trip and a meeting (320 + 180 = 500) do not fit in 480; in 520 they do
    clusters = [{"id": "far", "x": 160, "y": 0}, {"id": "near", "x": 30, "y": 0}]
    p, ct, fac, rules = make_case(clusters, [{"id": "F", "x": 0, "y": 0}], SP)
    sol = compare(p)
    assert sol.n_supported == 1 and sol.facilitator_of[0] == -1
    reason, change = explain_unsupported(0, p, sol, rules, ct, fac, SP, {"Vfar": "Far School"})
    assert "2 h 40 min from the venue one way" in reason
    assert change == "a woman facilitator for primary based within 150 minutes of Far School; or working_day_minutes = 500"
    p2, *_ = make_case(clusters, [{"id": "F", "x": 0, "y": 0}], replace(SP, working_day_minutes=520))
    assert compare(p2).n_supported == 2


def test_day_length_decides_whether_two_meetings_share_a_day():
    clusters = [{"id": "A", "x": 40, "y": 0}, {"id": "B", "x": 40, "y": 10}]
    short, *_ = make_case(clusters, [{"id": "F", "x": 0, "y": 0}], replace(SP, working_day_minutes=440))
    long, *_ = make_case(clusters, [{"id": "F", "x": 0, "y": 0}], SP)
    s1, s2 = compare(short), compare(long)
    assert len(s1.days[0]) == 2 and len(s2.days[0]) == 1
    assert s2.travel_minutes < s1.travel_minutes


def test_no_one_can_reach_a_cluster():
    clusters = [{"id": "island", "x": 1000, "y": 0}, {"id": "home", "x": 10, "y": 0}]
    p, ct, fac, rules = make_case(clusters, [{"id": "F", "x": 0, "y": 0}], SP)
    p.to_venue[:, 0] = np.inf  # no road at all
    p.from_venue[:, 0] = np.inf
    sol = compare(p)
    assert sol.facilitator_of.tolist() == [-1, 0]
    reason, change = explain_unsupported(0, p, sol, rules, ct, fac, SP, {"Visland": "Island School"})
    assert reason == "no road from any eligible facilitator's base to the venue Island School"
    assert "based within 150 minutes of Island School" in change


def test_no_facilitator_of_that_gender():
    p, ct, fac, rules = make_case([{"id": "W", "x": 10, "y": 0}], [{"id": "M", "gender": "male", "x": 0, "y": 0}], SP)
    sol = compare(p)
    assert sol.n_supported == 0
    reason, change = explain_unsupported(0, p, sol, rules, ct, fac, SP, {"VW": "Girls School"})
    assert reason == "no woman facilitator"
    assert change == "a woman facilitator for primary based within 150 minutes of Girls School; or same_gender = false"


def test_two_meetings_a_month_on_different_days():
    clusters = [{"id": "A", "x": 30, "y": 0}, {"id": "B", "x": 30, "y": 5}, {"id": "C", "x": 0, "y": 40}]
    p, *_ = make_case(clusters, [{"id": "F", "x": 0, "y": 0, "days": 4}], replace(SP, meetings_per_month=2))
    sol = compare(p)
    assert sol.n_supported == 3


def test_subjects_and_district_rules():
    clusters = [{"id": "S", "x": 10, "y": 0, "subjects": ("science",)}, {"id": "O", "x": 10, "y": 5, "district": "Other"}]
    facs = [{"id": "math", "subjects": ("math",), "x": 0, "y": 0, "district": "D"}, {"id": "sci", "subjects": ("science",), "x": 0, "y": 90}]
    p, *_ = make_case(clusters, facs, replace(SP, match_subjects=True))
    sol = compare(p)
    assert [p.facilitator_ids[f] for f in sol.facilitator_of] == ["sci", "sci"]


@pytest.mark.parametrize("seed", range(12))
def test_random_small_cases_match_enumeration(seed):
    rng = np.random.default_rng(seed)
    n_c, n_f = int(rng.integers(3, 6)), int(rng.integers(1, 4))
    k = int(rng.integers(1, 3)) if n_c <= 4 else 1
    clusters = [
        {
            "id": f"C{i}",
            "x": float(rng.uniform(0, 150)),
            "y": float(rng.uniform(0, 150)),
            "n": int(rng.integers(6, 13)),
            "genders": (("female",), ("male",), ("female", "male"))[int(rng.integers(3))],
        }
        for i in range(n_c)
    ]
    facs = [
        {
            "id": f"F{j}",
            "x": float(rng.uniform(0, 150)),
            "y": float(rng.uniform(0, 150)),
            "gender": ("female", "male")[int(rng.integers(2))],
            "days": int(rng.integers(1, 4)),
            "max_clusters": [None, 1, 2][int(rng.integers(3))],
            "max_teachers": [None, 20][int(rng.integers(2))],
        }
        for j in range(n_f)
    ]
    sp = replace(SP, meeting_minutes=float(rng.choice([90, 120, 180])), meetings_per_month=k)
    p, *_ = make_case(clusters, facs, sp)
    compare(p)


def test_floor_is_the_best_round_trip_plan():
    rng = np.random.default_rng(3)
    clusters = [{"id": f"C{i}", "x": float(rng.uniform(0, 100)), "y": float(rng.uniform(0, 100))} for i in range(5)]
    facs = [{"id": f"F{j}", "x": float(rng.uniform(0, 100)), "y": float(rng.uniform(0, 100)), "max_clusters": 2} for j in range(3)]
    p, *_ = make_case(clusters, facs, SP)
    fl = floor_plan(p, np.arange(3), np.arange(5))
    # enumeration of round-trip plans: one day per meeting
    best = (-1, math.inf)
    from itertools import product

    for choice in product(range(-1, 3), repeat=5):
        if any(f >= 0 and not p.reach[f, c] for c, f in enumerate(choice)) or any(choice.count(f) > 2 for f in range(3)):
            continue
        n = sum(f >= 0 for f in choice)
        t = sum(p.round_trip[f, c] for c, f in enumerate(choice) if f >= 0)
        if n > best[0] or (n == best[0] and t < best[1]):
            best = (n, t)
    assert (int((fl.facilitator_of >= 0).sum()), fl.travel_minutes) == (best[0], pytest.approx(best[1], abs=0.05))
    assert fl.method == "min_cost_flow" and fl.exact
