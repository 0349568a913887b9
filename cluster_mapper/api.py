"""The one way in: a :class:`Scenario` planned into a :class:`~cluster_mapper.planning.solve.Plan`.

Every caller (the command line, ``compare``, the notebook, the benchmarks)
goes through :func:`plan`, so the job runs the same steps everywhere::

    read inputs ──► check the policy against them ──► travel times ──► plan
    (schools,        (a misspelt [districts.X]         (network loaded   (units, model,
     teachers,        is refused)                       once, kept on     reasons)
     policy)                                            the plan)

Example
-------
>>> from cluster_mapper import Scenario, plan, write_plan
>>> p = plan(Scenario.sample())                       # doctest: +SKIP
>>> p.teachers_placed, round(p.gap, 4)                # doctest: +SKIP
>>> write_plan(p, "outputs/plan")                     # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import networkx as nx
import pandas as pd

from cluster_mapper.errors import fail
from cluster_mapper.inputs.edits import read_edits
from cluster_mapper.inputs.schools import Inputs, load_inputs, load_schools
from cluster_mapper.model import DEFAULT_BACKEND
from cluster_mapper.planning.files import read_saved_plan as read_plan
from cluster_mapper.planning.roles import apply_subject_rule
from cluster_mapper.planning.solve import Plan, solve_plan
from cluster_mapper.policy.load import check_policy_districts, load_policy
from cluster_mapper.policy.rules import Policy
from cluster_mapper.sample import sample_paths
from cluster_mapper.support import plan_support
from cluster_mapper.travel.network import add_elevation_from_raster, check_network_reaches, load_network
from cluster_mapper.travel.times import TABLE_NEIGHBOURS, TravelTimes, matrix_travel_times, network_travel_times, straight_line_travel_times

log = logging.getLogger(__name__)

#: Called with (what is happening, fraction done between 0 and 1).
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class TravelSource:
    """Where travel times come from: exactly one of a road network, a matrix, or straight lines.

    Attributes
    ----------
    network_path : str or None
        Road network file (GraphML, OSM XML, ``.osm.pbf``, Overpass JSON).
    matrix_path : str or None
        CSV ``from_school_id, to_school_id, minutes``.
    straight_line : bool
        Straight-line distance times the policy's detour factor (announced
        in every output, never a silent default).
    """

    network_path: str | None = None
    matrix_path: str | None = None
    straight_line: bool = False

    def __post_init__(self) -> None:
        chosen = sum([self.network_path is not None, self.matrix_path is not None, bool(self.straight_line)])
        if chosen != 1:
            fail("<command line>", "give exactly one source of travel times.", fix="use one of --network FILE, --travel-matrix FILE or --straight-line.")

    def spec(self, cutoff_minutes: float | None) -> dict:
        """The ``travel`` entry of ``summary.json``: the source, its file and the cutoff."""
        if self.network_path:
            return {"source": "network", "network_path": str(Path(self.network_path).resolve()), "cutoff_minutes": cutoff_minutes}
        if self.matrix_path:
            return {"source": "matrix", "matrix_path": str(Path(self.matrix_path).resolve())}
        return {"source": "straight_line", "cutoff_minutes": cutoff_minutes}


@dataclass
class Scenario:
    """One planning job: the input files, the policy and where travel times come from.

    Attributes
    ----------
    schools : path
        Schools file: CSV, workbook (``.xlsx``, ``.ods``; ``FILE.xlsx#Sheet``
        for one sheet), GeoJSON or GeoPackage.
    travel : TravelSource
        Road network, matrix or straight lines.
    teachers : path or None
        Teacher roster (CSV or workbook); without it, the schools file's
        counts are used.
    policy : path, Policy or None
        A policy TOML file, an already loaded :class:`Policy`, or ``None``
        for the field-study defaults.
    revise : path or None
        An earlier plan folder: re-plan with the least change (the most
        teachers placed, then the fewest moved from their previous venue,
        then the least travel).
    edits : path or None
        An edits file (CSV, or the ``edits`` sheet of an XLSX workbook; see
        :mod:`cluster_mapper.inputs.edits`): hard rules from the people who use the
        plan. ``lock_cluster`` edits need ``revise``.
    backend : str
        OR-Tools MIP backend (``HIGHS``, ``SCIP``, ``CBC``, ``CP_SAT``).
    cache_dir : path, None or False
        Travel-time cache folder; ``None`` for the default, ``False`` for none.
    district : str or None
        The district of a one-district schools file without a district
        column (``--district``); overrides the policy's ``district``.
    elevation : tuple of paths or None
        Elevation rasters for the road network (``--elevation``); override
        the policy's ``elevation``. ``None`` keeps the policy's.
    facilitators : path or None
        Facilitators file: plan who supports each cluster and their month
        too (see :mod:`cluster_mapper.support`).
    """

    schools: str | Path
    travel: TravelSource
    teachers: str | Path | None = None
    policy: str | Path | Policy | None = None
    revise: str | Path | None = None
    backend: str = DEFAULT_BACKEND
    cache_dir: str | Path | None | bool = None
    district: str | None = None
    elevation: tuple[str | Path, ...] | None = None
    edits: str | Path | None = None
    facilitators: str | Path | None = None

    @classmethod
    def sample(cls, policy: str | Path | Policy | None = None, **kwargs) -> "Scenario":
        """The bundled Mansehra sample (generated schools and teachers on real settlements).

        ``policy`` defaults to the sample's own ``policy.toml``.
        """

        files = sample_paths()
        return cls(
            schools=files["schools"],
            teachers=files["teachers"],
            policy=files["policy"] if policy is None else policy,
            travel=TravelSource(network_path=str(files["network"])),
            **kwargs,
        )

    def load_policy(self) -> Policy:
        """The scenario's policy, read and checked, with the scenario's ``district`` and ``elevation`` in it.

        The one policy every step reads (and ``summary.json`` records): the
        command line's ``--district`` and ``--elevation`` win over the file's.
        """
        pol = self.policy if isinstance(self.policy, Policy) else load_policy(self.policy)
        return pol.with_overrides(district=self.district, elevation=self.elevation)

    @property
    def policy_path(self) -> str | None:
        """The policy file's absolute path, when the policy came from a file."""
        if isinstance(self.policy, Policy):
            return self.policy.source if self.policy.source and Path(self.policy.source).is_file() else None
        return str(Path(self.policy).resolve()) if self.policy is not None else None


