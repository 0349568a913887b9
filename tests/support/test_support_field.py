"""Support in the field (issue 18): mixed clusters, the count against its bound, true reasons, a real month.

Small cases are built on a plane measured in minutes (``support_cases``) and
checked against hand-worked or enumerated answers; the calendar and the
validator are checked on a generated district through the command line.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import icalendar
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster_mapper.cli import app
from cluster_mapper.errors import InputError
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.policy.load import load_policy
from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.calendar import match_dates, regular_slot, slot_of, working_dates
from cluster_mapper.support.explain import explain_unsupported
from cluster_mapper.support.model import SupportModel
from tests.conftest import write_district, write_policy
from tests.fixtures.support_cases import exact, make_case

from .test_support_cli import facilitators_csv

runner = CliRunner()
SP = SupportPolicy(time_limit_seconds=10)


def solve(p):
    return SupportModel(p, workers=1).solve(10)


# --------------------------------------------------------------------------- 1. the rule as written


def mixed_district(seed: int = 7):
    """24 generated clusters, most of women and men, a few of one gender, some out of everyone's reach."""
    rng = np.random.default_rng(seed)
    clusters = []
    for i in range(24):
        genders = ("female", "male") if i % 4 else (("female",) if i % 8 else ("male",))
        far = i in (5, 13, 21)
        x, y = (rng.uniform(400, 500), rng.uniform(400, 500)) if far else (rng.uniform(0, 100), rng.uniform(0, 100))
        clusters.append({"id": f"C{i:02d}", "x": x, "y": y, "genders": genders})
    facilitators = [
        {"id": "W1", "x": 20, "y": 20, "gender": "female"},
        {"id": "W2", "x": 80, "y": 80, "gender": "female"},
        {"id": "M1", "x": 50, "y": 50, "gender": "male"},
    ]
    return make_case(clusters, facilitators, SP)


def test_mixed_district_every_reachable_cluster_supported():
    p, ct, _fac, _rules = mixed_district()
    assert (ct["need_gender"] == "").sum() == 18  # clusters of women and men need nobody in particular
    sol = solve(p)
    reachable = p.reach.any(axis=0)
    assert reachable.sum() == 21
    assert sol.n_supported == 21 and (sol.facilitator_of[reachable] >= 0).all()
    for c, f in enumerate(sol.facilitator_of):  # single-gender clusters still get their own gender
        if f >= 0 and ct["need_gender"].iat[c]:
            assert p.facilitator_ids[f][0] == {"female": "W", "male": "M"}[ct["need_gender"].iat[c]]


def test_all_mixed_clusters_are_eligible_for_anyone():
    # every cluster mixed: the need_gender column must not become NaN (truthy) and exclude everybody
    p, ct, _fac, rules = make_case(
        [{"id": f"C{i}", "x": 10 * i, "y": 0, "genders": ("female", "male")} for i in range(4)],
        [{"id": "M1", "x": 0, "y": 0, "gender": "male"}, {"id": "W1", "x": 30, "y": 0, "gender": "female"}],
        SP,
    )
    assert rules["gender"].all()
    assert solve(p).n_supported == 4


def test_mixed_district_end_to_end_validates(tmp_path):
    schools, teachers, _ = write_district(tmp_path, 40, seed=5)
    pol = write_policy(tmp_path, '[districts.Testdistrict]\ngender = "mixed"\n')
    fac = facilitators_csv(tmp_path / "fac.csv", schools)
    out = tmp_path / "plan"
    args = ["plan", "--schools", str(schools), "--teachers", str(teachers), "--straight-line", "--policy", str(pol), "--facilitators", str(fac)]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "summary.json").read_text())["support"]
    assert fig["clusters_supported"] == fig["clusters_reachable"] > 0
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


# --------------------------------------------------------------------------- 2. most clusters, proven


