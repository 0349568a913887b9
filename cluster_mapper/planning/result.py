"""The plan in memory: clusters, teachers, bound and gap, and what it was made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx
import pandas as pd

from cluster_mapper.inputs.edits import Edits
from cluster_mapper.inputs.schools import Inputs
from cluster_mapper.model import DEFAULT_BACKEND, relative_gap
from cluster_mapper.planning.changes import plan_changes
from cluster_mapper.planning.files import ASSIGNMENT_COLUMNS, plan_geodata, plan_summary
from cluster_mapper.policy.rules import Policy
from cluster_mapper.travel.times import TravelTimes


@dataclass
class Plan:
    """A cluster plan and how good it is.

    Attributes
    ----------
    units : pandas.DataFrame
        One row per unit: who, which cluster, venue, travel minutes, status
        (``placed`` / ``not_placed``), reason and suggested change.
    teachers : pandas.DataFrame
        One row per input teacher row, as written to ``assignments.csv``.
    clusters : pandas.DataFrame
        One row per cluster, as written to ``clusters.csv``.
    objective, lower_bound : float
        Total travel (teacher-minutes or school trips) and a proven lower bound.
    travel : TravelTimes
        The school-to-school minutes the plan was made with.
    network : networkx.MultiDiGraph or None
        The road network the travel times came from (drawn on the map).
    travel_spec : dict
        Where travel times came from, as written in ``summary.json``.
    policy_path : str or None
        The policy file, when the policy came from one.
    edits : Edits or None
        The edits the plan honours.
    previous : pandas.DataFrame or None
        ``assignments.csv`` of the plan this one revises.
    revised_from : str or None
        The folder of the plan this one revises.
    support : cluster_mapper.support.SupportPlan or None
        Who supports each cluster and the month's calendar, when a
        facilitators file was given.
    region_results : list
        For a programme (:mod:`cluster_mapper.programme.run`): each district
        task's result (where and how long it ran); empty otherwise.
    phase_seconds : dict
        For a programme: wall-clock seconds of its phases (read and split,
        tasks, merge); empty otherwise.
    """

    units: pd.DataFrame
    teachers: pd.DataFrame
    clusters: pd.DataFrame
    objective: float
    lower_bound: float
    solve_seconds: float
    status: str
    placement_proven: bool
    travel: TravelTimes
    policy: Policy
    inputs: Inputs
    backend: str = DEFAULT_BACKEND
    notes: list[str] = field(default_factory=list)
    kept_clusters: int = 0
    network: nx.MultiDiGraph | None = None
    travel_spec: dict = field(default_factory=dict)
    policy_path: str | None = None
    edits: Edits | None = None
    previous: pd.DataFrame | None = None
    revised_from: str | None = None
    support: Any = None
    region_results: list = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative gap between objective and lower bound (0 = proven optimal)."""
        return relative_gap(self.objective, self.lower_bound)

    @property
    def teachers_placed(self) -> int:
        return int(self.teachers.loc[self.teachers["status"] == "placed", "n_teachers"].sum())

    @property
    def teachers_not_placed(self) -> int:
        return int(self.teachers.loc[self.teachers["status"] != "placed", "n_teachers"].sum())

    @property
    def assignments(self) -> pd.DataFrame:
        """One row per teacher (or per school group for count input), as in ``assignments.csv``."""

        return self.teachers[ASSIGNMENT_COLUMNS]

    @cached_property
    def changes(self) -> pd.DataFrame | None:
        """Per teacher, what changed since the revised plan (``changes.csv``); None without one."""
        if self.previous is None:
            return None

        return plan_changes(self.previous, self.assignments, self.edits.to_frame() if self.edits else None)

    @cached_property
    def summary(self) -> dict:
        """The ``summary.json`` content: figures, bound, travel source, policy, inputs (computed once)."""

        return plan_summary(self)

    @cached_property
    def geodata(self):
        """Schools, venues, member lines and hulls as one GeoDataFrame (EPSG:4326), computed once."""

        return plan_geodata(self)
