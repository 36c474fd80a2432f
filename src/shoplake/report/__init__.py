"""The static HTML report of ``shoplake demo`` (and ``shoplake report``): daily revenue in
USD, top products, RFM segments, cohort retention and pipeline health, read from the marts
of the current profile's warehouse and from the job manifests in the lake. The page (plotly.js
charts, inlined: it opens offline) is :mod:`shoplake.report.page`, the same one
``shoplake dashboard`` serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shoplake import lake
from shoplake.report import page
from shoplake.report.marts import QUERIES, read_marts
from shoplake.settings import Settings
from shoplake_contract import keys

__all__ = ["QUERIES", "ReportData", "collect", "render", "write_report"]


@dataclass
class ReportData:
    results: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)
    job_runs: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def collect(settings: Settings) -> ReportData:
    data = ReportData()
    # a dbt build by Airflow may be running: wait for it rather than fail the report
    snap = read_marts(settings, lock_timeout_s=600.0)
    data.results, data.missing = snap.results, snap.missing
    for obj in lake.list_keys(settings, keys.manifest_prefix()):
        m = lake.get_json(settings, obj["Key"])
        if m:
            data.job_runs.append(m)
    data.job_runs.sort(key=lambda m: m.get("started_at", ""))
    return data


def render(data: ReportData, title: str = "shoplake demo report") -> str:
    return page.render(data.results, title=title, job_runs=data.job_runs, summary=data.summary,
                       missing=data.missing)


def write_report(settings: Settings, summary: dict[str, Any] | None = None, path: Path | None = None) -> Path:
    data = collect(settings)
    data.summary = summary or {}
    out = path or settings.home / "report" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data))
    return out