def paired_days_case():
    """One facilitator with 3 days, 7 clusters close together: two meetings fit a day, so at most 6."""
    clusters = [{"id": f"C{i}", "x": 10 + 3 * i, "y": 0} for i in range(7)]
    return make_case(clusters, [{"id": "F1", "x": 0, "y": 0, "days": 3}], SP)


def test_count_equals_the_bound_when_days_bind():
    p, *_ = paired_days_case()
    sol = solve(p)
    assert p.meetings_per_day == 2
    assert sol.floor_supported == 3  # one round trip a day
    assert sol.supported_bound == 6 == sol.n_supported and sol.supported_proven
    n, travel = exact(p)
    assert n == 6 and sol.travel_minutes == pytest.approx(travel)


def test_same_inputs_same_support_plan():
    p, *_ = mixed_district(11)
    a, b = solve(p), solve(p)
    assert (a.facilitator_of == b.facilitator_of).all()
    assert [[r.clusters for r in d] for d in a.days] == [[r.clusters for r in d] for d in b.days]


def test_not_proven_is_said_with_what_settles_it():
    # a tiny budget on a problem where the start plan is below the bound: either proven, or the note says how to settle it
    clusters = [{"id": f"C{i}", "x": (7 * i) % 60, "y": (11 * i) % 50} for i in range(30)]
    facs = [{"id": f"F{j}", "x": 15 * j, "y": 20, "days": 4} for j in range(4)]
    p, *_ = make_case(clusters, facs, SP)
    sol = SupportModel(p, workers=1).solve(0.01)
    assert sol.n_supported <= sol.supported_bound
    if not sol.supported_proven:
        assert any("would settle it" in n and str(sol.supported_bound) in n for n in sol.notes)
    else:
        assert sol.n_supported == sol.supported_bound


# --------------------------------------------------------------------------- 3. reasons that are true


def test_full_is_said_only_when_everyone_within_reach_is_full():
    p, ct, fac, rules = paired_days_case()
    sol = solve(p)
    (c,) = np.flatnonzero(sol.facilitator_of < 0)
    reason, change = explain_unsupported(int(c), p, sol, rules, ct, fac, SP, {})
    assert reason == "everyone within reach is full: F1 (3 of 3 days)"
    assert change.startswith("days_per_month = 4 for F1")
    # another facilitator within reach with free days: the cluster is supported, never called "full"
    p2, *_ = make_case(
        [{"id": f"C{i}", "x": 10 + 3 * i, "y": 0} for i in range(7)], [{"id": "F1", "x": 0, "y": 0, "days": 3}, {"id": "F2", "x": 40, "y": 0}], SP
    )
    assert solve(p2).n_supported == 7


def test_validator_flags_a_false_full_reason(tmp_path):
    schools, teachers, _ = write_district(tmp_path, 40, seed=5)
    fac = facilitators_csv(tmp_path / "fac.csv", schools)
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--schools", str(schools), "--teachers", str(teachers), "--straight-line", "--facilitators", str(fac), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    # take a one-meeting day away and call its cluster "full": its facilitator now has a free day
    it = read_plan_csv(out / "itineraries.csv")
    meet = it[it["kind"] == "meeting"]
    one = meet.groupby(["facilitator_id", "day"]).filter(lambda g: len(g) == 1).iloc[0]
    it = it[~((it["facilitator_id"] == one["facilitator_id"]) & (it["day"] == one["day"]))]
    it.to_csv(out / "itineraries.csv", index=False)
    sup = read_plan_csv(out / "support.csv")
    sup.loc[sup["cluster_id"] == one["cluster_id"], ["facilitator_id", "reason"]] = ["", "everyone within reach is full: nobody"]
    sup.to_csv(out / "support.csv", index=False)
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code != 0
    assert f"cluster {one['cluster_id']} has no facilitator" in res.output and "free day" in res.output


# --------------------------------------------------------------------------- 4. a real month


