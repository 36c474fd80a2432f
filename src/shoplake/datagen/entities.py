"""Customers (JSON Lines, SCD2-friendly attribute changes) and products (CSV catalogue
with price changes), generated day by day with their controlled dirty rows."""

from __future__ import annotations

import csv
import io

import numpy as np

from shoplake.datagen.vocab import (
    ADJECTIVES,
    CATEGORIES,
    CITIES,
    CUSTOMER_COLUMNS,
    CUSTOMER_DIRTY_KINDS,
    DAY_S,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    LOYALTY_TIERS,
    LOYALTY_WEIGHTS,
    MAX_CUSTOMERS,
    MAX_PRODUCTS,
    NOUNS,
    ORPHAN_CUSTOMER_BASE,
    ORPHAN_PRODUCT_BASE,
    PRODUCT_COLUMNS,
    PRODUCT_DIRTY_KINDS,
    SIZES,
    FileOutput,
    KindDeck,
    customer_id,
    dirty_count,
    interleave,
    money,
    product_id,
    stream,
    timestamp,
    timestamps,
)
from shoplake_contract.datasets import CUSTOMERS, PRODUCTS

CUSTOMER_STREAM = 1
PRODUCT_STREAM = 2
CUSTOMER_CHANGE_RATE = 0.03  # share of existing customers changing email/city/tier per day
CUSTOMER_NEW_RATE = 0.04  # new customers per day, relative to the initial base
PRODUCT_CHANGE_RATE = 0.03
PRODUCT_NEW_RATE = 0.01


