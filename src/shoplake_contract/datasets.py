"""The dataset catalogue: THE list of datasets of the lake (docs/contracts.md "Raw data").

Every other part (the Lambdas, the Glue job, the loader, the CLI, the deploy, the DAGs) asks
this module which datasets exist, which file names belong to them, how their curated data is
partitioned, what their business key is and whether a Glue job cleanses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shoplake_contract.keys import INGEST_DATE

ORDERS = "orders"
CUSTOMERS = "customers"
PRODUCTS = "products"
FX_RATES = "fx_rates"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    #: a raw file name starts with it (any case); "" = any name under the dataset's prefix
    file_prefix: str
    #: accepted raw file extensions (any case), ``.gz`` included where gzip is accepted
    extensions: tuple[str, ...]
    #: hive partition column of the curated data (None: no curated data)
    partition: str | None
    #: business key: the dedupe keeps one row per key (latest ``updated_at``)
    keys: tuple[str, ...]
    #: a Glue cleanse job ``<prefix>-<name>`` processes its raw objects; otherwise the
    #: warehouse loader reads the raw documents directly (fx_rates)
    has_job: bool
    #: partition columns of earlier curated layouts the loader still accepts, so files
    #: committed before a layout change load (and are replaced on a replay), never refused
    legacy_partitions: tuple[str, ...] = ()


DATASETS: dict[str, DatasetSpec] = {
    d.name: d
    for d in (
        # Every dataset: one partition per raw object, its ingest date, so a day's data is a
        # handful of files whatever the spread of its timestamps. By updated_at's date, 10,200
        # customers with a long history were 689 files; by order_date, a day of orders with
        # late-arriving lines and status updates was ~90 (issue 11).
        DatasetSpec(
            ORDERS,
            "orders",
            (".csv", ".csv.gz"),
            INGEST_DATE,
            ("order_id", "line_number"),
            True,
            legacy_partitions=("order_date",),
        ),
        DatasetSpec(
            CUSTOMERS,
            "customers",
            (".json", ".jsonl", ".json.gz", ".jsonl.gz"),
            INGEST_DATE,
            ("customer_id",),
            True,
            legacy_partitions=("updated_date",),
        ),
        DatasetSpec(
            PRODUCTS,
            "products",
            (".csv", ".csv.gz"),
            INGEST_DATE,
            ("product_id",),
            True,
            legacy_partitions=("updated_date",),
        ),
        DatasetSpec(FX_RATES, "", (".json",), None, (), False),
    )
}
#: datasets with a Glue job (and curated data), in catalogue order
JOB_DATASETS: tuple[str, ...] = tuple(d.name for d in DATASETS.values() if d.has_job)
#: datasets the warehouse loader reads from raw/ directly
JOBLESS_DATASETS: frozenset[str] = frozenset(d.name for d in DATASETS.values() if not d.has_job)

#: suffix -> compression of a raw object. Every suffix rule of the lake (the extensions above
#: and these) is matched case-insensitively, by the trigger and by the Glue job alike, so
#: ``ORDERS_1.CSV.GZ`` is accepted by the Lambda AND gunzipped by the job.
COMPRESSIONS: dict[str, str] = {".gz": "gzip"}


def dataset(name: str) -> DatasetSpec:
    """The catalogue entry of ``name``; ValueError for an unknown dataset."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r} (known: {sorted(DATASETS)})") from None


def compression(name: str) -> str | None:
    """``"gzip"`` for a name ending in ``.gz`` (any case), else None (plain text)."""
    lower = name.lower()
    return next((c for suffix, c in COMPRESSIONS.items() if lower.endswith(suffix)), None)


def has_extension(name: str, extensions: tuple[str, ...]) -> bool:
    """``name`` ends with one of ``extensions``, in any case (``.CSV.GZ`` is ``.csv.gz``)."""
    return name.lower().endswith(tuple(e.lower() for e in extensions))


def dataset_of_file(file_name: str) -> str | None:
    """The dataset a local file belongs to by its name (prefix and extension), or None.
    Jobless datasets without a file prefix (fx_rates) are never guessed from a name."""
    name = file_name.lower()
    for spec in DATASETS.values():
        if (
            spec.file_prefix
            and name.startswith(spec.file_prefix)
            and has_extension(name, spec.extensions)
        ):
            return spec.name
    return None
