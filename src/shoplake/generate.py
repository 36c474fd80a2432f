"""Deterministic synthetic e-commerce data (``shoplake generate``).

Writes, day by day, ``<out>/day=YYYY-MM-DD/`` with ``orders_<day>.csv`` (order-line grain),
``customers_<day>.json`` (JSON Lines) and ``products_<day>.csv`` (day 1: full catalogue;
later days: changed/new products only, absent when there are none), plus
``<out>/manifest.json`` with, per file, what a correct cleansing job must report
(rows written, duplicates dropped, quarantined rows by reason, orphans).

Same seed and parameters -> byte-identical files (numpy PCG64 streams keyed by
(seed, dataset, day); integer cents; no wall-clock values anywhere).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from shoplake.datagen.entities import Customers, Products
from shoplake.datagen.orders import Orders
from shoplake.datagen.vocab import (
    BAD_CURRENCIES,
    CURRENCIES,
    CUSTOMER_COLUMNS,
    CUSTOMER_DIRTY_KINDS,
    DIRTY_ORDER_BASE,
    LOYALTY_TIERS,
    ORDER_COLUMNS,
    ORDER_DIRTY_KINDS,
    PRODUCT_COLUMNS,
    PRODUCT_DIRTY_KINDS,
    STATUSES,
    FileOutput,
    money,
)
from shoplake_contract.datasets import CUSTOMERS, DATASETS, JOB_DATASETS, ORDERS, PRODUCTS

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
DIRTY_KINDS = {
    ORDERS: ORDER_DIRTY_KINDS,
    CUSTOMERS: CUSTOMER_DIRTY_KINDS,
    PRODUCTS: PRODUCT_DIRTY_KINDS,
}
#: the file extension each dataset is written with: the first its catalogue entry accepts
EXTENSIONS = {name: DATASETS[name].extensions[0].lstrip(".") for name in JOB_DATASETS}
WRITE_CHUNK_LINES = 65_536
WRITE_BUFFER = 1 << 20


@dataclass(frozen=True)
class GenerateConfig:
    orders: int
    seed: int = 42
    days: int = 3
    start_date: date = date(2026, 1, 1)
    dirty_fraction: float = 0.02

    def validate(self) -> None:
        if not 1 <= self.orders < DIRTY_ORDER_BASE:
            raise ValueError(f"orders must be between 1 and {DIRTY_ORDER_BASE - 1}")
        if not 1 <= self.days <= 366:
            raise ValueError("days must be between 1 and 366")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        if not 0.0 <= self.dirty_fraction <= 0.5:
            raise ValueError("dirty_fraction must be between 0 and 0.5")

    @property
    def initial_customers(self) -> int:
        return min(max(self.orders // 4, 50), 250_000)

    @property
    def initial_products(self) -> int:
        return min(max(self.orders // 20, 60), 5_000)


Progress = Callable[[str, dict[str, int]], None]


def _prepare(out: Path) -> None:
    """Create ``out``; a previous generator output there (it has a manifest) is replaced,
    any other non-empty folder is refused."""
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}; refusing to write")
        for child in out.glob("day=*"):
            shutil.rmtree(child)
        (out / MANIFEST).unlink()
    out.mkdir(parents=True, exist_ok=True)


def _write(out: Path, day: str, result: FileOutput) -> dict[str, Any]:
    rel = f"day={day}/{result.dataset}_{day}.{EXTENSIONS[result.dataset]}"
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    if result.parts is not None:
        chunks: Iterable[bytes] = result.parts
    else:
        lines = result.lines
        chunks = (
            "".join(lines[i : i + WRITE_CHUNK_LINES]).encode("utf-8")
            for i in range(0, len(lines), WRITE_CHUNK_LINES)
        )
    with path.open("wb", buffering=WRITE_BUFFER) as f:
        for data in chunks:
            digest.update(data)
            f.write(data)
            size += len(data)
    entry: dict[str, Any] = {
        "path": rel,
        "dataset": result.dataset,
        "day": day,
        "rows": result.rows,
        "bytes": size,
        "sha256": digest.hexdigest(),
        "expected": result.expected(DIRTY_KINDS[result.dataset]),
        "injected": result.injected,
    }
    if "line_amount_by_currency" in result.extra:
        entry["line_amount_by_currency"] = result.extra["line_amount_by_currency"]
    return entry


def _totals(files: list[dict[str, Any]], dataset: str) -> dict[str, Any]:
    mine = [f for f in files if f["dataset"] == dataset]
    total: dict[str, Any] = {"files": len(mine), "rows": sum(f["rows"] for f in mine)}
    written = dropped = 0
    quarantined: dict[str, int] = {}
    orphans = {"customer": 0, "product": 0}
    cents = dict.fromkeys(CURRENCIES, 0)
    for f in mine:
        exp = f["expected"]
        written += exp["rows_written"]
        dropped += exp["duplicates_dropped"]
        for reason, n in exp["quarantined"].items():
            quarantined[reason] = quarantined.get(reason, 0) + n
        for kind, n in exp.get("orphans", {}).items():
            orphans[kind] += n
        for cur, amount in f.get("line_amount_by_currency", {}).items():
            cents[cur] += int(amount.replace(".", ""))
    total.update(
        rows_written=written,
        duplicates_dropped=dropped,
        quarantined=dict(sorted(quarantined.items())),
    )
    if dataset == ORDERS:
        total["orphans"] = orphans
        total["line_amount_by_currency"] = {c: money(v) for c, v in cents.items()}
    return total


def generate(out: Path, config: GenerateConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Write the data set and its manifest under ``out``; returns the manifest."""
    config.validate()
    out = Path(out)
    _prepare(out)
    start = int(datetime(config.start_date.year, config.start_date.month, config.start_date.day,
                         tzinfo=UTC).timestamp())  # fmt: skip
    customers = Customers(config.seed, config.initial_customers, start)
    products = Products(config.seed, config.initial_products, start)
    orders = Orders(config.seed, config.orders, config.days, start)
    files: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    for k in range(config.days):
        day = (config.start_date + timedelta(days=k)).isoformat()
        if k == 0:  # the initial customers and catalogue exist before the first orders
            cust_file, prod_file = (
                customers.day(0, config.dirty_fraction),
                products.day(0, config.dirty_fraction),
            )
            order_file = orders.day(
                0, config.dirty_fraction, customers.count, products.price_array()
            )
        else:  # orders of day k only use customers/products that existed before day k
            order_file = orders.day(
                k, config.dirty_fraction, customers.count, products.price_array()
            )
            cust_file, prod_file = (
                customers.day(k, config.dirty_fraction),
                products.day(k, config.dirty_fraction),
            )
        produced = [f for f in (order_file, cust_file, prod_file) if f is not None]
        for result in produced:
            files.append(_write(out, day, result))
        summary = {f"{r.dataset}_rows": r.rows for r in produced}
        days.append({
            "day": day,
            ORDERS: order_file.extra,
            CUSTOMERS: cust_file.extra,
            PRODUCTS: prod_file.extra if prod_file else {"new_products": 0, "changed_products": 0},
        })  # fmt: skip
        log.debug("day written", extra={"ctx": {"day": day, **summary}})
        if progress:
            progress(day, summary)

    final_orders = orders.final()
    by_index = final_orders.pop("orders_by_order_date_index")
    final_orders["orders_by_order_date"] = {
        (config.start_date + timedelta(days=k)).isoformat(): n for k, n in enumerate(by_index)
    }
    manifest: dict[str, Any] = {
        "generator": "shoplake generate",
        "format_version": FORMAT_VERSION,
        "seed": config.seed,
        "parameters": {**asdict(config), "start_date": config.start_date.isoformat()},
        "vocabulary": {
            "currencies": list(CURRENCIES),
            "invalid_currencies_injected": list(BAD_CURRENCIES),
            "statuses": list(STATUSES),
            "loyalty_tiers": list(LOYALTY_TIERS),
        },
        "columns": {
            ORDERS: list(ORDER_COLUMNS),
            CUSTOMERS: list(CUSTOMER_COLUMNS),
            PRODUCTS: list(PRODUCT_COLUMNS),
        },
        "dirty_kinds": DIRTY_KINDS,
        "files": files,
        "totals": {ds: _totals(files, ds) for ds in JOB_DATASETS},
        "days": days,
        "final": {
            ORDERS: final_orders,
            CUSTOMERS: {"customers": customers.count, "change_rows": customers.changed_total},
            PRODUCTS: {"products": products.count},
        },
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
