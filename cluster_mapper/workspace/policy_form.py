"""The Policy page's form: every setting with its default and help, from the same source as ``cluster-mapper init``.

The settings are the typed fields of :mod:`cluster_mapper.policy.rules`
(``DistrictPolicy``, ``TravelPolicy``, ``SupportPolicy``); their help is the
template's (:data:`~cluster_mapper.policy.template.KEY_HELP`,
:data:`~cluster_mapper.policy.template.SUPPORT_HELP`), so the form, the
template and the loader never disagree. A blank field keeps the default.
Saving edits the project's policy file in place with tomlkit (comments, the
``[columns.*]`` and ``[values.*]`` tables and anything the form does not show
are kept) and checks the result with
:func:`~cluster_mapper.policy.load.load_policy`: every problem at once, with
its line, and the file unchanged when there is one.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from cluster_mapper._files import write_atomic
from cluster_mapper.errors import InputError
from cluster_mapper.policy.load import NONE_WHEN_ZERO, load_policy
from cluster_mapper.policy.rules import GENDER_POLICIES, LEVEL_POLICIES, OBJECTIVES, SUBJECT_RULES, TRAVEL_MODES, DistrictPolicy, SupportPolicy, TravelPolicy
from cluster_mapper.policy.template import KEY_HELP, SUPPORT_HELP
from cluster_mapper.workspace.reading import problem_row

#: Settings with a fixed list of values (a drop-down on the form).
CHOICES = {"gender": GENDER_POLICIES, "levels": LEVEL_POLICIES, "objective": OBJECTIVES, "travel_mode": TRAVEL_MODES, "subjects_rule": SUBJECT_RULES}
_WHOLE = re.compile(r"^[+-]?\d+$")


def _shown(key: str, value: Any) -> str:
    """A default as the form shows it (as the template writes it: 0 for "no limit", lists comma-separated)."""
    if value is None:
        return "0" if key in NONE_WHEN_ZERO else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(f: Field) -> str:
    """How the form's text is turned into a TOML value: ``bool``, ``int``, ``float``, ``list`` or ``str``."""
    t = str(f.type)
    if t.startswith("bool"):
        return "bool"
    if t.startswith("tuple"):
        return "list"
    if t.startswith("int"):
        return "int"
    if t.startswith("float"):
        return "float"
    return "str"


def _setting(f: Field, help_text: str, section: str) -> dict[str, Any]:
    default = f.default if f.default is not MISSING else None
    return {
        "key": f.name,
        "section": section,
        "kind": _kind(f),
        "default": _shown(f.name, default),
        "help": help_text,
        "choices": list(CHOICES.get(f.name, ("true", "false") if _kind(f) == "bool" else ())),
    }


def settings() -> list[dict[str, Any]]:
    """Every setting of the form: key, section (``clusters``, ``travel``, ``inputs``, ``support``), kind, default, help, choices."""
    out = [_setting(f, KEY_HELP[f.name], "clusters") for f in fields(DistrictPolicy)]
    out += [_setting(f, KEY_HELP[f.name], "travel") for f in fields(TravelPolicy)]
    out.append(
        {"key": "cross_district", "section": "travel", "kind": "bool", "default": "false", "help": KEY_HELP["cross_district"], "choices": ["true", "false"]}
    )
    out.append({"key": "district", "section": "inputs", "kind": "str", "default": "", "help": KEY_HELP["district"], "choices": []})
    out += [_setting(f, SUPPORT_HELP[f.name], "support") for f in fields(SupportPolicy) if f.name in SUPPORT_HELP]
    return out


#: The settings a ``[districts.NAME]`` table may override.
DISTRICT_KEYS = tuple(f.name for f in fields(DistrictPolicy))


def _table_of(doc: Any, section: str, district: str | None = None) -> Any:
    if district is not None:
        return doc.get("districts", {}).get(district, {})
    return doc.get("support", {}) if section == "support" else doc


