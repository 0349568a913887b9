"""Support in the review: the facilitators layer of the map, and the support pages, registers and attendance of the report.

Map (``map.html``): one *Facilitators* layer, off by default, with a picker
(all facilitators, or one) and a distinct colour for each facilitator (evenly
spaced hues, so many facilitators never share a colour); each facilitator's
base (a square, explained in the layer's legend), each working day's route
with its date and clock times, and their clusters' venues. A layer of
clusters without support (red, with the reason and the smallest change),
and, after ``cluster-mapper attendance``, a layer of clusters at risk. Drawn
by a small script from compact, escaped JSON; the script is a Jinja2
template, and the layers it fills are checked JavaScript identifiers made by
folium, never text from the data.

Report (``report.html``): a support section (figures, the programme table,
clusters without support with reasons and changes, the sizing answer), one
printable page per facilitator (clusters, the month's calendar on dates and
clock times), one printable attendance register per cluster (meeting dates,
teachers by name and school, a signature column per meeting) and, after
``cluster-mapper attendance``, the attendance read back with the clusters
and teachers at risk set against their travel. All HTML is written by Jinja2
templates with autoescaping.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

from cluster_mapper.planning.roles import CORE_SUBJECTS, subject_leaders
from cluster_mapper.review.html import script_json, type_label
from cluster_mapper.support.attendance import read_attendance, teacher_names
from cluster_mapper.support.explain import minutes_words
from cluster_mapper.support.planning import minutes_clock

#: Coordinates budget of the drawn routes (simplified beyond it).
ROUTE_COORD_BUDGET = 120_000
_JS_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def facilitator_colours(n: int) -> list[str]:
    """``n`` distinct colours: hues spaced by the golden angle, two lightness bands (no two alike for any ``n``)."""
    out = []
    for i in range(n):
        h = (i * 0.381966) % 1.0
        light = 0.38 if i % 2 else 0.5
        r, g, b = colorsys.hls_to_rgb(h, light, 0.75)
        out.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return out


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


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def _day_words(r) -> str:
    """``"2027-03-02"`` or ``"day 3"``."""
    d = _text(getattr(r, "date", ""))
    return d if d else f"day {int(r.day)}"


def _meeting_times(r) -> str:
    start = _text(getattr(r, "start_time", ""))
    return f"{start}-{_text(r.end_time)}" if start else f"{minutes_clock(r.arrive_minute)}-{minutes_clock(r.leave_minute)}"


def _base_words(fr, names: dict[str, str]) -> str:
    sid = fr.base_school_id if isinstance(fr.base_school_id, str) else ""
    return names.get(sid, sid) if sid else f"home ({float(fr.latitude):.5f}, {float(fr.longitude):.5f})"


# --------------------------------------------------------------------------- map


def support_payload(plan) -> dict:
    """The data the facilitators layer draws (plain values; escaped as JSON and as text by the script)."""
    sp = plan.support
    names = _names(plan)
    prog = sp.programme
    it = sp.itineraries
    n_coords = sum(len(w) for days in sp.legs.values() for _, w in days)
    tol = 0.0
    while n_coords > ROUTE_COORD_BUDGET and tol < 0.01:
        tol = tol * 2 if tol else 0.00005
        n_coords = sum(len(_simplify(w, tol)) for days in sp.legs.values() for _, w in days)
    colours = facilitator_colours(len(prog))
    facs = []
    for k, fr in enumerate(prog.itertuples(index=False)):
        rows = it[it["facilitator_id"] == fr.facilitator_id]
        days = []
        for day, way in sp.legs.get(fr.facilitator_id, []):
            dr = rows[(rows["day"] == day) & (rows["kind"] == "meeting")]
            text = "; ".join(f"{r.cluster_id} at {names.get(r.school_id, r.school_id)} {_meeting_times(r)}" for r in dr.itertuples(index=False))
            when = _day_words(dr.iloc[0]) if len(dr) else f"day {int(day)}"
            flat = []
            for lon, lat in _simplify(way, tol):
                flat += [round(float(lat), 5), round(float(lon), 5)]
            days.append([when, flat, text])
        venues = []
        for (cid, sid), g in rows[rows["kind"] == "meeting"].groupby(["cluster_id", "school_id"], sort=True):
            r0 = g.iloc[0]
            venues.append(
                [
                    round(float(r0["latitude"]), 5),
                    round(float(r0["longitude"]), 5),
                    cid,
                    names.get(sid, sid),
                    ", ".join(_day_words(r) for r in g.itertuples(index=False)),
                ]
            )
        facs.append(
            [
                fr.facilitator_id,
                fr.name,
                colours[k],
                round(float(fr.latitude), 5),
                round(float(fr.longitude), 5),
                _base_words(fr, names),
                int(fr.clusters),
                round(float(fr.travel_minutes), 1),
                int(fr.days_used),
                int(fr.days_per_month),
                days,
                venues,
            ]
        )
    vpos = _venue_positions(plan)
    unsupported = []
    for r in sp.support[sp.support["facilitator_id"] == ""].itertuples(index=False):
        if r.cluster_id in vpos:
            lat, lon = vpos[r.cluster_id]
            unsupported.append([round(float(lat), 5), round(float(lon), 5), r.cluster_id, r.reason, r.suggestion])
    return {"f": facs, "u": unsupported, "r": _risk_points(plan, vpos)}


def _venue_positions(plan) -> dict[str, tuple[float, float]]:
    geo = plan.geodata
    if geo is None:
        return {}
    v = geo[geo["kind"] == "venue"]
    return {c: (g.y, g.x) for c, g in zip(v["cluster_id"], v.geometry)}


def _attendance(plan) -> pd.DataFrame | None:
    d = getattr(plan, "directory", None)
    return read_attendance(d) if d is not None else None


def _risk_points(plan, vpos: dict) -> list:
    att = _attendance(plan)
    if att is None:
        return []
    cl = att[(att["level"] == "cluster") & att["at_risk"]]
    teachers = att[att["level"] == "teacher"]
    out = []
    for r in cl.itertuples(index=False):
        if r.cluster_id in vpos:
            lat, lon = vpos[r.cluster_id]
            low = teachers[(teachers["cluster_id"] == r.cluster_id) & teachers["at_risk"]]
            out.append(
                [
                    round(float(lat), 5),
                    round(float(lon), 5),
                    r.cluster_id,
                    round(100 * float(r.attendance_rate)),
                    int(r.meetings_held),
                    round(float(r.travel_minutes)),
                    len(low),
                ]
            )
    return out


_ENV = Environment(
    loader=DictLoader(
        {
            "support.js": """
