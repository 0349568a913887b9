"""Security headers as served (no browser): a strict Content-Security-Policy with a nonce on the pages, a sandbox for plan files.

What a browser enforces is checked in ``test_browser_ops.py``; here: every
response carries the headers, every inline script of every page carries the
request's nonce (and nothing else could run: no event-handler attributes, no
``javascript:`` links), styles come from the server only, and the files of a
plan folder run sandboxed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from cluster_mapper.workspace.headers import FILE_POLICY

ALWAYS = {"x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN", "referrer-policy": "same-origin"}


class _Scripts(HTMLParser):
    """Inline scripts (their nonce), inline styles, event-handler attributes and ``javascript:`` URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_nonces: list[str | None] = []
        self.external: list[str] = []
        self.inline_styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            (self.external.append(a["src"] or "") if a.get("src") else self.inline_nonces.append(a.get("nonce")))
        if tag == "style" or "style" in a:
            self.inline_styles.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.inline_styles.append(f"{tag} {name}")


def _nonce(policy: str) -> str:
    m = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'", policy)
    assert m, policy
    return m.group(1)


def _pages(planned) -> list[str]:
    return [
        "/",
        "/login",
        f"/projects/{planned.project_id}",
        f"/plans/{planned.first}",
        f"/plans/{planned.revised}/review",
        f"/plans/{planned.first}/diff/{planned.revised}",
        f"/projects/{planned.project_id}/read",
        f"/projects/{planned.project_id}/policy",
        f"/projects/{planned.project_id}/scenarios?plans={planned.first},{planned.revised}",
        "/api/docs",  # the API's Swagger page: its script and styles from the installed bundle, not a CDN
    ]


def test_every_page_runs_only_its_own_scripts(planned):
    c = planned.client
    for url in _pages(planned):
        r = c.get(url)
        assert r.status_code == 200, url
        policy = r.headers["content-security-policy"]
        for part in ("default-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'", "form-action 'self'"):
            assert part in policy, (url, part)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy, url
        page = _Scripts()
        page.feed(r.text)
        assert set(page.inline_nonces) <= {_nonce(policy)}, f"{url}: an inline script without the request's nonce"
        assert all(src.startswith("/static/") for src in page.external), (url, page.external)
        assert page.inline_styles == [], f"{url}: inline styles or event handlers, which the policy blocks: {page.inline_styles}"
        assert {k: r.headers.get(k) for k in ALWAYS} == ALWAYS, url
    with_script = [c.get(f"/plans/{planned.revised}/review").headers["content-security-policy"] for _ in range(2)]
    assert _nonce(with_script[0]) != _nonce(with_script[1]), "a new nonce for every request"


def test_the_review_page_has_its_map_script_with_the_nonce(planned):
    """The page script the policy lets run is there (an empty page would pass the test above)."""
    r = planned.client.get(f"/plans/{planned.revised}/review")
    page = _Scripts()
    page.feed(r.text)
    assert page.inline_nonces == [_nonce(r.headers["content-security-policy"])]
    assert page.external == ["/static/workspace.js", "/static/leaflet/leaflet.js"]


def test_plan_files_run_in_a_sandbox(planned):
    c = planned.client
    for name in ("map.html", "report.html", "assignments.csv"):
        r = c.get(f"/plans/{planned.revised}/files/{name}")
        assert r.status_code == 200, name
        policy = r.headers["content-security-policy"]
        assert policy == FILE_POLICY
        sandbox = policy.split(";")[0].split()
        assert sandbox[0] == "sandbox" and "allow-scripts" in sandbox and "allow-same-origin" not in sandbox
        assert "connect-src 'none'" in policy, "the map cannot call the API or anything else"
        assert {k: r.headers.get(k) for k in ALWAYS} == ALWAYS


def test_api_answers_and_refusals_carry_the_headers_too(planned):
    c = planned.client
    for url, status in ((f"/api/plans/{planned.first}", 200), ("/api/plans/999999", 404), ("/static/workspace.js", 200), ("/no/such/page", 404)):
        r = c.get(url)
        assert r.status_code == status, url
        assert "default-src 'self'" in r.headers["content-security-policy"], url
        assert {k: r.headers.get(k) for k in ALWAYS} == ALWAYS, url
    r = c.post(f"/api/plans/{planned.first}/accept")  # no CSRF token: refused, with the headers
    assert r.status_code == 403 and r.headers["x-frame-options"] == "SAMEORIGIN"
