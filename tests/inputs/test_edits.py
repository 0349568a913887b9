"""Edits and the least-change re-plan: every action honoured and validated, moves minimal."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster_mapper.cli import app
from cluster_mapper.errors import InputError
from cluster_mapper.folder import read_plan
from cluster_mapper.inputs.edits import read_edits
from cluster_mapper.model import ClusterModel, ClusterProblem, SideRow
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.validate.plan import validate_plan
from tests.conftest import write_district, write_policy

runner = CliRunner()
BASE = 'min_teachers = 4\nmax_teachers = 10\nmax_travel_minutes = 90\ngender = "segregated"\nlevels = "mixed"\ntime_limit_seconds = 20\n'
# teachers of several schools in every cluster, so that edits have members to move
POLICY = BASE + "min_schools = 2\n"
HEADER = "action,school_id,other_school_id,cluster_id,minutes,note\n"


def _plan(args):
    res = runner.invoke(app, ["plan", *args, "--straight-line"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A district and its first plan (module-wide: every test revises it)."""
    tmp = tmp_path_factory.mktemp("edits")
    schools, teachers, _ = write_district(tmp, 60, 21)
    policy = write_policy(tmp, POLICY)
    out = tmp / "first"
    _plan(["--schools", str(schools), "--teachers", str(teachers), "--policy", str(policy), "--out", str(out), "--no-review"])
    return {"tmp": tmp, "schools": schools, "teachers": teachers, "policy": policy, "plan": out}


def _base(f, policy=None):
    return ["--schools", str(f["schools"]), "--teachers", str(f["teachers"]), "--policy", str(policy or f["policy"])]


def _pick_edits(plan_dir) -> dict[str, tuple]:
    """One edit of each action on distinct clusters of the first plan."""
    a = read_plan(plan_dir).assignments
    p = a[a["status"] == "placed"].copy()
    p["n"] = p["n_teachers"].astype(int)
    units = (
        p.groupby("unit_id")
        .agg(
            school_id=("school_id", "first"), cluster_id=("cluster_id", "first"), venue=("venue_school_id", "first"), gender=("gender", "first"), n=("n", "sum")
        )
        .reset_index()
    )
    single = units["school_id"].map(units["school_id"].value_counts()) == 1
    clusters = sorted(p["cluster_id"].unique(), key=lambda c: (-p.loc[p["cluster_id"] == c, "school_id"].nunique(), c))
    members = {c: units[(units["cluster_id"] == c) & (units["school_id"] != units["venue"])] for c in clusters}
    used: set[str] = set()
    picks: dict[str, tuple] = {}

    def take(action, key):
        picks[action] = key
        used.update(k for k in key if isinstance(k, str))

    two = [c for c in clusters if members[c]["school_id"].nunique() >= 2]
    c_lock = two[0]
    take("lock_cluster", (c_lock,))
    used.update(p.loc[p["cluster_id"] == c_lock, "school_id"])
    x, y = sorted(members[two[1]]["school_id"].unique())[:2]
    take("apart", (x, y))
    rest = iter(c for c in clusters if c not in two[:2] and len(members[c]) >= 1 and not set(p.loc[p["cluster_id"] == c, "school_id"]) & used)
    c = next(rest)
    take("no_venue", (members[c]["venue"].iloc[0],))
    c = next(rest)
    take("exclude", (members[c]["school_id"].iloc[0],))
    c = next(rest)
    take("travel_minutes", (members[c]["school_id"].iloc[0], members[c]["venue"].iloc[0]))
    c = next(rest)
    take("venue", (members[c]["school_id"].iloc[0],))
    units = units[single]
    # together: two members of different clusters of the same gender that fit in one cluster
    free = units[~units["school_id"].isin(used) & (units["school_id"] != units["venue"])]
    for (_, x), (_, y) in itertools.combinations(free.iterrows(), 2):
        if x["gender"] == y["gender"] and x["cluster_id"] != y["cluster_id"] and x["n"] + y["n"] <= 6 and x["cluster_id"] != c_lock:
            take("together", (x["school_id"], y["school_id"]))
            break
    return picks


