"""The tables the tool reads, declared once: their fields, headers, synonyms and codes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

#: Words read as true and as false in yes/no columns.
TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")


# --------------------------------------------------------------------------- names and codes


def header_key(name: Any) -> str:
    """How headers are compared: case, spaces and punctuation ignored (``"No. of Male Teachers"`` -> ``"noofmaleteachers"``)."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", str(name))).casefold()


def code_key(value: Any) -> str:
    """How a file's codes are compared: case, spaces, hyphens and underscores ignored."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", str(value))).casefold()


def visible(text: Any) -> str:
    """``text`` with invisible characters shown (``"S01\u200b"`` -> ``"S01<U+200B>"``): zero-width, control, non-breaking and other odd spaces."""
    out = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if ch != " " and (cat in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp") or (cat == "Zs")):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)


_AMBIGUOUS_NUMBER = re.compile(r"^([+-]?\d{1,3}),(\d{3})$")


def ambiguous_number(text: str) -> str | None:
    """Why ``text`` cannot be read as one number (``"1,000"``: 1000 with a thousands separator, or 1.0 with a decimal comma), else ``None``."""
    m = _AMBIGUOUS_NUMBER.match(str(text).strip())
    if not m:
        return None
    whole, frac = m.groups()
    return f"'{m.group(0)}' could be {whole}{frac} (a thousands separator) or {float(whole + '.' + frac):g} (a decimal comma)"


def strip_invisible(text: str) -> str:
    """``text`` without the characters :func:`visible` shows as ``<U+...>`` (ordinary spaces kept)."""
    return "".join(ch for ch in str(text) if visible(ch) == ch)


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based column index (0 -> A, 27 -> AB)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


# --------------------------------------------------------------------------- what a table holds


@dataclass(frozen=True)
class FieldSpec:
    """One column of the tool's: its name, the headers it is known by, its codes.

    Attributes
    ----------
    name : str
        The tool's name for the column (``school_id``).
    description : str
        What it holds, for messages and the policy template.
    synonyms : tuple of str
        Headers recognised without a mapping (compared with :func:`header_key`);
        using one is announced.
    choices : tuple of str or None
        The tool's codes for a column with codes (``("boys", "girls", "mixed")``);
        ``("true", "false")`` for a yes/no column; ``None`` for free values.
    aliases : tuple of (str, str)
        Common file codes read as a tool's code without a mapping
        (``("co-ed", "mixed")``); using one is announced.
    blank : str or None
        The code a blank cell stands for (``"teacher"`` for a blank role);
        ``None`` leaves it blank for the reader to judge.
    required : bool
        The table cannot be read without it.
    """

    name: str
    description: str
    synonyms: tuple[str, ...] = ()
    choices: tuple[str, ...] | None = None
    aliases: tuple[tuple[str, str], ...] = ()
    blank: str | None = None
    required: bool = False
    #: ``(field, code)``: a row whose ``field`` is ``code`` needs no value here
    #: (a head teacher needs no level: it takes the school's where one is needed).
    not_needed_when: tuple[str, str] | None = None

    @property
    def coded(self) -> bool:
        """Whether the column holds codes that ``[values.KIND.FIELD]`` may map."""
        return self.choices is not None

    @property
    def boolean(self) -> bool:
        """Whether the column is a yes/no column."""
        return self.choices == ("true", "false")

    def canonical(self, value: Any) -> str | None:
        """The tool's code that ``value`` (a mapping's target) names, or ``None``."""
        if self.boolean:
            if isinstance(value, bool):
                return "true" if value else "false"
            key = code_key(value)
            return "true" if key in TRUE_WORDS else "false" if key in FALSE_WORDS else None
        if not isinstance(value, str):
            return None
        return next((c for c in self.choices or () if code_key(c) == code_key(value)), None)

    def allowed_text(self) -> str:
        """``"boys, girls or mixed"``."""
        c = list(self.choices or ())
        return c[0] if len(c) == 1 else ", ".join(c[:-1]) + " or " + c[-1]

    def plain_codes(self) -> dict[str, str]:
        """File codes read as the tool's without a note: the codes themselves, and yes/no words."""
        out = {code_key(c): c for c in self.choices or ()}
        if self.boolean:
            out.update({k: "true" for k in TRUE_WORDS})
            out.update({k: "false" for k in FALSE_WORDS})
        return out


