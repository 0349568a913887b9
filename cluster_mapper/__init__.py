"""cluster_mapper: form teacher peer-learning clusters from schools, rosters and roads.

One public API, used by the command line, the notebook and the benchmarks::

    from cluster_mapper import Scenario, TravelSource, plan, plan_support, write_plan

    scenario = Scenario(schools="schools.csv", teachers="roster.csv",
                        policy="policy.toml", travel=TravelSource(network_path="roads.osm.pbf"))
    result = plan(scenario)          # clusters, reasons, bound and gap, travel times, network
    result.support = plan_support(result, "facilitators.csv")  # optional: who supports each cluster, their month
    write_plan(result, "outputs/plan")

The package is laid out as its pipeline, each folder importing only those
below it: ``inputs`` (tables as offices keep them, schools, rosters, edits)
→ ``policy`` (rules, loading, template) → ``travel`` (OSM adapter, road
networks, travel times) and ``model`` (the OR-Tools cluster model, arrays in
and out) → ``planning`` (units, solve, reasons, alternatives, changes, plan
files) → ``support`` (facilitators and their month) → ``review`` (map,
report, workbook) and ``validate`` (independent checks) → ``folder`` (the
plan folder, written atomically) → ``api`` (the one way in) → ``compare``,
``preview``, ``programme`` (many districts on Dask) and ``cli``.

The public names are imported when first used, so that ``cluster-mapper
--help`` does not pay for the solver and the GIS stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cluster_mapper._version import __version__

if TYPE_CHECKING:
    from cluster_mapper.api import Scenario, Travel, TravelSource, plan
    from cluster_mapper.folder import read_plan, write_plan
    from cluster_mapper.support import plan_support
    from cluster_mapper.validate.plan import validate_plan

#: Public name -> the module that defines it.
_PUBLIC = {
    "Scenario": "cluster_mapper.api",
    "Travel": "cluster_mapper.api",
    "TravelSource": "cluster_mapper.api",
    "plan": "cluster_mapper.api",
    "read_plan": "cluster_mapper.folder",
    "write_plan": "cluster_mapper.folder",
    "plan_support": "cluster_mapper.support",
    "validate_plan": "cluster_mapper.validate.plan",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cluster_mapper' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = ["Scenario", "Travel", "TravelSource", "plan", "write_plan", "read_plan", "validate_plan", "plan_support", "__version__"]
