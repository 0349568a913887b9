"""The workspace in a real browser: Debian's chromium driven by Playwright, offline.

One walk through the loop on the planned sample (a copy of the session's
workspace served by uvicorn): make a project from the sample on the start
page; open the review map of the plan, click one school and shift-click a
school of the same cluster, propose keeping them apart, re-plan with least
change, watch the new version finish, see the two schools' teachers in the
diff (list and map) and download the review workbook. Every request stays on
the local server; no console errors. Skipped without ``/usr/bin/chromium``
or Playwright (browsers are never downloaded).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from cluster_mapper.workspace import WorkspaceConfig, create_app
from tests.fixtures.live_server import offline_page, serving
from tests.workspace.conftest import PLAN_TIMEOUT_SECONDS

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def live(planned, tmp_path_factory):
    """A uvicorn server on a copy of the planned workspace; its base URL."""
    folder = tmp_path_factory.mktemp("live") / "ws"
    shutil.copytree(planned.folder, folder)
    with serving(create_app(WorkspaceConfig(project_dir=folder, allowed_hosts=["127.0.0.1"]))) as base:
        yield base


@pytest.fixture(scope="module")
def browser_page(live):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield offline_page(browser, live, height=760)
        browser.close()


def _shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``CLUSTER_MAPPER_SCREENSHOTS`` (the README's come from there), else the test's folder."""
    folder = Path(os.environ.get("CLUSTER_MAPPER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _click_school(page, school_id: str, shift: bool = False) -> None:
    """A real mouse click on the school's marker (brought above the markers that overlap it)."""
    handle = page.evaluate_handle("id => { CM.markers[id].bringToFront(); return CM.markers[id]._path; }", school_id)
    handle.click(modifiers=["Shift"] if shift else [])


def test_create_review_edit_replan_and_see_the_diff(live, browser_page, planned, tmp_path):
    page = browser_page
    page.goto(live + "/")
    page.fill("#new-sample input[name=name]", "From the browser")
    page.click("#new-sample button[type=submit]")
    page.wait_for_url("**/projects/*")
    assert page.inner_text("h1") == "From the browser"

    page.goto(f"{live}/plans/{planned.first}/review")
    page.wait_for_selector("#map[data-ready]")
    s1, s2 = planned.apart
    _click_school(page, s1)
    assert s1 in page.inner_text("#school")
    _click_school(page, s2, shift=True)
    assert page.input_value("#edit-school") == s1 and page.input_value("#edit-other") == s2
    page.select_option("#edit-form select[name=action]", "apart")
    page.fill("#edit-form input[name=note]", "the river cuts them off")
    page.click("#edit-form button[type=submit]")
    page.wait_for_selector("#replan button")
    page.wait_for_selector("#map[data-ready]")
    proposals = page.inner_text("#proposals")
    assert "the river cuts them off" in proposals and "Mansehra-" not in proposals, "an apart edit keeps no cluster filled in from the map"
    page.screenshot(path=str(_shots(tmp_path) / "review.png"))

    started = time.perf_counter()
    page.click("#replan button")
    page.wait_for_url("**/plans/*")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.trim() === 'done'", timeout=PLAN_TIMEOUT_SECONDS * 1000
    )  # a function: a string is eval'd, which the CSP forbids
    round_seconds = time.perf_counter() - started
    print(f"edit-and-re-plan round in the browser: {round_seconds:.1f} s")
    assert "valid: no violations" in page.inner_text("#summary")

    with page.expect_download() as dl:
        page.click("#workbook-link")
    saved = tmp_path / "plan.xlsx"
    dl.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"

    page.click("#diff-link")
    page.wait_for_selector("#map[data-ready]")
    moved = page.inner_text("#moved")
    assert s1 in moved or s2 in moved
    assert "the river cuts them off" in moved
    assert page.locator("path.cm-moved").count() >= 1
    page.screenshot(path=str(_shots(tmp_path) / "diff.png"))
    page.goto(f"{live}/projects/{planned.project_id}")
    page.screenshot(path=str(_shots(tmp_path) / "versions.png"))
    assert page.outside == []
    assert page.errors == []