MONTH_POLICY = """
[support]
month = "2027-03"
workdays = ["mon", "tue", "wed", "thu", "sat"]
holidays = ["2027-03-23", "2027-03-08"]
day_start = "07:30"
meeting_window = ["09:00", "14:00"]
"""


def test_working_dates_of_the_month():
    sp = load_policy(write_policy_text(MONTH_POLICY)).support
    dates = working_dates(sp)
    # March 2027 starts on a Monday: 5 Mondays, Tuesdays, Wednesdays, 4 Thursdays and Saturdays = 23, less two holidays
    assert len(dates) == 23 - 2
    assert all(d.month == 3 and d.strftime("%a").lower() in sp.workdays and d.isoformat() not in sp.holidays for d in dates)


def write_policy_text(text: str, _box: list = []):  # noqa: B006 - one temporary file per test run
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp())
    return write_policy(d, text)


def test_a_cluster_keeps_its_weekday_from_month_to_month():
    sp = SupportPolicy(month="2027-03")
    want = regular_slot("Mansehra-FP-010", sp.workdays)
    for month in ("2027-03", "2027-04", "2027-09"):
        (date,) = match_dates([["Mansehra-FP-010"]], working_dates(replace(sp, month=month)), sp.workdays)
        assert slot_of(date) == want


def test_calendar_settings_are_checked_all_at_once():
    bad = '[support]\nmonth = "2027-13"\nworkdays = ["mon", "funday"]\nholidays = ["2027-04-01"]\nday_start = "25:00"\nmeeting_window = ["14:00", "09:00"]\n'
    with pytest.raises(InputError) as e:
        load_policy(write_policy_text(bad))
    text = str(e.value)
    for key in ("support.month", "support.workdays", "support.day_start"):
        assert key in text
    ok_month_bad_rest = '[support]\nmonth = "2027-03"\nholidays = ["2027-04-01"]\nmeeting_window = ["14:00", "09:00"]\n'
    with pytest.raises(InputError) as e:
        load_policy(write_policy_text(ok_month_bad_rest))
    assert "support.holidays" in str(e.value) and "support.meeting_window" in str(e.value)


@pytest.fixture(scope="module")
def month_plan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("month")
    schools, teachers, _ = write_district(tmp, 40, seed=5)
    roster = pd.read_csv(teachers, dtype=str)
    roster["name"] = [f"Name of {t}" for t in roster["teacher_id"]]  # the register prints names where the roster has them
    roster.to_csv(teachers, index=False)
    pol = write_policy(tmp, MONTH_POLICY)
    fac = facilitators_csv(tmp / "fac.csv", schools)
    out = tmp / "plan"
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(schools),
            "--teachers",
            str(teachers),
            "--straight-line",
            "--policy",
            str(pol),
            "--facilitators",
            str(fac),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    return out


def test_every_meeting_on_a_workday_of_the_month(month_plan):
    it = read_plan_csv(month_plan / "itineraries.csv")
    for col in ("date", "start_time", "end_time", "school_name"):
        assert col in it.columns
    meet = it[it["kind"] == "meeting"]
    assert len(meet) > 0
    dates = pd.to_datetime(meet["date"]).dt.date
    assert all(d.year == 2027 and d.month == 3 for d in dates)
    assert all(d.strftime("%a").lower() in ("mon", "tue", "wed", "thu", "sat") for d in dates)
    assert not set(meet["date"]) & {"2027-03-23", "2027-03-08"}
    assert (meet["start_time"] >= "09:00").all() and (meet["start_time"] <= "14:00").all()
    assert (meet["school_name"] != "").all()
    assert runner.invoke(app, ["validate", str(month_plan)]).exit_code == 0