@dataclass(frozen=True)
class TableSpec:
    """The columns of one kind of input table (``schools``, ``teachers`` ...).

    Attributes
    ----------
    kind : str
        The table's name in ``[sheets]``, ``[columns.KIND]`` and ``[values.KIND.*]``.
    fields : tuple of FieldSpec
        Its columns.
    id_field : str
        The column that identifies a row (advice for a missing id column
        points at an id-like column, not a name column).
    item : str
        What one row is, for messages ("school", "teacher").
    sheet_words : tuple of str
        Words in a sheet's name that say it holds this table.
    """

    kind: str
    fields: tuple[FieldSpec, ...]
    id_field: str
    item: str = "row"
    sheet_words: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec:
        """The column called ``name``."""
        return next(f for f in self.fields if f.name == name)


_TABLE_SPECS: dict[str, TableSpec] = {}


def register_table(spec: TableSpec) -> TableSpec:
    """Declare a table kind so the policy checks its ``[columns.KIND]`` and ``[values.KIND.*]``."""
    _TABLE_SPECS[spec.kind] = spec
    return spec


def table_spec(kind: str) -> TableSpec | None:
    """The declared spec of a table kind, or ``None`` when no reader has declared one."""
    return _TABLE_SPECS.get(kind)


_COUNT = "number of teachers"
SCHOOLS = register_table(
    TableSpec(
        kind="schools",
        id_field="school_id",
        item="school",
        sheet_words=("school", "institution"),
        fields=(
            FieldSpec(
                "school_id",
                "the school's unique id (EMIS code)",
                required=True,
                synonyms=(
                    "emis code",
                    "emis",
                    "emis no",
                    "emis number",
                    "emiscode",
                    "semis code",
                    "school code",
                    "school no",
                    "school number",
                    "sch id",
                    "code",
                    "id",
                ),
            ),
            FieldSpec(
                "name",
                "the school's name",
                required=True,
                synonyms=("school name", "name of school", "school", "school title", "institution", "institution name"),
            ),
            FieldSpec(
                "district",
                'the school\'s district; a file of one district can do without it: --district NAME, or district = "NAME" in the policy',
                required=True,
                synonyms=("district name", "dist", "zila"),
            ),
            FieldSpec(
                "gender",
                "boys, girls or mixed",
                required=True,
                synonyms=("school gender", "gender of school", "sex"),
                choices=("boys", "girls", "mixed"),
                aliases=(
                    ("boy", "boys"),
                    ("male", "boys"),
                    ("b", "boys"),
                    ("girl", "girls"),
                    ("female", "girls"),
                    ("g", "girls"),
                    ("co-ed", "mixed"),
                    ("coed", "mixed"),
                    ("co-education", "mixed"),
                    ("coeducation", "mixed"),
                ),
            ),
            FieldSpec("latitude", "WGS84 degrees north", synonyms=("lat", "gps lat", "gps latitude", "latitude dd", "lat dd", "latitude n")),
            FieldSpec(
                "longitude",
                "WGS84 degrees east",
                synonyms=("lon", "long", "lng", "gps lon", "gps long", "gps longitude", "longitude dd", "lon dd", "long dd", "longitude e"),
            ),
            FieldSpec("x", "easting in metres of the policy's crs (degrees of longitude without a crs)", synonyms=("easting", "x coordinate", "x coord")),
            FieldSpec("y", "northing in metres of the policy's crs (degrees of latitude without a crs)", synonyms=("northing", "y coordinate", "y coord")),
            FieldSpec(
                "can_host",
                "whether the school can host cluster meetings (default yes)",
                choices=("true", "false"),
                blank="true",
                synonyms=("host", "can be venue", "venue", "hosts", "cluster venue"),
            ),
            FieldSpec(
                "level",
                "the school's level, for per-school counts (primary, middle or high)",
                choices=("primary", "middle", "high"),
                synonyms=("school level", "levels taught", "level taught", "level of school"),
                aliases=(
                    ("primary school", "primary"),
                    ("middle school", "middle"),
                    ("high school", "high"),
                    ("secondary", "high"),
                    ("higher secondary", "high"),
                    ("secondary school", "high"),
                ),
            ),
            FieldSpec(
                "teachers",
                f"{_COUNT} (gender and level unknown)",
                synonyms=("total teachers", "no of teachers", "number of teachers", "teachers total", "total staff", "teaching staff"),
            ),
            FieldSpec(
                "male_teachers",
                f"{_COUNT}, men (level from the level column)",
                synonyms=("teachers male", "male teaching staff", "no of male teachers", "number of male teachers", "male staff"),
            ),
            FieldSpec(
                "female_teachers",
                f"{_COUNT}, women (level from the level column)",
                synonyms=("teachers female", "female teaching staff", "no of female teachers", "number of female teachers", "female staff"),
            ),
            *(
                FieldSpec(f"{g}_{lvl}", f"{_COUNT}, {'women' if g == 'female' else 'men'} teaching {lvl}")
                for g in ("female", "male")
                for lvl in ("primary", "middle", "high")
            ),
            FieldSpec("generated", "true for a made-up school (samples)", choices=("true", "false"), blank="false"),
        ),
    )
)

