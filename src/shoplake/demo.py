"""``shoplake demo``: the whole platform on simulated days, ending in a summary and a report.

Per day: the day's files land in raw/ (the event path cleans them into curated/ and
quarantine/), then the warehouse loads the new curated files and dbt builds the models
incrementally. FX rates are fetched first for the whole range. The same library functions
are what the Airflow DAG calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shoplake.settings import ROOT, Settings, get_settings

SAMPLE = ROOT / "data" / "sample"


@dataclass
class DemoResult:
    days: list[str]
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    dlq_depth: int = 0
    failed: list[str] = field(default_factory=list)
    alerts: int = 0
    revenue: list[tuple[Any, ...]] = field(default_factory=list)
    report: Path | None = None
    seconds: float = 0.0
    # wall seconds per phase, in order: "stack", "fx", "<day> event"/"load"/"dbt", "report"
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and self.dlq_depth == 0


def day_folders(data_dir: Path) -> list[Path]:
    days = sorted(p for p in data_dir.iterdir() if p.is_dir() and p.name.startswith("day="))
    if not days:
        raise FileNotFoundError(f"no day=YYYY-MM-DD folders under {data_dir}")
    return days


def ensure_up(echo: Callable[[str], None]) -> Settings:
    settings = get_settings()
    if settings.needs_local_stack:
        from shoplake.recovery import ensure_up as up

        return up(settings, echo=echo).settings
    from shoplake.deploy import deploy

    deploy(settings, echo=echo)
    return settings


def run_demo(data_dir: Path | None = None, *, orders: int | None = None, days: int = 3, seed: int = 7,
             echo: Callable[[str], None] = print) -> DemoResult:
    from shoplake import alerts, ingest
    from shoplake.fx import fetch_rates
    from shoplake.report import write_report
    from shoplake.transform import run_dbt
    from shoplake.warehouse import load, query

    t0 = time.monotonic()
    result_phases: dict[str, float] = {}
    mark = [t0]

    def phase(name: str) -> None:
        now = time.monotonic()
        result_phases[name] = now - mark[0]
        mark[0] = now

    echo("== 1/5 starting the embedded stack")
    settings = ensure_up(echo)
    phase("stack")
    if orders:
        from shoplake.generate import GenerateConfig, generate

        data_dir = settings.home / "demo-data"
        echo(f"== generating {orders} orders over {days} days into {data_dir}")
        generate(data_dir, GenerateConfig(orders=orders, seed=seed, days=days), progress=echo)
    data_dir = data_dir or SAMPLE
    folders = day_folders(data_dir)
    names = [f.name.split("=", 1)[1] for f in folders]
    result = DemoResult(days=names, phases=result_phases)

    first, last = date.fromisoformat(names[0]), date.fromisoformat(names[-1])
    echo(f"== 2/5 fetching FX rates {first - timedelta(days=14)}..{last}")
    fx = fetch_rates(first - timedelta(days=14), last, settings)
    echo(f"  {len(fx.written)} raw FX file(s) written")
    phase("fx")

    for i, folder in enumerate(folders, 1):
        echo(f"== 3/5 day {i}/{len(folders)} {names[i - 1]}: files land in raw/, the event path cleans them")
        uploads = ingest.ingest([folder], settings, echo=echo)
        keys = {u.key for u in uploads if u.key}
        result.files += len(keys)
        waited = ingest.wait(settings, timeout=900, echo=echo, keys=keys)
        result.failed += [o.key for o in waited.failed]
        for k, v in waited.totals().items():
            result.rows[k] = result.rows.get(k, 0) + v
        phase(f"{names[i - 1]} event")
        echo(f"== 4/5 day {names[i - 1]}: load the warehouse, dbt build")
        loaded = load(settings)
        echo("  " + ", ".join(f"{t.dataset}: {t.files_loaded} loaded/{t.files_skipped} skipped" for t in loaded.tables))
        phase(f"{names[i - 1]} load")
        run_dbt(["build"], settings)
        phase(f"{names[i - 1]} dbt")
        echo("  dbt build passed")

    echo("== 5/5 summary and report")
    result.dlq_depth = ingest.dlq_depth(settings)
    result.alerts = len(alerts.latest(settings, 100000))
    # Readers need the file to themselves too (DuckDB): queue behind any writer, e.g. the
    # near-real-time DAG rebuilding the marts after the last job run.
    from shoplake.warehouse.writer_lock import writer_lock

    with writer_lock(settings, what="report"):
        result.revenue = query(
            "select order_date, sum(net_amount_usd), sum(order_count) from analytics.fct_daily_revenue "
            "group by 1 order by 1", settings).rows
        phase("report")
        result.seconds = time.monotonic() - t0
    # outside the lock: the report reads the marts under the writer lock itself (a flock, not
    # re-entrant: taken twice by one process it would wait for itself)
    result.report = write_report(settings, summary=summary_dict(result))
    return result


def phase_line(phases: dict[str, float]) -> str:
    """``stack 12.0, fx 0.4, 2026-01-01 event 20.1 / load 1.2 / dbt 9.8, ..., report 0.3``."""
    parts: list[str] = []
    day_parts: dict[str, list[str]] = {}
    for name, s in phases.items():
        day, _, step = name.rpartition(" ")
        if day:
            if day not in day_parts:
                day_parts[day] = []
                parts.append(day)
            day_parts[day].append(f"{step} {s:.1f}")
        else:
            parts.append(f"{name} {s:.1f}")
    return ", ".join(f"{p} " + " / ".join(day_parts[p]) if p in day_parts else p for p in parts)


def summary_dict(r: DemoResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "days": f"{r.days[0]} .. {r.days[-1]} ({len(r.days)})",
        "raw files": r.files,
        "rows read": r.rows.get("rows_read", 0),
        "rows loaded to curated": r.rows.get("rows_written", 0),
        "duplicates dropped": r.rows.get("duplicates_dropped", 0),
        "rows quarantined": r.rows.get("rows_quarantined", 0),
    }
    for k, v in sorted(r.rows.items()):
        if k.startswith("quarantined:") and v:
            out[f"  quarantined, {k.split(':', 1)[1]}"] = v
    out["failed objects"] = len(r.failed)
    out["DLQ depth"] = r.dlq_depth
    out["alerts published"] = r.alerts
    out["demo duration"] = f"{r.seconds:.0f} s"
    if r.phases:
        out["phases (s)"] = phase_line(r.phases)
    return out
