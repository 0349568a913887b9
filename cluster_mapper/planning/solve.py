"""Plan a whole run: units and travel times in, a plan with reasons out.

The planner splits the work into independent problems (per district, gender
group and level group, then per connected group of schools that can reach a
common venue), solves each with :class:`~cluster_mapper.model.ClusterModel`,
and explains every unit left out in a manager's words, with the smallest
change of policy that would place it.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cluster_mapper.inputs.edits import Edits, check_edits
from cluster_mapper.inputs.schools import Inputs
from cluster_mapper.model import DEFAULT_BACKEND, ClusterModel, ClusterProblem, ClusterSolution, SideRow, SolveBudget
from cluster_mapper.model.candidates import solve_sparse
from cluster_mapper.model.large import solve_large
from cluster_mapper.model.limits import check_model_size, complete_model_suits
from cluster_mapper.planning.explain import explain_not_placed
from cluster_mapper.planning.naming import name_clusters, teacher_rows
from cluster_mapper.planning.result import Plan
from cluster_mapper.planning.units import build_units
from cluster_mapper.policy.rules import DistrictPolicy, Policy
from cluster_mapper.travel.nearest import GroupCandidates
from cluster_mapper.travel.times import TABLE_NEIGHBOURS, TravelTimes

#: A group (district, gender and level group) of at least this many units is *large*: see :data:`LARGE_GROUP_BUDGET`.
LARGE_GROUP_UNITS = 1000
#: In a large group, a connected part of at most this many units is solved with :data:`LARGE_GROUP_BUDGET`.
SMALL_PART_UNITS = 300
#: Budget of the small parts of a large group: no large-neighbourhood search, the exact solve right after the
#: first plan. A part gets a share of the district's time limit by its size, and the search runs until half of
#: the time left, so a large group's hundreds of small parts spent most of the solve there; the exact solve
#: proves such parts (<= 300 units, a few thousand pairs) optimal in a fraction of a second without it (a
#: generated district of 5,000 schools: 39 s -> 14 s of model time, the same optimum, every part proven).
#: Smaller districts keep the default budget, so their plans do not change.
LARGE_GROUP_BUDGET = SolveBudget(lns_share=0.0)


#: A group without a travel limit of at most this many units, whose complete model stays under a fixed size
#: (:func:`cluster_mapper.model.limits.complete_model_suits`), is planned on all its pairs; a larger one on
#: sparse candidates with a bound valid for all pairs. A rule on the problem's size, not on the machine's free
#: memory, so the same inputs take the same path (and give the same plan) on every machine with the memory.
COMPLETE_UNITS = 1000
#: A group without a travel limit, with a fixed number of clusters and at least this many units, is planned
#: by blocks and regrouping (:func:`cluster_mapper.model.large.solve_large`); between the two, the exact
#: model is built on the sparse candidates (:func:`cluster_mapper.model.candidates.solve_sparse`).
BLOCK_SOLVER_UNITS = 1000


def _reach_candidates(group: pd.DataFrame, travel: TravelTimes) -> GroupCandidates:
    """Candidate pairs of one group's units from the travel's on-demand straight-line times."""
    assert travel.reach is not None
    kind = (group["gender_group"].astype(str) + "/" + group["level_group"].astype(str)).to_numpy()
    return GroupCandidates(travel.reach, travel.reach.positions(group["school_id"]), group["can_be_venue"].to_numpy(dtype=bool), kind)


def _reach_pairs(group: pd.DataFrame, travel: TravelTimes, limit: float) -> pd.DataFrame:
    """Allowed pairs when the travel table holds only each school's nearest: within the limit, all, or the nearest."""
    cands = _reach_candidates(group, travel)
    n = len(group)
    if math.isfinite(limit):
        m, v, t = cands.cheaper_than(np.arange(n), np.full(n, limit))
        keep = t <= limit
        m, v, t = m[keep], v[keep], t[keep]
    elif n <= COMPLETE_UNITS:
        m, v, t = cands.all_pairs(np.arange(n))
    else:  # the sparse solvers ask for more pairs when they need them
        m, v, t, _ = cands.nearest(TABLE_NEIGHBOURS)
    t = np.where(m == v, 0.0, t)
    pairs = pd.DataFrame({"member": m, "venue": v, "minutes": t.astype(float)})
    return pairs.sort_values(["venue", "member"], kind="stable").reset_index(drop=True)


