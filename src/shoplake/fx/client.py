"""HTTP client for the Frankfurter v1 API: timeouts, retries with backoff, validation.

Retried: HTTP 429 and 5xx, connection errors and timeouts, with exponential backoff and full
jitter; a ``Retry-After`` header (seconds or HTTP date) is a floor for the wait. Not retried:
other 4xx (:class:`FxHTTPError`) and bodies that are not valid JSON or break the contract
(:class:`FxResponseError`): a broken body is a server bug, and the run stops cleanly.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from shoplake.fx.errors import FxHTTPError, FxResponseError, FxRetriesExhausted
from shoplake.fx.validate import ValidationError, validate_range, validate_single

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_attempts`` counts the first try."""

    max_attempts: int = 5
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1)
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After gives up instead of waiting
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * rng()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class FxResponse:
    """One validated answer and the exact URL that produced it."""

    url: str
    body: dict[str, Any]


class FrankfurterClient:
    """``/v1/latest``, ``/v1/<date>``, ``/v1/<start>..<end>`` with ``base`` and ``symbols``."""

    def __init__(
        self,
        base_url: str,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "shoplake-fx/0.1")
        self.sleep = sleep
        self.attempts = 0  # HTTP requests sent by this client (tests and logs)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> FrankfurterClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- endpoints ---------------------------------------------------------------------
    def latest(self, base: str = "EUR", symbols: list[str] | None = None) -> FxResponse:
        resp = self._get("/v1/latest", base, symbols)
        return self._checked(resp, lambda b: validate_single(b, base))

    def on(self, day: date, base: str = "EUR", symbols: list[str] | None = None) -> FxResponse:
        """Rates of ``day``, or of the business day before it (the body's ``date`` says which)."""
        resp = self._get(f"/v1/{day.isoformat()}", base, symbols)
        return self._checked(resp, lambda b: validate_single(b, base))

    def between(
        self, start: date, end: date, base: str = "EUR", symbols: list[str] | None = None
    ) -> FxResponse:
        """Business-day series from the business day on or before ``start`` to ``end``."""
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        resp = self._get(f"/v1/{start.isoformat()}..{end.isoformat()}", base, symbols)
        return self._checked(resp, lambda b: validate_range(b, base, start, end))

    # --- plumbing ----------------------------------------------------------------------
    def _checked(self, resp: requests.Response, check: Callable[[Any], Any]) -> FxResponse:
        try:
            body = json.loads(resp.content)
        except ValueError as exc:
            raise FxResponseError(resp.url, f"body is not JSON ({exc})") from exc
        try:
            check(body)
        except ValidationError as exc:
            raise FxResponseError(resp.url, str(exc)) from exc
        return FxResponse(url=resp.url, body=body)

    def _get(self, path: str, base: str, symbols: list[str] | None) -> requests.Response:
        params = {"base": base.upper()}
        if symbols:
            params["symbols"] = ",".join(s.upper() for s in symbols)
        url = self.base_url + path
        policy = self.policy
        last = ""
        for attempt in range(1, policy.max_attempts + 1):
            retry_after: float | None = None
            self.attempts += 1
            try:
                resp = self.session.get(
                    url, params=params, timeout=(policy.connect_timeout, policy.read_timeout)
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 400:
                    return resp
                if resp.status_code not in RETRY_STATUSES:
                    raise FxHTTPError(resp.url, resp.status_code, _message(resp))
                last = f"HTTP {resp.status_code}: {_message(resp)}"
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if retry_after is not None and retry_after > policy.max_retry_after:
                    raise FxRetriesExhausted(
                        url, attempt, f"{last} (Retry-After {retry_after:.0f}s is too long)"
                    )
            if attempt == policy.max_attempts:
                break
            delay = max(policy.backoff(attempt), retry_after or 0.0)
            log.warning(
                "FX API request failed, retrying",
                extra={
                    "ctx": {
                        "url": url,
                        "attempt": attempt,
                        "error": last,
                        "wait_s": round(delay, 3),
                    }
                },
            )
            self.sleep(delay)
        raise FxRetriesExhausted(url, policy.max_attempts, last)


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200] or resp.reason
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return json.dumps(body)[:200]
