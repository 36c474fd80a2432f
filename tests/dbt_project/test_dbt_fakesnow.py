"""The same models through dbt-snowflake (target `prod`), against fakesnow in-process:
Snowflake SQL rendered by the snowflake__ macros, transpiled to DuckDB by fakesnow.
See fakesnow_harness.py for the shims and what fakesnow cannot run (MERGE)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

HARNESS = Path(__file__).with_name("fakesnow_harness.py")


@pytest.mark.slow  # optional emulator check (~20 s): `make test-fast` skips it
def test_prod_target_builds_on_fakesnow(tmp_path, raw_data):
    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, str(HARNESS), str(tmp_path / "db"), str(tmp_path / "target"), str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    summary = json.loads(out.read_text())
    bad = {k: v for k, v in summary["statuses"].items() if v not in ("success", "pass", "warn")}
    assert summary["success"] and not bad, bad
    assert any(k.startswith("snapshot.") for k in summary["statuses"])

    usd = {
        line: (Decimal(a) if a is not None else None, has)
        for line, a, has, _ in summary["fct_orders"]
    }
    assert len(usd) == 7
    assert usd["O2-1"] == (Decimal("23.29"), True)  # EUR on Saturday, Friday's rate
    assert usd["O3-1"] == (Decimal("29.29"), True)  # GBP on Sunday
    assert usd["O4-1"] == (None, False)  # CHF: no rate
    # the Snowflake HMAC (sha2/sha2_binary over binaries) = Python's hmac; phone masked the same way
    c1 = next(r for r in summary["dim_customers"] if r[0] == "C1")
    assert c1[1] == hmac.new(b"fakesnow-test-key-0123456789abcdef", b"ann@example.com", hashlib.sha256).hexdigest()
    assert c1[2] == "**********67"

    # every model's SQL, compiled for Snowflake with the incremental branches (the relations
    # exist after the first build), parses as Snowflake
    assert summary["compile_success"]
    compiled = summary["compiled"]
    assert {
        "fct_orders",
        "int_orders__daily_revenue",
        "dim_customers",
        "snp_shop__customers",
    } <= set(compiled)
    assert "select order_date from" in compiled["int_orders__daily_revenue"].lower()
    for name, sql in compiled.items():
        parsed = sqlglot.parse_one(sql, read="snowflake")
        assert not isinstance(parsed, exp.Command), name
