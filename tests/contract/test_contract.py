"""The lake contract's pure functions (src/shoplake_contract): the one definition of the
datasets, the key layout, the ids and the Glue job's name and arguments."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shoplake_contract import datasets, glue, keys
from shoplake_contract.ids import object_version, source_id, source_id_for_uri, split_uri
from shoplake_contract.objects import InvalidObject, RawObject, parse_record, validate

ROOT = Path(__file__).resolve().parents[2]


# --- ids (moved from tests/jobs/test_entry.py and tests/foundation/test_source_id_contract.py)
def test_source_id_rule() -> None:
    expected = hashlib.sha256(b"lake/raw/orders/x.csv@v1").hexdigest()[:16]
    assert source_id("lake", "raw/orders/x.csv", "v1") == expected
    assert source_id_for_uri("s3://lake/raw/orders/x.csv", "v1") == expected
    assert source_id_for_uri("s3a://lake/raw/orders/x.csv", "v1") == expected
    assert (
        source_id_for_uri("/data/x.csv", "v1") == hashlib.sha256(b"/data/x.csv@v1").hexdigest()[:16]
    )
    assert split_uri("s3://b/k/e/y") == ("b", "k/e/y") and split_uri("/p") == ("", "/p")


@pytest.mark.parametrize(
    "bucket,key,version",
    [
        ("shoplake-lake", "raw/orders/ingest_date=2026-01-01/orders_2026-01-01.csv", "3f1c-v1"),
        ("b", "raw/customers/x/customers_a.json", '"d41d8cd98f00b204e9800998ecf8427e"'),
        ("lake", "raw/products/ingest_date=2026-01-02/products é.csv", "null"),
    ],
)
def test_every_deployable_computes_the_same_source_id(bucket: str, key: str, version: str) -> None:
    """One implementation now: the Lambdas, the job and the CLI all call the contract's."""
    import shoplake_events

    from shoplake import lake

    expected = hashlib.sha256(f"{bucket}/{key}@{version}".encode()).hexdigest()[:16]
    assert source_id(bucket, key, version) == expected
    assert source_id_for_uri(f"s3://{bucket}/{key}", version) == expected
    assert source_id_for_uri(f"s3a://{bucket}/{key}", version) == expected
    assert lake.source_id is source_id and shoplake_events.source_id is source_id
    assert RawObject(bucket, key, 1, version).source_id == expected
    assert len(expected) == 16 and int(expected, 16) >= 0


def test_object_version_prefers_the_version_id_and_unquotes_the_etag() -> None:
    assert object_version("3f1c-v1", '"abc"') == "3f1c-v1"
    # S3 events carry the ETag unquoted, HEAD/LIST quoted: both name one version
    assert object_version(None, '"abc"') == object_version("", "abc") == "abc"
    assert object_version("null", '"abc"') == "abc"  # written before versioning was enabled
    assert object_version(None, None) == ""


def test_an_event_record_and_a_listing_give_one_source_id() -> None:
    record = {
        "s3": {
            "bucket": {"name": "lake"},
            "object": {"key": "raw/orders/d/orders_1.csv", "size": 5, "eTag": "abc"},
        }
    }
    obj = parse_record(record)
    assert obj.version == object_version(None, '"abc"')
    assert obj.source_id == source_id(
        "lake", "raw/orders/d/orders_1.csv", object_version("null", '"abc"')
    )


# --- datasets ---------------------------------------------------------------------------------
def test_catalogue() -> None:
    assert datasets.JOB_DATASETS == ("orders", "customers", "products")
    assert set(datasets.JOBLESS_DATASETS) == {"fx_rates"}
    assert datasets.dataset("orders").partition == "ingest_date"
    assert datasets.dataset("orders").legacy_partitions == ("order_date",)
    assert datasets.dataset("orders").keys == ("order_id", "line_number")
    assert datasets.dataset("customers").keys == ("customer_id",)
    assert datasets.dataset("products").partition == "ingest_date"
    assert datasets.dataset("products").legacy_partitions == ("updated_date",)
    assert not datasets.dataset("fx_rates").has_job
    with pytest.raises(ValueError, match="unknown dataset 'refunds'"):
        datasets.dataset("refunds")


