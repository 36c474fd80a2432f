"""Outcome of a load run: per-table counts and status (returned to Airflow and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoplake.warehouse.manifests import Refusal


@dataclass
class TableLoad:
    """What one load run did to one raw table."""

    dataset: str
    table: str
    files_loaded: int = 0  # new files and replaced files
    files_replaced: int = 0
    files_skipped: int = 0  # already loaded, same version
    files_missing: int = 0  # listed by a manifest but not in S3 (a replay in flight)
    files_removed: int = 0  # dropped by a newer manifest of the same source
    refused: list[Refusal] = field(default_factory=list)  # bad manifests / keys, not loaded
    rows_loaded: int = 0
    rows_in: int = 0  # rows_written of the manifests whose files were loaded
    rows_quarantined: int = 0
    status: str = "SUCCEEDED"
    detail: str = ""
    started_at: datetime = field(default_factory=lambda: utcnow())
    ended_at: datetime | None = None


@dataclass
class LoadResult:
    run_id: str
    tables: list[TableLoad]

    @property
    def ok(self) -> bool:
        return all(t.status != "FAILED" for t in self.tables)

    def table(self, dataset: str) -> TableLoad:
        return next(t for t in self.tables if t.dataset == dataset)


class LoadError(RuntimeError):
    """At least one dataset failed to load; ``result`` has the per-table outcome."""

    def __init__(self, result: LoadResult) -> None:
        self.result = result
        failed = [f"{t.dataset}: {t.detail}" for t in result.tables if t.status == "FAILED"]
        super().__init__(f"load run {result.run_id} failed for " + " | ".join(failed))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
