"""The daily DAG, run for real with ``dag.test()`` against the embedded stack: FX API stand-in,
MiniStack (S3, SNS, SQS, Lambda, EventBridge), the local Glue job runner, DuckDB warehouse,
dbt. ``dag.test()`` does not raise when a task fails: every test asserts the run's state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shoplake import alerts, lake
from shoplake.orchestration import DAILY_DAG_ID
from shoplake.settings import ROOT, Settings

DAY = datetime(2026, 1, 2, tzinfo=UTC)  # a Friday: an ECB business day
pytestmark = pytest.mark.slow


def run_for(day: datetime) -> datetime:
    """``dag.test(logical_date=...)`` of a manual run covering ``day``: a manual run at
    D+1 00:00 gets the last complete interval [D, D+1) (CronDataIntervalTimetable)."""
    return day + timedelta(days=1)


def _dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "ecommerce_pipeline.py"))
    assert bag.import_errors == {}
    return bag.dags[DAILY_DAG_ID]


def _states(dr: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for ti in dr.get_task_instances():
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        out[name] = str(ti.state)
    return out


def _curated_snapshot(settings: Settings) -> dict[str, Any]:
    """Every curated data file of the day's sources (key -> size) and the manifests' counts."""
    out: dict[str, Any] = {}
    for obj in lake.list_keys(settings, "curated/_manifests/"):
        m = lake.get_json(settings, obj["Key"])
        assert m is not None
        out[m["source_object"]] = {"files": sorted(m["files"]), "rows_written": m["rows_written"],
                                   "rows_quarantined": m["rows_quarantined"]}
    return out


def _count(settings: Settings, table: str) -> int:
    from shoplake.warehouse import query

    return int(query(f"select count(*) from {table}", settings).rows[0][0])


@pytest.fixture(scope="module")
def batch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small copy of the sample batch of DAY (the head of each file): same shapes, less
    to load, so the suite stays quick. Own file names, so the session's other tests that
    ingest the sample itself never see a second version of their keys."""
    root = tmp_path_factory.mktemp("batches")
    src = ROOT / "data" / "sample" / f"day={DAY.date()}"
    dst = root / src.name
    dst.mkdir()
    for f in sorted(src.iterdir()):
        lines = f.read_text().splitlines(keepends=True)
        name = f.name.replace(f"_{DAY.date()}", f"_{DAY.date()}_dagtest")
        (dst / name).write_text("".join(lines[:60 if f.name.startswith("orders") else 25]))
    return root


def _run(day: datetime, root: Path, **kwargs: Any) -> Any:
    return _dag().test(logical_date=run_for(day), run_conf={"batch_root": str(root)}, **kwargs)


@pytest.fixture(scope="module")
def first_run(airflow_stack: Settings, batch_root: Path) -> tuple[Any, dict[str, str]]:
    dr = _run(DAY, batch_root)
    return dr, _states(dr)


def test_daily_run_succeeds(first_run: tuple[Any, dict[str, str]], airflow_stack: Settings) -> None:
    dr, states = first_run
    assert dr.state == "success", states
    assert dr.data_interval_start == DAY
    assert {s for s in states.values()} == {"success"}, states
    assert sum(k.startswith("cleanse[") for k in states) == 3  # orders, customers, products

    # every file of the day is committed: a manifest of its current version
    curated = _curated_snapshot(airflow_stack)
    day_sources = {u for u in curated if "ingest_date=2026-01-02" in u}
    assert {u.rsplit("/", 1)[-1] for u in day_sources} >= {
        "orders_2026-01-02_dagtest.csv", "customers_2026-01-02_dagtest.json",
        "products_2026-01-02_dagtest.csv"}
    day_sources = {u for u in day_sources if "_dagtest" in u}
    assert all(curated[u]["rows_written"] > 0 for u in day_sources)
    # FX for the day landed in raw (the key is pinned to the interval, not to today)
    fx_keys = [o["Key"] for o in lake.list_keys(airflow_stack, "raw/fx_rates/")]
    assert "raw/fx_rates/ingest_date=2026-01-03/frankfurter_2026-01-02_2026-01-02.json" in fx_keys

    # the warehouse has the rows, dbt built the marts
    assert _count(airflow_stack, "raw.orders") > 0
    assert _count(airflow_stack, "raw.fx_rates") > 0

    # the summary went to the alerts topic
    summaries = [a for a in alerts.latest(airflow_stack, limit=200) if a.get("event") == "batch_succeeded"]
    assert summaries, "no batch_succeeded alert"
    assert summaries[-1]["business_day"] == "2026-01-02"
    assert summaries[-1]["counts"]["objects"] == 3


