"""The printable plan report (``report.html``).

One self-contained HTML file (no outside links; the histogram is an
embedded PNG) that a district manager can print: the summary of the plan,
a table per district, one block per cluster with its venue, member schools
and teachers with their travel times (what a cluster's focal person needs),
and every teacher not placed with the reason and the suggested change.
Districts start on a new page when printed. All text from the plan files is
HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_mapper.planning.changes import MOVES
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.review.html import GENDER_WORD, esc, html_table, schools_generated, type_label
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
    try:
        v = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if np.isnan(v):
        return ""
    return f"{v:,.{nd}f}"


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
    top = max(float(np.max(minutes)) if len(minutes) else 0.0, float(limit or 0), 10.0)
    bins = np.arange(0, top + 5.0, 5.0)
    ax.hist(minutes, bins=bins.tolist(), weights=weights, color="#3182bd", edgecolor="white")
    if limit:
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
            rows.append([esc(label), f"{n:,.0f}", f"{100 * n / total:.1f}%"])
    return rows


def build_report(plan) -> str:
    """The report's HTML text for a plan (a fresh :class:`~cluster_mapper.planning.solve.Plan` or one read from a folder)."""
    pf = plan
    s = pf.summary
    a = pf.assignments.copy()
    a["n"] = pd.to_numeric(a["n_teachers"], errors="coerce").fillna(1).astype(int)
    a["minutes"] = pd.to_numeric(a["travel_minutes"], errors="coerce")
    cl = pf.clusters.copy()
    names: dict[str, str] = {}
    if pf.geodata is not None:
        sch = pf.geodata[pf.geodata["kind"] == "school"]
        names = dict(zip(sch["school_id"], sch["name"]))

    def sname(sid: str) -> str:
        n = names.get(sid)
        return f"{esc(n)} <span class='note'>({esc(sid)})</span>" if n else esc(sid)

    policy = s.get("policy") or {}
    inputs = s.get("inputs") or {}
    pol_name = Path(inputs["policy"]).name if inputs.get("policy") else "default policy"
    a["left_out"] = pf.policy.left_out(a)
    placed = a[a["status"] == "placed"]
    m = placed["minutes"].fillna(0).to_numpy(float)
    w = placed["n"].to_numpy(float)
    limit = policy.get("max_travel_minutes")
    source = s.get("travel_source", "")
    mode = policy.get("travel_mode", "walk")

    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Cluster plan report: {esc(pol_name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Cluster plan report</h1><p class='note'>Policy {esc(pol_name)}; schools {esc(Path(inputs.get('schools') or '').name)}; "
        f"teachers {esc(Path(inputs.get('teachers') or '').name or 'counts in the schools file')}; cluster_mapper {esc(s.get('cluster_mapper_version', ''))}.</p>",
    ]
    if source == "straight_line":
        out.append(
            "<div class='warn'>Travel times in this plan are STRAIGHT-LINE estimates (distance x detour factor at walking speed), "
            "not travel on roads and paths. In hilly districts real travel can be much longer. Check clusters on the ground "
            "or plan again with a road network.</div>"
        )
    if schools_generated(s):
        out.append(
            "<div class='warn' style='border-color:#777;background:#f6f6f6;color:#333'>The schools, names and teachers in this plan are "
            "generated sample data, not real schools.</div>"
        )

    # ---- summary
    travel_text = {
        "network": f"road network ({'walking, Tobler hiking function' if mode == 'walk' else 'driving'})",
        "matrix": "travel-time table supplied by the user",
        "straight_line": "straight line (NOT a road network)",
    }.get(source, source)
    if source == "network" and (s.get("travel") or {}).get("network_path"):
        travel_text += f": {Path(s['travel']['network_path']).name}"
    gap = s.get("gap")
    rows = [
        [
            "Policy",
            esc(
                f"{pol_name}: {policy.get('min_teachers')}-{policy.get('max_teachers')} teachers, {_limit(policy.get('max_schools'), '1-{} schools per cluster', 'any number of schools per cluster')}, "
                f"{_limit(policy.get('max_travel_minutes'), 'travel limit {} min', 'no travel limit')}, gender {policy.get('gender')}, levels {policy.get('levels')}"
                + (f", {policy.get('n_clusters')} clusters per district" if policy.get("n_clusters") else "")
                + ("; head teachers placed as members" if policy.get("include_head_teachers") else "; head teachers not placed (they support clusters)")
            ),
        ],
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
        ["Objective", f"{_f(s.get('objective'))} ({esc(', '.join(s.get('objective_kind', [])))})"],
        ["Lower bound", f"{_f(s.get('lower_bound'))}"],
        ["Gap", f"{100 * float(gap):.2f}% (0% means proven best travel for this placement)" if gap is not None else ""],
        ["Solver status", esc(s.get("status", ""))],
        ["Travel times", esc(travel_text)],
    ]
    out.append("<h2>Summary</h2>" + html_table(["", ""], [[f"<b>{k}</b>", v] for k, v in rows]))
    if s.get("travel_notes"):
        out.append("<p class='note'>" + "<br>".join(esc(n) for n in s["travel_notes"]) + "</p>")
    if s.get("schools_off_network"):
        out.append(f"<p class='note'>Schools far from the road network: {esc(', '.join(s['schools_off_network']))}</p>")
    other_notes = [n for n in s.get("notes") or [] if n not in (s.get("travel_notes") or [])]
    if other_notes:
        out.append("<p class='note'>" + "<br>".join(esc(n) for n in other_notes) + "</p>")
    out.append("<h3>Travel time distribution (teachers placed)</h3>" + html_table(["travel to venue", "teachers", "share"], _travel_bands(m, w), {1, 2}))
    png = travel_histogram_png(m, w, float(limit) if limit else None)
    out.append(f"<img class='hist' alt='histogram of travel minutes to the venue' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>")

    out.extend(_edits_and_changes(pf))

    # ---- districts overview
    districts = sorted(set(a["district"]) | set(cl["district"]))
    ov = []
    for d in districts:
        ad = a[a["district"] == d]
        pd_ = ad[ad["status"] == "placed"]
        npl = ad[ad["status"] != "placed"]
        heads = npl[npl["left_out"]]["n"].sum()
        mm = (pd_["minutes"].fillna(0) * pd_["n"]).sum() / max(1, pd_["n"].sum())
        ov.append(
            [
                esc(d),
                f"{int((cl['district'] == d).sum()):,}",
                f"{int(pd_['n'].sum()):,}",
                f"{int(npl['n'].sum() - heads):,}",
                f"{int(heads):,}",
                _f(mm),
                _f(pd_["minutes"].max() if len(pd_) else 0),
            ]
        )
    out.append(
        "<h2>Districts</h2>"
        + html_table(
            ["district", "clusters", "teachers placed", "not placed", "head teachers (support role)", "mean travel (min)", "longest travel (min)"],
            ov,
            {1, 2, 3, 4, 5, 6},
        )
    )

    # ---- per district (with each cluster's facilitator and subject leaders; support pages at the end)

    cluster_note, support_html = report_hooks(pf)
    # each cluster's placed rows as plain records, gathered in one pass (not nested groupbys per cluster)
    by_cluster: dict[str, list] = {}
    for r in a.loc[a["status"] == "placed", ["cluster_id", "school_id", "gender", "level", "role", "teacher_id", "n", "minutes"]].itertuples(index=False):
        by_cluster.setdefault(r.cluster_id, []).append(r)
    for d in districts:
        out.append(f"<section class='district'><h2>District: {esc(d)}</h2>")
        cd = cl[cl["district"] == d].copy()
        cd["_t"] = [type_label(g, lv) for g, lv in zip(cd["gender_group"], cd["level_group"])]
        trows = []
        for t, g in cd.groupby("_t", sort=True):
            nt = pd.to_numeric(g["n_teachers"], errors="coerce")
            trows.append(
                [
                    esc(t),
                    f"{len(g):,}",
                    f"{int(nt.sum()):,}",
                    _f(nt.mean()),
                    _f(pd.to_numeric(g["n_schools"], errors="coerce").mean()),
                    _f(pd.to_numeric(g["max_travel_minutes"], errors="coerce").max()),
                ]
            )
        out.append(
            html_table(["cluster type", "clusters", "teachers", "teachers per cluster", "schools per cluster", "longest travel (min)"], trows, {1, 2, 3, 4, 5})
        )
        for c in cd.itertuples(index=False):
            schools_of: dict[str, list] = {}
            for r in by_cluster.get(c.cluster_id, []):
                schools_of.setdefault(r.school_id, []).append(r)
            longest = {sid: max((float(r.minutes) for r in rs if not pd.isna(r.minutes)), default=math.nan) for sid, rs in schools_of.items()}
            mem = []
            for sid in sorted(sorted(schools_of), key=lambda k: (k != c.venue_school_id, float(longest[k] or 0))):
                kinds: dict[tuple, list] = {}
                for r in schools_of[sid]:
                    if not any(pd.isna(x) for x in (r.gender, r.level, r.role)):  # as groupby, which drops missing keys
                        kinds.setdefault((r.gender, r.level, r.role), []).append(r)
                tparts = []
                for (gender, level, role), gt in sorted(kinds.items(), key=lambda kv: kv[0]):
                    who = _who(gender, level) + (f" {role.replace('_', ' ')}" if role and role != "teacher" else "")
                    tparts.append(f"<b>{sum(int(r.n) for r in gt)} {esc(who)}</b>: {esc(', '.join(r.teacher_id for r in gt))}")
                tlist = "<br>".join(tparts)
                mins = "venue" if sid == c.venue_school_id else f"{_f(longest[sid])} min"
                mem.append([sname(sid), mins, f"{sum(int(r.n) for r in schools_of[sid])}", tlist])
            out.append(
                f"<div class='cluster'><h3>Cluster {esc(c.cluster_id)}: {esc(type_label(c.gender_group, c.level_group))}</h3>"
                f"<div>Venue: <b>{sname(c.venue_school_id)}</b>. {esc(c.n_teachers)} teachers from {esc(c.n_schools)} school(s); "
                f"longest travel {_f(c.max_travel_minutes)} min.</div>"
                + html_table(["school", "travel to venue", "teachers", "teachers (ids)"], mem, {2})
                + cluster_note(c.cluster_id)
                + "</div>"
            )
        npl = a[(a["district"] == d) & (a["status"] != "placed") & ~a["left_out"]]
        out.append(f"<h3>Teachers not placed in {esc(d)}: {int(npl['n'].sum()):,}</h3>")
        if len(npl):
            nrows = []
            for (sid, gender, level, reason, sugg), g in npl.groupby(["school_id", "gender", "level", "reason", "suggestion"], sort=True):
                nrows.append(
                    [sname(sid), esc(_who(gender, level)), f"{int(g['n'].sum())}", esc(", ".join(g["teacher_id"])), esc(reason), esc(sugg) or "none found"]
                )
            out.append(
                html_table(["school", "teachers", "how many", "teacher ids", "why not placed", "smallest change that would place them"], nrows, {2}, cls="np")
            )
        heads = a[(a["district"] == d) & a["left_out"]]
        if len(heads):
            out.append(
                f"<p class='note'>{int(heads['n'].sum()):,} head teacher(s) in {esc(d)} are not cluster members: they support the clusters "
                "(policy include_head_teachers = false).</p>"
            )
        out.append("</section>")
    out.append(support_html)
    out.append("<p class='note'>Generated by cluster_mapper. Map data where used: &copy; OpenStreetMap contributors, ODbL 1.0.</p></body></html>")
    return "\n".join(out)


def _edits_and_changes(pf) -> list[str]:
    """The "Edits" and "Changes since the previous plan" sections (from ``edits.csv`` and ``changes.csv``)."""

    folder = getattr(pf, "directory", None)
    out: list[str] = []
    if folder is None:
        return out
    edits_csv, changes_csv = Path(folder) / "edits.csv", Path(folder) / "changes.csv"
    if edits_csv.exists():
        e = read_plan_csv(edits_csv)
        out.append(f"<h2>Edits honoured ({len(e)})</h2><p class='note'>Rules set by the people who use the plan; every one is a hard rule.</p>")
        out.append(
            html_table(
                ["row", "action", "school", "other school", "cluster", "minutes", "note"],
                [
                    [esc(r["row"]), esc(r["action"]), esc(r["school_id"]), esc(r["other_school_id"]), esc(r["cluster_id"]), esc(r["minutes"]), esc(r["note"])]
                    for r in e.to_dict("records")
                ],
                {0},
            )
        )
    if changes_csv.exists():
        c = read_plan_csv(changes_csv)
        n = pd.to_numeric(c["n_teachers"], errors="coerce").fillna(1).astype(int)
        ch = pf.summary.get("changes") or {}
        cl = ch.get("clusters") or {}
        moved = c[c["change"].isin([*MOVES, "newly_placed"])]
        out.append("<h2>Changes since the previous plan</h2>")
        out.append(
            f"<p>{int(n[c['change'].isin(MOVES)].sum())} teacher(s) moved away from their previous venue "
            f"({int(n[c['change'] == 'lost_place'].sum())} of them lost their place); {int(n[c['change'] == 'newly_placed'].sum())} newly placed. "
            f"Clusters: {cl.get('kept', 0)} kept as they were, {cl.get('changed', 0)} changed, {cl.get('created', 0)} created, {cl.get('dissolved', 0)} dissolved. "
            f"Previous plan: {esc(pf.summary.get('revised_from') or '')}.</p>"
        )
        if len(moved):
            out.append(
                html_table(
                    ["teacher", "school", "change", "from cluster", "to cluster", "travel change (min)", "why"],
                    [
                        [
                            esc(r["teacher_id"]),
                            esc(r["school_id"]),
                            esc(r["change"].replace("_", " ")),
                            esc(r["old_cluster_id"]),
                            esc(r["new_cluster_id"]),
                            _f(r["travel_change_minutes"]),
                            esc(r["why"]),
                        ]
                        for r in moved.to_dict("records")
                    ],
                    {5},
                )
            )
    return out


def write_report(plan, folder: str | Path) -> Path:
    """Write ``report.html`` of a plan into ``folder`` and return its path."""
    p = Path(folder) / "report.html"
    p.write_text(build_report(plan), encoding="utf-8")
    return p


__all__ = ["write_report", "build_report", "travel_histogram_png"]
