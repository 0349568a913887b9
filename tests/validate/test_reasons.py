"""The validator's check of "not placed" reasons: a venue is a member school with teachers of the group."""

from __future__ import annotations

import pandas as pd

from cluster_mapper.policy.rules import Policy
from cluster_mapper.validate.reasons import check_not_placed

REASON = "1 male primary teacher: no boys' or mixed school that can host within 60 minutes"


class _Report:
    def __init__(self) -> None:
        self.violations: list[str] = []

    def add(self, msg: str) -> None:
        self.violations.append(msg)


class _TenMinutes:
    def within(self, member: str, venue: str, limit: float) -> float:
        return 0.0 if member == venue else 10.0


def _check(second_role: str) -> list[str]:
    schools = pd.DataFrame({"school_id": ["S1", "S2"], "district": "D", "gender": "boys", "can_host": True}).set_index("school_id")
    a = pd.DataFrame(
        {
            "teacher_id": ["T1", "T2"],
            "school_id": ["S1", "S2"],
            "district": "D",
            "gender": "male",
            "level": "primary",
            "role": ["teacher", second_role],
            "status": "not_placed",
            "reason": [REASON, "head teacher: supports a cluster" if second_role == "head_teacher" else REASON],
            "cluster_id": "",
            "venue_school_id": "",
            "n": 1,
        }
    )
    rep = _Report()
    check_not_placed(a, schools, Policy(), _TenMinutes(), [], rep)
    return [v for v in rep.violations if "can host and is" in v]


def test_a_school_whose_only_teacher_of_the_group_is_a_head_teacher_left_out_is_no_venue():
    # S2's only male primary teacher is its head teacher, left out by policy: S2 cannot host a male primary cluster
    assert _check("head_teacher") == []


def test_a_school_with_teachers_of_the_group_within_reach_makes_the_reason_false():
    assert _check("teacher") and "S2 can host and is 10.0 minutes away" in _check("teacher")[0]
