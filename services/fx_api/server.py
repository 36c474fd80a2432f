"""HTTP stand-in for the Frankfurter API (https://frankfurter.dev, v1 contract).

Endpoints (GET): ``/v1/latest``, ``/v1/YYYY-MM-DD``, ``/v1/START..END`` (END optional),
``/v1/currencies``; query ``base`` (alias ``from``), ``symbols`` (alias ``to``), ``amount``.
Like Frankfurter, a single date on a weekend/holiday answers with the previous business
day's rates and that ``date``; a range starts at the business day on or before START and lists
business days only; nothing found -> 404 ``{"message": "not found"}``; bad input -> 422.

Test controls (never in the real API):
- ``GET /health`` -> ``{"status": "ok", "pid": ...}``
- ``POST /_control`` ``{"mode": "429"|"500"|"503"|"malformed"|"invalid"|"ok", "count": N,
  "retry_after": S, "latency_ms": MS, "after": K, "today": "YYYY-MM-DD"}``: after K normal
  ``/v1`` requests, the next N (-1: all) misbehave that way (after sleeping ``latency_ms``);
  ``today`` fixes the server's date (``null`` frees it); ``"published_until": "YYYY-MM-DD"``
  hides later rates (e.g. today's, before the ECB's 16:00 CET publication).
- ``GET /_control`` -> the fault state and the log of ``/v1`` requests;
  ``POST /_control/reset`` clears both.
Run: ``python services/fx_api/server.py --host 127.0.0.1 --port 8765``
(``FX_API_TODAY`` in the environment also fixes the date).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

if __package__ in (None, ""):  # run as a script: make the ``fx_api`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localhost_guard import GuardedHandler, allowed_hosts  # noqa: E402

from fx_api.rates import (  # noqa: E402
    CURRENCY_NAMES,
    business_days,
    previous_business_day,
    quote,
)

log = logging.getLogger("fx_api")

_DATE = r"\d{4}-\d{2}-\d{2}"
_SINGLE = re.compile(rf"^/v1/({_DATE})$")
_RANGE = re.compile(rf"^/v1/({_DATE})\.\.({_DATE})?$")
FAULT_MODES = {"ok", "429", "500", "503", "malformed", "invalid"}
#: Host names besides the loopback ones (compose: ``fx-api``), comma-separated.
ALLOWED_HOSTS_ENV = "FX_API_ALLOWED_HOSTS"


class BadRequest(Exception):
    """Answered with 422 and the message, as Frankfurter does."""


class Controls:
    """Fault injection and request log, shared by all handler threads."""

    def __init__(self, today: date | None = None) -> None:
        self._lock = threading.Lock()
        self.initial_today = today
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.fixed_today = self.initial_today
            self.published_until: date | None = None
            self.fault: dict[str, Any] = {
                "mode": "ok",
                "count": 0,
                "after": 0,
                "retry_after": None,
                "latency_ms": 0,
            }
            self.requests: list[dict[str, Any]] = []

    def configure(self, spec: dict[str, Any]) -> None:
        mode = str(spec.get("mode", "ok"))
        if mode not in FAULT_MODES:
            raise BadRequest(f"unknown mode {mode!r}; one of {sorted(FAULT_MODES)}")
        with self._lock:
            if "today" in spec:
                self.fixed_today = date.fromisoformat(spec["today"]) if spec["today"] else None
            if "published_until" in spec:
                value = spec["published_until"]
                self.published_until = date.fromisoformat(value) if value else None
            self.fault = {
                "mode": mode,
                "count": int(spec.get("count", 1)),
                "after": int(spec.get("after", 0)),
                "retry_after": spec.get("retry_after"),
                "latency_ms": int(spec.get("latency_ms", 0)),
            }

    def take(self, path: str, query: str) -> dict[str, Any] | None:
        """Log a ``/v1`` request; return the fault to apply to it, if any."""
        with self._lock:
            self.requests.append({"path": path, "query": query, "t": time.monotonic()})
            fault = dict(self.fault)
            if fault["count"] == 0:
                return None
            if fault["after"] > 0:
                self.fault["after"] -= 1
                return None
            if fault["count"] > 0:
                self.fault["count"] -= 1
            return fault

    def today(self) -> date:
        return self.fixed_today or datetime.now(UTC).date()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "fault": dict(self.fault),
                "today": self.today().isoformat(),
                "published_until": self.published_until and self.published_until.isoformat(),
                "requests": list(self.requests),
            }


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest("invalid date") from exc


def _query_params(query: dict[str, list[str]]) -> tuple[str, list[str] | None, float]:
    first = {k: v[0] for k, v in query.items() if v}
    base = (first.get("base") or first.get("from") or "EUR").upper()
    raw_symbols = first.get("symbols") or first.get("to")
    symbols = [s for s in raw_symbols.upper().split(",") if s] if raw_symbols else None
    if symbols == [base]:
        raise BadRequest("bad currency pair")
    amount = 1.0
    if "amount" in first:
        try:
            amount = float(first["amount"])
        except ValueError as exc:
            raise BadRequest("invalid amount") from exc
        if amount <= 0:
            raise BadRequest("invalid amount")
    return base, symbols, amount


def _scaled(rates: dict[str, float], amount: float) -> dict[str, float]:
    if amount == 1.0:
        return rates
    from fx_api.rates import round_rate

    return {cur: round_rate(rate * amount) for cur, rate in rates.items()}


def answer(
    path: str, query: dict[str, list[str]], today: date, published_until: date | None = None
) -> tuple[int, dict[str, Any]]:
    """The Frankfurter v1 answer (status, body) for one GET: a pure function of its arguments.

    ``published_until``: the last date with rates (default ``today``).
    """
    available = min(today, published_until or today)
    not_found = (404, {"message": "not found"})
    if path == "/v1/currencies":
        return 200, dict(sorted(CURRENCY_NAMES.items()))
    try:
        base, symbols, amount = _query_params(query)
        if path in ("/v1/latest", "/v1/current") or (m := _SINGLE.match(path)):
            day = today if path in ("/v1/latest", "/v1/current") else _parse_date(m.group(1))
            business = previous_business_day(min(day, available))
            rates = _scaled(quote(business, base, symbols), amount) if business else {}
            if not rates:
                return not_found
            return 200, {
                "amount": amount,
                "base": base,
                "date": business.isoformat(),
                "rates": rates,
            }
        if m := _RANGE.match(path):
            start = _parse_date(m.group(1))
            end = _parse_date(m.group(2)) if m.group(2) else today
            if start > today:
                return not_found
            first = previous_business_day(min(start, available)) or start
            series = {}
            for day in business_days(first, min(end, available)):
                rates = _scaled(quote(day, base, symbols), amount)
                if rates:
                    series[day.isoformat()] = rates
            if not series:
                return not_found
            days = list(series)
            return 200, {
                "amount": amount,
                "base": base,
                "start_date": days[0],
                "end_date": days[-1],
                "rates": series,
            }
    except BadRequest as exc:
        return 422, {"message": str(exc)}
    return not_found


class Handler(GuardedHandler):
    """Host / Origin checks on every request (localhost_guard): a web page cannot poison the
    rates through ``/_control``."""

    server_version = "fx-api-standin/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def controls(self) -> Controls:
        return self.server.controls  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path == "/health":
            return self._json(200, {"status": "ok", "pid": os.getpid()})
        if url.path == "/_control":
            return self._json(200, self.controls.snapshot())
        if not url.path.startswith("/v1/"):
            return self._json(404, {"message": "not found"})
        fault = self.controls.take(url.path, url.query)
        if fault:
            if fault["latency_ms"]:
                time.sleep(fault["latency_ms"] / 1000)
            if self._misbehave(fault):
                return None
        controls = self.controls
        status, payload = answer(
            url.path, parse_qs(url.query), controls.today(), controls.published_until
        )
        return self._json(status, payload)

    def _misbehave(self, fault: dict[str, Any]) -> bool:
        mode = fault["mode"]
        if mode in ("429", "500", "503"):
            headers = {}
            if fault.get("retry_after") is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            message = "rate limit exceeded" if mode == "429" else "internal error"
            self._json(int(mode), {"message": message}, headers)
            return True
        if mode == "malformed":
            self._send(200, b'{"amount": 1.0, "base": "EUR", "rates": {"USD": 1.0')
            return True
        if mode == "invalid":
            self._json(
                200, {"amount": 1.0, "base": "EURO", "date": "yesterday", "rates": {"USD": -1}}
            )
            return True
        return False

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path == "/_control/reset":
            self.controls.reset()
            return self._json(200, self.controls.snapshot())
        if url.path != "/_control":
            return self._json(404, {"message": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            spec = json.loads(self.rfile.read(length) or b"{}")
            self.controls.configure(spec)
        except (ValueError, BadRequest) as exc:
            return self._json(422, {"message": str(exc)})
        return self._json(200, self.controls.snapshot())


def make_server(
    host: str, port: int, today: date | None = None, hosts: frozenset[str] | None = None
) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.controls = Controls(today)  # type: ignore[attr-defined]
    server.allowed_hosts = hosts or allowed_hosts(ALLOWED_HOSTS_ENV)  # type: ignore[attr-defined]
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Frankfurter API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--today", default=os.environ.get("FX_API_TODAY"), help="fix the date")
    parser.add_argument("--allowed-hosts", default="",
                        help="Host header names accepted besides localhost/127.0.0.1/[::1], "
                        f"comma-separated (also env {ALLOWED_HOSTS_ENV}; compose: fx-api)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        hosts = allowed_hosts(ALLOWED_HOSTS_ENV, args.allowed_hosts.split(","))
    except ValueError as exc:
        parser.error(str(exc))
    server = make_server(
        args.host, args.port, date.fromisoformat(args.today) if args.today else None, hosts
    )

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log.info("fx_api listening on http://%s:%s", host, port)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        log.info("fx_api stopped")


if __name__ == "__main__":
    main()
