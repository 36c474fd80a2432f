"""``fetch_rates``: Frankfurter -> raw JSON on S3, driven by an SSM watermark.

One run: plan the calendar range (watermark + 1 .. today unless given), split it into chunks,
fetch and validate every chunk, and only then check every target key, write the new files and
advance the watermark to the latest ECB business date received. Any failure before the writes
leaves S3 and the watermark untouched; a rerun fetches only what is missing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shoplake import aws
from shoplake.fx import dates, raw, watermark
from shoplake.fx.client import FrankfurterClient, RetryPolicy
from shoplake.fx.errors import FxError
from shoplake.settings import Settings, get_settings

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "frankfurter"
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass
class ChunkResult:
    start: date
    end: date
    #: written | identical (key existed with the same response) | no-new-dates | no-weekday
    status: str
    key: str | None = None
    url: str | None = None
    rate_dates: list[date] = field(default_factory=list)


@dataclass
class FetchResult:
    source: str
    base: str
    start: date | None  # planned calendar range; None: nothing to fetch
    end: date | None
    watermark_before: date | None
    watermark_after: date | None
    chunks: list[ChunkResult] = field(default_factory=list)
    requests: int = 0  # HTTP requests sent, retries included

    @property
    def written(self) -> list[str]:
        return [c.key for c in self.chunks if c.status == "written" and c.key]

    @property
    def skipped(self) -> list[ChunkResult]:
        return [c for c in self.chunks if c.status != "written"]

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary (Airflow XCom, logs)."""

        def iso(day: date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "source": self.source,
            "base": self.base,
            "start": iso(self.start),
            "end": iso(self.end),
            "watermark_before": iso(self.watermark_before),
            "watermark_after": iso(self.watermark_after),
            "requests": self.requests,
            "written": self.written,
            "chunks": [
                {
                    "start": iso(c.start),
                    "end": iso(c.end),
                    "status": c.status,
                    "key": c.key,
                    "rate_dates": len(c.rate_dates),
                }
                for c in self.chunks
            ],
        }


def source_for(base: str) -> str:
    """Default source name: ``frankfurter`` for EUR, ``frankfurter-usd`` for base USD, ..."""
    return DEFAULT_SOURCE if base == "EUR" else f"{DEFAULT_SOURCE}-{base.lower()}"


def policy_from(settings: Settings) -> RetryPolicy:
    """Retry policy: defaults, overridden by ``settings.fx_retry`` (a dict of fields),
    e.g. ``SHOPLAKE_FX_RETRY='{"max_attempts": 3, "read_timeout": 10}'``."""
    return RetryPolicy(**settings.fx_retry)  # type: ignore[arg-type]


def _first_start(settings: Settings) -> date | None:
    return settings.fx_start_date


def fetch_rates(
    start: date | None = None,
    end: date | None = None,
    settings: Settings | None = None,
    *,
    base: str = "EUR",
    symbols: list[str] | None = None,
    source: str | None = None,
    ignore_watermark: bool = False,
    chunk_days: int = dates.CHUNK_DAYS,
    policy: RetryPolicy | None = None,
    now: datetime | None = None,
) -> FetchResult:
    """Fetch missing FX rates into ``raw/fx_rates``; see the module docstring.

    ``start``/``end`` bound the calendar range (defaults: watermark + 1, or
    ``settings.fx_start_date``, or 1 January of last year; today); ``policy``
    defaults to :func:`policy_from` the settings. Raises
    :class:`~shoplake.fx.errors.FxError` subclasses; then nothing was written.
    """
    s = settings or get_settings()
    s.require_stack()  # the stand-in and the lake are both the local stack's
    if not s.fx_api_url:
        raise FxError("no FX API URL: set SHOPLAKE_FX_API_URL or start the stack (shoplake up)")
    base = base.upper()
    source = source or source_for(base)
    if not _SOURCE.match(source):
        raise ValueError(f"source {source!r}: use lower-case letters, digits and '-'")
    symbols = sorted({sym.upper() for sym in symbols}) if symbols else None
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()

    ssm = aws.client("ssm", s)
    param = watermark.parameter_name(s.ssm_prefix, source)
    mark = watermark.read_watermark(ssm, param)
    plan = dates.plan_range(
        today=today,
        watermark=mark,
        start=start,
        end=end,
        first_start=_first_start(s),
        ignore_watermark=ignore_watermark,
    )
    result = FetchResult(source, base, *(plan or (None, None)), mark, mark)
    ctx: dict[str, Any] = {"source": source, "watermark": mark, "range": plan}
    if plan is None:
        log.info("FX rates up to date, nothing to fetch", extra={"ctx": ctx})
        return result

    # 1. fetch and validate everything (no side effects yet)
    fetched: list[tuple[ChunkResult, str, dict[str, Any]]] = []
    with FrankfurterClient(s.fx_api_url, policy or policy_from(s)) as client:
        try:
            for chunk_start, chunk_end in dates.chunks(*plan, days=chunk_days):
                chunk = ChunkResult(chunk_start, chunk_end, "no-weekday")
                result.chunks.append(chunk)
                if not dates.has_weekday(chunk_start, chunk_end):
                    continue
                resp = client.between(chunk_start, chunk_end, base, symbols)
                chunk.url = resp.url
                chunk.rate_dates = [
                    d
                    for d in (date.fromisoformat(k) for k in resp.body["rates"])
                    if d >= chunk_start
                ]
                if not chunk.rate_dates:  # only the business day before the range
                    chunk.status = "no-new-dates"
                    continue
                chunk.key = raw.raw_key(source, chunk_start, chunk_end, today)
                doc = raw.build_doc(source, resp.url, now, resp.body)  # fetched_at: run start
                fetched.append((chunk, chunk.key, doc))
        finally:
            result.requests = client.attempts
    log.info(
        "FX rates fetched",
        extra={"ctx": {**ctx, "files": len(fetched), "requests": result.requests}},
    )

    # 2. check every key first: a conflict anywhere stops the run before any write
    s3 = aws.client("s3", s)
    pending = []
    for chunk, key, doc in fetched:
        if raw.existing_state(s3, s.lake_bucket, key, doc) == "identical":
            chunk.status = "identical"
        else:
            pending.append((chunk, key, doc))
    # 3. write, then advance the watermark
    for chunk, key, doc in pending:
        chunk.status = raw.put_new(s3, s.lake_bucket, key, doc)

    received = [d for chunk, _, _ in fetched for d in chunk.rate_dates]
    if received and (mark is None or max(received) > mark):
        watermark.write_watermark(ssm, param, max(received))
        result.watermark_after = max(received)
    return result