@dataclass
class Travel:
    """Travel times of a run and the road network they came from (``None`` without one)."""

    times: TravelTimes
    network: nx.MultiDiGraph | None = None
    spec: dict = field(default_factory=dict)


def read_inputs(scenario: Scenario, policy: Policy) -> Inputs:
    """Read and check the scenario's schools and teachers (positions in the policy's ``crs``).

    Raises
    ------
    InputError
        Every problem of every file, with file, row, field and fix.
    """
    return load_inputs(scenario.schools, scenario.teachers, policy=policy)


def load_road_network(source: TravelSource, policy: Policy) -> nx.MultiDiGraph | None:
    """The scenario's road network for the policy's travel mode (``None`` without a network).

    With the policy's ``elevation`` rasters, the nodes they cover get their
    heights (walking times then follow the slopes) and the travel notes say
    which share of the network got one.
    """
    if not source.network_path:
        return None

    G = load_network(source.network_path, policy.travel)
    if policy.travel.elevation:
        add_elevation_from_raster(G, policy.travel.elevation)
        if policy.travel.travel_mode != "walk":
            G.graph["travel_notes"].append("elevation is not used for driving times (only walking follows the slopes)")
    return G


def travel_times(
    schools: pd.DataFrame,
    source: TravelSource,
    policy: Policy,
    *,
    network: nx.MultiDiGraph | None = None,
    cache_dir: str | Path | None | bool = None,
) -> Travel:
    """Travel minutes between all schools from the chosen source.

    Parameters
    ----------
    schools : geopandas.GeoDataFrame
        Schools as read by :func:`~cluster_mapper.inputs.schools.load_schools`.
    source : TravelSource
        Network, matrix or straight lines.
    policy : Policy
        Travel settings and the travel limits that set the cutoff
        (:attr:`Policy.travel_cutoff_minutes`).
    network : networkx.MultiDiGraph, optional
        An already loaded road network of ``source`` (not loaded again).
    cache_dir : path, None or False
        Travel-time cache folder.
    """
    cutoff = policy.travel_cutoff_minutes
    if source.network_path:
        G = network if network is not None else load_road_network(source, policy)
        assert G is not None
        check_network_reaches(G, schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy(), policy.travel, source=source.network_path)
        times = network_travel_times(schools, G, policy.travel, cutoff_minutes=cutoff, cache_dir=cache_dir)
        return Travel(times, G, source.spec(times.cutoff_minutes))
    if source.matrix_path:
        times = matrix_travel_times(source.matrix_path, schools)
    else:
        times = straight_line_travel_times(schools, policy.travel, cutoff_minutes=cutoff, nearest=TABLE_NEIGHBOURS if cutoff is None else None)
    return Travel(times, None, source.spec(times.cutoff_minutes))


