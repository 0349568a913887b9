"""cluster_mapper: form teacher peer-learning clusters from schools, rosters and roads.

One public API, used by the command line, the notebook and the benchmarks::

    from cluster_mapper import Scenario, TravelSource, plan, plan_support, write_plan

    scenario = Scenario(schools="schools.csv", teachers="roster.csv",
                        policy="policy.toml", travel=TravelSource(network_path="roads.osm.pbf"))
    result = plan(scenario)          # clusters, reasons, bound and gap, travel times, network
    result.support = plan_support(result, "facilitators.csv")  # optional: who supports each cluster, their month
    write_plan(result, "outputs/plan")

The modules read as the pipeline: ``tables`` (any table as offices keep it:
CSV, workbooks, their headers and codes), ``inputs`` and ``policy`` (read
and check; ``preview`` shows how before planning)
→ ``osm`` and ``network`` (road networks, through osmnx and pyosmium) → ``travel`` (travel times) → ``units`` → ``model`` (the
OR-Tools cluster model) → ``planner`` (plan and reasons) → ``plan_io``
(files) → ``validate`` (independent checks) → ``mapping`` (with
``context``), ``report`` and ``compare`` (review). Revising a plan with the
people who use it: ``edits`` (the edits file, checked before solving),
``changes`` (what moved and why: ``diff``, ``changes.csv``) and ``export``
(the workbook round trip). ``api`` joins them.
``support`` plans who supports each cluster and their month (facilitators,
calendar, itineraries, GPX); ``Scenario(..., facilitators=...)`` does it in
``plan``.
"""

from cluster_mapper._version import __version__
from cluster_mapper.api import Scenario, Travel, TravelSource, plan  # noqa: E402
from cluster_mapper.folder import read_plan, write_plan  # noqa: E402
from cluster_mapper.support import plan_support  # noqa: E402
from cluster_mapper.validate.plan import validate_plan  # noqa: E402

__all__ = ["Scenario", "Travel", "TravelSource", "plan", "write_plan", "read_plan", "validate_plan", "plan_support", "__version__"]
