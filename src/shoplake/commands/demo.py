"""``shoplake demo`` and ``shoplake report``."""

from __future__ import annotations

from pathlib import Path

import click

from shoplake.settings import get_settings


@click.command()
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of day=YYYY-MM-DD/ sub-folders (default: the committed sample).")
@click.option("--orders", type=int, default=None, help="Generate this many orders instead of using the sample.")
@click.option("--days", type=int, default=3, show_default=True, help="Days to generate (with --orders).")
def demo(data_dir: Path | None, orders: int | None, days: int) -> None:
    """Start the stack and run simulated days end to end; print a summary and write the report.

    Per day the day's files land in raw/ (S3 event -> SQS -> Lambda -> Glue job -> curated
    Parquet + quarantine), then the warehouse loads them (stage + COPY INTO) and dbt builds
    the models incrementally. Ends with the path of a static HTML report.
    """
    from shoplake.demo import run_demo, summary_dict

    result = run_demo(data_dir, orders=orders, days=days, echo=click.echo)
    click.echo("\n== shoplake demo summary")
    for k, v in summary_dict(result).items():
        click.echo(f"  {k}: {v}")
    click.echo("  revenue per day (net, USD):")
    for day, usd, n in result.revenue:
        click.echo(f"    {day}  {float(usd or 0):>12,.2f} USD  {int(n or 0)} orders")
    click.echo(f"\nreport: {result.report}")
    s = get_settings()
    click.echo(f"stack still running for you to explore (`shoplake status`, `shoplake sql ...`); "
               f"stop it with `shoplake down`. State: {s.home}")
    if not result.ok:
        raise SystemExit(1)


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the HTML (default: <home>/report/index.html).")
def report(out: Path | None) -> None:
    """Write the static HTML report from the current warehouse and lake."""
    from shoplake.report import write_report

    path = write_report(get_settings(), path=out)
    click.echo(f"report: {path}")


COMMANDS = [demo, report]
