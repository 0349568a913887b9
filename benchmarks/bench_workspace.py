"""Benchmark: an edit-and-re-plan round in the workspace, through its JSON API, on the bundled sample.

Run::

    python benchmarks/bench_workspace.py [--rounds 3] [--workers 1]

Makes a workspace in a temporary folder (``cluster-mapper serve``'s app,
driven by FastAPI's TestClient; plans run in the worker process pool as in
``serve``), a project from the sample, and its first plan; then ``--rounds``
times: an ``apart`` edit on two schools of one cluster of the latest version,
``POST /api/plans/{id}/revise``, polled every 0.1 s until ``done``. Printed:
the first plan's time (includes the worker's start and the road network's
first travel times), each round's time from the request to ``done`` (the
plan, written with its map and report, and checked by the validator), and the
time of ``GET /api/plans/{a}/diff/{b}`` and ``GET /api/plans/{id}/download``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cluster_mapper.workspace import WorkspaceConfig, create_app
from tests.workspace.conftest import csrf, two_schools_sharing_a_cluster, wait_for


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TestClient(create_app(WorkspaceConfig(project_dir=Path(tmp), workers=args.workers))) as c:
        h = csrf(c)
        pid = c.post("/api/projects", json={"name": "bench", "sample": True}, headers=h).json()["id"]
        plan_id = c.post(f"/api/projects/{pid}/plans", headers=h).json()["plan_id"]
        j, first = _timed(wait_for, c, plan_id)
        assert j["status"] == "done", j
        print(f"first plan of the sample: {first:.1f} s ({j['summary']['teachers_placed']} teachers placed, {j['summary']['clusters']} clusters)")
        rounds = []
        for _ in range(args.rounds):
            s1, s2 = two_schools_sharing_a_cluster(c, plan_id)
            t = time.perf_counter()
            r = c.post(
                f"/api/plans/{plan_id}/revise", json={"edits": [{"action": "apart", "school_id": s1, "other_school_id": s2, "note": "bench"}]}, headers=h
            )
            new = r.json()["plan_id"]
            j = wait_for(c, new)
            rounds.append(time.perf_counter() - t)
            assert j["status"] == "done" and j["valid"], j
            diff, diff_s = _timed(c.get, f"/api/plans/{plan_id}/diff/{new}")
            z, zip_s = _timed(c.get, f"/api/plans/{new}/download")
            d = diff.json()
            print(
                f"round: apart {s1} {s2} -> version {new} in {rounds[-1]:.1f} s (job {j['seconds']} s); "
                f"{len(d['moved'])} teacher(s) moved; diff {diff_s:.2f} s; zip {len(z.content) / 1e6:.1f} MB in {zip_s:.2f} s"
            )
            plan_id = new
        print(f"edit-and-re-plan round: median {statistics.median(rounds):.1f} s over {len(rounds)} round(s)")


if __name__ == "__main__":
    main()
