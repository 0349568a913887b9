"""Memory guard: refuse a model that would not fit, before building it.

The cluster model has one binary variable and about one linking constraint
per allowed member/venue pair, so its memory grows with the number of pairs
(units x venues within the travel limit), not with the number of teachers.
Measured with OR-Tools 9 on this model (``ClusterModel``, 100k-400k pairs):
building the ``pywraplp`` model costs about 1 kB per pair, and SCIP's peak
while solving (presolve, LP, branch and bound) about 13 kB per pair. The
estimate below uses 16 kB per pair, 4 kB per unit and a fixed 200 MB for the
Python process, solver libraries and the travel table.

When the estimate exceeds :data:`MAX_FRACTION` of the memory available
(``MemAvailable`` of ``/proc/meminfo``, else free physical pages from
``os.sysconf``, capped by a cgroup v2/v1 memory limit when the process runs
in a container), :func:`check_model_size` raises an
:class:`~cluster_mapper.errors.InputError` that tells the user what to do,
instead of letting the machine swap or the kernel kill the process.
"""

from __future__ import annotations

import os
from pathlib import Path

from cluster_mapper.errors import InputError, InputProblem

#: Estimated peak bytes per allowed member/venue pair while solving.
BYTES_PER_PAIR = 16_000
#: Estimated bytes per unit (rows, bookkeeping).
BYTES_PER_UNIT = 4_000
#: Fixed overhead: interpreter, solver libraries, inputs.
BASE_BYTES = 200_000_000
#: Refuse when the estimate is above this share of the available memory.
MAX_FRACTION = 0.70


def estimate_model_bytes(n_units: int, n_pairs: int) -> int:
    """Estimated peak memory (bytes) of building and solving one cluster model."""
    return int(BASE_BYTES + BYTES_PER_UNIT * max(0, n_units) + BYTES_PER_PAIR * max(0, n_pairs))


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            limit = int(text)
            usage_path = Path(path).with_name("memory.current" if path.endswith("memory.max") else "memory.usage_in_bytes")
            try:
                used = int(usage_path.read_text().strip())
            except (OSError, ValueError):
                used = 0
            return max(0, limit - used)
    return None


def available_memory_bytes() -> int | None:
    """Memory this process can still use, in bytes; None when it cannot be told."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            pages = os.sysconf("SC_AVPHYS_PAGES") if "SC_AVPHYS_PAGES" in os.sysconf_names else os.sysconf("SC_PHYS_PAGES")
            if page > 0 and pages > 0:
                avail = page * pages
        except (ValueError, OSError, AttributeError):
            avail = None
    cg = _cgroup_limit()
    if cg is not None:
        avail = cg if avail is None else min(avail, cg)
    return avail


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


#: The largest complete model (all pairs) a group without a travel limit gets, whatever the machine: above it the
#: model is built on sparse candidates. A fixed size, not the free memory, so the same inputs take the same path
#: (and give the same plan) on any machine that has the memory; a smaller one takes the sparse path and its plan says so.
COMPLETE_MODEL_MAX_BYTES = 8_000_000_000


def complete_model_suits(n_units: int, n_pairs: int, available_bytes: int | None = None) -> bool:
    """Whether a group without a travel limit is planned on all its pairs: its model under :data:`COMPLETE_MODEL_MAX_BYTES`, and fitting in memory."""
    return estimate_model_bytes(n_units, n_pairs) <= COMPLETE_MODEL_MAX_BYTES and model_fits(n_units, n_pairs, available_bytes)


def model_fits(n_units: int, n_pairs: int, available_bytes: int | None = None) -> bool:
    """Whether a model of ``n_units`` units and ``n_pairs`` pairs fits in memory (see :func:`check_model_size`)."""
    avail = available_memory_bytes() if available_bytes is None else int(available_bytes)
    return avail is None or estimate_model_bytes(n_units, n_pairs) <= MAX_FRACTION * avail


def check_model_size(n_units: int, n_pairs: int, available_bytes: int | None = None, *, where: str = "") -> int:
    """Refuse a model too large for this machine, before building it.

    Parameters
    ----------
    n_units : int
        Units (school groups) in the model.
    n_pairs : int
        Allowed member/venue pairs (the model's variables).
    available_bytes : int, optional
        Memory available; measured from the machine when not given.
    where : str
        What is being planned (e.g. the district), for the message.

    Returns
    -------
    int
        The estimate in bytes (when it fits).

    Raises
    ------
    InputError
        When the estimate exceeds 70% of the available memory.
    """
    need = estimate_model_bytes(n_units, n_pairs)
    avail = available_memory_bytes() if available_bytes is None else int(available_bytes)
    if model_fits(n_units, n_pairs, avail):
        return need
    assert avail is not None
    fits = max(0, int((MAX_FRACTION * avail - BASE_BYTES - BYTES_PER_UNIT * n_units) // BYTES_PER_PAIR))
    label = f" for {where}" if where else ""
    raise InputError(
        [
            InputProblem(
                "<problem size>",
                f"the cluster model{label} has {n_units:,} school groups and {n_pairs:,} school-to-venue pairs within the travel limit; "
                f"it would need about {_gb(need)} of memory, but only {_gb(avail)} is available "
                f"(at most {int(MAX_FRACTION * 100)}% is used, so about {fits:,} pairs fit).",
                "plan fewer districts at once (split the schools file by district, and do not set cross_district = true), "
                "or set a shorter max_travel_minutes in the policy so fewer venues are within reach, or use a machine with more memory.",
                None,
                "max_travel_minutes",
            )
        ]
    )


__all__ = [
    "check_model_size",
    "complete_model_suits",
    "COMPLETE_MODEL_MAX_BYTES",
    "model_fits",
    "estimate_model_bytes",
    "available_memory_bytes",
    "BYTES_PER_PAIR",
    "MAX_FRACTION",
]
