"""The bad-input corpus (tests/bad_inputs/cases.toml) through the real CLI.

Every refused file must give exit code 2, a message naming the file, the row
(or TOML line) and the field, no traceback, and leave the output folder as it
was: no new plan, no half-written one, a previous plan untouched. Awkward but
valid files (other encodings, BOM, semicolons, Urdu names, blank rows, an
off-network school, a disconnected network) must plan.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster_mapper.cli import app

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
runner = CliRunner()


def _params(exit_code: int):  # noqa: D401
    """Cases with the exit code; a known bug elsewhere (``bug``) or a missing call (``needs``) is a strict xfail."""
    out = []
    for c in CASES:
        if c["exit"] != exit_code:
            continue
        why = c.get("bug") or c.get("needs")
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        name = c["file"] if c.get("command", "plan") == "plan" else f"{c['command']}:{c['file']}"
        out.append(pytest.param(c, id=name, marks=marks))
    return out


def _args(case: dict, out: Path) -> list[str]:
    if case.get("command") == "travel-times":
        return _travel_args(case, out)
    role = case["role"]
    files = {
        "schools": case.get("schools", "good_schools.csv"),
        "teachers": "good_roster.csv",
        "policy": case.get("policy", "good_policy.toml"),
    }
    if role in files:
        files[role] = case["file"]
    sheet = f"#{case['sheet']}" if "sheet" in case else ""  # FILE.xlsx#Sheet on the command line
    args = ["plan", "--schools", str(CORPUS / files["schools"]) + (sheet if role == "schools" else "")]
    teachers = case.get("teachers", files["teachers"] if role != "teachers" else case["file"])
    if teachers:
        args += ["--teachers", str(CORPUS / teachers) + (sheet if role == "teachers" else "")]
    args += ["--policy", str(CORPUS / files["policy"])]
    if "district" in case:
        args += ["--district", case["district"]]
    if role == "elevation":
        args += ["--elevation", str(CORPUS / case["file"])]
    if role == "edits":
        args += ["--edits", str(CORPUS / case["file"])]
        if case.get("revise"):
            args += ["--revise", str(out)]
    if role == "network":
        args += ["--network", str(CORPUS / case["file"])]
    elif role == "matrix":
        args += ["--travel-matrix", str(CORPUS / case["file"])]
    elif "network" in case or role == "elevation":
        args += ["--network", str(CORPUS / case.get("network", "good_network.graphml"))]
    else:
        args += ["--straight-line"]
    return args + ["--out", str(out), "--no-review"]


def _travel_args(case: dict, out: Path) -> list[str]:
    """`cluster-mapper travel-times`: writes a matrix CSV (``out/travel_times.csv``)."""
    role = case["role"]
    args = ["travel-times", "--schools", str(CORPUS / (case["file"] if role == "schools" else "good_schools.csv"))]
    args += ["--policy", str(CORPUS / (case["file"] if role == "policy" else case.get("policy", "good_policy.toml")))]
    if role == "network" or "network" in case:
        args += ["--network", str(CORPUS / (case["file"] if role == "network" else case["network"]))]
    elif role == "matrix":
        args += ["--travel-matrix", str(CORPUS / case["file"])]
    else:
        args += ["--straight-line"]
    return args + ["--out", str(out / "travel_times.csv")]


def _tree_hash(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _flat(text: str) -> str:
    """The output with line wrapping undone (rich wraps long messages)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def previous_plan(tmp_path_factory) -> Path:
    """A complete plan from the good files, which every refused input must leave untouched."""
    out = tmp_path_factory.mktemp("prev") / "plan"
    case = {"file": "good_schools.csv", "role": "schools"}
    res = runner.invoke(app, _args(case, out))
    assert res.exit_code == 0, res.output
    return out


