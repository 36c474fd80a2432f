"""Pure validation of Frankfurter v1 bodies (no I/O).

Single date (``/latest``, ``/<date>``): ``{"amount", "base", "date", "rates": {CUR: rate}}``.
Range (``/<start>..<end>``): ``{"amount", "base", "start_date", "end_date",
"rates": {DATE: {CUR: rate}}}``. ``amount`` is optional; base and currencies are ISO-4217
three-letter upper-case codes; rates are positive finite numbers; dates are ISO dates.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

_CODE = re.compile(r"^[A-Z]{3}$")


class ValidationError(ValueError):
    """The body breaks the contract; the message says where."""


def _code(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise ValidationError(f"{where}: {value!r} is not a 3-letter ISO-4217 code")
    return value


def _iso_date(value: Any, where: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValidationError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)") from exc


def _rates(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise ValidationError(f"{where}: expected a non-empty map of currency -> rate")
    for cur, rate in value.items():
        _code(cur, f"{where} key")
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not math.isfinite(rate)
            or rate <= 0
        ):
            raise ValidationError(f"{where}[{cur}]: {rate!r} is not a positive number")
    return value


def _common(body: Any, base: str | None) -> None:
    if not isinstance(body, dict):
        raise ValidationError(f"expected a JSON object, got {type(body).__name__}")
    got = _code(body.get("base"), "base")
    if base is not None and got != base:
        raise ValidationError(f"base: asked for {base}, got {got}")
    amount = body.get("amount", 1.0)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ValidationError(f"amount: {amount!r} is not a positive number")


def validate_single(body: Any, base: str | None = None) -> dict[str, Any]:
    """Check a ``/latest`` or ``/<date>`` body; return it unchanged."""
    _common(body, base)
    _iso_date(body.get("date"), "date")
    _rates(body.get("rates"), "rates")
    return body


def validate_range(
    body: Any, base: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Check a ``/<start>..<end>`` body; return it unchanged.

    ``start``/``end`` are the requested bounds: every listed date must be <= ``end``; the
    first may precede ``start`` (Frankfurter starts at the business day on or before it).
    """
    _common(body, base)
    first = _iso_date(body.get("start_date"), "start_date")
    last = _iso_date(body.get("end_date"), "end_date")
    if first > last:
        raise ValidationError(f"start_date {first} is after end_date {last}")
    series = body.get("rates")
    if not isinstance(series, dict) or not series:
        raise ValidationError("rates: expected a non-empty map of date -> rates")
    for key, rates in series.items():
        day = _iso_date(key, "rates key")
        if not first <= day <= last:
            raise ValidationError(f"rates[{key}] is outside {first}..{last}")
        _rates(rates, f"rates[{key}]")
    if end is not None and last > end:
        raise ValidationError(f"end_date {last} is after the requested end {end}")
    if start is not None and len(series) > 1 and sorted(series)[1] < start.isoformat():
        raise ValidationError(f"more than one date before the requested start {start}")
    return body


def rate_dates(body: dict[str, Any]) -> list[date]:
    """The ECB business dates a validated body has rates for."""
    if "rates" in body and "date" in body:
        return [date.fromisoformat(body["date"])]
    return sorted(date.fromisoformat(d) for d in body["rates"])
