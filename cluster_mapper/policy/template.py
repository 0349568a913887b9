"""The commented policy that `cluster-mapper init` writes: every setting at its default, with its help."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from cluster_mapper.inputs.specs import TABLE_KINDS, InputSettings, table_spec
from cluster_mapper.policy.load import NONE_WHEN_ZERO
from cluster_mapper.policy.rules import DistrictPolicy, SupportPolicy, TravelPolicy

#: What each policy key means, for the template ``cluster-mapper init`` writes.
KEY_HELP = {
    "min_teachers": "smallest cluster, in teachers (field study: 6)",
    "max_teachers": "largest cluster, in teachers (field study: 12)",
    "max_schools": "most schools in one cluster; 0 = no limit",
    "max_travel_minutes": "longest trip from a member school to the venue, in minutes; 0 = no limit",
    "gender": '"segregated" (women and men in separate clusters) or "mixed"',
    "levels": '"separate" (primary apart from middle and high) or "mixed"',
    "n_clusters": "exactly this many clusters in each district (one per mentor); 0 = as many as suit",
    "objective": '"teacher_minutes" (each teacher\'s travel) or "school_trips" (one trip per school)',
    "time_limit_seconds": "solver time for each district, in seconds",
    "include_head_teachers": "place head teachers as regular members (the field study advises against)",
    "min_schools": "fewest schools in one cluster (2 or more: teachers meet colleagues of other schools)",
    "subjects_required": 'cluster roles: subjects each middle/high cluster should have a teacher of, e.g. ["math", "science", "english"]',
    "subjects_rule": '"preferred" (cover the subjects where possible) or "hard" (no cluster without them)',
    "max_moved_teachers": "with --revise: most teachers moved to another venue; unset = no limit (0 is a limit)",
    "travel_mode": '"walk" (every road and path, both ways, slopes) or "drive" (motorable roads, one-way streets)',
    "walking_speed_kmh": "walking speed on flat ground, km/h (Tobler's hiking function on slopes)",
    "detour_factor": "road distance over straight distance, only for --straight-line",
    "max_snap_metres": "schools farther than this from the road network are flagged, in metres",
    "crs": 'projected CRS of x/y school columns, e.g. "EPSG:32643" (UTM 43N); "" = none',
    "elevation": "elevation rasters (DEM tiles, any CRS) for the road network, paths relative to this file (or --elevation)",
    "cross_district": "plan all districts together: clusters may cross district borders (no [districts.*] tables then)",
    "district": 'the district of every school, for a one-district file without a district column (or --district); "" = from the file',
}

#: What each ``[support]`` key means (facilitators; shown commented out: support runs only with a facilitators file).
SUPPORT_HELP = {
    "meeting_minutes": "length of one cluster meeting, minutes",
    "working_day_minutes": "a facilitator's day from leaving the base to coming back, minutes",
    "meetings_per_month": "meetings of each cluster a facilitator attends in a month (different days)",
    "same_gender": "a cluster of women gets a woman, of men a man; a cluster of both anyone",
    "match_levels": "the facilitator's levels include every level of the cluster",
    "match_subjects": "a facilitator who lists subjects supports clusters with a teacher of one",
    "same_district": "a facilitator with a district supports only that district's clusters",
    "time_limit_seconds": "solver work for assignment and calendar (deterministic units, about seconds)",
    "month": 'the month planned, e.g. "2027-03": meetings on real dates',
    "workdays": 'working weekdays; or a table {default = [...], "District" = [...]}',
    "holidays": 'ISO dates with no meetings, e.g. ["2027-03-23"]',
    "day_start": "clock time a facilitator leaves the base",
    "meeting_window": 'meetings start within this window, e.g. ["09:00", "14:00"]',
    "attendance_threshold": "attendance rate below which a cluster or teacher is at risk (0..1)",
}


def _support_block() -> list[str]:
    """The ``[support]`` table, commented out, every key at its default."""
    sp = SupportPolicy()
    out = ["# [support]                       # facilitators (with --facilitators or cluster-mapper support)"]
    for f in fields(SupportPolicy):
        if f.name not in SUPPORT_HELP:
            continue
        value = getattr(sp, f.name)
        text = f"{f.name} = " + ('"2027-03"' if f.name == "month" and value is None else '["09:00", "14:00"]' if value is None else _toml_value(f.name, value))
        out.append(f"# {text:<31} # {SUPPORT_HELP[f.name]}")
    return [*out, ""]


def _toml_value(key: str, value: Any) -> str:
    if value is None:
        return "0" if key in NONE_WHEN_ZERO else '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def policy_template() -> str:
    """A commented policy file with every setting at its default (``cluster-mapper init``).

    Read back with :func:`load_policy`, it gives the defaults. The tables
    on how input files are read (``[sheets]``, ``[columns.*]``,
    ``[values.*]``) and ``[districts.NAME]`` are shown commented out, with
    every column of the tool's tables.
    """

    d, t, i = DistrictPolicy(), TravelPolicy(), InputSettings()
    out = [
        "# cluster_mapper policy: the rules for forming clusters, and how the input files are read.",
        "# Every setting is shown at its default; delete a line to keep the default.",
        "# Check it with: cluster-mapper inspect --schools SCHOOLS --policy THIS_FILE",
        "",
    ]

    def line(key: str, value: Any) -> str:
        if value is None and key == "max_moved_teachers":  # 0 is a real limit and TOML has no null: show it commented out
            text = f"# {key} = 100"
        else:
            text = f"{key} = {_toml_value(key, value)}"
        return f"{text:<34}# {KEY_HELP[key]}"

    out.append("# ---- clusters (defaults for every district)")
    out += [line(f.name, getattr(d, f.name)) for f in fields(DistrictPolicy)]
    out += ["", "# ---- travel (the whole run)"]
    out += [line(f.name, getattr(t, f.name)) for f in fields(TravelPolicy)]
    out += [line("cross_district", False), "", "# ---- input files (the whole run)", line("district", i.district), ""]
    out += [
        "# [sheets]                        # the sheet of a workbook that holds each table (or FILE.xlsx#Sheet)",
        '# schools = "Schools"',
        '# teachers = "Staff"',
        "",
    ]
    for kind in TABLE_KINDS:
        spec = table_spec(kind)
        if spec is None:
            continue
        out.append(f"# [columns.{kind}]{' ' * (22 - len(kind))}# the tool's column = your file's header (common names are recognised without it)")
        out += [f'# {f.name} = "..."{" " * max(1, 24 - len(f.name))}# {f.description}' for f in spec.fields]
        out.append("")
    out += [
        "# [values.schools.gender]        # your file's codes = the tool's (case and spaces ignored)",
        '# "Co-education" = "mixed"',
        "",
        "# [values.teachers.level]        # post designations to the level taught",
        '# PST = "primary"',
        '# EST = "middle"',
        '# SST = "high"',
        "",
        "# [values.teachers.role]         # a head post needs no level (it takes the school's);",
        '# "Head Master" = "head_teacher"   # one Designation column may feed both: level = "Designation" and role = "Designation"',
        '# "Head Mistress" = "head_teacher"',
        "",
        "# [values.schools.can_host]",
        "# Yes = true",
        "",
        *_support_block(),
        "# [districts.Abbottabad]          # one district's own rules: any key of the clusters block",
        '# gender = "mixed"',
        "",
    ]
    return "\n".join(out)
