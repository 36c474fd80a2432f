"""The dbt project end to end on DuckDB: two days of raw loads, `dbt build` after each
(through shoplake.transform.run_dbt, as `shoplake transform` and Airflow run it), then
checks of the marts against an independent Python computation."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from shoplake import pii as pii_key
from shoplake.settings import load_settings
from shoplake.transform import run_dbt

# tests that are expected to warn: orphans are loaded by design
EXPECTED_WARNINGS = {"fct_orders_orphan_customers", "fct_orders_unknown_products"}
CENT = Decimal("0.01")


def _results(target: Path) -> dict[str, str]:
    data = json.loads((target / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}


def _build(settings, target: Path) -> tuple[int, dict[str, str], str]:
    proc = run_dbt(
        ["build"],
        settings,
        check=False,
        capture_output=True,
        env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")},
    )
    return proc.returncode, _results(target), proc.stdout


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, raw_data):
    """Day 1 load -> dbt build -> day 2 load -> dbt build. Returns what each step produced."""
    tmp = tmp_path_factory.mktemp("warehouse")
    path = raw_data.create_warehouse(tmp / "warehouse.duckdb")
    settings = load_settings(warehouse_path=path, dbt_target="local", home=tmp / "home")
    target = tmp / "target"

    raw_data.append_rows(path, raw_data.DAY1)
    rc1, results1, out1 = _build(settings, target)
    with duckdb.connect(str(path), read_only=True) as con:
        day1_orders = con.execute("select count(*) from analytics.fct_orders").fetchall()[0][0]

    raw_data.append_rows(path, raw_data.DAY2)
    rc2, results2, out2 = _build(settings, target)
    merge_sql = next((target / "run").rglob("fct_orders.sql")).read_text().lower()
    return {
        "path": path,
        "settings": settings,
        "target": target,
        "day1": (rc1, results1, out1),
        "day2": (rc2, results2, out2),
        "day1_orders": day1_orders,
        "merge_sql": merge_sql,
    }


def query(scenario, sql: str) -> list[tuple]:
    with duckdb.connect(str(scenario["path"]), read_only=True) as con:
        return con.execute(sql).fetchall()


# --- independent computation ----------------------------------------------------------
def latest_lines(raw_data) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for row in raw_data.DAY1["orders"] + raw_data.DAY2["orders"]:
        key = f"{row['order_id']}-{row['line_number']}"
        old = latest.get(key)
        if old is None or (row["updated_at"], row["_loaded_at"]) >= (
            old["updated_at"],
            old["_loaded_at"],
        ):
            latest[key] = row
    return latest


def rate_on(raw_data, day: date, currency: str) -> tuple[Decimal, date] | None:
    """ECB rate (units per EUR) applying on `day`: latest business day <= day, within the
    staleness limit."""
    ecb_days = {d for d, _, _, _ in raw_data.FX_RATES}
    if currency == "EUR":
        candidates = [(d, Decimal(1)) for d in ecb_days if d <= day]
    else:
        candidates = [(d, r) for d, _, c, r in raw_data.FX_RATES if c == currency and d <= day]
    if not candidates:
        return None
    d, r = max(candidates)
    if day - d > timedelta(days=raw_data.FX_MAX_STALENESS_DAYS):
        return None
    return r, d


def amount_usd(raw_data, row: dict) -> Decimal | None:
    if row["currency"] == "USD":
        return row["line_amount"]
    day = row["order_ts"].date()
    local, usd = rate_on(raw_data, day, row["currency"]), rate_on(raw_data, day, "USD")
    if local is None or usd is None:
        return None
    return (row["line_amount"] / local[0] * usd[0]).quantize(CENT, rounding=ROUND_HALF_UP)


# --- day 1 --------------------------------------------------------------------------------
def test_day1_build_passes_every_test(scenario):
    rc, results, out = scenario["day1"]
    assert rc == 0, out[-3000:]
    assert scenario["day1_orders"] == 7
    bad = {k: v for k, v in results.items() if v not in ("success", "pass", "warn")}
    assert not bad
    warned = {k.split(".")[2] for k, v in results.items() if v == "warn"}
    assert warned == EXPECTED_WARNINGS
    unit_tests = {k: v for k, v in results.items() if k.startswith("unit_test.")}
    assert len(unit_tests) == 4 and set(unit_tests.values()) == {"pass"}
    assert any(k.startswith("snapshot.") for k in results)


# --- day 2 --------------------------------------------------------------------------------
def test_day2_build_passes_every_test(scenario):
    rc, results, out = scenario["day2"]
    assert rc == 0, out[-3000:]
    bad = {k: v for k, v in results.items() if v not in ("success", "pass", "warn")}
    assert not bad
    assert {k.split(".")[2] for k, v in results.items() if v == "warn"} == EXPECTED_WARNINGS


def test_fct_orders_is_merged_incrementally(scenario, raw_data):
    assert "merge into" in scenario["merge_sql"]  # the second run merged, not rebuilt
    rows = query(
        scenario, "select order_line_id, order_status, updated_at from analytics.fct_orders"
    )
    expected = latest_lines(raw_data)
    assert len(rows) == len(expected) == 11  # one row per distinct line, duplicates gone
    got = {r[0]: (r[1], r[2]) for r in rows}
    assert got == {k: (v["status"], v["updated_at"]) for k, v in expected.items()}
    assert got["O1-1"][0] == "shipped"  # day-2 status update of a day-1 line
    assert got["O3-1"][0] == "returned"
    assert "O6-1" in got  # late day-1 order loaded with day 2


def test_fx_conversion_matches_python(scenario, raw_data):
    rows = query(
        scenario,
        "select order_line_id, amount_usd, has_fx_rate, fx_rate_date, order_date "
        "from analytics.fct_orders",
    )
    expected = latest_lines(raw_data)
    for line_id, usd, has_rate, rate_date, _ in rows:
        row = expected[line_id]
        want = amount_usd(raw_data, row)
        assert usd == want, line_id
        assert has_rate is (want is not None), line_id
        local = rate_on(raw_data, row["order_ts"].date(), row["currency"])
        want_date = local[1] if want is not None and row["currency"] != "USD" else None
        assert rate_date == want_date, line_id
    by_id = {r[0]: r for r in rows}
    # EUR on Saturday 10th and GBP on Sunday 11th: Friday's rate
    assert by_id["O2-1"][3] == date(2026, 1, 9) and by_id["O2-1"][4] == date(2026, 1, 10)
    assert by_id["O3-1"][3] == date(2026, 1, 9)
    # CHF has no rate; the 20th is beyond the last rate (12th) + 4 days: no rate, no fake
    for line_id in ("O4-1", "O8-1"):
        assert (
            by_id[line_id][1] is None and by_id[line_id][2] is False and by_id[line_id][3] is None
        )
    # USD needs no rate
    assert by_id["O1-2"][1:3] == (Decimal("5.50"), True)


def test_daily_revenue_totals_match_python(scenario, raw_data):
    lines = [r for r in latest_lines(raw_data).values() if r["status"] != "cancelled"]
    gross_usd = sum(a for r in lines if (a := amount_usd(raw_data, r)) is not None)
    net_usd = sum(
        a for r in lines if r["status"] != "returned" and (a := amount_usd(raw_data, r)) is not None
    )
    per_day_cur: dict[tuple, Decimal] = {}
    for r in lines:
        key = (r["order_ts"].date(), r["currency"])
        per_day_cur[key] = per_day_cur.get(key, Decimal(0)) + r["line_amount"]

    ((db_gross, db_net, db_unconverted),) = query(
        scenario,
        "select sum(gross_amount_usd), sum(net_amount_usd), sum(unconverted_line_count) "
        "from analytics.fct_daily_revenue",
    )
    assert db_gross == gross_usd
    assert db_net == net_usd
    assert db_unconverted == 2
    got = query(
        scenario, "select order_date, currency_code, gross_amount from analytics.fct_daily_revenue"
    )
    assert {(d, c): a for d, c, a in got} == per_day_cur


def test_dim_customers_scd2_history(scenario):
    rows = query(
        scenario,
        "select customer_id, email_domain, valid_from, valid_to, is_current "
        "from analytics.dim_customers order by customer_id, valid_from",
    )
    c2 = [r for r in rows if r[0] == "C2"]
    assert len(c2) == 2
    old, new = c2
    assert old[1] == "old-mail.org" and old[4] is False and old[3] == new[2]
    assert new[1] == "new-mail.net" and new[4] is True and new[3] is None
    # unchanged customers (C1 was re-delivered) keep one current row
    assert [r[4] for r in rows if r[0] == "C1"] == [True]
    assert len(rows) == 4


def _email_variants(raw_data) -> set[str]:
    out = set()
    for c in raw_data.DAY1["customers"] + raw_data.DAY2["customers"]:
        e = c["email"]
        out |= {e, e.lower(), e.upper(), e.strip(), e.strip().lower(), e + "\n"}
    return out


def test_no_raw_pii_in_persisted_models(scenario, raw_data):
    emails = _email_variants(raw_data)
    pii = set(emails)
    for c in raw_data.DAY1["customers"] + raw_data.DAY2["customers"]:
        pii |= {c["first_name"], c["last_name"]}
        if c["phone"]:
            pii.add(c["phone"])
    # the unkeyed hashes re-identify a customer by hashing candidate addresses: never stored
    for e in emails:
        for h in (hashlib.sha256, hashlib.sha512, hashlib.sha1, hashlib.md5):
            pii |= {h(e.encode()).hexdigest(), h(e.encode()).hexdigest().upper()}
    tables = query(
        scenario,
        "select table_schema, table_name from information_schema.tables "
        "where lower(table_schema) in ('analytics', 'snapshots') and table_type = 'BASE TABLE'",
    )
    assert len(tables) >= 9
    with duckdb.connect(str(scenario["path"]), read_only=True) as con:
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                assert not pii & {str(v) for v in row}, (schema, table, row)
        masked = con.execute(
            "select email_hash, email_domain, phone_masked from analytics.dim_customers "
            "where customer_id = 'C1'"
        ).fetchall()
    key = pii_key.key(scenario["settings"])
    assert masked == [(pii_key.digest(key, "ann@example.com"), "example.com", "**********67")]


def test_email_hash_is_the_hmac_with_the_same_key_across_runs(scenario):
    """Every version in the snapshot (built by two runs) and every current row is the HMAC
    of the normalised address under this deployment's key, stable from run to run."""
    key = pii_key.key(scenario["settings"])
    emails = {"C1": ["ann@example.com"], "C2": ["bob@old-mail.org", "bob@new-mail.net"],
              "C3": ["cy@example.com"]}
    rows = query(scenario, "select customer_id, email_hash from snapshots.snp_shop__customers")
    assert sorted(rows) == sorted((c, pii_key.digest(key, e)) for c, es in emails.items() for e in es)
    current = dict(query(scenario, "select customer_id, email_hash from analytics.dim_customers "
                                   "where is_current"))
    assert current == {c: pii_key.digest(key, es[-1]) for c, es in emails.items()}


