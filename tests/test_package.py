"""The package as a user gets it: a wheel built from this checkout plans the sample from an empty folder.

The wheel is built with no network (``pip wheel --no-build-isolation``), so the
setuptools that ``pyproject.toml``'s ``build-system.requires`` asks for must be
importable here; without it the wheel test is skipped with the reason.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from cluster_mapper.sample import SAMPLE_FILES, sample_dir, sample_paths

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "cluster_mapper"
#: What a wheel is built from (copied, so that no build/ or stale file of the checkout gets in).
BUILD_INPUTS = ["pyproject.toml", "README.md", "cluster_mapper", "data/schools", "data/pakistan"]


def test_package_does_not_use_the_generators():
    """The generators (tests/fixtures/synthetic.py) are for tests and benchmarks, not the installed package."""
    users = [str(f.relative_to(REPO)) for f in sorted(PACKAGE.rglob("*.py")) if "synthetic" in f.read_text(encoding="utf-8")]
    assert not users, f"package modules mention the test generators: {users}"
    assert not (PACKAGE / "synthetic.py").exists()


def test_sample_paths_are_real_files():
    from cluster_mapper import Scenario

    paths = sample_paths()
    assert set(paths) == set(SAMPLE_FILES)
    for key, p in paths.items():
        assert p.is_absolute() and p.is_file(), (key, p)
        assert p.parent == sample_dir()
    sample = Scenario.sample()
    assert (Path(sample.schools), Path(sample.teachers), Path(sample.policy)) == (paths["schools"], paths["teachers"], paths["policy"])
    assert Path(sample.travel.network_path) == paths["network"]
    assert (sample_dir() / "README.md").is_file(), "the sample's README (what is real, attribution) is next to it"


def _build_requirement() -> tuple[str, int]:
    requires = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    spec = next(r for r in requires if r.startswith("setuptools"))
    m = re.fullmatch(r"setuptools\s*>=\s*(\d+)(\.\d+)*", spec.strip())
    assert m, f"unexpected build requirement {spec!r}"
    return spec, int(m.group(1))


def _run(args: list[str], cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    res = subprocess.run(args, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(args)} exited {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of this checkout, offline."""
    spec, major = _build_requirement()
    try:
        have = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        have = "none"
    if have == "none" or int(have.split(".")[0]) < major:
        pytest.skip(f"building the wheel offline needs {spec} importable (pyproject build-system.requires); found {have}")
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(src), "-w", str(out)], src, env)
    (whl,) = out.glob("cluster_mapper-*.whl")
    return whl


def test_wheel_holds_the_sample_and_map_assets_not_the_generators(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in [*SAMPLE_FILES.values(), "README.md"]:
        if name.endswith(".graphml"):
            assert f"cluster_mapper/sample_data/{name}" in names or f"cluster_mapper/sample_data/{name}.gz" in names
        else:
            assert f"cluster_mapper/sample_data/{name}" in names, name
    assert {"cluster_mapper/assets/map.js", "cluster_mapper/assets/map.css", "cluster_mapper/__main__.py"} <= names
    # the workspace's database migrations (Alembic loads them by path from the installed package)
    migrations = "cluster_mapper/workspace/migrations/"
    assert {migrations + f for f in ("env.py", "script.py.mako", "alembic.ini", "versions/v0001_initial.py", "versions/v0002_plan_closed.py")} <= names
    # the map's context: the district outlines with their README (attribution)
    assert {"cluster_mapper/context_data/kp_districts.geojson", "cluster_mapper/context_data/README.md"} <= names
    assert not [n for n in names if "synthetic" in n or n.startswith("tests/")]


def test_wheel_plans_the_sample_from_an_empty_folder(wheel, tmp_path):
    """pip install the wheel anywhere; `python -m cluster_mapper plan` then `validate` in an empty folder."""
    target = tmp_path / "site"
    env = dict(os.environ, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)], tmp_path, env)
    cwd = tmp_path / "empty"
    cwd.mkdir()
    # only the installed wheel: not this checkout (nor an editable install of it) nor a travel cache
    run_env = dict(os.environ, PYTHONPATH=str(target), PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1", CLUSTER_MAPPER_CACHE=str(tmp_path / "cache"))
    where = _run([sys.executable, "-c", "import cluster_mapper as c; print(c.__file__); print(c.Scenario.sample().policy)"], cwd, run_env).stdout.split()
    assert Path(where[0]).is_relative_to(target), where
    assert Path(where[1]).is_relative_to(target / "cluster_mapper" / "sample_data"), where

    _run([sys.executable, "-m", "cluster_mapper", "plan"], cwd, run_env)
    summary = cwd / "outputs" / "plan" / "summary.json"
    assert summary.is_file()
    s = json.loads(summary.read_text())
    assert s["travel_source"] == "network" and s["teachers_total"] == 2500
    res = _run([sys.executable, "-m", "cluster_mapper", "validate", "outputs/plan"], cwd, run_env)
    assert "valid" in res.stdout + res.stderr
    assert "no violations" in res.stdout + res.stderr
    assert sorted(p.name for p in cwd.iterdir()) == ["outputs"], "nothing but the plan is written in the working folder"
    assert "District boundary" in (cwd / "outputs" / "plan" / "map.html").read_text(encoding="utf-8"), "the installed map draws the district"
    # the workspace's database is made by the installed migrations (Alembic finds them in the package)
    ws = tmp_path / "workspace"
    res = _run(
        [sys.executable, "-m", "cluster_mapper", "serve", "--project-dir", str(ws), "--add-user", "amina"],
        cwd,
        run_env | {"CLUSTER_MAPPER_PASSWORD": "correct horse battery"},
    )
    assert "user amina (manager) added" in res.stdout
    check = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select version_num from alembic_version').fetchone()[0])"
    assert _run([sys.executable, "-c", check, str(ws / "workspace.db")], cwd, run_env).stdout.strip() == "0002"


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject lists packages by hand (the sample lives outside the package folder): a new subpackage must be added."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")}
    found |= {"cluster_mapper.assets"}  # data only
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
