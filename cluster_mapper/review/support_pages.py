"""Support in the review: a map layer per facilitator and report pages per facilitator.

Map (``map.html``): one layer per facilitator with their base, each working
day's route (along the roads where the plan has a network) and their
clusters' venues; one layer of clusters without support, in red, with the
reason and the smallest change. Drawn by a small script from compact,
escaped JSON, like the cluster layers.

Report (``report.html``): a support section (figures, the programme table of
who supports what with load and travel, clusters without support with
reasons and changes, and the sizing answer), then one printable page per
facilitator: their clusters, the month's calendar and each day's route with
times. Each cluster block of the report also names its facilitator and its
candidate subject leaders.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pandas as pd

from cluster_mapper.planning.roles import CORE_SUBJECTS, subject_leaders
from cluster_mapper.review.html import PALETTE, esc, html_table, script_json, type_label
from cluster_mapper.support.explain import minutes_words
from cluster_mapper.support.planning import minutes_clock

#: Coordinates budget of the drawn routes (simplified beyond it).
ROUTE_COORD_BUDGET = 120_000


def _names(plan) -> dict[str, str]:
    geo = plan.geodata
    if geo is None:
        return {}
    sch = geo[geo["kind"] == "school"]
    return dict(zip(sch["school_id"], sch["name"]))


def _simplify(coords: list, tol: float) -> list:
    if len(coords) < 3 or tol <= 0:
        return coords
    from shapely.geometry import LineString

    return list(LineString(coords).simplify(tol).coords)


# --------------------------------------------------------------------------- map


def support_payload(plan) -> dict:
    """The escaped data the facilitator layers draw."""
    sp = plan.support
    names = _names(plan)
    prog = sp.programme
    it = sp.itineraries
    n_coords = sum(len(w) for days in sp.legs.values() for _, w in days)
    tol = 0.0
    while n_coords > ROUTE_COORD_BUDGET and tol < 0.01:
        tol = tol * 2 if tol else 0.00005
        n_coords = sum(len(_simplify(w, tol)) for days in sp.legs.values() for _, w in days)
    facs = []
    for k, fr in enumerate(prog.itertuples(index=False)):
        rows = it[it["facilitator_id"] == fr.facilitator_id]
        days = []
        for day, way in sp.legs.get(fr.facilitator_id, []):
            dr = rows[(rows["day"] == day) & (rows["kind"] == "meeting")]
            text = "; ".join(
                f"{esc(r.cluster_id)} at {esc(names.get(r.school_id, r.school_id))} {minutes_clock(r.arrive_minute)}-{minutes_clock(r.leave_minute)}"
                for r in dr.itertuples(index=False)
            )
            flat = []
            for lon, lat in _simplify(way, tol):
                flat += [round(float(lat), 5), round(float(lon), 5)]
            days.append([int(day), flat, text])
        venues = []
        for (cid, sid), g in rows[rows["kind"] == "meeting"].groupby(["cluster_id", "school_id"], sort=True):
            r0 = g.iloc[0]
            venues.append(
                [
                    round(float(r0["latitude"]), 5),
                    round(float(r0["longitude"]), 5),
                    esc(cid),
                    esc(names.get(sid, sid)),
                    ", ".join(f"day {int(d)}" for d in g["day"]),
                ]
            )
        base_name = names.get(fr.base_school_id, "") if isinstance(fr.base_school_id, str) else ""
        facs.append(
            [
                esc(fr.facilitator_id),
                esc(fr.name),
                PALETTE[k % len(PALETTE)],
                round(float(fr.latitude), 5),
                round(float(fr.longitude), 5),
                esc(base_name or "base"),
                int(fr.clusters),
                round(float(fr.travel_minutes), 1),
                int(fr.days_used),
                int(fr.days_per_month),
                days,
                venues,
            ]
        )
    geo = plan.geodata
    vpos = {}
    if geo is not None:
        v = geo[geo["kind"] == "venue"]
        vpos = {c: (g.y, g.x) for c, g in zip(v["cluster_id"], v.geometry)}
    unsupported = []
    for r in sp.support[sp.support["facilitator_id"] == ""].itertuples(index=False):
        if r.cluster_id in vpos:
            lat, lon = vpos[r.cluster_id]
            unsupported.append([round(float(lat), 5), round(float(lon), 5), esc(r.cluster_id), esc(r.reason), esc(r.suggestion)])
    return {"f": facs, "u": unsupported}


SUPPORT_JS = r"""
(function () {
  var D = __DATA__, G = __GROUPS__, U = __UGROUP__;
  var rend = L.svg({padding: 0.3});
  D.f.forEach(function (f, k) {
    var g = G[k]; if (!g) return;
    var col = f[2];
    f[10].forEach(function (d) {
      var ll = []; for (var i = 0; i < d[1].length; i += 2) ll.push([d[1][i], d[1][i + 1]]);
      if (ll.length < 2) return;
      var line = L.polyline(ll, {renderer: rend, color: col, weight: 3, opacity: 0.8, dashArray: '6 4', className: 'cm-froute'});
      line.bindTooltip(function () { return f[0] + ' day ' + d[0] + ': ' + d[2]; }, {sticky: true});
      g.addLayer(line);
    });
    f[11].forEach(function (v) {
      var mk = L.circleMarker([v[0], v[1]], {renderer: rend, radius: 7, color: col, weight: 3, fill: false, className: 'cm-fvenue'});
      mk.bindTooltip(function () { return 'Cluster ' + v[2] + ' at ' + v[3] + ': supported by ' + f[0] + ' (' + v[4] + ')'; });
      g.addLayer(mk);
    });
    var icon = L.divIcon({className: 'cm-fbase', iconSize: [16, 16], html: '<div style="width:12px;height:12px;background:' + col + ';border:2px solid #111"></div>'});
    var b = L.marker([f[3], f[4]], {icon: icon, keyboard: false, zIndexOffset: 800});
    b.bindPopup(function () {
      return '<div class="cm-pop"><b>Facilitator ' + f[0] + '</b>: ' + f[1] + '<br>Base: ' + f[5] + '<br>' + f[6] + ' cluster(s), ' +
        f[8] + ' of ' + f[9] + ' days, ' + f[7] + ' minutes of travel in the month</div>';
    });
    b.bindTooltip(function () { return 'Base of ' + f[0] + ': ' + f[5]; });
    g.addLayer(b);
  });
  if (U) D.u.forEach(function (u) {
    var mk = L.circleMarker([u[0], u[1]], {renderer: rend, radius: 11, color: '#d62728', weight: 3, dashArray: '3 3', fill: false, className: 'cm-unsupported'});
    mk.bindPopup(function () { return '<div class="cm-pop"><b class="np">Cluster ' + u[2] + ': no facilitator</b><br>Why: ' + u[3] + '<br>Smallest change: ' + (u[4] || 'none found') + '</div>'; });
    mk.bindTooltip(function () { return 'Cluster ' + u[2] + ' has no facilitator'; });
    U.addLayer(mk);
  });
  window.clusterSupportStats = {facilitators: D.f.length, unsupported: D.u.length};
})();
"""


def map_layers(plan) -> Callable[[Any], None]:
    """A function that adds the facilitator layers to a folium map (before its layer control)."""
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    data = support_payload(plan)

    def add(m) -> None:
        groups = []
        for f in data["f"]:
            fg = folium.FeatureGroup(name=f"<span style='color:{f[2]}'>&#9632;</span> Facilitator {f[0]} ({f[6]} clusters)", show=True)
            fg.add_to(m)
            groups.append(fg.get_name())
        ug = "null"
        if data["u"]:
            g = folium.FeatureGroup(name=f"<span style='color:#d62728'>Clusters without a facilitator ({len(data['u'])})</span>", show=True)
            g.add_to(m)
            ug = g.get_name()
        js = SUPPORT_JS.replace("__DATA__", script_json(data)).replace("__GROUPS__", "[" + ",".join(groups) + "]").replace("__UGROUP__", ug)

        class _Support(MacroElement):
            _template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")

            def __init__(self, code: str):
                super().__init__()
                self._name = "SupportLayers"
                self.js = code

        m.add_child(_Support(js))

    return add


# --------------------------------------------------------------------------- report

REPORT_CSS = """
.fpage{page-break-before:always;break-before:page}
.day td{vertical-align:top}
"""


def _t(headers: list[str], rows: list[list[str]], numeric: AbstractSet[int] = frozenset()) -> str:

    return html_table(headers, rows, set(numeric))


def cluster_note(plan) -> Callable[[str], str]:
    """HTML to add under each cluster block: its facilitator and candidate subject leaders."""
    sp = getattr(plan, "support", None)
    fac_of, names = {}, {}
    if sp is not None:
        fac_of = dict(zip(sp.support["cluster_id"], sp.support["facilitator_id"]))
        names = dict(zip(sp.programme["facilitator_id"], sp.programme["name"])) if len(sp.programme) else {}
    pol = plan.policy
    required = tuple(dict.fromkeys(s for d in plan.clusters["district"].unique() for s in pol.for_district(d).subjects_required))
    leaders = subject_leaders(plan.assignments, required or CORE_SUBJECTS)
    missing = dict(zip(plan.clusters["cluster_id"], plan.clusters["subjects_missing"])) if "subjects_missing" in plan.clusters.columns else {}
    reasons = dict(zip(plan.clusters["cluster_id"], plan.clusters["subjects_reason"])) if "subjects_reason" in plan.clusters.columns else {}

    def note(cid: str) -> str:
        parts = []
        if sp is not None:
            f = fac_of.get(cid, "")
            parts.append(f"Facilitator: <b>{esc(f)}</b> {esc(names.get(f, ''))}" if f else "Facilitator: <b style='color:#a00'>none</b> (see Support)")
        ld = leaders.get(cid)
        if ld:
            parts.append("Candidate subject leaders: " + "; ".join(f"{esc(s)}: {esc(', '.join(ids)) if ids else '<i>none</i>'}" for s, ids in ld.items()))
        if missing.get(cid):
            parts.append(f"<span style='color:#a00'>Missing subjects: {esc(missing[cid])}</span> ({esc(reasons.get(cid, ''))})")
        return "<div class='note'>" + "<br>".join(parts) + "</div>" if parts else ""

    return note


def report_sections(plan) -> str:
    """The support section and the facilitator pages of the report (HTML, escaped)."""
    sp = plan.support
    if sp is None:
        return ""
    fig = sp.figures
    names = _names(plan)
    ct = plan.clusters.set_index("cluster_id")
    out = [f"<style>{REPORT_CSS}</style><section class='fpage'><h2>Support: who supports each cluster</h2>"]
    gap = fig.get("gap")
    rows = [
        [
            "Facilitators",
            (
                f"{fig.get('facilitators', 0)} ({fig.get('facilitators_supporting', 0)} supporting at least one cluster); file "
                f"{esc(Path(fig.get('facilitators_file') or '').name)}"
            ),
        ],
        [
            "Clusters supported",
            f"{fig.get('clusters_supported', 0):,} of {fig.get('clusters', 0):,}" + (" (most possible, proven)" if fig.get("supported_proven_maximal") else ""),
        ],
        ["Clusters no eligible facilitator can reach in a day", f"{fig.get('clusters_unreachable', 0):,}"],
        [
            "Facilitator travel in the month",
            (
                f"{fig.get('travel_minutes_month', 0):,.0f} minutes; per facilitator mean "
                f"{fig.get('travel_minutes_per_facilitator_mean', 0):,.0f}, longest {fig.get('travel_minutes_per_facilitator_max', 0):,.0f}"
            ),
        ],
        [
            "Lower bound on that travel",
            "none (calendar heuristic)"
            if fig.get("travel_lower_bound") is None
            else f"{fig['travel_lower_bound']:,.0f} minutes (gap {100 * float(gap or 0):.2f}%)",
        ],
        ["One round trip per meeting (floor)", f"{fig['floor']['clusters_supported']:,} clusters, {fig['floor']['travel_minutes_month']:,.0f} minutes"],
        [
            "Workload (share of available days in use)",
            f"{100 * fig.get('workload_share_min', 0):.0f}% to {100 * fig.get('workload_share_max', 0):.0f}%"
            + ("; the most even at that travel, proven" if fig.get("workload_proven_most_even") else "; the most even found at that travel (not proven)"),
        ],
        ["Calendar", esc(fig.get("calendar", ""))],
        [
            "Rules",
            esc(
                ", ".join(
                    f"{k} = {str(v).lower() if isinstance(v, bool) else f'{v:g}' if isinstance(v, float) else v}" for k, v in (fig.get("policy") or {}).items()
                )
            ),
        ],
    ]
    out.append(_t(["", ""], [[f"<b>{k}</b>", v] for k, v in rows]))
    if fig.get("notes"):
        out.append("<p class='note'>" + "<br>".join(esc(n) for n in fig["notes"]) + "</p>")
    # programme table
    prow = []
    for r in sp.programme.itertuples(index=False):
        prow.append(
            [
                esc(r.facilitator_id),
                esc(r.name),
                esc(
                    names.get(r.base_school_id, r.base_school_id) if isinstance(r.base_school_id, str) and r.base_school_id else f"{r.latitude}, {r.longitude}"
                ),
                esc(r.levels),
                f"{int(r.clusters)}",
                f"{int(r.teachers)}",
                f"{int(r.meetings)}",
                f"{int(r.days_used)} / {int(r.days_per_month)}",
                f"{float(r.travel_minutes):,.0f}",
                f"{100 * float(r.workload_share):.0f}%",
            ]
        )
    out.append(
        "<h3>Programme: who supports what</h3>"
        + _t(
            ["facilitator", "name", "base", "levels", "clusters", "teachers", "meetings", "days used", "travel (min/month)", "workload"], prow, {4, 5, 6, 8, 9}
        )
    )
    uns = sp.support[sp.support["facilitator_id"] == ""]
    out.append(f"<h3>Clusters without a facilitator: {len(uns)}</h3>")
    if len(uns):
        out.append(
            _t(
                ["cluster", "venue", "why", "smallest change that would support it"],
                [
                    [
                        esc(r.cluster_id),
                        esc(names.get(ct.at[r.cluster_id, "venue_school_id"], "")) if r.cluster_id in ct.index else "",
                        esc(r.reason),
                        esc(r.suggestion),
                    ]
                    for r in uns.itertuples(index=False)
                ],
            )
        )
    if len(sp.sizing):
        srow = [
            [
                esc(r.kind),
                f"{int(r.clusters)}",
                f"{int(r.facilitators_in_file)}",
                "" if pd.isna(r.fewest_needed) else f"{int(r.fewest_needed)}",
                "yes" if r.proven else f"no (at least {int(r.lower_bound)})",
                f"{int(r.clusters_per_facilitator)}",
                esc(r.bases),
            ]
            for r in sp.sizing.itertuples(index=False)
        ]
        out.append(
            "<h3>How many facilitators are needed, and where</h3><p class='note'>The fewest facilitators of each kind, based at schools "
            "that can host, to support every cluster (one meeting a day, the typical capacity of the file's facilitators).</p>"
            + _t(["kind", "clusters", "in the file", "fewest needed", "proven fewest", "clusters each", "bases"], srow, {1, 2, 3, 5})
        )
    out.append("</section>")
    # one page per facilitator
    it = sp.itineraries
    for r in sp.programme.itertuples(index=False):
        rows = it[it["facilitator_id"] == r.facilitator_id]
        base = names.get(r.base_school_id, "") if isinstance(r.base_school_id, str) and r.base_school_id else ""
        out.append(
            f"<section class='fpage'><h2>Facilitator {esc(r.facilitator_id)}: {esc(r.name)}</h2>"
            f"<p>{esc(r.gender)}; levels {esc(r.levels)}; subjects {esc(r.subjects) or '-'}; travels by {esc(r.travel_mode) or 'the policy mode'}. "
            f"Base: <b>{esc(base or f'{r.latitude}, {r.longitude}')}</b>. {int(r.clusters)} cluster(s), {int(r.teachers)} teachers, "
            f"{int(r.days_used)} of {int(r.days_per_month)} days, {float(r.travel_minutes):,.0f} minutes of travel in the month.</p>"
        )
        crow = []
        for cid in [c for c in str(r.cluster_ids).split(";") if c]:
            days = rows.loc[(rows["cluster_id"] == cid) & (rows["kind"] == "meeting"), "day"]
            c = ct.loc[cid] if cid in ct.index else None
            crow.append(
                [
                    esc(cid),
                    esc(type_label(c["gender_group"], c["level_group"])) if c is not None else "",
                    esc(names.get(c["venue_school_id"], c["venue_school_id"])) if c is not None else "",
                    esc(c["n_teachers"]) if c is not None else "",
                    ", ".join(str(int(d)) for d in days),
                ]
            )
        out.append("<h3>Clusters</h3>" + (_t(["cluster", "type", "venue", "teachers", "meeting day(s)"], crow, {3}) if crow else "<p>None.</p>"))
        drow = []
        for day, d in rows.groupby("day", sort=True):
            steps, travel = [], 0.0
            for s in d.sort_values("stop").itertuples(index=False):
                if s.kind == "base" and s.stop == 0:
                    steps.append(f"{minutes_clock(s.leave_minute)} leave base")
                elif s.kind == "meeting":
                    steps.append(
                        f"{minutes_clock(s.arrive_minute)} arrive {esc(names.get(s.school_id, s.school_id))}: meeting of {esc(s.cluster_id)} "
                        f"until {minutes_clock(s.leave_minute)}"
                    )
                else:
                    steps.append(f"{minutes_clock(s.arrive_minute)} back at base")
            meetings = int((d["kind"] == "meeting").sum())
            end = float(d["arrive_minute"].dropna().iloc[-1]) if d["arrive_minute"].notna().any() else 0.0
            travel = end - meetings * float((fig.get("policy") or {}).get("meeting_minutes", 0))
            drow.append([f"{int(day)}", "<br>".join(steps), minutes_words(travel), minutes_words(end)])
        out.append(
            "<h3>The month's calendar</h3><p class='note'>Times are hours:minutes from the start of the working day (leaving the base).</p>"
            + (_t(["day", "route and times", "travel", "working day"], drow, {0}) if drow else "<p>No working days planned.</p>")
        )
        out.append("</section>")
    return "\n".join(out)


def report_hooks(plan) -> tuple[Callable[[str], str], str]:
    """What the report adds: the per-cluster note and the support sections."""
    try:
        note = cluster_note(plan)
    except (KeyError, ValueError):  # an older plan without the columns: no notes

        def note(cid: str) -> str:
            return ""

    return note, report_sections(plan) if getattr(plan, "support", None) is not None else ""


__all__ = ["cluster_note", "map_layers", "report_hooks", "report_sections", "support_payload"]
