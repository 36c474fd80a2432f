"""``shoplake load`` and ``shoplake sql``: the warehouse commands."""

from __future__ import annotations

import sys

import click

from shoplake_contract.datasets import DATASETS


@click.command("load")
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    type=click.Choice(list(DATASETS)),
    help="Load only this dataset (repeatable). Default: all.",
)
def load(datasets: tuple[str, ...]) -> None:
    """Load committed curated Parquet and raw FX rates into the warehouse RAW tables.

    Only files listed in SUCCEEDED run manifests (curated/_manifests/<dataset>/*.json) are
    loaded; files already loaded are skipped; a replayed file with new content replaces its old
    rows; a file whose columns differ from its table fails the dataset. An invalid manifest or
    a file with a bad key (e.g. partition order_date=10000-01-01) is refused alone with an alert
    (status WARNING); the rest loads. Writes one RAW.PIPELINE_RUNS row per dataset. Exit status
    1 if a dataset failed.
    """
    from rich.console import Console
    from rich.table import Table

    from shoplake.warehouse import load as run

    result = run(datasets=datasets or None, raise_on_error=False)
    table = Table(title=f"load run {result.run_id}")
    for column in ("table", "status", "files", "skipped", "rows", "rows in", "quar.", "detail"):
        table.add_column(column, overflow="fold", no_wrap=column in ("table", "status"))
    for t in result.tables:
        files = f"{t.files_loaded} ({t.files_replaced} repl.)" if t.files_replaced else str(t.files_loaded)
        table.add_row(
            t.table, t.status, files, str(t.files_skipped), str(t.rows_loaded),
            str(t.rows_in), str(t.rows_quarantined), t.detail,
        )
    Console().print(table)
    if not result.ok:
        sys.exit(1)


@click.command("sql")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--wait",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds to wait for a local writer (load, dbt) to release the DuckDB file.",
)
@click.option(
    "--native",
    is_flag=True,
    help="Local warehouse only: run QUERY as DuckDB SQL on the file (exact decimal sums; "
    "fakesnow computes SUM/AVG of NUMBER as DOUBLE). Same read-only, locked-down session.",
)
def sql(query: str, fmt: str, wait: float, native: bool) -> None:
    """Run one read-only QUERY (Snowflake SQL) against the warehouse of the current profile.

    Locally the DuckDB file is attached read-only and the session is locked down before QUERY
    runs: no reading or writing of other files, no extensions, no settings changes (DuckDB
    refuses readers while a writer such as `shoplake load` or dbt holds the file: the command
    waits --wait seconds, then fails). CSV output prefixes text cells that start with
    = + - @ TAB CR with a single quote (spreadsheet formula injection).

    Example: shoplake sql "select count(*) from raw.orders" --format json
    """
    from shoplake.warehouse.connection import WarehouseError
    from shoplake.warehouse.query import query as run_query
    from shoplake.warehouse.query import to_csv, to_json, to_rich_table

    try:
        result = run_query(query, lock_wait_s=wait, native=native)
    except WarehouseError as exc:
        raise click.ClickException(_one_line(str(exc))) from exc
    except Exception as exc:  # SQL errors from the warehouse (DuckDB adds a caret diagram)
        raise click.ClickException(_one_line(f"{type(exc).__name__}: {exc}")) from exc
    if fmt == "json":
        click.echo(to_json(result))
    elif fmt == "csv":
        click.echo(to_csv(result), nl=False)
    else:
        from rich.console import Console

        Console().print(to_rich_table(result))


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else message


COMMANDS = [load, sql]
