"""``shoplake transform``: build the warehouse models with dbt."""

from __future__ import annotations

import click

from shoplake.settings import get_settings


@click.command()
@click.option("-s", "--select", "select", multiple=True, help="dbt selection (repeatable).")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option("--docs", is_flag=True, help="Run `dbt docs generate` instead of `dbt build`.")
@click.option(
    "--freshness", is_flag=True, help="Run `dbt source freshness` instead of `dbt build`."
)
@click.option("--target", default=None, help="dbt target (default: the profile's dbt_target).")
def transform(
    select: tuple[str, ...], full_refresh: bool, docs: bool, freshness: bool, target: str | None
) -> None:
    """Run `dbt build` (models, snapshot, tests) for the current profile's warehouse.

    The target is the profile's dbt_target (`local`: DuckDB file settings.warehouse_file;
    `prod`: Snowflake from SNOWFLAKE_* variables)."""
    from shoplake import transform as tr

    settings = get_settings()
    if target:
        settings = settings.model_copy(update={"dbt_target": target})
    click.echo(f"dbt target {settings.dbt_target!r}, warehouse {settings.warehouse_file}")
    try:
        if docs:
            tr.generate_docs(settings)
        elif freshness:
            tr.check_freshness(settings)
        else:
            tr.build(select, full_refresh=full_refresh, settings=settings)
    except tr.TransformError as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS = [transform]
