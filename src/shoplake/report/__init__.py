"""The static HTML report of ``shoplake demo`` (and ``shoplake report``): daily revenue in
USD, top products, RFM segments, cohort retention and pipeline health, read from the marts
of the current profile's warehouse and from the job manifests in the lake."""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoplake import lake
from shoplake.report.charts import bar_chart, heatmap_table, table
from shoplake.settings import Settings

QUERIES = {
    "revenue": """select order_date, sum(net_amount_usd) as net_usd, sum(gross_amount_usd) as gross_usd,
                         sum(order_count) as orders
                  from analytics.fct_daily_revenue group by order_date order by order_date""",
    "revenue_by_currency": """select order_date, currency_code, sum(net_amount) as net_local
                              from analytics.fct_daily_revenue group by 1, 2 order by 1, 2""",
    "top_products": """select coalesce(product_name, product_id) as product, net_revenue_usd, units_sold, return_rate
                       from analytics.mart_product_performance order by revenue_rank, product_id limit 10""",
    "rfm": """select rfm_segment, count(*) as customers from analytics.mart_customer_rfm
              group by rfm_segment order by customers desc, rfm_segment""",
    "cohorts": """select cohort_month, months_since_first_order, retention_rate
                  from analytics.mart_cohort_retention order by 1, 2""",
    "pipeline": """select run_date, stage, dataset, rows_out, rows_quarantined, quarantine_rate,
                          files_loaded, files_skipped, last_run_status
                   from analytics.mart_pipeline_health order by run_date, stage, dataset""",
}


@dataclass
class ReportData:
    results: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)
    job_runs: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def collect(settings: Settings) -> ReportData:
    from shoplake.warehouse import query

    data = ReportData()
    for name, sql in QUERIES.items():
        r = query(sql, settings)
        data.results[name] = (r.columns, r.rows)
    for obj in lake.list_keys(settings, "curated/_manifests/"):
        m = lake.get_json(settings, obj["Key"])
        if m:
            data.job_runs.append(m)
    data.job_runs.sort(key=lambda m: m.get("started_at", ""))
    return data


def _f(v: Any) -> float:
    return float(v) if v is not None else 0.0


def render(data: ReportData, title: str = "shoplake demo report") -> str:
    cols, rows = data.results["revenue"]
    revenue = bar_chart("Daily net revenue (USD)", [str(r[0]) for r in rows], [_f(r[1]) for r in rows], unit=" USD")
    _, cur_rows = data.results["revenue_by_currency"]
    _, prod = data.results["top_products"]
    products = bar_chart("Top products by net revenue (USD)", [str(r[0]) for r in prod], [_f(r[1]) for r in prod],
                         horizontal=True, height=60 + 28 * max(len(prod), 1))
    _, rfm = data.results["rfm"]
    segments = bar_chart("Customers per RFM segment", [str(r[0]) for r in rfm], [_f(r[1]) for r in rfm])
    _, coh = data.results["cohorts"]
    cohort_rows = sorted({str(r[0]) for r in coh})
    cohort_cols = [str(m) for m in sorted({int(r[1]) for r in coh})]
    cohorts = heatmap_table("Monthly cohort retention (share of the cohort active N months later)",
                            cohort_rows, cohort_cols, {(str(r[0]), str(int(r[1]))): _f(r[2]) for r in coh})
    pcols, prow = data.results["pipeline"]
    runs = data.job_runs
    by_dataset: dict[str, list[float]] = defaultdict(list)
    for m in runs:
        by_dataset[m.get("dataset", "?")].append(_f(m.get("duration_s")))
    durations = bar_chart("Mean Glue job run duration by dataset (s)", list(by_dataset),
                          [sum(v) / len(v) for v in by_dataset.values()], unit=" s")
    qrates = bar_chart(
        "Quarantine rate per raw file (%)",
        [str(m.get("source_object", "")).rsplit("/", 1)[-1] for m in runs],
        [100 * _f(m.get("rows_quarantined")) / max(_f(m.get("rows_read")), 1) for m in runs], unit=" %")
    run_table = table(
        ["file", "engine", "rows read", "written", "quarantined", "duplicates", "seconds"],
        [(str(m.get("source_object", "")).rsplit("/", 1)[-1], m.get("engine"), m.get("rows_read"),
          m.get("rows_written"), m.get("rows_quarantined"), m.get("duplicates_dropped"), m.get("duration_s"))
         for m in runs], caption="Glue job runs (from the run manifests)")
    summary = "".join(f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>" for k, v in data.summary.items())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #111; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #555; margin-top: .2rem; }}
section {{ margin: 2rem 0; }} .grid {{ display: grid; grid-template-columns: 1fr; gap: 1rem; }}
svg.chart .ct {{ font-weight: 600; font-size: 14px; }} svg.chart .lab {{ font-size: 11px; fill: #333; }}
svg.chart .val {{ font-size: 10px; fill: #555; }} svg.chart .axis {{ stroke: #999; }}
table {{ border-collapse: collapse; margin: .5rem 0; }} td, th {{ border: 1px solid #ddd; padding: 3px 8px; text-align: right; }}
caption {{ text-align: left; font-weight: 600; padding: 4px 0; }} .empty {{ color: #a00; }}
</style></head><body>
<h1>{html.escape(title)}</h1><p class="sub">generated {generated}</p>
<section id="summary"><h2>Summary</h2><ul>{summary}</ul></section>
<section id="revenue"><h2>Sales</h2>{revenue}
{table(["order date", "currency", "net revenue (local)"], cur_rows, "Net revenue by currency")}</section>
<section id="products"><h2>Product performance</h2>{products}
{table(["product", "net revenue USD", "units", "return rate"], prod, "Top 10 products")}</section>
<section id="customers"><h2>Customer behaviour</h2>{segments}{cohorts}</section>
<section id="pipeline"><h2>Pipeline health</h2>{durations}{qrates}{run_table}
{table(pcols, prow, "Pipeline runs by day, stage and dataset (mart_pipeline_health)")}</section>
</body></html>
"""


def write_report(settings: Settings, summary: dict[str, Any] | None = None, path: Path | None = None) -> Path:
    data = collect(settings)
    data.summary = summary or {}
    out = path or settings.home / "report" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data))
    return out
