"""The command line's face: help text intact, the version, a quick start."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cluster_mapper._version import __version__
from cluster_mapper.cli import app

COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_version_prints_the_installed_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cluster-mapper {__version__}"
    assert __version__ != "0+unknown"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_without_eaten_brackets(command):
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert " and )" not in result.output and "policy's  " not in result.output


def test_plan_help_keeps_the_policy_tables_named():
    result = CliRunner().invoke(app, ["plan", "--help"], terminal_width=100)
    assert "[columns.schools]" in result.output
    assert "[values.schools.*]" in result.output


def test_help_starts_without_the_solver_and_gis_stack():
    """`--help` must not import OR-Tools, geopandas or osmnx (they take seconds to load on an office laptop)."""
    code = "import sys, cluster_mapper.cli; print(sorted(m for m in ('ortools', 'geopandas', 'osmnx', 'folium', 'dask') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
