"""The page of the inputs preview (``cluster-mapper inspect --map``): schools as read, on an offline map.

:func:`preview_page` renders ``review/templates/preview.html``: Leaflet
inlined (no request leaves the machine; an OpenStreetMap background is an
optional layer, off when the map opens), a layer per school gender, the
schools far from the road network ringed in red. The schools are handed to
the page's script as one script-safe JSON value and every name and id is put
into the page as text, so nothing a schools file holds can change the page.
No folium and no jQuery: the page needs Leaflet only.
"""

from __future__ import annotations

import math
from typing import Any

from cluster_mapper.review.html import render
from cluster_mapper.review.map import leaflet_inline

#: Marker colours of the preview map, by school gender.
GENDER_COLOURS = {"boys": "#1f77b4", "girls": "#e377c2", "mixed": "#2ca02c"}
OTHER_COLOUR = "#555555"
OFF_NETWORK_COLOUR = "#d62728"


def preview_school(
    *, school_id: Any, name: Any, district: Any, gender: Any, row: int, teachers: int, lat: float, lon: float, snap_metres: float | None, off_network: bool
) -> dict:
    """One school of the preview as the page's script takes it (plain values; the page shows them as text)."""
    g = str(gender)
    return {
        "id": str(school_id),
        "name": "" if name is None else str(name),
        "district": "" if district is None else str(district),
        "gender": g if g in GENDER_COLOURS else "other",
        "row": int(row),
        "teachers": int(teachers),
        "lat": round(float(lat), 6),
        "lon": round(float(lon), 6),
        "snap": None if snap_metres is None or math.isnan(snap_metres) else round(float(snap_metres), 1),
        "off": bool(off_network),
        "colour": GENDER_COLOURS.get(g, OTHER_COLOUR),
        "radius": round(4 + 1.5 * math.sqrt(max(0, int(teachers))), 2),
    }


def preview_page(schools: list[dict], *, title: str = "Inputs preview") -> str:
    """The preview page's HTML for schools made by :func:`preview_school`."""
    if not schools:
        raise ValueError("the preview needs at least one school")
    lats = [s["lat"] for s in schools]
    lons = [s["lon"] for s in schools]
    groups = []
    for key, colour in [*GENDER_COLOURS.items(), ("other", OTHER_COLOUR)]:
        count = sum(1 for s in schools if s["gender"] == key)
        if count or key != "other":
            name = f"{key} schools" if key != "other" else "schools of another gender value"
            groups.append({"key": key, "label": name.capitalize(), "name": name, "colour": colour, "count": count})
    data = {
        "schools": schools,
        "bounds": [[min(lats), min(lons)], [max(lats), max(lons)]],
        "groups": groups,
        "offColour": OFF_NETWORK_COLOUR,
        "farLabel": f"<span style='color:{OFF_NETWORK_COLOUR}'>Far from the road network</span>",
        "heading": f"{len(schools):,} schools as read",
    }
    return render("preview.html", title=title, leaflet=leaflet_inline_markup(), data=data)


def leaflet_inline_markup():
    """Leaflet's inlined style and script, marked as page code (it is the package's, not user data)."""
    from markupsafe import Markup

    return Markup(leaflet_inline())


__all__ = ["preview_page", "preview_school", "GENDER_COLOURS", "OFF_NETWORK_COLOUR"]
