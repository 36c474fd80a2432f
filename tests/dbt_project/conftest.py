"""Fixtures for the dbt project tests: a DuckDB warehouse file with the raw tables of the
contract (docs/contracts.md, "Warehouse") created with plain DuckDB SQL and filled with two
days of hand-made loads.

Day 1 / day 2 cover: a non-USD order on a weekend (the rate comes from Friday), orders
without any covering rate (a currency the ECB feed lacks, a date beyond the staleness
limit), a late day-1 order loaded with day 2, status updates of day-1 lines in day 2, a
customer's email change in day 2, duplicates within and across loads, an unknown customer
and an unknown product.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

# Upper-case schema and table names, as the loader stores them (Snowflake DDL through
# fakesnow: warehouse/create_tables.sql), including the dbt schemas it pre-creates.
RAW_DDL = """
create schema if not exists "RAW";
create schema if not exists "STAGING";
create schema if not exists "ANALYTICS";
create schema if not exists "SNAPSHOTS";
create table "RAW"."ORDERS" (
    order_id varchar, line_number decimal(10,0), customer_id varchar, product_id varchar,
    quantity decimal(10,0), unit_price decimal(18,2), currency varchar(3), status varchar,
    order_ts timestamp, updated_at timestamp, line_amount decimal(18,2),
    source_object varchar, _source_file varchar, _loaded_at timestamp);
create table "RAW"."CUSTOMERS" (
    customer_id varchar, first_name varchar, last_name varchar, email varchar, phone varchar,
    city varchar, country varchar, loyalty_tier varchar, signup_at timestamp,
    updated_at timestamp, source_object varchar, _source_file varchar, _loaded_at timestamp);
create table "RAW"."PRODUCTS" (
    product_id varchar, sku varchar, name varchar, category varchar,
    unit_cost decimal(18,2), list_price decimal(18,2), currency varchar(3),
    is_active boolean, updated_at timestamp, source_object varchar, _source_file varchar,
    _loaded_at timestamp);
create table "RAW"."FX_RATES" (
    rate_date date, base varchar(3), currency varchar(3), rate decimal(18,8),
    source varchar, fetched_at timestamp, _source_file varchar, _loaded_at timestamp);
create table "RAW"."PIPELINE_RUNS" (
    run_id varchar, stage varchar, dataset varchar, rows_in bigint, rows_out bigint,
    rows_quarantined bigint, files_loaded bigint, files_skipped bigint,
    started_at timestamp, ended_at timestamp, status varchar, detail varchar);
