"""Checkpoints of a programme run: each finished region saved as JSON in ``OUT/.programme``, checked before use.

A checkpoint is plain JSON, never pickle, so reading one cannot run code.
Only files named ``<region>-<hash>.json`` are opened; any other file in the
folder (a planted ``.pkl``, say) is never read. A checkpoint is used only
when its format, its region and the fingerprint of everything the region's
plan depends on (:meth:`~cluster_mapper.programme.tasks.DistrictTask.fingerprint`)
all match the task about to run, and only then are its tables built.
Numbers are written with Python's shortest round-tripping float repr, so a
resumed region gives exactly the plan it gave when it was planned.
Writing the plan replaces ``OUT`` and so removes the checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from cluster_mapper._files import write_atomic
from cluster_mapper.folder import PROGRAMME_DIR, PROGRAMME_README
from cluster_mapper.programme.tasks import DistrictResult, DistrictTask
from cluster_mapper.travel.times import TravelTimes

log = logging.getLogger(__name__)

CHECKPOINT_DIR = PROGRAMME_DIR
FORMAT = "cluster_mapper programme checkpoint 1"


def slug(key: str) -> str:
    """A region's name as a file-name part (letters, digits, ``._-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_") or "region"


def checkpoint_path(folder: Path, key: str) -> Path:
    """Where the region ``key`` is checkpointed in ``folder``."""
    return folder / f"{slug(key)}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.json"


def _plain(value: Any) -> Any:
    """A cell as JSON: numpy scalars as Python numbers; NaN and infinities as strings (strict JSON)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def _unplain(value: Any) -> Any:
    return float(value["float"]) if isinstance(value, dict) else value


def frame_to_json(df: pd.DataFrame) -> dict:
    """A table as JSON: columns, their dtypes and values (exact for floats)."""
    return {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(df[c].dtype) for c in df.columns],
        "data": [[_plain(v) for v in df[c].tolist()] for c in df.columns],
    }


def frame_from_json(d: dict) -> pd.DataFrame:
    """The table written by :func:`frame_to_json`."""
    cols = {c: pd.Series([_unplain(v) for v in vals], dtype=dt) for c, dt, vals in zip(d["columns"], d["dtypes"], d["data"], strict=True)}
    return pd.DataFrame(cols, columns=d["columns"])


def result_to_json(res: DistrictResult) -> dict:
    """A region's result as a JSON document (what :func:`save_checkpoint` writes)."""
    t = res.travel
    return {
        "format": FORMAT,
        "key": res.key,
        "fingerprint": res.fingerprint,
        "units": frame_to_json(res.units),
        "figures": {"objective": _plain(res.objective), "lower_bound": _plain(res.lower_bound), "seconds": res.seconds},
        "status": res.status,
        "placement_proven": bool(res.placement_proven),
        "notes": list(res.notes),
        "worker": res.worker,
        "travel": {
            "pairs": frame_to_json(t.pairs),
            "source": t.source,
            "cutoff_minutes": t.cutoff_minutes,
            "snaps": frame_to_json(t.snaps),
            "notes": list(t.notes),
        },
    }


def result_from_json(doc: dict) -> DistrictResult:
    """The :class:`DistrictResult` of a document written by :func:`result_to_json`."""
    t, f = doc["travel"], doc["figures"]
    travel = TravelTimes(frame_from_json(t["pairs"]), t["source"], t["cutoff_minutes"], frame_from_json(t["snaps"]), list(t["notes"]))
    return DistrictResult(
        key=doc["key"],
        units=frame_from_json(doc["units"]),
        objective=float(_unplain(f["objective"])),
        lower_bound=float(_unplain(f["lower_bound"])),
        status=doc["status"],
        placement_proven=bool(doc["placement_proven"]),
        notes=list(doc["notes"]),
        travel=travel,
        seconds=float(f["seconds"]),
        worker=doc["worker"],
        fingerprint=doc["fingerprint"],
    )


def load_checkpoint(folder: Path, task: DistrictTask, fingerprint: str) -> DistrictResult | None:
    """A region's saved result when the file is a checkpoint of this very task (else None: plan it again).

    The JSON is parsed (data only), then its format, region and fingerprint
    are compared with the task's; only a match builds the result.
    """
    path = checkpoint_path(folder, task.key)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # partial or foreign file: plan the region again
        log.warning("ignoring unreadable checkpoint %s (%s)", path, exc)
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != task.key or doc.get("fingerprint") != fingerprint:
        log.info("checkpoint of %s does not match its inputs; planning it again", task.key)
        return None
    try:
        return result_from_json(doc)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("ignoring malformed checkpoint %s (%s)", path, exc)
        return None


def save_checkpoint(folder: Path, res: DistrictResult) -> None:
    """Save a finished region atomically (a half-written file is never read as valid)."""
    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.txt"
    if not readme.exists():
        readme.write_text(PROGRAMME_README, encoding="utf-8")
    write_atomic(checkpoint_path(folder, res.key), json.dumps(result_to_json(res), allow_nan=False))


__all__ = ["CHECKPOINT_DIR", "load_checkpoint", "save_checkpoint", "checkpoint_path", "result_to_json", "result_from_json"]
