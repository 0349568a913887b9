"""Security headers on every response of the workspace: Content-Security-Policy, nosniff, framing, referrer.

The workspace's own pages get a strict policy: scripts only from the server
(``/static/...``) or inline with the request's nonce (templates write
``<script nonce="{{ request.state.csp_nonce }}">``), styles only from the
server, requests only to the server, no plugins, no ``<base>``, forms only
to the server, framed only by the workspace itself. A script injected into a
page (a school name that escaped escaping) would not run.

Files of a plan folder served as they are (``/plans/{id}/files/map.html``,
the report, the per-person pages) are written by the planner, not by these
templates: the offline Folium map inlines Leaflet and its own script. They
get :data:`FILE_POLICY`: they may run their inline scripts, but in a
*sandbox* (an origin of their own: no session cookie, no API call, nothing
read from the workspace's pages) and with nothing fetched but images (the
optional OpenStreetMap background, off when the map opens).
"""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Paths of files served from plan folders as they are (not the workspace's templates).
FILE_PATHS = re.compile(r"^/(plans|projects)/\d+/files/")
#: Where the optional online background of the plan map comes from (folium's OpenStreetMap layer).
TILE_SERVER = "https://tile.openstreetmap.org"

#: The policy of the workspace's pages; ``{nonce}`` is the request's.
PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
#: The policy of files from plan folders: their own inline scripts, sandboxed, nothing fetched but images.
FILE_POLICY = "; ".join(
    [
        "sandbox allow-scripts allow-popups allow-downloads",
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        f"img-src 'self' data: blob: {TILE_SERVER}",
        "font-src data:",
        "connect-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
#: Headers every response gets.
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def policy_for(path: str, nonce: str) -> str:
    """The Content-Security-Policy of a response to ``path``."""
    return FILE_POLICY if FILE_PATHS.match(path) else PAGE_POLICY.format(nonce=nonce)


class SecurityHeaders:
    """ASGI middleware: a fresh nonce per request (``request.state.csp_nonce``) and the headers on every response.

    A response that sets its own Content-Security-Policy keeps it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        policy = policy_for(scope["path"], nonce)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["SecurityHeaders", "policy_for", "PAGE_POLICY", "FILE_POLICY", "FILE_PATHS", "ALWAYS"]
