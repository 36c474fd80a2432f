"""``shoplake ingest | wait | alerts | dlq``: the event-driven path from the operator's seat."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from shoplake.settings import get_settings


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def ingest(paths: tuple[Path, ...]) -> None:
    """Upload local files (or folders) to their raw/<dataset>/ingest_date=<date>/ prefix.

    The dataset comes from the file name: orders*.csv, customers*.json, products*.csv
    (optionally .gz). Files already there with identical content are not uploaded again.
    """
    from shoplake.ingest import ingest as run

    results = run(paths, get_settings(), echo=click.echo)
    by = {a: [r for r in results if r.action == a] for a in ("uploaded", "unchanged", "skipped")}
    for r in by["skipped"]:
        click.echo(f"  skipped {r.path}: {r.reason}")
    click.echo(f"ingest: {len(by['uploaded'])} uploaded, {len(by['unchanged'])} unchanged, {len(by['skipped'])} skipped")


@click.command()
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait at most.")
def wait(timeout: float) -> None:
    """Block until queues are drained, job runs and DAG runs finished, then summarise.

    While it waits, the sweeper puts back on track what a stop or a crash left half-done.
    Exits non-zero if any object failed, the DLQ is not empty, or the timeout passed.
    """
    from shoplake.ingest import wait as run

    result = run(get_settings(), timeout=timeout, echo=click.echo, sweep_every=10, dag_runs=True)
    ok = [o for o in result.objects if o.status in ("SUCCEEDED", "NO_JOB")]
    click.echo(f"objects: {len(ok)} loaded, {len(result.failed)} failed, DLQ depth {result.dlq_depth}")
    for k, v in sorted(result.totals().items()):
        if v:
            click.echo(f"  {k}: {v}")
    for o in result.failed:
        click.echo(f"  FAILED {o.key}: {o.detail.get('reason') or o.detail.get('error')}")
    if result.timed_out:
        raise click.ClickException(f"not finished after {timeout:.0f}s")
    if not result.ok:
        raise SystemExit(1)


@click.command()
@click.option("-n", "--limit", default=20, show_default=True, help="How many of the latest alerts.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def alerts(limit: int, as_json: bool) -> None:
    """Show the latest alerts (SNS -> the local subscription queue)."""
    from shoplake.alerts import latest

    items = latest(get_settings(), limit)
    if as_json:
        for a in items:
            click.echo(json.dumps(a, sort_keys=True))
        return
    table = Table("when", "subject", "dataset", "object", "error")
    for a in items:
        table.add_row(str(a.get("at") or a.get("timestamp") or ""), str(a.get("subject") or a.get("event")),
                      str(a.get("dataset") or ""), str(a.get("object") or ""), str(a.get("error") or ""))
    Console().print(table)


@click.group()
def dlq() -> None:
    """Inspect and replay the ingest dead-letter queue."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def dlq_list(as_json: bool) -> None:
    """Every failed object in the DLQ with its reason and failure point."""
    from shoplake.dlq import as_dict, peek

    letters = peek(get_settings())
    if as_json:
        for d in letters:
            click.echo(json.dumps(as_dict(d), sort_keys=True))
        return
    table = Table("id", "object", "point", "reason", "detail")
    for d in letters:
        table.add_row(d.source_id or d.message_id, d.object or "?", d.failure_point, d.reason, d.detail[:80])
    Console().print(table)
    click.echo(f"{len(letters)} message(s) in the DLQ")


@dlq.command("redrive")
@click.option("--all", "all_", is_flag=True, help="Replay every message.")
@click.argument("ids", nargs=-1)
def dlq_redrive(all_: bool, ids: tuple[str, ...]) -> None:
    """Replay DLQ messages (by id from `dlq list`, or --all) through the ingest queue."""
    from shoplake.dlq import redrive

    if not all_ and not ids:
        raise click.UsageError("give --all or one or more ids from `shoplake dlq list`")
    moved = redrive(get_settings(), None if all_ else set(ids))
    for d in moved:
        click.echo(f"  redriven {d.source_id or d.message_id} {d.object}")
    click.echo(f"redrive: {len(moved)} message(s) back on the ingest queue (`shoplake wait` to follow)")


COMMANDS = [ingest, wait, alerts, dlq]
