"""The report page, shared by the static file (``shoplake demo``/``report``) and the dashboard
(``shoplake dashboard``): sales, products, customer behaviour and pipeline health as
interactive plotly.js charts (values on hover), built from the marts.

No network at view time: plotly.js comes from the ``plotly`` wheel
(``plotly/package_data/plotly.min.js``) and is either inlined (the static file opens from
disk) or served by the dashboard itself (``/static/plotly.min.js``).

Names are user data (a product called ``<script>alert(1)</script>``), so every text value is
escaped twice over:

- in the HTML (tables, titles, the summary) with :func:`html.escape`;
- in the charts: plotly.js reads a small HTML subset in labels and hover texts, so each text
  value is entity-escaped before it becomes a figure (plotly.js shows ``&lt;`` as ``<``,
  never as a tag); the figure JSON sits in a ``<script type="application/json">`` element
  with ``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so no value can close the element.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

Results = Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]

#: Starts every chart once plotly.js is loaded: reads the figures from the JSON element (no
#: inline script needed by the dashboard, whose CSP allows scripts from itself only).
BOOT_JS = """(function () {
  var figures = JSON.parse(document.getElementById("shoplake-figures").textContent);
  var config = {displaylogo: false, responsive: true, showLink: false};
  var pending = Object.keys(figures).map(function (id) {
    return Plotly.newPlot(document.getElementById("chart-" + id), figures[id].data,
                          figures[id].layout, config);
  });
  Promise.all(pending).then(function () {
    document.body.setAttribute("data-charts-ready", String(pending.length));
  });
})();
"""

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #111; padding: 0 1rem; }
h1 { margin-bottom: 0; } .sub { color: #555; margin-top: .2rem; }
section { margin: 2rem 0; } .chart { width: 100%; min-height: 320px; }
.note { color: #a00; } .stale { background: #fff4d6; padding: .4rem .8rem; border-radius: 4px; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td.t, th.t { text-align: left; } caption { text-align: left; font-weight: 600; padding: 4px 0; }
"""


@cache
def plotly_js() -> str:
    """plotly.js as the plotly wheel ships it (minified, no network needed)."""
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(
        encoding="utf-8"
    )


def _t(value: Any) -> str:
    """A text value for plotly.js: &, < and > entity-escaped (plotly.js renders a tag subset in
    labels and decodes those entities back for display; quotes need no escape outside a tag)."""
    return html.escape("" if value is None else str(value), quote=False)


def _n(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return float(value)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": _t(title)},
        "margin": {"l": 70, "r": 20, "t": 50, "b": 60},
        "hovermode": "closest",
        "colorway": PALETTE,
        "font": {"family": "system-ui, sans-serif", "size": 12},
    }
    layout.update(extra)
    return layout


def _bar(
    title: str,
    labels: Iterable[Any],
    values: Iterable[Any],
    unit: str,
    *,
    horizontal: bool = False,
    extra_hover: Iterable[str] | None = None,
) -> dict[str, Any]:
    labels = [_t(v) for v in labels]
    values = [_n(v) for v in values]
    hover = "%{y}: %{x:,.2f}" if horizontal else "%{x}: %{y:,.2f}"
    hover += _t(unit)
    trace: dict[str, Any] = {
        "type": "bar",
        "x": values if horizontal else labels,
        "y": labels if horizontal else values,
        "orientation": "h" if horizontal else "v",
        "marker": {"color": PALETTE[0]},
        "hovertemplate": hover
        + ("<br>%{customdata}" if extra_hover is not None else "")
        + "<extra></extra>",
    }
    if extra_hover is not None:
        trace["customdata"] = list(extra_hover)
    category_axis = {"type": "category", "automargin": True}
    value_axis = {"title": {"text": _t(unit.strip())}, "rangemode": "tozero"}
    if horizontal:
        return {
            "data": [trace],
            "layout": _layout(
                title,
                xaxis=value_axis,
                yaxis={**category_axis, "autorange": "reversed"},
                height=max(320, 60 + 32 * len(labels)),
            ),
        }
    return {"data": [trace], "layout": _layout(title, xaxis=category_axis, yaxis=value_axis)}


