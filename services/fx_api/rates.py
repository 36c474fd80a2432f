"""Deterministic ECB-style reference rates for the Frankfurter stand-in.

Rates are quoted against EUR; every (date, currency) pair maps to the same rate in every
process (no ``hash()``: it is salted per process). Only TARGET business days have rates:
Monday to Friday except New Year's Day, Good Friday, Easter Monday, 1 May, 25 and 26 December.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta

#: First day the ECB published euro reference rates.
FIRST_DATE = date(1999, 1, 4)

# fmt: off
#: Approximate EUR -> currency levels; a small deterministic daily wobble is added.
BASE_RATES: dict[str, float] = {
    "AUD": 1.65, "BGN": 1.9558, "BRL": 5.9, "CAD": 1.47, "CHF": 0.95, "CNY": 7.8,
    "CZK": 25.1, "DKK": 7.46, "GBP": 0.86, "HKD": 8.45, "HUF": 395.0, "IDR": 17500.0,
    "ILS": 4.05, "INR": 90.5, "ISK": 150.0, "JPY": 160.0, "KRW": 1480.0, "MXN": 19.8,
    "MYR": 4.9, "NOK": 11.6, "NZD": 1.8, "PHP": 62.5, "PLN": 4.3, "RON": 4.97,
    "SEK": 11.3, "SGD": 1.45, "THB": 38.5, "TRY": 35.0, "USD": 1.08, "ZAR": 20.2,
}

CURRENCY_NAMES: dict[str, str] = {
    "AUD": "Australian Dollar", "BGN": "Bulgarian Lev", "BRL": "Brazilian Real",
    "CAD": "Canadian Dollar", "CHF": "Swiss Franc", "CNY": "Chinese Renminbi Yuan",
    "CZK": "Czech Koruna", "DKK": "Danish Krone", "EUR": "Euro", "GBP": "British Pound",
    "HKD": "Hong Kong Dollar", "HUF": "Hungarian Forint", "IDR": "Indonesian Rupiah",
    "ILS": "Israeli New Sheqel", "INR": "Indian Rupee", "ISK": "Icelandic Króna",
    "JPY": "Japanese Yen", "KRW": "South Korean Won", "MXN": "Mexican Peso",
    "MYR": "Malaysian Ringgit", "NOK": "Norwegian Krone", "NZD": "New Zealand Dollar",
    "PHP": "Philippine Peso", "PLN": "Polish Złoty", "RON": "Romanian Leu",
    "SEK": "Swedish Krona", "SGD": "Singapore Dollar", "THB": "Thai Baht",
    "TRY": "Turkish Lira", "USD": "United States Dollar", "ZAR": "South African Rand",
}
# fmt: on


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month = (h + leap - 7 * m + 114) // 31
    day = (h + leap - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def holidays(year: int) -> set[date]:
    easter = easter_sunday(year)
    return {
        date(year, 1, 1),
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        date(year, 5, 1),
        date(year, 12, 25),
        date(year, 12, 26),
    }


def is_business_day(day: date) -> bool:
    return day >= FIRST_DATE and day.weekday() < 5 and day not in holidays(day.year)


def previous_business_day(day: date) -> date | None:
    """The latest business day on or before ``day`` (None before the first publication)."""
    while day >= FIRST_DATE:
        if is_business_day(day):
            return day
        day -= timedelta(days=1)
    return None


def business_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def round_rate(value: float) -> float:
    """Frankfurter's rounding: fewer decimals for larger quotes."""
    if value > 5000:
        return float(round(value))
    for limit, digits in ((80, 2), (20, 3), (1, 4), (0.0001, 5)):
        if value > limit:
            return round(value, digits)
    return round(value, 6)


def _unit(day: date, currency: str) -> float:
    """A deterministic number in [-1, 1) from the date and currency."""
    digest = hashlib.sha256(f"{day.isoformat()}/{currency}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def eur_rate(day: date, currency: str) -> float:
    """EUR -> ``currency`` on ``day``: level * (1 + slow drift + daily wobble), unrounded."""
    seed = int.from_bytes(hashlib.sha256(currency.encode()).digest()[:2], "big")
    drift = 0.03 * math.sin(day.toordinal() / 60.0 + seed)
    wobble = 0.004 * _unit(day, currency)
    return BASE_RATES[currency] * (1.0 + drift + wobble)


def quote(day: date, base: str = "EUR", symbols: list[str] | None = None) -> dict[str, float]:
    """Rates of one business day for ``base``; empty if the base or all symbols are unknown."""
    table = {cur: eur_rate(day, cur) for cur in BASE_RATES}
    table["EUR"] = 1.0
    if base not in table:
        return {}
    divisor = table.pop(base)
    wanted = set(symbols) if symbols else None
    rates = {
        cur: round_rate(rate / divisor)
        for cur, rate in sorted(table.items())
        if wanted is None or cur in wanted
    }
    return rates
