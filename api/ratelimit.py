"""Rate limits on the API, per bearer token and per client address (Flask-Limiter).

The counters are Flask-Limiter's in-memory storage unless TIMELINE_RATE_LIMIT_STORAGE names
another (such as `redis://host:6379`): in memory, each server process counts on its own.
Clients on the loopback interface (or with no address: a Unix socket) are not limited unless
TIMELINE_RATE_LIMIT_LOOPBACK is set: that is the machine's own user, or a reverse proxy in
front, which must then pass the client's address on (see docs/security.md) for limits per
address to mean anything.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time

from flask import Flask, current_app, request
from flask_limiter import ApplicationLimit, Limiter, RequestLimit

from api.errors import problem


def client_address() -> str:
    return request.remote_addr or "unknown"


def token_key() -> str:
    """The presented token, by the hash the store keeps of it: no lookup is needed to count."""
    secret = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return hashlib.sha256(secret.encode()).hexdigest()


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def exempt() -> bool:
    """Outside the API, and from this machine unless asked, nothing is counted. A request
    with no client address did not come over IP (a Unix socket, a call in the process): it
    is from this machine too."""
    if not request.path.startswith("/api/") or request.method == "OPTIONS":
        return True
    local = not request.remote_addr or is_loopback(request.remote_addr)
    return local and not current_app.config.get("RATE_LIMIT_LOOPBACK")


def without_token() -> bool:
    return exempt() or "Authorization" not in request.headers


def refused(limit: RequestLimit) -> object:
    """A 429 problem document whose Retry-After tells when the window frees a request."""
    wait = max(1, int(limit.reset_at - time.time()))
    return problem(
        429, f"too many requests: the limit is {limit.limit}; retry in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def install(app: Flask) -> Limiter:
    """Limit every API request by TIMELINE_RATE_LIMIT (a Flask-Limiter rate such as
    `600/minute`; empty or `off` for none), counted per token and per client address."""
    rate = str(app.config.get("RATE_LIMIT") or "").strip()
    enabled = rate.lower() not in ("", "off", "false", "none")
    limiter = Limiter(
        client_address,
        app=app,
        application_limits=[
            ApplicationLimit(rate, scope="address", exempt_when=exempt),
            ApplicationLimit(rate, key_function=token_key, scope="token",
                             exempt_when=without_token),
        ] if enabled else [],
        storage_uri=app.config.get("RATE_LIMIT_STORAGE") or "memory://",
        on_breach=refused,  # type: ignore[arg-type]
        headers_enabled=False,
        enabled=enabled,
    )
    return limiter
