"""Order lines, day by day: new orders, late arrivals, status updates of earlier lines
and the controlled dirty rows. Clean rows are built column-wise with numpy; only the
few dirty rows are built one by one."""

from __future__ import annotations

from typing import Any

import numpy as np

from shoplake.datagen import textblock as tb
from shoplake.datagen.textblock import TextBlock, money_bytes
from shoplake.datagen.vocab import (
    BAD_CURRENCIES,
    CANCELLED,
    CURRENCIES,
    CURRENCY_WEIGHTS,
    DAY_S,
    DELIVERED,
    DIRTY_ORDER_BASE,
    FX_PCT_PER_USD,
    ORDER_COLUMNS,
    ORDER_DIRTY_KINDS,
    ORPHAN_CUSTOMER_BASE,
    ORPHAN_PRODUCT_BASE,
    PLACED,
    RETURNED,
    SHIPPED,
    STATUSES,
    FileOutput,
    KindDeck,
    customer_id,
    dirty_count,
    money,
    order_id,
    product_id,
    stream,
    timestamp,
    timestamps,
)
from shoplake_contract.datasets import ORDERS

CURRENCY_BYTES = tb.table(CURRENCIES)
STATUS_BYTES = tb.table(STATUSES)

ORDER_STREAM = 3
LINES_PER_ORDER_P = (0.4, 0.3, 0.2, 0.1)  # 1..4 lines
QUANTITY_P = (0.5, 0.25, 0.12, 0.08, 0.05)  # 1..5
LATE_RATE = 0.03  # orders whose lines arrive in a later day's file (1 day; a third of them 2)
UPDATE_RATE = 0.15  # status updates of earlier lines, relative to the day's new lines
CANCELLED_AT_ONCE = 0.05
LAST_ORDER_SECOND = DAY_S - 7200  # order_ts + updated_at delay stays within the day

COLUMNS = ("order", "line", "cust", "prod", "qty", "price", "cur", "ts", "status", "upd")
DTYPES = {
    "order": np.int64, "line": np.int8, "cust": np.int32, "prod": np.int32, "qty": np.int8,
    "price": np.int32, "cur": np.int8, "ts": np.int64, "status": np.int8, "upd": np.int64,
}  # fmt: skip

Lines = dict[str, np.ndarray]


def _take(lines: Lines, index: np.ndarray) -> Lines:
    return {c: lines[c][index] for c in COLUMNS}


def _concat(parts: list[Lines]) -> Lines:
    if not parts:
        return {c: np.empty(0, dtype=DTYPES[c]) for c in COLUMNS}
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def _format(lines: Lines) -> TextBlock:
    """Clean order lines as CSV text (no field ever needs quoting), at C speed."""
    n = len(lines["order"])
    if not n:
        return TextBlock(b"", np.zeros(1, dtype=np.int64))
    money_strs = money_bytes(int(lines["price"].max()) + 1)
    return tb.join([
        tb.const("O", n), tb.digits(lines["order"], 9),
        tb.const(",", n), tb.digits(lines["line"], 1),  # 1..4
        tb.const(",C", n), tb.digits(lines["cust"], 6),
        tb.const(",P", n), tb.digits(lines["prod"], 5),
        tb.const(",", n), tb.digits(lines["qty"], 1),  # 1..5
        tb.const(",", n), tb.lookup(money_strs, lines["price"]),
        tb.const(",", n), tb.lookup(CURRENCY_BYTES, lines["cur"]),
        tb.const(",", n), tb.lookup(STATUS_BYTES, lines["status"]),
        tb.const(",", n), *tb.timestamps(lines["ts"]),
        tb.const(",", n), *tb.timestamps(lines["upd"]),
        tb.const("\n", n),
    ])  # fmt: skip


def _interleave(clean: TextBlock, dirty: list[str], rng: np.random.Generator) -> list[bytes]:
    """The clean rows with the dirty lines inserted at random positions (order kept)."""
    positions = np.sort(rng.integers(0, len(clean) + 1, size=len(dirty))).tolist()
    parts: list[bytes] = []
    prev = 0
    for pos, line in zip(positions, dirty, strict=True):
        parts.append(clean.span(prev, pos))
        parts.append(line.encode("utf-8"))
        prev = pos
    parts.append(clean.span(prev, len(clean)))
    return parts


def amounts(lines: Lines) -> list[int]:
    """Sum of quantity * unit_price in cents, per currency index."""
    value = lines["qty"].astype(np.int64) * lines["price"].astype(np.int64)
    return [int(value[lines["cur"] == i].sum()) for i in range(len(CURRENCIES))]


