"""``shoplake dashboard``: the report page served live on 127.0.0.1, interactive, offline.

What it serves (GET/HEAD only):

- ``/``: the page of :mod:`shoplake.report.page` (sales, products, customer behaviour,
  pipeline health) from an in-memory snapshot of the marts;
- ``/static/plotly.min.js`` (from the plotly wheel) and ``/static/dashboard.js`` (starts the
  charts): the page loads nothing from anywhere else;
- ``/healthz``: ``{"status": "ok", ...}`` with the age of the snapshot.

The warehouse has a single writer, and DuckDB refuses a writer while a reader has the file
open. The dashboard never keeps it open: the snapshot is read by
:func:`shoplake.report.marts.read_marts` (one read-only, locked-down session under the writer
lock, closed before the lock is released; a fraction of a second) and only again when the
warehouse file changed (its and its WAL's size and mtime, read with ``stat``, which opens
nothing) or the snapshot is older than ``max_age_s``. When a writer keeps the warehouse
longer than ``lock_timeout_s``, the last snapshot is served with a notice instead of waiting.

Requests go through the local services' guard (``services/localhost_guard.py``,
docs/local-services.md): a foreign ``Host`` (DNS rebinding) gets 421, a cross-origin request
403; no ``Access-Control-*`` header is ever sent; the page carries a Content-Security-Policy
that allows scripts from the dashboard itself only.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from shoplake import stack
from shoplake.report import page
from shoplake.report.marts import MartsSnapshot, read_marts
from shoplake.settings import ROOT, Settings

log = logging.getLogger(__name__)

#: Asked for first when nothing is saved in ``<home>/ports.json`` yet (the README names it).
DEFAULT_PORT = 8050
PORTS_KEY = "dashboard"
#: Extra ``Host`` names served besides the loopback ones (Docker Compose: the service name).
ALLOWED_HOSTS_ENV = "SHOPLAKE_DASHBOARD_ALLOWED_HOSTS"
TITLE = "shoplake dashboard"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class DashboardError(RuntimeError):
    """A user error (port taken): one line, no traceback."""


def _guard() -> ModuleType:
    """services/localhost_guard.py, the one guard of every local HTTP service (it lives beside
    the services, which run as scripts; load it from there unless it is importable)."""
    name = "localhost_guard"
    if name in sys.modules:
        return sys.modules[name]
    path = ROOT / "services" / "localhost_guard.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a broken checkout
        raise DashboardError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def choose_port(settings: Settings, requested: int | None = None) -> int:
    """``requested``, else the port saved in ``<home>/ports.json`` if still free, else
    :data:`DEFAULT_PORT` if free, else any free port; saved back so the URL stays the same."""
    host = settings.bind_host
    if requested is not None:
        if not stack.port_usable(requested, host):
            raise DashboardError(
                f"port {requested} on {host} is in use: choose another with --port"
            )
        port = requested
    else:
        saved = stack.saved_ports(settings.home).get(PORTS_KEY)
        if saved and stack.port_usable(saved, host):
            port = saved
        elif stack.port_usable(DEFAULT_PORT, host):
            port = DEFAULT_PORT
        else:
            port = stack.free_port(host)
    with stack.stack_lock(settings.home):  # `shoplake up` rewrites the same file
        ports = stack.saved_ports(settings.home)
        ports[PORTS_KEY] = port
        stack.ports_file(settings.home).write_text(json.dumps(ports, indent=1))
    return port


@dataclass
class Rendered:
    html: bytes
    snapshot: MartsSnapshot | None
    key: tuple[Any, ...]
    notice: str | None = None


class Dashboard:
    """The page cache: re-reads the marts only when the warehouse changed."""

    def __init__(
        self, settings: Settings, *, lock_timeout_s: float = 3.0, max_age_s: float = 60.0
    ) -> None:
        self.settings = settings
        self.lock_timeout_s = lock_timeout_s
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._current: Rendered | None = None

    def _warehouse_key(self) -> tuple[Any, ...]:
        from shoplake.warehouse.backends import backend

        if not backend(self.settings).runs_duckdb:  # Snowflake: no file to watch, re-read by age
            return (int(time.time() // self.max_age_s),)
        parts: list[Any] = []
        base = self.settings.warehouse_file
        for path in (base, Path(f"{base}.wal")):
            try:
                st = path.stat()
                parts += [st.st_size, st.st_mtime_ns]
            except FileNotFoundError:
                parts += [None, None]
        return tuple(parts)

    def page(self) -> tuple[int, bytes]:
        """(HTTP status, HTML) of the page, from the snapshot or a fresh read."""
        from shoplake.warehouse.connection import WarehouseError
        from shoplake.warehouse.writer_lock import WriterLockTimeout

        with self._lock:  # one read at a time, however many browser tabs ask
            key = self._warehouse_key()
            cur = self._current
            fresh = (
                cur is not None
                and cur.key == key
                and cur.snapshot is not None
                and time.time() - cur.snapshot.read_at < self.max_age_s
            )
            if fresh and cur is not None:
                return 200, cur.html
            try:
                snap = read_marts(self.settings, lock_timeout_s=self.lock_timeout_s)
            except (WriterLockTimeout, WarehouseError) as exc:
                reason = str(exc).splitlines()[0]
                log.warning("dashboard: marts not read: %s", reason)
                if cur is not None and cur.snapshot is not None:
                    notice = (
                        "the warehouse is busy (a load or dbt build is running): showing the data read "
                        + time.strftime("%H:%M:%S", time.localtime(cur.snapshot.read_at))
                    )
                    return 200, self._render(cur.snapshot, notice, cur.key).html
                return 503, _message_page(
                    f"No data yet: {reason}. Run `shoplake demo` (or load + transform), "
                    "then reload."
                )
            self._current = self._render(snap, None, key)
            return 200, self._current.html

    def _render(self, snap: MartsSnapshot, notice: str | None, key: tuple[Any, ...]) -> Rendered:
        from datetime import UTC, datetime

        text = page.render(
            snap.results,
            title=TITLE,
            missing=snap.missing,
            notice=notice,
            script_src=("/static/plotly.min.js", "/static/dashboard.js"),
            generated=datetime.fromtimestamp(snap.read_at, UTC),
        )
        return Rendered(text.encode(), snap, key, notice)

    def health(self) -> dict[str, Any]:
        cur = self._current
        age = (
            None
            if cur is None or cur.snapshot is None
            else round(time.time() - cur.snapshot.read_at, 1)
        )
        return {"status": "ok", "snapshot_age_s": age}


def _message_page(message: str) -> bytes:
    import html

    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title></head>'
        f"<body><h1>{TITLE}</h1><p>{html.escape(message)}</p></body></html>"
    ).encode()


def make_server(
    settings: Settings, port: int, dashboard: Dashboard | None = None
) -> ThreadingHTTPServer:
    """The HTTP server on ``settings.bind_host`` (127.0.0.1 by default) and ``port``; call
    ``serve_forever()`` on it."""
    guard = _guard()
    board = dashboard or Dashboard(settings)
    static = {
        "/static/plotly.min.js": (page.plotly_js().encode(), "text/javascript; charset=utf-8"),
        "/static/dashboard.js": (page.BOOT_JS.encode(), "text/javascript; charset=utf-8"),
    }

    class Handler(guard.GuardedHandler):  # type: ignore[name-defined,misc]
        server_version = "shoplake-dashboard"
        sys_version = ""

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("dashboard %s", fmt % args)

        def _send(self, status: int, body: bytes, ctype: str, *, cache: str = "no-store") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            if ctype.startswith("text/html"):
                self.send_header("Content-Security-Policy", CSP)
                self.send_header("X-Frame-Options", "DENY")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                try:
                    status, body = board.page()
                except Exception:  # a bug must not kill the server: log it, answer 500
                    log.exception("dashboard page failed")
                    status, body = 500, _message_page("Internal error: see the dashboard's log.")
                self._send(status, body, "text/html; charset=utf-8")
            elif path in static:
                body, ctype = static[path]
                self._send(200, body, ctype, cache="max-age=3600")
            elif path == "/favicon.ico":  # asked for by every browser: no icon, no 404 noise
                self._send(204, b"", "image/x-icon", cache="max-age=86400")
            elif path == "/healthz":
                self._send(200, json.dumps(board.health()).encode(), "application/json")
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")

        do_HEAD = do_GET

        def _refuse(self) -> None:
            self.send_response(405)
            self.send_header("Allow", "GET, HEAD")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse

    server = ThreadingHTTPServer((settings.bind_host, port), Handler)
    server.daemon_threads = True
    server.allowed_hosts = guard.allowed_hosts(ALLOWED_HOSTS_ENV)  # type: ignore[attr-defined]
    return server
