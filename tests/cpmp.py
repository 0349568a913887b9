"""The public capacitated p-median instances in ``benchmarks/data/cpmp/``: one reader for tests and benchmarks.

Each file holds ``n p`` and then ``x y capacity demand`` per point; every
point is a client and a candidate median, the capacity is the same for every
point of a file (see that folder's README).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluster_mapper.model import ClusterProblem

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "cpmp"


@dataclass(frozen=True)
class CpmpInstance:
    """One instance: ``p`` medians over points ``xy`` with a common ``capacity`` and per-point ``demand``."""

    path: Path
    p: int
    xy: np.ndarray
    capacity: int
    demand: np.ndarray

    @property
    def n(self) -> int:
        return len(self.xy)

    def problem(self, pair_member: np.ndarray | None = None, pair_venue: np.ndarray | None = None, pair_minutes: np.ndarray | None = None) -> ClusterProblem:
        """The instance as a plain CPMP: exactly ``p`` clusters, capacity as ``max_teachers``, one trip per school.

        Without pairs the problem has none (for the sparse-candidate solver, which builds its own).
        """
        empty = np.zeros(0, dtype=int)
        return ClusterProblem(
            n_teachers=self.demand,
            pair_member=empty if pair_member is None else pair_member,
            pair_venue=empty if pair_venue is None else pair_venue,
            pair_minutes=np.zeros(0) if pair_minutes is None else pair_minutes,
            min_teachers=0,
            max_teachers=self.capacity,
            max_schools=self.n + 1,
            n_clusters=self.p,
            objective="school_trips",
        )


def clustered_instance(seed: int, n: int, p: int, *, towns: int, side: float, spread: float, tau: float = 0.8) -> CpmpInstance:
    """A generated instance in the way of Lorena & Senne's TSPLIB-based ones.

    ``n`` points around ``towns`` centres (uniform in a square of ``side``,
    normal spread ``spread``), integer demands 1-20, one capacity
    ``ceil(sum demand / (tau p))``.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, side, (towns, 2))
    xy = centres[rng.integers(towns, size=n)] + rng.normal(0, spread, (n, 2))
    dem = rng.integers(1, 21, n)
    return CpmpInstance(Path("<generated>"), p, xy, int(np.ceil(dem.sum() / (tau * p))), dem)


def find_file(data: Path, folder: str, name: str) -> Path:
    """The file of instance ``name`` in ``data/folder`` (``.txt``, ``.dat`` or no suffix; case ignored)."""
    for f in sorted((data / folder).iterdir()):
        if f.stem.lower() == name.lower() and f.suffix in (".txt", ".dat", ""):
            return f
    raise FileNotFoundError(f"no file for instance {name} in {data / folder}")


def read_cpmp(path: Path) -> CpmpInstance:
    """Read one instance file."""
    tokens = Path(path).read_text().split()
    n, p = int(tokens[0]), int(tokens[1])
    rows = np.array(tokens[2 : 2 + 4 * n], dtype=float).reshape(n, 4)
    capacity = rows[:, 2]
    if not np.all(capacity == capacity[0]):
        raise ValueError(f"{path}: capacities differ between points")
    return CpmpInstance(Path(path), p, rows[:, :2], int(capacity[0]), rows[:, 3].astype(np.int64))


__all__ = ["DATA", "CpmpInstance", "find_file", "read_cpmp"]