def _show_hash(settings, target: Path, env: dict[str, str] | None = None):
    return run_dbt(
        ["show", "--inline", "select {{ shoplake.hash_pii(\"'ann@example.com'\") }} as h", "--output", "json"],
        settings, check=False, capture_output=True,
        env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs"), **(env or {})},
    )


def test_two_deployments_hash_differently_and_no_key_fails_clearly(scenario, tmp_path):
    """The key is per deployment (state folder): another home, another key, other hashes."""
    s1 = scenario["settings"]
    s2 = load_settings(warehouse_path=tmp_path / "other" / "warehouse.duckdb", dbt_target="local",
                       home=tmp_path / "other")
    k1, k2 = pii_key.key(s1), pii_key.key(s2)
    assert k1 != k2 and pii_key.key(s2) == k2  # generated once, then read back
    assert stat.S_IMODE((tmp_path / "other" / pii_key.KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "other").stat().st_mode) == 0o700
    out1 = _show_hash(s1, tmp_path / "t1")
    out2 = _show_hash(s2, tmp_path / "t2")
    assert out1.returncode == out2.returncode == 0, (out1.stdout + out2.stdout)[-3000:]
    assert pii_key.digest(k1, "ann@example.com") in out1.stdout
    assert pii_key.digest(k2, "ann@example.com") in out2.stdout
    assert pii_key.digest(k1, "ann@example.com") != pii_key.digest(k2, "ann@example.com")
    # dbt run without the padded keys (not through shoplake): a one-line error, no hash
    bad = _show_hash(s1, tmp_path / "t3", {pii_key.INNER_ENV: "", pii_key.OUTER_ENV: ""})
    assert bad.returncode != 0 and "SHOPLAKE_PII_HMAC_INNER/OUTER are not set" in bad.stdout


