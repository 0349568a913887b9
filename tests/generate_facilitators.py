"""Generated facilitators for samples and benchmarks (not real people).

In the field study (000) every cluster had a facilitator; in Mansehra all
were Teacher Training Officers (TTOs), specialists in math, science or
English who supported primary and middle clusters. :func:`make_facilitators`
places that kind of team for a cluster plan: one facilitator per
``clusters_per_facilitator`` clusters of each gender (women for women's
clusters, men for men's and mixed ones), based at schools that can host,
chosen greedily so that each takes as many clusters within a working day's
reach as it can (ten each), subjects in turn.
Deterministic for a seed. Every row has ``generated = true``.

Run ``python -m tests.generate_facilitators`` to write the bundled
sample's ``mansehra_facilitators.csv`` (plans the sample first).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_mapper.support.planning import cluster_table

SUBJECTS = ("math", "science", "english")
_FIRST = {
    "female": ["Ayesha", "Fatima", "Nasreen", "Rubina", "Samina", "Shazia", "Tahira", "Uzma", "Zainab", "Farzana", "Nighat", "Saima"],
    "male": ["Abdul", "Arshad", "Bilal", "Fazal", "Imran", "Khalid", "Naveed", "Qaiser", "Sajid", "Tariq", "Waqas", "Zahid"],
}
_LAST = ["Khan", "Shah", "Awan", "Swati", "Tanoli", "Qureshi", "Abbasi", "Jadoon", "Mir", "Butt"]


def place_bases(rt: np.ndarray, count: int, cap: int) -> np.ndarray:
    """Where to base ``count`` facilitators: greedily, the base that takes the most clusters not yet taken.

    Each chosen base takes up to ``cap`` of the nearest clusters within a
    day's reach that no earlier base took; ties go to the least travel.
    Deterministic.

    Parameters
    ----------
    rt : numpy.ndarray, shape (B, C)
        Round-trip minutes from each candidate base to each venue, ``inf``
        where out of a day's reach.
    count, cap : int
        Facilitators to place, clusters each takes.

    Returns
    -------
    numpy.ndarray of int
        The chosen candidate base of each facilitator.
    """
    free = np.ones(rt.shape[1], dtype=bool)
    out = []
    for _ in range(count):
        best, best_key, best_take = -1, None, None
        for b in range(rt.shape[0]):
            cand = np.flatnonzero(free & np.isfinite(rt[b]))
            take = cand[np.argsort(rt[b, cand], kind="stable")][:cap]
            key = (-len(take), float(rt[b, take].sum()) if len(take) else 0.0, b)
            if best_key is None or key < best_key:
                best, best_key, best_take = b, key, take
        out.append(best)
        free[best_take] = False
    return np.array(out, dtype=int)


def make_facilitators(
    clusters: pd.DataFrame,
    assignments: pd.DataFrame,
    schools,
    minutes: np.ndarray,
    point_index: dict[str, int],
    *,
    clusters_per_facilitator: int = 10,
    max_clusters: int | str = 20,
    days_per_month: int = 16,
    working_day_minutes: float = 480.0,
    meeting_minutes: float = 180.0,
    travel_mode: str = "walk",
    kind: str = "TTO",
    with_district: bool = False,
    seed: int = 2026,
    id_prefix: str = "F",
) -> pd.DataFrame:
    """A generated facilitators table for a cluster plan (the columns of a facilitators file).

    One facilitator per ``clusters_per_facilitator`` clusters of each gender
    and district (women for women's clusters, men for the others), based at
    host schools chosen by :func:`place_bases` with ``clusters_per_facilitator``
    clusters each, then given ``max_clusters`` (some slack).

    Parameters
    ----------
    clusters, assignments : pandas.DataFrame
        The plan's cluster table and assignments.
    schools : geopandas.GeoDataFrame
        The plan's schools (bases are host schools of the clusters' districts).
    minutes : numpy.ndarray
        Travel minutes between points in ``travel_mode``.
    point_index : dict of str to int
        Position of each school id in ``minutes``.
    clusters_per_facilitator : int
        One facilitator per this many clusters (rounded up).
    max_clusters, days_per_month : int
        Capacity written for each facilitator (``""``: no limit).
    working_day_minutes, meeting_minutes : float
        A day's reach: bases whose round trip and a meeting fit.
    travel_mode, kind : str
        Written to the file; ``kind`` (TTO) goes into the generated name.
    with_district : bool
        Fill the ``district`` column.
    seed : int
    """
    rng = np.random.default_rng(seed)
    ct = cluster_table(clusters, assignments)
    hosts = schools[schools["can_host"].astype(bool)]
    rows = []
    n = 0
    for district in sorted(ct["district"].unique()):
        for gender in ("female", "male"):
            part = ct[(ct["district"] == district) & ((ct["need_gender"] == "female") == (gender == "female"))]
            if part.empty:
                continue
            count = max(1, math.ceil(len(part) / clusters_per_facilitator))
            h = hosts[hosts["district"] == district]
            own = ["girls", "mixed"] if gender == "female" else ["boys", "mixed"]
            if h["gender"].isin(own).any():  # women based at girls' or mixed schools, men at boys' or mixed
                h = h[h["gender"].isin(own)]
            hb = np.array([point_index[s] for s in h["school_id"]], dtype=int)
            vc = np.array([point_index[v] for v in part["venue_school_id"]], dtype=int)
            rt = minutes[np.ix_(hb, vc)] + minutes[np.ix_(vc, hb)].T
            rt[rt + meeting_minutes > working_day_minutes] = np.inf
            for j in place_bases(rt, count, clusters_per_facilitator):
                n += 1
                first = _FIRST[gender][int(rng.integers(len(_FIRST[gender])))]
                rows.append(
                    {
                        "facilitator_id": f"{id_prefix}{n:03d}",
                        "name": f"{first} {_LAST[int(rng.integers(len(_LAST)))]} ({kind}, generated)",
                        "gender": gender,
                        "base_school_id": h["school_id"].iat[j],
                        "latitude": "",
                        "longitude": "",
                        "levels": "primary;middle;high",
                        "subjects": SUBJECTS[n % 3],
                        "max_clusters": max_clusters,
                        "max_teachers": "",
                        "days_per_month": days_per_month,
                        "district": district if with_district else "",
                        "travel_mode": travel_mode,
                        "generated": "true",
                    }
                )
    return pd.DataFrame(rows)


def facilitators_for_plan(plan, **kwargs) -> pd.DataFrame:
    """:func:`make_facilitators` for a fresh plan, on its own travel source (walking by default)."""
    from cluster_mapper.support.planning import SupportSource
    from cluster_mapper.support.travel import points_frame, support_travel

    src = SupportSource.from_plan(plan)
    mode = kwargs.get("travel_mode", "walk")
    hosts = src.schools[src.schools["can_host"].astype(bool)]
    pts = points_frame(
        src.schools, list(dict.fromkeys([*plan.clusters["venue_school_id"], *hosts["school_id"]])), pd.DataFrame(columns=["facilitator_id", "base_school_id"])
    )
    tr = support_travel(pts, [mode], src.policy.travel, src.travel_spec, network=src.network, matrix_pairs=src.matrix_pairs, schools=src.schools)
    return make_facilitators(plan.clusters, plan.teachers, src.schools, tr.minutes[mode], tr.index(), **kwargs)


def main(argv: list[str] | None = None) -> None:
    """Write the bundled sample's facilitators file."""
    from cluster_mapper import Scenario, plan
    from cluster_mapper.sample import sample_paths

    ap = argparse.ArgumentParser(description="Write generated facilitators (TTOs) for the bundled Mansehra sample.")
    ap.add_argument("--out", type=Path, default=None, help="default: beside the sample's schools file")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    files = sample_paths()
    p = plan(Scenario.sample())
    fac = facilitators_for_plan(p, seed=args.seed)
    out = args.out or Path(files["schools"]).with_name("mansehra_facilitators.csv")
    fac.to_csv(out, index=False)
    print(f"{len(fac)} generated facilitators written to {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
