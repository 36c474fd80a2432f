"""Airflow as the local stack runs it: the four processes from
``shoplake.orchestration.components`` (started by ``shoplake.stack.up``, one process group),
``shoplake run batch`` through the REST API, and the near-real-time DAG fired by an
AssetWatcher when the event path commits a file.

These start real processes and run DAGs through the real scheduler (~2-3 min; marked slow:
`make test-fast` leaves them out, `make test` and CI run them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from shoplake import stack as stack_mod
from shoplake.orchestration import DAILY_DAG_ID, NRT_DAG_ID
from shoplake.settings import ROOT, Settings, load_settings

pytestmark = pytest.mark.slow


def _quiet(_: str) -> None:
    pass


def _small_batch(root: Path, day: str, n_orders: int = 40, offset: int = 0) -> Path:
    src = ROOT / "data" / "sample" / f"day={day}"
    dst = root / src.name
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        lines = f.read_text().splitlines(keepends=True)
        if f.name.startswith("orders"):
            body = lines[:1] + lines[1 + offset:1 + offset + n_orders]
        else:
            body = lines[:20]
        (dst / f.name.replace(f"_{day}", f"_{day}_proctest")).write_text("".join(body))
    return root


@pytest.fixture(scope="module")
def airflow_procs(airflow_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Airflow's components for the session's stack, started by ``stack.up`` in a process
    group of their own (so ``down`` stops exactly them)."""
    from shoplake.orchestration.components import airflow_components
    from shoplake.orchestration.config import admin_password
    group = load_settings(home=tmp_path_factory.mktemp("airflow-group"))
    comps = airflow_components(airflow_stack, aws_url=airflow_stack.aws_endpoint_url,
                               glue_url=airflow_stack.glue_endpoint_url)
    original = stack_mod.plan_components
    stack_mod.plan_components = lambda _s, _ports=None: comps  # the one-line plug-in, here for a test
    t0 = time.monotonic()
    try:
        state = stack_mod.up(group, echo=_quiet)
    finally:
        stack_mod.plan_components = original
    startup = time.monotonic() - t0
    try:
        procs = stack_mod.group_members(state["pgid"])
        rss = sum(p.memory_info().rss for p in procs if p.is_running())
        yield {"state": state, "url": state["endpoints"]["airflow"], "startup_s": startup,
               "rss_mb": rss / 2**20, "password": admin_password(airflow_stack), "group": group}
    finally:
        _down(group, state["pgid"])


def _down(group: Settings, pgid: int) -> None:
    """``stack.down``, retried: its scan of the group can race a task process that exits
    while it looks (ProcessLookupError from os.getpgid). Then nothing may be left (a
    LocalExecutor worker busy with a task can outlast the SIGTERM grace and be SIGKILLed)."""
    for _ in range(3):
        try:
            stack_mod.down(group, echo=_quiet, timeout=20)
            break
        except ProcessLookupError:
            continue
    left: list[Any] = []
    deadline = time.monotonic() + 15  # SIGKILLed processes take a moment to go
    while time.monotonic() < deadline:
        try:
            left = stack_mod.group_members(pgid)
        except ProcessLookupError:
            continue
        if not left:
            break
        time.sleep(0.5)
    assert not left, f"Airflow processes left running: {left}"


