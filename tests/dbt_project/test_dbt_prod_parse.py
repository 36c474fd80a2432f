"""The prod target (dbt-snowflake) parses with SNOWFLAKE_* from the environment only, and
resolves the contract's database and schemas."""

from __future__ import annotations

import json

from shoplake.settings import load_settings
from shoplake.transform import dbt_command, run_dbt

DUMMY_SNOWFLAKE = {
    "SNOWFLAKE_ACCOUNT": "dummy-account",
    "SNOWFLAKE_USER": "dummy",
    "SNOWFLAKE_PASSWORD": "not-a-secret",
    "SNOWFLAKE_ROLE": "TRANSFORMER",
    "SNOWFLAKE_WAREHOUSE": "TRANSFORMING",
}


def test_prod_target_parses_without_an_account(tmp_path, monkeypatch):
    monkeypatch.delenv("SNOWFLAKE_DATABASE", raising=False)
    settings = load_settings(dbt_target="prod", home=tmp_path / "home")
    target = tmp_path / "target"
    proc = run_dbt(
        ["parse"],
        settings,
        check=False,
        capture_output=True,
        env={**DUMMY_SNOWFLAKE, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "snowflake" in proc.stdout
    manifest = json.loads((target / "manifest.json").read_text())

    sources = {s["name"]: (s["database"], s["schema"]) for s in manifest["sources"].values()}
    assert sources["orders"] == ("SHOPLAKE", "RAW")
    assert sources["rates"] == ("SHOPLAKE", "RAW")

    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] != "test"}
    assert nodes["stg_shop__orders"]["schema"] == "STAGING"
    assert nodes["stg_shop__orders"]["config"]["materialized"] == "view"
    assert nodes["fct_orders"]["schema"] == "ANALYTICS"
    assert nodes["fct_orders"]["config"]["incremental_strategy"] == "merge"
    assert nodes["fct_daily_revenue"]["config"]["materialized"] == "table"
    assert nodes["fct_daily_revenue"]["config"]["contract"]["enforced"] is True
    assert nodes["snp_shop__customers"]["schema"] == "SNAPSHOTS"
    assert {n["database"] for n in nodes.values()} == {"SHOPLAKE"}
    # the dispatched PII macro exists for both adapters
    macros = {m["name"] for m in manifest["macros"].values() if m["package_name"] == "shoplake"}
    assert {"snowflake__hash_pii", "duckdb__hash_pii", "duckdb__digits_only"} <= macros


def test_dbt_command_sets_project_profiles_and_target(tmp_path):
    settings = load_settings(dbt_target="local", home=tmp_path)
    cmd = dbt_command(["build", "--select", "fct_orders"], settings)
    assert cmd[0].endswith("dbt")
    assert cmd[1:4] == ["build", "--select", "fct_orders"]
    assert cmd[cmd.index("--target") + 1] == "local"
    assert cmd[cmd.index("--project-dir") + 1].endswith("/dbt")
    assert cmd[cmd.index("--profiles-dir") + 1] == cmd[cmd.index("--project-dir") + 1]