def _allowed_pairs(group: pd.DataFrame, travel: TravelTimes, limit: float) -> pd.DataFrame:
    """Member/venue pairs of one group within the travel limit (positions into ``group``)."""
    if travel.reach is not None:
        return _reach_pairs(group, travel, limit)
    pos = pd.Series(np.arange(len(group)), index=group["school_id"].to_numpy())
    venues = group.loc[group["can_be_venue"], "school_id"]
    t = travel.pairs
    t = t[t["from_school_id"].isin(pos.index) & t["to_school_id"].isin(set(venues)) & (t["minutes"] <= limit)]
    t = t[t["from_school_id"] != t["to_school_id"]]
    pairs = pd.DataFrame(
        {
            "member": pos.loc[t["from_school_id"]].to_numpy(),
            "venue": pos.loc[t["to_school_id"]].to_numpy(),
            "minutes": t["minutes"].to_numpy(dtype=float),
        }
    )
    selfs = pd.DataFrame({"member": pos.loc[venues].to_numpy(), "venue": pos.loc[venues].to_numpy(), "minutes": 0.0})
    return pd.concat([selfs, pairs], ignore_index=True).sort_values(["venue", "member"], kind="stable").reset_index(drop=True)


def _problem(group: pd.DataFrame, pairs: pd.DataFrame, dp: DistrictPolicy, n_clusters: int | None) -> ClusterProblem:
    return ClusterProblem(
        n_teachers=group["n_teachers"].to_numpy(dtype=int),
        pair_member=pairs["member"].to_numpy(dtype=int),
        pair_venue=pairs["venue"].to_numpy(dtype=int),
        pair_minutes=pairs["minutes"].to_numpy(dtype=float),
        min_teachers=dp.min_teachers,
        max_teachers=dp.max_teachers,
        max_schools=dp.school_limit,
        n_clusters=n_clusters,
        objective=dp.objective,
        min_schools=dp.min_schools,
    )


def _split_components(group: pd.DataFrame, pairs: pd.DataFrame) -> list[np.ndarray]:
    n = len(group)
    if n == 0:
        return []
    g = coo_matrix((np.ones(len(pairs)), (pairs["member"], pairs["venue"])), shape=(n, n))
    _, labels = connected_components(g, directed=True, connection="weak")
    return [np.flatnonzero(labels == k) for k in np.unique(labels)]


