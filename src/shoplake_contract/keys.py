"""The key layout of the lake bucket (docs/contracts.md): pure functions, no I/O.

::

    raw/<dataset>/ingest_date=YYYY-MM-DD/<file name>          landing zone (never modified)
    curated/<dataset>/<partition>=YYYY-MM-DD/<source_id>-<n>.parquet
    curated/_manifests/<dataset>/<source_id>.json             the commit point of one run
    quarantine/<dataset>/<source_id>/<source_id>-<n>.jsonl    rejected rows with reasons
    state/ledger/<source_id>.json                             idempotency ledger entry
    state/failed/<source_id>.json                             failure record (DLQ's durable half)
"""

from __future__ import annotations

RAW = "raw/"
CURATED = "curated/"
QUARANTINE = "quarantine/"
MANIFESTS = "curated/_manifests/"
#: the raw partition column (the date the file landed)
INGEST_DATE = "ingest_date"


def raw_prefix(dataset: str | None = None) -> str:
    return f"{RAW}{dataset}/" if dataset else RAW


def raw_key(dataset: str, day: str, file_name: str) -> str:
    """``raw/<dataset>/ingest_date=<day>/<file name>``."""
    return f"{raw_prefix(dataset)}{INGEST_DATE}={day}/{file_name}"


def dataset_of_key(key: str) -> str | None:
    """The dataset segment of a lake key (``raw/<dataset>/...``), None when the key has fewer
    than three segments. Says nothing about whether the dataset exists (see
    :func:`shoplake_contract.objects.validate`)."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 else None


def curated_prefix(dataset: str) -> str:
    return f"{CURATED}{dataset}/"


def curated_file_key(dataset: str, partition_dir: str, sid: str, n: int) -> str:
    """``curated/<dataset>/<partition>=<date>/<source_id>-<n>.parquet``."""
    return f"{curated_prefix(dataset)}{partition_dir}/{sid}-{n}.parquet"


def quarantine_prefix(dataset: str, sid: str) -> str:
    return f"{QUARANTINE}{dataset}/{sid}/"


def quarantine_file_key(dataset: str, sid: str, n: int) -> str:
    """``quarantine/<dataset>/<source_id>/<source_id>-<n>.jsonl``."""
    return f"{quarantine_prefix(dataset, sid)}{sid}-{n}.jsonl"


def manifest_prefix(dataset: str | None = None) -> str:
    return f"{MANIFESTS}{dataset}/" if dataset else MANIFESTS


def manifest_key(dataset: str, sid: str) -> str:
    """``curated/_manifests/<dataset>/<source_id>.json``: written last by a run (commit point)."""
    return f"{manifest_prefix(dataset)}{sid}.json"


#: the idempotency ledger and the failure records live under ``state/``
LEDGER = "state/ledger/"
FAILURES = "state/failed/"


def ledger_key(sid: str) -> str:
    """``state/ledger/<source_id>.json``: the idempotency ledger entry of one object version."""
    return f"{LEDGER}{sid}.json"


def failure_key(sid: str) -> str:
    """``state/failed/<source_id>.json``: why an object failed, until a run of it succeeds."""
    return f"{FAILURES}{sid}.json"


def source_id_of_key(key: str) -> str:
    """The ``source_id`` a ledger, failure or manifest key names."""
    return key.rsplit("/", 1)[-1].removesuffix(".json")
