"""``shoplake generate``: determinism, layout, contract columns, and the manifest checked
against an independent re-parse of the files (see conftest.py)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from shoplake.generate import GenerateConfig, generate

DATASETS = ("orders", "customers", "products")
ALLOWED_TRANSITIONS = {
    ("placed", "shipped"), ("placed", "cancelled"), ("shipped", "delivered"),
    ("shipped", "returned"), ("delivered", "returned"),
}  # fmt: skip


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=["small_run", "dirty_run"])
def audited(request: pytest.FixtureRequest, tools: SimpleNamespace) -> Any:
    return tools.audit_folder(request.getfixturevalue(request.param))


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    config = GenerateConfig(orders=500, seed=123, days=3, dirty_fraction=0.05)
    generate(tmp_path / "a", config)
    generate(tmp_path / "b", config)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert len(a) >= 8  # 3 orders + 3 customers + products + manifest
    assert a == b


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", GenerateConfig(orders=500, seed=1))
    generate(tmp_path / "b", GenerateConfig(orders=500, seed=2))
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    for path in a:
        if path.startswith("day=") and path in b:
            assert a[path] != b[path], path


def test_rerun_replaces_previous_output_and_refuses_foreign_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, GenerateConfig(orders=200, days=4))
    generate(out, GenerateConfig(orders=200, days=2))
    assert sorted(p.name for p in out.glob("day=*")) == ["day=2026-01-01", "day=2026-01-02"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate(foreign, GenerateConfig(orders=10))
    assert (foreign / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------- layout and contract


def test_layout_columns_and_formats(small_run: Path, tools: SimpleNamespace) -> None:
    manifest = json.loads((small_run / "manifest.json").read_text())
    days = [(date(2026, 1, 1) + timedelta(days=k)).isoformat() for k in range(4)]
    assert sorted(p.name for p in small_run.iterdir()) == sorted(
        ["manifest.json", *(f"day={d}" for d in days)]
    )
    assert manifest["seed"] == 7
    assert manifest["parameters"]["orders"] == 3000
    for k, day in enumerate(days):
        folder = small_run / f"day={day}"
        names = sorted(p.name for p in folder.iterdir())
        assert f"orders_{day}.csv" in names and f"customers_{day}.json" in names
        if k == 0:
            assert f"products_{day}.csv" in names
        assert set(names) <= {f"orders_{day}.csv", f"customers_{day}.json", f"products_{day}.csv"}
        with (folder / f"orders_{day}.csv").open(newline="") as f:
            assert next(csv.reader(f)) == tools.ORDER_COLUMNS
        first = json.loads((folder / f"customers_{day}.json").read_text().splitlines()[0])
        assert list(first) == tools.CUSTOMER_COLUMNS
    with (small_run / f"day={days[0]}" / f"products_{days[0]}.csv").open(newline="") as f:
        assert next(csv.reader(f)) == tools.PRODUCT_COLUMNS
    assert manifest["columns"] == {
        "orders": tools.ORDER_COLUMNS,
        "customers": tools.CUSTOMER_COLUMNS,
        "products": tools.PRODUCT_COLUMNS,
    }


def test_vocabulary_of_clean_rows(small_run: Path, tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(small_run)
    currencies: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for _, a in audit.of("orders"):
        currencies.update(r["currency"] for r in a.kept.values())
        statuses.update(r["status"] for r in a.kept.values())
    assert set(currencies) == {"USD", "EUR", "GBP"}
    assert currencies.most_common(1)[0][0] == "USD"
    assert {"placed", "shipped", "cancelled"} <= set(statuses)
    tiers = {r["loyalty_tier"] for _, a in audit.of("customers") for r in a.kept.values()}
    assert tiers == {"bronze", "silver", "gold", "platinum"}


def test_manifest_lists_exactly_the_files_on_disk(audited: Any) -> None:
    listed = {f["path"] for f in audited.manifest["files"]}
    on_disk = {p.relative_to(audited.root).as_posix() for p in audited.root.glob("day=*/*")}
    assert listed == on_disk
    for f in audited.manifest["files"]:
        assert (audited.root / f["path"]).stat().st_size == f["bytes"]


# ---------------------------------------------------------------- manifest vs independent audit


def test_manifest_counts_match_an_independent_reparse(audited: Any, tools: SimpleNamespace) -> None:
    customers = audited.known_ids("customers", "customer_id")
    products = audited.known_ids("products", "product_id")
    totals: dict[str, Counter[str]] = {ds: Counter() for ds in DATASETS}
    for entry in audited.manifest["files"]:
        a = audited.files[(entry["dataset"], entry["day"])]
        expected = a.expected()
        if entry["dataset"] == "orders":
            kept = list(a.kept.values())
            expected["orphans"] = {
                "customer": sum(r["customer_id"] not in customers for r in kept),
                "product": sum(r["product_id"] not in products for r in kept),
            }
            assert entry["line_amount_by_currency"] == tools.order_amounts(kept)
        assert entry["rows"] == a.rows
        assert entry["expected"] == expected
        e = entry["expected"]
        assert (
            e["rows_written"] + e["duplicates_dropped"] + sum(e["quarantined"].values()) == a.rows
        )
        totals[entry["dataset"]].update(
            rows=a.rows, rows_written=len(a.kept), duplicates_dropped=a.duplicates
        )
        totals[entry["dataset"]].update({f"q:{r}": n for r, n in a.quarantined.items()})
    for ds in DATASETS:
        got = audited.manifest["totals"][ds]
        assert got["rows"] == totals[ds]["rows"]
        assert got["rows_written"] == totals[ds]["rows_written"]
        assert got["duplicates_dropped"] == totals[ds]["duplicates_dropped"]
        assert got["quarantined"] == {
            k[2:]: n for k, n in sorted(totals[ds].items()) if k.startswith("q:") and n
        }


def test_each_dirty_row_has_exactly_one_defect(audited: Any) -> None:
    for (dataset, day), a in audited.files.items():
        assert all(n == 1 for n in a.defects_per_row), (dataset, day, a.defects_per_row)


def test_dirty_keys_never_collide_with_clean_keys(audited: Any) -> None:
    for dataset, column in (("orders", 0), ("products", 0)):
        clean = {tuple(r.values())[0] for _, a in audited.of(dataset) for r in a.valid}
        rejected = {
            row[column] for _, a in audited.of(dataset) for row in a.quarantined_rows if row
        }
        assert rejected, dataset
        assert not (rejected - {""}) & clean, dataset


def test_dirty_share_follows_the_fraction(small_run: Path, tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(small_run)
    customers = audit.known_ids("customers", "customer_id")
    products = audit.known_ids("products", "product_id")
    for _, a in audit.of("orders"):
        orphans = sum(
            r["customer_id"] not in customers or r["product_id"] not in products
            for r in a.kept.values()
        )
        dirty = a.duplicates + sum(a.quarantined.values()) + orphans
        clean = a.rows - dirty
        assert abs(dirty - 0.02 * clean) <= 1, (dirty, clean)


def test_zero_dirty_fraction_gives_clean_files(tmp_path: Path, tools: SimpleNamespace) -> None:
    generate(tmp_path / "out", GenerateConfig(orders=800, seed=5, dirty_fraction=0.0))
    audit = tools.audit_folder(tmp_path / "out")
    customers = audit.known_ids("customers", "customer_id")
    for a in audit.files.values():
        assert a.duplicates == 0 and not a.quarantined and len(a.kept) == a.rows
    for _, a in audit.of("orders"):
        assert all(r["customer_id"] in customers for r in a.kept.values())


# ---------------------------------------------------------------- day-by-day increments


def test_orders_arrive_late_and_get_updated(small_run: Path, tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(small_run)
    seen: dict[tuple[str, ...], dict[str, str]] = {}
    late = updates = 0
    for day, a in audit.of("orders"):
        assert any(r["order_ts"].startswith(day) for r in a.kept.values())  # new orders
        for key, row in a.kept.items():
            if key in seen:  # a later version of a line from an earlier file
                before = seen[key]
                assert row["updated_at"] > before["updated_at"]
                assert (before["status"], row["status"]) in ALLOWED_TRANSITIONS
                assert {k: v for k, v in row.items() if k not in ("status", "updated_at")} == {
                    k: v for k, v in before.items() if k not in ("status", "updated_at")
                }
                updates += 1
            elif row["order_ts"][:10] < day:
                late += 1
        seen.update(a.kept)
    assert late > 0 and updates > 0


def test_orders_reference_customers_and_products_known_by_then(
    audited: Any, tools: SimpleNamespace
) -> None:
    """Apart from the injected orphans, an order line only uses customers and products that
    a customers/products file of the same or an earlier day introduced."""
    customers: set[str] = set()
    products: set[str] = set()
    entries = {(f["dataset"], f["day"]): f for f in audited.manifest["files"]}
    for day in audited.days:
        for dataset, known, column in (
            ("customers", customers, "customer_id"),
            ("products", products, "product_id"),
        ):
            if (dataset, day) in audited.files:
                known.update(r[column] for r in audited.files[(dataset, day)].valid)
        kept = audited.files[("orders", day)].kept.values()
        assert entries[("orders", day)]["expected"]["orphans"] == {
            "customer": sum(r["customer_id"] not in customers for r in kept),
            "product": sum(r["product_id"] not in products for r in kept),
        }


def test_customers_change_over_time(small_run: Path, tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(small_run)
    seen: dict[str, dict[str, str]] = {}
    changed = new = 0
    for k, (_, a) in enumerate(audit.of("customers")):
        for cid, row in ((key[0], row) for key, row in a.kept.items()):
            if cid in seen:
                before = seen[cid]
                assert row["updated_at"] > before["updated_at"]
                diff = {c for c in row if row[c] != before[c]} - {"updated_at", "phone"}
                assert diff and diff <= {"email", "city", "country", "loyalty_tier"}, diff
                changed += 1
            else:
                assert k == 0 or row["signup_at"][:10] == row["updated_at"][:10]
                new += k > 0
            seen[cid] = row
    assert changed > 0 and new > 0


def test_products_full_catalogue_then_changes(small_run: Path, tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(small_run)
    files = audit.of("products")
    first_day, first = files[0]
    assert first_day == audit.days[0]
    assert len(first.kept) >= 30
    names = [r["name"] for r in first.kept.values()]
    assert any("," in name for name in names)  # quoted commas survive the CSV round trip
    raw = (small_run / f"day={first_day}" / f"products_{first_day}.csv").read_text()
    assert any(f'"{name}"' in raw for name in names if "," in name)
    seen = {key[0]: row for key, row in first.kept.items()}
    for _, a in files[1:]:
        assert 0 < len(a.kept) < len(first.kept)
        for key, row in a.kept.items():
            if key[0] in seen:
                before = seen[key[0]]
                assert row["updated_at"] > before["updated_at"]
                assert {c: v for c, v in row.items() if c != "updated_at"} != {
                    c: v for c, v in before.items() if c != "updated_at"
                }
            seen[key[0]] = row


def test_final_state_matches_a_cross_file_dedupe(audited: Any, tools: SimpleNamespace) -> None:
    latest: dict[tuple[str, ...], dict[str, str]] = {}
    for _, a in audited.of("orders"):
        for key, row in a.kept.items():
            if key not in latest or row["updated_at"] > latest[key]["updated_at"]:
                latest[key] = row
    rows = list(latest.values())
    final = audited.manifest["final"]
    orders = final["orders"]
    assert orders["order_lines"] == len(rows)
    assert orders["orders"] == len({r["order_id"] for r in rows})
    assert orders["line_amount_by_currency"] == tools.order_amounts(rows)
    statuses = Counter(r["status"] for r in rows)
    assert {s: n for s, n in orders["status_counts"].items() if n} == dict(statuses)
    by_date = Counter(d for d in {r["order_id"]: r["order_ts"][:10] for r in rows}.values())
    assert orders["orders_by_order_date"] == dict(sorted(by_date.items()))
    assert final["customers"]["customers"] == len(audited.known_ids("customers", "customer_id"))
    assert final["products"]["products"] == len(audited.known_ids("products", "product_id"))


def test_order_count_is_the_requested_total(small_run: Path, tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(small_run)
    customers = audit.known_ids("customers", "customer_id")
    products = audit.known_ids("products", "product_id")
    orders = {
        r["order_id"]
        for _, a in audit.of("orders")
        for r in a.kept.values()
        if r["customer_id"] in customers and r["product_id"] in products
    }
    assert len(orders) == 3000
    lines: dict[str, set[int]] = {}
    for _, a in audit.of("orders"):
        for order_id, line in a.kept:
            if order_id in orders:
                lines.setdefault(order_id, set()).add(int(line))
    assert {len(numbers) for numbers in lines.values()} == {1, 2, 3, 4}
    assert all(numbers == set(range(1, len(numbers) + 1)) for numbers in lines.values())


# ---------------------------------------------------------------- CLI


def test_cli_help() -> None:
    from shoplake.cli import cli

    result = CliRunner().invoke(cli, ["generate", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--orders", "--seed", "--out", "--days", "--start-date", "--dirty-fraction"):
        assert option in result.output


def test_cli_writes_the_same_files_as_the_api(tmp_path: Path) -> None:
    from shoplake.cli import cli

    args = ["generate", "--orders", "300", "--seed", "9", "--days", "2"]
    args += [
        "--start-date",
        "2026-03-30",
        "--dirty-fraction",
        "0.1",
        "--out",
        str(tmp_path / "cli"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "generated" in result.output and "rows/s" in result.output
    config = GenerateConfig(orders=300, seed=9, days=2, start_date=date(2026, 3, 30),
                            dirty_fraction=0.1)  # fmt: skip
    generate(tmp_path / "api", config)
    assert _tree(tmp_path / "cli") == _tree(tmp_path / "api")
    assert sorted(p.name for p in (tmp_path / "cli").glob("day=*")) == [
        "day=2026-03-30",
        "day=2026-03-31",
    ]


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    from shoplake.cli import cli

    result = CliRunner().invoke(cli, ["generate", "--orders", "0", "--out", str(tmp_path)])
    assert result.exit_code != 0
    result = CliRunner().invoke(
        cli, ["generate", "--orders", "5", "--start-date", "01/02/2026", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
