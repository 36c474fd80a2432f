"""The ``shoplake`` command line. Each command lives in its own module under
``shoplake.commands``; this file only assembles the group."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from shoplake.log import setup_logging
from shoplake.settings import StackNotRunning

# module name under shoplake.commands -> the click command objects it exports
COMMAND_MODULES: list[str] = [
    "stack",  # up, down, status, env
    "deploy",  # deploy
    "generate",  # generate
    "events",  # ingest, wait, alerts, dlq
    "fx",  # fetch-rates
    "demo",  # demo, report
    "dashboard",  # dashboard
    "warehouse",  # load, sql
    "transform",  # transform (dbt build / docs)
    "airflow",  # run batch, airflow status|password
]


class ShoplakeGroup(click.Group):
    """The command group: a stopped local stack is a one-line user error, not a traceback,
    whichever command (or module under it) found out."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except StackNotRunning as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=ShoplakeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(package_name="shoplake")
def cli(verbose: bool) -> None:
    """shoplake: an e-commerce data platform (S3, SQS, Lambda, Glue, Airflow, Snowflake, dbt)
    that runs on one laptop and deploys the same artifacts to the real cloud.

    The profile comes from SHOPLAKE_PROFILE (embedded, compose, aws).
    """
    setup_logging(logging.DEBUG if verbose else logging.INFO)


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"shoplake.commands.{name}")
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