(function () {
  var D = {{ data }}, G = {{ group }}, U = {{ ugroup }}, R = {{ rgroup }}, map = {{ map }};
  var rend = L.svg({padding: 0.3});
  var esc = function (s) { return String(s).replace(/[&<>"']/g, function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); };
  var parts = D.f.map(function (f) {
    var g = L.layerGroup(), col = f[2];
    f[10].forEach(function (d) {
      var ll = []; for (var i = 0; i < d[1].length; i += 2) ll.push([d[1][i], d[1][i + 1]]);
      if (ll.length < 2) return;
      var line = L.polyline(ll, {renderer: rend, color: col, weight: 3, opacity: 0.85, dashArray: '6 4', className: 'cm-froute'});
      line.bindTooltip(function () { return esc(f[0] + ' ' + d[0] + ': ' + d[2]); }, {sticky: true});
      g.addLayer(line);
    });
    f[11].forEach(function (v) {
      var mk = L.circleMarker([v[0], v[1]], {renderer: rend, radius: 7, color: col, weight: 3, fill: false, className: 'cm-fvenue'});
      mk.bindTooltip(function () { return esc('Cluster ' + v[2] + ' at ' + v[3] + ': supported by ' + f[0] + ' (' + v[4] + ')'); });
      g.addLayer(mk);
    });
    var icon = L.divIcon({className: 'cm-fbase', iconSize: [16, 16], html: '<div style="width:12px;height:12px;background:' + col + ';border:2px solid #111"></div>'});
    var b = L.marker([f[3], f[4]], {icon: icon, keyboard: false, zIndexOffset: 800});
    b.bindPopup(function () {
      return '<div class="cm-pop"><b>Facilitator ' + esc(f[0]) + '</b>: ' + esc(f[1]) + '<br>Base: ' + esc(f[5]) + '<br>' + f[6] + ' cluster(s), ' +
        f[8] + ' of ' + f[9] + ' days, ' + f[7] + ' minutes of travel in the month</div>';
    });
    b.bindTooltip(function () { return esc('Base of ' + f[0] + ': ' + f[5]); });
    g.addLayer(b);
    return g;
  });
  var show = function (k) { parts.forEach(function (g, i) { if (k < 0 || k === i) G.addLayer(g); else G.removeLayer(g); }); };
  show(-1);
  var picker = L.control({position: 'topleft'});
  picker.onAdd = function () {
    var box = L.DomUtil.create('div', 'cm-fpicker leaflet-bar');
    box.style.background = '#fff'; box.style.padding = '4px 6px'; box.style.font = '12px sans-serif';
    var html = '<label>Facilitator <select><option value="-1">all (' + D.f.length + ')</option>';
    D.f.forEach(function (f, i) { html += '<option value="' + i + '">' + esc(f[0] + ' ' + f[1]) + '</option>'; });
    html += '</select></label><div style="margin-top:3px"><span style="display:inline-block;width:10px;height:10px;border:2px solid #111;background:#888"></span> base ' +
      '&nbsp;<span style="display:inline-block;width:16px;border-top:3px dashed #888"></span> day route &nbsp;&#9711; venue supported</div>';
    box.innerHTML = html;
    L.DomEvent.disableClickPropagation(box);
    box.querySelector('select').addEventListener('change', function (e) { show(parseInt(e.target.value, 10)); });
    return box;
  };
  map.on('overlayadd', function (e) { if (e.layer === G) picker.addTo(map); });
  map.on('overlayremove', function (e) { if (e.layer === G) picker.remove(); });
  if (map.hasLayer(G)) picker.addTo(map);
  if (U) D.u.forEach(function (u) {
    var mk = L.circleMarker([u[0], u[1]], {renderer: rend, radius: 11, color: '#d62728', weight: 3, dashArray: '3 3', fill: false, className: 'cm-unsupported'});
    mk.bindPopup(function () { return '<div class="cm-pop"><b class="np">Cluster ' + esc(u[2]) + ': no facilitator</b><br>Why: ' + esc(u[3]) + '<br>Smallest change: ' + esc(u[4] || 'none found') + '</div>'; });
    mk.bindTooltip(function () { return esc('Cluster ' + u[2] + ' has no facilitator'); });
    U.addLayer(mk);
  });
  if (R) D.r.forEach(function (r) {
    var mk = L.circleMarker([r[0], r[1]], {renderer: rend, radius: 13, color: '#ff7f0e', weight: 4, fill: false, className: 'cm-atrisk'});
    mk.bindPopup(function () { return '<div class="cm-pop"><b>Cluster ' + esc(r[2]) + ': attendance ' + r[3] + '%</b> over ' + r[4] + ' meeting(s)<br>' +
      r[6] + ' teacher(s) at risk; mean travel ' + r[5] + ' min</div>'; });
    mk.bindTooltip(function () { return esc('Cluster ' + r[2] + ': attendance ' + r[3] + '%'); });
    R.addLayer(mk);
  });
  window.clusterSupportStats = {facilitators: D.f.length, unsupported: D.u.length, at_risk: D.r.length};
})();
""",
            "support.html": """<style>
.fpage{page-break-before:always;break-before:page}
.day td{vertical-align:top}
.register td.sign{width:5.5em}
</style>
<section class='fpage'><h2>Support: who supports each cluster</h2>
<table class=''><tbody>{% for k, v in figures %}<tr><td><b>{{ k }}</b></td><td>{{ v }}</td></tr>{% endfor %}</tbody></table>
{% if notes %}<p class='note'>{% for n in notes %}{{ n }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>{% endif %}
<h3>Programme: who supports what</h3>
<table class=''><thead><tr>{% for h in ["facilitator", "name", "base", "levels", "clusters", "teachers", "meetings", "days used", "travel (min/month)", "workload"] %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in programme %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td><td>{{ r[3] }}</td>{% for c in r[4:] %}<td class='n'>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
<h3>Clusters without a facilitator: {{ unsupported|length }}</h3>
{% if unsupported %}<table class=''><thead><tr><th>cluster</th><th>venue</th><th>why</th><th>smallest change that would support it</th></tr></thead><tbody>
{% for r in unsupported %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endif %}
{% if sizing %}<h3>How many facilitators are needed, and where</h3><p class='note'>The fewest facilitators of each kind, based at schools
that can host and suit them (women at girls' or mixed schools, men at boys' or mixed schools), to support every cluster
(one meeting a day, the typical capacity of the file's facilitators). "Proven" when the number meets its lower bound; otherwise the gap is shown.</p>
<table class=''><thead><tr>{% for h in ["kind", "clusters", "in the file", "fewest needed", "lower bound", "proven fewest", "clusters each", "bases"] %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in sizing %}<tr><td>{{ r[0] }}</td>{% for c in r[1:6] %}<td class='n'>{{ c }}</td>{% endfor %}<td class='n'>{{ r[6] }}</td><td>{{ r[7] }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
</section>
{% for f in facilitators %}<section class='fpage'><h2>Facilitator {{ f.id }}: {{ f.name }}</h2>
<p>{{ f.gender }}; levels {{ f.levels }}; subjects {{ f.subjects or '-' }}; travels by {{ f.mode or 'the policy mode' }}.
Base: <b>{{ f.base }}</b>. {{ f.clusters }} cluster(s), {{ f.teachers }} teachers, {{ f.days_used }} of {{ f.days }} days, {{ f.travel }} minutes of travel in the month.</p>
<h3>Clusters</h3>{% if f.rows %}<table class=''><thead><tr><th>cluster</th><th>type</th><th>venue</th><th>teachers</th><th>meeting dates</th></tr></thead><tbody>
{% for r in f.rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td><td class='n'>{{ r[3] }}</td><td>{{ r[4] }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>None.</p>{% endif %}
<h3>The month's calendar</h3><p class='note'>{{ clock_note }}</p>
{% if f.days_rows %}<table class='day'><thead><tr><th>day</th><th>route and times</th><th>travel</th><th>working day</th></tr></thead><tbody>
{% for d in f.days_rows %}<tr><td>{{ d[0] }}</td><td>{% for s in d[1] %}{{ s }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td><td>{{ d[2] }}</td><td>{{ d[3] }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>No working days planned.</p>{% endif %}
</section>
{% endfor %}""",
            "registers.html": """{% if registers %}<section class='fpage'><h2>Attendance registers</h2>
<p class='note'>One register per supported cluster, to print and keep at each meeting: tick or sign for each teacher present. Send the records back
as date, cluster_id, teacher_id, present (yes/no) and run <code>cluster-mapper attendance PLAN --records FILE</code>.</p></section>
{% for g in registers %}<section class='fpage register'><h3>Cluster {{ g.cluster }}: attendance register</h3>
<p>Venue: <b>{{ g.venue }}</b>. Facilitator: {{ g.facilitator }}. Meetings: {{ g.dates|join(', ') }}.</p>
<table class='register'><thead><tr><th>teacher id</th><th>name</th><th>school</th>{% for d in g.dates %}<th>{{ d }}<br>signature</th>{% endfor %}</tr></thead><tbody>
{% for t in g.teachers %}<tr><td>{{ t[0] }}</td><td>{{ t[1] }}</td><td>{{ t[2] }}</td>{% for d in g.dates %}<td class='sign'></td>{% endfor %}</tr>{% endfor %}
</tbody></table></section>
{% endfor %}{% endif %}""",
            "attendance.html": """<section class='fpage'><h2>Attendance read back</h2>
<p>{{ n_clusters }} cluster(s) with meetings recorded; <b>{{ risk_clusters|length }}</b> cluster(s) and <b>{{ n_risk_teachers }}</b> teacher(s) at risk
(attendance below {{ threshold }}%). Mean travel of teachers at risk: {{ travel_risk }} minutes; of the others: {{ travel_rest }} minutes.
To revise the clusters at risk: <code>cluster-mapper plan ... --revise PLAN</code> (see the README).</p>
{% if risk_clusters %}<table class=''><thead><tr><th>cluster</th><th>meetings held</th><th>attendance</th><th>mean travel (min)</th><th>teachers at risk (travel, min)</th></tr></thead><tbody>
{% for r in risk_clusters %}<tr><td>{{ r[0] }}</td><td class='n'>{{ r[1] }}</td><td class='n'>{{ r[2] }}</td><td class='n'>{{ r[3] }}</td><td>{{ r[4] }}</td></tr>{% endfor %}
</tbody></table>{% endif %}</section>""",
            "note.html": """<div class='note'>{% for p in parts %}{{ p }}{% if not loop.last %}<br>{% endif %}{% endfor %}</div>""",
        }
    ),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
)


def map_layers(plan) -> Callable[[Any], None]:
    """A function that adds the facilitators layer (and the unsupported and at-risk layers) to a folium map."""
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    data = support_payload(plan)

    def add(m) -> None:
        fg = folium.FeatureGroup(name=f"Facilitators ({len(data['f'])}): pick one on the map; squares are bases", show=False)
        fg.add_to(m)
        ug = rg = None
        if data["u"]:
            ug = folium.FeatureGroup(name=f"<span style='color:#d62728'>Clusters without a facilitator ({len(data['u'])})</span>", show=True)
            ug.add_to(m)
        if data["r"]:
            rg = folium.FeatureGroup(name=f"<span style='color:#ff7f0e'>Clusters at risk: attendance ({len(data['r'])})</span>", show=True)
            rg.add_to(m)
        names = [x.get_name() if x is not None else "null" for x in (fg, ug, rg, m)]
        if not all(n == "null" or _JS_NAME.match(n) for n in names):  # pragma: no cover - folium makes identifiers
            raise ValueError(f"not a JavaScript identifier: {names}")
        js = _ENV.get_template("support.js").render(
            data=Markup(script_json(data)), group=Markup(names[0]), ugroup=Markup(names[1]), rgroup=Markup(names[2]), map=Markup(names[3])
        )

        class _Support(MacroElement):
            _template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")

            def __init__(self, code: str):
                super().__init__()
                self._name = "SupportLayers"
                self.js = code

        m.add_child(_Support(js))

    return add


# --------------------------------------------------------------------------- report


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
    tpl = _ENV.get_template("note.html")

    def note(cid: str) -> str:
        parts: list[Any] = []
        if sp is not None:
            f = fac_of.get(cid, "")
            parts.append(
                Markup("Facilitator: <b>{}</b> {}").format(f, names.get(f, "")) if f else Markup("Facilitator: <b style='color:#a00'>none</b> (see Support)")
            )
        ld = leaders.get(cid)
        if ld:
            parts.append(
                Markup("Candidate subject leaders: ")
                + Markup("; ").join(Markup("{}: {}").format(s, ", ".join(ids)) if ids else Markup("{}: <i>none</i>").format(s) for s, ids in ld.items())
            )
        if missing.get(cid):
            parts.append(Markup("<span style='color:#a00'>Missing subjects: {}</span> ({})").format(missing[cid], reasons.get(cid, "")))
        return tpl.render(parts=parts) if parts else ""

    return note


def _figure_rows(fig: dict) -> list[tuple[str, str]]:
    gap = fig.get("gap")
    proven = fig.get("supported_proven_maximal")
    bound = fig.get("supported_bound", fig.get("clusters_supported", 0))
    supported = f"{fig.get('clusters_supported', 0):,} of {fig.get('clusters', 0):,}" + (
        f" (the most possible, proven: equals the bound {bound:,} from facilitator-days and meetings a day)"
        if proven
        else f" (NOT proven the most possible: no plan supports more than {bound:,}; {fig.get('supported_settle') or 'a longer time limit'} would settle it)"
    )
    pol = fig.get("policy") or {}
    return [
        (
            "Facilitators",
            f"{fig.get('facilitators', 0)} ({fig.get('facilitators_supporting', 0)} supporting at least one cluster); file {str(fig.get('facilitators_file') or '').replace(chr(92), '/').rsplit('/', 1)[-1]}",
        ),
        ("Clusters supported", supported),
        ("Clusters no eligible facilitator can reach in a day", f"{fig.get('clusters_unreachable', 0):,}"),
        (
            "Facilitator travel in the month",
            f"{fig.get('travel_minutes_month', 0):,.0f} minutes; per facilitator mean {fig.get('travel_minutes_per_facilitator_mean', 0):,.0f}, "
            f"longest {fig.get('travel_minutes_per_facilitator_max', 0):,.0f}",
        ),
        (
            "Lower bound on that travel",
            "none (calendar heuristic)"
            if fig.get("travel_lower_bound") is None
            else f"{fig['travel_lower_bound']:,.0f} minutes (gap {100 * float(gap or 0):.2f}%)",
        ),
        ("One round trip per meeting (floor)", f"{fig['floor']['clusters_supported']:,} clusters, {fig['floor']['travel_minutes_month']:,.0f} minutes"),
        (
            "Workload (share of available days in use)",
            f"{100 * fig.get('workload_share_min', 0):.0f}% to {100 * fig.get('workload_share_max', 0):.0f}%"
            + ("; the most even at that travel, proven" if fig.get("workload_proven_most_even") else "; the most even found at that travel (not proven)"),
        ),
        ("Calendar", str(fig.get("calendar", "")) + (f"; month {pol['month']}" if pol.get("month") else "; no month set: days are numbered")),
        ("Rules", ", ".join(f"{k} = {str(v).lower() if isinstance(v, bool) else f'{v:g}' if isinstance(v, float) else v}" for k, v in pol.items())),
    ]


def _facilitator_page(r, rows: pd.DataFrame, ct: pd.DataFrame, names: dict[str, str], meeting_minutes: float) -> dict:
    crow = []
    for cid in [c for c in str(r.cluster_ids).split(";") if c]:
        mt = rows[(rows["cluster_id"] == cid) & (rows["kind"] == "meeting")]
        c = ct.loc[cid] if cid in ct.index else None
        crow.append(
            [
                cid,
                type_label(c["gender_group"], c["level_group"]) if c is not None else "",
                names.get(c["venue_school_id"], c["venue_school_id"]) if c is not None else "",
                c["n_teachers"] if c is not None else "",
                ", ".join(_day_words(m) for m in mt.itertuples(index=False)),
            ]
        )
    drow = []
    for _day, d in rows.groupby("day", sort=True):
        steps = []
        for s in d.sort_values("stop").itertuples(index=False):
            if s.kind == "base" and s.stop == 0:
                steps.append(f"{_text(getattr(s, 'end_time', '')) or minutes_clock(s.leave_minute)} leave base")
            elif s.kind == "meeting":
                steps.append(f"{_meeting_times(s)} meeting of {s.cluster_id} at {names.get(s.school_id, s.school_id)}")
            else:
                steps.append(f"{_text(getattr(s, 'start_time', '')) or minutes_clock(s.arrive_minute)} back at base")
        meetings = int((d["kind"] == "meeting").sum())
        end = float(d["arrive_minute"].dropna().iloc[-1]) if d["arrive_minute"].notna().any() else 0.0
        first = d.iloc[0]
        date = _text(first.get("date", ""))
        when = f"{date} ({pd.Timestamp(date).strftime('%a')})" if date else str(int(first["day"]))
        drow.append([when, steps, minutes_words(end - meetings * meeting_minutes), minutes_words(end)])
    return {
        "id": r.facilitator_id,
        "name": r.name,
        "gender": r.gender,
        "levels": r.levels,
        "subjects": _text(r.subjects),
        "mode": _text(r.travel_mode),
        "base": _base_words(r, names),
        "clusters": int(r.clusters),
        "teachers": int(r.teachers),
        "days_used": int(r.days_used),
        "days": int(r.days_per_month),
        "travel": f"{float(r.travel_minutes):,.0f}",
        "rows": crow,
        "days_rows": drow,
    }


def facilitator_pages(plan) -> list[dict]:
    """One page per facilitator of a plan with support: who, base, clusters, and each working day of the month with its steps and times."""
    sp = plan.support
    names = _names(plan)
    ct = plan.clusters.set_index("cluster_id")
    mm = float((sp.figures.get("policy") or {}).get("meeting_minutes", 0))
    it = sp.itineraries
    return [_facilitator_page(r, it[it["facilitator_id"] == r.facilitator_id], ct, names, mm) for r in sp.programme.itertuples(index=False)]


def support_figure_rows(figures: dict) -> list[tuple[str, str]]:
    """The support figures of a plan summary as (label, words) rows, as the report shows them."""
    return _figure_rows(figures)


def report_sections(plan) -> str:
    """The support section, the facilitator pages, the registers and the attendance of the report (HTML, autoescaped)."""
    sp = plan.support
    if sp is None:
        return ""
    fig = sp.figures
    names = _names(plan)
    ct = plan.clusters.set_index("cluster_id")
    programme = [
        [
            r.facilitator_id,
            r.name,
            _base_words(r, names),
            r.levels,
            int(r.clusters),
            int(r.teachers),
            int(r.meetings),
            f"{int(r.days_used)} / {int(r.days_per_month)}",
            f"{float(r.travel_minutes):,.0f}",
            f"{100 * float(r.workload_share):.0f}%",
        ]
        for r in sp.programme.itertuples(index=False)
    ]
    uns = sp.support[sp.support["facilitator_id"] == ""]
    unsupported = [
        [r.cluster_id, names.get(ct.at[r.cluster_id, "venue_school_id"], "") if r.cluster_id in ct.index else "", r.reason, r.suggestion]
        for r in uns.itertuples(index=False)
    ]
    sizing = [
        [
            r.kind,
            int(r.clusters),
            int(r.facilitators_in_file),
            "" if pd.isna(r.fewest_needed) else int(r.fewest_needed),
            int(r.lower_bound),
            "yes" if r.proven else f"no (gap {int(r.fewest_needed) - int(r.lower_bound)} to the bound)" if not pd.isna(r.fewest_needed) else "no",
            int(r.clusters_per_facilitator),
            r.bases,
        ]
        for r in sp.sizing.itertuples(index=False)
    ]
    pages = facilitator_pages(plan)
    it = sp.itineraries
    has_clock = "start_time" in it.columns and (it["start_time"].astype(str) != "").any()
    html = _ENV.get_template("support.html").render(
        figures=_figure_rows(fig),
        notes=fig.get("notes") or [],
        programme=programme,
        unsupported=unsupported,
        sizing=sizing,
        facilitators=pages,
        clock_note="Clock times: leaving the base at the policy's day_start (later when the meeting window opens later)."
        if has_clock
        else "Times are hours:minutes from the start of the working day (leaving the base).",
    )
    return html + registers_html(plan) + attendance_html(plan)


def registers_html(plan) -> str:
    """One printable attendance register per supported cluster: meeting dates, teachers by name and school, a signature column per meeting."""
    sp = plan.support
    names = _names(plan)
    who = teacher_names(plan.summary) if hasattr(plan, "summary") else {}
    fac_names = dict(zip(sp.programme["facilitator_id"], sp.programme["name"])) if len(sp.programme) else {}
    it = sp.itineraries
    meet = it[it["kind"] == "meeting"]
    placed = plan.assignments[plan.assignments["status"] == "placed"]
    if "role" in placed.columns:
        placed = placed[placed["role"] != "head_teacher"]
    by_cluster = {c: g for c, g in placed.groupby("cluster_id", sort=False)}
    ct = plan.clusters.set_index("cluster_id")
    registers = []
    for cid, g in meet.groupby("cluster_id", sort=True):
        teachers = by_cluster.get(cid)
        if teachers is None:
            continue
        fid = g["facilitator_id"].iloc[0]
        registers.append(
            {
                "cluster": cid,
                "venue": names.get(ct.at[cid, "venue_school_id"], ct.at[cid, "venue_school_id"]) if cid in ct.index else "",
                "facilitator": f"{fid} {fac_names.get(fid, '')}".strip(),
                "dates": [_day_words(r) for r in g.sort_values(["date", "day"] if "date" in g.columns else ["day"]).itertuples(index=False)],
                "teachers": [
                    [t.teacher_id, who.get(str(t.teacher_id), ""), names.get(t.school_id, t.school_id)]
                    for t in teachers.sort_values(["school_id", "teacher_id"]).itertuples(index=False)
                ],
            }
        )
    return _ENV.get_template("registers.html").render(registers=registers)


def attendance_html(plan) -> str:
    """The attendance read back (after ``cluster-mapper attendance``): clusters and teachers at risk against their travel."""
    att = _attendance(plan)
    if att is None:
        return ""
    thr = float(plan.policy.support.attendance_threshold)
    cl = att[att["level"] == "cluster"]
    te = att[att["level"] == "teacher"]
    risk = te[te["at_risk"]]
    rest = te[~te["at_risk"] & (te["meetings_held"] > 0)]
    rows = []
    for r in cl[cl["at_risk"]].sort_values("attendance_rate").itertuples(index=False):
        low = risk[risk["cluster_id"] == r.cluster_id]
        rows.append(
            [
                r.cluster_id,
                int(r.meetings_held),
                f"{100 * float(r.attendance_rate):.0f}%",
                f"{float(r.travel_minutes):.0f}",
                "; ".join(f"{t.teacher_id} ({float(t.travel_minutes):.0f})" for t in low.itertuples(index=False)),
            ]
        )
    return _ENV.get_template("attendance.html").render(
        n_clusters=int((cl["meetings_held"] > 0).sum()),
        risk_clusters=rows,
        n_risk_teachers=len(risk),
        threshold=f"{100 * thr:.0f}",
        travel_risk=f"{risk['travel_minutes'].mean():.0f}" if len(risk) else "-",
        travel_rest=f"{rest['travel_minutes'].mean():.0f}" if len(rest) else "-",
    )


def report_hooks(plan) -> tuple[Callable[[str], str], str]:
    """What the report adds: the per-cluster note and the support sections."""
    try:
        note = cluster_note(plan)
    except (KeyError, ValueError):  # an older plan without the columns: no notes

        def note(cid: str) -> str:
            return ""

    return note, report_sections(plan) if getattr(plan, "support", None) is not None else ""


__all__ = [
    "attendance_html",
    "cluster_note",
    "facilitator_colours",
    "facilitator_pages",
    "support_figure_rows",
    "map_layers",
    "registers_html",
    "report_hooks",
    "report_sections",
    "support_payload",
]
