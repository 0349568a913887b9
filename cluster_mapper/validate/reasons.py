"""The validator's check of every "not placed" reason against the rules it names.

A reason shown to a user must be true. Whatever its words, a reason is
false when the teachers it explains could have been placed within the
plan's rules, which the validator checks on its own travel times:

- a cluster within the travel limit (same district, gender and level group,
  a venue of the right kind) had room for the school's teachers
  (``max_teachers``, ``max_schools``): "every cluster within N minutes is
  full" cannot be true;
- the unplaced teachers of one group could form a cluster of their own
  (a host school among them, everyone within the limit of it, size and
  school count within the rules): a cluster dissolved with a made-up
  reason is caught;
- the numbers a reason quotes match the policy (``a cluster needs N``,
  ``the cluster maximum of N``), and "no ... school that can host within N
  minutes" is false when such a school is within reach.

Edits make the question harder (a ``together`` chain moves as one, an
``apart`` pair never meets, a ``venue`` school only hosts, a locked cluster
takes no one, a district's ``n_clusters`` or ``max_moved_teachers`` limits
new clusters): schools, clusters and districts under such rules are left to
the other checks rather than judged wrongly.
"""

from __future__ import annotations

import math
import re
from typing import Protocol

import pandas as pd

from cluster_mapper.policy.rules import Policy

LEVEL_GROUP = {"primary": "primary", "middle": "middle", "high": "middle"}
VENUE_GENDERS = {"female": {"girls", "mixed"}, "male": {"boys", "mixed"}}


class _Minutes(Protocol):
    def within(self, member: str, venue: str, limit: float) -> float: ...


class _Report(Protocol):
    def add(self, msg: str) -> None: ...


def _group(policy: Policy, district: str, gender: str, level: str) -> tuple[str, str]:
    dp = policy.for_district(district)
    return (gender if dp.gender == "segregated" else "all", LEVEL_GROUP.get(level, level) if dp.levels == "separate" else "all")


def _venue_ok(policy: Policy, schools: pd.DataFrame, venue: str, group: tuple[str, str], no_venue: set[str]) -> bool:
    if venue in no_venue or not bool(schools.at[venue, "can_host"]):
        return False
    dp = policy.for_district(schools.at[venue, "district"])
    if dp.gender != "segregated" or group[0] not in VENUE_GENDERS:
        return True
    return schools.at[venue, "gender"] in VENUE_GENDERS[group[0]]


def _unplaced_units(a: pd.DataFrame, schools: pd.DataFrame, policy: Policy, skip: set[str]) -> pd.DataFrame:
    """Not-placed teachers that the rules would place, as units: school x group, with their teachers and reason."""
    rows = a[(a["status"] == "not_placed") & ~policy.left_out(a) & ~a["school_id"].isin(skip)]
    rows = rows[~rows["reason"].astype(str).str.startswith("excluded by edit")]
    if rows.empty:
        return pd.DataFrame(columns=["school_id", "district", "group", "n", "reason"])
    keys = [
        (sid, schools.at[sid, "district"], _group(policy, schools.at[sid, "district"], g, lv))
        for sid, g, lv in zip(rows["school_id"], rows["gender"], rows["level"], strict=True)
    ]
    frame = pd.DataFrame(keys, columns=["school_id", "district", "group"], index=rows.index).assign(n=rows["n"], reason=rows["reason"])
    return frame.groupby(["school_id", "district", "group"], sort=True).agg(n=("n", "sum"), reason=("reason", "first")).reset_index()


def _can_form(venue_n: int, others: list[int], min_t: int, max_t: int, min_s: int, max_s: int) -> bool:
    """Whether the venue's teachers and some of ``others`` (one number per school) make a cluster within the size rules."""
    reach = {(1, venue_n)} if venue_n <= max_t else set()
    for k in others:
        reach |= {(c + 1, t + k) for c, t in reach if t + k <= max_t and (not max_s or c + 1 <= max_s)}
    return any(min_t <= t <= max_t and c >= min_s for c, t in reach)


