"""The committed sample (data/sample) is exactly what the command documented in
data/README.md produces, stays small, and shows every dirty-row kind."""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from shoplake.cli import cli

DATA = Path(__file__).resolve().parents[2] / "data"
SAMPLE = DATA / "sample"
ORDER_REASONS = {
    "malformed_row", "bad_type", "bad_timestamp", "non_positive_quantity",
    "non_positive_price", "missing_key", "bad_currency",
}  # fmt: skip


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def documented_args() -> list[str]:
    commands = [
        line.strip()
        for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("shoplake generate ")
    ]
    assert len(commands) == 1, commands
    return shlex.split(commands[0])[1:]


def test_sample_equals_a_fresh_regeneration(tmp_path: Path) -> None:
    args = documented_args()
    at = args.index("--out")
    assert args[at + 1] == "data/sample"
    args[at + 1] = str(tmp_path / "sample")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    fresh, committed = _tree(tmp_path / "sample"), _tree(SAMPLE)
    assert sorted(fresh) == sorted(committed)
    for path in fresh:
        assert fresh[path] == committed[path], (
            f"{path} drifted: re-run the command in data/README.md"
        )


def test_data_folder_is_small() -> None:
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 1_000_000, size


def test_sample_shows_every_dirty_kind(tools: SimpleNamespace) -> None:
    audit = tools.audit_folder(SAMPLE)
    reasons: dict[str, Counter[str]] = {ds: Counter() for ds in ("orders", "customers", "products")}
    exact = {ds: 0 for ds in reasons}
    older = {ds: 0 for ds in reasons}
    for (dataset, _), a in audit.files.items():
        reasons[dataset].update(a.quarantined)
        groups: dict[str, list[dict[str, str]]] = {}
        key = tools.ORDER_COLUMNS[:2] if dataset == "orders" else [f"{dataset[:-1]}_id"]
        for row in a.valid:
            groups.setdefault("|".join(row[k] for k in key), []).append(row)
        for rows in groups.values():
            exact[dataset] += len(rows) - len({tuple(r.values()) for r in rows})
            older[dataset] += len({r["updated_at"] for r in rows}) - 1
    assert set(reasons["orders"]) == ORDER_REASONS
    assert exact["orders"] and older["orders"]
    customers = audit.known_ids("customers", "customer_id")
    products = audit.known_ids("products", "product_id")
    kept = [r for _, a in audit.of("orders") for r in a.kept.values()]
    assert any(r["customer_id"] not in customers for r in kept)
    assert any(r["product_id"] not in products for r in kept)
    assert {"malformed_row", "missing_key"} <= set(reasons["customers"])
    assert exact["customers"] and older["customers"]
    assert {"malformed_row", "missing_key", "bad_type"} <= set(reasons["products"])
    assert exact["products"] and older["products"]
