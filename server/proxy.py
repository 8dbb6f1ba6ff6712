"""hallq behind a reverse proxy (nginx with HTTPS): which forwarded headers to believe, and the Secure cookie.

`hallq run` itself speaks plain HTTP. With ``[server] trusted_proxies = N`` the last N hops' X-Forwarded-For and
X-Forwarded-Proto are believed (werkzeug's ProxyFix); without it they are ignored, so nobody can make hallq think
a request came over HTTPS, or from another address, by sending a header.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix


class HttpsAwareSessions(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (as the trusted proxy reports it):
    a staff login made through nginx's https:// never travels back over plain HTTP."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def trust_proxies(app: Flask, hops: int) -> None:
    """Believe the forwarded headers of ``hops`` proxies in front (none when 0)."""
    app.session_interface = HttpsAwareSessions()
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
