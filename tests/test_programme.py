"""A programme of districts as tasks: same plan as one sequential run, failures, resume, a real Dask cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from cluster_mapper.api import Scenario, TravelSource, plan
from cluster_mapper.folder import write_plan
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.programme import run as prog
from cluster_mapper.programme import tasks as prog_tasks
from cluster_mapper.programme.run import ProgrammeFailed, ProgrammeSettings, plan_programme
from cluster_mapper.validate.plan import validate_plan
from tests.synthetic import SCHOOL_COLUMNS, TEACHER_COLUMNS, make_programme

ROOT = Path(__file__).resolve().parents[1]


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


def test_programme_inline_equals_sequential_and_resumes(files, sequential, tmp_path, monkeypatch):
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
    assert len(list((out / ".programme").glob("*.json"))) == 3
    # the rerun plans only the failed district, then writes the plan (and the checkpoints go)
    calls.clear()
    monkeypatch.setattr(prog, "plan_district", lambda task: (calls.append(task.key), real(task))[1])
    seen = []
    merged = plan_programme(_scenario(files, tmp_path), ProgrammeSettings(executor="inline"), out=out, progress=lambda m, f: seen.append(f))
    assert calls == ["Bagh"] and seen[-1] == 1.0
    write_plan(merged, out, review=False)
    assert not (out / ".programme").exists()
    _same_plan(sequential, out)


def _start(cmd: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def test_programme_on_a_dask_cluster_of_two_worker_processes(files, sequential, tmp_path):
    """`dask scheduler` + two `dask worker` processes; `cluster-mapper programme --scheduler` uses both."""
    dask_cli = Path(sys.executable).with_name("dask")
    assert dask_cli.exists(), "the dask command comes with dask[distributed], a dependency of the package"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    sched_file = tmp_path / "scheduler.json"
    procs = [
        _start(
            [str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)],
            tmp_path / "scheduler.log",
            env,
        )
    ]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), (tmp_path / "scheduler.log").read_text()
        address = json.loads(sched_file.read_text())["address"]
        for name in ("wa", "wb"):
            procs.append(
                _start(
                    [
                        str(dask_cli),
                        "worker",
                        address,
                        "--name",
                        name,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--memory-limit",
                        "0",
                    ],
                    tmp_path / f"{name}.log",
                    env,
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            workers = set(client.scheduler_info()["workers"])
        out = tmp_path / "plan"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "cluster_mapper",
                "programme",
                "--schools",
                str(files["schools"]),
                "--teachers",
                str(files["teachers"]),
                "--network",
                str(files["network"]),
                "--out",
                str(out),
                "--no-review",
                "--scheduler",
                address,
            ],
            cwd=ROOT,
            env={**env, "CLUSTER_MAPPER_CACHE": str(tmp_path / "cache")},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        ran_on = set(read_plan_csv(out / "districts.csv")["worker"])
        assert ran_on == workers, (ran_on, workers)  # both workers planned districts
        assert validate_plan(out).ok
        _same_plan(sequential, out)
        # the run leaves the cluster running
        assert all(p.poll() is None for p in procs)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
