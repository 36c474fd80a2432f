"""Assert the compose stack processed the committed sample exactly as the embedded run does.

Runs INSIDE the app image (scripts/compose-test.sh mounts this folder at /checks):

    docker compose run --rm --no-deps -v ./tests/compose:/checks:ro init \
        python /checks/check_sample.py [--warehouse]

1. every raw object of data/sample has a SUCCEEDED final state whose counts (rows read,
   written, duplicates dropped, quarantined by reason) equal data/sample/manifest.json, as
   tests/event_path/test_sample.py asserts on the embedded profile;
2. with --warehouse (after `shoplake load` and `shoplake transform`): RAW row counts equal the
   manifest totals and the marts equal its "final" section.
Prints one line per check; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shoplake.ingest import wait
from shoplake.settings import ROOT, Settings, get_settings

SAMPLE = ROOT / "data" / "sample"


def check_event_path(manifest: dict, timeout: float) -> list[str]:
    settings = get_settings()
    result = wait(settings, timeout=timeout, poll=1, echo=lambda _: None)
    if result.timed_out:
        return [f"event path not finished after {timeout:.0f}s"]
    by_name = {Path(o.key).name: o for o in result.objects}
    errors = []
    for f in manifest["files"]:
        name = Path(f["path"]).name
        obj = by_name.get(name)
        if obj is None:
            errors.append(f"{name}: not in raw/")
            continue
        if obj.status != "SUCCEEDED":
            errors.append(f"{name}: status {obj.status} {obj.detail}")
            continue
        got = obj.detail.get("counts") or {}
        exp = f["expected"]
        want = {"rows_read": f["rows"], "rows_written": exp["rows_written"],
                "duplicates_dropped": exp["duplicates_dropped"],
                "quarantined": {k: v for k, v in exp["quarantined"].items() if v}}
        have = {"rows_read": got.get("rows_read"), "rows_written": got.get("rows_written"),
                "duplicates_dropped": got.get("duplicates_dropped"),
                "quarantined": {k: v for k, v in (got.get("quarantined_by_reason") or {}).items() if v}}
        status = "ok" if want == have else "MISMATCH"
        print(f"  {status:8} {obj.key}: {have['rows_written']} written, "
              f"{have['duplicates_dropped']} duplicates, {sum(have['quarantined'].values())} quarantined")
        if want != have:
            errors.append(f"{name}: want {want}, have {have}")
    if result.dlq_depth:
        errors.append(f"DLQ depth {result.dlq_depth}")
    errors += check_engine(settings)
    return errors


def check_engine(settings: Settings) -> list[str]:
    """Every run manifest names the engine of the profile (compose: spark, as AWS Glue)."""
    from shoplake import aws

    s3 = aws.client("s3", settings)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.lake_bucket,
                                                          Prefix="curated/_manifests/")
    engines = [json.loads(s3.get_object(Bucket=settings.lake_bucket, Key=o["Key"])["Body"].read())["engine"]
               for p in pages for o in p.get("Contents", [])]
    print(f"  run manifests: {len(engines)}, engines {sorted(set(engines))} (profile: {settings.job_engine})")
    return [f"run manifest engine {e} != {settings.job_engine}" for e in engines if e != settings.job_engine]


def check_warehouse(manifest: dict) -> list[str]:
    import duckdb

    path = get_settings().warehouse_file
    if not Path(path).exists():
        return [f"no warehouse file at {path}"]
    con = duckdb.connect(str(path), read_only=True)

    def count(sql: str) -> int:
        return int(con.execute(sql).fetchone()[0])

    totals, final = manifest["totals"], manifest["final"]
    checks = {
        "RAW.ORDERS rows": (count("select count(*) from RAW.ORDERS"), totals["orders"]["rows_written"]),
        "RAW.CUSTOMERS rows": (count("select count(*) from RAW.CUSTOMERS"), totals["customers"]["rows_written"]),
        "RAW.PRODUCTS rows": (count("select count(*) from RAW.PRODUCTS"), totals["products"]["rows_written"]),
        "fct_orders lines": (count("select count(*) from ANALYTICS.fct_orders"), final["orders"]["order_lines"]),
        "fct_orders orders": (count("select count(distinct order_id) from ANALYTICS.fct_orders"),
                              final["orders"]["orders"]),
        "dim_customers": (count("select count(*) from ANALYTICS.dim_customers"), final["customers"]["customers"]),
        "dim_products": (count("select count(*) from ANALYTICS.dim_products"), final["products"]["products"]),
    }
    errors = []
    for name, (have, want) in checks.items():
        print(f"  {'ok' if have == want else 'MISMATCH':8} {name}: {have} (expected {want})")
        if have != want:
            errors.append(f"{name}: {have} != {want}")
    con.close()
    return errors


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warehouse", action="store_true", help="also check RAW tables and marts")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    print("event path (per raw object vs data/sample/manifest.json):")
    errors = check_event_path(manifest, args.timeout)
    if args.warehouse:
        print("warehouse (RAW vs manifest totals, marts vs manifest final):")
        errors += check_warehouse(manifest)
    for e in errors:
        print(f"FAIL {e}", file=sys.stderr)
    print("sample check: " + ("FAILED" if errors else "all counts equal the manifest"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
