"""Acceptance of `shoplake demo` on its own embedded stack: three sample days through the event
path, the warehouse and dbt; the summary adds up; the static HTML report and `shoplake
dashboard` (over the same marts, product names made hostile through the real path) render in
headless Chromium with drawn, interactive charts and no request leaving 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shoplake import stack
from shoplake.cli import cli
from shoplake.settings import ROOT, load_settings

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on this machine: apt-get install -y chromium (.ci/run does)")
HOSTILE = ("<script>alert(1)</script>", '"onmouseover=alert(2) x="')
CHART_TITLES = ("Daily net revenue (USD)", "Top products by net revenue (USD)", "Customers per RFM segment",
                "Monthly cohort retention", "Quarantine rate by day, stage and dataset (%)")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    home = tmp_path_factory.mktemp("demo-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SHOPLAKE_HOME", str(home))
    try:
        result = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
        assert result.exit_code == 0, result.output[-3000:]
        yield result.output, home
    finally:
        stack.down(load_settings(home=home), echo=lambda _: None, timeout=10)
        mp.undo()


def test_demo_summary_matches_the_sample_manifest(demo_run: tuple[str, Path]) -> None:
    output, home = demo_run
    totals = json.loads((ROOT / "data" / "sample" / "manifest.json").read_text())["totals"]
    rows = sum(t["rows"] for t in totals.values())
    written = sum(t["rows_written"] for t in totals.values())
    quarantined = sum(sum(t["quarantined"].values()) for t in totals.values())
    assert f"rows read: {rows}" in output
    assert f"rows loaded to curated: {written}" in output
    assert f"rows quarantined: {quarantined}" in output
    assert "failed objects: 0" in output and "DLQ depth: 0" in output
    # the per-phase timing line: stack start, FX, per day event path / load / dbt, report
    phases = next(line for line in output.splitlines() if "phases (s):" in line)
    assert "stack " in phases and "fx " in phases and "report " in phases
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        assert f"{day} event " in phases, phases
    assert phases.count(" / load ") == 3 and phases.count(" / dbt ") == 3, phases
    assert (home / "report" / "index.html").exists() and f"report: {home / 'report' / 'index.html'}" in output


def test_marts_agree_with_an_independent_read_of_the_curated_parquet(demo_run: tuple[str, Path]) -> None:
    """fct_orders totals == DuckDB straight over curated Parquet (latest version per order
    line across all files); every non-USD order on a date the FX rates cover has a USD amount."""
    import duckdb

    from shoplake import aws, lake
    from shoplake.warehouse import query
    from shoplake.warehouse.writer_lock import writer_lock

    _, home = demo_run
    s = load_settings(home=home)
    files = []
    for obj in lake.list_keys(s, "curated/_manifests/orders/"):
        files += [f"s3://{s.lake_bucket}/{k}" for k in lake.get_json(s, obj["Key"])["files"]]
    con = duckdb.connect()
    con.register_filesystem(aws.s3fs_filesystem(s))
    expected = con.execute(f"""
        select currency, count(*), sum(line_amount)::decimal(18,2) from (
          select *, row_number() over (partition by order_id, line_number
                                       order by updated_at desc, source_object desc) as rn
          from read_parquet({files!r})) where rn = 1 group by 1 order by 1""").fetchall()
    with writer_lock(s, what="test"):  # Airflow's near-real-time DAG may be writing
        got = query("select currency_code, count(*), sum(line_amount)::number(18,2) from analytics.fct_orders "
                    "group by 1 order by 1", s).rows
        fx_rows = query("select count(*) from raw.fx_rates", s).rows[0][0]
        uncovered = query("""select count(*) from analytics.fct_orders
                             where currency_code <> 'USD' and amount_usd is null""", s).rows[0][0]
    assert [(c, int(n), float(a)) for c, n, a in got] == [(c, int(n), float(a)) for c, n, a in expected]
    assert fx_rows > 0
    assert uncovered == 0


# --- the report and the dashboard in headless Chromium ------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # the system chromium (Debian), never a downloaded build: no `playwright install`
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        try:
            yield b
        finally:
            b.close()


def _distinct_pixels(page: Any, png: bytes) -> int:
    """Colours in a sample of the screenshot's pixels, decoded by the browser itself."""
    import base64

    data = "data:image/png;base64," + base64.b64encode(png).decode()
    return page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
        const ctx = c.getContext("2d"); ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < px.length; i += 4 * 97) seen.add(px[i] << 16 | px[i + 1] << 8 | px[i + 2]);
        return seen.size; }""", data)


def _check_page(browser: Any, url: str, allowed_prefix: str, tmp_path: Path) -> Any:
    """Load ``url`` with every request outside ``allowed_prefix`` recorded and aborted; check
    every chart has drawn marks, a hover shows a value and the screenshot is not blank.
    Returns the page (still open) for further checks."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(allowed_prefix):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-charts-ready]", timeout=60_000)
    assert outside == [], outside
    marks = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll(".chart"))
        .map(c => [c.id, c.querySelectorAll("g.trace .point, g.hm image").length]))""")
    assert len(marks) >= 6 and all(n > 0 for n in marks.values()), marks
    text = page.inner_text("body")
    for title in CHART_TITLES:
        assert title in text or page.locator(f"text={title}").count() > 0, title
    bar = page.locator("#chart-revenue g.trace .point path").first
    bar.scroll_into_view_if_needed()
    bar.hover(force=True)
    page.wait_for_selector("#chart-revenue .hoverlayer .hovertext", timeout=10_000)
    hover = page.evaluate("() => document.querySelector('#chart-revenue .hoverlayer').textContent")
    assert "USD" in hover and any(ch.isdigit() for ch in hover), hover
    shot = page.screenshot(full_page=True)
    (tmp_path / "page.png").write_bytes(shot)
    assert len(shot) > 20_000 and _distinct_pixels(page, shot) > 10
    assert dialogs == [] and errors == [], (dialogs, errors)
    return page


@needs_chromium
def test_static_report_renders_offline_in_headless_chromium(demo_run: tuple[str, Path], browser: Any,
                                                            tmp_path: Path) -> None:
    _, home = demo_run
    report = home / "report" / "index.html"
    page = _check_page(browser, report.as_uri(), report.as_uri(), tmp_path)
    page.context.close()


@pytest.fixture(scope="module")
def hostile_products(demo_run: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The two best-selling products renamed to hostile names by a new products file that goes
    the real way: raw/ -> event path -> curated -> load -> dbt build."""
    from shoplake import ingest
    from shoplake.transform import run_dbt
    from shoplake.warehouse import load, query
    from shoplake.warehouse.writer_lock import writer_lock

    _, home = demo_run
    s = load_settings(home=home)
    with writer_lock(s, what="test"):
        top = [r[0] for r in query("select product_id from analytics.fct_product_performance "
                                   "order by revenue_rank, product_id limit 2", s).rows]
    rows: dict[str, dict[str, str]] = {}
    for path in sorted((ROOT / "data" / "sample").glob("day=*/products_*.csv")):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row["product_id"] in top:
                    rows[row["product_id"]] = row
    out = tmp_path_factory.mktemp("hostile") / "products_2026-01-04.csv"
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(next(iter(rows.values()))))
        writer.writeheader()
        for pid, name in zip(top, HOSTILE, strict=True):
            writer.writerow({**rows[pid], "name": name, "updated_at": "2026-01-04T08:00:00Z"})
    keys = {u.key for u in ingest.ingest([out], s, echo=lambda _: None) if u.key}
    waited = ingest.wait(s, timeout=600, echo=lambda _: None, keys=keys)
    assert waited.ok, waited.failed
    load(s)
    run_dbt(["build"], s)
    return top


