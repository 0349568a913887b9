"""The interactive plan map (``map.html``): works with no internet connection.

The map is a Folium map whose Leaflet script and stylesheet are inlined from
the installed ``xstatic-leaflet`` package (Folium's CDN links, jQuery,
Bootstrap and Font Awesome are not used), so opening the file sends no
request off the machine. Online basemap tiles are an optional layer, off when
the map opens.

Layers (in the layer control):

- one layer per cluster type (women / men / mixed x primary / middle & high /
  mixed levels): a hull per cluster, a line from each member school to its
  venue, the member schools in the cluster's colour and the venue as a
  diamond;
- teachers not placed, highlighted in red, with the reason and the smallest
  change that would place them;
- schools outside any cluster;
- the road network as a light layer (simplified; left out when too large);
- context to find one's way (offline, :mod:`cluster_mapper.review.context`): the
  district boundary, place names, rivers and main roads;
- on comparison maps, the schools whose cluster or venue differs from the
  first scenario, ringed in orange, with before and after in the popup.

Clicking a school shows its feasible alternatives (other clusters it could
join within the rules, with travel minutes; ``alternatives.csv``). The
*edit mode* (a box at the top left, plan maps only) turns the popups into a
review tool: move a school to another cluster (a ``together`` edit with that
cluster's venue), keep two schools apart, lock a cluster, mark a school that
cannot host; a note box gives the reason. "Download edits (CSV)" saves them
as an edits file for ``cluster-mapper plan --revise THIS_PLAN --edits
edits.csv``, without leaving the machine (a ``blob:`` link).

The plan is embedded once as compact JSON and drawn by a small script, with
canvas rendering for large plans (a province: 10,000 schools, 1,000
clusters). The script is the Jinja2 template ``assets/map.js``; everything it
is given (the plans, the names of folium's layers, the legend, rendered from
the autoescaped ``review/templates/map_legend.html``) arrives as one
script-safe JSON value (:func:`~cluster_mapper.review.html.script_json`), and
the script reaches the page once, never re-read as a template, so no name,
note or file name can change the page's code. Every name and id is
HTML-escaped in Python before the script puts it into a popup. folium's
random element ids are numbered in page order, so the same plan gives the
same bytes.
"""

from __future__ import annotations

import base64
import html
import logging
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, cast

import numpy as np
import pandas as pd
from markupsafe import Markup

from cluster_mapper._files import write_atomic
from cluster_mapper.errors import fail
from cluster_mapper.planning.alternatives import feasible_alternatives
from cluster_mapper.planning.files import read_plan_csv
from cluster_mapper.review.context import district_outlines, network_context, place_labels
from cluster_mapper.review.html import GENDER_WORD, PALETTE, environment, esc, person, render, schools_generated, script_json, text_column, type_key, type_label
from cluster_mapper.review.support_pages import map_layers

log = logging.getLogger(__name__)

#: Above this many drawn features the cluster layers use canvas rendering.
CANVAS_THRESHOLD = 4000
#: Road networks with more edges than this are not drawn.
MAX_NETWORK_EDGES = 250_000
#: Budget of coordinates for the drawn (simplified) network.
NETWORK_COORD_BUDGET = 150_000

NOT_PLACED_COLOUR = "#d62728"


OSM_ATTRIBUTION = "Map data &copy; OpenStreetMap contributors, ODbL 1.0"


def _num(x: Any, default: float = 0.0) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(v) else v


def _who_text(gender: str, level: str, n: int) -> str:
    who = GENDER_WORD.get(gender, f"{gender} teachers" if gender else "teachers")
    return f"{int(n)} {who} {level}".strip()


def _teachers_texts(rows: pd.DataFrame, keys: list[str]) -> dict:
    """{key: '3 women primary, 2 men middle'} (escaped) for each group of assignment rows."""
    if rows.empty:
        return {}
    counts = rows.groupby(keys + ["gender", "level"], sort=True)["n"].sum()
    parts: dict = {}
    for idx, n in counts.items():
        k = idx[:-2] if len(keys) > 1 else idx[0]
        parts.setdefault(k, []).append(_who_text(idx[-2], idx[-1], n))
    return {k: esc(", ".join(v)) for k, v in parts.items()}


