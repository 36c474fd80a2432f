"""Vocabulary, column names, id formats, dirty-row kinds and the small helpers shared by
the generator modules (formatting, the dirty-kind deck, the per-file result)."""

from __future__ import annotations

import functools
import operator
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ORDER_COLUMNS: tuple[str, ...] = (
    "order_id", "line_number", "customer_id", "product_id", "quantity",
    "unit_price", "currency", "status", "order_ts", "updated_at",
)  # fmt: skip
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id", "first_name", "last_name", "email", "phone", "city",
    "country", "loyalty_tier", "signup_at", "updated_at",
)  # fmt: skip
PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id", "sku", "name", "category", "unit_cost", "list_price",
    "currency", "is_active", "updated_at",
)  # fmt: skip

# Valid currencies (ISO-4217) with their weights and the price of 1 USD in percent.
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP")
CURRENCY_WEIGHTS: tuple[float, ...] = (0.6, 0.25, 0.15)
FX_PCT_PER_USD: tuple[int, ...] = (100, 92, 79)
BAD_CURRENCIES: tuple[str, ...] = ("XXX", "usd1")

STATUSES: tuple[str, ...] = ("placed", "shipped", "delivered", "cancelled", "returned")
PLACED, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(5)

LOYALTY_TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "platinum")
LOYALTY_WEIGHTS: tuple[float, ...] = (0.55, 0.25, 0.15, 0.05)

# (city, ISO-3166 alpha-2 country, phone country code)
CITIES: tuple[tuple[str, str, str], ...] = (
    ("New York", "US", "1"), ("Chicago", "US", "1"), ("Austin", "US", "1"),
    ("Seattle", "US", "1"), ("Toronto", "CA", "1"), ("London", "GB", "44"),
    ("Manchester", "GB", "44"), ("Paris", "FR", "33"), ("Lyon", "FR", "33"),
    ("Berlin", "DE", "49"), ("Munich", "DE", "49"), ("Madrid", "ES", "34"),
    ("Rome", "IT", "39"), ("Amsterdam", "NL", "31"), ("Dublin", "IE", "353"),
    ("Sydney", "AU", "61"),
)  # fmt: skip
FIRST_NAMES: tuple[str, ...] = (
    "Ava", "Liam", "Emma", "Noah", "Olivia", "Lucas", "Mia", "Leo", "Sofia", "Hugo",
    "Chloe", "Mateo", "Ella", "Finn", "Lena", "Oscar", "Maya", "Jonas", "Zoe", "Elias",
    "Clara", "Arthur", "Ines", "Theo", "Nora", "Marco", "Hannah", "Sam", "Julia", "Ravi",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Garcia", "Muller", "Martin", "Rossi", "Brown", "Dubois", "Silva",
    "Novak", "Kowalski", "Jensen", "Murphy", "Schmidt", "Lopez", "Bernard", "Moreau",
    "Fischer", "Wilson", "Taylor", "Costa", "Weber", "Nguyen", "Patel", "Kim",
)  # fmt: skip
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "mail.example.org", "shop.example.net")

CATEGORIES: tuple[str, ...] = ("kitchen", "home", "garden", "toys", "books", "sports", "beauty")
ADJECTIVES: tuple[str, ...] = (
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Modern", "Premium", "Rustic",
    "Smart", "Vintage",
)  # fmt: skip
NOUNS: dict[str, tuple[str, ...]] = {
    "kitchen": ("Mug", "Kettle", "Pan", "Knife Set", "Cutting Board"),
    "home": ("Lamp", "Cushion", "Blanket", "Vase", "Clock"),
    "garden": ("Planter", "Hose", "Shovel", "Bird Feeder", "Lantern"),
    "toys": ("Puzzle", "Robot", "Kite", "Board Game", "Plush Bear"),
    "books": ("Cookbook", "Novel", "Atlas", "Notebook", "Journal"),
    "sports": ("Yoga Mat", "Water Bottle", "Tennis Racket", "Football", "Jump Rope"),
    "beauty": ("Face Cream", "Shampoo", "Perfume", "Brush", "Soap"),
}
# Product names with a comma (quoted in the CSV): "<noun>, <size>"
SIZES: tuple[str, ...] = ("small", "large", "set of 2", "travel size")

# Reserved id ranges: never used by clean data, so a dirty row cannot collide with it.
DIRTY_ORDER_BASE = 900_000_000  # fresh order ids of injected rows: O900000001, ...
ORPHAN_CUSTOMER_BASE = 990_000  # unknown customers C990001..C999999 (never created)
ORPHAN_PRODUCT_BASE = 99_000  # unknown products P99001..P99999 (never created)
MAX_CUSTOMERS = ORPHAN_CUSTOMER_BASE - 1
MAX_PRODUCTS = ORPHAN_PRODUCT_BASE - 1

DAY_S = 86_400