def figures(
    results: Results, job_runs: Sequence[Mapping[str, Any]] = ()
) -> dict[str, dict[str, Any]]:
    """chart id -> plotly figure (``data``, ``layout``), every text value escaped."""
    figs: dict[str, dict[str, Any]] = {}
    _, rev = results.get("revenue", ((), ()))
    figs["revenue"] = _bar(
        "Daily net revenue (USD)",
        [r[0] for r in rev],
        [r[1] for r in rev],
        " USD",
        extra_hover=[f"orders: {int(r[3] or 0)}" for r in rev],
    )
    _, cur = results.get("revenue_by_currency", ((), ()))
    by_currency: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for day, code, net in cur:
        by_currency[str(code)].append((day, net))
    figs["currency"] = {
        "data": [
            {
                "type": "bar",
                "name": _t(code),
                "x": [_t(d) for d, _ in points],
                "y": [_n(v) for _, v in points],
                "hovertemplate": "%{fullData.name} %{x}: %{y:,.2f}<extra></extra>",
            }
            for code, points in by_currency.items()
        ],
        "layout": _layout(
            "Net revenue by currency (local units)",
            barmode="group",
            xaxis={"type": "category"},
            yaxis={"rangemode": "tozero"},
        ),
    }
    _, prod = results.get("top_products", ((), ()))
    figs["products"] = _bar(
        "Top products by net revenue (USD)",
        [r[0] for r in prod],
        [r[1] for r in prod],
        " USD",
        horizontal=True,
        extra_hover=[
            f"units sold: {int(r[2] or 0)}, return rate: {100 * (_n(r[3]) or 0):.1f} %"
            for r in prod
        ],
    )
    _, rfm = results.get("rfm", ((), ()))
    figs["rfm"] = _bar(
        "Customers per RFM segment", [r[0] for r in rfm], [r[1] for r in rfm], " customers"
    )
    _, coh = results.get("cohorts", ((), ()))
    months = sorted({int(r[1]) for r in coh})
    cohorts = sorted({str(r[0]) for r in coh})
    cell = {(str(r[0]), int(r[1])): _n(r[2]) for r in coh}
    figs["cohorts"] = {
        "data": [
            {
                "type": "heatmap",
                "x": [str(m) for m in months],
                "y": [_t(c) for c in cohorts],
                "z": [
                    [
                        None if cell.get((c, m)) is None else round(100 * cell[(c, m)], 1)
                        for m in months
                    ]
                    for c in cohorts
                ],
                "colorscale": "Blues",
                "reversescale": True,
                "zmin": 0,
                "zmax": 100,
                "colorbar": {"title": {"text": "%"}},
                "hovertemplate": "cohort %{y}, month %{x}: %{z:.1f} % active<extra></extra>",
            }
        ],
        "layout": _layout(
            "Monthly cohort retention (share of the cohort active N months later)",
            xaxis={"type": "category", "title": {"text": "months since first order"}},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        ),
    }
    _, pipe = results.get("pipeline", ((), ()))
    series: dict[str, list[tuple[Any, Any, Any]]] = defaultdict(list)
    for run_date, stage, dataset, _out, quarantined, rate, *_rest in pipe:
        series[f"{stage} / {dataset}"].append((run_date, rate, quarantined))
    figs["quarantine"] = {
        "data": [
            {
                "type": "bar",
                "name": _t(name),
                "x": [_t(d) for d, _, _ in pts],
                "y": [round(100 * (_n(r) or 0), 2) for _, r, _ in pts],
                "customdata": [int(q or 0) for _, _, q in pts],
                "hovertemplate": "%{fullData.name} %{x}: %{y:.2f} % quarantined (%{customdata} rows)<extra></extra>",
            }
            for name, pts in series.items()
        ],
        "layout": _layout(
            "Quarantine rate by day, stage and dataset (%)",
            barmode="group",
            xaxis={"type": "category"},
            yaxis={"rangemode": "tozero", "title": {"text": "%"}},
        ),
    }
    if job_runs:
        by_dataset: dict[str, list[float]] = defaultdict(list)
        for m in job_runs:
            by_dataset[str(m.get("dataset", "?"))].append(_n(m.get("duration_s")) or 0.0)
        figs["durations"] = _bar(
            "Mean Glue job run duration by dataset (s)",
            list(by_dataset),
            [sum(v) / len(v) for v in by_dataset.values()],
            " s",
            extra_hover=[f"runs: {len(v)}" for v in by_dataset.values()],
        )
    return figs


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str) -> str:
    """An HTML table, every cell escaped; text cells left-aligned."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            text = "" if v is None else (f"{v:,.4f}" if isinstance(v, float) else str(v))
            cls = ' class="t"' if isinstance(v, str) else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _json_for_script(value: Any) -> str:
    """JSON that is safe inside a <script> element: no ``<``, ``>`` or ``&`` left in it (they
    can only occur inside JSON strings, where the ``\\u`` escapes mean the same)."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(
    results: Results,
    *,
    title: str = "shoplake demo report",
    job_runs: Sequence[Mapping[str, Any]] = (),
    summary: Mapping[str, Any] | None = None,
    missing: Mapping[str, str] | None = None,
    notice: str | None = None,
    script_src: tuple[str, str] | None = None,
    generated: datetime | None = None,
) -> str:
    """The page. ``script_src``: (plotly.js URL, boot script URL) to load them from the serving
    dashboard; None inlines both (the static file)."""
    figs = figures(results, job_runs)
    stamp = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")

    def chart(fid: str) -> str:
        return f'<div class="chart" id="chart-{fid}" role="img" aria-label="{_t(figs[fid]["layout"]["title"]["text"])}"></div>'

    _, cur_rows = results.get("revenue_by_currency", ((), ()))
    _, prod = results.get("top_products", ((), ()))
    pcols, prow = results.get("pipeline", ((), ()))
    summary_items = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
        for k, v in (summary or {}).items()
    )
    notes = "".join(
        f'<p class="note">{html.escape(name)}: not available ({html.escape(why)})</p>'
        for name, why in (missing or {}).items()
    )
    run_table = ""
    if job_runs:
        run_table = table(
            ["file", "engine", "rows read", "written", "quarantined", "duplicates", "seconds"],
            [
                (
                    str(m.get("source_object", "")).rsplit("/", 1)[-1],
                    m.get("engine"),
                    m.get("rows_read"),
                    m.get("rows_written"),
                    m.get("rows_quarantined"),
                    m.get("duplicates_dropped"),
                    m.get("duration_s"),
                )
                for m in job_runs
            ],
            caption="Glue job runs (from the run manifests)",
        )
    if script_src is None:
        scripts_head = f"<script>{plotly_js()}</script>"
        boot = f"<script>{BOOT_JS}</script>"
    else:
        scripts_head = f'<script src="{html.escape(script_src[0])}"></script>'
        boot = f'<script src="{html.escape(script_src[1])}"></script>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{CSS}</style>
{scripts_head}
</head><body>
<h1>{html.escape(title)}</h1><p class="sub">data read {html.escape(stamp)}</p>
{f'<p class="stale">{html.escape(notice)}</p>' if notice else ""}{notes}
{f'<section id="summary"><h2>Summary</h2><ul>{summary_items}</ul></section>' if summary_items else ""}
<section id="revenue"><h2>Sales</h2>{chart("revenue")}{chart("currency")}
{table(["order date", "currency", "net revenue (local)"], cur_rows, "Net revenue by currency")}</section>
<section id="products"><h2>Product performance</h2>{chart("products")}
{table(["product", "net revenue USD", "units", "return rate"], prod, "Top 10 products")}</section>
<section id="customers"><h2>Customer behaviour</h2>{chart("rfm")}{chart("cohorts")}</section>
<section id="pipeline"><h2>Pipeline health</h2>{chart("quarantine")}{chart("durations") if "durations" in figs else ""}{run_table}
{table(pcols, prow, "Pipeline runs by day, stage and dataset (fct_pipeline_health)")}</section>
<script type="application/json" id="shoplake-figures">{_json_for_script(figs)}</script>
{boot}
</body></html>
"""
