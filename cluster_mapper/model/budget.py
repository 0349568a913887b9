"""How much work one solve does, and how its wall-clock ceiling is shared.

A solve is driven by *work*, not by the clock, so the same inputs give the
same plan on a quiet or a busy machine: every step has a deterministic limit
(LP dive steps, branch-and-bound nodes, sub-models of the search), and the
limits of the open-ended steps (the search, the exact solve) grow with the
*work seconds* of the solve (``ClusterModel.solve(work_seconds=...)``, by
default the time limit): a number taken from the policy, never measured.

The wall clock (``time_limit_seconds``) is only a ceiling. When it stops a
step before its work is done, the solution says so
(``ClusterSolution.time_cut``), because the plan may then differ from run to
run. :class:`SolveBudget` names every limit and share in one place; changing
them changes where a solve stops, never what a finished solve proves.

Shares are fractions of the time *left* when the step starts (except
``reserve``, a fraction of the whole limit); seconds are wall-clock seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class SolveBudget:
    """Shares of the time limit given to each step of a solve.

    Attributes
    ----------
    reserve : float
        Fraction of the whole time limit kept back (0.05): the solve aims to
        end at ``(1 - reserve) * time_limit``, because the last solver call's
        model building and read-back can overrun its own limit a little.
    placement_share : float
        Fraction of the time left given to the mixed-integer solve that
        maximises the teachers placed, when not everyone can be (0.4).
    placement_min_seconds : float
        Seconds that must be left, after the all-placed attempt stopped
        without an answer, for the placement solve to be tried at all (0.5).
    locate_allocate_share : float
        0 turns locate-allocate off; otherwise it runs to its node and
        round limits under the solve's ceiling (0.35).
    locate_allocate_min_seconds : float
        Locate-allocate stops when fewer seconds than this are left (0.5).
    lns_share : float
        Most fraction of the time left the large-neighbourhood search may
        use, a ceiling on top of its work limit (0.5; 0 turns it off).
    lagrange_share : float
        Most fraction of the time left the Lagrangian bound (size-aware, or
        the capacity-knapsack one where that does not apply) may use, a
        ceiling on its fixed number of steps (0.3).
    exact_min_seconds : float
        When fewer seconds than this are left before the exact solve, the
        best plan found is returned without it (0.2).
    exact_slack_seconds : float
        The exact solve's limit is the time left minus this many seconds
        (0.5), for building the model and reading the plan back.
    mip_min_seconds : float
        No mixed-integer solve of the steps above gets less than this many
        seconds (1.0), even if that passes the deadline.
    search_max_nodes : int
        Branch-and-bound nodes of each mixed-integer model of the search
        (the placement, the first assignment, locate-allocate), 20,000.
    lns_solves_per_second : float
        Sub-models of the large-neighbourhood search per work second (3.0).
    lns_min_solves : int
        Sub-models of the search at least, whatever the work seconds (20).
    exact_nodes_per_second : float
        Branch-and-bound nodes of the exact solve per work second (1,000).
    exact_min_nodes : int
        Nodes of the exact solve at least (20,000).
    exact_columns_per_second : float
        Where the size-aware bound applies (the field's cluster rules), the
        exact solve is tried only on at most this many pairs per work second
        (1,500): a larger model rarely finishes in its share, and cut by the
        clock its plan would depend on the machine's speed (the plan found is
        kept, and a note says how much longer a limit would let it start).
        On 2 cores HiGHS proves a 654-school group of 13,990 pairs in about
        2 s and a 2,119-school one of 36,038 pairs in about 22 s.
    exact_min_columns : int
        The exact solve is always tried on this many pairs (5,000).
    exact_first_columns : int
        Where the knapsack bound applies (plain capacities), a model the
        bounds' reduction leaves with at most this many pairs goes to the
        exact solve straight after the bound, and the large-neighbourhood
        search runs only if that solve stops without a proof (2,500; SJC2,
        200 schools: 1,641 pairs, proven in about 2 s).
    """

    reserve: float = 0.05
    placement_share: float = 0.4
    placement_min_seconds: float = 0.5
    locate_allocate_share: float = 0.35
    locate_allocate_min_seconds: float = 0.5
    lns_share: float = 0.5
    lagrange_share: float = 0.3
    exact_min_seconds: float = 0.2
    exact_slack_seconds: float = 0.5
    mip_min_seconds: float = 1.0
    search_max_nodes: int = 20_000
    lns_solves_per_second: float = 3.0
    lns_min_solves: int = 20
    exact_nodes_per_second: float = 1000.0
    exact_min_nodes: int = 20_000
    exact_columns_per_second: float = 1500.0
    exact_min_columns: int = 5_000
    exact_first_columns: int = 2_500

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_nodes", "_solves", "_columns", "_per_second")):
                if not value >= 0:
                    raise ValueError(f"SolveBudget.{f.name} must be >= 0, not {value!r}")
            elif f.name.endswith("_seconds"):
                if not value >= 0.0:
                    raise ValueError(f"SolveBudget.{f.name} must be >= 0 seconds, not {value!r}")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"SolveBudget.{f.name} must be a fraction in [0, 1], not {value!r}")

    def deadline(self, start: float, time_limit_seconds: float) -> float:
        """The ``time.perf_counter()`` value at which the solve aims to end.

        Parameters
        ----------
        start : float
            ``time.perf_counter()`` when the solve started, seconds.
        time_limit_seconds : float
            The solve's whole wall-clock limit, seconds.
        """
        return start + (1.0 - self.reserve) * time_limit_seconds

    def share(self, fraction: float, now: float, deadline: float) -> float:
        """The ``time.perf_counter()`` value ending a step given ``fraction`` of the time left.

        Parameters
        ----------
        fraction : float
            The step's share of the time left.
        now, deadline : float
            ``time.perf_counter()`` values, seconds.
        """
        return now + fraction * (deadline - now)

    def lns_solves(self, work_seconds: float) -> int:
        """Most sub-models of the large-neighbourhood search for a solve of ``work_seconds``."""
        return max(self.lns_min_solves, int(self.lns_solves_per_second * work_seconds))

    def exact_columns(self, work_seconds: float) -> int:
        """Most pairs the exact solve is tried on, for a solve of ``work_seconds``."""
        return max(self.exact_min_columns, int(self.exact_columns_per_second * work_seconds))

    def exact_nodes(self, work_seconds: float) -> int:
        """Node limit of the exact solve for a solve of ``work_seconds``."""
        return max(self.exact_min_nodes, int(self.exact_nodes_per_second * work_seconds))
