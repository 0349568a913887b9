"""Nothing hidden: why a cluster has no facilitator, and the smallest change that would give it one.

Reasons, checked in this order:

1. no facilitator passes the rules (gender, levels, subjects, district);
2. every eligible facilitator's base is too far for a working day;
3. everyone within reach is full (clusters, teachers or days).

Each reason comes with the smallest change that would support the cluster:
a facilitator of the right kind based within reach of the venue, a rule or
a capacity to relax, or a longer working day.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cluster_mapper.policy.rules import SupportPolicy
from cluster_mapper.support.calendar import clock_minutes, clock_text
from cluster_mapper.support.model import NO_LIMIT, SupportProblem, SupportSolution

GENDER_NOUN = {"female": "woman", "male": "man"}
#: A longer working day is suggested only up to this many minutes (12 hours).
MAX_SUGGESTED_DAY_MINUTES = 720


def minutes_words(m: float) -> str:
    """``250`` -> ``"4 h 10 min"``; ``45`` -> ``"45 min"``."""
    if not np.isfinite(m):
        return "unreachable"
    m = math.ceil(m - 1e-9)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def and_list(words) -> str:
    """``("primary", "middle", "high")`` -> ``"primary, middle and high"``."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def kind_words(gender: str | None, levels: tuple[str, ...], district: str | None, subjects: tuple[str, ...] = ()) -> str:
    """``"woman facilitator for primary in Mansehra"``."""
    who = f"{GENDER_NOUN[gender]} facilitator" if gender in GENDER_NOUN else "facilitator"
    lv = and_list(levels) if levels else "any level"
    text = f"{who} for {lv}"
    if subjects:
        text += f" ({' or '.join(subjects)})"
    if district:
        text += f" in {district}"
    return text


def base_words(f, place: dict[str, str]) -> str:
    """A facilitator's base as a person reads it: the school's name, or ``home (lat, lon)``."""
    sid = f["base_school_id"] if "base_school_id" in f else ""
    if isinstance(sid, str) and sid:
        return place.get(sid, sid)
    return f"home ({float(f['latitude']):.5f}, {float(f['longitude']):.5f})"


def one_way_minutes(sp: SupportPolicy) -> int:
    """Longest one-way travel a day allows around one meeting (minutes, rounded down)."""
    return math.floor((sp.working_day_minutes - sp.meeting_minutes) / 2)


