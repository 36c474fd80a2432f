"""An independent audit of generated files: re-parses them with the csv/json modules and
recomputes what a cleansing job must report (duplicates, quarantine reasons, orphans,
amounts), without using any of the generator's code or counters. Only the contract
(docs/contracts.md) and the brief are its sources: column names, business keys, reason
codes, the valid currencies."""

from __future__ import annotations

import csv
import functools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shoplake.generate import GenerateConfig, generate

ORDER_COLUMNS = [
    "order_id", "line_number", "customer_id", "product_id", "quantity",
    "unit_price", "currency", "status", "order_ts", "updated_at",
]  # fmt: skip
CUSTOMER_COLUMNS = [
    "customer_id", "first_name", "last_name", "email", "phone", "city",
    "country", "loyalty_tier", "signup_at", "updated_at",
]  # fmt: skip
PRODUCT_COLUMNS = [
    "product_id", "sku", "name", "category", "unit_cost", "list_price",
    "currency", "is_active", "updated_at",
]  # fmt: skip
VALID_CURRENCIES = {"USD", "EUR", "GBP"}
STATUSES = {"placed", "shipped", "delivered", "cancelled", "returned"}
TIERS = {"bronze", "silver", "gold", "platinum"}
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ID_FORMATS = {
    "order_id": re.compile(r"O\d{9}"),
    "customer_id": re.compile(r"C\d{6}"),
    "product_id": re.compile(r"P\d{5}"),
}


def is_ts(text: str) -> bool:
    if not TS.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"-?\d+", text) else None


@dataclass
class FileAudit:
    rows: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    defects_per_row: list[int] = field(default_factory=list)  # defects found in each bad row
    valid: list[dict[str, str]] = field(default_factory=list)
    kept: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    duplicates: int = 0
    quarantined_rows: list[list[str]] = field(default_factory=list)

    def dedupe(self, key: Callable[[dict[str, str]], tuple[str, ...]]) -> None:
        groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
        for row in self.valid:
            groups[key(row)].append(row)
        for k, rows in groups.items():
            latest = max(r["updated_at"] for r in rows)
            top = [r for r in rows if r["updated_at"] == latest]
            # a tie on the latest updated_at is allowed only for exact duplicates
            assert all(r == top[0] for r in top), f"ambiguous dedupe for {k}: {top}"
            self.kept[k] = top[0]
            self.duplicates += len(rows) - 1

    def expected(self) -> dict[str, Any]:
        return {
            "rows_written": len(self.kept),
            "duplicates_dropped": self.duplicates,
            "quarantined": dict(sorted((r, n) for r, n in self.quarantined.items() if n)),
        }


def audit_orders(path: Path) -> FileAudit:
    audit = FileAudit()
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        assert next(reader) == ORDER_COLUMNS
        for fields in reader:
            audit.rows += 1
            if len(fields) != len(ORDER_COLUMNS):
                audit.quarantined["malformed_row"] += 1
                audit.defects_per_row.append(1)
                audit.quarantined_rows.append(fields)
                continue
            r = dict(zip(ORDER_COLUMNS, fields, strict=True))
            defects = []
            if not (r["order_id"] and r["customer_id"] and r["product_id"] and r["line_number"]):
                defects.append("missing_key")
            qty, price, line = (
                _int(r["quantity"]),
                _decimal(r["unit_price"]),
                _int(r["line_number"]),
            )
            if qty is None or price is None or line is None:
                defects.append("bad_type")
            if not (is_ts(r["order_ts"]) and is_ts(r["updated_at"])):
                defects.append("bad_timestamp")
            if qty is not None and qty <= 0:
                defects.append("non_positive_quantity")
            if price is not None and price <= 0:
                defects.append("non_positive_price")
            if r["currency"] not in VALID_CURRENCIES:
                defects.append("bad_currency")
            if defects:
                audit.quarantined[defects[0]] += 1
                audit.defects_per_row.append(len(defects))
                audit.quarantined_rows.append(fields)
                continue
            assert r["status"] in STATUSES, r
            for col, pattern in ID_FORMATS.items():
                assert pattern.fullmatch(r[col]), r
            audit.valid.append(r)
    audit.dedupe(lambda r: (r["order_id"], r["line_number"]))
    return audit


