"""``shoplake load`` end to end: real MiniStack S3, real fakesnow on a real DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shoplake.settings import Settings
from shoplake.warehouse import LoadError, LoadResult, load, query
from shoplake.warehouse.schema_check import SchemaDriftError

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")


def _one(settings: Settings, sql: str) -> tuple[Any, ...]:
    rows = query(sql, settings).rows
    assert len(rows) == 1
    return rows[0]


@dataclass
class Loaded:
    lake: Any
    settings: Settings
    first: LoadResult
    second: LoadResult
    committed: dict[str, list[str]]
    orphan: str
    failed_run: list[str]


@pytest.fixture(scope="module")
def loaded(module_lake: Any) -> Iterator[Loaded]:
    """Two order sources (3 files), customers, products; plus files no manifest commits."""
    lake = module_lake
    committed = {
        "orders": lake.source("orders", "raw/orders/a.csv", [40, 25], quarantined=3)
        + lake.source("orders", "raw/orders/b.csv", [30], start=1000, day="2026-01-06"),
        "customers": lake.source("customers", "raw/customers/c.json", [7]),
        "products": lake.source("products", "raw/products/p.csv", [5]),
    }
    orphan = lake.parquet("orders", "curated/orders/order_date=2026-01-07/ffffffffffffffff-0.parquet", n=11)
    failed_run = lake.source("orders", "raw/orders/failed.csv", [9], status="FAILED", day="2026-01-08")
    first = load(lake.settings)
    second = load(lake.settings)
    yield Loaded(lake, lake.settings, first, second, committed, orphan, failed_run)


def test_first_load_loads_every_committed_file(loaded: Loaded) -> None:
    orders = loaded.first.table("orders")
    assert loaded.first.ok
    assert (orders.files_loaded, orders.files_skipped, orders.rows_loaded) == (3, 0, 95)
    assert (orders.rows_in, orders.rows_quarantined, orders.status) == (95, 3, "SUCCEEDED")
    assert loaded.first.table("customers").rows_loaded == 7
    assert loaded.first.table("products").rows_loaded == 5


def test_second_load_skips_every_file(loaded: Loaded) -> None:
    for dataset, keys in loaded.committed.items():
        table = loaded.second.table(dataset)
        assert (table.files_loaded, table.files_skipped, table.rows_loaded) == (0, len(keys), 0)
    assert _one(loaded.settings, "SELECT count(*) FROM raw.orders") == (95,)


def test_files_without_a_succeeded_manifest_are_invisible(loaded: Loaded) -> None:
    bucket = loaded.lake.bucket
    for key in [loaded.orphan, *loaded.failed_run]:
        assert _one(
            loaded.settings, f"SELECT count(*) FROM raw.orders WHERE _source_file = 's3://{bucket}/{key}'"
        ) == (0,)


def test_totals_equal_an_independent_read_of_the_parquet(loaded: Loaded) -> None:
    lake = loaded.lake
    expected = lake.read_parquet(
        loaded.committed["orders"],
        "SELECT count(*), sum(line_amount), sum(quantity), count(DISTINCT order_id), max(order_ts) FROM f",
    )
    # fakesnow 0.12 sums NUMBER columns as DOUBLE: cast the sums back to exact NUMBERs
    actual = _one(
        loaded.settings,
        "SELECT count(*), sum(line_amount)::NUMBER(38, 2), sum(quantity)::NUMBER(38, 0), "
        "count(DISTINCT order_id), max(order_ts) FROM raw.orders",
    )
    assert actual == expected
    assert isinstance(actual[1], Decimal)
    for dataset in ("customers", "products"):
        assert _one(loaded.settings, f"SELECT count(*) FROM raw.{dataset}") == lake.read_parquet(
            loaded.committed[dataset], "SELECT count(*) FROM f"
        )


def test_every_row_carries_its_source_file_and_load_time(loaded: Loaded) -> None:
    bucket = loaded.lake.bucket
    files = query(
        "SELECT _source_file, count(*) FROM raw.orders WHERE _loaded_at IS NOT NULL "
        "GROUP BY 1 ORDER BY 1",
        loaded.settings,
    ).rows
    expected = sorted(f"s3://{bucket}/{k}" for k in loaded.committed["orders"])
    assert [f for f, _ in files] == expected
    assert sum(n for _, n in files) == 95


def test_pipeline_runs_has_one_row_per_dataset_and_run(loaded: Loaded) -> None:
    rows = query(
        "SELECT run_id, stage, rows_in, rows_out, rows_quarantined, files_loaded, files_skipped, "
        "status, started_at <= ended_at FROM raw.pipeline_runs WHERE dataset = 'orders' ORDER BY started_at",
        loaded.settings,
    ).rows
    assert rows == [
        (loaded.first.run_id, "load", 95, 95, 3, 3, 0, "SUCCEEDED", True),
        (loaded.second.run_id, "load", 0, 0, 0, 0, 3, "SUCCEEDED", True),
    ]


def test_a_replayed_file_replaces_its_rows(lake: Any) -> None:
    keys = lake.source("orders", "raw/orders/r.csv", [20, 10], run_id="run-1")
    load(lake.settings)
    # replay: same object version re-processed, the job rewrites the same keys with new content
    # (one file now, different rows), then a new manifest
    source_id = keys[0].split("/")[-1].split("-")[0]
    lake.parquet("orders", keys[0], n=12, start=500)
    lake.s3.delete_object(Bucket=lake.bucket, Key=keys[1])
    lake.manifest("orders", source_id, [keys[0]], rows=12, run_id="run-2")
    result = load(lake.settings)
    orders = result.table("orders")
    assert (orders.files_loaded, orders.files_replaced, orders.files_removed) == (1, 1, 1)
    expected = lake.read_parquet([keys[0]], "SELECT count(*), sum(line_amount), min(order_id) FROM f")
    assert _one(lake.settings, "SELECT count(*), sum(line_amount), min(order_id) FROM raw.orders") == expected
    # and a third load changes nothing
    again = load(lake.settings).table("orders")
    assert (again.files_loaded, again.files_skipped) == (0, 1)
    assert _one(lake.settings, "SELECT count(*) FROM raw.orders") == (12,)


def test_a_rewrite_with_identical_content_is_skipped(lake: Any) -> None:
    (key,) = lake.source("products", "raw/products/same.csv", [6])
    load(lake.settings)
    lake.parquet("products", key, n=6)  # same bytes, same ETag
    again = load(lake.settings).table("products")
    assert (again.files_loaded, again.files_skipped) == (0, 1)
    assert _one(lake.settings, "SELECT count(*) FROM raw.products") == (6,)


@pytest.mark.parametrize(
    ("edit", "column", "kind"),
    [
        (lambda sql: sql.replace("AS source_object", "AS source_object, 'web' AS channel"), "channel", "new column"),
        (lambda sql: sql.replace("'paid' AS status,", ""), "status", "missing from the file"),
        (
            lambda sql: sql.replace("0.25)::DECIMAL(18, 2) AS unit_price", "0.25)::DOUBLE AS unit_price"),
            "unit_price",
            "is DOUBLE in the file but NUMBER in RAW.ORDERS",
        ),
    ],
    ids=["extra-column", "missing-column", "float-money"],
)
def test_schema_drift_fails_naming_the_file_and_the_column(
    lake: Any, edit: Any, column: str, kind: str
) -> None:
    good = lake.source("orders", "raw/orders/good.csv", [4])
    drifted = lake.source("orders", "raw/orders/drift.csv", [5], edit=edit, day="2026-02-01")
    with pytest.raises(LoadError) as info:
        load(lake.settings)
    message = str(info.value)
    assert f"s3://{lake.bucket}/{drifted[0]}" in message
    assert f"'{column}'" in message and kind in message, message
    result = info.value.result
    assert result.table("orders").status == "FAILED"
    assert result.table("customers").status == "SUCCEEDED"  # other tables still load
    # nothing of the dataset was loaded, not even the good file: no silent NULLs
    assert _one(lake.settings, "SELECT count(*) FROM raw.orders") == (0,)
    assert _one(
        lake.settings,
        "SELECT status, files_loaded, detail LIKE '%schema drift%' FROM raw.pipeline_runs WHERE dataset = 'orders'",
    ) == ("FAILED", 0, True)
    assert good  # loaded once the drifted file is fixed:
    lake.parquet("orders", drifted[0], n=5, day="2026-02-01")
    assert load(lake.settings).table("orders").rows_loaded == 9


def test_drift_error_message_is_clear() -> None:
    error = SchemaDriftError("RAW.ORDERS", "s3://b/curated/orders/x.parquet", ["channel"], [])
    assert str(error).startswith(
        "schema drift in s3://b/curated/orders/x.parquet: new column(s) 'channel' not in table RAW.ORDERS"
    )


def test_fx_rates_are_loaded_once_per_raw_document(lake: Any) -> None:
    from datetime import UTC, datetime

    from shoplake.fx.raw import build_doc, encode, flatten

    body = {
        "amount": 1.0, "base": "EUR", "start_date": "2026-01-05", "end_date": "2026-01-06",
        "rates": {"2026-01-05": {"USD": 1.0412, "GBP": 0.8311}, "2026-01-06": {"USD": 1.0398, "GBP": 0.8302}},
    }
    doc = build_doc("frankfurter", "http://fx/2026-01-05..2026-01-06", datetime(2026, 1, 7, tzinfo=UTC), body)
    key = "raw/fx_rates/ingest_date=2026-01-07/frankfurter_2026-01-05_2026-01-06.json"
    lake.s3.put_object(Bucket=lake.bucket, Key=key, Body=encode(doc))
    first = load(lake.settings).table("fx_rates")
    second = load(lake.settings).table("fx_rates")
    assert (first.files_loaded, first.rows_loaded) == (1, len(flatten(doc)))
    assert (second.files_loaded, second.files_skipped) == (0, 1)
    rows = query(
        "SELECT rate_date, base, currency, rate, source, _source_file FROM raw.fx_rates ORDER BY 1, 3",
        lake.settings,
    ).rows
    assert [(str(r[0]), r[1], r[2], float(r[3])) for r in rows] == [
        ("2026-01-05", "EUR", "GBP", 0.8311), ("2026-01-05", "EUR", "USD", 1.0412),
        ("2026-01-06", "EUR", "GBP", 0.8302), ("2026-01-06", "EUR", "USD", 1.0398),
    ]
    assert {r[5] for r in rows} == {f"s3://{lake.bucket}/{key}"}


def test_load_into_an_empty_lake_is_a_no_op(lake: Any, tmp_path: Path) -> None:
    result = load(lake.settings)
    assert result.ok
    assert all(t.files_loaded == 0 for t in result.tables)


# --- issue 12 (2): one bad partition name or manifest never breaks a later load ------------
BAD_ORDER_KEYS = [
    "curated/orders/order_date=0001-12-31 (BC)/{sid}-0.parquet",  # year 1 with a +01:00 offset
    "curated/orders/order_date=10000-01-01/{sid}-0.parquet",  # year 9999 with a -hh:mm offset
    "curated/orders/order_date=2026-02-30/{sid}-0.parquet",
    "curated/orders/order_date=26-01-05/{sid}-0.parquet",
    "curated/orders/order_date=-2026-01-05/{sid}-0.parquet",
    "curated/orders/order_date=2026-01-05';DROP TABLE x;--/{sid}-0.parquet",
    "curated/orders/updated_date=2026-01-05/{sid}-0.parquet",
    "curated/orders/order_date=2026-01-05/extra/{sid}-0.parquet",
    "curated/orders/order_date=2026-01-05/not-a-source-id.parquet",
    "curated/orders/order_date=2026-01-05/{sid}-0.csv",
    "curated/customers/updated_date=2026-01-05/{sid}-0.parquet",
]


def _alerts_queue(lake: Any) -> tuple[Any, str]:
    """A private SNS topic of the lake's settings, subscribed by a private SQS queue."""
    import uuid

    from shoplake import aws

    name = f"alerts-{uuid.uuid4().hex[:10]}"
    lake.settings = lake.settings.model_copy(update={"alerts_topic": name})
    sns, sqs = aws.client("sns", lake.settings), aws.client("sqs", lake.settings)
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return sqs, url


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    import json

    out = []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
        out += [json.loads(m["Body"]) for m in msgs]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
    return out