"""

D = Decimal
T = datetime.fromisoformat
LOAD_1 = T("2026-01-11 06:00:00")
LOAD_2 = T("2026-01-21 06:00:00")

# ECB business days: Thu 8th, Fri 9th, Mon 12th (units per 1 EUR). No CHF at all.
FX_RATES = [
    (date(2026, 1, 8), "EUR", "USD", D("1.16000000")),
    (date(2026, 1, 8), "EUR", "GBP", D("0.86000000")),
    (date(2026, 1, 9), "EUR", "USD", D("1.16500000")),
    (date(2026, 1, 9), "EUR", "GBP", D("0.86500000")),
    (date(2026, 1, 12), "EUR", "USD", D("1.17000000")),
    (date(2026, 1, 12), "EUR", "GBP", D("0.87000000")),
]
FX_MAX_STALENESS_DAYS = 4  # dbt_project.yml var fx_max_staleness_days


def _order(order_id, line, customer, product, qty, price, cur, status, ordered, updated, load):
    return {
        "order_id": order_id,
        "line_number": line,
        "customer_id": customer,
        "product_id": product,
        "quantity": qty,
        "unit_price": D(price),
        "currency": cur,
        "status": status,
        "order_ts": T(ordered),
        "updated_at": T(updated),
        "line_amount": D(price) * qty,
        "source_object": f"s3://lake/raw/orders/{load:%F}",
        "_source_file": f"curated/orders/{load:%F}.parquet",
        "_loaded_at": load,
    }


# fmt: off
DAY1_ORDERS = [
    _order("O1", 1, "C1", "P1", 2, "10.00", "USD", "placed", "2026-01-09 09:00", "2026-01-09 09:00", LOAD_1),
    _order("O1", 2, "C1", "P2", 1, "5.50", "USD", "placed", "2026-01-09 09:00", "2026-01-09 09:00", LOAD_1),
    # EUR on Saturday: Friday's rate
    _order("O2", 1, "C2", "P1", 1, "19.99", "EUR", "paid", "2026-01-10 15:30", "2026-01-10 15:30", LOAD_1),
    # duplicate within the load
    _order("O2", 1, "C2", "P1", 1, "19.99", "EUR", "paid", "2026-01-10 15:30", "2026-01-10 15:30", LOAD_1),
    # GBP on Sunday: Friday's rate
    _order("O3", 1, "C1", "P2", 3, "7.25", "GBP", "delivered", "2026-01-11 01:15", "2026-01-11 01:15", LOAD_1),
    # CHF: no rate at all
    _order("O4", 1, "C3", "P1", 1, "42.00", "CHF", "paid", "2026-01-09 12:00", "2026-01-09 12:00", LOAD_1),
    # unknown customer and unknown product (loaded, flagged)
    _order("O5", 1, "C99", "P99", 4, "3.33", "EUR", "paid", "2026-01-08 08:00", "2026-01-08 08:00", LOAD_1),
    _order("O9", 1, "C3", "P2", 1, "8.00", "USD", "cancelled", "2026-01-09 10:00", "2026-01-09 11:00", LOAD_1),
]
DAY2_ORDERS = [
    # status update of a day-1 line (and a duplicate of the update)
    _order("O1", 1, "C1", "P1", 2, "10.00", "USD", "shipped", "2026-01-09 09:00", "2026-01-12 10:00", LOAD_2),
    _order("O1", 1, "C1", "P1", 2, "10.00", "USD", "shipped", "2026-01-09 09:00", "2026-01-12 10:00", LOAD_2),
    # a return of a day-1 line
    _order("O3", 1, "C1", "P2", 3, "7.25", "GBP", "returned", "2026-01-11 01:15", "2026-01-15 09:00", LOAD_2),
    # duplicate across loads (same version again)
    _order("O2", 1, "C2", "P1", 1, "19.99", "EUR", "paid", "2026-01-10 15:30", "2026-01-10 15:30", LOAD_2),
    # late order for day 1, loaded with day 2
    _order("O6", 1, "C2", "P2", 2, "12.40", "EUR", "paid", "2026-01-09 22:00", "2026-01-09 22:00", LOAD_2),
    _order("O7", 1, "C1", "P1", 1, "30.00", "GBP", "placed", "2026-01-12 11:00", "2026-01-12 11:00", LOAD_2),
    _order("O7", 2, "C3", "P2", 5, "1.99", "EUR", "placed", "2026-01-12 11:00", "2026-01-12 11:00", LOAD_2),
    # beyond the last rate + staleness limit: no covering rate
    _order("O8", 1, "C2", "P1", 1, "50.00", "EUR", "placed", "2026-01-20 08:00", "2026-01-20 08:00", LOAD_2),
]
# fmt: on


def _customer(cid, email, phone, tier, updated, load):
    return {
        "customer_id": cid,
        "first_name": "First" + cid,
        "last_name": "Last" + cid,
        "email": email,
        "phone": phone,
        "city": "Berlin",
        "country": "de",
        "loyalty_tier": tier,
        "signup_at": T("2025-12-01 00:00"),
        "updated_at": T(updated),
        "source_object": "s3://lake/raw/customers",
        "_source_file": "c.parquet",
        "_loaded_at": load,
    }


DAY1_CUSTOMERS = [
    _customer("C1", "Ann@Example.com", "+49 170 1234567", "gold", "2026-01-01 00:00", LOAD_1),
    _customer("C2", "bob@old-mail.org", "+49 (171) 55-66-77", "silver", "2026-01-01 00:00", LOAD_1),
    _customer("C3", "cy@example.com", None, "bronze", "2026-01-01 00:00", LOAD_1),
]
DAY2_CUSTOMERS = [
    # email change
    _customer("C2", "bob@new-mail.net", "+49 (171) 55-66-77", "silver", "2026-01-15 12:00", LOAD_2),
    # unchanged re-delivery
    _customer("C1", "Ann@Example.com", "+49 170 1234567", "gold", "2026-01-01 00:00", LOAD_2),
]


def _product(pid, price, updated, load):
    return {
        "product_id": pid,
        "sku": "SKU-" + pid,
        "name": "Product " + pid,
        "category": "toys",
        "unit_cost": D("1.00"),
        "list_price": D(price),
        "currency": "EUR",
        "is_active": True,
        "updated_at": T(updated),
        "source_object": "s3://lake/raw/products",
        "_source_file": "p.parquet",
        "_loaded_at": load,
    }


DAY1_PRODUCTS = [
    _product("P1", "10.00", "2026-01-01 00:00", LOAD_1),
    _product("P2", "5.00", "2026-01-01 00:00", LOAD_1),
]
DAY2_PRODUCTS = [_product("P2", "6.00", "2026-01-14 00:00", LOAD_2)]


def _fx(load):
    return [
        {
            "rate_date": d,
            "base": b,
            "currency": c,
            "rate": r,
            "source": "ecb",
            "fetched_at": load,
            "_source_file": "fx.json",
            "_loaded_at": load,
        }
        for d, b, c, r in FX_RATES
    ]


def _run(run_id, stage, dataset, rows_in, quarantined, started, minutes, status):
    start = T(started)
    return {
        "run_id": run_id,
        "stage": stage,
        "dataset": dataset,
        "rows_in": rows_in,
        "rows_out": rows_in - quarantined,
        "rows_quarantined": quarantined,
        "files_loaded": 1,
        "files_skipped": 0,
        "started_at": start,
        "ended_at": start.replace(minute=start.minute + minutes),
        "status": status,
        "detail": None,
    }


DAY1 = {
    "orders": DAY1_ORDERS,
    "customers": DAY1_CUSTOMERS,
    "products": DAY1_PRODUCTS,
    # fetched twice (a re-fetch must not duplicate rates)
    "fx_rates": _fx(LOAD_1) + _fx(LOAD_1),
    "pipeline_runs": [
        _run("r1", "cleanse", "orders", 10, 2, "2026-01-11 05:00", 2, "SUCCEEDED"),
        _run("r2", "load", None, 8, 0, "2026-01-11 05:30", 1, "SUCCEEDED"),
    ],
}
DAY2 = {
    "orders": DAY2_ORDERS,
    "customers": DAY2_CUSTOMERS,
    "products": DAY2_PRODUCTS,
    "fx_rates": [],
    "pipeline_runs": [
        _run("r3", "cleanse", "orders", 9, 0, "2026-01-21 05:00", 3, "FAILED"),
        _run("r4", "cleanse", "orders", 9, 1, "2026-01-21 05:10", 2, "SUCCEEDED"),
    ],
}


def append_rows(path: Path, day: dict[str, list[dict]]) -> None:
    """Append one load's rows to the raw tables (the loader is append-only too)."""
    con = duckdb.connect(str(path))
    try:
        for table, rows in day.items():
            for row in rows:
                cols = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                con.execute(
                    f"insert into raw.{table} ({cols}) values ({marks})", list(row.values())
                )
    finally:
        con.close()


def create_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(RAW_DDL)
    finally:
        con.close()
    return path


class RawData:
    """The hand-made loads and helpers, for tests (conftest modules cannot be imported)."""

    DAY1 = DAY1
    DAY2 = DAY2
    FX_RATES = FX_RATES
    FX_MAX_STALENESS_DAYS = FX_MAX_STALENESS_DAYS
    create_warehouse = staticmethod(create_warehouse)
    append_rows = staticmethod(append_rows)


@pytest.fixture(scope="session")
def raw_data() -> type[RawData]:
    return RawData