def _edits_csv(picks: dict[str, tuple]) -> str:
    rows = [HEADER.strip()]
    for action, key in picks.items():
        if action == "lock_cluster":
            rows.append(f"lock_cluster,,,{key[0]},,works well: keep it")
        elif action == "travel_minutes":
            rows.append(f"travel_minutes,{key[0]},{key[1]},,impassable,footbridge lost in the floods")
        elif action in ("apart", "together"):
            rows.append(f"{action},{key[0]},{key[1]},,,note for {action}")
        else:
            rows.append(f"{action},{key[0]},,,,note for {action}")
    return "\n".join(rows) + "\n"


def test_every_action_is_honoured_and_validated(first):
    picks = _pick_edits(first["plan"])
    assert len(picks) == 7, picks
    edits = first["tmp"] / "edits.csv"
    edits.write_text(_edits_csv(picks), encoding="utf-8")
    out = first["tmp"] / "edited"
    res = _plan([*_base(first), "--out", str(out), "--revise", str(first["plan"]), "--edits", str(edits)])
    rep = validate_plan(out)
    assert rep.ok, rep.violations
    assert rep.checked["edits"] == 7
    old = read_plan(first["plan"]).assignments
    new = read_plan(out).assignments
    placed = new[new["status"] == "placed"]
    clusters_of = placed.groupby("school_id")["cluster_id"].apply(set).to_dict()
    # lock: same teachers, same venue, same id
    (cid,) = picks["lock_cluster"]
    o = old[old["cluster_id"] == cid]
    n = new[new["cluster_id"] == cid]
    assert set(o["teacher_id"]) == set(n["teacher_id"]) and set(n["venue_school_id"]) == set(o["venue_school_id"])
    # apart, together
    x, y = picks["apart"]
    assert not clusters_of.get(x, set()) & clusters_of.get(y, set())
    x, y = picks["together"]
    assert clusters_of.get(x) == clusters_of.get(y)
    # venue, no_venue
    (s,) = picks["venue"]
    assert set(placed.loc[placed["school_id"] == s, "venue_school_id"]) <= {s}
    (s,) = picks["no_venue"]
    assert s not in set(placed["venue_school_id"])
    # travel correction: the member no longer meets at that venue
    x, y = picks["travel_minutes"]
    assert not ((placed["school_id"] == x) & (placed["venue_school_id"] == y)).any()
    # exclude: nobody placed, the note is the reason
    (s,) = picks["exclude"]
    ex = new[new["school_id"] == s]
    assert (ex["status"] == "not_placed").all() and ex["reason"].str.contains("note for exclude").all()
    # notes travel to the files, the report and the map
    assert new.loc[new["school_id"] == picks["apart"][0], "edits"].str.contains("note for apart").all()
    assert "footbridge lost in the floods" in (out / "report.html").read_text(encoding="utf-8")
    assert "note for venue" in (out / "map.html").read_text(encoding="utf-8")
    assert (out / "edits.csv").exists()
    changes = read_plan_csv(out / "changes.csv")
    moved = changes[changes["change"].isin(["moved", "lost_place"])]
    assert len(moved) > 0 and moved["why"].str.len().gt(0).all()
    assert moved.loc[moved["school_id"] == picks["exclude"][0], "why"].str.contains("exclude").all()
    s = json.loads((out / "summary.json").read_text())
    assert s["changes"]["teachers_moved"] == int(moved["n_teachers"].astype(int).sum())
    assert "moved" in " ".join(res.output.split())

    # diff names the same moves and the edits behind them
    res = runner.invoke(app, ["diff", str(first["plan"]), str(out), "--out", str(first["tmp"] / "diff.csv")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"{s['changes']['teachers_moved']} teacher(s) moved" in text
    assert picks["exclude"][0] in text
    d = read_plan_csv(first["tmp"] / "diff.csv")
    assert d["change"].isin(["moved", "lost_place"]).sum() == len(moved)
    assert d.loc[(d["school_id"] == picks["exclude"][0]) & (d["change"] == "lost_place"), "why"].str.contains("exclude").all()


def test_revise_without_edits_moves_no_one(first):
    out = first["tmp"] / "again"
    _plan([*_base(first), "--out", str(out), "--revise", str(first["plan"]), "--no-review"])
    assert validate_plan(out).ok
    s = json.loads((out / "summary.json").read_text())
    assert s["changes"]["teachers_moved"] == 0
    assert s["changes"]["clusters"] == {"kept": s["clusters"], "changed": 0, "created": 0, "dissolved": 0}
    key = ["teacher_id", "cluster_id", "venue_school_id"]
    a = read_plan(first["plan"]).assignments[key].sort_values("teacher_id").reset_index(drop=True)
    b = read_plan(out).assignments[key].sort_values("teacher_id").reset_index(drop=True)
    assert a.equals(b)


def test_max_moved_teachers_caps_the_moves(first):
    # a tighter travel limit breaks clusters; with at most 3 teachers moved to another venue, others stay unplaced instead
    tight = POLICY.replace("max_travel_minutes = 90", "max_travel_minutes = 40")
    free_out = first["tmp"] / "tight_free"
    _plan([*_base(first, write_policy(first["tmp"], tight, "tight.toml")), "--out", str(free_out), "--revise", str(first["plan"]), "--no-review"])
    free = json.loads((free_out / "summary.json").read_text())
    out = first["tmp"] / "tight_capped"
    _plan(
        [
            *_base(first, write_policy(first["tmp"], tight + "max_moved_teachers = 3\n", "capped.toml")),
            "--out",
            str(out),
            "--revise",
            str(first["plan"]),
            "--no-review",
        ]
    )
    rep = validate_plan(out)
    assert rep.ok, rep.violations
    capped = json.loads((out / "summary.json").read_text())
    assert free["changes"]["teachers_moved_venue"] > 3, "the cap must bite"
    assert capped["changes"]["teachers_moved_venue"] <= 3
    assert capped["teachers_placed"] <= free["teachers_placed"]
    a = read_plan(out).assignments
    assert "max_moved_teachers" in " ".join(a.loc[a["status"] != "placed", "suggestion"])


def test_min_schools_holds_and_is_validated(first):
    rep = validate_plan(first["plan"])
    assert rep.ok, rep.violations
    c = read_plan(first["plan"]).clusters
    assert (c["n_schools"].astype(int) >= 2).all()
    pol = write_policy(first["tmp"], BASE, "min1.toml")
    out = first["tmp"] / "min1"
    _plan([*_base(first, pol), "--out", str(out), "--no-review"])
    assert (read_plan(out).clusters["n_schools"].astype(int) == 1).any(), "without min_schools some clusters are one school"
    a = read_plan(first["plan"]).assignments
    reasons = a.loc[(a["status"] != "placed") & (a["role"] != "head_teacher"), "reason"]
    assert reasons.str.len().gt(0).all()


# ----------------------------------------------------------------- least change, exactly


def _brute_force(p: ClusterProblem):
    """Best plan by enumeration: most placed, then fewest moves, then least travel."""
    n = p.n_units
    options = [[-1] + [int(v) for m, v in zip(p.pair_member, p.pair_venue, strict=True) if m == i] for i in range(n)]
    minutes = {(int(m), int(v)): float(t) for m, v, t in zip(p.pair_member, p.pair_venue, p.pair_minutes, strict=True)}
    stay = {(int(m), int(v)): float(s) for m, v, s in zip(p.pair_member, p.pair_venue, p.pair_stay, strict=True)}
    best = None
    for venue_of in itertools.product(*options):
        vo = np.array(venue_of)
        ok = True
        for j in set(vo[vo >= 0]):
            members = np.flatnonzero(vo == j)
            size = p.n_teachers[members].sum()
            if vo[j] != j or not (p.min_teachers <= size <= p.max_teachers) or not (p.min_schools <= len(members) <= p.max_schools):
                ok = False
                break
        if not ok:
            continue
        for r in p.side_rows:
            act = sum(c for m, v, c in zip(r.member, r.venue, r.coef, strict=True) if vo[m] == v)
            if not (r.lower - 1e-9 <= act <= r.upper + 1e-9):
                ok = False
        if not ok:
            continue
        placed = int(p.n_teachers[vo >= 0].sum())
        stays = sum(stay[(i, int(vo[i]))] for i in range(n) if vo[i] >= 0)
        moves = p.prev_teachers - stays
        elsewhere = sum(p.pair_prev[k] - p.pair_stay[k] for k in range(len(p.pair_member)) if vo[p.pair_member[k]] == p.pair_venue[k])
        if p.max_moved is not None and elsewhere > p.max_moved:
            continue
        travel = sum(minutes[(i, int(vo[i]))] * p.n_teachers[i] for i in range(n) if vo[i] >= 0)
        key = (-placed, moves, round(travel, 6))
        if best is None or key < best:
            best = key
    return best


@pytest.mark.parametrize("seed", range(12))
def test_least_change_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = 7
    xy = rng.uniform(0, 10, size=(n, 2))
    teachers = rng.integers(1, 5, size=n)
    hosts = np.flatnonzero(rng.random(n) < 0.7)
    pm, pv, pt = [], [], []
    for j in hosts:
        for i in range(n):
            d = float(np.hypot(*(xy[i] - xy[j])))
            if d <= 7:
                pm.append(i)
                pv.append(j)
                pt.append(round(d, 1) if i != j else 0.0)
    pm, pv, pt = np.array(pm), np.array(pv), np.array(pt)
    # a previous plan: each unit at a random one of its venues (not necessarily feasible now)
    prev = {i: int(rng.choice(pv[pm == i])) if (pm == i).any() and rng.random() < 0.8 else -1 for i in range(n)}
    stay = np.array([teachers[m] if prev[int(m)] == int(v) else 0 for m, v in zip(pm, pv, strict=True)], dtype=float)
    side = []
    if seed % 3 == 0:  # an apart edit between units 0 and 1 at every common venue
        for j in set(pv[pm == 0]) & set(pv[pm == 1]):
            side.append(SideRow(np.array([0, 1]), np.array([j, j]), np.array([1.0, 1.0]), -np.inf, 1.0))
    if seed % 3 == 1:  # together 2 and 3
        for j in set(pv[pm == 2]) | set(pv[pm == 3]):
            side.append(SideRow(np.array([2, 3]), np.array([j, j]), np.array([1.0, -1.0]), 0.0, 0.0))
    p = ClusterProblem(
        teachers,
        pm,
        pv,
        pt,
        min_teachers=4,
        max_teachers=8,
        max_schools=3,
        min_schools=2 if seed % 4 == 0 else 1,
        side_rows=side,
        pair_stay=stay,
        prev_teachers=int(sum(teachers[i] for i in range(n) if prev[i] >= 0)),
        pair_prev=np.array([teachers[m] if prev[int(m)] >= 0 else 0 for m in pm], dtype=float),
        max_moved=2 if seed % 2 == 0 else None,
    )
    p.move_weight = float(np.ceil((pt * teachers[pm]).max(initial=0) * n)) + 1.0
    want = _brute_force(p)
    sol = ClusterModel(p).solve(10)
    vo = sol.venue_of
    placed = int(teachers[vo >= 0].sum())
    stays = sum(stay[k] for k in range(len(pm)) if vo[pm[k]] == pv[k])
    travel = sum(pt[k] * teachers[pm[k]] for k in range(len(pm)) if vo[pm[k]] == pv[k])
    assert want is not None
    assert (-placed, p.prev_teachers - stays) == want[:2]
    assert travel == pytest.approx(want[2], abs=1e-6)
    assert sol.lower_bound <= sol.objective + 1e-6


def test_excluded_teachers_keep_the_note_and_edits_without_revise(first, tmp_path):
    a = read_plan(first["plan"]).assignments
    s = a.loc[a["status"] == "placed", "school_id"].iloc[0]
    edits = tmp_path / "e.csv"
    edits.write_text(HEADER + f"exclude,{s},,,,closed: merged with the next village\n", encoding="utf-8")
    out = tmp_path / "p"
    _plan([*_base(first), "--out", str(out), "--edits", str(edits), "--no-review"])
    assert validate_plan(out).ok
    b = read_plan(out).assignments
    rows = b[b["school_id"] == s]
    assert (rows["status"] == "not_placed").all()
    assert rows["reason"].str.contains("closed: merged with the next village").all()
    assert not (out / "changes.csv").exists()


def test_validator_catches_a_broken_edit(first, tmp_path):
    a = read_plan(first["plan"]).assignments
    p = a[a["status"] == "placed"]
    c = p.groupby("cluster_id")["school_id"].nunique()
    cid = c[c >= 2].index[0]
    x, y = sorted(p.loc[p["cluster_id"] == cid, "school_id"].unique())[:2]
    venue = p.loc[p["cluster_id"] == cid, "venue_school_id"].iloc[0]
    out = tmp_path / "copy"
    import shutil

    shutil.copytree(first["plan"], out)
    (out / "edits.csv").write_text(HEADER + f"apart,{x},{y},,,\nno_venue,{venue},,,,\n", encoding="utf-8")
    rep = validate_plan(out)
    assert any(f"edit apart {x} {y}" in v for v in rep.violations)
    assert any(f"edit no_venue {venue}" in v for v in rep.violations)
    # a travel correction the plan ignored: the reported minutes no longer match
    member = p.loc[(p["cluster_id"] == cid) & (p["school_id"] != venue), "school_id"].iloc[0]
    (out / "edits.csv").write_text(HEADER + f"travel_minutes,{member},{venue},,500,\n", encoding="utf-8")
    rep = validate_plan(out)
    assert any(member in v and "limit" in v for v in rep.violations), rep.violations


def test_changes_of_a_plan_frame():
    from cluster_mapper.planning.changes import change_summary, cluster_changes, plan_changes

    cols = ["teacher_id", "school_id", "status", "cluster_id", "venue_school_id", "travel_minutes", "n_teachers", "reason"]
    old = pd.DataFrame(
        [["T1", "A", "placed", "C1", "A", "0", "1", ""], ["T2", "B", "placed", "C1", "A", "10", "1", ""], ["T3", "C", "placed", "C2", "C", "0", "1", ""]],
        columns=cols,
    )
    new = pd.DataFrame(
        [
            ["T1", "A", "placed", "C1", "A", "0", "1", ""],
            ["T2", "B", "placed", "C3", "D", "5", "1", ""],
            ["T3", "C", "not_placed", "", "", "", "1", "too few"],
            ["T4", "D", "placed", "C3", "D", "0", "1", ""],
        ],
        columns=cols,
    )
    edits = pd.DataFrame([{"row": 2, "action": "apart", "school_id": "A", "other_school_id": "B", "cluster_id": "", "minutes": "", "note": "feud"}])
    t = plan_changes(old, new, edits)
    assert dict(zip(t["teacher_id"], t["change"], strict=True)) == {"T1": "same", "T2": "moved", "T3": "lost_place", "T4": "joined"}
    assert "feud" in t.loc[t["teacher_id"] == "T2", "why"].iloc[0]
    assert t.loc[t["teacher_id"] == "T2", "travel_change_minutes"].iloc[0] == -5
    cc = cluster_changes(old, new)
    assert dict(zip(cc["cluster_id"], cc["change"], strict=True)) == {"C1": "changed", "C2": "dissolved", "C3": "created"}
    s = change_summary(t, cc)
    assert s["teachers_moved"] == 2 and s["clusters"]["created"] == 1


def test_exported_workbook_edited_with_openpyxl_replans(first, tmp_path):
    import openpyxl

    book = tmp_path / "plan.xlsx"
    res = runner.invoke(app, ["export", str(first["plan"]), "--xlsx", str(book)])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(book)
    assert {"clusters", "schools", "edits", "help"} <= set(wb.sheetnames)
    ws = wb["edits"]
    assert [c.value for c in ws[1]] == ["action", "school_id", "other_school_id", "cluster_id", "minutes", "note"]
    formulas = sorted(dv.formula1 for dv in ws.data_validations.dataValidation)
    assert any("$A$" in f for f in formulas) and any("$B$" in f for f in formulas) and any("$C$" in f for f in formulas)
    # the schools sheet names alternatives with travel minutes
    sch = pd.DataFrame(list(wb["schools"].values)[1:], columns=[c.value for c in wb["schools"][1]])
    alts = sch["other clusters within the rules (travel minutes)"].fillna("")
    assert alts.str.contains(" min)", regex=False).any()
    # a user's edits, typed as in a spreadsheet: lock one cluster, keep two schools of another apart
    c = read_plan(first["plan"]).clusters
    a = read_plan(first["plan"]).assignments
    p = a[a["status"] == "placed"]
    lock = c["cluster_id"].iloc[0]
    other = next(cid for cid, g in p.groupby("cluster_id") if cid != lock and g["school_id"].nunique() >= 2)
    x, y = sorted(p.loc[p["cluster_id"] == other, "school_id"].unique())[:2]
    ws.cell(row=2, column=1, value="lock_cluster")
    ws.cell(row=2, column=4, value=lock)
    ws.cell(row=2, column=6, value="works well")
    ws.cell(row=3, column=1, value="apart")
    ws.cell(row=3, column=2, value=x)
    ws.cell(row=3, column=3, value=y)
    ws.cell(row=3, column=6, value="staff rooms do not get along")
    wb.save(book)
    out = tmp_path / "replanned"
    _plan([*_base(first), "--out", str(out), "--revise", str(first["plan"]), "--edits", str(book), "--no-review"])
    rep = validate_plan(out)
    assert rep.ok, rep.violations
    b = read_plan(out).assignments
    pb = b[b["status"] == "placed"]
    assert not set(pb.loc[pb["school_id"] == x, "cluster_id"]) & set(pb.loc[pb["school_id"] == y, "cluster_id"])
    assert set(pb.loc[pb["cluster_id"] == lock, "teacher_id"]) == set(p.loc[p["cluster_id"] == lock, "teacher_id"])
    # exporting the revised plan carries its edits into the new workbook's edits sheet
    book2 = tmp_path / "again.xlsx"
    assert runner.invoke(app, ["export", str(out), "--xlsx", str(book2)]).exit_code == 0
    rows = [r for r in openpyxl.load_workbook(book2)["edits"].values][1:]
    assert [r[0] for r in rows if r[0]] == ["lock_cluster", "apart"]


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_random_edits_are_honoured_or_refused_with_rows(tmp_path, seed):
    """Random edits on generated districts: either refused (exit 2, rows named, nothing written) or honoured and validated."""
    schools, teachers, _ = write_district(tmp_path, 30, seed)
    policy = write_policy(tmp_path, BASE)
    first = tmp_path / "first"
    base = ["--schools", str(schools), "--teachers", str(teachers), "--policy", str(policy)]
    _plan([*base, "--out", str(first), "--no-review"])
    a = read_plan(first).assignments
    ids = sorted(a["school_id"].unique())
    cids = sorted(read_plan(first).clusters["cluster_id"])
    rng = np.random.default_rng(seed)
    rows, refused, honoured = [], 0, 0
    for attempt in range(6):
        pick = lambda: ids[int(rng.integers(len(ids)))]  # noqa: E731
        action = ["together", "apart", "venue", "no_venue", "travel_minutes", "exclude", "lock_cluster"][attempt % 7 if attempt < 6 else int(rng.integers(7))]
        x, y = pick(), pick()
        while y == x:
            y = pick()
        row = {
            "together": f"together,{x},{y},,,",
            "apart": f"apart,{x},{y},,,",
            "venue": f"venue,{x},,,,",
            "no_venue": f"no_venue,{x},,,,",
            "travel_minutes": f"travel_minutes,{x},{y},,{int(rng.integers(1, 200))},",
            "exclude": f"exclude,{x},,,,",
            "lock_cluster": f"lock_cluster,,,{cids[int(rng.integers(len(cids)))]},,",
        }[action]
        rows.append(row)
        edits = tmp_path / f"edits_{attempt}.csv"
        edits.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        out = tmp_path / f"p{attempt}"
        res = runner.invoke(app, ["plan", *base, "--straight-line", "--no-review", "--out", str(out), "--revise", str(first), "--edits", str(edits)])
        if res.exit_code == 2:
            refused += 1
            text = " ".join(res.output.split())
            assert "row" in text and "nothing was written" in text and not out.exists(), text
            rows.pop()  # the office deletes the refused row and goes on
            continue
        assert res.exit_code == 0, res.output + repr(res.exception)
        rep = validate_plan(out)
        assert rep.ok, (rows, rep.violations)
        assert rep.checked["edits"] == len(rows)
        honoured += 1
    assert honoured >= 1


def test_lock_refused_when_its_teachers_changed_and_ids_reported_together(first, tmp_path):
    a = read_plan(first["plan"]).assignments
    p = a[a["status"] == "placed"]
    cid = p["cluster_id"].iloc[0]
    leaver = p.loc[p["cluster_id"] == cid, "teacher_id"].iloc[0]
    roster = pd.read_csv(first["teachers"], dtype=str)
    roster = roster[roster["teacher_id"] != leaver]
    teachers2 = tmp_path / "roster.csv"
    roster.to_csv(teachers2, index=False)
    edits = tmp_path / "e.csv"
    edits.write_text(
        HEADER + f"lock_cluster,,,{cid},,works well\nlock_cluster,,,NO-SUCH-CLUSTER,,\napart,{p['school_id'].iloc[0]},NO-SUCH-SCHOOL,,,\n", encoding="utf-8"
    )
    out = tmp_path / "p"
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(first["schools"]),
            "--teachers",
            str(teachers2),
            "--policy",
            str(first["policy"]),
            "--straight-line",
            "--out",
            str(out),
            "--revise",
            str(first["plan"]),
            "--edits",
            str(edits),
        ],
    )
    text = " ".join(res.output.split())
    assert res.exit_code == 2, text
    assert "nothing was written" in text and not out.exists()
    # the unknown cluster and the unknown school are reported together (rows 3 and 4)
    assert "row 3" in text and "NO-SUCH-CLUSTER is not in the previous plan" in text
    assert "row 4" in text and "NO-SUCH-SCHOOL is not in the schools file" in text
    # with the unknown ids fixed, the lock of a cluster whose teacher left is refused by name
    edits.write_text(HEADER + f"lock_cluster,,,{cid},,works well\n", encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "plan",
            "--schools",
            str(first["schools"]),
            "--teachers",
            str(teachers2),
            "--policy",
            str(first["policy"]),
            "--straight-line",
            "--out",
            str(out),
            "--revise",
            str(first["plan"]),
            "--edits",
            str(edits),
        ],
    )
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and leaver in text and "joined or left" in text, text


