"""Shared fixtures: small generated districts written as the files a user gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.synthetic import make_district


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``-n``), a module's tests run in one worker: its module fixtures (a planned sample) are made once.

    A test marked with its own ``xdist_group`` (the PostgreSQL tests, which share one database) keeps it.
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


REPO = Path(__file__).resolve().parents[1]


def write_district(tmp: Path, n_schools: int, seed: int, name: str = "Testdistrict", with_network: bool = False):
    """Write a generated district's schools and roster CSVs; returns (schools, teachers, district)."""
    d = make_district(n_schools, seed, name=name, with_network=with_network)
    schools = tmp / f"schools_{seed}.csv"
    teachers = tmp / f"teachers_{seed}.csv"
    d.schools.drop(columns="geometry").to_csv(schools, index=False)
    d.teachers.to_csv(teachers, index=False)
    return schools, teachers, d


def write_policy(tmp: Path, text: str, name: str = "policy.toml") -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
