"""The cluster model: a capacitated p-median with lower bounds, solved with OR-Tools.

One :class:`ClusterProblem` is a set of units that may cluster together (one
district, gender group and level group, or a whole district when its number
of clusters is fixed). A unit ``j`` that can host opens a cluster at its
school (the *venue*); the venue's own unit belongs to it. Each unit joins at
most one cluster, only at a venue within the travel limit.

Variables: ``x[i, j]`` unit ``i`` meets at venue ``j`` (only allowed pairs
exist), ``y[j] = x[j, j]`` venue ``j`` is open. Constraints::

    sum_j x[i, j] <= 1                                   each unit at most once
    x[i, j] <= y[j]                                      strong p-median linking
    min_teachers * y[j] <= sum_i n[i] x[i, j] <= max_teachers * y[j]
    sum_i x[i, j] <= max_schools * y[j]
    sum_j y[j] = n_clusters                              when fixed
    sum_i x[i, j] >= min_schools * y[j]                  when min_schools > 1

plus the rows of edits (``together``, ``apart``) and, when a plan is revised,
a limit on the teachers moved (:mod:`.formulation` documents both).

Solved lexicographically: first the most teachers placed (nobody is left out
who could be placed), then, with that many placed, the least travel. When a
plan is revised, the second step minimises ``move_weight * moved teachers +
travel`` with ``move_weight`` above any plan's travel: fewest moves first,
then least travel.

Usage::

    model = ClusterModel(problem, backend="HIGHS", budget=SolveBudget())
    solution = model.solve(time_limit_seconds=60)   # also model.solution

How it is solved (exactly, and fast enough for 400 units and 160,000 pairs):

1. *Placement.* If the linear relaxation with every unit placed is feasible,
   the plan tries to place everyone; the first plan found that does proves it
   (nobody can place more). Only otherwise is the placement maximised by a
   mixed-integer solve of its own.
2. *Lower bound* (:mod:`.bound`). The linear relaxation of the travel model is
   solved by column-and-row generation (only the pairs that can matter enter
   the LP). From its duals, a Lagrangian bound ``L`` and a reduced cost ``rc``
   per pair are computed, in numpy, over *all* pairs: they are valid for any
   dual vector, so LP tolerances cannot make them wrong.
3. *Incumbent* (:mod:`.search`). A dive on the LP opens whole venues; a small
   mixed-integer model over the "core" (the pairs of each unit with the
   smallest reduced costs) assigns the units to them, and locate-allocate
   moves each venue to its cluster's best school.
4. *Large-neighbourhood search* (:mod:`.search`). The clusters around each
   venue in turn are freed (every other unit keeps its venue) and re-solved
   exactly by a small, node-limited mixed-integer model; a better plan
   replaces the incumbent. This escapes the local optima of step 3 (on SJC4a
   it takes the plan from 0.75 % to under 0.1 % above the optimum).
5. *Exact reduction* (:mod:`.bound`, :mod:`.mip`). Any plan using pair ``k``
   costs at least ``L + rc[k] (+ rc of its venue)``; every pair for which this
   exceeds the incumbent cannot be in a better plan and is dropped. The
   remaining model is solved by the mixed-integer solver; its optimum (or the
   incumbent, when it finds nothing better) is the global optimum, and
   ``min(its bound, incumbent)`` is a proven global lower bound.

The mixed-integer solver is HiGHS through ``pywraplp`` by default (SCIP, CBC
and CP-SAT are selectable; :mod:`.mip` documents the workarounds for OR-Tools'
HiGHS wrapper); step 5 and the LP go to HiGHS through ``highspy`` when it is
installed (else the wrapper and OR-Tools' GLOP): the exact step then starts
from the incumbent and keeps its best plan and bound if stopped, and HiGHS's
cuts close most of what the Lagrangian bounds below leave open under the
field's rules (a 654-school group without a travel limit: 4.8 % above the
size-aware bound, proven optimal in about 2 s). Everything is single-threaded with fixed
seeds, and every step is limited by work (nodes, search steps, set by
``work_seconds``, a number from the policy), not by time: the same inputs give
the same plan on any machine unless the wall-clock ceiling cuts a step, which
``ClusterSolution.time_cut`` and a note then say. The work limits and the
shares of the ceiling are a :class:`SolveBudget` (by default 5 % of the
ceiling is kept in reserve, so a solve ends a little before it).

Two more steps guard the result: a greedy construction (:mod:`.construct`)
is the floor of every solve (a group whose search runs out of time keeps it,
never "nobody placed"), and, when a minimum cluster size binds, every unit
is to be placed and the first plan is not proven by the LP, a Lagrangian bound that keeps the cluster rules
per venue (:mod:`.lagrange`) raises the LP bound before step 4; its own exact
reduction (a plan using pair ``(i, j)`` pays venue ``j``'s best cluster with
``i`` forced in) is added to step 5's. Where that bound applies and more
pairs are left than the exact step can finish in its work
(``SolveBudget.exact_columns``), the exact step is not started and a note
says how much longer a limit would let it start (without a binding minimum
size, the size-aware Lagrangian runs only after the exact step stops, as the LP is
strong there). Where the size-aware bound does not apply (no binding minimum
size, or clusters too large for its programme: a plain capacitated p-median),
a Lagrangian that keeps each venue's capacity as a 0-1 knapsack
(:mod:`.knapsack`) takes its place before step 4, with its own exact
reduction (venue ``j``'s best knapsack with ``i`` forced in); when that
leaves a small model (``SolveBudget.exact_first_columns``), the exact step
comes first (from the plan, HiGHS's primal heuristics off) and step 4 runs only if it stops without a
proof (SJC2, 200 points: 33,207.7 from the LP's 33,089.3, 1,641 of 39,992
pairs left instead of 5,246, proven in about 2 s instead of 14). :meth:`ClusterProblem.subproblem` and
:meth:`ClusterProblem.with_pairs` are the one way to copy a problem, so no copy drops a rule. Nothing is
printed: solvers are silenced by their options, and progress goes to
``logging`` at debug level under the ``cluster_mapper.model`` loggers.

Modules: :mod:`.formulation` (data to model arrays), :mod:`.bound` (LP bound),
:mod:`.mip` (mixed-integer solves), :mod:`.search` (heuristics),
:mod:`.budget` (work limits and time shares), :mod:`.construct` (greedy
floor), :mod:`.lagrange` (size-aware bound), :mod:`.knapsack` (capacity-knapsack
bound, shared with :mod:`.large`), :mod:`.solve` (the orchestration).
"""

from cluster_mapper.model.budget import SolveBudget
from cluster_mapper.model.formulation import ClusterProblem, Formulation, SideRow
from cluster_mapper.model.mip import BACKENDS, DEFAULT_BACKEND
from cluster_mapper.model.solve import ClusterModel, ClusterSolution, relative_gap

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "ClusterModel",
    "ClusterProblem",
    "ClusterSolution",
    "Formulation",
    "SideRow",
    "SolveBudget",
    "relative_gap",
]
