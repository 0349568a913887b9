"""Cluster roles: subjects_required as a preferred or a hard rule, and candidate subject leaders."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster_mapper import Scenario, TravelSource, plan, validate_plan, write_plan
from cluster_mapper.planning.roles import subject_leaders

# two pairs of boys' middle schools 3 km apart; each school's pair partner is 0.5 km away
SCHOOLS = [("A", 0.0), ("C", 0.5), ("B", 3.0), ("D", 3.5)]


def write_case(tmp_path, subjects: dict[str, list[str]], rule: str | None):
    rows = [
        {"school_id": s, "name": f"School {s}", "district": "D1", "latitude": 34.0, "longitude": 73.0 + km / 92.0, "gender": "boys", "can_host": "true"}
        for s, km in SCHOOLS
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "schools.csv", index=False)
    t = [
        {"teacher_id": f"{s}{i}", "school_id": s, "gender": "male", "level": "middle", "subject": subj, "role": "teacher"}
        for s, subs in subjects.items()
        for i, subj in enumerate(subs)
    ]
    pd.DataFrame(t).to_csv(tmp_path / "teachers.csv", index=False)
    pol = 'min_teachers = 6\nmax_teachers = 12\nmax_travel_minutes = 60\nlevels = "separate"\n'
    if rule:
        pol += f'subjects_required = ["math", "science"]\nsubjects_rule = "{rule}"\n'
    (tmp_path / f"policy_{rule}.toml").write_text(pol, encoding="utf-8")
    return Scenario(tmp_path / "schools.csv", TravelSource(straight_line=True), tmp_path / "teachers.csv", tmp_path / f"policy_{rule}.toml")


def members(p) -> list[set[str]]:
    return sorted((set(g["school_id"]) for _, g in p.units[p.units["status"] == "placed"].groupby("cluster_id")), key=sorted)


SWAPPABLE = {"A": ["math"] * 5, "C": ["english"] * 4, "B": ["science", "science", "math", "math"], "D": ["science"] * 3}


def test_preferred_rule_moves_teachers_to_cover_subjects(tmp_path):
    free = plan(write_case(tmp_path, SWAPPABLE, None))
    assert members(free) == [{"A", "C"}, {"B", "D"}]  # nearest pairs: the A-C cluster has no science teacher
    ruled = plan(write_case(tmp_path, SWAPPABLE, "preferred"))
    assert members(ruled) == [{"A", "D"}, {"B", "C"}]
    assert ruled.teachers_placed == free.teachers_placed
    assert ruled.objective > free.objective and ruled.lower_bound <= ruled.objective
    assert (ruled.clusters["subjects_missing"] == "").all()
    out = tmp_path / "plan"
    write_plan(ruled, out)
    rep = validate_plan(out)
    assert rep.ok, rep.violations
    assert "Candidate subject leaders: math:" in (out / "report.html").read_text(encoding="utf-8")
    c = pd.read_csv(out / "clusters.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    c.loc[0, "subjects_missing"] = "science"  # a false report of a missing subject is caught
    c.to_csv(out / "clusters.csv", index=False, encoding="utf-8-sig")
    assert any("lists cluster" in v and "missing 'science'" in v for v in validate_plan(out).violations)


def test_preferred_rule_says_why_a_subject_is_missing(tmp_path):
    subjects = {"A": ["math"] * 5, "C": ["english"] * 4, "B": ["english", "english", "math", "math"], "D": ["science"] * 3}
    ruled = plan(write_case(tmp_path, subjects, "preferred"))
    # one science teacher's school for two clusters: one cluster lacks science, and says why
    missing = ruled.clusters[ruled.clusters["subjects_missing"] != ""]
    assert len(missing) == 1 and missing["subjects_missing"].iloc[0] == "science"
    assert "science teachers within reach (D) cannot move" in missing["subjects_reason"].iloc[0]
    assert ruled.teachers_not_placed == 0


def test_hard_rule_forms_only_clusters_with_every_subject(tmp_path):
    subjects = {"A": ["math"] * 5, "C": ["english"] * 4, "B": ["english", "english", "math", "math"], "D": ["science"] * 3}
    ruled = plan(write_case(tmp_path, subjects, "hard"))
    assert len(ruled.clusters) == 1
    t = ruled.teachers
    placed = t[t["status"] == "placed"]
    assert {"math", "science"} <= set(placed["subject"])
    out_rows = t[t["status"] != "placed"]
    assert len(out_rows) > 0 and out_rows["reason"].str.contains("subjects_required, hard rule").all()
    assert out_rows["suggestion"].str.contains('subjects_rule = "preferred"').all()
    assert ruled.status == "heuristic" and ruled.lower_bound == 0.0
    out = tmp_path / "plan"
    write_plan(ruled, out)
    assert validate_plan(out).ok
    # the validator checks the rule itself: a cluster without a science teacher breaks it
    a = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    a.loc[a["subject"] == "science", "subject"] = "urdu"
    a.to_csv(out / "assignments.csv", index=False, encoding="utf-8-sig")
    assert any("no teacher of science (subjects_required, hard rule)" in v for v in validate_plan(out).violations)


def test_subject_leaders_lists_teachers_per_subject():
    a = pd.DataFrame(
        {
            "cluster_id": ["K", "K", "K", "K"],
            "status": ["placed"] * 4,
            "role": ["teacher", "teacher", "head_teacher", "teacher"],
            "subject": ["math", "Science", "math", ""],
            "teacher_id": ["t1", "t2", "h", "t3"],
        }
    )
    assert subject_leaders(a) == {"K": {"math": ["t1"], "science": ["t2"], "english": []}}


@pytest.mark.parametrize("rule", ["preferred", "hard"])
def test_rule_is_a_no_op_when_every_cluster_has_the_subjects(tmp_path, rule):
    subjects = {"A": ["math", "science", "math", "math", "math"], "C": ["english"] * 4, "B": ["science", "science", "math", "math"], "D": ["science"] * 3}
    free = plan(write_case(tmp_path, subjects, None))
    ruled = plan(write_case(tmp_path, subjects, rule))
    assert members(ruled) == members(free) and ruled.objective == pytest.approx(free.objective)
