"""``shoplake generate``: deterministic synthetic e-commerce data, day by day."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import click

from shoplake.generate import GenerateConfig, generate
from shoplake_contract.datasets import ORDERS

log = logging.getLogger(__name__)


@click.command("generate")
@click.option(
    "--orders",
    "n_orders",
    type=click.IntRange(min=1),
    required=True,
    help="Total order headers over all days (each has 1-4 lines).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=42,
    show_default=True,
    help="Same seed and options -> byte-identical files.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder (day=YYYY-MM-DD/ subfolders + manifest.json). A previous "
    "output there is replaced.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=3,
    show_default=True,
    help="Number of daily increments.",
)
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2026-01-01",
    show_default=True,
    help="First day (UTC).",
)
@click.option(
    "--dirty-fraction",
    type=click.FloatRange(0.0, 0.5),
    default=0.02,
    show_default=True,
    help="Share of injected dirty rows per file (one defect each).",
)
def generate_command(
    n_orders: int, seed: int, out: Path, days: int, start_date: datetime, dirty_fraction: float
) -> None:
    """Write deterministic orders/customers/products files day by day, plus a manifest
    with the counts a correct cleansing job must report."""
    config = GenerateConfig(orders=n_orders, seed=seed, days=days,
                            start_date=start_date.date(), dirty_fraction=dirty_fraction)  # fmt: skip
    began = time.perf_counter()

    def progress(day: str, rows: dict[str, int]) -> None:
        log.info("generated day %s", day, extra={"ctx": rows})

    try:
        manifest = generate(out, config, progress)
    except (FileExistsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    elapsed = time.perf_counter() - began
    totals = manifest["totals"]
    rows = sum(t["rows"] for t in totals.values())
    o = totals[ORDERS]
    click.echo(
        f"generated {len(manifest['files'])} files in {out} ({days} days, seed {seed}): "
        f"{o['rows']} order rows ({o['rows_written']} clean after dedupe, "
        f"{o['duplicates_dropped']} duplicates, {sum(o['quarantined'].values())} quarantined, "
        f"{o['orphans']['customer'] + o['orphans']['product']} orphans), "
        f"{totals['customers']['rows']} customer rows, {totals['products']['rows']} product rows; "
        f"{rows} rows in {elapsed:.2f}s ({rows / max(elapsed, 1e-9):,.0f} rows/s)"
    )


COMMANDS = [generate_command]