def test_corpus_is_large_enough():
    plan_cases = [c for c in CASES if c.get("command", "plan") == "plan"]
    assert len({c["file"] for c in plan_cases}) >= 30
    missing = [c["file"] for c in CASES if not (CORPUS / c["file"]).exists()]
    assert not missing
    assert len({(c["file"], c.get("command", "plan")) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", _params(2))
def test_refused_input(case, previous_plan):
    before = _tree_hash(previous_plan)
    res = runner.invoke(app, _args(case, previous_plan))
    text = _flat(res.output)
    assert res.exit_code == 2, f"exit {res.exit_code}: {res.output}\n{res.exception!r}"
    assert "Traceback" not in res.output
    assert Path(case["file"]).name in text, text
    for word in case.get("words", []):
        assert _flat(word) in text, f"{word!r} not in: {text}"
    assert "nothing was written" in text
    # no partial output: the previous plan is exactly as it was, no temp folders are left
    assert _tree_hash(previous_plan) == before
    assert [p.name for p in previous_plan.parent.iterdir()] == ["plan"]


@pytest.mark.parametrize("case", _params(0))
def test_accepted_input(case, tmp_path):
    from cluster_mapper.folder import read_plan
    from cluster_mapper.validate.plan import validate_plan

    out = tmp_path / "plan"
    res = runner.invoke(app, _args(case, out))
    text = _flat(res.output)
    assert res.exit_code == 0, f"exit {res.exit_code}: {res.output}\n{res.exception!r}"
    if case.get("command") == "travel-times":
        assert (out / "travel_times.csv").exists()
        for word in case.get("words", []):
            assert _flat(word) in text, f"{word!r} not in: {text}"
        return
    plan = read_plan(out)
    for word in case.get("words", []):
        assert _flat(word) in text or word in str(plan.summary), f"{word!r} not in output or summary: {text}"
    rep = validate_plan(out)
    assert rep.ok, rep.violations


def test_urdu_names_survive_the_plan(tmp_path):
    from cluster_mapper.folder import read_plan

    out = tmp_path / "plan"
    res = runner.invoke(app, _args({"file": "schools_urdu.csv", "role": "schools"}, out))
    assert res.exit_code == 0, res.output
    plan = read_plan(out)
    assert "گورنمنٹ پرائمری سکول بالا" in set(plan.geodata["name"])
    assert set(plan.assignments["teacher_id"]) == {f"T{k:03d}" for k in range(1, 33)}


def test_off_network_school_is_flagged_in_summary(tmp_path):
    from cluster_mapper.folder import read_plan

    out = tmp_path / "plan"
    res = runner.invoke(app, _args({"file": "schools_off_network.csv", "role": "schools", "network": "good_network.graphml"}, out))
    assert res.exit_code == 0, res.output
    assert read_plan(out).summary["schools_off_network"] == ["S09"]


def test_disconnected_network_leaves_far_side_unplaced_with_reason(tmp_path):
    from cluster_mapper.folder import read_plan

    out = tmp_path / "plan"
    res = runner.invoke(app, _args({"file": "network_disconnected.graphml", "role": "network"}, out))
    assert res.exit_code == 0, res.output
    a = read_plan(out).assignments
    placed = a[a["status"] == "placed"]
    west = {"S01", "S02", "S08"}  # west of the river at 73.2065
    for cid, c in placed.groupby("cluster_id"):
        sides = {s in west for s in c["school_id"]}
        assert len(sides) == 1, f"cluster {cid} crosses the river: {sorted(c['school_id'])}"
    assert (a.loc[a["status"] != "placed", "reason"] != "").all()


@pytest.mark.parametrize("name", ["schools_duplicate_id.csv", "network_entity_bomb.osm"])
def test_refused_in_a_real_process(name, tmp_path):
    """The installed console command: exit 2, message on stderr, no traceback, no folder."""
    case = next(c for c in CASES if c["file"] == name)
    out = tmp_path / "plan"
    exe = Path(sys.executable).with_name("cluster-mapper")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cluster_mapper.cli"]
    res = subprocess.run(cmd + _args(case, out), capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert name in res.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_check_policy_districts_typo_refused_absent_noted():
    """A [districts.X] override with no schools: a misspelling of a real district is an error; otherwise a note."""
    from cluster_mapper.errors import InputError
    from cluster_mapper.policy.load import check_policy_districts, load_policy

    typo = load_policy(CORPUS / "policy_district_typo.toml")
    with pytest.raises(InputError) as err:
        check_policy_districts(typo, ["Mansehra"])
    text = str(err.value)
    assert "policy_district_typo.toml" in text and "line 3" in text and "field 'districts.Manshera'" in text
    assert "[districts.Mansehra]" in text
    absent = load_policy(CORPUS / "policy_district_absent.toml")
    notes = check_policy_districts(absent, ["Mansehra"])
    assert notes == ["policy [districts.Bagh]: no schools of district Bagh in this schools file; its rules are not used"]
    # case/space variants are typos too; a district with its own table is left alone
    from cluster_mapper.policy.load import policy_from_dict

    p = policy_from_dict({"districts": {"bagh ": {"gender": "mixed"}, "Poonch": {"gender": "mixed"}}})
    with pytest.raises(InputError):
        check_policy_districts(p, ["Bagh", "Poonch"])
    assert check_policy_districts(p, ["Poonch"]) == ["policy [districts.bagh ]: no schools of district bagh  in this schools file; its rules are not used"]


def test_unknown_backend_is_a_clear_error(tmp_path):
    case = {"file": "good_schools.csv", "role": "schools"}
    res = runner.invoke(app, _args(case, tmp_path / "plan") + ["--backend", "GUROBI"])
    assert res.exit_code == 2, res.output
    assert not (tmp_path / "plan").exists()


def test_a_school_stranded_on_a_road_fragment_is_named_and_told_so(tmp_path):
    """Issue 17: a school snapped onto a piece of road joined to nothing is named by inspect and its reason says so."""
    import osmnx as ox

    from cluster_mapper import Scenario, TravelSource, plan
    from cluster_mapper.preview import inspect_scenario

    G = ox.load_graphml(CORPUS / "good_network.graphml")
    # S05 (34.335 N, 73.22 E): cut its nearest crossing off the grid, keep one short lane to a new node beside it
    near = min(G.nodes, key=lambda n: (G.nodes[n]["y"] - 34.335) ** 2 + (G.nodes[n]["x"] - 73.22) ** 2)
    G.remove_edges_from(list(G.in_edges(near, keys=True)) + list(G.out_edges(near, keys=True)))
    G.add_node(1, x=G.nodes[near]["x"] + 0.0005, y=G.nodes[near]["y"], osmid=1)
    for u, v in ((near, 1), (1, near)):
        G.add_edge(u, v, length=46.0, highway="residential", oneway=False, reversed=u == 1, osmid=77)
    net = tmp_path / "fragment.graphml"
    ox.save_graphml(G, net)
    sc = Scenario(
        schools=CORPUS / "good_schools.csv",
        teachers=CORPUS / "good_roster.csv",
        policy=CORPUS / "good_policy.toml",
        travel=TravelSource(network_path=str(net)),
        cache_dir=False,
    )
    ins = inspect_scenario(sc)
    assert ins.stranded == ["S05"]
    assert any("1 school on a piece of the road network that reaches no other school: S05 (GPS Kund (Mixed))" in n for n in ins.notes)
    a = plan(sc).assignments
    s05 = a[a["school_id"] == "S05"]
    assert (s05["status"] == "not_placed").all()
    assert s05["reason"].str.contains("school S05 lies on a piece of the road network that reaches no other school").all()
    assert not s05["suggestion"].str.contains("min_teachers").any()