def solve_plan(
    inputs: Inputs,
    travel: TravelTimes,
    policy: Policy,
    *,
    backend: str = DEFAULT_BACKEND,
    progress: Callable[[str, float], None] | None = None,
    previous: pd.DataFrame | None = None,
    edits: Edits | None = None,
) -> Plan:
    """Form clusters for every district; explain everyone left out.

    Parameters
    ----------
    inputs : Inputs
        Validated schools and teachers.
    travel : TravelTimes
        School-to-school travel minutes (with the edits' travel overrides
        already applied, see :meth:`Edits.apply_travel`).
    policy : Policy
        The scenario's rules.
    backend : str
        OR-Tools MIP backend.
    progress : callable, optional
        Called with (message, fraction done).
    previous : pandas.DataFrame, optional
        ``assignments.csv`` of an earlier plan: re-plan with the least change.
        Among the plans that place the most teachers, the one that moves the
        fewest teachers away from their previous venue (a teacher moves when
        the venue school they meet at changes or they lose their place), and
        among those the least travel (see :mod:`cluster_mapper.model.formulation`).
        Clusters whose venue school hosts again keep their id; ids of
        dissolved clusters are never reused. ``max_moved_teachers`` in the
        policy caps the moves per district. The plan's lower bound then holds
        for plans that place as many teachers and move no more.
    edits : Edits, optional
        Hard rules from the people who use the plan (see :mod:`cluster_mapper.inputs.edits`);
        checked with :func:`~cluster_mapper.inputs.edits.check_edits` before solving.

    Raises
    ------
    InputError
        Edits that are unknown, break a rule or contradict each other.
    """
    t0 = time.perf_counter()
    units, teachers = build_units(inputs, policy)
    edits = edits if edits is not None else Edits("<none>")
    if edits.rows:
        check_edits(edits, units, inputs.schools, travel, policy, previous, teachers)
    units = _leave_out_excluded(units, teachers, edits)
    acc = _Totals(notes=list(travel.notes))
    kept_names = _lock_clusters(units, previous, edits, travel, policy, acc)
    stays = _previous_venues(teachers, previous) if previous is not None else {}
    jobs = _jobs(units, policy, previous)
    region_units: dict[Any, int] = defaultdict(int)
    for region, _, idx, _, _ in jobs:
        region_units[region] += len(idx)
    clock = _Clock(left=region_units, total=dict(region_units))
    moved_note, done_units = False, 0
    for region, dp, idx, n_clusters, whole in jobs:
        group = units.loc[idx].reset_index()
        # members may only meet at venues of their own gender and level group
        pairs = _edit_pairs(group, _typed_pairs(group, travel, dp.travel_limit), edits)
        # without a travel limit every pair is allowed: one part (the table holds only the nearest pairs)
        comps = [np.arange(len(group))] if whole or (travel.reach is not None and dp.max_travel_minutes is None) else _split_components(group, pairs)
        for comp in comps:
            sub = group.iloc[comp].reset_index(drop=True)
            sub_pairs = _restrict_pairs(pairs, comp, len(group)) if len(comps) > 1 else pairs
            if progress:
                progress(f"{region}: {len(sub)} units", done_units / max(1, len(units)))
            moved_note |= previous is not None
            _solve_part(
                units, region, dp, sub, sub_pairs, len(group), n_clusters, whole, edits, stays if previous is not None else None, backend, clock, acc, travel
            )
            done_units += len(sub)
    acc.notes.extend(_closing_notes(acc.cut_regions, moved_note))
    if progress:
        progress("explaining who could not be placed", 1.0)
    named = edits.schools_named()
    _explain_all(units, travel, policy, edits, named, previous, acc.unproven_regions)
    reserved: set[str] = set()
    if previous is not None:
        kept_names.update(_continuing_ids(units, previous, kept_names))
        reserved = set(previous.loc[previous["status"] == "placed", "cluster_id"])
    units, clusters = name_clusters(units, inputs, kept_names, reserved)
    units["edits"] = [" | ".join(e.describe() for e in named.get(sid, [])) for sid in units["school_id"]]
    teachers_out = teacher_rows(teachers, units, named)
    status = "optimal" if all(s == "optimal" or s == "infeasible" for s in acc.statuses) else "time_limit"
    return Plan(
        units=units,
        teachers=teachers_out,
        clusters=clusters,
        objective=acc.objective,
        lower_bound=min(acc.bound, acc.objective),
        solve_seconds=time.perf_counter() - t0,
        status=status,
        placement_proven=acc.proven,
        travel=travel,
        policy=policy,
        inputs=inputs,
        backend=backend,
        notes=acc.notes,
        kept_clusters=len(set(kept_names.values()) & set(clusters["cluster_id"])),
        edits=edits if edits.rows else None,
        previous=previous,
    )