def explain_unsupported(
    c: int,
    p: SupportProblem,
    sol: SupportSolution,
    rules: dict[str, np.ndarray],
    clusters: pd.DataFrame,
    fac: pd.DataFrame,
    sp: SupportPolicy,
    place: dict[str, str],
) -> tuple[str, str]:
    """Why cluster ``c`` has no facilitator, and the smallest change that would give it one.

    Parameters
    ----------
    rules : dict of str to numpy.ndarray
        ``gender``, ``levels``, ``subjects``, ``district``: (F, C) bool, each rule alone.
    clusters : pandas.DataFrame
        The cluster table (``need_gender``, ``levels``, ``district``, ``venue_school_id``).
    fac : pandas.DataFrame
        The checked facilitators table.
    place : dict of str to str
        School id -> a name to show.
    """
    row = clusters.iloc[c]
    venue = place.get(row["venue_school_id"], row["venue_school_id"])
    district = row["district"] if sp.same_district and (fac["district"] != "").any() else None
    subjects = tuple(sorted({s for f_subj in fac["subjects"] for s in f_subj} & set(row["subjects"]))) if sp.match_subjects else ()
    kind = kind_words(row["need_gender"], row["levels"], district, subjects[:3])
    one_way = one_way_minutes(sp)
    W, M, k = sp.working_day_minutes, sp.meeting_minutes, p.meetings_per_month
    elig = p.eligible[:, c]
    reach = p.reach[:, c]
    fid = fac["facilitator_id"].tolist()
    rt = p.round_trip[:, c]
    if not elig.any():
        failing = [name for name, m in rules.items() if not m[:, c].any()]
        words = {
            "gender": f"no {GENDER_NOUN.get(row['need_gender'], '')} facilitator".replace("no  ", "no "),
            "levels": f"no facilitator for {and_list(row['levels']) if row['levels'] else 'these levels'}",
            "subjects": "no facilitator for the cluster's subjects",
            "district": f"no facilitator in {row['district']}",
        }
        reason = "; ".join(words[n] for n in failing) if failing else f"no single facilitator meets every rule (a {kind})"
        changes = [f"a {kind} based within {one_way} minutes of {venue}"]
        key = {"gender": "same_gender = false", "levels": "match_levels = false", "subjects": "match_subjects = false", "district": "same_district = false"}
        for name in rules:
            others = np.logical_and.reduce([rules[o][:, c] for o in rules if o != name])
            if (others & ~rules[name][:, c] & (rt + M <= W)).any():
                changes.append(key[name])
        return reason, "; or ".join(changes)
    if not reach.any():
        cand = np.flatnonzero(elig)
        f = int(cand[np.argmin(rt[cand])])
        base = base_words(fac.iloc[f], place)
        in_day = cand[rt[cand] + M <= W + 1e-6]
        if len(in_day) and sp.meeting_window:  # a day's reach, but not before the meeting window closes
            g = int(in_day[np.argmin(p.to_venue[in_day, c])])
            arrive = clock_minutes(sp.day_start) + max(float(p.to_venue[g, c]), p.earliest_start)
            return (
                f"the nearest eligible facilitator ({fid[g]}, based at {base_words(fac.iloc[g], place)}) cannot arrive before {clock_text(arrive)}, "
                f"after the meeting window closes at {sp.meeting_window[1]}",
                f'meeting_window = ["{sp.meeting_window[0]}", "{clock_text(math.ceil(arrive))}"]; or a {kind} based within {one_way} minutes of {venue}',
            )
        if not np.isfinite(rt[f]):
            return (f"no road from any eligible facilitator's base to the venue {venue}", f"a {kind} based within {one_way} minutes of {venue}")
        reason = (
            f"the nearest eligible facilitator ({fid[f]}, based at {base}) is {minutes_words(p.to_venue[f, c])} from the venue one way; "
            f"a {W:g}-minute day with a {M:g}-minute meeting leaves {one_way} minutes each way"
        )
        change = f"a {kind} based within {one_way} minutes of {venue}"
        if rt[f] + M <= MAX_SUGGESTED_DAY_MINUTES:  # a longer day is a change only while it is still a day's work
            change += f"; or working_day_minutes = {math.ceil(rt[f] + M)}"
        return reason, change
    # within reach, but full
    cand = np.flatnonzero(reach)
    cand = cand[np.argsort(rt[cand], kind="stable")]
    n_c = int(p.n_teachers[c])
    full, fixes = [], []
    for f in map(int, cand):
        mine = np.flatnonzero(sol.facilitator_of == f)
        used_days = len(sol.days[f])
        teachers = int(p.n_teachers[mine].sum())
        parts: list[str] = []
        needed: list[str] = []
        if len(mine) >= p.max_clusters[f]:
            parts.append(f"{len(mine)} of {int(p.max_clusters[f])} clusters")
            needed.append(f"max_clusters = {len(mine) + 1}")
        if p.max_teachers[f] < NO_LIMIT and teachers + n_c > p.max_teachers[f]:
            parts.append(f"{teachers} of {int(p.max_teachers[f])} teachers")
            needed.append(f"max_teachers = {teachers + n_c}")
        if used_days + k > p.days[f]:
            parts.append(f"{used_days} of {int(p.days[f])} days")
            needed.append(f"days_per_month = {used_days + k}")
        if parts:
            full.append(f"{fid[f]} ({', '.join(parts)})")
            fixes.append(f"{' and '.join(needed)} for {fid[f]}")
    if len(full) < len(cand):  # cannot happen after the planner's fill step; never call them all full when one is not
        return ("a facilitator within reach has room, but the plan found did not use it", "a longer [support] time_limit_seconds")
    shown = ", ".join(full[:3]) + (f" and {len(full) - 3} more" if len(full) > 3 else "")
    return (f"everyone within reach is full: {shown}", f"{fixes[0]}; or another {kind} based within {one_way} minutes of {venue}")


__all__ = ["base_words", "explain_unsupported", "kind_words", "minutes_words", "one_way_minutes"]