def test_marts(scenario):
    (p2,) = query(
        scenario,
        "select line_count, returned_line_count, return_rate, has_known_product "
        "from analytics.fct_product_performance where product_id = 'P2'",
    )
    # P2 lines (non-cancelled): O1-2, O3-1 (returned), O6-1, O7-2
    assert p2 == (4, 1, 0.25, True)
    ranks = query(
        scenario, "select revenue_rank from analytics.fct_product_performance order by 1"
    )
    assert ranks[0] == (1,)
    (c1,) = query(
        scenario,
        "select order_count, is_repeat_customer, first_order_id from analytics.dim_customer_rfm "
        "where customer_id = 'C1'",
    )
    assert c1 == (3, True, "O1")
    (cohort,) = query(
        scenario,
        "select cohort_size, active_customers, retention_rate from analytics.fct_cohort_retention "
        "where cohort_month = date '2026-01-01' and months_since_first_order = 0",
    )
    assert cohort == (4, 4, 1.0)
    health = query(
        scenario,
        "select run_count, failed_count, last_run_status, is_failing from analytics.fct_pipeline_health "
        "where run_date = date '2026-01-21' and stage = 'cleanse'",
    )
    assert health == [(2, 1, "succeeded", False)]


def test_scd2_tests_catch_broken_history(scenario, tmp_path):
    """The SCD2 tests fail when history overlaps or a customer has two current rows."""
    path = tmp_path / "broken.duckdb"
    path.write_bytes(Path(scenario["path"]).read_bytes())
    with duckdb.connect(str(path)) as con:
        con.execute(
            "insert into analytics.dim_customers select 'x' || customer_sk, customer_id, email_hash, "
            "email_domain, phone_masked, city, country_code, loyalty_tier, signed_up_at, updated_at, "
            "valid_from + interval 1 day, null, true from analytics.dim_customers where customer_id = 'C1'"
        )
    settings = scenario["settings"].model_copy(update={"warehouse_path": path})
    target = tmp_path / "target"
    proc = run_dbt(
        ["test", "--select", "dim_customers,test_type:data"],
        settings,
        check=False,
        capture_output=True,
        env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(tmp_path / "logs")},
    )
    assert proc.returncode != 0
    failed = {k.split(".")[2] for k, v in _results(target).items() if v == "fail"}
    assert any(name.startswith("scd2_intervals_do_not_overlap_dim_customers") for name in failed)
    assert any(name.startswith("exactly_one_current_row_dim_customers") for name in failed)


def test_cli_transform_docs_generates_the_catalog(scenario, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from shoplake.commands.transform import transform

    target = tmp_path / "target"
    monkeypatch.setenv("SHOPLAKE_PROFILE", "embedded")
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPLAKE_WAREHOUSE_PATH", str(scenario["path"]))
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    result = CliRunner().invoke(transform, ["--docs"])
    assert result.exit_code == 0, result.output
    catalog = json.loads((target / "catalog.json").read_text())
    columns = catalog["nodes"]["model.shoplake.fct_orders"]["columns"]
    assert {"order_line_id", "amount_usd", "has_fx_rate"} <= {c.lower() for c in columns}
    assert (target / "index.html").exists()