def _cli(settings: Settings, url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOPLAKE_HOME": str(settings.home), "SHOPLAKE_AIRFLOW_URL": url}
    return subprocess.run([sys.executable, "-m", "shoplake.cli", *args], env=env, text=True,
                          capture_output=True, timeout=timeout, cwd=ROOT)


def test_components_healthy_and_bound_to_loopback(airflow_procs: dict[str, Any]) -> None:
    print(f"airflow start-up {airflow_procs['startup_s']:.1f}s, RSS {airflow_procs['rss_mb']:.0f} MB")
    state = airflow_procs["state"]
    assert set(state["components"]) == {"airflow-api", "airflow-scheduler",
                                        "airflow-dag-processor", "airflow-triggerer"}
    assert all(stack_mod.component_health(state).values()), stack_mod.component_health(state)
    pids = {p.pid for p in stack_mod.group_members(state["pgid"])}
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and c.pid in pids:
            assert c.laddr.ip == "127.0.0.1", c


def _mart_figures(settings: Settings) -> dict[str, tuple[Any, ...]]:
    """Row counts and money totals of the marts (read under the warehouse writer lock)."""
    from shoplake.warehouse import query
    from shoplake.warehouse.writer_lock import writer_lock

    sql = {
        "fct_orders": "select count(*), sum(line_amount)::number(38,2), sum(amount_usd)::number(38,2) "
                      "from analytics.fct_orders",
        "fct_daily_revenue": "select count(*), sum(net_amount_usd)::number(38,2) from analytics.fct_daily_revenue",
        "dim_customers": "select count(*), count_if(is_current) from analytics.dim_customers",
        "fct_product_performance": "select count(*), sum(units_sold) from analytics.fct_product_performance",
        "dim_customer_rfm": "select count(*) from analytics.dim_customer_rfm",
    }
    with writer_lock(settings, what="test"):
        return {name: query(q, settings).rows[0] for name, q in sql.items()}


def test_run_batch_cli(airflow_stack: Settings, airflow_procs: dict[str, Any], tmp_path: Path) -> None:
    root = _small_batch(tmp_path, "2026-01-03")
    proc = _cli(airflow_stack, airflow_procs["url"], "run", "batch", "--date", "2026-01-03",
                "--batch-root", str(root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "publish_summary: success" in proc.stdout
    assert "success" in proc.stdout.splitlines()[-1]
    first = _mart_figures(airflow_stack)
    assert first["fct_orders"][0] > 0

    # the same day again: identical mart row counts and totals
    again = _cli(airflow_stack, airflow_procs["url"], "run", "batch", "--date", "2026-01-03",
                 "--batch-root", str(root))
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert _mart_figures(airflow_stack) == first

    from shoplake.orchestration.client import airflow_status

    status = airflow_status(load_settings(home=airflow_stack.home,
                                          airflow_url=airflow_procs["url"]))
    assert status["reachable"] and status["health"]["scheduler"]["status"] == "healthy"
    assert status["dags"][DAILY_DAG_ID]["last_runs"][0]["state"] == "success"


def test_run_batch_fails_nonzero(airflow_stack: Settings, airflow_procs: dict[str, Any], tmp_path: Path) -> None:
    day = tmp_path / "day=2026-03-03"
    day.mkdir()
    (day / "orders_2026-03-03.csv.gz").write_bytes(b"not gzip\n")
    proc = _cli(airflow_stack, airflow_procs["url"], "run", "batch", "--date", "2026-03-03",
                "--batch-root", str(tmp_path))
    assert proc.returncode != 0
    assert "cleanse" in proc.stdout and "failed" in proc.stdout


def test_near_real_time(airflow_stack: Settings, airflow_procs: dict[str, Any], tmp_path: Path) -> None:
    """A file lands -> event path -> job_succeeded -> asset event -> NRT run loads it."""
    from shoplake.ingest import ingest
    from shoplake.orchestration.client import AirflowClient
    from shoplake.warehouse import WarehouseError, query

    client = AirflowClient(airflow_procs["url"], "admin", airflow_procs["password"])
    before = {r["dag_run_id"] for r in client.last_runs(NRT_DAG_ID, limit=50)}
    f = tmp_path / "orders_2026-01-05.csv"
    lines = (ROOT / "data" / "sample" / "day=2026-01-03" / "orders_2026-01-03.csv").read_text().splitlines()
    header, row = lines[0], lines[1].split(",")
    cols = header.split(",")
    row[cols.index("order_id")] = "NRT-0001"
    f.write_text(header + "\n" + ",".join(row) + "\n")
    t0 = time.monotonic()
    ingest([f], airflow_stack, echo=_quiet)
    deadline = t0 + 180
    rows: list[Any] = []
    while time.monotonic() < deadline:
        try:
            rows = query("select count(*) from analytics.fct_orders where order_id = 'NRT-0001'",
                         airflow_stack, lock_wait_s=2).rows
        except WarehouseError:  # a writer holds the DuckDB file: look again
            rows = []
        if rows and rows[0][0]:
            break
        time.sleep(1)
    latency = time.monotonic() - t0
    runs = [r for r in client.last_runs(NRT_DAG_ID, limit=50) if r["dag_run_id"] not in before]
    assert runs, "no near-real-time run"
    assert rows and rows[0][0] == 1, f"NRT-0001 not in fct_orders after {latency:.0f}s: {runs}"
    print(f"object put -> fct_orders: {latency:.1f}s")
