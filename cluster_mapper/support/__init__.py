"""Who supports each cluster: facilitators assigned and their month planned.

The support step of a plan (issue 9): a facilitators file in, each cluster's
facilitator, each facilitator's working days (base, meetings, base) with
times, the reasons and smallest changes for clusters left without support,
and how many facilitators of each kind a programme needs.

Modules, in the order they run:

- :mod:`.facilitators`: read and check the facilitators file
  (:func:`load_facilitators`, the one entry for other readers);
- :mod:`.travel`: facilitator travel minutes between bases and venues on the
  plan's own travel times, and the roads between them;
- :mod:`.model`: the optimisation (min-cost-flow floor, day routes, HiGHS and CP-SAT);
- :mod:`.explain` and :mod:`.sizing`: reasons, smallest changes, sizing;
- :mod:`.calendar`: a real month (working dates, each cluster's regular
  weekday, clock times and the meeting window);
- :mod:`.planning`: :func:`plan_support`, joining them;
- :mod:`.attendance`: meeting records read back, attendance and who is at risk;
- :mod:`.files`: ``support.csv``, ``itineraries.csv``, GPX, iCalendar, summary figures;
- :mod:`.review`: the map layers and report pages;
- :mod:`.roles`: cluster roles (subjects required, candidate subject leaders);
- :mod:`.check`: the validator's independent checks of the support files.
"""

from cluster_mapper.support.facilitators import FACILITATOR_COLUMNS, load_facilitators
from cluster_mapper.support.model import SupportModel, SupportProblem, SupportSolution
from cluster_mapper.support.planning import ITINERARY_COLUMNS, SUPPORT_COLUMNS, SupportPlan, SupportSource, plan_support

__all__ = [
    "FACILITATOR_COLUMNS",
    "ITINERARY_COLUMNS",
    "SUPPORT_COLUMNS",
    "SupportModel",
    "SupportPlan",
    "SupportProblem",
    "SupportSolution",
    "SupportSource",
    "load_facilitators",
    "plan_support",
]