def test_rerun_is_idempotent(first_run: tuple[Any, dict[str, str]], airflow_stack: Settings,
                             batch_root: Path) -> None:
    dr, _ = first_run
    assert dr.state == "success"
    before = _curated_snapshot(airflow_stack)
    orders_before = _count(airflow_stack, "raw.orders")
    # dbt is not what this checks (and costs ~30 s): mark it done, run everything else
    dr2 = _run(DAY, batch_root, mark_success_pattern="dbt_build")
    assert dr2.state == "success", _states(dr2)
    assert _curated_snapshot(airflow_stack) == before
    assert _count(airflow_stack, "raw.orders") == orders_before
    # nothing was uploaded again: still one version per raw object of the day
    from shoplake import aws

    versions = aws.client("s3", airflow_stack).list_object_versions(
        Bucket=airflow_stack.lake_bucket, Prefix="raw/orders/ingest_date=2026-01-02/orders_2026-01-02_dagtest")
    assert len(versions.get("Versions", [])) == 1


def test_no_batch_for_the_day_skips(airflow_stack: Settings, first_run: tuple[Any, dict[str, str]],
                                    batch_root: Path) -> None:
    dr = _run(datetime(2026, 2, 1, tzinfo=UTC), batch_root)
    states = _states(dr)
    assert dr.state == "success", states
    assert states["fetch_fx"] == "success"
    assert states["upload_batch"] == "skipped"
    assert states["publish_summary"] == "skipped"


def test_failure_publishes_an_alert(airflow_stack: Settings, first_run: tuple[Any, dict[str, str]],
                                    batch_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The FX API is down: ``fetch_fx`` fails, nothing downstream runs, and the failure alert
    names the task, its try and its log. (A failure that leaves the shared lake alone; the
    Glue-failure path runs in test_local_airflow.py.)"""

    monkeypatch.setenv("SHOPLAKE_FX_API_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("SHOPLAKE_FX_RETRY", json.dumps({"max_attempts": 1}))
    dag = _dag()
    for t in dag.tasks:  # fail fast: no Airflow retries inside the test
        t.retries = 0
    alerts.collect(airflow_stack)
    seen = {a["message_id"] for a in alerts.read_log(airflow_stack)}
    dr = dag.test(logical_date=run_for(datetime(2026, 1, 5, tzinfo=UTC)),
                  run_conf={"batch_root": str(batch_root)})
    states = _states(dr)
    assert dr.state == "failed", states
    assert states["fetch_fx"] == "failed"
    assert states["upload_batch"] == "upstream_failed"
    assert states["publish_summary"] == "upstream_failed"
    new = [a for a in alerts.latest(airflow_stack, limit=500) if a["message_id"] not in seen]
    failed = [a for a in new if a.get("event") == "task_failed"]
    assert len(failed) == 1, json.dumps(new, indent=1)[:2000]
    assert failed[0]["task_id"] == "fetch_fx"
    assert failed[0]["dag_id"] == DAILY_DAG_ID
    assert failed[0]["try_number"] == 1
    assert failed[0]["log_url"]
    assert "127.0.0.1:9" in failed[0]["error"] or "Fx" in failed[0]["error"]
