"""The printable plan report (``report.html``).

One self-contained HTML file (no outside links; the histogram is an
embedded PNG) that a district manager can print: the summary of the plan,
a table per district, one block per cluster with its venue, member schools
and teachers with their travel times (what a cluster's focal person needs),
and every teacher not placed with the reason and the suggested change.
Districts start on a new page when printed. The page is the Jinja2 template
``review/templates/report.html`` (autoescaped): this module gathers plain
values (:func:`report_context`), so every text from the plan files reaches the
page as text. Teachers' and schools' names are shown beside their ids where
the plan has them (``teacher_name``, ``school_name`` in ``assignments.csv``).
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from cluster_mapper._files import write_atomic
from cluster_mapper.planning.changes import MOVES
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.review.html import GENDER_WORD, number, render, schools_generated, text_column, type_label
from cluster_mapper.review.support_pages import report_hooks

CSS = """
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#111;max-width:1100px}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:24px 0 8px;border-bottom:2px solid #333}
h3{font-size:15px;margin:16px 0 4px}
table{border-collapse:collapse;margin:6px 0 12px} th,td{border:1px solid #bbb;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eee} td.n{text-align:right;font-variant-numeric:tabular-nums}
.warn{border:2px solid #b00;background:#fff3f3;padding:8px;margin:8px 0;color:#700;font-weight:bold}
.note{color:#555;font-size:12px}
.cluster{border:1px solid #999;border-radius:4px;padding:6px 10px;margin:10px 0;page-break-inside:avoid;break-inside:avoid}
.cluster h3{margin-top:2px}
.np td{background:#fff7f7}
.district{page-break-before:always;break-before:page}
img.hist{max-width:640px;width:100%}
@media print{body{margin:0;font-size:11px} .noprint{display:none} a{color:inherit;text-decoration:none}}
"""


def _f(x, nd: int = 1) -> str:
    return number(x, nd)


def _limit(value, limited: str, unlimited: str) -> str:
    """A policy limit in words: ``None`` (0 in plans of older versions) means no limit."""
    return unlimited if not value else limited.format(value)


def _who(gender: str, level: str) -> str:
    return f"{GENDER_WORD.get(gender, gender or 'teachers')} {level}".strip()


def travel_histogram_png(minutes: np.ndarray, weights: np.ndarray, limit: float | None) -> bytes:
    """PNG bytes of a teacher-weighted histogram of travel minutes to the venue."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3), dpi=100)
    ax = fig.add_subplot(111)
    longest = max(float(np.max(minutes)) if len(minutes) else 0.0, 10.0)
    drawn = limit if limit and limit <= 4 * longest else None  # a limit far beyond every trip (1e6 minutes) is named, not drawn
    top = max(longest, float(drawn or 0))
    bins = np.arange(0, top + 5.0, 5.0)
    ax.hist(minutes, bins=bins.tolist(), weights=weights, color="#3182bd", edgecolor="white")
    if limit and not drawn:
        ax.set_title(f"(limit {limit:g} min, far beyond every trip)", loc="right", fontsize=8, color="#b00")
    if drawn:
        limit = drawn
        ax.axvline(limit, color="#b00", linestyle="--", linewidth=1)
        ax.text(limit, ax.get_ylim()[1] * 0.95, f" limit {limit:g} min", color="#b00", va="top", fontsize=8)
    ax.set_xlabel("travel to the venue (minutes)")
    ax.set_ylabel("teachers")
    ax.set_title("Teachers placed, by travel time to their cluster's venue", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _travel_bands(m: np.ndarray, w: np.ndarray) -> list[list[str]]:
    edges = [
        (0, 0, "at the venue school (0 min)"),
        (0, 15, "up to 15 min"),
        (15, 30, "15 to 30 min"),
        (30, 45, "30 to 45 min"),
        (45, 60, "45 to 60 min"),
        (60, np.inf, "over 60 min"),
    ]
    total = max(1.0, float(w.sum()))
    rows = []
    for lo, hi, label in edges:
        sel = (m == 0) if hi == 0 else ((m > lo) & (m <= hi))
        n = float(w[sel].sum())
        if n or hi != np.inf:
            rows.append([label, f"{n:,.0f}", f"{100 * n / total:.1f}%"])
    return rows


def _school(names: dict[str, str], sid) -> dict:
    """A school cell: its name (when known) beside its id."""
    return {"kind": "school", "id": sid, "name": names.get(sid, "")}


def _people(ids, names) -> dict:
    """A cell of teachers: ``name (id)`` where the roster gave a name, else the id."""
    return {"kind": "people", "people": [{"id": i, "name": n if isinstance(n, str) else ""} for i, n in zip(ids, names, strict=True)]}


def _summary_rows(s: dict, pol_name: str, cl: pd.DataFrame, m: np.ndarray, w: np.ndarray) -> list[list]:
    policy = s.get("policy") or {}
    source, mode = s.get("travel_source", ""), policy.get("travel_mode", "walk")
    travel_text = {
        "network": f"road network ({'walking, Tobler hiking function' if mode == 'walk' else 'driving'})",
        "matrix": "travel-time table supplied by the user",
        "straight_line": "straight line (NOT a road network)",
    }.get(source, source)
    if source == "network" and (s.get("travel") or {}).get("network_path"):
        travel_text += f": {Path(s['travel']['network_path']).name}"
    gap = s.get("gap")
    policy_text = (
        f"{pol_name}: {policy.get('min_teachers')}-{policy.get('max_teachers')} teachers, {_limit(policy.get('max_schools'), '1-{} schools per cluster', 'any number of schools per cluster')}, "
        f"{_limit(policy.get('max_travel_minutes'), 'travel limit {} min', 'no travel limit')}, gender {policy.get('gender')}, levels {policy.get('levels')}"
        + (f", {policy.get('n_clusters')} clusters per district" if policy.get("n_clusters") else "")
        + ("; head teachers placed as members" if policy.get("include_head_teachers") else "; head teachers not placed (they support clusters)")
    )
    rows = [
        ["Policy", policy_text],
        ["Clusters", f"{int(s.get('clusters', len(cl))):,}"],
        ["Teachers", f"{int(s.get('teachers_total', 0)):,}"],
        ["Teachers placed", f"{int(s.get('teachers_placed', 0)):,}"],
        [
            "Teachers not placed",
            f"{int(s.get('teachers_not_placed', 0)):,} (of whom {int(s.get('head_teachers_left_out', 0)):,} head teachers left out by policy)",
        ],
        [
            "Travel to the venue",
            f"mean {_f(s.get('mean_travel_minutes'))} min, longest {_f(s.get('max_travel_minutes'))} min, "
            f"median {_f(np.median(np.repeat(m, w.astype(int))) if len(m) else 0)} min",
        ],
        ["Objective", f"{_f(s.get('objective'))} ({', '.join(s.get('objective_kind', []))})"],
        ["Lower bound", _f(s.get("lower_bound"))],
        ["Gap", f"{100 * float(gap):.2f}% (0% means proven best travel for this placement)" if gap is not None else ""],
        ["Solver status", s.get("status", "")],
        ["Travel times", travel_text],
    ]
    return [[{"kind": "bold", "text": k}, v] for k, v in rows]


def _note_blocks(s: dict) -> list[list[str]]:
    travel_notes = s.get("travel_notes") or []
    off = s.get("schools_off_network") or []
    return [
        list(travel_notes),
        [f"Schools far from the road network: {', '.join(off)}"] if off else [],
        [n for n in s.get("notes") or [] if n not in travel_notes],
    ]


def _districts_overview(a: pd.DataFrame, cl: pd.DataFrame, districts: list[str]) -> list[list]:
    ov = []
    for d in districts:
        ad = a[a["district"] == d]
        pd_ = ad[ad["status"] == "placed"]
        npl = ad[ad["status"] != "placed"]
        heads = npl[npl["left_out"]]["n"].sum()
        mm = (pd_["minutes"].fillna(0) * pd_["n"]).sum() / max(1, pd_["n"].sum())
        ov.append(
            [
                d,
                f"{int((cl['district'] == d).sum()):,}",
                f"{int(pd_['n'].sum()):,}",
                f"{int(npl['n'].sum() - heads):,}",
                f"{int(heads):,}",
                _f(mm),
                _f(pd_["minutes"].max() if len(pd_) else 0),
            ]
        )
    return ov


def _cluster_types(cd: pd.DataFrame) -> list[list]:
    cd = cd.assign(_t=[type_label(g, lv) for g, lv in zip(cd["gender_group"], cd["level_group"], strict=True)])
    rows = []
    for t, g in cd.groupby("_t", sort=True):
        nt = pd.to_numeric(g["n_teachers"], errors="coerce")
        rows.append(
            [
                t,
                f"{len(g):,}",
                f"{int(nt.sum()):,}",
                _f(nt.mean()),
                _f(pd.to_numeric(g["n_schools"], errors="coerce").mean()),
                _f(pd.to_numeric(g["max_travel_minutes"], errors="coerce").max()),
            ]
        )
    return rows


def _cluster_block(c, rows: list, names: dict[str, str], note: str) -> dict:
    """One cluster: venue, and each member school with its travel and its teachers (names beside ids)."""
    schools_of: dict[str, list] = {}
    for r in rows:
        schools_of.setdefault(r.school_id, []).append(r)
    longest = {sid: max((float(r.minutes) for r in rs if not pd.isna(r.minutes)), default=math.nan) for sid, rs in schools_of.items()}
    members = []
    for sid in sorted(sorted(schools_of), key=lambda k: (k != c.venue_school_id, float(longest[k] or 0))):
        kinds: dict[tuple, list] = {}
        for r in schools_of[sid]:
            if not any(pd.isna(x) for x in (r.gender, r.level, r.role)):  # as groupby, which drops missing keys
                kinds.setdefault((r.gender, r.level, r.role), []).append(r)
        groups = []
        for (gender, level, role), gt in sorted(kinds.items(), key=lambda kv: kv[0]):
            who = _who(gender, level) + (f" {role.replace('_', ' ')}" if role and role != "teacher" else "")
            groups.append({"n": sum(int(r.n) for r in gt), "who": who, "people": _people([r.teacher_id for r in gt], [r.teacher_name for r in gt])["people"]})
        mins = "venue" if sid == c.venue_school_id else f"{_f(longest[sid])} min"
        members.append([_school(names, sid), mins, f"{sum(int(r.n) for r in schools_of[sid])}", {"kind": "roster", "groups": groups}])
    return {
        "id": c.cluster_id,
        "type": type_label(c.gender_group, c.level_group),
        "venue": _school(names, c.venue_school_id),
        "n_teachers": c.n_teachers,
        "n_schools": str(c.n_schools),
        "longest": _f(c.max_travel_minutes),
        "members": members,
        "note": Markup(note),  # the support step's note (support_pages builds it escaped)
    }


def _district_section(d: str, a: pd.DataFrame, cl: pd.DataFrame, by_cluster: dict, names: dict[str, str], cluster_note) -> dict:
    cd = cl[cl["district"] == d]
    npl = a[(a["district"] == d) & (a["status"] != "placed") & ~a["left_out"]]
    not_placed = []
    for (sid, gender, level, reason, sugg), g in npl.groupby(["school_id", "gender", "level", "reason", "suggestion"], sort=True):
        not_placed.append(
            [_school(names, sid), _who(gender, level), f"{int(g['n'].sum())}", _people(g["teacher_id"], g["teacher_name"]), reason, sugg or "none found"]
        )
    heads = a[(a["district"] == d) & a["left_out"]]
    return {
        "name": d,
        "types": _cluster_types(cd),
        "clusters": [_cluster_block(c, by_cluster.get(c.cluster_id, []), names, cluster_note(c.cluster_id)) for c in cd.itertuples(index=False)],
        "n_not_placed": int(npl["n"].sum()),
        "not_placed": not_placed,
        "heads": int(heads["n"].sum()),
    }


def _school_names(pf, a: pd.DataFrame) -> dict[str, str]:
    """School names by id: from the plan's map data, else the ``school_name`` column of ``assignments.csv``."""
    names: dict[str, str] = {}
    if "school_name" in a.columns:
        names.update({k: v for k, v in zip(a["school_id"], a["school_name"], strict=True) if isinstance(v, str) and v})
    if pf.geodata is not None:
        sch = pf.geodata[pf.geodata["kind"] == "school"]
        names.update({k: v for k, v in zip(sch["school_id"], sch["name"], strict=True) if isinstance(v, str) and v})
    return names


def report_context(plan) -> dict:
    """What the report shows, as plain values for the ``report.html`` template."""
    pf = plan
    s = pf.summary
    a = pf.assignments.copy()
    a["n"] = pd.to_numeric(a["n_teachers"], errors="coerce").fillna(1).astype(int)
    a["minutes"] = pd.to_numeric(a["travel_minutes"], errors="coerce")
    a["teacher_name"] = text_column(a, "teacher_name")
    a["left_out"] = pf.policy.left_out(a)
    cl = pf.clusters.copy()
    names = _school_names(pf, a)
    inputs = s.get("inputs") or {}
    pol_name = Path(inputs["policy"]).name if inputs.get("policy") else "default policy"
    placed = a[a["status"] == "placed"]
    m = placed["minutes"].fillna(0).to_numpy(float)
    w = placed["n"].to_numpy(float)
    limit = (s.get("policy") or {}).get("max_travel_minutes")
    png = travel_histogram_png(m, w, float(limit) if limit else None)
    districts = sorted(set(a["district"]) | set(cl["district"]))
    cluster_note, support_html = report_hooks(pf)
    by_cluster: dict[str, list] = {}  # each cluster's placed rows, gathered in one pass
    cols = ["cluster_id", "school_id", "gender", "level", "role", "teacher_id", "teacher_name", "n", "minutes"]
    for r in a.loc[a["status"] == "placed", cols].itertuples(index=False):
        by_cluster.setdefault(r.cluster_id, []).append(r)
    return {
        "css": Markup(CSS),
        "has_names": bool((a["teacher_name"] != "").any()),
        "policy_name": pol_name,
        "schools_file": Path(inputs.get("schools") or "").name,
        "teachers_file": Path(inputs.get("teachers") or "").name or "counts in the schools file",
        "version": s.get("cluster_mapper_version", ""),
        "straight_line": s.get("travel_source", "") == "straight_line",
        "generated": schools_generated(s),
        "summary_rows": _summary_rows(s, pol_name, cl, m, w),
        "note_blocks": _note_blocks(s),
        "bands": _travel_bands(m, w),
        "histogram_png_base64": base64.b64encode(png).decode("ascii"),
        **_edits_and_changes(pf, names),
        "districts_overview": _districts_overview(a, cl, districts),
        "districts": [_district_section(d, a, cl, by_cluster, names, cluster_note) for d in districts],
        "support_html": Markup(support_html),  # the support step's sections (support_pages builds them escaped)
    }


def build_report(plan) -> str:
    """The report's HTML text for a plan (a fresh :class:`~cluster_mapper.planning.solve.Plan` or one read from a folder)."""
    return render("report.html", **report_context(plan))


def _edits_and_changes(pf, names: dict[str, str]) -> dict:
    """The "Edits" and "Changes since the previous plan" sections (from ``edits.csv`` and ``changes.csv``); ``None`` where absent."""
    folder = getattr(pf, "directory", None)
    out: dict = {"edits": None, "changes": None}
    if folder is None:
        return out
    edits_csv, changes_csv = Path(folder) / "edits.csv", Path(folder) / "changes.csv"
    if edits_csv.exists():
        e = read_plan_csv(edits_csv)
        out["edits"] = [[r["row"], r["action"], r["school_id"], r["other_school_id"], r["cluster_id"], r["minutes"], r["note"]] for r in e.to_dict("records")]
    if changes_csv.exists():
        c = read_plan_csv(changes_csv)
        n = pd.to_numeric(c["n_teachers"], errors="coerce").fillna(1).astype(int)
        cl = (pf.summary.get("changes") or {}).get("clusters") or {}
        moved = c[c["change"].isin([*MOVES, "newly_placed"])]
        tnames = text_column(moved, "teacher_name")
        out["changes"] = {
            "moved": int(n[c["change"].isin(MOVES)].sum()),
            "lost": int(n[c["change"] == "lost_place"].sum()),
            "new": int(n[c["change"] == "newly_placed"].sum()),
            **{k: cl.get(k, 0) for k in ("kept", "changed", "created", "dissolved")},
            "previous": pf.summary.get("revised_from") or "",
            "rows": [
                [
                    _people([r["teacher_id"]], [tn]),
                    _school(names, r["school_id"]),
                    r["change"].replace("_", " "),
                    r["old_cluster_id"],
                    r["new_cluster_id"],
                    _f(r["travel_change_minutes"]),
                    r["why"],
                ]
                for r, tn in zip(moved.to_dict("records"), tnames, strict=True)
            ],
        }
    return out


def write_report(plan, folder: str | Path) -> Path:
    """Write ``report.html`` of a plan into ``folder`` and return its path."""
    return write_atomic(Path(folder) / "report.html", build_report(plan))


__all__ = ["write_report", "build_report", "report_context", "travel_histogram_png"]