@dataclass
class _Totals:
    """What the parts of a plan add up to: objective, bound, statuses, notes, and where the clock cut or nothing was proven."""

    objective: float = 0.0
    bound: float = 0.0
    statuses: list[str] = field(default_factory=list)
    proven: bool = True
    notes: list[str] = field(default_factory=list)
    cut_regions: dict[Any, DistrictPolicy] = field(default_factory=dict)
    unproven_regions: set[Any] = field(default_factory=set)


@dataclass
class _Clock:
    """How a district's time limit is shared by its parts.

    ``time_limit_seconds`` is the solver time of a district: its parts share it
    by size, and what one part leaves unused goes to the parts after it (the
    clock of a region starts at its first part). The work of a part (nodes,
    search steps) is its share of the policy's limit by size: a number from
    the inputs, never from the clock, so the same inputs give the same plan
    on a quiet or a busy machine.
    """

    left: dict[Any, int]
    total: dict[Any, int]
    deadline: dict[Any, float] = field(default_factory=dict)

    def take(self, region: Any, dp: DistrictPolicy, n: int) -> tuple[float, float]:
        """The wall-clock ceiling and the work (in seconds of the policy's limit) of a part of ``n`` units."""
        deadline = self.deadline.setdefault(region, time.perf_counter() + dp.time_limit_seconds)
        # the ceiling: the part's share of the time left, plus half of the later parts' shares
        # (work, not time, decides where a part stops; the ceiling only keeps the district's limit)
        left = max(0.0, deadline - time.perf_counter())
        share = left * (n + 0.5 * (self.left[region] - n)) / max(1, self.left[region])
        work = dp.time_limit_seconds * n / max(1, self.total[region])
        self.left[region] -= n
        return share, work


def _leave_out_excluded(units: pd.DataFrame, teachers: pd.DataFrame, edits: Edits) -> pd.DataFrame:
    """Drop the schools excluded by edits (their teachers keep the edit as their reason); fresh venue columns."""
    excluded = edits.excluded()
    if excluded:
        out = teachers["school_id"].isin(excluded)
        teachers.loc[out, "unit_id"] = ""
        teachers.loc[out, "excluded_reason"] = [f"excluded by edit {excluded[s].describe()}" for s in teachers.loc[out, "school_id"]]
        units = units[~units["school_id"].isin(excluded)]
    units = units.reset_index(drop=True).copy()
    units["venue_unit"] = ""
    units["travel_minutes"] = np.nan
    return units


def _lock_clusters(units: pd.DataFrame, previous: pd.DataFrame | None, edits: Edits, travel: TravelTimes, policy: Policy, acc: _Totals) -> dict[str, str]:
    """Keep the clusters locked by edits as they were in the previous plan; their travel counts in objective and bound."""
    kept_names: dict[str, str] = {}
    for e in edits.of("lock_cluster"):
        kept_names.update(_lock(units, previous, e.cluster_id, travel, policy))
    if kept_names:
        cost = _unit_travel_cost(units[units["venue_unit"] != ""], policy)
        acc.objective += cost
        acc.bound += cost
        acc.notes.append(f"edits: {len(kept_names)} cluster(s) locked as they were in the previous plan")
    return kept_names


def _jobs(units: pd.DataFrame, policy: Policy, previous: pd.DataFrame | None) -> list[tuple[Any, DistrictPolicy, np.ndarray, int | None, bool]]:
    """The independent problems: a whole district where n_clusters or max_moved_teachers couple its groups, else each group."""
    jobs: list[tuple[Any, DistrictPolicy, np.ndarray, int | None, bool]] = []
    for region, reg_units in units.groupby("region", sort=True):
        dp = policy.for_district(reg_units["district"].iloc[0])
        free = reg_units.index[reg_units["venue_unit"] == ""].to_numpy()
        if dp.n_clusters is not None:
            n_locked = len({units.at[i, "venue_unit"] for i in reg_units.index if units.at[i, "venue_unit"]})
            jobs.append((region, dp, free, dp.n_clusters - n_locked, True))
        elif previous is not None and dp.max_moved_teachers is not None:
            jobs.append((region, dp, free, None, True))
        else:
            for _, g in reg_units.groupby(["gender_group", "level_group"], sort=True):
                jobs.append((region, dp, g.index[g["venue_unit"] == ""].to_numpy(), None, False))
    return jobs


