"""Small support problems built from tables, and an exact solution by enumeration.

Points lie on a plane measured in minutes (travel = straight distance in
minutes, a metric), so every case is easy to reason about by hand.
"""

from __future__ import annotations

import math
from itertools import pairwise, permutations, product

import numpy as np
import pandas as pd

from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.facilitators import FACILITATOR_COLUMNS
from cluster_mapper.support.model import SupportProblem
from cluster_mapper.support.planning import (
    build_problem,
    cluster_table,
    eligibility_rules,
)
from cluster_mapper.support.travel import SupportTravel, base_point


def make_case(clusters: list[dict], facilitators: list[dict], sp: SupportPolicy) -> tuple[SupportProblem, pd.DataFrame, pd.DataFrame, dict]:
    """A support problem from plain dicts.

    clusters: ``id, x, y`` (minutes), optional ``genders`` (default female),
    ``levels`` (primary), ``subjects``, ``n`` (teachers, 8), ``district`` (D).
    facilitators: ``id, x, y``, optional ``gender`` (female), ``levels``
    (primary), ``subjects``, ``days`` (20), ``max_clusters``/``max_teachers``
    (None), ``district`` ("").
    """
    cl_rows, as_rows, pts = [], [], []
    for c in clusters:
        genders = c.get("genders", ("female",))
        levels = c.get("levels", ("primary",))
        n = c.get("n", 8)
        venue = f"V{c['id']}"
        cl_rows.append(
            {
                "cluster_id": c["id"],
                "district": c.get("district", "D"),
                "gender_group": genders[0] if len(genders) == 1 else "mixed",
                "level_group": "primary" if set(levels) == {"primary"} else "middle",
                "venue_school_id": venue,
                "n_teachers": n,
            }
        )
        subjects = list(c.get("subjects", ())) + [""] * n
        for i in range(n):
            as_rows.append(
                {
                    "cluster_id": c["id"],
                    "status": "placed",
                    "gender": genders[i % len(genders)],
                    "level": levels[i % len(levels)],
                    "subject": subjects[i],
                    "role": "teacher",
                    "teacher_id": f"{c['id']}-{i}",
                }
            )
        pts.append((venue, venue, c["x"], c["y"]))
    frows = []
    for k, f in enumerate(facilitators):
        frows.append(
            {
                "facilitator_id": f["id"],
                "name": f["id"],
                "gender": f.get("gender", "female"),
                "base_school_id": "",
                "latitude": float(f["y"]),
                "longitude": float(f["x"]),
                "levels": tuple(f.get("levels", ("primary",))),
                "subjects": tuple(f.get("subjects", ())),
                "max_clusters": f.get("max_clusters"),
                "max_teachers": f.get("max_teachers"),
                "days_per_month": f.get("days", 20),
                "district": f.get("district", ""),
                "travel_mode": "",
                "_row": k + 2,
            }
        )
    fac = pd.DataFrame(frows, columns=FACILITATOR_COLUMNS)
    for col in ("max_clusters", "max_teachers"):
        fac[col] = pd.Series([r[col] for r in frows], dtype=object)
    for f in fac.itertuples(index=False):
        pts.append((base_point(f), "", f.longitude, f.latitude))
    points = pd.DataFrame([(p, s, y, x) for p, s, x, y in pts], columns=["point_id", "school_id", "latitude", "longitude"])
    xy = points[["longitude", "latitude"]].to_numpy(float)
    M = np.sqrt(((xy[:, None, :] - xy[None]) ** 2).sum(-1))
    M[~np.isfinite(M)] = np.inf
    travel = SupportTravel(points, {"walk": M}, "straight_line")
    ct = cluster_table(pd.DataFrame(cl_rows), pd.DataFrame(as_rows))
    rules = eligibility_rules(ct, fac, sp)
    return build_problem(ct, fac, travel, sp, "walk", rules), ct, fac, rules


def _day_cost(p: SupportProblem, f: int, venues: list[int]) -> float:
    """Least travel of one day of ``f`` through ``venues``; inf if the day is too long."""
    B = p.between[p.mode[f]]
    best = math.inf
    for perm in permutations(venues):
        t = p.to_venue[f, perm[0]] + sum(B[a, b] for a, b in pairwise(perm)) + p.from_venue[f, perm[-1]]
        best = min(best, t)
    return best if best + len(venues) * p.meeting_minutes <= p.working_day_minutes + 1e-6 else math.inf


def best_month(p: SupportProblem, f: int, cs: list[int]) -> float:
    """Least travel of a month of ``f`` holding the meetings of clusters ``cs`` (inf if impossible), by enumeration."""
    meetings = [c for c in cs for _ in range(p.meetings_per_month)]
    if not meetings:
        return 0.0
    best = math.inf

    def rec(i: int, days: list[list[int]]):
        nonlocal best
        if i == len(meetings):
            total = 0.0
            for d in days:
                t = _day_cost(p, f, d)
                if not math.isfinite(t):
                    return
                total += t
            best = min(best, total)
            return
        c = meetings[i]
        for d in days:  # an existing day (never twice the same cluster)
            if c not in d:
                d.append(c)
                rec(i + 1, days)
                d.pop()
        if len(days) < p.days[f]:  # a new day (days are interchangeable: canonical order)
            days.append([c])
            rec(i + 1, days)
            days.pop()

    rec(0, [])
    return best


def exact(p: SupportProblem) -> tuple[int, float]:
    """The most clusters supported and the least travel for them, by enumerating every assignment."""
    F, C = p.n_facilitators, p.n_clusters
    reach = p.reach
    best = (-1, math.inf)
    for choice in product(range(-1, F), repeat=C):
        if any(f >= 0 and not reach[f, c] for c, f in enumerate(choice)):
            continue
        n = sum(f >= 0 for f in choice)
        if n < best[0]:
            continue
        total = 0.0
        for f in range(F):
            cs = [c for c in range(C) if choice[c] == f]
            if len(cs) > p.max_clusters[f] or p.n_teachers[cs].sum() > p.max_teachers[f]:
                total = math.inf
                break
            total += best_month(p, f, cs)
            if not math.isfinite(total):
                break
        if math.isfinite(total) and (n > best[0] or total < best[1]):
            best = (n, total)
    return best
