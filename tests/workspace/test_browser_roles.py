"""Two people in two browsers, and the pages before planning: Debian's chromium driven by Playwright, offline.

A reviewer and a manager sign in to one workspace (a copy of the session's
planned sample, with accounts) in two browser contexts: the reviewer proposes
keeping two schools apart and cannot re-plan; the manager sees the proposal
with its author, re-plans with least change and accepts the new version,
and the reviewer then sees it accepted. The manager also starts a project
from files chosen in the upload form, reads them on the Read page, and saves
the Policy form (a bad value refused with its line, then a good one saved).
Every request stays on the local server; no console errors. Skipped without
``/usr/bin/chromium`` or Playwright (browsers are never downloaded).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from cluster_mapper.sample import sample_paths
from cluster_mapper.workspace import WorkspaceConfig, create_app
from cluster_mapper.workspace.db import Store
from cluster_mapper.workspace.security import add_user
from tests.fixtures.live_server import offline_page, serving
from tests.workspace.conftest import PLAN_TIMEOUT_SECONDS

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def live_with_accounts(planned, tmp_path_factory):
    """A uvicorn server on a copy of the planned workspace with a manager and a reviewer; its base URL."""
    folder = tmp_path_factory.mktemp("roles") / "ws"
    shutil.copytree(planned.folder, folder)
    app = create_app(WorkspaceConfig(project_dir=folder, allowed_hosts=["127.0.0.1"]))
    store: Store = app.state.store
    assert add_user(store, "maryam", PASSWORD, "manager") == [] and add_user(store, "rashid", PASSWORD, "reviewer") == []
    with serving(app) as base:
        yield base


@pytest.fixture(scope="module")
def browser(live_with_accounts):
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _signed_in(browser, base: str, username: str):
    """A new browser context (its own cookies) signed in as ``username`` through the sign-in page; its page."""
    page = offline_page(browser, base)
    page.goto(base + "/")
    page.wait_for_url("**/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert f"{username} (" in page.inner_text("header")
    return page


def _click_school(page, school_id: str, shift: bool = False) -> None:
    handle = page.evaluate_handle("id => { CM.markers[id].bringToFront(); return CM.markers[id]._path; }", school_id)
    handle.click(modifiers=["Shift"] if shift else [])


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CLUSTER_MAPPER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_reviewer_proposes_and_a_manager_replans_and_accepts(live_with_accounts, browser, planned):
    base = live_with_accounts
    reviewer = _signed_in(browser, base, "rashid")
    manager = _signed_in(browser, base, "maryam")
    review = f"{base}/plans/{planned.first}/review"

    reviewer.goto(review)
    reviewer.wait_for_selector("#map[data-ready]")
    s1, s2 = planned.apart
    _click_school(reviewer, s1)
    _click_school(reviewer, s2, shift=True)
    reviewer.select_option("#edit-form select[name=action]", "apart")
    reviewer.fill("#edit-form input[name=note]", "the two head teachers asked for it")
    reviewer.click("#edit-form button[type=submit]")
    reviewer.wait_for_selector("#proposals td:has-text('the two head teachers asked for it')")
    assert reviewer.locator("#replan").count() == 0, "a reviewer proposes; only a manager re-plans"

    manager.goto(review)
    row = manager.locator("#proposals tr", has_text="the two head teachers asked for it")
    assert "rashid" in row.inner_text() and "apart" in row.inner_text()
    manager.click("#replan button")
    manager.wait_for_url("**/plans/*")
    manager.wait_for_function("() => document.getElementById('status').textContent.trim() === 'done'", timeout=PLAN_TIMEOUT_SECONDS * 1000)
    assert "valid: no violations" in manager.inner_text("#summary")
    new_version = int(manager.url.rstrip("/").rsplit("/", 1)[-1])
    assert "rashid" in manager.inner_text("body"), "the version's edits keep their author"
    manager.click("text=Accept this version")
    manager.wait_for_url(f"**/projects/{planned.project_id}")

    reviewer.goto(f"{base}/projects/{planned.project_id}")
    accepted = reviewer.locator(f"#versions tr[data-plan='{new_version}']")
    assert "accepted" in accepted.inner_text()
    assert reviewer.locator("#start-plan").count() == 0, "a reviewer cannot plan"
    for page in (reviewer, manager):
        assert page.outside == [] and page.errors == []


def test_a_project_from_the_upload_form_is_read_and_its_policy_saved(live_with_accounts, browser, tmp_path):
    base = live_with_accounts
    page = _signed_in(browser, base, "maryam")
    paths = sample_paths()
    page.fill("#new-upload input[name=name]", "Uploaded in the browser")
    for kind in ("schools", "teachers", "policy", "facilitators"):
        page.set_input_files(f"#new-upload input[name={kind}]", str(paths[kind]))
    page.click("#new-upload button[type=submit]")
    page.wait_for_url("**/projects/*")
    assert page.inner_text("h1") == "Uploaded in the browser"
    assert f"schools: schools-{paths['schools'].name}" in page.inner_text("main")

    page.click("#nav-read")
    page.wait_for_selector("#read-ok")
    assert "school_id" in page.inner_text("#table-schools") and "teacher_id" in page.inner_text("#table-teachers")
    page.frame_locator("#preview").locator(".leaflet-container").wait_for()  # the preview map drawn in its sandboxed frame
    next(f for f in page.frames if "/files/read/" in f.url).wait_for_load_state("load")  # and done, before the page is left
    page.screenshot(path=str(_shots(tmp_path) / "read-sample.png"), full_page=False)

    page.click("#nav-policy")
    page.fill("#policy-form input[name=max_travel_minutes]", "an hour")
    page.select_option("#policy-form select[name=levels]", "mixed")
    page.click("#policy-form button[type=submit]")
    page.wait_for_selector("#message.error")
    message = page.inner_text("#message")
    assert "max_travel_minutes must be a number" in message and "line" in message
    assert "max_travel_minutes = 60" in page.inner_text("#policy-toml"), "nothing saved while a problem remains"
    page.fill("#policy-form input[name=max_travel_minutes]", "45")
    with page.expect_navigation():
        page.click("#policy-form button[type=submit]")
    assert "max_travel_minutes = 45" in page.inner_text("#policy-toml")
    assert 'levels = "mixed"' in page.inner_text("#policy-toml")
    page.screenshot(path=str(_shots(tmp_path) / "policy.png"), full_page=False)
    assert page.outside == []
    assert [e for e in page.errors if "status of 422" not in e] == [], "no console error but the refused policy's answer"