def form_values(text: str) -> dict[str, Any]:
    """The values the policy file sets, as the form shows them: ``{"": {key: text}, "support": {...}, "districts": {name: {...}}}``.

    Values in a form the page cannot edit (a ``workdays`` table by district)
    are listed in ``fixed`` and kept as they are on saving.
    """
    doc = tomlkit.parse(text).unwrap()
    top = {s["key"]: _shown(s["key"], doc[s["key"]]) for s in settings() if s["section"] != "support" and s["key"] in doc}
    support, fixed = {}, []
    for s in settings():
        if s["section"] == "support" and s["key"] in doc.get("support", {}):
            value = doc["support"][s["key"]]
            if isinstance(value, dict):
                fixed.append(f"support.{s['key']}")
            else:
                support[s["key"]] = _shown(s["key"], value)
    districts = {str(name): {k: _shown(k, v) for k, v in table.items() if k in DISTRICT_KEYS} for name, table in doc.get("districts", {}).items()}
    return {"": top, "support": support, "districts": districts, "fixed": fixed}


def toml_value(kind: str, text: str) -> Any:
    """The form's text as a TOML value of the setting's kind; text that is not of that kind is kept as text, for the policy check to name."""
    text = text.strip()
    if kind == "bool" and text in ("true", "false"):
        return text == "true"
    if kind in ("int", "float"):
        if _WHOLE.match(text):  # a whole number as written (max_travel_minutes = 45), for a number of minutes too
            return int(text)
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _set(table: Any, key: str, value: Any) -> None:
    if value == "" or value == []:
        if key in table:
            del table[key]
    else:
        table[key] = value


def policy_text(text: str, form: dict[str, str]) -> str:
    """The policy text with the form's values set; keys are ``KEY``, ``support.KEY`` and ``districts.NAME.KEY`` (blank removes the key).

    ``new_district`` names a district to give an override table (its keys
    then follow as ``districts.NAME.KEY``).
    """
    doc = tomlkit.parse(text)
    kinds = {(s["section"] == "support", s["key"]): s["kind"] for s in settings()}
    new = str(form.get("new_district") or "").strip()
    if new and new not in doc.get("districts", {}):
        doc.setdefault("districts", tomlkit.table(is_super_table=True))[new] = tomlkit.table()
    for name, raw in form.items():
        parts = name.split(".")
        if name in ("new_district", "csrf_token") or not isinstance(raw, str):
            continue
        if len(parts) == 1 and (False, name) in kinds:
            _set(doc, name, toml_value(kinds[(False, name)], raw))
        elif len(parts) == 2 and parts[0] == "support" and (True, parts[1]) in kinds:
            if parts[1] in doc.get("support", {}) and isinstance(doc["support"][parts[1]], dict):
                continue  # a form the page does not edit (workdays by district)
            _set(doc.setdefault("support", tomlkit.table()), parts[1], toml_value(kinds[(True, parts[1])], raw))
        elif len(parts) >= 3 and parts[0] == "districts" and parts[-1] in DISTRICT_KEYS:
            district = ".".join(parts[1:-1])
            if district in doc.get("districts", {}):
                _set(doc["districts"][district], parts[-1], toml_value(kinds[(False, parts[-1])], raw))
    if "support" in doc and not doc["support"]:
        del doc["support"]
    return tomlkit.dumps(doc)


def save_policy(path: Path, form: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
    """Check the form's policy and write it to ``path``; (every problem, with its line, or nothing; the new text).

    The file is written only when the policy checks accept it.
    """
    text = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    try:
        new = policy_text(text, form)
    except TOMLKitError as exc:
        return [{"file": path.name, "row": None, "row_word": "line", "field": None, "message": f"the policy is not valid TOML ({exc}).", "fix": ""}], text
    trial = path.with_name(path.name + ".check.toml")
    write_atomic(trial, new)
    try:
        load_policy(trial)
    except InputError as err:
        return [problem_row(p) | {"file": path.name} for p in err.problems], new
    finally:
        trial.unlink(missing_ok=True)
    write_atomic(path, new)
    return [], new


__all__ = ["CHOICES", "DISTRICT_KEYS", "settings", "form_values", "toml_value", "policy_text", "save_policy"]