def _solve_part(
    units,
    region,
    dp: DistrictPolicy,
    sub,
    sub_pairs,
    group_size: int,
    n_clusters,
    whole: bool,
    edits: Edits,
    stays,
    backend: str,
    clock: _Clock,
    acc: _Totals,
    travel: TravelTimes,
) -> None:
    """Solve one independent part and write its venues and minutes into ``units``; add its figures to ``acc``."""
    share, work = clock.take(region, dp, len(sub))
    problem = _problem(sub, sub_pairs, dp, n_clusters)
    problem.side_rows = _side_rows(sub, sub_pairs, edits)
    hint = _add_moves(problem, sub, stays, dp.max_moved_teachers if whole else None) if stays is not None else None
    sparse = None
    if (
        dp.max_travel_minutes is None
        and (len(sub) > COMPLETE_UNITS or not complete_model_suits(len(sub), len(sub_pairs)))
        and not problem.side_rows
        and hint is None
        and problem.min_schools <= 1
    ):
        # no travel limit and a large group (a rule on size, not on free memory): the model is built on the pairs
        # that matter, with a bound for all
        sparse, problem = _solve_no_limit(problem, sub, travel, share, work, backend, str(region))
    if sparse is not None:
        sol = sparse
    else:
        check_model_size(len(sub), len(sub_pairs), where=str(region))
        budget = LARGE_GROUP_BUDGET if group_size >= LARGE_GROUP_UNITS and len(sub) <= SMALL_PART_UNITS else None
        model = ClusterModel(problem, backend=backend, budget=budget)
        sol = model.solve(max(2.0, share), hint=hint, work_seconds=work) if len(sub_pairs) else _empty(len(sub))
    if sol.time_cut:
        acc.cut_regions[region] = dp
    if sol.status == "infeasible":
        acc.notes.append(f"{region}: no plan has exactly {n_clusters} clusters; nobody placed there")
    placed = sol.venue_of >= 0
    used = _chosen_pairs(problem, sol.venue_of)  # the pair of each placed unit, in unit order
    travel_cost = float(sum(problem.travel_cost()[used].tolist()))
    sub_bound = sol.lower_bound
    if problem.move_weight:
        # sol.lower_bound bounds travel - W * stays; plans that move no more teachers have stays >= found
        found = problem.stay()[used].sum()
        sub_bound = max(0.0, sol.lower_bound + problem.move_weight * float(found))
    acc.objective += travel_cost
    acc.bound += min(sub_bound, travel_cost)
    acc.statuses.append(sol.status)
    acc.proven &= sol.placement_proven
    if not sol.placement_proven:
        acc.unproven_regions.add(region)
    acc.notes.extend(f"{region}: {nt}" for nt in sol.notes)
    rows = sub["index"].to_numpy()
    venue_rows = rows[sol.venue_of[placed]]
    units.loc[rows[placed], "venue_unit"] = units.loc[venue_rows, "unit_id"].to_numpy()
    units.loc[rows[placed], "travel_minutes"] = problem.pair_minutes[used]