def test_ics_one_event_per_meeting(month_plan):
    it = read_plan_csv(month_plan / "itineraries.csv")
    meet = it[it["kind"] == "meeting"]
    for fid, rows in meet.groupby("facilitator_id"):
        cal = icalendar.Calendar.from_ical((month_plan / "ics" / f"{fid}.ics").read_bytes())
        events = cal.walk("VEVENT")
        assert len(events) == len(rows)
        starts = sorted(e.decoded("dtstart") for e in events)
        want = sorted(dt.datetime.fromisoformat(f"{r.date}T{r.start_time}") for r in rows.itertuples())
        assert starts == want
        assert all(e.get("geo") is not None and str(e.get("location")) for e in events)
    for cid, rows in meet.groupby("cluster_id"):
        cal = icalendar.Calendar.from_ical((month_plan / "ics" / "clusters" / f"{cid}.ics").read_bytes())
        assert len(cal.walk("VEVENT")) == len(rows)


def test_gpx_routes_carry_dates_and_clock_times(month_plan):
    import gpxpy

    it = read_plan_csv(month_plan / "itineraries.csv")
    fid = it.loc[it["kind"] == "meeting", "facilitator_id"].iloc[0]
    g = gpxpy.parse((month_plan / "gpx" / f"{fid}.gpx").read_text(encoding="utf-8"))
    r = g.routes[0]
    assert "2027-03-" in r.name and "leave base" in r.description and ":" in r.description


# --------------------------------------------------------------------------- 5. sizing by the rules


def test_sizing_bases_women_at_girls_or_mixed_schools_men_at_boys_or_mixed():
    from cluster_mapper.support.sizing import size_programme

    p, ct, fac, _ = make_case(
        [{"id": "CW", "x": 0, "y": 0, "genders": ("female",)}, {"id": "CM", "x": 0, "y": 0, "genders": ("male",)}],
        [{"id": "W1", "x": 0, "y": 0, "gender": "female"}, {"id": "M1", "x": 0, "y": 0, "gender": "male"}],
        SP,
    )
    # three host schools: a girls' school at the venues, a boys' school 10 minutes away, a mixed school 20 minutes away
    pts = {"G": 0, "B": 1, "X": 2, "VCW": 3, "VCM": 4}
    T = np.array([[0, 10, 20, 0, 0], [10, 0, 10, 10, 10], [20, 10, 0, 20, 20], [0, 10, 20, 0, 0], [0, 10, 20, 0, 0]], dtype=float)
    cand = pd.DataFrame({"school_id": ["G", "B", "X"], "district": ["D"] * 3, "gender": ["girls", "boys", "mixed"]})
    out = size_programme(ct, fac, cand, {"walk": T}, pts, SP, "walk", {"G": "Girls school", "B": "Boys school", "X": "Mixed school"})
    by = dict(zip(out["gender"], out["bases"]))
    assert by["female"].startswith("Girls school (G)")
    assert by["male"].startswith("Boys school (B)")  # not the girls' school at the venue, although it is nearer
    assert (out["fewest_needed"] == out["lower_bound"]).all() and out["proven"].all()


# --------------------------------------------------------------------------- 6. the month after


def test_register_per_cluster_prints_names_dates_and_signatures(month_plan):
    html = (month_plan / "report.html").read_text(encoding="utf-8")
    it = read_plan_csv(month_plan / "itineraries.csv")
    meet = it[it["kind"] == "meeting"]
    a = read_plan_csv(month_plan / "assignments.csv")
    cid = meet["cluster_id"].iloc[0]
    assert f"Cluster {cid}: attendance register" in html
    t = a[(a["cluster_id"] == cid) & (a["status"] == "placed") & (a["role"] != "head_teacher")]["teacher_id"].iloc[0]
    assert f"Name of {t}" in html
    assert meet.loc[meet["cluster_id"] == cid, "date"].iloc[0] + "<br>signature" in html


