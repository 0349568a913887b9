"""Planning policy: the rules from the field, as typed and validated settings.

A policy is a TOML file. Top-level keys are the defaults for every district;
``[districts.NAME]`` tables override them for one district. Travel settings
(how travel times are computed) apply to the whole run and sit at top level.

Example::

    min_teachers = 6
    max_teachers = 12
    max_travel_minutes = 60
    gender = "segregated"
    travel_mode = "walk"

    [districts.Muzaffarabad]
    gender = "mixed"

How the input files are read (their sheets, their column names, their codes,
the district of a one-district file) is part of the policy too
(:class:`InputSettings`)::

    district = "Abbottabad"          # the file has no district column

    [sheets]
    schools = "Schools"              # the sheet of a workbook

    [columns.schools]                # tool's name = the file's header
    school_id = "EMIS Code"

    [values.schools.gender]          # the file's code = the tool's value
    "Co-education" = "mixed"
    [support]                 # facilitators (see cluster_mapper.support)
    meeting_minutes = 180
    working_day_minutes = 480
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from cluster_mapper.errors import InputError
from cluster_mapper.inputs.specs import TABLE_KINDS, InputSettings

GENDER_POLICIES = ("segregated", "mixed")
LEVEL_POLICIES = ("separate", "mixed")
OBJECTIVES = ("teacher_minutes", "school_trips")
TRAVEL_MODES = ("walk", "drive")
SUBJECT_RULES = ("preferred", "hard")

#: The range each number of the policy accepts: ``(lowest, highest, unit)``; a number beyond it is refused
#: (a travel limit of 1e6 minutes is a typing slip, not a rule). ``0`` still means "no limit" where the key says so.
LIMITS: dict[str, tuple[float, float, str]] = {
    "min_teachers": (1, 500, "teachers"),
    "max_teachers": (1, 500, "teachers"),
    "max_schools": (0, 500, "schools"),
    "min_schools": (1, 500, "schools"),
    "n_clusters": (1, 100_000, "clusters"),
    "max_moved_teachers": (0, 1_000_000, "teachers"),
    "max_travel_minutes": (0, 480, "minutes (a working day)"),
    "time_limit_seconds": (0, 86_400, "seconds (a day)"),
    "walking_speed_kmh": (0, 15, "km/h"),
    "detour_factor": (1, 5, ""),
    "max_snap_metres": (0, 50_000, "metres"),
    "meeting_minutes": (0, 1_440, "minutes"),
    "working_day_minutes": (0, 1_440, "minutes"),
    "meetings_per_month": (1, 31, "meetings"),
}
#: Keys where 0 is written for "no limit".
ZERO_MEANS_NO_LIMIT = ("max_schools", "max_travel_minutes")


@dataclass(frozen=True)
class DistrictPolicy:
    """The clustering rules for one district.

    Attributes
    ----------
    min_teachers, max_teachers : int
        Size bounds of a cluster, in teachers (field study: 6 to 12).
    max_schools : int or None
        Most schools in one cluster; ``None`` means no limit (written ``0`` in
        the TOML file).
    max_travel_minutes : float or None
        Longest travel from a member school to the venue, in minutes;
        ``None`` means no limit (written ``0`` in the TOML file).
    gender : {"segregated", "mixed"}
        Separate clusters for women and men, or mixed clusters.
    levels : {"separate", "mixed"}
        Separate primary and middle (with high) clusters, or mixed-level ones.
    n_clusters : int or None
        If set, exactly this many clusters in the district (one per mentor).
    objective : {"teacher_minutes", "school_trips"}
        Minimise each teacher's travel, or one trip per school.
    time_limit_seconds : float
        Solver time limit for the district.
    include_head_teachers : bool
        Place head teachers as regular members (the study advises against).
    min_schools : int
        Fewest schools in one cluster (1: a school may form a cluster alone;
        2 or more: teachers from several schools meet in every cluster).
    max_moved_teachers : int or None
        With ``--revise``: most teachers of the district that may meet at
        another venue than in the previous plan (``None``: no limit, but as
        few as possible move). A hard rule: rather than move more, the plan
        leaves teachers unplaced (they are listed with the reason).
    subjects_required : tuple of str
        Cluster roles (field study: each cluster chose subject leaders in
        math, science and English): clusters with middle or high teachers
        should include at least one teacher of each of these subjects (the
        roster's ``subject`` column). Empty (the default): no rule.
    subjects_rule : {"preferred", "hard"}
        ``preferred``: the plan moves teachers between clusters to cover the
        subjects where it can without leaving anyone out, and says which
        clusters still lack one and why; ``hard``: a cluster that cannot
        cover them is not formed (its teachers are listed as not placed).
    """

    min_teachers: int = 6
    max_teachers: int = 12
    max_schools: int | None = 5
    max_travel_minutes: float | None = 60.0
    gender: str = "segregated"
    levels: str = "separate"
    n_clusters: int | None = None
    objective: str = "teacher_minutes"
    time_limit_seconds: float = 60.0
    include_head_teachers: bool = False
    min_schools: int = 1
    max_moved_teachers: int | None = None
    subjects_required: tuple[str, ...] = ()
    subjects_rule: str = "preferred"

    @property
    def travel_limit(self) -> float:
        """Travel limit in minutes, ``inf`` when there is none."""
        return float("inf") if self.max_travel_minutes is None else float(self.max_travel_minutes)

    def leaves_out(self, role: str) -> bool:
        """Whether a teacher of ``role`` stays out of clusters by policy.

        Head teachers support clusters but are not regular members (field
        study), unless ``include_head_teachers = true``.
        """
        return role == "head_teacher" and not self.include_head_teachers

    @property
    def school_limit(self) -> int:
        """Most schools per cluster, a large number when there is no limit."""
        return 10**9 if self.max_schools is None else self.max_schools


@dataclass(frozen=True)
class TravelPolicy:
    """How travel times are computed, for the whole run.

    Attributes
    ----------
    travel_mode : {"walk", "drive"}
        Walkers use every road and path both ways, at Tobler hiking speeds;
        drivers use motorable roads at their speeds and respect one-way streets.
    walking_speed_kmh : float
        Walking speed on flat ground, km/h (Tobler's function gives about 5).
    detour_factor : float
        Straight-line distance times this factor approximates road distance,
        used only for straight-line travel times.
    max_snap_metres : float
        A school farther than this from the network is flagged.
    crs : str or None
        The projected CRS of ``x``/``y`` school coordinates (e.g. "EPSG:32643").
    elevation : tuple of str
        Elevation rasters (DEM tiles, metres, any CRS) whose heights are put
        on the road network's nodes, so walking times follow the slopes.
        Paths relative to the policy file are resolved against its folder.
    """

    travel_mode: str = "walk"
    walking_speed_kmh: float = 5.0
    detour_factor: float = 1.4
    max_snap_metres: float = 500.0
    crs: str | None = None
    elevation: tuple[str, ...] = ()


@dataclass(frozen=True)
class SupportPolicy:
    """How facilitators support clusters: the ``[support]`` table, for the whole run.

    Defaults come from the field study (000) and the mentoring programme (002).

    Attributes
    ----------
    meeting_minutes : float
        Length of one cluster meeting, in minutes (000: meetings "last from
        2-3 hours"; 180).
    working_day_minutes : float
        A facilitator's working day, from leaving the base to coming back, in
        minutes (480: eight hours).
    meetings_per_month : int
        Meetings of each cluster a facilitator attends in a month, each on a
        different day (000: clusters met monthly; 1).
    same_gender : bool
        A cluster whose teachers are all women gets a woman facilitator, all
        men a man, whatever the district's gender policy; a cluster of women
        and men gets anyone (true).
    match_levels : bool
        The facilitator's levels include every teacher level of the cluster
        (000: TTOs for middle clusters, TTFs for primary ones; true).
    match_subjects : bool
        A facilitator who lists subjects supports only clusters with a
        teacher of one of them (false).
    same_district : bool
        A facilitator with a ``district`` supports only clusters of that
        district (true).
    time_limit_seconds : float
        Solver time for assignment and calendar, for the whole run (60). The
        solver's work is limited in its own deterministic units scaled from
        this, so the same inputs give the same plan on a quiet or busy machine.
    month : str or None
        The month planned, ``"YYYY-MM"`` (e.g. ``"2027-03"``): meetings get
        real dates on workdays. None: days are numbered 1..n, no dates.
    workdays : tuple of str
        Days of the week facilitators and schools work (``"mon"`` ..
        ``"sun"``; default the five-day school week). In the policy file
        either a list for every district or a table ``{default = [...],
        "District" = [...]}`` (see ``district_workdays``).
    district_workdays : tuple of (str, tuple of str)
        A district's own workdays, from the table form of ``workdays``.
    holidays : tuple of str
        ISO dates (``"2027-03-23"``) with no meetings.
    day_start : str
        Clock time a facilitator leaves the base, ``"HH:MM"`` ("08:00").
    meeting_window : tuple of (str, str) or None
        Meetings start within this clock window, e.g. ``("09:00", "14:00")``;
        a facilitator who would arrive earlier leaves the base later.
    attendance_threshold : float
        Attendance rate (0..1) below which a cluster or a teacher is at risk
        (``cluster-mapper attendance``; 0.6).
    """

    meeting_minutes: float = 180.0
    working_day_minutes: float = 480.0
    meetings_per_month: int = 1
    same_gender: bool = True
    match_levels: bool = True
    match_subjects: bool = False
    same_district: bool = True
    time_limit_seconds: float = 60.0
    month: str | None = None
    workdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    district_workdays: tuple[tuple[str, tuple[str, ...]], ...] = ()
    holidays: tuple[str, ...] = ()
    day_start: str = "08:00"
    meeting_window: tuple[str, str] | None = None
    attendance_threshold: float = 0.6

    def workdays_of(self, district: str) -> tuple[str, ...]:
        """The workdays of one district (its own, or the run's)."""
        return dict(self.district_workdays).get(district, self.workdays)


@dataclass(frozen=True)
class Policy:
    """Defaults, per-district overrides and travel settings of one scenario."""

    default: DistrictPolicy = field(default_factory=DistrictPolicy)
    districts: dict[str, DistrictPolicy] = field(default_factory=dict)
    travel: TravelPolicy = field(default_factory=TravelPolicy)
    cross_district: bool = False
    source: str | None = None
    inputs: InputSettings = field(default_factory=InputSettings)
    support: SupportPolicy = field(default_factory=SupportPolicy)

    def with_overrides(self, *, district: str | None = None, elevation: Iterable[str | Path] | None = None) -> Policy:
        """The same policy with the command line's ``--district`` and ``--elevation`` in place of the file's.

        ``None`` keeps the policy's own setting.
        """
        pol = self
        if district is not None:
            pol = replace(pol, inputs=replace(pol.inputs, district=str(district).strip() or None))
        if elevation is not None:
            pol = replace(pol, travel=replace(pol.travel, elevation=tuple(str(Path(p).resolve()) for p in elevation)))
        return pol

    def for_district(self, district: str) -> DistrictPolicy:
        """The rules that apply in ``district``: the one answer to "which policy applies here".

        Its ``[districts.NAME]`` table where there is one, else the defaults.
        With ``cross_district = true`` there are no district tables (the
        loader refuses them), so every district gets the defaults.
        """
        return self.districts.get(district, self.default)

    def left_out(self, assignments: pd.DataFrame) -> pd.Series:
        """Rows of an assignments table (``role``, ``district``, ``status``) left out by policy, not by the rules."""
        import pandas as pd

        rules = {d: self.for_district(d) for d in assignments["district"].unique()}
        flags = [
            st != "placed" and rules[d].leaves_out(r) for r, d, st in zip(assignments["role"], assignments["district"], assignments["status"], strict=False)
        ]
        return pd.Series(flags, index=assignments.index, dtype=bool)

    @property
    def travel_cutoff_minutes(self) -> float | None:
        """How far travel times are computed: three times the longest travel limit.

        Beyond the limit, times are still needed to say which longer limit
        would place a teacher; ``None`` (no cutoff) when any district has no
        travel limit.
        """
        limits = [self.default.max_travel_minutes, *(p.max_travel_minutes for p in self.districts.values())]
        if any(lim is None for lim in limits):
            return None
        return 3.0 * max(lim for lim in limits if lim is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary, as written in plan summaries."""
        out: dict[str, Any] = {f.name: _plain(getattr(self.default, f.name)) for f in fields(DistrictPolicy)}
        out.update({f.name: getattr(self.travel, f.name) for f in fields(TravelPolicy)})
        out["elevation"] = list(self.travel.elevation)
        out["cross_district"] = self.cross_district
        out["district"] = self.inputs.district
        out["sheets"] = dict(self.inputs.sheets)
        out["columns"] = {k: dict(v) for k, v in self.inputs.columns.items()}
        out["values"] = {k: {f: dict(m) for f, m in v.items()} for k, v in self.inputs.values.items()}
        out["support"] = {
            f.name: _plain_deep(getattr(self.support, f.name))
            for f in fields(SupportPolicy)
            if f.name != "district_workdays" and getattr(self.support, f.name) is not None
        }
        if self.support.district_workdays:  # the table form of workdays, as the policy file has it
            out["support"]["workdays"] = {"default": list(self.support.workdays), **{d: list(v) for d, v in self.support.district_workdays}}
        out["districts"] = {
            name: {f.name: _plain(getattr(p, f.name)) for f in fields(DistrictPolicy) if getattr(p, f.name) != getattr(self.default, f.name)}
            for name, p in self.districts.items()
        }
        return out


def _plain(value: Any) -> Any:
    """Policy values as plain TOML/JSON values (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _plain_deep(value: Any) -> Any:
    """Tuples (nested too) as lists, for the ``[support]`` settings."""
    return [_plain_deep(v) for v in value] if isinstance(value, (tuple, list)) else value


__all__ = ["LIMITS", "ZERO_MEANS_NO_LIMIT", "TABLE_KINDS", "SupportPolicy", "DistrictPolicy", "InputError", "InputSettings", "Policy", "TravelPolicy"]
