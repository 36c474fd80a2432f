"""Keeps web pages from driving the local HTTP services (Glue runner, FX stand-in).

The services listen on 127.0.0.1, but a page in the user's browser can still reach them: by
DNS rebinding (``evil.example`` re-resolved to 127.0.0.1: the request carries
``Host: evil.example``) or by a plain cross-origin request (a ``text/plain`` or form POST needs
no CORS preflight). So every request is checked before it is dispatched:

- ``Host`` must name an allowed host: the loopback names (``localhost``, ``127.0.0.1``,
  ``[::1]``, any port) plus the names in the service's allow-list variable (in Docker Compose
  the service's own name, e.g. ``glue-runner``). Otherwise 421 Misdirected Request.
- A request with an ``Origin`` that is not a loopback origin (``Origin: null`` included), or a
  ``Sec-Fetch-Site: cross-site`` request, gets 403. Programmatic clients (boto3, the AWS CLI,
  requests, urllib) send neither header.
- A state-changing request (POST, PUT, PATCH, DELETE) that carries an ``Origin`` and a CORS
  "simple" content type (``text/plain``, a form) gets 403: a page sends those without a
  preflight, and no client of these services sends them.
- Nothing ever answers with ``Access-Control-Allow-Origin``, so a preflight never succeeds.

Standard library only: the FX stand-in runs with any Python 3.11.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: Host names every service accepts (``::1`` is written ``[::1]`` in a Host header).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: Content types a browser sends cross-origin without a preflight (the Fetch standard's list).
SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
_PORT = re.compile(r"^[0-9]{1,5}$")


@dataclass(frozen=True)
class Rejection:
    status: int  # 421 (Host) or 403 (Origin / content type)
    reason: str


def allowed_hosts(env_var: str | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The loopback names plus the comma-separated names in ``env_var`` and ``extra``."""
    names = set(LOOPBACK_NAMES)
    configured = list(extra)
    if env_var:
        configured += os.environ.get(env_var, "").split(",")
    for raw in configured:
        name = raw.strip().lower()
        if not name:
            continue
        if name in ("*", "0.0.0.0", "::"):  # would disable the check: refuse, loudly
            raise ValueError(f"allowed host {raw!r} is not a host name")
        names.add(name.strip("[]"))
    return frozenset(names)


def host_name(value: str) -> str | None:
    """The host part of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lower-cased,
    or None when the header is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        host, sep, port = value.partition(":")
        rest = f":{port}" if sep else ""
        if not _NAME.match(host):
            return None
    if rest and not (rest.startswith(":") and _PORT.match(rest[1:])):
        return None
    return host


def loopback_origin(origin: str) -> bool:
    """True for ``http(s)://localhost|127.0.0.1|[::1][:port]`` and nothing else."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    del port
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    return (parts.hostname or "") in LOOPBACK_NAMES


def check(
    method: str, headers: Mapping[str, str], hosts: frozenset[str], suffixes: tuple[str, ...] = ()
) -> Rejection | None:
    """Why this request must be refused, or None. ``headers``: case-insensitive lookup;
    ``suffixes``: host name endings also served (``.localhost``: RFC 6761 loopback names)."""
    raw_host = headers.get("Host")
    name = host_name(raw_host) if raw_host is not None else None
    if name is None or not (
        name in hosts or any(name.endswith(s) and len(name) > len(s) for s in suffixes)
    ):
        return Rejection(421, f"Host {raw_host!r} is not served here (allowed: {', '.join(sorted(hosts))})")
    origin = headers.get("Origin")
    if origin is not None and not loopback_origin(origin):
        return Rejection(403, f"cross-origin request from {origin!r} refused")
    if (headers.get("Sec-Fetch-Site") or "").strip().lower() == "cross-site":
        return Rejection(403, "cross-site request refused")
    if origin is not None and method.upper() in STATE_CHANGING:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not content_type or content_type in SIMPLE_CONTENT_TYPES:
            return Rejection(
                403, f"{method} with Content-Type {content_type or '(none)'!r} from a web page refused"
            )
    return None


class GuardedHandler(BaseHTTPRequestHandler):
    """Mixin for ``http.server`` handlers: runs :func:`check` on every request, whatever its
    method, before dispatch. Subclasses set ``allowed_hosts`` (or the server's
    ``allowed_hosts`` attribute) and may override :meth:`send_rejection`."""

    allowed_hosts: frozenset[str] = LOOPBACK_NAMES

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        hosts = getattr(self.server, "allowed_hosts", None) or self.allowed_hosts
        rejection = check(self.command, self.headers, hosts)
        if rejection is None:
            return True
        log.warning("refused %s %s from %s: %s", self.command, self.path[:200],
                    self.client_address[0], rejection.reason)
        self.close_connection = True  # the body is not read: do not reuse the connection
        self.send_rejection(rejection)
        return False

    def send_rejection(self, rejection: Rejection) -> None:
        body = json.dumps({"message": rejection.reason}).encode()
        self.send_response(rejection.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

