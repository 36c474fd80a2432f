"""Every DAG file imports cleanly and follows the house rules (no database needed)."""

from __future__ import annotations

import pytest

from shoplake.orchestration import DAILY_DAG_ID
from shoplake.settings import ROOT


@pytest.fixture(scope="module")
def dagbag():  # noqa: ANN201 - airflow type imported lazily
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag) -> None:  # noqa: ANN001
    assert dagbag.import_errors == {}
    assert DAILY_DAG_ID in dagbag.dags


def test_house_rules(dagbag) -> None:  # noqa: ANN001
    assert dagbag.dags, "no DAG found"
    for dag_id, dag in dagbag.dags.items():
        assert "shoplake" in dag.tags, dag_id
        for t in dag.tasks:
            assert t.owner == "data-platform", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)
            assert t.on_failure_callback, (dag_id, t.task_id)


def test_daily_shape(dagbag) -> None:  # noqa: ANN001
    dag = dagbag.dags[DAILY_DAG_ID]
    order = ["fetch_fx", "upload_batch", "wait_for_raw", "cleanse", "settle", "load_warehouse",
             "dbt_build", "summary", "publish_summary"]
    assert set(order) <= set(dag.task_dict)
    for up, down in zip(order, order[1:], strict=False):
        assert up in dag.task_dict[down].upstream_task_ids, (up, down)
    assert type(dag.task_dict["cleanse"]).__name__ == "MappedOperator"
    assert dag.task_dict["cleanse"].operator_name == "GlueJobOperator"
    assert dag.task_dict["load_warehouse"].retry_exponential_backoff
    assert dag.max_active_runs == 1


def test_top_level_code_is_light() -> None:
    """Parsing a DAG file imports no warehouse, dbt, FX or DuckDB code and is quick."""
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import importlib.util, json, sys, time\n"
        "import airflow.sdk  # noqa: F401 - Airflow's own import time is not the DAG's\n"
        "import airflow.providers.amazon.aws.operators.glue  # noqa: F401\n"
        "import airflow.providers.amazon.aws.operators.sns  # noqa: F401\n"
        "import airflow.providers.amazon.aws.sensors.s3  # noqa: F401\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    t0 = time.perf_counter()\n"
        "    spec = importlib.util.spec_from_file_location('dagfile', path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "    out[path] = time.perf_counter() - t0\n"
        "heavy = [m for m in ('shoplake.warehouse', 'shoplake.transform', 'shoplake.fx', 'duckdb')"
        " if m in sys.modules]\n"
        "print(json.dumps({'seconds': out, 'heavy': heavy}))\n"
    )
    files = [str(p) for p in sorted((ROOT / "dags").glob("*.py"))]
    proc = subprocess.run([sys.executable, "-c", probe, *files], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert all(sec < 2 for sec in result["seconds"].values()), result