TEACHERS = register_table(
    TableSpec(
        kind="teachers",
        id_field="teacher_id",
        item="teacher",
        sheet_words=("teacher", "staff", "roster"),
        fields=(
            FieldSpec(
                "teacher_id",
                "the teacher's unique id (personal number)",
                required=True,
                synonyms=(
                    "personal no",
                    "personal number",
                    "personnel no",
                    "personnel number",
                    "employee id",
                    "employee no",
                    "employee number",
                    "emp id",
                    "emp no",
                    "staff id",
                    "staff no",
                    "teacher code",
                    "teacher no",
                    "cnic",
                    "id",
                ),
            ),
            FieldSpec(
                "school_id",
                "the id of the teacher's school (as in the schools file)",
                required=True,
                synonyms=("emis code", "emis", "emis no", "school emis", "school code", "school emis code", "emiscode"),
            ),
            FieldSpec(
                "gender",
                "female or male",
                required=True,
                synonyms=("sex", "teacher gender"),
                choices=("female", "male"),
                aliases=(("f", "female"), ("woman", "female"), ("women", "female"), ("m", "male"), ("man", "male"), ("men", "male")),
            ),
            FieldSpec(
                "level",
                "the level taught: primary, middle or high",
                required=True,
                choices=("primary", "middle", "high"),
                synonyms=("level taught", "teaching level", "designation", "cadre"),
                not_needed_when=("role", "head_teacher"),
            ),
            FieldSpec("subject", "the subject taught (optional)", synonyms=("subject taught", "specialisation", "specialization")),
            FieldSpec(
                "name",
                "the teacher's name (optional; shown beside the id in the plan's files, report and map)",
                synonyms=("name of employee", "employee name", "teacher name", "teacher's name", "name of teacher", "staff name", "full name"),
            ),
            FieldSpec(
                "role",
                "teacher or head_teacher (default teacher)",
                choices=("teacher", "head_teacher"),
                blank="teacher",
                synonyms=("position", "post", "teacher role"),
                aliases=(
                    ("head", "head_teacher"),
                    ("headteacher", "head_teacher"),
                    ("head master", "head_teacher"),
                    ("headmaster", "head_teacher"),
                    ("headmistress", "head_teacher"),
                    ("head mistress", "head_teacher"),
                ),
            ),
        ),
    )
)


#: The tables the tool reads, as named in ``[sheets]``, ``[columns.*]`` and ``[values.*]``.
TABLE_KINDS = ("schools", "teachers", "facilitators", "attendance")


@dataclass(frozen=True)
class InputSettings:
    """How the input tables are read, for the whole run.

    Attributes
    ----------
    district : str or None
        The district of every school, for a file of one district with no
        district column (``district`` in the policy, ``--district`` on the
        command line). Blank district cells take it; a different district in
        the file is an error.
    sheets : dict
        Table kind (``schools``, ``teachers``, ``facilitators``) to the sheet
        of a workbook to read (``[sheets]``); ``FILE.xlsx#Sheet`` on the
        command line wins.
    columns : dict
        Table kind to ``{tool's column name: the file's header}``
        (``[columns.schools]`` ...). A header named here must be in the file:
        an explicit mapping never falls back to a guess.
    values : dict
        Table kind to ``{tool's column: {the file's value: the tool's value}}``
        (``[values.teachers.level]`` ...). Case and spacing of the file's
        values are ignored.
    """

    district: str | None = None
    sheets: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: The policy file these settings come from, for problems in them (``None``: given in code).
    source: str | None = field(default=None, compare=False)


