"""How one solve divides its time limit between its steps.

A solve gets one wall-clock limit (``ClusterModel.solve(time_limit_seconds)``).
:class:`SolveBudget` names every share of it that the steps use, so that the
numbers live in one place instead of inline in the code. The defaults are the
values the model has always used; changing them changes where a solve that
runs out of time stops, never what a finished solve proves.

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
    dive_share : float
        Fraction of the time left given to the LP dive that picks the first
        plan's venues (0.25).
    incumbent_mip_share : float
        Fraction of the time left given to the mixed-integer solve that
        assigns units to the dive's venues, and again to its retry on all
        their pairs (0.3).
    incumbent_mip_max_seconds : float
        Cap, in seconds, on the first of those two solves (30).
    locate_allocate_share : float
        Fraction of the time left given to locate-allocate (0.35).
    locate_allocate_min_seconds : float
        Locate-allocate stops when fewer seconds than this are left (0.5).
    lns_share : float
        Fraction of the time left given to the large-neighbourhood search
        (0.5).
    exact_min_seconds : float
        When fewer seconds than this are left before the exact solve, the
        best plan found is returned without it (0.2).
    exact_slack_seconds : float
        The exact solve's limit is the time left minus this many seconds
        (0.5), for building the model and reading the plan back.
    mip_min_seconds : float
        No mixed-integer solve of the steps above gets less than this many
        seconds (1.0), even if that passes the deadline.
    """

    reserve: float = 0.05
    placement_share: float = 0.4
    placement_min_seconds: float = 0.5
    dive_share: float = 0.25
    incumbent_mip_share: float = 0.3
    incumbent_mip_max_seconds: float = 30.0
    locate_allocate_share: float = 0.35
    locate_allocate_min_seconds: float = 0.5
    lns_share: float = 0.5
    exact_min_seconds: float = 0.2
    exact_slack_seconds: float = 0.5
    mip_min_seconds: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_seconds"):
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
