"""The bundled Mansehra sample (temporary: replaced by the package-data version)."""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).resolve().parents[1] / "data" / "schools"


def sample_files() -> dict[str, Path]:
    return {
        "schools": _DIR / "mansehra_schools.csv",
        "teachers": _DIR / "mansehra_teachers.csv",
        "network": _DIR / "mansehra_roads.graphml",
        "policy": _DIR / "policy.toml",
        "policy_mixed_levels": _DIR / "policy_mixed_levels.toml",
    }