#: The facilitators table as the one table reader reads it (``[columns.facilitators]``, ``[values.facilitators.*]``).
FACILITATORS = register_table(
    TableSpec(
        kind="facilitators",
        id_field="facilitator_id",
        item="facilitator",
        sheet_words=("facilitator", "mentor", "tto", "ttf"),
        fields=(
            FieldSpec(
                "facilitator_id",
                "the facilitator's unique id",
                required=True,
                synonyms=("personal no", "personal number", "employee id", "employee no", "staff id", "mentor id", "id"),
            ),
            FieldSpec("name", "the facilitator's name", required=True, synonyms=("facilitator name", "mentor name", "full name")),
            FieldSpec(
                "gender",
                "female or male",
                required=True,
                synonyms=("sex",),
                choices=("female", "male"),
                aliases=(("f", "female"), ("woman", "female"), ("women", "female"), ("m", "male"), ("man", "male"), ("men", "male")),
            ),
            FieldSpec(
                "base_school_id",
                "the school the facilitator starts from (or latitude and longitude)",
                synonyms=("base school", "base emis", "base emis code", "base school id", "office school id"),
            ),
            FieldSpec("latitude", "the base's WGS84 degrees north", synonyms=("lat", "base lat", "base latitude")),
            FieldSpec("longitude", "the base's WGS84 degrees east", synonyms=("lon", "long", "lng", "base lon", "base longitude")),
            FieldSpec("levels", "levels supported, ';'-separated from primary, middle, high", required=True, synonyms=("level", "levels supported", "grades")),
            FieldSpec("subjects", "subjects, ';'-separated (optional)", synonyms=("subject", "specialisation", "specialization")),
            FieldSpec("max_clusters", "most clusters supported (blank: no limit)", required=True, synonyms=("clusters", "max clusters")),
            FieldSpec("max_teachers", "most teachers over their clusters (blank: no limit)", synonyms=("mentees", "max mentees")),
            FieldSpec("days_per_month", "working days a month given to clusters", required=True, synonyms=("days", "days per month", "days a month")),
            FieldSpec("district", "the only district they support (optional)", synonyms=("district name",)),
            FieldSpec(
                "travel_mode",
                "walk or drive (blank: the policy's)",
                choices=("walk", "drive"),
                synonyms=("mode", "transport"),
                aliases=(
                    ("walking", "walk"),
                    ("foot", "walk"),
                    ("on foot", "walk"),
                    ("car", "drive"),
                    ("vehicle", "drive"),
                    ("motorbike", "drive"),
                    ("driving", "drive"),
                ),
            ),
        ),
    )
)


#: Meeting records as offices keep them (``cluster-mapper attendance --records``): one row per teacher per meeting.
ATTENDANCE = register_table(
    TableSpec(
        kind="attendance",
        id_field="teacher_id",
        item="record",
        sheet_words=("attendance", "register", "record"),
        fields=(
            FieldSpec("date", "the meeting's date (2027-03-02, or 02/03/2027 day first)", required=True, synonyms=("meeting date", "date of meeting", "day")),
            FieldSpec("cluster_id", "the cluster that met", required=True, synonyms=("cluster", "cluster code", "cluster no")),
            FieldSpec(
                "teacher_id",
                "the teacher's id (personal number)",
                required=True,
                synonyms=("teacher", "personal no", "personal number", "employee id", "teacher code", "staff id"),
            ),
            FieldSpec(
                "present",
                "whether the teacher attended: yes or no",
                required=True,
                synonyms=("attended", "attendance", "status"),
                choices=("true", "false"),
                aliases=(("present", "true"), ("p", "true"), ("absent", "false"), ("a", "false")),
            ),
        ),
    )
)
