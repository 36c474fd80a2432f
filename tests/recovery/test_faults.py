"""Faults on the real embedded stack, recovered the way an operator would: at most
``shoplake up`` and ``shoplake wait``. Each scenario ends with every row of every sample
object in ``fct_orders`` exactly once (counts and sums equal data/sample/manifest.json) and
nothing pending, failed or in the dead-letter queue.

Every scenario drives the real ``shoplake`` CLI in a subprocess against a stack of its own
(its own ``SHOPLAKE_HOME``), so restarts restore real persisted state: nothing here starts
from a reset emulator.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
SHOPLAKE = str(Path(sys.executable).with_name("shoplake"))
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())


class Operator:
    """One stack of its own, driven through the CLI like a person at a terminal."""

    def __init__(self, home: Path, airflow: bool = False) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPLAKE_", "AWS_"))}
        self.env.update(SHOPLAKE_HOME=str(home), SHOPLAKE_LOCAL_AIRFLOW=str(airflow).lower())
        self.log: list[str] = []

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        t0 = time.monotonic()
        r = subprocess.run([SHOPLAKE, *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                           cwd=str(ROOT))
        self.log.append(f"$ shoplake {' '.join(args)}  ({time.monotonic() - t0:.1f}s, exit {r.returncode})")
        if check:
            assert r.returncode == 0, f"shoplake {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
        return r

    def timed(self, *args: str) -> float:
        t0 = time.monotonic()
        self.run(*args)
        return time.monotonic() - t0

    def state(self) -> dict[str, Any]:
        return json.loads((self.home / "stack.json").read_text())

    def pid(self, component: str) -> int:
        return int(self.state()["components"][component]["pid"])

    def kill(self, component: str) -> None:
        os.kill(self.pid(component), signal.SIGKILL)
        _wait_for(lambda: not _alive(self.pid(component)), f"{component} to die")

    def runs(self, states: set[str]) -> list[dict[str, Any]]:
        out = []
        for path in (self.home / "glue_runner" / "runs").glob("*/*.json"):
            try:
                run = json.loads(path.read_text())
            except ValueError:
                continue
            if run.get("JobRunState") in states:
                out.append(run)
        return out


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_for(cond: Any, what: str, timeout: float = 60.0, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    op = Operator(tmp_path / "home")
    try:
        yield op
    finally:
        op.run("down", check=False, timeout=120)
        print("\n".join(op.log))


def _ingest_and_interrupt(op: Operator) -> None:
    """Ingest the whole sample and return once a Glue run is RUNNING (mid-processing)."""
    op.run("ingest", str(SAMPLE))
    _wait_for(lambda: op.runs({"RUNNING"}), "a Glue run to be RUNNING", timeout=60, poll=0.02)


def _assert_recovered(op: Operator) -> None:
    """Nothing pending/failed, then the warehouse: fct_orders equals the manifest."""
    wait = op.run("wait", "--timeout", "300")
    assert "objects: 9 loaded, 0 failed, DLQ depth 0" in wait.stdout, wait.stdout
    doctor = op.run("doctor", check=False)
    assert doctor.returncode == 0, doctor.stdout
    op.run("load")
    op.run("transform")
    assert_fct_orders_equal_manifest(op.home / "warehouse.duckdb")


def assert_fct_orders_equal_manifest(warehouse: Path) -> None:
    import duckdb

    final = MANIFEST["final"]["orders"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        lines, orders = con.execute(
            "select count(*), count(distinct order_id) from analytics.fct_orders").fetchone()
        dup = con.execute("select count(*) from (select order_line_id from analytics.fct_orders "
                          "group by 1 having count(*) > 1)").fetchone()[0]
        by_status = dict(con.execute(
            "select order_status, count(*) from analytics.fct_orders group by 1").fetchall())
        by_currency = {c: Decimal(str(v)) for c, v in con.execute(
            "select currency_code, sum(line_amount) from analytics.fct_orders group by 1").fetchall()}
        by_day = {str(d): n for d, n in con.execute(
            "select order_date, count(distinct order_id) from analytics.fct_orders group by 1").fetchall()}
    finally:
        con.close()
    assert dup == 0
    assert (lines, orders) == (final["order_lines"], final["orders"])
    assert by_status == final["status_counts"]
    assert by_currency == {c: Decimal(v) for c, v in final["line_amount_by_currency"].items()}
    assert by_day == final["orders_by_order_date"]


# --- the scenarios ---------------------------------------------------------------------------
def test_sigkill_emulator_mid_ingest(operator: Operator) -> None:
    operator.run("up")
    _ingest_and_interrupt(operator)
    operator.kill("emulator")
    assert operator.run("status", check=False).returncode != 0  # status tells
    recovery = operator.timed("up")
    print(f"recovery (shoplake up) after SIGKILL of the emulator: {recovery:.1f}s")
    _assert_recovered(operator)


def test_sigkill_glue_runner_mid_run(operator: Operator) -> None:
    operator.run("up")
    _ingest_and_interrupt(operator)
    operator.kill("glue-runner")
    assert operator.run("status", check=False).returncode != 0
    up = operator.run("up")
    assert "glue-runner" in up.stdout and "is dead: restarting it" in up.stdout, up.stdout
    _assert_recovered(operator)


def test_down_during_processing(operator: Operator) -> None:
    operator.run("up")
    _ingest_and_interrupt(operator)
    operator.run("down")
    operator.run("up")
    _assert_recovered(operator)


def test_clean_restart_then_new_ingest(operator: Operator) -> None:
    """The event path delivers after a clean stop and start from persisted state (MiniStack
    keys its queues by a URL holding its port: the stack keeps the port)."""
    operator.run("up")
    port = operator.state()["components"]["emulator"]["port"]
    operator.run("ingest", str(SAMPLE / "day=2026-01-01"))
    operator.run("wait", "--timeout", "120")
    operator.run("down")
    up = operator.run("up")
    assert operator.state()["components"]["emulator"]["port"] == port
    assert "event path delivers" in up.stdout
    assert "shoplake: no changes" in up.stdout, up.stdout  # the persisted state came back whole
    for day in ("day=2026-01-02", "day=2026-01-03"):
        operator.run("ingest", str(SAMPLE / day))
    operator.run("wait", "--timeout", "120")
    _assert_recovered(operator)


def _cmdline(process: psutil.Process) -> str:
    """A child's command line; "" for one that exits (or is a zombie) while we look."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