def records_for(plan_dir, low_cluster: str, absent_teacher: str) -> pd.DataFrame:
    """Generated meeting records: everyone present, except most of one cluster and one teacher of another."""
    it = read_plan_csv(plan_dir / "itineraries.csv")
    a = read_plan_csv(plan_dir / "assignments.csv")
    a = a[a["status"] == "placed"]
    rows = []
    for r in it[it["kind"] == "meeting"].itertuples(index=False):
        ts = a.loc[a["cluster_id"] == r.cluster_id, "teacher_id"].tolist()
        for i, t in enumerate(ts):
            present = (i == 0) if r.cluster_id == low_cluster else t != absent_teacher
            rows.append({"date": r.date, "cluster_id": r.cluster_id, "teacher_id": t, "present": "yes" if present else "no"})
    return pd.DataFrame(rows)


def test_attendance_flags_clusters_and_teachers_below_the_threshold(month_plan, tmp_path):
    it = read_plan_csv(month_plan / "itineraries.csv")
    clusters = list(dict.fromkeys(it.loc[it["kind"] == "meeting", "cluster_id"]))
    low, other = clusters[0], clusters[1]
    a = read_plan_csv(month_plan / "assignments.csv")
    absent = a.loc[(a["cluster_id"] == other) & (a["status"] == "placed"), "teacher_id"].iloc[0]
    rec = records_for(month_plan, low, absent)
    # as an office keeps it: its own headers, day-first dates, P/A codes
    office = rec.rename(columns={"date": "Meeting Date", "cluster_id": "Cluster", "teacher_id": "Personal No", "present": "Attended"})
    office["Meeting Date"] = pd.to_datetime(office["Meeting Date"]).dt.strftime("%d/%m/%Y")
    office["Attended"] = office["Attended"].map({"yes": "P", "no": "A"})
    path = tmp_path / "records.csv"
    office.to_csv(path, index=False)
    res = runner.invoke(app, ["attendance", str(month_plan), "--records", str(path)])
    assert res.exit_code == 0, res.output
    att = pd.read_csv(month_plan / "attendance.csv", dtype={"cluster_id": str, "teacher_id": str})
    cl = att[att["level"] == "cluster"].set_index("cluster_id")
    n_low = int(cl.at[low, "teachers"])
    assert cl.at[low, "attendance_rate"] == pytest.approx(round(1 / n_low, 4)) and cl.at[low, "at_risk"]
    assert set(cl.index[cl["at_risk"]]) == {low}  # one absent teacher does not put their cluster at risk
    te = att[att["level"] == "teacher"].set_index("teacher_id")
    assert te.at[absent, "at_risk"] and te.at[absent, "attendance_rate"] == 0
    assert te["travel_minutes"].notna().all() and (cl["meetings_held"] == cl["meetings_planned"]).all()
    html = (month_plan / "report.html").read_text(encoding="utf-8")
    assert "Attendance read back" in html and f"<td>{low}</td>" in html
    assert "Clusters at risk: attendance (1)" in (month_plan / "map.html").read_text(encoding="utf-8")


def test_bad_records_list_every_problem_and_change_nothing(month_plan, tmp_path):
    before = (month_plan / "attendance.csv").read_bytes() if (month_plan / "attendance.csv").exists() else None
    it = read_plan_csv(month_plan / "itineraries.csv")
    cid = it.loc[it["kind"] == "meeting", "cluster_id"].iloc[0]
    bad = pd.DataFrame(
        [
            {"date": "2027-03-40", "cluster_id": cid, "teacher_id": "NOBODY", "present": "yes"},
            {"date": "2027-03-02", "cluster_id": "NO-SUCH-CLUSTER", "teacher_id": "x", "present": "maybe"},
        ]
    )
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    res = runner.invoke(app, ["attendance", str(month_plan), "--records", str(path)])
    assert res.exit_code == 2
    text = " ".join(res.output.split())  # the terminal wraps long lines
    for word in ("row 2, field 'date'", "is not a date", "is not placed in this plan", "is not a cluster of this plan", "maybe"):
        assert word in text
    after = (month_plan / "attendance.csv").read_bytes() if (month_plan / "attendance.csv").exists() else None
    assert after == before
