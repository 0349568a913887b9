"""Helpers every HTML page of the review shares: the Jinja2 templates, escaping, JSON for scripts, colours and labels of cluster types, tables.

Pages are rendered from the templates in ``review/templates/`` (and the
map's script, ``assets/map.js``) by
:func:`render`, with autoescape on for every template: a value reaches the
page as text unless a template marks it otherwise. Values for a script go
through the ``json`` filter (:func:`script_json`), so they are JSON data that
cannot close the ``<script>`` element. A template is rendered in one pass:
text inserted from the data is never read again as template or placeholder.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

#: Cluster colours (no red: red marks teachers not placed).
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#7b4173",
    "#3182bd",
    "#31a354",
    "#756bb1",
    "#e6550d",
]


GENDER_LABEL = {"female": "Women", "male": "Men", "mixed": "Women and men"}


LEVEL_LABEL = {"primary": "primary", "middle": "middle & high", "mixed": "mixed levels"}


GENDER_WORD = {"female": "women", "male": "men"}


def esc(value: Any) -> str:
    """HTML-escape any value as text (None and NaN become an empty string)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # braces as entities too: folium reads the text of its elements as Jinja templates ("{{7*7}}" would become 49)
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def script_json(obj: Any) -> str:
    """JSON that is safe to place inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as unicode escapes, so neither
    ``</script>`` nor ``<!--`` can appear; U+2028/U+2029 are escaped too,
    and a ``{`` before ``{``, ``%`` or ``#`` (template syntax).
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "{{", "{%" and "{#" occur in JSON only inside strings: written as \u007b, no template engine can read them
    text = re.sub(r"\{(?=[{%#])", r"\\u007b", text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def text_column(df, column: str):
    """A text column of a plan file as strings, empty where a plan (of an older version) has no such column."""
    import pandas as pd

    return df[column].fillna("").astype(str) if column in df.columns else pd.Series("", index=df.index, dtype=object)


def person(teacher_id: Any, name: Any) -> str:
    """``Name (id)`` when the roster gave a name, else the id (plain text)."""
    name = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name).strip()
    return f"{name} ({teacher_id})" if name else str(teacher_id)


def type_key(gender_group: str, level_group: str) -> str:
    return f"{gender_group}|{level_group}"


def type_label(gender_group: str, level_group: str) -> str:
    return f"{GENDER_LABEL.get(gender_group, str(gender_group).title())}, {LEVEL_LABEL.get(level_group, str(level_group))}"


def schools_generated(summary: dict) -> bool:
    """Whether the plan's schools file marks its rows as generated data (``summary.json``)."""
    return bool(summary.get("schools_generated", False))


def html_table(headers: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset(), cls: str = "") -> str:
    """An HTML table; cells must already be escaped."""
    h = "".join(f"<th>{c}</th>" for c in headers) if any(headers) else ""
    body = "".join("<tr>" + "".join(f"<td class='n'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    head = f"<thead><tr>{h}</tr></thead>" if h else ""
    return f"<table class='{cls}'>{head}<tbody>{body}</tbody></table>"


@functools.cache
def environment() -> Environment:
    """The Jinja2 environment of the review's templates (autoescaped, undefined names an error)."""
    env = Environment(
        # pages in review/templates/, the map's script (a template too) in the package's assets/
        loader=ChoiceLoader([PackageLoader("cluster_mapper.review", "templates"), PackageLoader("cluster_mapper", "assets")]),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["json"] = lambda value: Markup(script_json(value))
    env.filters["num"] = number
    return env


def render(template: str, **context: Any) -> str:
    """Render one of the review's templates (``review/templates/<template>`` or ``assets/<template>``) with ``context``."""
    return environment().get_template(template).render(**context)


def number(x: Any, nd: int = 1) -> str:
    """A number with thousands separators and ``nd`` decimals; empty for NaN, the text itself if not a number."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    if math.isnan(v):
        return ""
    return f"{v:,.{nd}f}"