@pytest.mark.airflow
def test_sigkill_airflow_scheduler_during_batch(tmp_path: Path) -> None:
    op = Operator(tmp_path / "home", airflow=True)
    try:
        op.run("up")
        batch = subprocess.Popen([SHOPLAKE, "run", "batch", "--date", "2026-01-01"], env=op.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT))
        _wait_for(lambda: op.runs({"RUNNING", "SUCCEEDED"}), "the batch's first Glue run", timeout=300, poll=0.2)
        scheduler = [p for p in psutil.Process(op.pid("airflow-scheduler")).children(recursive=True)
                     if "scheduler" in _cmdline(p)]
        assert scheduler, "no airflow scheduler process"
        for p in scheduler:
            p.kill()
        _wait_for(lambda: not _alive(op.pid("airflow-scheduler")), "the scheduler's launcher to exit")
        batch.kill()  # the operator's terminal is gone too; Airflow must finish the run by itself
        up = op.run("up")
        assert "airflow-scheduler" in up.stdout, up.stdout
        op.run("wait", "--timeout", "900")  # waits for the cut-short DAG run to finish by itself
        runs = json.loads(op.run("airflow", "status").stdout)["dags"]["shoplake_daily"]["last_runs"]
        assert [r["state"] for r in runs if r["logical_date"].startswith("2026-01-01")] == ["success"], runs
        for day in ("2026-01-02", "2026-01-03"):  # the rest of the sample, as usual
            op.run("run", "batch", "--date", day, timeout=900)
        assert_fct_orders_equal_manifest(op.home / "warehouse.duckdb")
    finally:
        op.run("down", check=False, timeout=120)
        print("\n".join(op.log))


def test_a_queue_without_a_consumer_is_unhealthy_and_up_repairs_it(operator: Operator) -> None:
    import boto3

    operator.run("up")
    env = dict(line.removeprefix("export ").split("=", 1) for line in
               operator.run("env").stdout.splitlines() if line.startswith("export AWS_"))
    lam = boto3.client("lambda", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    (mapping,) = lam.list_event_source_mappings(FunctionName="shoplake-s3-trigger")["EventSourceMappings"]
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)  # listed, polls nothing
    operator.run("ingest", str(SAMPLE / "day=2026-01-01"))
    status = operator.run("status", check=False)
    assert status.returncode != 0 and "none taken" in status.stdout, status.stdout
    doctor = operator.run("doctor", check=False)
    assert doctor.returncode != 0 and "event path" in doctor.stdout, doctor.stdout
    up = operator.run("up")
    assert "re-enabling the event source mapping" in up.stdout and "event path delivers" in up.stdout, up.stdout
    wait = operator.run("wait", "--timeout", "120")
    assert "objects: 3 loaded, 0 failed, DLQ depth 0" in wait.stdout, wait.stdout