@pytest.mark.parametrize(
    "name,dataset",
    [
        ("orders_2026-01-01.csv", "orders"),
        ("ORDERS_1.CSV.GZ", "orders"),
        ("customers_1.jsonl.gz", "customers"),
        ("products_x.csv", "products"),
        ("orders_1.parquet", None),
        ("refunds_1.csv", None),
        ("ecb_2026-01-01_2026-01-02.json", None),
    ],
)
def test_dataset_of_file(name: str, dataset: str | None) -> None:
    assert datasets.dataset_of_file(name) == dataset


def test_suffix_rules_ignore_case() -> None:
    assert (
        datasets.compression("ORDERS_1.CSV.GZ") == "gzip" and datasets.compression("o.csv") is None
    )
    assert datasets.has_extension("x.JSONL.Gz", (".jsonl.gz",))
    assert not datasets.has_extension("x.csv.gz.txt", (".csv.gz",))


def test_validate_names_the_dataset_or_the_reason() -> None:
    assert (
        validate(
            RawObject("b", "raw/customers/ingest_date=2026-01-01/Customers_x.JSONL.GZ", 3, "v")
        )
        == "customers"
    )
    for key, reason in [
        ("raw/refunds/d/x.csv", "unknown_dataset"),
        ("curated/orders/d/x.csv", "outside_raw"),
        ("raw/orders/d/x.parquet", "bad_file_name"),
        ("raw/../x/y.csv", "unsafe_key"),
    ]:
        with pytest.raises(InvalidObject) as info:
            validate(RawObject("b", key, 3, "v"))
        assert info.value.reason == reason


# --- keys -------------------------------------------------------------------------------------
def test_key_layout() -> None:
    sid = "0123456789abcdef"
    assert (
        keys.raw_key("orders", "2026-01-01", "orders_1.csv")
        == "raw/orders/ingest_date=2026-01-01/orders_1.csv"
    )
    assert keys.curated_file_key("orders", "order_date=2026-01-01", sid, 0) == (
        f"curated/orders/order_date=2026-01-01/{sid}-0.parquet"
    )
    assert keys.quarantine_file_key("orders", sid, 2) == f"quarantine/orders/{sid}/{sid}-2.jsonl"
    assert keys.manifest_key("orders", sid) == f"curated/_manifests/orders/{sid}.json"
    assert keys.manifest_prefix() == "curated/_manifests/"
    assert keys.ledger_key(sid) == f"state/ledger/{sid}.json"
    assert keys.failure_key(sid) == f"state/failed/{sid}.json"
    for key in (keys.ledger_key(sid), keys.failure_key(sid), keys.manifest_key("orders", sid)):
        assert keys.source_id_of_key(key) == sid


@pytest.mark.parametrize(
    "key,dataset",
    [
        ("raw/orders/ingest_date=2026-01-01/o.csv", "orders"),
        ("raw/refunds/x.csv", "refunds"),
        ("raw/orders", None),
        ("x.csv", None),
    ],
)
def test_dataset_of_key(key: str, dataset: str | None) -> None:
    assert keys.dataset_of_key(key) == dataset


# --- the Glue job -----------------------------------------------------------------------------
def test_job_name_and_arguments() -> None:
    assert glue.job_name("shoplake-cleanse", "orders") == "shoplake-cleanse-orders"
    assert glue.job_arguments("orders", "lake", "raw/orders/d/o.csv", "v1") == {
        "--dataset": "orders",
        "--source_uri": "s3://lake/raw/orders/d/o.csv",
        "--source_version": "v1",
        "--lake_bucket": "lake",
    }
    assert [a.removeprefix("--") for a in glue.job_arguments("o", "b", "k", "v")] == list(
        glue.JOB_ARGUMENTS
    )


# --- where it runs ----------------------------------------------------------------------------
def test_standard_library_only() -> None:
    """Every zip carries it to a bare interpreter: it imports with no site-packages."""
    src = ROOT / "src"
    code = (
        f"import sys; sys.path.insert(0, {str(src)!r}); import shoplake_contract, shoplake_contract.objects; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert {m.split(".")[0] for m in eval(out.stdout)} - {"__main__"} == {"shoplake_contract"}  # noqa: S307


def test_every_zip_bundles_the_contract() -> None:
    from shoplake.deploy import package

    for artifact in package.build():
        if not artifact.name.endswith(".zip"):
            continue
        names = set(zipfile.ZipFile(io.BytesIO(artifact.body)).namelist())
        assert {"shoplake_contract/__init__.py", "shoplake_contract/keys.py"} <= names, (
            artifact.name
        )
        assert "shoplake_events.py" not in names or artifact.folder == "lambdas"
