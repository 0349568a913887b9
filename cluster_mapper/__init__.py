"""cluster_mapper: form teacher peer-learning clusters from schools, rosters and roads.

One public API, used by the command line, the notebook and the benchmarks::

    from cluster_mapper import Scenario, TravelSource, plan, plan_support, write_plan

    scenario = Scenario(schools="schools.csv", teachers="roster.csv",
                        policy="policy.toml", travel=TravelSource(network_path="roads.osm.pbf"))
    result = plan(scenario)          # clusters, reasons, bound and gap, travel times, network
    result.support = plan_support(result, "facilitators.csv")  # optional: who supports each cluster, their month
    write_plan(result, "outputs/plan")

(``Scenario(..., facilitators="facilitators.csv")`` does the support step in ``plan``.)

The modules read as the pipeline: ``inputs`` and ``policy`` (read and check)
→ ``network`` and ``travel`` (travel times) → ``units`` → ``model`` (the
OR-Tools cluster model) → ``planner`` (plan and reasons) → ``plan_io``
(files) → ``validate`` (independent checks) → ``mapping``, ``report`` and
``compare`` (review). ``api`` joins them. ``support`` plans who supports
each cluster (facilitators, their month, GPX).
"""

__version__ = "0.2.0"

from .api import Scenario, Travel, TravelSource, plan  # noqa: E402
from .plan_io import read_plan, write_plan  # noqa: E402
from .support import plan_support  # noqa: E402
from .validate import validate_plan  # noqa: E402

__all__ = ["Scenario", "Travel", "TravelSource", "plan", "write_plan", "read_plan", "validate_plan", "plan_support", "__version__"]