def audit_customers(path: Path) -> FileAudit:
    audit = FileAudit()
    with path.open(encoding="utf-8") as f:
        for text in f:
            audit.rows += 1
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                record = None
            if not isinstance(record, dict) or list(record) != CUSTOMER_COLUMNS:
                audit.quarantined["malformed_row"] += 1
                audit.defects_per_row.append(1)
                audit.quarantined_rows.append([text])
                continue
            defects = []
            if not record["customer_id"]:
                defects.append("missing_key")
            if not (is_ts(record["signup_at"]) and is_ts(record["updated_at"])):
                defects.append("bad_timestamp")
            if defects:
                audit.quarantined[defects[0]] += 1
                audit.defects_per_row.append(len(defects))
                audit.quarantined_rows.append([record["customer_id"]])
                continue
            assert ID_FORMATS["customer_id"].fullmatch(record["customer_id"]), record
            assert record["loyalty_tier"] in TIERS and re.fullmatch(r"[A-Z]{2}", record["country"])
            audit.valid.append(record)
    audit.dedupe(lambda r: (r["customer_id"],))
    return audit


def audit_products(path: Path) -> FileAudit:
    audit = FileAudit()
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        assert next(reader) == PRODUCT_COLUMNS
        for fields in reader:
            audit.rows += 1
            if len(fields) != len(PRODUCT_COLUMNS):
                audit.quarantined["malformed_row"] += 1
                audit.defects_per_row.append(1)
                audit.quarantined_rows.append(fields)
                continue
            r = dict(zip(PRODUCT_COLUMNS, fields, strict=True))
            defects = []
            if not r["product_id"]:
                defects.append("missing_key")
            cost, price = _decimal(r["unit_cost"]), _decimal(r["list_price"])
            if cost is None or price is None or r["is_active"] not in ("true", "false"):
                defects.append("bad_type")
            if not is_ts(r["updated_at"]):
                defects.append("bad_timestamp")
            if price is not None and price <= 0:
                defects.append("non_positive_price")
            if r["currency"] not in VALID_CURRENCIES:
                defects.append("bad_currency")
            if defects:
                audit.quarantined[defects[0]] += 1
                audit.defects_per_row.append(len(defects))
                audit.quarantined_rows.append(fields)
                continue
            assert ID_FORMATS["product_id"].fullmatch(r["product_id"]), r
            audit.valid.append(r)
    audit.dedupe(lambda r: (r["product_id"],))
    return audit


AUDITORS = {"orders": audit_orders, "customers": audit_customers, "products": audit_products}
EXTENSIONS = {"orders": ".csv", "customers": ".json", "products": ".csv"}


@dataclass
class Audit:
    """All files of one generated folder, by (dataset, day)."""

    root: Path
    manifest: dict[str, Any]
    files: dict[tuple[str, str], FileAudit]
    days: list[str]

    def of(self, dataset: str) -> list[tuple[str, FileAudit]]:
        return sorted((d, a) for (ds, d), a in self.files.items() if ds == dataset)

    def known_ids(self, dataset: str, column: str) -> set[str]:
        return {r[column] for _, a in self.of(dataset) for r in a.valid}


@functools.cache
def audit_folder(root: Path) -> Audit:
    """Audit of a generated folder (cached: the tests never modify generated files)."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    days = sorted(p.name.removeprefix("day=") for p in root.glob("day=*") if p.is_dir())
    files: dict[tuple[str, str], FileAudit] = {}
    for day in days:
        for path in sorted((root / f"day={day}").iterdir()):
            dataset = path.name.split("_", 1)[0]
            assert path.name == f"{dataset}_{day}{EXTENSIONS[dataset]}", path
            files[(dataset, day)] = AUDITORS[dataset](path)
    return Audit(root, manifest, files, days)


def order_amounts(rows: list[dict[str, str]]) -> dict[str, str]:
    total = dict.fromkeys(sorted(VALID_CURRENCIES), Decimal("0.00"))
    for r in rows:
        total[r["currency"]] += int(r["quantity"]) * Decimal(r["unit_price"])
    return {c: f"{v:.2f}" for c, v in total.items()}


def generated(tmp_path_factory: pytest.TempPathFactory, name: str, config: GenerateConfig) -> Path:
    out = tmp_path_factory.mktemp(name) / "out"
    generate(out, config)
    return out


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 orders over 4 days with the default dirty fraction."""
    return generated(tmp_path_factory, "small", GenerateConfig(orders=3000, seed=7, days=4))


@pytest.fixture(scope="session")
def dirty_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dirtier run: every dirty kind many times, in every dataset."""
    config = GenerateConfig(orders=2000, seed=11, days=3, dirty_fraction=0.2)
    return generated(tmp_path_factory, "dirty", config)


@pytest.fixture(scope="session")
def tools() -> SimpleNamespace:
    """The audit helpers of this conftest, for the test modules (importlib mode)."""
    return SimpleNamespace(
        audit_folder=audit_folder,
        order_amounts=order_amounts,
        ORDER_COLUMNS=ORDER_COLUMNS,
        CUSTOMER_COLUMNS=CUSTOMER_COLUMNS,
        PRODUCT_COLUMNS=PRODUCT_COLUMNS,
    )