def _solve_no_limit(problem: ClusterProblem, sub: pd.DataFrame, travel: TravelTimes, share: float, work: float, backend: str, where: str):
    """A large group without a travel limit on sparse candidates: (solution, the problem on the pairs it uses).

    With on-demand travel (each school's nearest in the table) the candidates
    come from :class:`~cluster_mapper.travel.nearest.GroupCandidates`; a fixed
    number of clusters over :data:`BLOCK_SOLVER_UNITS` units goes to the
    block-and-regroup solver. The returned problem carries the plan's pairs,
    whose minutes may lie beyond the table's nearest.
    """
    if travel.reach is None:
        return solve_sparse(problem, max(2.0, share), backend=backend, where=where, work_seconds=work), problem
    cands = _reach_candidates(sub, travel)
    if problem.n_clusters is not None and len(sub) >= BLOCK_SOLVER_UNITS:
        sol = solve_large(problem, cands, max(2.0, share), work_seconds=work, backend=backend, workers=_workers())
    else:
        sol = solve_sparse(problem, max(2.0, share), backend=backend, where=where, work_seconds=work, cands=cands)
    placed = np.flatnonzero(sol.venue_of >= 0)
    venue = sol.venue_of[placed]
    return sol, problem.with_pairs(placed, venue, cands.pair_minutes(placed, venue))


def _workers() -> int:
    """Processes for independent blocks: up to two of the cores this process may use (the plan does not depend on it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(2, cores))


def _closing_notes(cut_regions: dict[Any, DistrictPolicy], moved_note: bool) -> list[str]:
    """Notes on districts the clock cut, and on what a revision minimises."""
    notes = [
        f"{region}: the time limit ({dp.time_limit_seconds:g} s) cut the solver before its planned work was done, so this plan "
        "may differ from run to run (a busy machine does less in the same time); set time_limit_seconds = "
        f"{math.ceil(2 * dp.time_limit_seconds)} for the district (or plan when the machine is less busy) to get the same plan every time"
        for region, dp in cut_regions.items()
    ]
    if moved_note:
        notes.append(
            "revision: fewest teachers moved from their previous venue among the plans that place the most teachers, then least travel; "
            "the lower bound holds for plans that place as many teachers and move no more"
        )
    return notes


def _explain_all(units: pd.DataFrame, travel: TravelTimes, policy: Policy, edits: Edits, named: dict, previous, unproven_regions: set) -> None:
    """Status, reason and the smallest change that would place them, for every unit."""
    units["status"] = np.where(units["venue_unit"] != "", "placed", "not_placed")
    units["reason"] = ""
    units["suggestion"] = ""
    for i in np.flatnonzero(units["status"] == "not_placed"):
        region_i = units.iat[i, units.columns.get_loc("region")]
        reason, change = explain_not_placed(units, int(i), travel, policy, edits=edits, placement_proven=region_i not in unproven_regions)
        sid = units.iat[i, units.columns.get_loc("school_id")]
        if named.get(sid):
            reason += "; edits on this school: " + "; ".join(e.describe() for e in named[sid])
            change += "; or relax those edits"
        if previous is not None and dp_limit(policy, units.iat[i, units.columns.get_loc("district")]) is not None:
            change += "; or raise max_moved_teachers"
        units.iat[i, units.columns.get_loc("reason")] = reason
        units.iat[i, units.columns.get_loc("suggestion")] = change


def dp_limit(policy: Policy, district: str) -> int | None:
    """The district's ``max_moved_teachers`` (None: no limit)."""
    return policy.for_district(district).max_moved_teachers


def _unit_travel_cost(units: pd.DataFrame, policy: Policy) -> float:
    """Travel of placed units in each district's objective unit."""
    total = 0.0
    for m, n, d in zip(units["travel_minutes"], units["n_teachers"], units["district"], strict=False):
        total += float(m) * (1 if policy.for_district(d).objective == "school_trips" else int(n))
    return total