def _names_texts(rows: pd.DataFrame, keys: list[str]) -> dict:
    """{key: 'Ayesha Khan (T1), Sana Bibi (T2)'} (escaped) for each group of assignment rows with a teacher's name."""
    named = rows[rows["teacher_name"] != ""]
    if named.empty:
        return {}
    out: dict = {}
    for k, g in named.groupby(keys if len(keys) > 1 else keys[0], sort=True):
        out[k] = esc(", ".join(person(t, n) for t, n in zip(g["teacher_id"], g["teacher_name"], strict=True)))
    return out


def _truthy(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes", "y", "t")


def _assign_colours(venue_xy: np.ndarray) -> list[str]:
    """A colour per cluster, different from its nearest neighbours' where possible."""
    n = len(venue_xy)
    if n == 0:
        return []
    from scipy.spatial import cKDTree

    k = min(n, 9)
    _, idx = cKDTree(venue_xy).query(venue_xy, k=k)
    idx = np.atleast_2d(idx).reshape(n, k)
    colours = [-1] * n
    for i in range(n):
        used = {colours[j] for j in idx[i] if j != i and colours[j] >= 0}
        c = next((c for c in range(len(PALETTE)) if c not in used), i % len(PALETTE))
        colours[i] = c
    return [PALETTE[c] for c in colours]


def _r(x: float) -> float:
    return round(float(x), 5)


def _schools_part(pf, a: pd.DataFrame, sch: pd.DataFrame, head_mask: pd.Series) -> list[list]:
    """``[name, id, lat, lon, gender, can host, teachers text, head teachers, edit notes, alternatives]`` per school (escaped)."""
    heads = a[head_mask & (a["status"] != "placed")].groupby("school_id")["n"].sum()
    school_text = _teachers_texts(a, ["school_id"])
    alternatives = _alternatives(pf)
    edit_notes = {}
    if "edits" in a.columns:
        edit_notes = {sid: v for sid, v in a.groupby("school_id")["edits"].first().items() if isinstance(v, str) and v}
    school_names = dict(zip(a["school_id"], text_column(a, "school_name"), strict=True))
    sidx = {sid: i for i, sid in enumerate(sch["school_id"])}
    schools = []
    for r in sch.itertuples(index=False):
        pt = r.geometry
        name = r.name if isinstance(r.name, str) and r.name else school_names.get(r.school_id, "")
        alts = [[c, sidx[v], m] for c, v, m in alternatives.get(r.school_id, []) if v in sidx]  # alternatives whose venue is not drawn are dropped
        schools.append(
            [
                esc(name),
                esc(r.school_id),
                _r(pt.y),
                _r(pt.x),
                esc(r.school_gender),
                1 if _truthy(r.can_host) else 0,
                school_text.get(r.school_id, "no teachers"),
                int(heads.get(r.school_id, 0)),
                esc(edit_notes.get(r.school_id, "")),
                alts,
            ]
        )
    return schools


def _hull_ring(hull) -> list:
    if hull is None or hull.is_empty:
        return []
    if hull.geom_type == "Polygon":
        return [[_r(y), _r(x)] for x, y in hull.exterior.coords]
    if hull.geom_type == "LineString":
        return [[_r(y), _r(x)] for x, y in hull.coords]
    return []


def _clusters_part(pf, a: pd.DataFrame, geo, sidx: dict, schools: list[list]) -> tuple[list[list], dict[str, str], set[str]]:
    """``[id, type, colour, venue index, teachers, schools, longest minutes, hull ring, members]`` per cluster; the types; the schools in a cluster."""
    placed = a[(a["status"] == "placed") & (a["cluster_id"] != "")]
    member_text = _teachers_texts(placed, ["cluster_id", "school_id"])
    member_names = _names_texts(placed, ["cluster_id", "school_id"])
    members_by_cluster: dict = {}
    for (cid, sid), mins in placed.groupby(["cluster_id", "school_id"], sort=True)["minutes"].max().items():
        members_by_cluster.setdefault(cid, []).append((sid, mins))
    cl = pf.clusters
    hulls = {r.cluster_id: r.geometry for r in geo[geo["kind"] == "hull"].itertuples(index=False)}
    venue_xy = np.array([[schools[sidx[v]][3], schools[sidx[v]][2]] for v in cl["venue_school_id"]]) if len(cl) else np.zeros((0, 2))
    colours = _assign_colours(venue_xy)
    types: dict[str, str] = {}
    clusters = []
    in_cluster: set[str] = set()
    for ci, c in enumerate(cl.itertuples(index=False)):
        key = type_key(c.gender_group, c.level_group)
        types.setdefault(key, type_label(c.gender_group, c.level_group))
        members = []
        for sid, mins in members_by_cluster.get(c.cluster_id, []):
            in_cluster.add(sid)
            if sid in sidx:
                members.append([sidx[sid], round(_num(mins), 1), member_text.get((c.cluster_id, sid), ""), member_names.get((c.cluster_id, sid), "")])
        members.sort(key=lambda m: (m[0] != sidx.get(c.venue_school_id), m[1]))
        venue = sidx.get(c.venue_school_id, -1)
        row = [esc(c.cluster_id), key, colours[ci], venue, int(_num(c.n_teachers)), int(_num(c.n_schools)), round(_num(c.max_travel_minutes), 1)]
        clusters.append([*row, _hull_ring(hulls.get(c.cluster_id)), members])
    return clusters, types, in_cluster


def _not_placed_part(a: pd.DataFrame, head_mask: pd.Series, sidx: dict) -> list[list]:
    """``[school index, teachers, [[n, who, reason, suggestion, names], ...]]`` per school with teachers not placed (escaped)."""
    out = []
    for sid, g in a[(a["status"] != "placed") & ~head_mask].groupby("school_id", sort=True):
        if sid not in sidx:
            continue
        detail = []
        for (gender, level, reason, sugg), gg in g.groupby(["gender", "level", "reason", "suggestion"], sort=True, dropna=False):
            who = f"{GENDER_WORD.get(gender, gender or 'teachers')} {level}".strip()
            names = ", ".join(person(t, n) for t, n in zip(gg["teacher_id"], gg["teacher_name"], strict=True) if n)
            detail.append([int(gg["n"].sum()), esc(who), esc(reason), esc(sugg), esc(names)])
        out.append([sidx[sid], int(g["n"].sum()), detail])
    return out


def plan_payload(plan) -> dict:
    """The compact, escaped data the map script draws for one plan.

    ``plan`` is a :class:`~cluster_mapper.planning.solve.Plan` or a plan read with
    :func:`~cluster_mapper.planning.files.read_plan`.
    """
    pf = plan
    if pf.geodata is None:
        fail(
            Path(getattr(pf, "directory", ".")) / "clusters.geojson",
            "the plan has no clusters.geojson, so there is nothing to draw.",
            fix="write the plan again with `cluster-mapper plan`.",
        )
    geo = pf.geodata
    summary = pf.summary
    a = pf.assignments.copy()
    a["n"] = pd.to_numeric(a.get("n_teachers", 1), errors="coerce").fillna(1).astype(int)
    a["minutes"] = pd.to_numeric(a["travel_minutes"], errors="coerce")
    a["teacher_name"] = text_column(a, "teacher_name")
    sch = geo[geo["kind"] == "school"].reset_index(drop=True)
    sidx = {sid: i for i, sid in enumerate(sch["school_id"])}
    head_mask = pf.policy.left_out(a)
    schools = _schools_part(pf, a, sch, head_mask)
    clusters, types, in_cluster = _clusters_part(pf, a, geo, sidx, schools)
    policy = summary.get("policy") or {}
    source = summary.get("travel_source", "")
    mode = policy.get("travel_mode", "walk")
    travel_word = {
        "network": f"{'walking' if mode == 'walk' else 'driving'} on the road network",
        "matrix": "from the travel-time table given",
        "straight_line": "STRAIGHT-LINE estimate, not road travel",
    }.get(source, esc(source))
    pol_path = (summary.get("inputs") or {}).get("policy")
    return {
        "title": esc(Path(pol_path).name if pol_path else "default policy"),
        "s": schools,
        "c": clusters,
        "o": [i for i, sid in enumerate(sch["school_id"]) if sid not in in_cluster],
        "np": _not_placed_part(a, head_mask, sidx),
        "types": [[k, esc(v)] for k, v in sorted(types.items(), key=lambda kv: _type_order(kv[0]))],
        "travel": esc(travel_word),
        "straight": source == "straight_line",
        "gen": schools_generated(summary),
        "stats": {
            "clusters": int(len(pf.clusters)),
            "placed": int(summary.get("teachers_placed", 0)),
            "not_placed": int(summary.get("teachers_not_placed", 0)),
            "head": int(summary.get("head_teachers_left_out", 0)),
            "mean": _num(summary.get("mean_travel_minutes")),
            "max": _num(summary.get("max_travel_minutes")),
        },
    }


def _alternatives(pf) -> dict[str, list]:
    """{school_id: [[cluster_id (escaped), venue school_id, minutes], ...]} from the plan's ``alternatives.csv``."""
    folder = getattr(pf, "directory", None)
    if folder is not None and (Path(folder) / "alternatives.csv").exists():
        alts = read_plan_csv(Path(folder) / "alternatives.csv")
    elif hasattr(pf, "units") and hasattr(pf, "travel"):
        alts = feasible_alternatives(pf)
    else:
        return {}
    out: dict[str, list] = {}
    for r in alts.itertuples(index=False):
        out.setdefault(r.school_id, []).append([esc(r.cluster_id), r.venue_school_id, round(_num(r.travel_minutes), 1)])
    return out


def map_context(plan, network: bool = True) -> dict:
    """The offline context layers of a plan's map (see :mod:`cluster_mapper.review.context`)."""

    out: dict = {}
    try:
        a = plan.assignments
        out["d"] = [[esc(d["name"]), d["rings"]] for d in district_outlines(sorted(set(a["district"])))]
        geo = plan.geodata
        if geo is not None:
            sch = geo[geo["kind"] == "school"]
            out["p"] = [[esc(p), y, x, n] for p, y, x, n in place_labels(sch["name"], sch.geometry.y, sch.geometry.x)]
            out["pnote"] = "place names taken from the school names" + (" (generated sample names)" if schools_generated(plan.summary) else "")
        if network and (plan.summary.get("travel") or {}).get("network_path"):
            rivers, roads = network_context(plan.network)
            out["r"] = rivers
            out["m"] = [[esc(n), esc(h), f] for n, h, f in roads]
    except Exception as exc:  # context helps reading the map; it must never stop it
        log.warning("map context layers left out: %s", exc)
    return out


def changed_schools(before, after, payload: dict, before_label: str) -> list:
    """Schools whose cluster or venue differs between two plans: ``[[school index, before text, after text], ...]`` (escaped)."""

    def where(p) -> dict[str, str]:
        a = p.assignments
        placed = a[a["status"] == "placed"]
        out = {}
        for sid, g in placed.groupby("school_id"):
            parts = sorted({f"{c} at {v} ({_num(m):.0f} min)" for c, v, m in zip(g["cluster_id"], g["venue_school_id"], g["travel_minutes"], strict=True)})
            out[sid] = "; ".join(parts)
        for sid in set(a["school_id"]) - set(out):
            out[sid] = "not placed"
        return out

    def venues(p) -> dict[str, tuple]:
        a = p.assignments
        placed = a[a["status"] == "placed"]
        v = placed.groupby("school_id")["venue_school_id"].apply(lambda s: tuple(sorted(set(s)))).to_dict()
        return {sid: v.get(sid, ()) for sid in set(a["school_id"])}

    vb, va = venues(before), venues(after)
    wb, wa = where(before), where(after)
    index = {html.unescape(s[1]): i for i, s in enumerate(payload["s"])}
    out = []
    for sid in sorted(set(vb) | set(va)):
        if vb.get(sid, ()) != va.get(sid, ()) and sid in index:
            out.append([index[sid], esc(f"{html.unescape(before_label)}: {wb.get(sid, 'not in the plan')}"), esc(wa.get(sid, "not in the plan"))])
    return out


def _type_order(key: str) -> tuple:
    g, lvl = key.split("|", 1)
    go = {"female": 0, "male": 1, "mixed": 2}
    lo = {"primary": 0, "middle": 1, "mixed": 2}
    return (go.get(g, 9), lo.get(lvl, 9), key)


# --------------------------------------------------------------------------- network


def network_payload(plan) -> tuple[list[list[float]] | None, bool, str]:
    """Simplified road network polylines ([lat, lon, lat, lon, ...] each), generated flag, note.

    Draws the plan's own road network (the one its travel times came from).
    """
    path = (plan.summary.get("travel") or {}).get("network_path")
    if not path:
        return None, False, ""
    G = plan.network
    if G is None:
        return None, False, f"road network file {esc(Path(path).name)} not found or unreadable; not drawn"
    generated = _truthy(G.graph.get("generated", ""))
    if G.number_of_edges() > MAX_NETWORK_EDGES:
        return None, generated, f"road network has {G.number_of_edges():,} edges, too many to draw; not drawn"
    import shapely
    from shapely.geometry import LineString

    seen = set()
    lines = []
    for u, v, d in G.edges(data=True):
        key = (u, v) if str(u) <= str(v) else (v, u)
        if key in seen:
            continue
        seen.add(key)
        geom = d.get("geometry")
        if geom is not None and getattr(geom, "geom_type", "") == "LineString":
            lines.append(geom)
        else:
            a, b = G.nodes[u], G.nodes[v]
            lines.append(LineString([(float(a["x"]), float(a["y"])), (float(b["x"]), float(b["y"]))]))
    if not lines:
        return None, generated, ""
    merged = shapely.line_merge(shapely.MultiLineString(lines))
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    tol = 0.00005
    while True:
        simple = [shapely.simplify(g, tol) for g in parts]
        n = sum(len(g.coords) for g in simple)
        if n <= NETWORK_COORD_BUDGET or tol > 0.01:
            break
        tol *= 2
    out = []
    for g in simple:
        flat = []
        for x, y in g.coords:
            flat += [_r(y), _r(x)]
        out.append(flat)
    return out, generated, ""


# --------------------------------------------------------------------------- assets


def _leaflet_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as xl
    except ImportError as exc:  # pragma: no cover - dependency in pyproject
        raise RuntimeError("the xstatic-leaflet package is needed for offline maps: pip install xstatic-leaflet") from exc
    return Path(xl.BASE_DIR)


def leaflet_inline() -> str:
    """Leaflet's stylesheet and script as inline ``<style>``/``<script>`` (images as data: URIs)."""
    d = _leaflet_dir()
    css = (d / "leaflet.css").read_text(encoding="utf-8")

    def _img(m: re.Match) -> str:
        f = d / m.group(1)
        if not f.is_file():
            return "none"
        return "url(data:image/png;base64," + base64.b64encode(f.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[^)]+)\)", _img, css)
    js = (d / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = css.replace("</style", "<\\/style")
    return f"<style>{css}</style>\n<script>{js}</script>"


def _asset(name: str) -> str:
    """A file of the package's ``assets/`` folder (package data) as text."""
    return (resources.files("cluster_mapper") / "assets" / name).read_text(encoding="utf-8")


#: The map's own stylesheet, ``assets/map.css``, as a ``<style>`` element.
MAP_CSS = "<style>\n" + _asset("map.css") + "</style>"


def _legend_parts(payloads: list[tuple[str, dict]], net_generated: bool, net_note: str, compare: bool) -> tuple[str, str, list[str]]:
    """The legend's head and tail (HTML from the ``map_legend.html`` template) and the attribution lines."""
    P = payloads[0][1]
    legend = environment().get_template("map_legend.html").module
    # title, travel and the network note hold text already escaped for the page (plan_payload, network_payload)
    head = str(legend.head(payloads, compare, Markup(P["title"])))  # type: ignore[attr-defined]  # a template macro
    tail = str(legend.tail(P["straight"], Markup(P["travel"]), P["gen"], Markup(net_note)))  # type: ignore[attr-defined]
    attrib = []
    if P["gen"]:
        attrib.append("Schools: generated sample data")
    if net_generated:
        attrib.append("Road network: generated")
    attrib.append("Settlements and place data &copy; OpenStreetMap contributors, ODbL 1.0" if P["gen"] else OSM_ATTRIBUTION)
    return head, tail, attrib


def _plan_groups(m, payloads: list[tuple[str, dict]], *, compare: bool) -> list[list]:
    """Each plan's payload with the names of its layers (folium feature groups added to ``m``), as the map script takes them."""
    import folium

    def group(name: str, show: bool = True) -> str:
        fg = folium.FeatureGroup(name=name, show=show)
        fg.add_to(m)
        return fg.get_name()

    plans: list[list] = []
    for k, (label, P) in enumerate(payloads):
        groups: dict[str, str] = {}
        if compare:
            scenario = group(f"Scenario: {esc(label)}", show=(k == 0))
            groups.update({"t:" + key: scenario for key, _ in P["types"]}, np=scenario)
            if k == 0:
                groups["other"] = group("Schools in no cluster (first scenario)")
            elif P.get("chg"):  # the changes are what a comparison is for: their own layer, shown when the map opens
                groups["chg"] = group(f"Changed from {esc(payloads[0][0])}: {esc(label)}")
        else:
            for key, lab in P["types"]:
                groups["t:" + key] = group(f"Clusters: {lab}")
            groups["other"] = group("Schools in no cluster")
            groups["np"] = group(f"<span style='color:{NOT_PLACED_COLOUR}'>Teachers not placed</span>")
        plans.append([P, groups])
    return plans


def _context_groups(m, context: dict | None) -> dict | None:
    """The context layers' data with the names of their feature groups (added to ``m``), or ``None``."""
    import folium

    if not context:
        return None
    ctx: dict = {}
    for key, label in (("d", "District boundary"), ("p", "Place names"), ("r", "Rivers"), ("m", "Main roads")):
        if context.get(key):
            g = folium.FeatureGroup(name=label, show=True)
            g.add_to(m)
            ctx[key] = context[key]
            ctx["g" + key] = g.get_name()
    return {**ctx, "pnote": context.get("pnote", "")} if ctx else None


def build_map(
    payloads: list[tuple[str, dict]],
    network: list | None = None,
    net_generated: bool = False,
    net_note: str = "",
    *,
    compare: bool = False,
    renderer: str = "auto",
    context: dict | None = None,
    extra=None,
):
    """A folium Map drawing one plan (layers per cluster type) or several scenarios (a layer each).

    ``context`` (see :func:`map_context`) adds the offline layers that say
    where one is: district boundary, place names, rivers and main roads.
    ``extra``, if given, is called with the map before the layer control is
    added, to add more layers (the facilitator layers of the support step).
    """
    import folium
    from branca.element import Element, Figure

    m = folium.Map(location=[30, 70], zoom_start=6, tiles=None, control_scale=True, prefer_canvas=False)
    m.default_js = []
    m.default_css = []
    fig = cast(Figure, m.get_root())  # folium.Map puts itself in a Figure; branca types get_root as Element
    fig.header.add_child(Element(leaflet_inline()), name="leaflet_inline")
    fig.header.add_child(Element(MAP_CSS), name="cluster_mapper_css")
    fig.title = "Cluster map"

    n_features = sum(len(p["s"]) + 2 * len(p["c"]) + len(p["np"]) for _, p in payloads)
    canvas = renderer == "canvas" or (renderer == "auto" and n_features > CANVAS_THRESHOLD)

    plans = _plan_groups(m, payloads, compare=compare)
    net_group = None
    if network:
        ng = folium.FeatureGroup(name="Road network" + (" (generated)" if net_generated else ""), show=True)
        ng.add_to(m)
        net_group = ng.get_name()
    ctx = _context_groups(m, context)
    folium.TileLayer(
        "OpenStreetMap", name="OpenStreetMap background (needs internet)", overlay=True, show=False, attr="&copy; OpenStreetMap contributors, ODbL"
    ).add_to(m)
    if extra is not None:
        extra(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    head, tail, attrib = _legend_parts(payloads, net_generated, net_note, compare)
    if context and context.get("d"):
        attrib = [*attrib, "Boundary: OCHA/HDX"]
    config = {
        "map": m.get_name(),
        "plans": plans,
        "net": network or None,
        "netGroup": net_group,
        "canvas": canvas,
        "edit": not compare,
        "ctx": ctx,
        "netGen": net_generated,
        "legendHead": head,
        "legendTail": tail,
        "attrib": attrib,
    }
    js = render("map.js", config=config)

    m.add_child(_script_element()(js))
    return m


class _RawText:
    """Text that goes into the page as it is (branca would read an ``Element``'s text as a Jinja template again)."""

    def __init__(self, text: str):
        self.text = text
        self._parent = None
        self._children: dict = {}

    def render(self, **kwargs) -> str:
        return self.text


def _script_element():
    """The class of the map's own script: a folium child whose code is added to the page once, never re-read as a template."""
    from branca.element import Figure, MacroElement

    class _Script(MacroElement):
        def __init__(self, code: str):
            super().__init__()
            self._name = "ClusterLayers"
            self.code = code

        def render(self, **kwargs) -> str:
            figure = self.get_root()
            assert isinstance(figure, Figure)
            figure.script.add_child(_RawText(self.code), name=self.get_name())  # type: ignore[arg-type]
            return ""

    return _Script


def _elements(root) -> Iterator:
    """Every branca element under ``root`` (itself included), depth first."""
    yield root
    for child in list(getattr(root, "_children", {}).values()):
        yield from _elements(child)
    for part in ("header", "html", "script"):  # a Figure's and a Popup's own parts
        sub = getattr(root, part, None)
        if sub is not None and sub is not root and hasattr(sub, "_children"):
            yield from _elements(sub)


def render_html(m) -> str:
    """The map's HTML, the same bytes for the same plan.

    folium names every element with a random 32-digit hex id; each id of an
    element of this map is replaced by its number in order of first
    appearance in the page (ids in user text are left alone: only the
    elements' own ids are renumbered).
    """
    root = m.get_root()
    text = root.render()
    ids = {str(e._id) for e in _elements(root) if isinstance(getattr(e, "_id", None), str)}
    order: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        hexid = match.group(0)
        if hexid not in ids:
            return hexid
        return order.setdefault(hexid, f"{len(order) + 1:032x}")

    return re.sub(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", renumber, text)


def write_map(plan, folder: str | Path, *, renderer: str = "auto", network: bool = True) -> Path:
    """Write ``map.html`` of a plan into ``folder`` and return its path.

    Parameters
    ----------
    plan : a :class:`~cluster_mapper.planning.solve.Plan` or a plan read with
        :func:`~cluster_mapper.planning.files.read_plan`.
    folder : where ``map.html`` goes (usually the plan folder).
    renderer : ``"auto"`` (SVG for district plans, canvas above
        :data:`CANVAS_THRESHOLD` features), ``"svg"`` or ``"canvas"``.
    network : draw the plan's road network when it has one.
    """
    payload = plan_payload(plan)
    net, net_gen, note = network_payload(plan) if network else (None, False, "")
    extra = None
    if getattr(plan, "support", None) is not None:  # a layer per facilitator
        extra = map_layers(plan)
    m = build_map([("plan", payload)], net, net_gen, note, renderer=renderer, context=map_context(plan, network=network), extra=extra)
    return write_atomic(Path(folder) / "map.html", render_html(m))


def write_comparison_map(scenarios: Iterable[tuple[str, Any]], out: str | Path, *, renderer: str = "auto") -> Path:
    """One map with each scenario's plan as a layer (road network from the first)."""
    payloads = []
    net, net_gen, note = None, False, ""
    context = None
    first = None
    for k, (label, plan) in enumerate(scenarios):
        payloads.append((label, plan_payload(plan)))
        if k == 0:
            net, net_gen, note = network_payload(plan)
            context = map_context(plan)
            first = plan
        else:
            payloads[-1][1]["chg"] = changed_schools(first, plan, payloads[-1][1], payloads[0][0])
    m = build_map(payloads, net, net_gen, note, compare=True, renderer=renderer, context=context)
    return write_atomic(Path(out), render_html(m))


__all__ = ["write_map", "write_comparison_map", "plan_payload", "network_payload", "build_map", "esc", "script_json", "leaflet_inline"]
