"""What a browser on the hall's Wi-Fi is allowed to do for another site (nothing), and what it may keep or frame.

CSRF: a SameSite cookie still travels with a form POST from another port of the same host, so every state-changing
request must be typed JSON (a type no form or ``no-cors`` fetch can send without a CORS preflight, which hallq never
grants) unless it carries a Bearer token (a header no other site can make a browser add), and an Origin or
Sec-Fetch-Site header, when the browser sends one, must name the hall itself. The Socket.IO handshake is checked by
python-engineio's own same-origin rule (``cors_allowed_origins`` left at its default).

Headers: a Content-Security-Policy the screens keep to (no inline script or style anywhere: every script and style
is a file), no framing, no MIME sniffing, no Referer (the tracking page's token is in its address), and
``Cache-Control: no-store`` on everything but the static files and the public call audio.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from server.queue import DomainError

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: 'self' covers the Socket.IO websocket (ws:/wss: of the same host); data: images are the favicon placeholder and
#: the device QR code (an SVG data URL)
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # browsers without frame-ancestors; no screen frames another
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: endpoints whose answers hold nothing about anyone and may be cached: the static files and the call audio
#: (a number and a window, named by a hash of its content)
_CACHEABLE = frozenset({"static", "audio.audio"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: ``https://hall`` is ``https://hall:443``."""
    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        port = parts.port
    except ValueError:  # a port that is not a number names no origin of ours
        return scheme, "", None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def same_origin(origin: str) -> bool:
    """Whether an Origin header names this request's own scheme, host and port (behind a trusted proxy: the
    forwarded scheme and the Host nginx passes on, see server/proxy.py)."""
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:  # "null": a sandboxed frame, a file:// page, a privacy redirect
        return False
    return _origin(parts.scheme.lower(), parts.netloc) == _origin(request.scheme, request.host)


def refuse_forged_requests() -> None:
    """Before every request: a state-changing one from another site, or in a form's clothing, is refused."""
    if request.method not in STATE_CHANGING:
        return
    origin = request.headers.get("Origin")
    if (origin is not None and not same_origin(origin)) or \
            request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        raise DomainError("forbidden", "cross_origin", "拒绝来自其他网站的请求，请在本大厅的页面上操作")
    if request.mimetype != "application/json" and not request.headers.get("Authorization"):
        raise DomainError("unsupported", "json_required", "请求须为 JSON（Content-Type: application/json）")


def harden(response: Response) -> Response:
    """After every request: the security headers, and no-store unless the answer is a public file."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    endpoint = request.endpoint or ""
    if endpoint not in _CACHEABLE and not endpoint.endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    app.before_request(refuse_forged_requests)
    app.after_request(harden)
