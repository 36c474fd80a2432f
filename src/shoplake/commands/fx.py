"""``shoplake fetch-rates``: FX rates from the Frankfurter API into raw/fx_rates."""

from __future__ import annotations

from datetime import date

import click

from shoplake.fx import FxError, fetch_rates


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@click.command("fetch-rates")
@click.option("--start", callback=_date, help="First calendar date (default: watermark + 1).")
@click.option("--end", callback=_date, help="Last calendar date (default: today).")
@click.option("--base", default="EUR", show_default=True, help="Base currency.")
@click.option("--symbols", default=None, help="Comma-separated currencies (default: all).")
@click.option("--source", default=None, help="Source name (default: frankfurter[-<base>]).")
@click.option(
    "--ignore-watermark",
    is_flag=True,
    help="Fetch --start..--end even if already ingested (existing identical files are skipped).",
)
def fetch_rates_command(
    start: date | None,
    end: date | None,
    base: str,
    symbols: str | None,
    source: str | None,
    ignore_watermark: bool,
) -> None:
    """Fetch ECB reference rates into s3://<lake>/raw/fx_rates/ (only dates not yet fetched)."""
    symbol_list = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    try:
        result = fetch_rates(
            start,
            end,
            base=base,
            symbols=symbol_list,
            source=source,
            ignore_watermark=ignore_watermark,
        )
    except FxError as exc:
        raise click.ClickException(f"{exc} (nothing written, watermark unchanged)") from exc
    if result.start is None:
        click.echo(
            f"{result.source}: up to date (watermark {result.watermark_before}), nothing to fetch"
        )
        return
    click.echo(f"{result.source}: range {result.start}..{result.end}, {result.requests} request(s)")
    for chunk in result.chunks:
        days = f"{len(chunk.rate_dates)} business day(s)" if chunk.rate_dates else "no new dates"
        target = f" -> {chunk.key}" if chunk.key else ""
        click.echo(f"  {chunk.start}..{chunk.end}: {chunk.status} ({days}){target}")
    click.echo(f"watermark: {result.watermark_before} -> {result.watermark_after}")


COMMANDS = [fetch_rates_command]