@needs_chromium
def test_dashboard_serves_the_marts_in_headless_chromium(demo_run: tuple[str, Path], hostile_products: list[str],
                                                         browser: Any, tmp_path: Path) -> None:
    from shoplake.stack import free_port

    _, home = demo_run
    port = free_port()
    env = {**os.environ, "SHOPLAKE_HOME": str(home)}
    log_path = tmp_path / "dashboard.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "shoplake.cli", "dashboard", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        page = _check_page(browser, base + "/", base + "/", tmp_path)
        # the hostile names are shown as text: in the chart's axis and in the table, no tag made
        ticks = page.evaluate("() => Array.from(document.querySelectorAll('#chart-products .ytick text'))"
                              ".map(t => t.textContent)")
        cells = page.evaluate("() => Array.from(document.querySelectorAll('#products td')).map(t => t.textContent)")
        for name in HOSTILE:
            assert name in ticks and name in cells, (name, ticks, cells)
        assert page.evaluate("() => document.querySelectorAll('script').length") == 3
        assert page.evaluate("() => document.querySelectorAll('[onmouseover]').length") == 0
        page.hover("#chart-products g.trace .point path", force=True)
        page.wait_for_selector("#chart-products .hoverlayer .hovertext", timeout=10_000)
        page.context.close()
        # between reads the dashboard holds nothing open: a writer gets the file at once
        # (lock_wait_s=0: DuckDB's file lock refuses a writer while any reader has it open)
        from shoplake.warehouse import connection as wc
        from shoplake.warehouse.writer_lock import writer_lock

        s = load_settings(home=home)
        with writer_lock(s, timeout=60, what="test"):
            wc.connect(s, lock_wait_s=0).close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
