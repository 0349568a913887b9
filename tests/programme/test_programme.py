"""Many districts as tasks: the same plan as one sequential run, failures, JSON checkpoints and resume, a lost Dask worker, the terminal."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from cluster_mapper.api import Scenario, TravelSource, plan
from cluster_mapper.errors import InputError
from cluster_mapper.folder import check_output_folder, write_plan
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.programme import run as prog
from cluster_mapper.programme import tasks as prog_tasks
from cluster_mapper.programme.checkpoints import checkpoint_path
from cluster_mapper.programme.run import ProgrammeFailed, ProgrammeSettings, plan_programme
from cluster_mapper.validate.plan import validate_plan
from tests.fixtures.synthetic import SCHOOL_COLUMNS, TEACHER_COLUMNS, make_programme

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Four generated districts in one schools file, one roster and ONE road network for all."""
    import osmnx as ox

    out = tmp_path_factory.mktemp("programme")
    p = make_programme(n_teachers=700, n_districts=4, seed=7, with_network=True)
    sch = pd.DataFrame(p.schools[SCHOOL_COLUMNS]).copy()
    sch["can_host"] = sch["can_host"].map({True: "true", False: "false"})
    sch.to_csv(out / "schools.csv", index=False)
    p.teachers[TEACHER_COLUMNS].to_csv(out / "teachers.csv", index=False)
    G = nx.MultiDiGraph()
    for i, g in enumerate(p.graphs.values()):  # generated node ids restart at 0 in every district
        G = nx.compose(G, nx.relabel_nodes(g, {n: i * 1_000_000 + n for n in g.nodes}))
    G.graph.update({k: v for k, v in next(iter(p.graphs.values())).graph.items() if k != "district"})
    ox.save_graphml(G, out / "roads.graphml")
    return {"schools": out / "schools.csv", "teachers": out / "teachers.csv", "network": out / "roads.graphml", "dir": out}


def _scenario(files, tmp_path) -> Scenario:
    return Scenario(schools=files["schools"], teachers=files["teachers"], travel=TravelSource(network_path=str(files["network"])), cache_dir=tmp_path / "cache")


@pytest.fixture(scope="module")
def sequential(files, tmp_path_factory) -> Path:
    """The whole programme planned at once, in one process: the reference."""
    out = tmp_path_factory.mktemp("seq") / "plan"
    write_plan(
        plan(Scenario(schools=files["schools"], teachers=files["teachers"], travel=TravelSource(network_path=str(files["network"])), cache_dir=False)),
        out,
        review=False,
    )
    return out


