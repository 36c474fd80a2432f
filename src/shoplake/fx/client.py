"""HTTP client for the Frankfurter v1 API: timeouts, retries with backoff, validation.

Retries are urllib3's :class:`~urllib3.util.Retry`, mounted on the requests session through an
:class:`~requests.adapters.HTTPAdapter`: HTTP 429 and 5xx (``status_forcelist``), connection
errors and timeouts, honouring ``Retry-After`` (``respect_retry_after_header``). What
:class:`RetryPolicy` adds on top: exponential backoff with full jitter, a ``Retry-After``
(seconds or HTTP date) as a floor for the wait, and one longer than ``max_retry_after`` gives
up instead of waiting. Not retried: other 4xx (:class:`FxHTTPError`) and bodies that are not
valid JSON or break the contract (:class:`FxResponseError`): a broken body is a server bug,
and the run stops cleanly.
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
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util import Retry

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


class FxRetry(Retry):
    """urllib3's ``Retry`` with the waits of a :class:`RetryPolicy`.

    urllib3 waits nothing before the first retry, adds its ``backoff_jitter`` on top of the
    exponential step and, with ``respect_retry_after_header``, sleeps the header's value
    instead of the backoff (capped, never refused). Here: full jitter from the first retry
    (:meth:`RetryPolicy.backoff`), ``Retry-After`` as a floor, and a ``Retry-After`` beyond
    ``max_retry_after`` ends the retries (the response goes back to the caller, who says so).
    """

    policy: RetryPolicy = RetryPolicy()
    #: called once per retry that follows (the client counts its HTTP requests with it)
    on_retry: Callable[[], None] = staticmethod(lambda: None)
    pause: Callable[[float], None] = staticmethod(time.sleep)

    @classmethod
    def from_policy(
        cls,
        policy: RetryPolicy,
        *,
        on_retry: Callable[[], None],
        pause: Callable[[float], None] = time.sleep,
    ) -> FxRetry:
        retry = cls(
            total=policy.max_attempts - 1,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            backoff_factor=policy.backoff_base,
            backoff_max=policy.backoff_max,
            backoff_jitter=0.0,  # full jitter instead: get_backoff_time
            raise_on_status=False,  # the last 429/5xx comes back: its body names the error
        )
        return retry._carry(policy, on_retry, pause)

    def _carry(
        self, policy: RetryPolicy, on_retry: Callable[[], None], pause: Callable[[float], None]
    ) -> FxRetry:
        self.policy, self.on_retry, self.pause = policy, on_retry, pause
        return self

    def new(self, **kw: Any) -> FxRetry:
        # urllib3 makes a new Retry per attempt from its own constructor fields only
        return super().new(**kw)._carry(self.policy, self.on_retry, self.pause)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # only the listed statuses (urllib3 alone also retries a 413 with Retry-After)
        return status_code in self.status_forcelist and super().is_retry(
            method, status_code, has_retry_after
        )

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> FxRetry:
        if response is not None:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > self.policy.max_retry_after:
                raise MaxRetryError(_pool, url or "", None)  # urllib3 returns the response
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        self.on_retry()
        return retry

    def get_backoff_time(self) -> float:
        return self.policy.backoff(max(1, len(self.history)))

    def sleep(self, response: Any = None) -> None:
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response else None
        delay = max(self.get_backoff_time(), retry_after or 0.0)
        last = self.history[-1] if self.history else None
        error = (
            f"HTTP {last.status}"
            if last and last.status
            else f"{type(last.error).__name__}: {last.error}"
            if last and last.error
            else ""
        )
        log.warning(
            "FX API request failed, retrying",
            extra={
                "ctx": {
                    "url": last.url if last else None,
                    "attempt": len(self.history),
                    "error": error,
                    "wait_s": round(delay, 3),
                }
            },
        )
        self.pause(delay)


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
        self.attempts = 0  # HTTP requests sent by this client (tests and logs)
        retry = FxRetry.from_policy(self.policy, on_retry=self._count, pause=sleep)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _count(self) -> None:
        self.attempts += 1

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
        before = self.attempts
        self.attempts += 1  # the first try; the adapter's Retry counts the others
        try:
            resp = self.session.get(
                url, params=params, timeout=(policy.connect_timeout, policy.read_timeout)
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise FxRetriesExhausted(
                url, self.attempts - before, f"{type(exc).__name__}: {exc}"
            ) from exc
        if resp.status_code < 400:
            return resp
        if resp.status_code not in RETRY_STATUSES:
            raise FxHTTPError(resp.url, resp.status_code, _message(resp))
        last = f"HTTP {resp.status_code}: {_message(resp)}"
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if retry_after is not None and retry_after > policy.max_retry_after:
            last += f" (Retry-After {retry_after:.0f}s is too long)"
        raise FxRetriesExhausted(url, self.attempts - before, last)


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200] or resp.reason
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return json.dumps(body)[:200]