def test_bad_partition_names_and_manifests_are_refused_alone_with_an_alert(lake: Any) -> None:
    sqs, url = _alerts_queue(lake)
    # one source whose job wrote a good partition and a year-1 one (as the job did, issue 12)
    sid = "a" * 16
    good = lake.parquet("orders", f"curated/orders/order_date=2026-01-05/{sid}-0.parquet", n=6)
    bad = [lake.parquet("orders", k.format(sid=sid), n=2, start=900 + i) for i, k in enumerate(BAD_ORDER_KEYS)]
    lake.manifest("orders", sid, [good, *bad], rows=6 + 2 * len(bad))
    # manifests that are not valid at all, each refused on its own
    for name, body in [("b" * 16, b"{not json"), ("c" * 16, b"[1, 2]"), ("d" * 16, b'{"status": "SUCCEEDED"}')]:
        lake.s3.put_object(Bucket=lake.bucket, Key=f"curated/_manifests/orders/{name}.json", Body=body)
    lake.manifest("orders", "e" * 16, [good], rows=6)
    doc = lake.s3.get_object(Bucket=lake.bucket, Key=f"curated/_manifests/orders/{'e' * 16}.json")["Body"].read()
    lake.s3.put_object(Bucket=lake.bucket, Key=f"curated/_manifests/orders/{'e' * 16}.json",
                       Body=doc.replace(b'"dataset": "orders"', b'"dataset": "customers"'))
    clean = lake.source("orders", "raw/orders/clean.csv", [5], start=100)

    first = load(lake.settings, raise_on_error=False)
    orders = first.table("orders")
    assert first.ok and orders.status == "WARNING", orders.detail
    assert (orders.files_loaded, orders.rows_loaded) == (2, 11)
    refused = {(r.file, r.manifest.rsplit("/", 1)[-1]) for r in orders.refused}
    assert {f for f, _ in refused if f} == set(bad)
    assert {m for f, m in refused if f is None} == {f"{c * 16}.json" for c in "bcde"}
    assert "refused 15 manifest/file(s)" in orders.detail
    assert _one(lake.settings, "SELECT count(*) FROM raw.orders") == (11,)
    (alert,) = [a for a in _drain(sqs, url) if a.get("event") == "load_refused"]
    assert alert["dataset"] == "orders" and alert["counts"]["refused"] == 15
    reasons = {r["file"]: r["reason"] for r in alert["refused"]}
    assert reasons[bad[0]] == "partition value '0001-12-31 (BC)' is not a date YYYY-MM-DD"
    assert reasons[bad[1]] == "partition value '10000-01-01' is not a date YYYY-MM-DD"

    # a clean file ingested afterwards is loaded; the bad ones are refused again, nothing fails
    later = lake.source("orders", "raw/orders/later.csv", [4], start=200, day="2026-01-06")
    second = load(lake.settings, raise_on_error=False)
    orders = second.table("orders")
    assert second.ok and (orders.files_loaded, orders.rows_loaded, len(orders.refused)) == (1, 4, 15)
    assert _one(lake.settings, "SELECT count(*) FROM raw.orders") == (15,)
    assert {k for k in [good, *clean, *later]} == {
        r[0].split(f"s3://{lake.bucket}/", 1)[1]
        for r in query("SELECT DISTINCT _source_file FROM raw.orders", lake.settings).rows
    }
    # the other datasets were never affected
    assert all(t.status == "SUCCEEDED" for t in second.tables if t.dataset != "orders")