# Dirty-row kinds per dataset -> the outcome the cleansing job must produce.
# "duplicate" = dropped by the dedupe, "orphan_*" = loaded and counted as an orphan,
# anything else = a quarantine reason code (docs/contracts.md).
DUPLICATE = "duplicate"
ORDER_DIRTY_KINDS: dict[str, str] = {
    "exact_duplicate": DUPLICATE,
    "older_version": DUPLICATE,
    "extra_field": "malformed_row",
    "missing_fields": "malformed_row",
    "quantity_not_numeric": "bad_type",
    "price_not_numeric": "bad_type",
    "order_ts_not_a_date": "bad_timestamp",
    "quantity_zero_or_negative": "non_positive_quantity",
    "price_negative": "non_positive_price",
    "empty_order_id": "missing_key",
    "empty_customer_id": "missing_key",
    "empty_product_id": "missing_key",
    "unknown_currency": "bad_currency",
    "unknown_customer": "orphan_customer",
    "unknown_product": "orphan_product",
}
CUSTOMER_DIRTY_KINDS: dict[str, str] = {
    "exact_duplicate": DUPLICATE,
    "older_version": DUPLICATE,
    "truncated_json": "malformed_row",
    "empty_customer_id": "missing_key",
}
PRODUCT_DIRTY_KINDS: dict[str, str] = {
    "exact_duplicate": DUPLICATE,
    "older_version": DUPLICATE,
    "extra_field": "malformed_row",
    "empty_product_id": "missing_key",
    "price_not_numeric": "bad_type",
}


def order_id(n: int) -> str:
    return f"O{n:09d}"


def customer_id(n: int) -> str:
    return f"C{n:06d}"


def product_id(n: int) -> str:
    return f"P{n:05d}"


def money(cents: int) -> str:
    """Integer cents -> '12.34' (exact; no floats involved)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@functools.cache
def _times_of_day(suffix: str) -> tuple[str, ...]:
    return tuple(
        f"T{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)
    )


def timestamps(secs: np.ndarray, suffix: str = "Z") -> list[str]:
    """Epoch seconds -> ISO-8601 UTC strings like ``2026-01-05T13:45:10Z`` (+ ``suffix``
    after the time of day), through lookup tables: fast for millions of values."""
    secs = np.asarray(secs, dtype=np.int64)
    if not len(secs):
        return []
    days, tod = np.divmod(secs, DAY_S)
    first = int(days.min())
    dates = [
        time.strftime("%Y-%m-%d", time.gmtime(d * DAY_S)) for d in range(first, int(days.max()) + 1)
    ]
    return list(
        map(
            operator.add,
            map(dates.__getitem__, (days - first).tolist()),
            map(_times_of_day(suffix).__getitem__, tod.tolist()),
        )
    )


@functools.cache
def money_table(limit: int) -> tuple[str, ...]:
    """money(c) for every c in range(limit) (non-negative cents), for lookups."""
    return tuple(f"{c // 100}.{c % 100:02d}" for c in range(limit))


def timestamp(sec: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec))


def stream(seed: int, dataset: int, day: int) -> np.random.Generator:
    """An independent random stream per (seed, dataset, day): adding a day or a dataset
    never shifts the numbers of another."""
    return np.random.default_rng([seed, dataset, day])


class KindDeck:
    """Hands out dirty-row kinds so that every kind appears once before any repeats
    (shuffled per round), across all files of a dataset."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        self.pending: list[str] = []

    def draw(self, n: int, rng: np.random.Generator) -> list[str]:
        out: list[str] = []
        while len(out) < n:
            if not self.pending:
                self.pending = [self.kinds[i] for i in rng.permutation(len(self.kinds))]
            out.append(self.pending.pop())
        return out


@dataclass
class FileOutput:
    """One generated file: its lines (header included for CSV) and what a correct
    cleansing job must report for it."""

    dataset: str
    lines: list[str]
    clean_rows: int
    injected: dict[str, int] = field(default_factory=dict)
    orphans: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    has_header: bool = True
    parts: list[bytes] | None = None  # the encoded file, instead of lines (large files)
    row_count: int | None = None  # data rows in ``parts``

    @property
    def rows(self) -> int:
        if self.row_count is not None:
            return self.row_count
        return len(self.lines) - (1 if self.has_header else 0)

    def expected(self, kinds: dict[str, str]) -> dict[str, Any]:
        duplicates = 0
        quarantined: dict[str, int] = {}
        loaded_dirty = 0
        for kind, n in self.injected.items():
            outcome = kinds[kind]
            if outcome == DUPLICATE:
                duplicates += n
            elif outcome.startswith("orphan_"):
                loaded_dirty += n
            else:
                quarantined[outcome] = quarantined.get(outcome, 0) + n
        out: dict[str, Any] = {
            "rows_written": self.clean_rows + loaded_dirty,
            "duplicates_dropped": duplicates,
            "quarantined": dict(sorted(quarantined.items())),
        }
        if self.orphans is not None:
            out["orphans"] = dict(self.orphans)
        return out


def interleave(clean: list[str], dirty: list[str], rng: np.random.Generator) -> list[str]:
    """Insert the dirty lines at random positions among the clean ones (order kept)."""
    if not dirty:
        return clean
    positions = np.sort(rng.integers(0, len(clean) + 1, size=len(dirty))).tolist()
    out: list[str] = []
    prev = 0
    for pos, line in zip(positions, dirty, strict=True):
        out.extend(clean[prev:pos])
        out.append(line)
        prev = pos
    out.extend(clean[prev:])
    return out


def dirty_count(fraction: float, clean_rows: int) -> int:
    """round(fraction * clean_rows), but at least one dirty row in any non-empty file when
    fraction > 0 (small daily customer/product files would otherwise never get any)."""
    if not clean_rows or fraction <= 0:
        return 0
    return max(1, int(round(fraction * clean_rows)))
