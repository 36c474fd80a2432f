"""Errors of the FX ingestion; every one names what failed and why."""

from __future__ import annotations


class FxError(Exception):
    """Base class: the run wrote nothing and left the watermark unchanged."""


class FxHTTPError(FxError):
    """A non-retryable HTTP answer (4xx other than 429)."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(f"FX API answered {status} for {url}: {message}")
        self.url, self.status, self.message = url, status, message


class FxRetriesExhausted(FxError):
    """429/5xx/connection errors kept happening until the retry budget ran out."""

    def __init__(self, url: str, attempts: int, last: str) -> None:
        super().__init__(f"FX API request {url} failed after {attempts} attempts: {last}")
        self.url, self.attempts, self.last = url, attempts, last


class FxResponseError(FxError):
    """The body is not JSON or does not match the Frankfurter contract."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"invalid FX API response from {url}: {problem}")
        self.url, self.problem = url, problem


class RawConflictError(FxError):
    """A raw key already exists with different content: raw data is never overwritten."""
