"""Nothing hidden: why a unit of teachers is not placed, and the smallest change of policy that would place it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cluster_mapper.inputs.edits import Edits, edit_rows
from cluster_mapper.policy.rules import LIMITS, Policy
from cluster_mapper.travel.times import TravelTimes

#: The smallest cluster a suggestion may propose (a "cluster" of one or two teachers is no peer group).
MIN_SUGGESTED_TEACHERS = 3
#: At most this many teachers are "a handful": a local edit is offered before a district-wide rule.
HANDFUL = 5


def plural(n: int, word: str) -> str:
    """``1 teacher``, ``3 teachers``, ``1 female primary teacher``: ``word`` is the plural form."""
    return f"{n} {word[:-1] if n == 1 and word.endswith('s') else word}"


def stranded(units: pd.DataFrame, sid: str, travel: TravelTimes) -> bool:
    """Whether school ``sid`` reaches no other school over the road network (within its cutoff, if it has one).

    Only a road network can strand a school: straight lines and matrices
    leave pairs out because they are far, not because no road joins them.
    """
    if travel.source != "network":
        return False
    others = pd.unique(units.loc[units["school_id"] != sid, "school_id"].to_numpy())
    return len(others) > 0 and not np.isfinite(travel.minutes_block([sid], others)[0]).any()


def _minutes(tt: TravelTimes, from_ids, to_ids, limit: float) -> np.ndarray:
    """Minutes where they matter for a reason.

    Without a travel limit only reachability is asked (``<= limit``): when
    straight-line times beyond the table's nearest schools are computed on
    demand, every pair is reachable, so none is computed (a district of
    thousands of schools would compute millions of pairs for each school
    left out).
    """
    if math.isinf(limit) and tt.reach is not None and not tt.reach.overrides:
        return np.zeros((len(from_ids), len(to_ids)))
    return tt.minutes_block(from_ids, to_ids)


def _reachable(minutes: np.ndarray, teachers: np.ndarray, need: int) -> np.ndarray:
    """Per column, the smallest travel limit at which the nearest rows reach ``need`` teachers.

    Parameters
    ----------
    minutes : numpy.ndarray
        ``(rows, columns)`` travel minutes of each unit (row) to each venue
        (column); ``inf`` where a unit does not count.
    teachers : numpy.ndarray of int
        Teachers per row.
    need : int
        Teachers wanted (at least 1).

    Returns
    -------
    numpy.ndarray
        Minutes per column; ``inf`` when the finite rows hold fewer than ``need``.
    """
    if minutes.shape[0] == 0:  # nobody else: never enough
        return np.full(minutes.shape[1], np.inf)
    order = np.argsort(minutes, axis=0, kind="stable")
    t = np.take_along_axis(minutes, order, axis=0)
    k = np.where(np.isfinite(t), np.asarray(teachers, dtype=np.int64)[order], 0)
    total = np.cumsum(k, axis=0)
    hit = total >= need
    first = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), t[first, np.arange(t.shape[1])], np.inf)


def _best_total(u: pd.Series, pool: pd.DataFrame, hosts: pd.DataFrame, tt: TravelTimes, limit: float) -> int:
    """Most teachers of ``pool`` that could meet with unit ``u`` at one host within the limit."""
    h = pd.unique(hosts["school_id"].to_numpy())
    h = h[_minutes(tt, [u["school_id"]], h, limit)[0] <= limit]
    if len(h) == 0:
        return 0
    within = _minutes(tt, pool["school_id"].to_numpy(), h, limit) <= limit
    totals = pool["n_teachers"].to_numpy(dtype=np.int64) @ within
    if u["school_id"] not in set(pool["school_id"]):
        totals = totals + int(u["n_teachers"])
    return int(max(0, totals.max()))


def _cluster_with_room(units: pd.DataFrame, u: pd.Series, same: pd.DataFrame, tt: TravelTimes, limit: float, max_teachers: int, max_schools: int):
    """A cluster of the plan that unit ``u`` could join (venue within ``limit``, room for its teachers and school).

    Returns ``(venue school id, teachers, schools)`` of the first such cluster
    (by venue school id), or None when every cluster within reach is full.
    Reads ``venue_unit`` of the placed units of ``same`` (the unit's group).
    """
    if "venue_unit" not in units.columns:
        return None
    placed = same[same["venue_unit"] != ""]
    if len(placed) == 0:
        return None
    sizes = placed.groupby("venue_unit").agg(teachers=("n_teachers", "sum"), schools=("school_id", "size"))
    school_of = dict(zip(units["unit_id"], units["school_id"], strict=False))
    sizes["venue_school"] = [school_of[v] for v in sizes.index]
    sizes = sizes.sort_values("venue_school", kind="stable")
    minutes = _minutes(tt, [u["school_id"]], sizes["venue_school"].to_numpy(), limit)[0]
    room = (minutes <= limit) & (sizes["teachers"].to_numpy() + int(u["n_teachers"]) <= max_teachers) & (sizes["schools"].to_numpy() + 1 <= max_schools)
    if not room.any():
        return None
    row = sizes.iloc[int(np.argmax(room))]
    return str(row["venue_school"]), int(row["teachers"]), int(row["schools"])


def explain_not_placed(
    units: pd.DataFrame, i: int, travel: TravelTimes, policy: Policy, *, edits: Edits | None = None, placement_proven: bool = True
) -> tuple[str, str]:
    """Why unit ``i`` is not in any cluster, and the smallest change that would place it.

    A suggested change stays inside what the policy accepts (no cluster
    below :data:`MIN_SUGGESTED_TEACHERS` teachers, no limit beyond
    :data:`~cluster_mapper.policy.rules.LIMITS`); for a handful of teachers a
    local edit is offered before a district-wide rule. ``edits``' no_venue
    rows are applied to the hosts and named in the reason when they rule
    out every venue in reach. ``placement_proven`` says whether the plan of
    the unit's district was proven to place the most teachers; "every
    cluster within reach is full" is said only when it is true of the plan
    (no cluster within reach has room for the unit).
    """
    tt = travel
    u = units.iloc[i]
    dp = policy.for_district(u["district"])
    limit = dp.travel_limit
    n = int(u["n_teachers"])
    who = plural(n, group_label(u["gender_group"], u["level_group"]))
    limit_words = "any distance" if limit == float("inf") else f"{limit:g} minutes"
    if n > dp.max_teachers:
        return (
            f"{who} at school {u['school_id']}: more than the cluster maximum of {dp.max_teachers}, and a school's teachers are never split",
            f"max_teachers = {n}",
        )
    same = units[(units["region"] == u["region"]) & (units["gender_group"] == u["gender_group"]) & (units["level_group"] == u["level_group"])]
    ruled_out = {e.school_id: e for e in edits.of("no_venue")} if edits is not None else {}
    venue_word = VENUE_WORDS[u["gender_group"]]
    all_hosts = same[same["can_be_venue"]]
    hosts = all_hosts[~all_hosts["school_id"].isin(ruled_out)]
    host_ids = hosts["school_id"].to_numpy()
    to_host = _minutes(tt, [u["school_id"]], host_ids, limit)[0]  # minutes from this unit to each host
    in_reach = host_ids[to_host <= limit]
    cut = _cut_off(units, u, in_reach, all_hosts, ruled_out, tt, limit)
    if cut is not None:
        return (f"{who}: {cut[0]}", cut[1])
    changes = _group_changes(units, u, dp, tt, limit)
    if len(in_reach) == 0:
        best = float(to_host.min(initial=np.inf))
        nearest = host_ids[int(np.argmin(to_host))] if np.isfinite(best) else None
        need = _limit_changes(n, u["school_id"], nearest, best, tt.source) if np.isfinite(best) else ["a road to a host school"]
        return (f"{who}: no {venue_word} that can host within {limit_words}", "; or ".join([*need, *changes]))
    # teachers that could meet at each reachable venue (a member's time counts as at least this unit's)
    near = np.isfinite(to_host)
    to_h = to_host[near]
    others = same[same["school_id"] != u["school_id"]]
    k = others["n_teachers"].to_numpy(dtype=np.int64)
    times = np.maximum(_minutes(tt, others["school_id"].to_numpy(), host_ids[near], limit), to_h[None, :])
    within = n + k @ (np.isfinite(times) & (times <= limit))
    best_total = int(within[to_h <= limit].max(initial=0))
    per_venue = np.maximum(to_h, _reachable(times, k, dp.min_teachers - n)) if n < dp.min_teachers else to_h
    best_limit = float(per_venue.min(initial=np.inf))
    best_venue = host_ids[near][int(np.argmin(per_venue))] if np.isfinite(best_limit) else None
    if dp.min_schools > 1:
        # schools of the group that could meet with this one at one host within the limit
        ids = pd.unique(same["school_id"].to_numpy())
        meet = _minutes(tt, ids, in_reach, limit) <= limit
        meet[ids == u["school_id"]] = True  # this school itself
        most = int(meet.sum(axis=0).max(initial=0))
        if most < dp.min_schools:
            return (
                f"{who}: only {plural(most, 'schools')} with {group_label(u['gender_group'], u['level_group'])} can meet at one venue within {limit_words} (a cluster needs {dp.min_schools} schools, min_schools)",
                "; or ".join([f"min_schools = {most}", *changes]),
            )
    if best_total < dp.min_teachers:
        opts = [f"min_teachers = {best_total}"] if best_total >= MIN_SUGGESTED_TEACHERS else []
        if np.isfinite(best_limit):
            opts[:0] = _limit_changes(n, u["school_id"], best_venue if best_venue != u["school_id"] else None, best_limit, tt.source)
        elif tt.cutoff_minutes is not None and tt.cutoff_minutes < LIMITS["max_travel_minutes"][1]:
            opts.insert(0, f"max_travel_minutes above {tt.cutoff_minutes:g} (travel times were computed up to {tt.cutoff_minutes:g} minutes)")
        return (
            f"{who}: only {plural(best_total, group_label(u['gender_group'], u['level_group']))} within {limit_words} of any {venue_word} that can host (a cluster needs {dp.min_teachers})",
            "; or ".join(opts + changes) or "no change of policy places them: too few teachers within any travel limit the policy accepts",
        )
    room = _cluster_with_room(units, u, same, tt, limit, dp.max_teachers, dp.school_limit)
    if room is not None:
        venue, t, sc = room
        has_room = f"the cluster meeting at school {venue} is within {limit_words} and has room ({t} of {dp.max_teachers} teachers, {plural(sc, 'schools')})"
        if not placement_proven:
            return (
                f"{who}: not placed, though {has_room}: the solver stopped (at its time or work limit) before it proved the most teachers placed",
                f"time_limit_seconds = {int(np.ceil(2 * dp.time_limit_seconds))}",
            )
        return (
            f"{who}: {has_room}, but this school may not join it under the edits (a locked cluster, together, apart) or the cap on moved teachers",
            "relax those edits or max_moved_teachers",
        )
    if dp.n_clusters is not None:
        return (
            f"{who}: the district's {dp.n_clusters} clusters have no room within {limit_words}",
            f"n_clusters = {dp.n_clusters + 1}; or max_teachers = {dp.max_teachers + n}",
        )
    return (
        f"{who}: every cluster within {limit_words} is full ({dp.max_teachers} teachers or {dp.max_schools} schools) and the rest are too few to form another",
        "; or ".join([f"max_teachers = {dp.max_teachers + n}", *(f"max_schools = {dp.max_schools + 1}" for _ in [0] if dp.max_schools), *changes]),
    )


def _cut_off(units: pd.DataFrame, u: pd.Series, in_reach, all_hosts: pd.DataFrame, ruled_out: dict, tt: TravelTimes, limit: float) -> tuple[str, str] | None:
    """A unit no venue can reach for a reason of its own: a road fragment joined to no other school, or no_venue edits."""
    if set(in_reach) <= {u["school_id"]} and stranded(units, u["school_id"], tt):
        within = (
            f" (travel times were searched up to {tt.cutoff_minutes:g} minutes)" if tt.cutoff_minutes is not None and np.isfinite(tt.cutoff_minutes) else ""
        )
        return (
            f"school {u['school_id']} lies on a piece of the road network that reaches no other school{within}, so no cluster can meet with it",
            "check the school's position (cluster-mapper inspect names such schools), or add a travel_minutes edit from it to a nearby school",
        )
    if len(in_reach) == 0 and ruled_out:
        before = all_hosts["school_id"].to_numpy()
        near = before[_minutes(tt, [u["school_id"]], before, limit)[0] <= limit]
        rows = [ruled_out[s] for s in dict.fromkeys(near) if s in ruled_out]
        if rows:
            words = "any distance" if limit == float("inf") else f"{limit:g} minutes"
            return (
                f"no {VENUE_WORDS[u['gender_group']]} may host within {words}: the edits rule out every one in reach (no_venue, {edit_rows(*rows)})",
                f"delete some of the no_venue edits ({edit_rows(*rows)})",
            )
    return None


def _group_changes(units: pd.DataFrame, u: pd.Series, dp, tt: TravelTimes, limit: float) -> list[str]:
    """Mixing genders or levels, where that alone would give the unit enough teachers at one venue."""
    changes = []
    region = units[units["region"] == u["region"]]
    if dp.gender == "segregated" and u["gender_group"] != "mixed":
        pool = region[region["level_group"] == u["level_group"]]
        if _best_total(u, pool, pool[pool["can_host"]], tt, limit) >= dp.min_teachers:
            changes.append('gender = "mixed" for the district')
    if dp.levels == "separate" and u["level_group"] != "mixed":
        pool = region[region["gender_group"] == u["gender_group"]]
        if _best_total(u, pool, pool[pool["can_be_venue"]], tt, limit) >= dp.min_teachers:
            changes.append('levels = "mixed"')
    return changes


#: How the travel times were found, for a suggestion's words.
SOURCE_WORDS = {"network": "over the roads", "matrix": "in the travel-time matrix", "straight_line": "in a straight line"}


def _limit_changes(n: int, sid: str, nearest: str | None, minutes: float, source: str = "network") -> list[str]:
    """The changes that bring a venue within reach: a local travel_minutes edit for a handful, a district-wide limit if allowed."""
    out = []
    if n <= HANDFUL and nearest is not None:
        out.append(
            f"a travel_minutes edit from {sid} to {nearest} if a shorter way exists (it is {minutes:.0f} minutes {SOURCE_WORDS.get(source, '')})".replace(
                " )", ")"
            )
        )
    if minutes <= LIMITS["max_travel_minutes"][1]:
        out.append(f"max_travel_minutes = {int(np.ceil(minutes))}")
    return out


GROUP_WORDS = {"female": "female", "male": "male", "mixed": ""}


VENUE_WORDS = {"female": "girls' or mixed school", "male": "boys' or mixed school", "mixed": "school"}


def group_label(gender: str, level: str) -> str:
    words = [w for w in (GROUP_WORDS[gender], "" if level == "mixed" else level) if w]
    return " ".join(words) + " teachers" if words else "teachers"