def _previous_venues(teachers: pd.DataFrame, previous: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per current unit, how many of its teachers met at each venue school in the previous plan."""
    prev = previous[previous["status"] == "placed"]
    venue_of = dict(zip(prev["teacher_id"].astype(str), prev["venue_school_id"].astype(str), strict=False))
    out: dict[str, dict[str, int]] = {}
    for tid, unit, n in zip(teachers["teacher_id"].astype(str), teachers["unit_id"], teachers["n_teachers"], strict=False):
        if unit and tid in venue_of:
            d = out.setdefault(unit, {})
            d[venue_of[tid]] = d.get(venue_of[tid], 0) + int(n)
    return out


def _add_moves(problem: ClusterProblem, sub: pd.DataFrame, stays: dict[str, dict[str, int]], max_moved: int | None) -> np.ndarray:
    """Make ``problem`` a least-change problem; return the previous plan as a warm start (``venue_of``).

    The move weight is one more than the largest travel any plan could have
    (the sum of each unit's dearest pair), so one moved teacher always costs
    more than all the travel: fewest moves first, then least travel.
    """
    school = sub["school_id"].to_numpy()
    unit = sub["unit_id"].to_numpy()
    pm, pv = problem.pair_member, problem.pair_venue
    problem.pair_stay = np.array([stays.get(unit[m], {}).get(school[v], 0) for m, v in zip(pm, pv, strict=False)], dtype=float)
    prev = np.array([sum(stays.get(u, {}).values()) for u in unit], dtype=float)
    problem.prev_teachers = int(prev.sum())
    problem.pair_prev = prev[pm] if len(pm) else np.zeros(0)
    cost = problem.travel_cost()
    dearest = np.zeros(problem.n_units)
    if len(pm):
        np.maximum.at(dearest, pm, cost)
    problem.move_weight = float(np.ceil(dearest.sum())) + 1.0
    problem.max_moved = max_moved
    hint = np.full(problem.n_units, -1, dtype=np.int64)
    for k in np.flatnonzero(problem.pair_stay > 0):
        if problem.pair_stay[k] == problem.n_teachers[pm[k]]:
            hint[pm[k]] = pv[k]
    return hint


def _chosen_pairs(problem: ClusterProblem, venue_of: np.ndarray) -> np.ndarray:
    """Indices of the problem's pairs a ``venue_of`` uses (one per placed unit, in unit order; the last of repeated pairs)."""
    n = max(1, problem.n_units)
    key = np.asarray(problem.pair_member, dtype=np.int64) * n + np.asarray(problem.pair_venue, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    placed = np.flatnonzero(np.asarray(venue_of) >= 0)
    want = placed.astype(np.int64) * n + np.asarray(venue_of, dtype=np.int64)[placed]
    at = np.searchsorted(key[order], want, side="right") - 1
    if len(want) and (np.any(at < 0) or np.any(key[order][np.maximum(at, 0)] != want)):
        raise KeyError("a placed unit's venue is not one of its allowed pairs")
    return order[at].astype(np.int64)


def _edit_pairs(group: pd.DataFrame, pairs: pd.DataFrame, edits: Edits) -> pd.DataFrame:
    """Drop the pairs that ``venue`` (hosts its own cluster) and ``no_venue`` (hosts none) rule out."""
    hosts = {e.school_id for e in edits.of("venue")}
    no_hosts = {e.school_id for e in edits.of("no_venue")}
    if not hosts and not no_hosts or len(pairs) == 0:
        return pairs
    school = group["school_id"].to_numpy()
    m, v = pairs["member"].to_numpy(), pairs["venue"].to_numpy()
    keep = ~np.isin(school[v], list(no_hosts)) & ~(np.isin(school[m], list(hosts)) & (m != v))
    return pairs[keep].reset_index(drop=True)


def _side_rows(sub: pd.DataFrame, pairs: pd.DataFrame, edits: Edits) -> list[SideRow]:
    """Rows for ``together`` (same venue or none) and ``apart`` (never the same venue) within one problem."""
    rows: list[SideRow] = []
    wanted = edits.of("together", "apart")
    if not wanted or len(pairs) == 0:
        return rows
    key = list(zip(sub["school_id"], sub["gender_group"], sub["level_group"], strict=False))
    pos = {k: i for i, k in enumerate(key)}
    m, v = pairs["member"].to_numpy(), pairs["venue"].to_numpy()
    venues_of: dict[int, set[int]] = {}
    for a, b in zip(m, v, strict=False):
        venues_of.setdefault(int(a), set()).add(int(b))
    for e in wanted:
        for s, g, lv in key:
            if s != e.school_id or (e.other_school_id, g, lv) not in pos:
                continue
            a, b = pos[(s, g, lv)], pos[(e.other_school_id, g, lv)]
            if e.action == "together":
                for j in sorted(venues_of.get(a, set()) | venues_of.get(b, set())):
                    rows.append(SideRow(np.array([a, b]), np.array([j, j]), np.array([1.0, -1.0]), 0.0, 0.0))
            else:
                for j in sorted(venues_of.get(a, set()) & venues_of.get(b, set())):
                    rows.append(SideRow(np.array([a, b]), np.array([j, j]), np.array([1.0, 1.0]), -np.inf, 1.0))
    return rows


def _lock(units: pd.DataFrame, previous: pd.DataFrame, cluster_id: str, travel: TravelTimes, policy: Policy) -> dict[str, str]:
    """Place a locked cluster's units at its previous venue; returns {venue unit: cluster id}."""
    c = previous[(previous["status"] == "placed") & (previous["cluster_id"] == cluster_id)]
    venue_school = str(c["venue_school_id"].iloc[0])
    members = units[units["unit_id"].isin(set(c["unit_id"]))]
    venue = members[members["school_id"] == venue_school]
    v = venue["unit_id"].iloc[0]
    units.loc[members.index, "venue_unit"] = v
    units.loc[members.index, "travel_minutes"] = [travel.minutes(s, venue_school) for s in members["school_id"]]
    return {v: cluster_id}


def _continuing_ids(units: pd.DataFrame, previous: pd.DataFrame, taken: dict[str, str]) -> dict[str, str]:
    """Previous cluster ids for the new clusters whose venue unit hosted one before."""
    prev = previous[(previous["status"] == "placed") & (previous["school_id"] == previous["venue_school_id"])]
    hosted = dict(zip(prev["unit_id"], prev["cluster_id"], strict=False))
    used = set(taken.values())
    out = {}
    for v in sorted(set(units.loc[units["status"] == "placed", "venue_unit"])):
        if v not in taken and v in hosted and hosted[v] not in used:
            out[v] = hosted[v]
            used.add(hosted[v])
    return out


def _restrict_pairs(pairs: pd.DataFrame, comp: np.ndarray, n: int) -> pd.DataFrame:
    """The pairs of one connected component, renumbered to positions within it."""
    where = np.full(n, -1)
    where[comp] = np.arange(len(comp))
    sub = pairs[where[pairs["member"].to_numpy()] >= 0].copy()
    sub["member"] = where[sub["member"].to_numpy()]
    sub["venue"] = where[sub["venue"].to_numpy()]
    return sub.reset_index(drop=True)


def _empty(n: int) -> ClusterSolution:
    return ClusterSolution(np.full(n, -1), 0.0, 0.0, 0, True, "optimal", 0.0)


def _typed_pairs(group: pd.DataFrame, travel: TravelTimes, limit: float) -> pd.DataFrame:
    """Allowed pairs, only between units of the same gender and level group."""
    parts = []
    for _, g in group.groupby(["gender_group", "level_group"], sort=True):
        p = _allowed_pairs(g.reset_index(drop=True), travel, limit)
        pos = g.index.to_numpy()
        p["member"] = pos[p["member"].to_numpy()]
        p["venue"] = pos[p["venue"].to_numpy()]
        parts.append(p)
    if not parts:
        return pd.DataFrame({"member": [], "venue": [], "minutes": []})
    return pd.concat(parts, ignore_index=True).sort_values(["venue", "member"], kind="stable").reset_index(drop=True)


__all__ = ["Plan", "solve_plan", "explain_not_placed"]