class Orders:
    def __init__(self, seed: int, total_orders: int, days: int, start: int) -> None:
        self.seed = seed
        self.days = days
        self.start = start
        base, extra = divmod(total_orders, days)
        self.per_day = [base + (1 if k < extra else 0) for k in range(days)]
        self.next_order = 1
        self.next_dirty = DIRTY_ORDER_BASE + 1
        self.store: Lines = _concat([])  # latest version of every clean line written so far
        self.pending: dict[int, list[Lines]] = {}  # late lines by the day of the file they land in
        self.deck = KindDeck(list(ORDER_DIRTY_KINDS))
        # loaded dirty rows (unknown customer/product): they are real order lines downstream
        self.orphan_lines: list[tuple[int, int, int]] = []  # (currency index, cents, order_day)

    def day(self, k: int, fraction: float, n_customers: int, prices: np.ndarray) -> FileOutput:
        """Order file of day ``k``; customers 1..n_customers and products with ``prices``
        (USD cents by product number) exist before the day starts."""
        rng = stream(self.seed, ORDER_STREAM, k)
        day_start = self.start + k * DAY_S
        n_products = len(prices) - 1

        # new orders of the day
        n = self.per_day[k]
        n_lines = rng.choice(np.arange(1, 5), size=n, p=LINES_PER_ORDER_P)
        total = int(n_lines.sum())
        first_line = np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
        order_ts = day_start + rng.integers(0, LAST_ORDER_SECOND, size=n)
        status = np.where(rng.random(n) < CANCELLED_AT_ONCE, CANCELLED, PLACED)
        currency = rng.choice(len(CURRENCIES), size=n, p=CURRENCY_WEIGHTS)
        late = rng.random(n)
        offset = (late < LATE_RATE).astype(np.int64) + (late < LATE_RATE / 3)
        new: Lines = {
            "order": np.repeat(np.arange(self.next_order, self.next_order + n), n_lines),
            "line": np.arange(total) - first_line + 1,
            "cust": np.repeat(rng.integers(1, n_customers + 1, size=n), n_lines),
            "prod": rng.integers(1, n_products + 1, size=total),
            "qty": rng.choice(np.arange(1, 6), size=total, p=QUANTITY_P),
            "cur": np.repeat(currency, n_lines),
            "ts": np.repeat(order_ts, n_lines),
            "status": np.repeat(status, n_lines),
            "upd": np.repeat(order_ts + rng.integers(60, 3600, size=n), n_lines),
        }
        fx = np.asarray(FX_PCT_PER_USD, dtype=np.int64)[new["cur"]]
        new["price"] = (prices[new["prod"]] * fx + 50) // 100
        new = {c: new[c].astype(DTYPES[c]) for c in COLUMNS}
        self.next_order += n

        lands = np.minimum(k + np.repeat(offset, n_lines), self.days - 1)
        for d in np.unique(lands[lands > k]).tolist():
            self.pending.setdefault(d, []).append(_take(new, np.flatnonzero(lands == d)))
        on_time = _take(new, np.flatnonzero(lands == k))
        late_lines = _concat(self.pending.pop(k, []))
        arrived = _concat([on_time, late_lines])

        # status updates of lines written in earlier files (at most once per line and file)
        updates = _concat([])
        written = len(self.store["order"])
        if written:
            m = min(written, int(round(UPDATE_RATE * total)))
            pick = np.sort(rng.choice(written, size=m, replace=False))
            old = self.store["status"][pick]
            r = rng.random(m)
            nxt = old.copy()
            nxt[old == PLACED] = np.where(r[old == PLACED] < 0.9, SHIPPED, CANCELLED)
            nxt[old == SHIPPED] = np.where(r[old == SHIPPED] < 0.85, DELIVERED, RETURNED)
            nxt[(old == DELIVERED) & (r < 0.25)] = RETURNED
            when = day_start + rng.integers(0, DAY_S - 1, size=m)
            changed = nxt != old
            pick, nxt, when = pick[changed], nxt[changed], when[changed]
            self.store["status"][pick] = nxt
            self.store["upd"][pick] = when
            updates = _take(self.store, pick)
        self.store = _concat([self.store, arrived])

        clean = _concat([arrived, updates])
        order = np.lexsort((clean["line"], clean["order"], clean["upd"]))
        clean = _take(clean, order)
        clean_text = _format(clean)
        n_clean = len(clean_text)
        assert n_clean == len(clean["order"])

        kinds = self.deck.draw(dirty_count(fraction, n_clean), rng)
        cents = amounts(clean)
        orphans = {"customer": 0, "product": 0}
        dirty: list[str] = []
        copies = [kind for kind in kinds if kind in ("exact_duplicate", "older_version")]
        sources = rng.choice(n_clean, size=len(copies), replace=False).tolist()
        for kind, i in zip(copies, sources, strict=True):
            if kind == "exact_duplicate":
                dirty.append(clean_text.row(i))
            else:
                fields = clean_text.row(i).rstrip("\n").split(",")
                upd, ts = int(clean["upd"][i]), int(clean["ts"][i])
                fields[7] = STATUSES[PLACED]
                fields[9] = timestamp(upd - int(rng.integers(1, upd - ts + 1)))
                dirty.append(",".join(fields) + "\n")
        defects = [kind for kind in kinds if kind not in ("exact_duplicate", "older_version")]
        fresh = self._fresh(rng, len(defects), day_start, n_customers, prices)
        for kind, (fields, cur, value, pick) in zip(defects, fresh, strict=True):
            if kind == "extra_field":
                fields.append("oops")
            elif kind == "missing_fields":
                fields = fields[:8]
            elif kind == "quantity_not_numeric":
                fields[4] = ("two", "abc")[pick % 2]
            elif kind == "price_not_numeric":
                fields[5] = "n/a"
            elif kind == "order_ts_not_a_date":
                fields[8] = "not-a-date"
            elif kind == "quantity_zero_or_negative":
                fields[4] = str(-(pick % 4))  # 0, -1, -2, -3
            elif kind == "price_negative":
                fields[5] = "-" + fields[5]
            elif kind == "empty_order_id":
                fields[0] = ""
            elif kind == "empty_customer_id":
                fields[2] = ""
            elif kind == "empty_product_id":
                fields[3] = ""
            elif kind == "unknown_currency":
                fields[6] = BAD_CURRENCIES[pick % len(BAD_CURRENCIES)]
            elif kind in ("unknown_customer", "unknown_product"):
                if kind == "unknown_customer":
                    fields[2] = customer_id(ORPHAN_CUSTOMER_BASE + 1 + pick % 9_999)
                    orphans["customer"] += 1
                else:
                    fields[3] = product_id(ORPHAN_PRODUCT_BASE + 1 + pick % 999)
                    orphans["product"] += 1
                cents[cur] += value
                self.orphan_lines.append((cur, value, k))
            else:  # pragma: no cover - guarded by ORDER_DIRTY_KINDS
                raise ValueError(kind)
            dirty.append(",".join(fields) + "\n")

        injected: dict[str, int] = {}
        for kind in kinds:
            injected[kind] = injected.get(kind, 0) + 1
        return FileOutput(
            dataset=ORDERS,
            lines=[],
            parts=[(",".join(ORDER_COLUMNS) + "\n").encode(), *_interleave(clean_text, dirty, rng)],
            row_count=n_clean + len(dirty),
            clean_rows=n_clean,
            injected=dict(sorted(injected.items())),
            orphans=orphans,
            extra={
                "new_orders": n,
                "new_lines": total,
                "on_time_lines": len(on_time["order"]),
                "late_lines": len(late_lines["order"]),
                "update_lines": len(updates["order"]),
                "line_amount_by_currency": {
                    c: money(v) for c, v in zip(CURRENCIES, cents, strict=True)
                },
            },
        )

    def _fresh(
        self, rng: np.random.Generator, n: int, day_start: int, n_customers: int, prices: np.ndarray
    ) -> list[tuple[list[str], int, int, int]]:
        """``n`` valid order lines of new single-line orders with reserved ids: each the
        carrier of exactly one injected defect. Per line: (fields, currency index, amount
        in cents, a random number for the defect's variant)."""
        prod = rng.integers(1, len(prices), size=n).tolist()
        cur = rng.choice(len(CURRENCIES), size=n, p=CURRENCY_WEIGHTS).tolist()
        qty = rng.integers(1, 4, size=n).tolist()
        cust = rng.integers(1, n_customers + 1, size=n).tolist()
        ts = day_start + rng.integers(0, LAST_ORDER_SECOND, size=n)
        upd = timestamps(ts + rng.integers(60, 3600, size=n))
        pick = rng.integers(0, 1 << 30, size=n).tolist()
        out = []
        for j, ts_text in enumerate(timestamps(ts)):
            price = (int(prices[prod[j]]) * FX_PCT_PER_USD[cur[j]] + 50) // 100
            fields = [
                order_id(self.next_dirty),
                "1",
                customer_id(cust[j]),
                product_id(prod[j]),
                str(qty[j]),
                money(price),
                CURRENCIES[cur[j]],
                STATUSES[PLACED],
                ts_text,
                upd[j],
            ]
            self.next_dirty += 1
            out.append((fields, cur[j], qty[j] * price, pick[j]))
        return out

    def final(self) -> dict[str, Any]:
        """The latest state of every loaded order line after all files (cross-file dedupe)."""
        cents = amounts(self.store)
        statuses = np.bincount(self.store["status"], minlength=len(STATUSES)).tolist()
        for cur, value, _ in self.orphan_lines:
            cents[cur] += value
        statuses[PLACED] += len(self.orphan_lines)
        orders_by_day = [*self.per_day]
        for _, _, k in self.orphan_lines:
            orders_by_day[k] += 1
        return {
            "order_lines": len(self.store["order"]) + len(self.orphan_lines),
            "orders": sum(self.per_day) + len(self.orphan_lines),
            "orders_by_order_date_index": orders_by_day,
            "status_counts": dict(zip(STATUSES, statuses, strict=True)),
            "line_amount_by_currency": {
                c: money(v) for c, v in zip(CURRENCIES, cents, strict=True)
            },
        }
