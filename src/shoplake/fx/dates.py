"""Pure date-range planning for FX ingestion (no I/O)."""

from __future__ import annotations

from datetime import date, timedelta

#: Days per API request; Frankfurter answers a year fine, smaller chunks keep files small.
CHUNK_DAYS = 90


def default_start(today: date) -> date:
    """Where a source with no watermark starts: 1 January of the previous year."""
    return date(today.year - 1, 1, 1)


def plan_range(
    *,
    today: date,
    watermark: date | None,
    start: date | None = None,
    end: date | None = None,
    first_start: date | None = None,
    ignore_watermark: bool = False,
) -> tuple[date, date] | None:
    """The calendar range one run asks for, or None when there is nothing to fetch.

    - ``end`` defaults to ``today`` and never goes past it (no rates for the future);
    - ``start`` defaults to the day after the watermark, else ``first_start`` (else
      :func:`default_start`); an explicit ``start`` on or before the watermark is moved to
      the day after it unless ``ignore_watermark`` (a deliberate re-fetch / backfill).
    """
    stop = min(end or today, today)
    if start is None:
        begin = (
            watermark + timedelta(days=1) if watermark else (first_start or default_start(today))
        )
    elif watermark and not ignore_watermark:
        begin = max(start, watermark + timedelta(days=1))
    else:
        begin = start
    if begin > stop:
        return None
    return begin, stop


def chunks(start: date, end: date, days: int = CHUNK_DAYS) -> list[tuple[date, date]]:
    """Consecutive, non-overlapping ``(start, end)`` pieces of at most ``days`` days."""
    if days < 1:
        raise ValueError("chunk size must be at least one day")
    if start > end:
        return []
    pieces = []
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        pieces.append((start, stop))
        start = stop + timedelta(days=1)
    return pieces


def has_weekday(start: date, end: date) -> bool:
    """Whether ``start..end`` contains a Monday-Friday (the ECB never publishes on weekends)."""
    return (end - start).days >= 6 or any(
        (start + timedelta(days=i)).weekday() < 5 for i in range((end - start).days + 1)
    )