class Customers:
    """Customer master data; lists are indexed by customer number (index 0 unused)."""

    def __init__(self, seed: int, n_initial: int, start: int) -> None:
        self.seed = seed
        self.n_initial = min(n_initial, MAX_CUSTOMERS)
        self.start = start
        self.first: list[int] = [0]
        self.last: list[int] = [0]
        self.city: list[int] = [0]
        self.tier: list[int] = [0]
        self.email: list[str] = [""]
        self.phone: list[str] = [""]
        self.signup: list[int] = [0]
        self.updated: list[int] = [0]
        self.deck = KindDeck(list(CUSTOMER_DIRTY_KINDS))
        self.changed_total = 0

    @property
    def count(self) -> int:
        return len(self.first) - 1

    def _email(self, n: int, variant: int, domain: int) -> str:
        first, last = FIRST_NAMES[self.first[n]], LAST_NAMES[self.last[n]]
        suffix = f"{n}" if variant == 0 else f"{n}.{variant}"
        return f"{first}.{last}{suffix}@{EMAIL_DOMAINS[domain]}".lower()

    def _add(self, signup: np.ndarray, updated: np.ndarray, rng: np.random.Generator) -> list[int]:
        n = len(signup)
        start = self.count + 1
        self.first.extend(rng.integers(len(FIRST_NAMES), size=n).tolist())
        self.last.extend(rng.integers(len(LAST_NAMES), size=n).tolist())
        self.city.extend(rng.integers(len(CITIES), size=n).tolist())
        self.tier.extend(rng.choice(len(LOYALTY_TIERS), size=n, p=LOYALTY_WEIGHTS).tolist())
        self.signup.extend(signup.tolist())
        self.updated.extend(updated.tolist())
        numbers = rng.integers(0, 10_000, size=n).tolist()
        domains = rng.integers(len(EMAIL_DOMAINS), size=n).tolist()
        ids = list(range(start, start + n))
        for i, num, domain in zip(ids, numbers, domains, strict=True):
            self.email.append(self._email(i, 0, domain))
            self.phone.append(f"+{CITIES[self.city[i]][2]}-555-{num:04d}")
        return ids

    def records(self, ids: list[int]) -> list[list[str]]:
        """Current values of the customers ``ids``, in CUSTOMER_COLUMNS order."""
        signup = timestamps(np.asarray([self.signup[c] for c in ids], dtype=np.int64))
        updated = timestamps(np.asarray([self.updated[c] for c in ids], dtype=np.int64))
        out = []
        for c, signup_at, updated_at in zip(ids, signup, updated, strict=True):
            city, country, _ = CITIES[self.city[c]]
            out.append([
                f"C{c:06d}", FIRST_NAMES[self.first[c]], LAST_NAMES[self.last[c]],
                self.email[c], self.phone[c], city, country, LOYALTY_TIERS[self.tier[c]],
                signup_at, updated_at,
            ])  # fmt: skip
        return out

    def day(self, k: int, fraction: float) -> FileOutput:
        rng = stream(self.seed, CUSTOMER_STREAM, k)
        day_start = self.start + k * DAY_S
        changed: list[int] = []
        if k == 0:
            n = self.n_initial
            signup = self.start - rng.integers(2 * DAY_S, 730 * DAY_S, size=n)
            updated = signup + rng.integers(DAY_S, self.start - signup)
            new = self._add(signup, updated, rng)
        else:
            m = int(round(CUSTOMER_CHANGE_RATE * self.count))
            changed = (rng.choice(self.count, size=m, replace=False) + 1).tolist() if m else []
            masks = rng.integers(1, 8, size=len(changed)).tolist()  # bits: email, city, tier
            moves = rng.integers(1, len(CITIES), size=len(changed)).tolist()
            ups = rng.integers(1, len(LOYALTY_TIERS), size=len(changed)).tolist()
            when = (day_start + rng.integers(0, DAY_S - 1, size=len(changed))).tolist()
            domains = rng.integers(len(EMAIL_DOMAINS), size=len(changed)).tolist()
            for c, mask, move, up, ts, domain in zip(
                changed, masks, moves, ups, when, domains, strict=True
            ):
                if mask & 1:
                    self.email[c] = self._email(c, k, domain)
                if mask & 2:
                    self.city[c] = (self.city[c] + move) % len(CITIES)
                    self.phone[c] = f"+{CITIES[self.city[c]][2]}-555-{c % 10_000:04d}"
                if mask & 4:
                    self.tier[c] = (self.tier[c] + up) % len(LOYALTY_TIERS)
                self.updated[c] = ts
            self.changed_total += len(changed)
            n_new = min(int(round(CUSTOMER_NEW_RATE * self.n_initial)), MAX_CUSTOMERS - self.count)
            signup = day_start + rng.integers(0, DAY_S - 700, size=n_new)
            new = self._add(signup, signup + rng.integers(60, 600, size=n_new), rng)

        both = np.asarray(changed + new, dtype=np.int64)
        when = np.asarray([self.updated[c] for c in both.tolist()], dtype=np.int64)
        ids = both[np.lexsort((both, when))].tolist()  # by updated_at, then id
        records = self.records(ids)
        clean = [_json_line(r) for r in records]
        kinds = self.deck.draw(dirty_count(fraction, len(clean)), rng)
        dirty = self._dirty(kinds, records, rng)
        injected: dict[str, int] = {}
        for kind in kinds:
            injected[kind] = injected.get(kind, 0) + 1
        return FileOutput(
            dataset=CUSTOMERS,
            lines=interleave(clean, dirty, rng),
            clean_rows=len(clean),
            injected=dict(sorted(injected.items())),
            has_header=False,
            extra={"new_customers": len(new), "changed_customers": len(changed)},
        )

    def _dirty(
        self, kinds: list[str], records: list[list[str]], rng: np.random.Generator
    ) -> list[str]:
        n_src = sum(kind in ("exact_duplicate", "older_version") for kind in kinds)
        sources = rng.choice(len(records), size=n_src, replace=False).tolist()
        out: list[str] = []
        for kind in kinds:
            if kind == "exact_duplicate":
                out.append(_json_line(records[sources.pop()]))
                continue
            if kind == "older_version":
                rec = list(records[sources.pop()])
                n = int(rec[0][1:])
                delta = int(rng.integers(1, self.updated[n] - self.signup[n] + 1))
                rec[9] = timestamp(self.updated[n] - delta)
                rec[7] = LOYALTY_TIERS[0]
                out.append(_json_line(rec))
                continue
            # a fresh, never-created customer as the carrier of the defect
            fake = list(records[int(rng.integers(len(records)))])
            fake[0] = customer_id(ORPHAN_CUSTOMER_BASE + int(rng.integers(1, 10_000)))
            if kind == "truncated_json":
                text = _json_line(fake)
                out.append(text[: len(text) // 2] + "\n")
            elif kind == "empty_customer_id":
                fake[0] = ""
                out.append(_json_line(fake))
            else:  # pragma: no cover - guarded by CUSTOMER_DIRTY_KINDS
                raise ValueError(kind)
        return out


# The same text as json.dumps(dict(zip(CUSTOMER_COLUMNS, values))) for values without
# quotes, backslashes or control characters (true for the whole vocabulary), 3x faster.
_CUSTOMER_TEMPLATE = "{" + ", ".join(f'"{c}": "%s"' for c in CUSTOMER_COLUMNS) + "}\n"


def _json_line(values: list[str]) -> str:
    return _CUSTOMER_TEMPLATE % tuple(values)


class Products:
    """Product catalogue; lists are indexed by product number (index 0 unused)."""

    def __init__(self, seed: int, n_initial: int, start: int) -> None:
        self.seed = seed
        self.n_initial = min(n_initial, MAX_PRODUCTS)
        self.start = start
        self.name: list[str] = [""]
        self.category: list[int] = [0]
        self.cost: list[int] = [0]
        self.price: list[int] = [0]
        self.active: list[bool] = [False]
        self.updated: list[int] = [0]
        self.deck = KindDeck(list(PRODUCT_DIRTY_KINDS))

    @property
    def count(self) -> int:
        return len(self.name) - 1

    def price_array(self) -> np.ndarray:
        """List prices in USD cents, indexed by product number."""
        return np.asarray(self.price, dtype=np.int64)

    def _add(self, n: int, updated: np.ndarray, rng: np.random.Generator) -> list[int]:
        start = self.count + 1
        cats = rng.integers(len(CATEGORIES), size=n).tolist()
        nouns = rng.integers(5, size=n).tolist()
        adjs = rng.integers(len(ADJECTIVES), size=n).tolist()
        comma = (rng.random(n) < 0.1).tolist()
        sizes = rng.integers(len(SIZES), size=n).tolist()
        dollars = rng.integers(2, 200, size=n)
        margin = rng.integers(35, 70, size=n)
        active = (rng.random(n) < 0.95).tolist()
        for i in range(n):
            noun = NOUNS[CATEGORIES[cats[i]]][nouns[i]]
            if comma[i]:
                self.name.append(f"{noun}, {SIZES[sizes[i]]}")
            else:
                self.name.append(f"{ADJECTIVES[adjs[i]]} {noun}")
        prices = dollars * 100 + 99
        self.category.extend(cats)
        self.price.extend(prices.tolist())
        self.cost.extend((prices * margin // 100).tolist())
        self.active.extend(active)
        self.updated.extend(updated.tolist())
        return list(range(start, start + n))

    def row(self, n: int) -> list[str]:
        category = CATEGORIES[self.category[n]]
        return [
            product_id(n),
            f"SKU-{category[:3].upper()}-{n:05d}",
            self.name[n],
            category,
            money(self.cost[n]),
            money(self.price[n]),
            "USD",
            "true" if self.active[n] else "false",
            timestamp(self.updated[n]),
        ]

    def day(self, k: int, fraction: float) -> FileOutput | None:
        rng = stream(self.seed, PRODUCT_STREAM, k)
        day_start = self.start + k * DAY_S
        changed: list[int] = []
        if k == 0:
            new = self._add(
                self.n_initial,
                self.start - rng.integers(DAY_S, 365 * DAY_S, size=self.n_initial),
                rng,
            )
        else:
            m = min(int(rng.poisson(PRODUCT_CHANGE_RATE * self.count)), self.count)
            changed = (rng.choice(self.count, size=m, replace=False) + 1).tolist() if m else []
            toggles = (rng.random(m) < 0.2).tolist()
            pct = rng.integers(5, 21, size=m) * rng.choice([-1, 1], size=m)
            when = (day_start + rng.integers(0, DAY_S - 1, size=m)).tolist()
            for p, toggle, change, ts in zip(changed, toggles, pct.tolist(), when, strict=True):
                if toggle:
                    self.active[p] = not self.active[p]
                else:
                    dollars = max(1, (self.price[p] // 100) * (100 + change) // 100)
                    self.price[p] = dollars * 100 + 99
                    self.cost[p] = min(self.cost[p], self.price[p] * 9 // 10)
                self.updated[p] = ts
            n_new = min(
                int(rng.poisson(PRODUCT_NEW_RATE * self.n_initial)), MAX_PRODUCTS - self.count
            )
            new = self._add(n_new, day_start + rng.integers(0, DAY_S - 1, size=n_new), rng)
        ids = sorted(changed + new, key=lambda p: (self.updated[p], p))
        if not ids:
            return None
        rows = [self.row(p) for p in ids]
        kinds = self.deck.draw(dirty_count(fraction, len(rows)), rng)
        dirty = self._dirty(kinds, ids, rows, rng)
        injected: dict[str, int] = {}
        for kind in kinds:
            injected[kind] = injected.get(kind, 0) + 1
        clean = [_csv_line(r) for r in rows]
        return FileOutput(
            dataset=PRODUCTS,
            lines=[_csv_line(list(PRODUCT_COLUMNS)), *interleave(clean, dirty, rng)],
            clean_rows=len(clean),
            injected=dict(sorted(injected.items())),
            extra={"new_products": len(new), "changed_products": len(changed)},
        )

    def _dirty(
        self, kinds: list[str], ids: list[int], rows: list[list[str]], rng: np.random.Generator
    ) -> list[str]:
        n_src = sum(kind in ("exact_duplicate", "older_version") for kind in kinds)
        sources = rng.choice(len(rows), size=n_src, replace=False).tolist()
        out: list[str] = []
        for kind in kinds:
            if kind == "exact_duplicate":
                out.append(_csv_line(rows[sources.pop()]))
                continue
            if kind == "older_version":
                i = sources.pop()
                row = list(rows[i])
                row[8] = timestamp(self.updated[ids[i]] - int(rng.integers(1, DAY_S)))
                out.append(_csv_line(row))
                continue
            row = list(rows[int(rng.integers(len(rows)))])
            row[0] = product_id(ORPHAN_PRODUCT_BASE + int(rng.integers(1, 1_000)))
            if kind == "extra_field":
                out.append(_csv_line([*row, "oops"]))
            elif kind == "empty_product_id":
                row[0] = ""
                out.append(_csv_line(row))
            elif kind == "price_not_numeric":
                row[5] = "n/a"
                out.append(_csv_line(row))
            else:  # pragma: no cover - guarded by PRODUCT_DIRTY_KINDS
                raise ValueError(kind)
        return out


def _csv_line(fields: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()
