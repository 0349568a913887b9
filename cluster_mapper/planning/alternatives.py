"""What each school could join instead: the other clusters within the rules, with travel minutes (alternatives.csv, the map's popups, the review workbook)."""

from __future__ import annotations

import math

import pandas as pd

#: Alternatives kept per school group (the nearest first).
MAX_ALTERNATIVES = 5


ALTERNATIVE_COLUMNS = ["school_id", "unit_id", "cluster_id", "venue_school_id", "travel_minutes"]


def feasible_alternatives(plan) -> pd.DataFrame:
    """Other clusters each school group of a fresh plan could join within the rules, nearest first.

    A cluster is an alternative for a unit (a school's teachers of one
    cluster type) when it is of the same type and district (or region), its
    venue is within the travel limit (with the edits' travel corrections),
    and it has room for the unit's teachers and, unless the school is already
    in it, one more school. At most :data:`MAX_ALTERNATIVES` per unit.

    Parameters
    ----------
    plan : Plan
        A plan as returned by :func:`cluster_mapper.api.plan` (with its travel times).

    Returns
    -------
    pandas.DataFrame
        :data:`ALTERNATIVE_COLUMNS`; ``travel_minutes`` in minutes.
    """
    u = plan.units
    cl = plan.clusters
    if len(cl) == 0 or len(u) == 0:
        return pd.DataFrame(columns=ALTERNATIVE_COLUMNS)
    cl = cl.copy()
    members = u[u["status"] == "placed"].groupby("cluster_id")["school_id"].apply(set).to_dict()
    # each cluster's region: that of its venue school's unit in it (the first, in unit order)
    at_venue = cl[["cluster_id", "venue_school_id"]].merge(
        u[["cluster_id", "school_id", "region"]], left_on=["cluster_id", "venue_school_id"], right_on=["cluster_id", "school_id"], how="left"
    )
    region = at_venue.drop_duplicates("cluster_id").set_index("cluster_id")["region"]
    cl["region"] = [r if isinstance(r, str) else "" for r in region.reindex(cl["cluster_id"])]
    rows = []
    lookup = plan.travel.lookup()
    by_type: dict[tuple, list[tuple]] = {}
    blocks: dict[tuple, dict] = {}  # per type without a travel limit: each school's minutes to the type's venues
    at: dict[tuple, list[tuple]] = {}  # clusters of a type by venue school
    for c in cl.itertuples(index=False):
        entry = (c.cluster_id, c.venue_school_id, int(c.n_teachers), int(c.n_schools), members.get(c.cluster_id, set()))
        by_type.setdefault((c.region, c.gender_group, c.level_group), []).append(entry)
        at.setdefault((c.region, c.gender_group, c.level_group, c.venue_school_id), []).append(entry)
    reach: dict[str, list[tuple[str, float]]] = {}  # the schools each school reaches (not itself), with minutes
    for (a, b), m in lookup.items():
        if a != b:
            reach.setdefault(a, []).append((b, m))
    for r in u.itertuples(index=False):
        dp = plan.policy.for_district(r.district)
        limit, n = dp.travel_limit, int(r.n_teachers)
        kind = (r.region, r.gender_group, r.level_group)
        if math.isfinite(limit):  # only the venues within the limit (a cluster elsewhere is never an alternative)
            near = [(r.school_id, 0.0), *((v, m) for v, m in reach.get(r.school_id, ()) if m <= limit)]
            cands = [(e, m) for v, m in near for e in at.get((*kind, v), ())]
        else:
            entries = by_type.get(kind, [])
            to_venues = _type_minutes(plan, u, kind, entries, blocks).get(r.school_id, []) if entries else []
            cands = [(e, 0.0 if e[1] == r.school_id else float(m)) for e, m in zip(entries, to_venues, strict=True)]
        found = []
        for (cid, venue, size, n_schools, inside), m in cands:
            if cid == r.cluster_id:
                continue
            if m > limit or size + n > dp.max_teachers or (r.school_id not in inside and n_schools + 1 > dp.school_limit):
                continue
            found.append((float(m), cid, venue))
        for m, cid, v in sorted(found)[:MAX_ALTERNATIVES]:
            rows.append({"school_id": r.school_id, "unit_id": r.unit_id, "cluster_id": cid, "venue_school_id": v, "travel_minutes": round(m, 1)})
    return pd.DataFrame(rows, columns=ALTERNATIVE_COLUMNS)


def _type_minutes(plan, u: pd.DataFrame, kind: tuple, entries: list[tuple], blocks: dict[tuple, dict]) -> dict:
    """Minutes from each school of a type to each of its clusters' venues, computed once per type.

    One block per type (schools x venues, not schools x schools); pairs beyond
    the travel table's nearest schools are computed on demand.
    """
    if kind not in blocks:
        of_type = u[(u["region"] == kind[0]) & (u["gender_group"] == kind[1]) & (u["level_group"] == kind[2])]
        ids = of_type["school_id"].astype(str).unique().tolist()
        minutes = plan.travel.minutes_block(ids, [e[1] for e in entries])
        blocks[kind] = dict(zip(ids, minutes, strict=True))
    return blocks[kind]
