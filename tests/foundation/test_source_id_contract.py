"""The idempotency key is computed in two deployables that cannot import each other (the Glue
job ships alone to Glue, the Lambda zip alone to Lambda): both must agree, always."""

from __future__ import annotations

import pytest
from shoplake_jobs.ids import source_id as job_source_id
from shoplake_jobs.ids import source_id_for_uri

from shoplake.lake import rules
from shoplake.lake import source_id as lake_source_id


@pytest.mark.parametrize("bucket,key,version", [
    ("shoplake-lake", "raw/orders/ingest_date=2026-01-01/orders_2026-01-01.csv", "3f1c-v1"),
    ("b", "raw/customers/x/customers_a.json", '"d41d8cd98f00b204e9800998ecf8427e"'),
    ("lake", "raw/products/ingest_date=2026-01-02/products é.csv", "null"),
])
def test_lambda_and_job_compute_the_same_source_id(bucket: str, key: str, version: str) -> None:
    expected = rules().source_id(bucket, key, version)
    assert job_source_id(bucket, key, version) == expected
    assert source_id_for_uri(f"s3://{bucket}/{key}", version) == expected
    assert source_id_for_uri(f"s3a://{bucket}/{key}", version) == expected
    assert lake_source_id(bucket, key, version) == expected
    assert len(expected) == 16 and int(expected, 16) >= 0