def _same_plan(a: Path, b: Path) -> None:
    for name in ("assignments.csv", "clusters.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    for key in ("objective", "lower_bound", "gap", "status", "clusters", "teachers_placed", "teachers_not_placed", "schools_off_network"):
        assert sa[key] == sb[key], key


def test_network_parts_are_smaller_than_the_network(files):
    from cluster_mapper.api import load_road_network
    from cluster_mapper.inputs.schools import load_inputs
    from cluster_mapper.policy.load import load_policy

    policy = load_policy(None)
    inputs = load_inputs(files["schools"], files["teachers"])
    G = load_road_network(TravelSource(network_path=str(files["network"])), policy)
    tasks = prog_tasks.split_programme(inputs, policy, TravelSource(network_path=str(files["network"])), network=G)
    assert sorted(t.key for t in tasks) == sorted(inputs.schools["district"].unique())
    for t in tasks:
        assert t.network is not None and 0 < t.network.number_of_nodes() < G.number_of_nodes()
        assert set(t.inputs.schools["district"]) == {t.key}


class _Planted:
    """A pickle that creates a marker file when it is loaded: a checkpoint must never be unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(folder: Path, key: str, marker: Path) -> Path:
    """An old-style checkpoint OUT/.programme/<district>-<hash>.pkl carrying code."""
    path = checkpoint_path(folder, key).with_suffix(".pkl")
    path.write_bytes(pickle.dumps(_Planted(marker)))
    return path


def test_programme_inline_equals_sequential_and_resumes_from_json_checkpoints(files, sequential, tmp_path, monkeypatch):
    out = tmp_path / "plan"
    real = prog.plan_district
    calls: list[str] = []

    def flaky(task):
        calls.append(task.key)
        if task.key == "Bagh":
            raise RuntimeError("solver crashed (injected)")
        return real(task)

    monkeypatch.setattr(prog, "plan_district", flaky)
    with pytest.raises(ProgrammeFailed) as err:
        plan_programme(_scenario(files, tmp_path), ProgrammeSettings(executor="inline"), out=out)
    assert list(err.value.failures) == ["Bagh"] and "solver crashed (injected)" in str(err.value)
    assert len(err.value.finished) == 3 and len(calls) == 4
    ckpt = out / ".programme"
    assert len(list(ckpt.glob("*.json"))) == 3 and not list(ckpt.glob("*.pkl"))
    check_output_folder(out)  # a folder of our own checkpoints may be planned into

    # planted pickles are never loaded: a folder holding only a foreign .programme is refused ...
    marker = tmp_path / "the pickle ran"
    for key in ("Bagh", "Mansehra", "Poonch"):
        _plant(ckpt, key, marker)
    with pytest.raises(InputError, match=r"\.programme"):
        check_output_folder(out)
    with pytest.raises(InputError):
        plan_programme(_scenario(files, tmp_path), ProgrammeSettings(executor="inline"), out=out)
    # ... and in a plan folder (allowed) only the JSON checkpoints that match their task are used
    for f in sequential.iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)
    stale = checkpoint_path(ckpt, "Mansehra")
    doc = json.loads(stale.read_text())
    doc["fingerprint"] = "0" * 64  # inputs changed since: plan it again
    stale.write_text(json.dumps(doc))
    calls.clear()
    monkeypatch.setattr(prog, "plan_district", lambda task: (calls.append(task.key), real(task))[1])
    seen = []
    merged = plan_programme(_scenario(files, tmp_path), ProgrammeSettings(executor="inline"), out=out, progress=lambda m, f: seen.append((m, f)))
    assert sorted(calls) == ["Bagh", "Mansehra"] and not marker.exists()
    assert sorted(r.key for r in merged.region_results if r.resumed) == ["Muzaffarabad", "Poonch"]
    assert any("2 of 4 districts to plan in this process; resumed 2 from checkpoints" in m for m, _ in seen) and seen[-1][1] == 1.0
    write_plan(merged, out, review=False)
    assert not (out / ".programme").exists()
    _same_plan(sequential, out)  # the checkpoints' numbers come back exactly


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[str, Path]:
    """Four small generated districts, straight-line travel: a run of a few seconds."""
    out = tmp_path_factory.mktemp("small")
    p = make_programme(n_teachers=800, n_districts=4, seed=11, with_network=False)
    sch = pd.DataFrame(p.schools[SCHOOL_COLUMNS]).copy()
    sch["can_host"] = sch["can_host"].map({True: "true", False: "false"})
    sch.to_csv(out / "schools.csv", index=False)
    p.teachers[TEACHER_COLUMNS].to_csv(out / "teachers.csv", index=False)
    return {"schools": out / "schools.csv", "teachers": out / "teachers.csv", "dir": out}


def _cli_env(tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "CLUSTER_MAPPER_CACHE": str(tmp_path / "cache")}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return env


def test_plan_interrupted_keeps_finished_districts_and_resumes(small, tmp_path):
    """Ctrl-C during `plan` of several districts: told what is kept; the same command resumes and says so."""
    out = tmp_path / "plan"
    cmd = [sys.executable, "-m", "cluster_mapper", "plan", "--schools", str(small["schools"]), "--teachers", str(small["teachers"])]
    cmd += ["--straight-line", "--out", str(out), "--no-review", "--no-dask"]
    env = _cli_env(tmp_path)
    run = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while run.poll() is None and time.time() < deadline and not list((out / ".programme").glob("*.json")):
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before a district was checkpointed: make the districts larger"
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    kept = len(list((out / ".programme").glob("*.json")))
    assert run.returncode == 130, stdout + stderr
    said = " ".join(stderr.split())
    assert ("1 finished district is kept in" if kept == 1 else f"{kept} finished districts are kept in") in said, stderr
    assert "run the same command to resume" in said, stderr
    assert "No plan was written" in stderr and not (out / "summary.json").exists()
    # no TTY: progress as plain lines, no bar
    assert "districts to plan in this process" in stderr and "\x1b[" not in stderr and "━" not in stderr
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"resumed {kept} district{'' if kept == 1 else 's'} from checkpoints" in " ".join(again.stdout.split()), again.stdout
    assert validate_plan(out).ok


def _start(cmd: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def _dask_cluster(tmp_path: Path, env: dict) -> tuple[str, list[subprocess.Popen]]:
    """`dask scheduler` and two single-threaded `dask worker` processes (wa, wb) on the loopback; no nanny, so a killed worker stays dead."""
    dask_cli = Path(sys.executable).with_name("dask")
    assert dask_cli.exists(), "the dask command comes with dask[distributed], a dependency of the package"
    sched_file = tmp_path / "scheduler.json"
    cmd = [str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)]
    procs = [_start(cmd, tmp_path / "scheduler.log", env)]
    deadline = time.time() + 60
    while not sched_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert sched_file.exists(), (tmp_path / "scheduler.log").read_text()
    address = json.loads(sched_file.read_text())["address"]
    for name in ("wa", "wb"):
        cmd = [str(dask_cli), "worker", address, "--name", name, "--nthreads", "1", "--nworkers", "1", "--no-nanny", "--no-dashboard"]
        cmd += ["--preload", "cluster_mapper.programme.tasks"]  # import the planner while the run reads its inputs
        procs.append(_start(cmd + ["--host", "127.0.0.1", "--memory-limit", "0"], tmp_path / f"{name}.log", env))
    return address, procs


def _kill_first_busy(client, procs: dict[str, subprocess.Popen], run: subprocess.Popen, timeout_s: float = 180) -> str | None:
    """SIGKILL the first worker seen planning a district; its name, or None if the run ended first."""
    deadline = time.time() + timeout_s
    while run.poll() is None and time.time() < deadline:
        names = {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        for addr, keys in client.processing().items():
            if addr in names and any(str(k).startswith("plan-") for k in keys):
                procs[names[addr]].send_signal(signal.SIGKILL)
                procs[names[addr]].wait(timeout=10)
                return names[addr]
        time.sleep(0.02)
    return None


def test_plan_on_a_dask_cluster_survives_a_killed_worker(files, sequential, tmp_path):
    """`cluster-mapper plan --scheduler` on `dask scheduler` + two `dask worker`s; one worker is killed mid-run, the other finishes."""
    env = {**_cli_env(tmp_path), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    address, procs = _dask_cluster(tmp_path, env)
    try:
        from distributed import Client

        out = tmp_path / "plan"
        cmd = [sys.executable, "-m", "cluster_mapper", "plan", "--schools", str(files["schools"]), "--teachers", str(files["teachers"])]
        cmd += ["--network", str(files["network"]), "--out", str(out), "--no-review", "--scheduler", address]
        # the run starts while the workers are still starting (they join as they come)
        run = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with Client(address, timeout="30s") as client:
            killed = _kill_first_busy(client, {"wa": procs[1], "wb": procs[2]}, run)
            stdout, stderr = run.communicate(timeout=300)
            left = [w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values()]
        assert killed, "no worker was seen planning a district"
        assert run.returncode == 0, stdout + stderr
        survivor = ({"wa", "wb"} - {killed}).pop()
        assert left == [survivor] and procs[0].poll() is None  # the cluster is left running
        districts = read_plan_csv(out / "districts.csv")
        assert sorted(districts["region"]) == ["Bagh", "Mansehra", "Muzaffarabad", "Poonch"]
        assert validate_plan(out).ok
        _same_plan(sequential, out)
        # the terminal: Dask's own logs stay quiet without -v, progress comes as plain lines
        assert "distributed." not in stderr and "Traceback" not in stderr, stderr
        assert "4 of 4 districts done" in stderr, stderr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