def plan(scenario: Scenario, *, inputs: Inputs | None = None, travel: Travel | None = None, progress: Progress | None = None) -> Plan:
    """Plan a scenario: read, check, compute travel times, form clusters, explain who is left out.

    Parameters
    ----------
    scenario : Scenario
        Inputs, policy and travel source.
    inputs : Inputs, optional
        The scenario's schools and teachers, already read with this policy's
        ``crs`` (``compare`` reads them once for all scenarios).
    travel : Travel, optional
        Travel times already computed for these schools with the same travel
        settings and a cutoff at least as wide (``compare`` shares them
        between scenarios). Computed here when not given.
    progress : callable, optional
        Called with (message, fraction done).

    Returns
    -------
    Plan
        Clusters, assignments, reasons, objective, lower bound and gap, the
        travel times and the road network used, ready for
        :func:`~cluster_mapper.planning.files.write_plan`.

    Raises
    ------
    InputError
        A problem in an input file, a ``[districts.NAME]`` table that
        looks like a misspelt district, or edits that are unknown, break a
        rule or contradict each other (nothing is planned).
    """
    if progress:
        progress("reading schools and teachers", 0.0)
    policy = scenario.load_policy()
    edits = None
    if scenario.edits is not None:
        edits = read_edits(scenario.edits)
    if inputs is None:
        inputs = read_inputs(scenario, policy)
    notes = inputs.notes + check_policy_districts(policy, inputs.schools["district"])
    if travel is None:
        if progress:
            progress("computing travel times", 0.05)
        travel = travel_times(inputs.schools, scenario.travel, policy, cache_dir=scenario.cache_dir)
    previous = None
    if scenario.revise is not None:
        previous = read_plan(scenario.revise).assignments
    times = edits.apply_travel(travel.times) if edits is not None else travel.times
    result = solve_plan(inputs, times, policy, backend=scenario.backend, progress=progress, previous=previous, edits=edits)
    result.revised_from = str(Path(scenario.revise).resolve()) if scenario.revise is not None else None
    result.notes[:0] = notes
    result.network = travel.network
    result.travel_spec = travel.spec
    result.policy_path = scenario.policy_path
    if any(policy.for_district(d).subjects_required for d in result.units["district"].unique()):
        apply_subject_rule(result)
    if scenario.facilitators is not None:
        if progress:
            progress("planning facilitator support", 0.95)
        result.support = plan_support(result, scenario.facilitators)
    log.info(
        "planned %d clusters, %d of %d teachers placed, gap %.4f",
        len(result.clusters),
        result.teachers_placed,
        result.teachers_placed + result.teachers_not_placed,
        result.gap,
    )
    return result


def schools_travel_times(schools_path: str | Path, source: TravelSource, policy: Policy) -> Travel:
    """Travel times for a schools file alone (the ``travel-times`` command)."""
    schools = load_schools(schools_path, policy=policy)
    return travel_times(schools, source, policy)


def with_policy(scenario: Scenario, policy: str | Path | Policy | None) -> Scenario:
    """The same scenario under another policy (for comparisons)."""
    return replace(scenario, policy=policy)


__all__ = ["Scenario", "TravelSource", "Travel", "plan", "read_inputs", "travel_times", "load_road_network", "schools_travel_times", "with_policy"]
