"""Shared fixtures and helpers for the review-layer tests (map, report, compare, browser).

Import the fixtures into a test module with
``from tests.review_fixtures import sample_plan, ...  # noqa: F401``.

:class:`HeadlessChromium` drives Debian's ``chromium`` over the DevTools
protocol on a pipe (``--remote-debugging-pipe``): no extra Python package and
no network port are needed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "schools"
XSS_NAMES = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"]


@pytest.fixture(scope="session")
def sample_plan(tmp_path_factory) -> Path:
    """The bundled Mansehra sample planned once (with map.html and report.html) for the whole session."""
    from cluster_mapper import Scenario, plan, write_plan

    out = tmp_path_factory.mktemp("review") / "plan_sample"
    write_plan(plan(Scenario.sample()), out)
    return out


@pytest.fixture(scope="session")
def xss_plan(tmp_path_factory) -> Path:
    """A small straight-line plan whose schools carry HTML/script in their names and ids."""
    from cluster_mapper import Scenario, TravelSource, plan, write_plan

    d = tmp_path_factory.mktemp("xss")
    rows, teachers = [], []
    names = XSS_NAMES + ["Ali & Sons <b>School</b>", "GPS \"Quote\" 'Apos'"]
    for i in range(8):
        sid = f"S{i:02d}" if i else "S<i>00</i>"
        rows.append(
            {
                "school_id": sid,
                "name": names[i % len(names)],
                "district": "D<u>1</u>" if i < 8 else "D2",
                "latitude": 34.3 + 0.004 * (i % 4),
                "longitude": 73.2 + 0.004 * (i // 4),
                "gender": "mixed",
                "can_host": "true",
            }
        )
        for j in range(4):
            teachers.append(
                {"teacher_id": f"T{i}-{j}", "school_id": sid, "gender": "female" if j % 2 else "male", "level": "primary", "subject": "math", "role": "teacher"}
            )
    # one lonely school far away: its teachers cannot be placed
    rows.append(
        {
            "school_id": "FAR",
            "name": "<script>alert(3)</script>Far",
            "district": "D<u>1</u>",
            "latitude": 35.5,
            "longitude": 74.5,
            "gender": "girls",
            "can_host": "true",
        }
    )
    teachers += [{"teacher_id": f"TF{j}", "school_id": "FAR", "gender": "female", "level": "primary", "subject": "math", "role": "teacher"} for j in range(2)]
    pd.DataFrame(rows).to_csv(d / "schools.csv", index=False)
    pd.DataFrame(teachers).to_csv(d / "teachers.csv", index=False)
    (d / "policy.toml").write_text('min_teachers = 4\nmax_teachers = 12\ngender = "mixed"\nlevels = "mixed"\nmax_travel_minutes = 60\n')
    result = plan(Scenario(d / "schools.csv", TravelSource(straight_line=True), d / "teachers.csv", d / "policy.toml"))
    out = d / "plan"
    write_plan(result, out)
    return out


def make_province_plan(out: Path, n_schools: int = 10_000, n_clusters: int = 1_000, seed: int = 7) -> Path:
    """A province-sized plan folder (random, not solved) to measure the map: n_schools, n_clusters of 5 schools."""
    import geopandas as gpd
    from shapely.geometry import LineString, MultiPoint, Point

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    lon = 71.0 + rng.random(n_schools) * 4.0
    lat = 33.0 + rng.random(n_schools) * 3.0
    sids = [f"P-S{i:05d}" for i in range(n_schools)]
    # clusters: venue + its 4 nearest schools not yet used
    from scipy.spatial import cKDTree

    tree = cKDTree(np.c_[lon, lat])
    used = np.zeros(n_schools, bool)
    feats, clusters, assign = [], [], []
    order = rng.permutation(n_schools)
    member_of = {}
    c = 0
    for v in order:
        if c >= n_clusters:
            break
        if used[v]:
            continue
        _, nb = tree.query([lon[v], lat[v]], k=12)
        mem = [v] + [j for j in nb if j != v and not used[j]][:4]
        if len(mem) < 5:
            continue
        used[mem] = True
        cid = f"P-{['FP', 'MP', 'FM', 'MM'][c % 4]}-{c:04d}"
        g, lvl = (["female", "male"][c % 2], ["primary", "middle"][(c // 2) % 2])
        clusters.append(
            {
                "cluster_id": cid,
                "district": f"District {c % 12}",
                "gender_group": g,
                "level_group": lvl,
                "venue_school_id": sids[v],
                "n_teachers": 10,
                "n_schools": 5,
                "max_travel_minutes": 40.0,
                "teacher_minutes": 200.0,
            }
        )
        for j in mem:
            member_of[j] = (cid, sids[v], g, lvl)
        base = {
            "cluster_id": cid,
            "district": f"District {c % 12}",
            "gender_group": g,
            "level_group": lvl,
            "venue_school_id": sids[v],
            "n_teachers": 10,
            "n_schools": 5,
        }
        feats.append({**base, "kind": "venue", "school_id": sids[v], "name": f"School {v}", "geometry": Point(lon[v], lat[v])})
        for j in mem[1:]:
            feats.append(
                {
                    **base,
                    "kind": "member_line",
                    "school_id": sids[j],
                    "name": f"School {j}",
                    "travel_minutes": 20.0,
                    "geometry": LineString([(lon[j], lat[j]), (lon[v], lat[v])]),
                }
            )
        feats.append({**base, "kind": "hull", "geometry": MultiPoint([(lon[j], lat[j]) for j in mem]).convex_hull})
        c += 1
    for i in range(n_schools):
        feats.append(
            {
                "kind": "school",
                "school_id": sids[i],
                "name": f"GPS Village {i} (Boys)",
                "district": f"District {i % 12}",
                "school_gender": "boys",
                "can_host": True,
                "cluster_id": member_of.get(i, ("",))[0],
                "geometry": Point(lon[i], lat[i]),
            }
        )
        if i in member_of:
            cid, vid, g, lvl = member_of[i]
            for k in range(2):
                assign.append(
                    {
                        "teacher_id": f"P-T{i}-{k}",
                        "school_id": sids[i],
                        "unit_id": sids[i],
                        "district": f"District {i % 12}",
                        "cluster_id": cid,
                        "venue_school_id": vid,
                        "travel_minutes": "0" if sids[i] == vid else "20.0",
                        "status": "placed",
                        "reason": "",
                        "suggestion": "",
                        "gender": g,
                        "level": lvl,
                        "role": "teacher",
                        "n_teachers": "1",
                    }
                )
        elif i % 5 == 0:
            assign.append(
                {
                    "teacher_id": f"P-T{i}-0",
                    "school_id": sids[i],
                    "unit_id": sids[i],
                    "district": f"District {i % 12}",
                    "cluster_id": "",
                    "venue_school_id": "",
                    "travel_minutes": "",
                    "status": "not_placed",
                    "reason": "only 2 female primary teachers within 60 minutes of any girls' school",
                    "suggestion": "max_travel_minutes = 90",
                    "gender": "female",
                    "level": "primary",
                    "role": "teacher",
                    "n_teachers": "2",
                }
            )
    gpd.GeoDataFrame(feats, geometry="geometry", crs="EPSG:4326").to_file(out / "clusters.geojson", driver="GeoJSON", engine="pyogrio")
    from cluster_mapper._files import write_csv

    write_csv(pd.DataFrame(assign), out / "assignments.csv")
    write_csv(pd.DataFrame(clusters), out / "clusters.csv")
    a = pd.DataFrame(assign)
    summary = {
        "status": "feasible",
        "objective": 1.0,
        "lower_bound": 1.0,
        "gap": 0.0,
        "travel_source": "straight_line",
        "travel": {"source": "straight_line"},
        "clusters": len(clusters),
        "teachers_total": int(a["n_teachers"].astype(int).sum()),
        "teachers_placed": int(a.loc[a.status == "placed", "n_teachers"].astype(int).sum()),
        "teachers_not_placed": int(a.loc[a.status != "placed", "n_teachers"].astype(int).sum()),
        "head_teachers_left_out": 0,
        "mean_travel_minutes": 16.0,
        "max_travel_minutes": 20.0,
        "policy": {"travel_mode": "walk"},
        "inputs": {},
        "objective_kind": ["teacher_minutes"],
    }
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return out


# --------------------------------------------------------------------------- headless Chromium


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


class HeadlessChromium:
    """Headless Chromium on the DevTools protocol over a pipe, with the network blocked.

    Every host resolves to nothing (``--host-resolver-rules``) and all traffic
    goes to a proxy that does not exist, so a request can only reach a local
    file; every request the page makes is recorded anyway.
    """

    def __init__(self, user_data_dir: Path, width: int = 1280, height: int = 900):
        exe = chromium_path()
        if exe is None:
            raise RuntimeError("chromium is not installed")
        r1, w1 = os.pipe()  # we write commands -> chromium fd 3
        r2, w2 = os.pipe()  # chromium fd 4 -> we read
        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--metrics-recording-only",
            "--mute-audio",
            "--allow-file-access-from-files",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={user_data_dir}",
            f"--window-size={width},{height}",
            "--remote-debugging-pipe",
            "about:blank",
        ]

        self._log = open(Path(user_data_dir) / "chromium.log", "wb")

        def _fds():
            a, b = os.dup(r1), os.dup(w2)  # high numbers first, so 3 and 4 cannot clash
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log, pass_fds=(), preexec_fn=_fds, close_fds=False)
        os.close(r1)
        os.close(w2)
        self._w = os.fdopen(w1, "wb", buffering=0)
        self._r = os.fdopen(r2, "rb", buffering=0)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session = None
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = self._r.read(1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, timeout: float = 60.0, **params) -> dict:
        self._id += 1
        mid = self._id
        msg = {"id": mid, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        self._w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method: str, timeout: float = 60.0) -> dict:
        deadline = time.time() + timeout
        for e in self.events:
            if e["method"] == method:
                return e
        while True:
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return m

    def open(self, url: str, timeout: float = 120.0) -> float:
        """Navigate and wait for the load event; returns seconds until it fired."""
        self.events.clear()
        t0 = time.time()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", timeout=timeout)
        return time.time() - t0

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def drain(self, seconds: float = 0.5) -> None:
        """Collect events that arrive during ``seconds``."""
        deadline = time.time() + seconds
        try:
            while True:
                m = self._read_message(deadline)
                if "method" in m:
                    self.events.append(m)
        except TimeoutError:
            pass

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []))[:500])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "")[:500] + " " + p["entry"].get("url", ""))
            elif e["method"] == "Page.javascriptDialogOpening":
                out.append("a dialog opened: " + p.get("message", ""))
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self._w, self._r):
            try:
                f.close()
            except OSError:
                pass


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless Chromium for the session; the test is skipped when chromium is not installed."""
    if chromium_path() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the browser test needs it")
    b = HeadlessChromium(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()