def check_not_placed(a: pd.DataFrame, schools: pd.DataFrame, policy: Policy, travel: _Minutes, edits: list[dict[str, str]], rep: _Report) -> None:
    """Add a violation for each "not placed" reason the rules and travel times show to be false (see the module)."""
    # schools whose edits bind them to others (together, apart) or to a role (venue) are judged by the edit checks
    chained = {e.get(k, "") for e in edits if e["action"] in ("together", "apart", "venue") for k in ("school_id", "other_school_id")} - {""}
    locked = {e.get("cluster_id", "") for e in edits if e["action"] == "lock_cluster"}
    no_venue = {e.get("school_id", "") for e in edits if e["action"] == "no_venue"}
    units = _unplaced_units(a, schools, policy, chained)
    placed = a[a["status"] == "placed"]
    info = []
    for cid, members in placed.groupby("cluster_id", sort=True):
        venue = members["venue_school_id"].iloc[0]
        district = schools.at[venue, "district"]
        groups = {_group(policy, district, g, lv) for g, lv in zip(members["gender"], members["level"], strict=True)}
        info.append((cid, venue, district, groups, int(members["n"].sum()), members["school_id"].nunique(), set(members["school_id"])))
    groups_of: dict[str, set[tuple[str, str]]] = {}  # each school's teacher groups (a venue is a member school)
    members_all = a[~policy.left_out(a) & ~a["reason"].astype(str).str.startswith("excluded by edit")]  # head teachers left out join no cluster
    for sid, g, lv in zip(members_all["school_id"], members_all["gender"], members_all["level"], strict=True):
        groups_of.setdefault(sid, set()).add(_group(policy, schools.at[sid, "district"], g, lv))
    for u in units.itertuples(index=False):
        dp = policy.for_district(u.district)
        _check_quoted_numbers(u, dp, rep)
        if dp.subjects_required or dp.max_moved_teachers is not None:
            continue
        limit = dp.travel_limit
        if re.search(r"no .*school that can host within", str(u.reason)):
            for host in schools.index[schools["district"] == u.district]:
                if host != u.school_id and u.group in groups_of.get(host, set()) and _venue_ok(policy, schools, host, u.group, no_venue):
                    t = travel.within(u.school_id, host, limit)
                    if t <= limit:
                        rep.add(f"school {u.school_id}: the reason '{u.reason}' is not true: {host} can host and is {t:.1f} minutes away")
                        break
        for cid, venue, district, groups, n, k, members in info:
            if (district != u.district and not policy.cross_district) or groups != {u.group} or members & chained or cid in locked:
                continue
            room = n + u.n <= dp.max_teachers and (not dp.max_schools or k + 1 <= dp.max_schools)
            if room and travel.within(u.school_id, venue, limit) <= limit:
                rep.add(
                    f"school {u.school_id}: {u.n} teacher(s) not placed ('{u.reason}') although cluster {cid} at {venue} "
                    f"is {travel.within(u.school_id, venue, limit):.1f} minutes away and has room ({n} of {dp.max_teachers} teachers)"
                )
                break
    _check_no_cluster_left(units, schools, policy, travel, no_venue, rep)


def _check_quoted_numbers(u, dp, rep: _Report) -> None:
    """The policy numbers a reason quotes are the policy's."""
    reason = str(u.reason)
    quoted = [
        (r"a cluster needs (\d+)\)", dp.min_teachers, "min_teachers"),
        (r"a cluster needs (\d+) schools", dp.min_schools, "min_schools"),
        (r"cluster maximum of (\d+)", dp.max_teachers, "max_teachers"),
    ]
    for pattern, value, name in quoted:
        m = re.search(pattern, reason)
        if m and int(m.group(1)) != value:
            rep.add(f"school {u.school_id}: the reason '{reason}' quotes {m.group(1)} but the policy's {name} is {value}")
    m = re.search(r"within (\d+(?:\.\d+)?) minutes", reason)
    if m and math.isfinite(dp.travel_limit) and abs(float(m.group(1)) - dp.travel_limit) > 1e-6:
        rep.add(f"school {u.school_id}: the reason '{reason}' names {m.group(1)} minutes but the travel limit is {dp.travel_limit:g}")
    if "cluster maximum" in reason and u.n <= dp.max_teachers:
        rep.add(f"school {u.school_id}: the reason '{reason}' is not true: {u.n} teacher(s) fit a cluster of up to {dp.max_teachers}")


def _check_no_cluster_left(units: pd.DataFrame, schools: pd.DataFrame, policy: Policy, travel: _Minutes, no_venue: set[str], rep: _Report) -> None:
    """The unplaced teachers of one district and group could not have formed a cluster of their own."""
    for (district, group), part in units.groupby(["district", "group"], sort=True):
        dp = policy.for_district(district)
        if dp.n_clusters is not None or dp.subjects_required or dp.max_moved_teachers is not None:
            continue
        n_of = dict(zip(part["school_id"], part["n"], strict=True))
        why = dict(zip(part["school_id"], part["reason"], strict=True))
        for venue in part["school_id"]:
            if not _venue_ok(policy, schools, venue, group, no_venue):
                continue
            near = [int(n_of[s]) for s in part["school_id"] if s != venue and travel.within(s, venue, dp.travel_limit) <= dp.travel_limit]
            if _can_form(int(n_of[venue]), near, dp.min_teachers, dp.max_teachers, dp.min_schools, dp.max_schools or 0):
                rep.add(
                    f"district {district}: the unplaced {' '.join(w for w in group if w != 'all') or 'all'} teachers at {venue} and schools within "
                    f"{dp.travel_limit:g} minutes of it could form a cluster within the rules; the reason given ('{why[venue]}') is not true"
                )
                break