def test_a_reason_after_edits_names_the_no_venue_rows_that_left_no_venue_in_reach(tmp_path):
    """Issue 21: S01 and S02 (3.5 minutes apart) are 25+ minutes from every other school; with both made no_venue under
    an 8-minute limit, nothing can host them, and their reason says which edits did it."""
    from pathlib import Path

    from cluster_mapper import Scenario, TravelSource, plan

    corpus = Path(__file__).parents[1] / "bad_inputs"
    edits = tmp_path / "edits.csv"
    edits.write_text("action,school_id,other_school_id,cluster_id,minutes,note\nno_venue,S01,,,,no hall\nno_venue,S02,,,,no hall\n", encoding="utf-8")
    sc = Scenario(
        schools=corpus / "good_schools.csv",
        teachers=corpus / "good_roster.csv",
        policy=corpus / "policy_short_travel.toml",
        travel=TravelSource(straight_line=True),
        edits=edits,
        cache_dir=False,
    )
    u = plan(sc).units.set_index("unit_id")
    for sid in ("S01", "S02"):
        r = u[u["school_id"] == sid].iloc[0]
        assert r["status"] == "not_placed"
        assert "no school may host within 8 minutes: the edits rule out every one in reach (no_venue, rows 2-3)" in r["reason"], r["reason"]
        assert "delete some of the no_venue edits (rows 2-3)" in r["suggestion"]


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("action,school_id,other_school_id,cluster_id,minutes,note\napart,S1,S2,,,x\nno_venue,,,,,\n", 3),
        ("Edits for the district\naction,school_id,other_school_id,cluster_id,minutes,note\nvenue,,,,,\n", 3),
    ],
)
def test_an_unfinished_last_edit_is_refused_not_taken_for_a_note(tmp_path, text, row):
    """Every row of an edits file is an edit: a last row with only its action is an edit missing its school."""
    path = tmp_path / "edits.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_edits(path)
    [problem] = err.value.problems
    assert (problem.row, problem.field) == (row, "school_id")
    assert "needs school_id" in problem.message
