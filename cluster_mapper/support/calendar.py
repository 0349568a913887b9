"""A real month: working dates, clock times, and each cluster's regular weekday.

With ``[support] month`` set, a facilitator's working days land on dates of
that month: workdays of their district (``workdays``, the five-day school
week by default), never a holiday. Clusters met on regular dates in the field
study, so each cluster has a regular slot, the *n*-th given weekday of the
month (for example the second Tuesday), fixed by its id so that it is the
same from month to month; each facilitator's days are matched to dates by
an assignment (SciPy's ``linear_sum_assignment``) that puts as many
meetings as possible on their cluster's slot, then on its weekday.

Clock times: a facilitator leaves the base at ``day_start``; with a
``meeting_window`` a facilitator who would arrive before it opens leaves
later, and a meeting may not start after it closes.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from cluster_mapper.policy.rules import SupportPolicy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = ("first", "second", "third", "fourth")


def clock_minutes(text: str) -> int:
    """``"08:30"`` -> 510."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def clock_text(minutes: float) -> str:
    """510 -> ``"08:30"`` (minutes of the day, rounded to the minute)."""
    m = round(float(minutes))
    return f"{(m // 60) % 24:02d}:{m % 60:02d}"


def working_dates(sp: SupportPolicy, district: str = "") -> list[dt.date]:
    """The month's dates that are workdays of ``district`` and not holidays (empty without ``month``)."""
    if not sp.month:
        return []
    year, month = (int(x) for x in sp.month.split("-"))
    days = set(sp.workdays_of(district))
    holidays = set(sp.holidays)
    n = _cal.monthrange(year, month)[1]
    out = []
    for d in range(1, n + 1):
        date = dt.date(year, month, d)
        if WEEKDAYS[date.weekday()] in days and date.isoformat() not in holidays:
            out.append(date)
    return out


@dataclass(frozen=True)
class Slot:
    """A cluster's regular date: the ``nth`` (0-based) ``weekday`` (0 = Monday) of the month."""

    nth: int
    weekday: int

    def words(self) -> str:
        return f"{ORDINALS[self.nth]} {WEEKDAY_NAMES[self.weekday]}"


def regular_slot(cluster_id: str, workdays: tuple[str, ...]) -> Slot:
    """The cluster's regular slot, fixed by its id (CRC-32): the same every month."""
    h = zlib.crc32(str(cluster_id).encode("utf-8"))
    days = [WEEKDAYS.index(d) for d in workdays] or [0]
    return Slot(nth=(h // len(days)) % 4, weekday=days[h % len(days)])


def slot_of(date: dt.date) -> Slot:
    return Slot(nth=min(3, (date.day - 1) // 7), weekday=date.weekday())


def match_dates(day_clusters: list[list[str]], dates: list[dt.date], workdays: tuple[str, ...]) -> list[dt.date]:
    """A date for each working day of one facilitator: as many meetings on their cluster's slot as possible.

    Parameters
    ----------
    day_clusters : list of list of str
        The clusters met on each working day.
    dates : list of datetime.date
        The facilitator's working dates (at least as many as days).

    Returns
    -------
    list of datetime.date
        One distinct date per day, in the days' order.
    """
    if not day_clusters:
        return []
    cost = np.zeros((len(day_clusters), len(dates)))
    slots = [slot_of(d) for d in dates]
    for i, cids in enumerate(day_clusters):
        for cid in cids:
            want = regular_slot(cid, workdays)
            for j, s in enumerate(slots):
                cost[i, j] += 0 if s == want else 1 if s.weekday == want.weekday else 3
        cost[i] += np.arange(len(dates)) * 1e-6  # ties: earlier dates, so the answer is unique
    rows, cols = linear_sum_assignment(cost)
    out = [dates[0]] * len(day_clusters)
    for r, c in zip(rows, cols):
        out[r] = dates[c]
    return out


def meeting_starts(travel_to: list[float], meeting_minutes: float, sp: SupportPolicy) -> tuple[float, list[float]] | None:
    """Clock minutes of leaving the base and of each meeting's start, or None when the window cannot be kept.

    ``travel_to[i]`` is the travel to meeting ``i`` from the previous stop
    (the base for the first).
    """
    start = float(clock_minutes(sp.day_start))
    lo, hi = (float(clock_minutes(sp.meeting_window[0])), float(clock_minutes(sp.meeting_window[1]))) if sp.meeting_window else (-1e9, 1e9)
    leave = start
    if travel_to and start + travel_to[0] < lo:
        leave = lo - travel_to[0]
    t, starts = leave, []
    for tr in travel_to:
        t += tr
        starts.append(t)
        if t > hi + 1e-6:
            return None
        t += meeting_minutes
    return leave, starts


def window_offsets(sp: SupportPolicy) -> tuple[float, float]:
    """The meeting window as minutes after ``day_start``: (earliest start, latest start)."""
    if not sp.meeting_window:
        return (-np.inf, np.inf)
    s = clock_minutes(sp.day_start)
    return (clock_minutes(sp.meeting_window[0]) - s, clock_minutes(sp.meeting_window[1]) - s)


__all__ = [
    "Slot",
    "clock_minutes",
    "clock_text",
    "match_dates",
    "meeting_starts",
    "regular_slot",
    "slot_of",
    "window_offsets",
    "working_dates",
]
