"""The workspace's operations in a real browser (Debian's chromium, offline): the security policy as enforced, cancel and discard.

Every page of the loop and the plan's own files (the offline Folium map and
the report) are opened with a listener for Content-Security-Policy
violations: none may occur, and the maps still work (the review map's markers
answer a click; the Folium map, which runs sandboxed, draws its schools).
Then a manager starts a plan and cancels it with the plan page's button, and
discards a version with its button. Skipped without ``/usr/bin/chromium`` or
Playwright.
"""

from __future__ import annotations

import pytest

from cluster_mapper.workspace.app import STATIC
from tests.workspace.test_browser_workspace import CHROMIUM, _click_school, browser_page, live  # the uvicorn server and the page

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")

#: Collects every Content-Security-Policy violation of a page into window.cspViolations.
LISTEN = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


def test_pages_and_maps_work_under_the_security_policy(live, browser_page, planned):
    page = browser_page
    page.context.add_init_script(LISTEN)
    for path in ("/", f"/projects/{planned.project_id}", f"/plans/{planned.first}"):
        response = page.goto(live + path)
        assert "nonce-" in response.headers["content-security-policy"]
        assert _violations(page) == [], path

    page.goto(f"{live}/plans/{planned.revised}/review")
    page.wait_for_selector("#map[data-ready]")
    _click_school(page, planned.apart[0])
    assert planned.apart[0] in page.inner_text("#school"), "the review map's markers answer a click"
    assert _violations(page) == []

    page.goto(f"{live}/plans/{planned.first}/diff/{planned.revised}")
    page.wait_for_selector("#map[data-ready]")
    assert page.locator("path.cm-moved").count() >= 1
    assert _violations(page) == []

    response = page.goto(f"{live}/plans/{planned.revised}/files/map.html")
    assert response.headers["content-security-policy"].startswith("sandbox allow-scripts")
    page.wait_for_selector(".leaflet-interactive")
    assert page.locator(".leaflet-interactive").count() > 100, "the sandboxed Folium map draws its schools"
    assert page.evaluate("typeof L") == "object"
    assert _violations(page) == []

    page.goto(f"{live}/plans/{planned.revised}/files/report.html")
    assert _violations(page) == []

    page.goto(f"{live}/api/docs")  # the API's Swagger page, offline, under the same policy
    page.wait_for_selector(".opblock-summary-path")
    assert "cluster_mapper workspace" in page.inner_text(".swagger-ui .info")
    assert page.locator(".opblock-summary-path").count() >= 10, "the API's operations are listed"
    assert _violations(page) == []
    assert page.outside == []
    assert page.errors == []


def test_compare_form_opens_the_diff(live, browser_page, planned):
    """The versions page's compare form (once an inline handler, which the policy blocks) still opens the diff."""
    page = browser_page
    page.goto(f"{live}/projects/{planned.project_id}")
    page.fill("#compare input[name=a]", str(planned.first))
    page.fill("#compare input[name=b]", str(planned.revised))
    page.click("#compare button[type=submit]")
    page.wait_for_url(f"**/plans/{planned.first}/diff/{planned.revised}")
    assert page.errors == []


def test_a_manager_cancels_a_plan_and_discards_a_version(live, browser_page, planned):
    page = browser_page
    page.goto(f"{live}/projects/{planned.project_id}")
    page.click("#start-plan button")
    page.wait_for_url("**/plans/*")
    assert page.inner_text("#status") in ("queued", "running")
    page.click("#cancel-plan button")
    page.wait_for_selector("#closed")
    assert page.inner_text("#status") == "cancelled"
    assert "Cancelled by local" in page.inner_text("#closed")

    accepted = page.request.get(f"{live}/api/projects/{planned.project_id}").json()["accepted_plan_id"]
    target = planned.first if accepted == planned.revised else planned.revised  # another test may have accepted one
    page.goto(f"{live}/plans/{target}")
    page.fill("#discard-plan input[name=note]", "moves too many teachers")
    page.click("#discard-plan button")
    page.wait_for_selector("#closed")
    assert page.inner_text("#status") == "discarded"
    assert "moves too many teachers" in page.inner_text("#closed")
    assert page.locator("#discard-plan").count() == 0 and page.locator("#summary").count() == 1, "a discarded version stays readable"
    page.goto(f"{live}/projects/{planned.project_id}")
    assert "discarded" in page.inner_text(f"#versions tr[data-plan='{target}']")
    assert page.outside == []
    assert page.errors == []


def test_the_review_map_on_canvas_answers_a_click(live, browser_page, planned):
    """Above ``CM.CANVAS_ABOVE`` points (a programme) the review map draws on a canvas: a click on a school still shows it.

    The sample is small, so the page gets a workspace.js whose threshold is 0.
    """
    page = browser_page
    source = (STATIC / "workspace.js").read_text(encoding="utf-8")
    assert "CM.CANVAS_ABOVE = 3000;" in source
    page.route(
        "**/static/workspace.js",
        lambda route: route.fulfill(body=source.replace("CM.CANVAS_ABOVE = 3000;", "CM.CANVAS_ABOVE = 0;"), content_type="text/javascript"),
    )
    try:
        page.goto(f"{live}/plans/{planned.revised}/review")
        page.wait_for_selector("#map[data-ready]")
        assert page.get_attribute("#map", "data-renderer") == "canvas"
        assert page.locator("#map path.cm-school").count() == 0, "no SVG markers"
        where = page.evaluate(
            """id => { const m = CM.map, ll = CM.markers[id].getLatLng();
                       m.setView(ll, 17, {animate: false});  // close in: at the district's zoom a neighbour's marker may lie on top
                       const p = m.latLngToContainerPoint(ll), r = m.getContainer().getBoundingClientRect();
                       return {x: r.left + p.x, y: r.top + p.y}; }""",
            planned.apart[0],
        )
        page.mouse.click(where["x"], where["y"])
        page.wait_for_function("id => document.getElementById('school').textContent.indexOf(id) >= 0", arg=planned.apart[0])
    finally:
        page.unroute("**/static/workspace.js")
    assert page.errors == []
