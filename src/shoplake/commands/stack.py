"""``shoplake up | down | status | env``: the local stack's lifecycle."""

from __future__ import annotations

import shlex

import click

from shoplake import stack
from shoplake.settings import get_settings


@click.command()
@click.option("--no-deploy", is_flag=True, help="Start the processes but do not provision resources.")
def up(no_deploy: bool) -> None:
    """Start the local stack (emulator, Glue job runner, FX API stand-in) and provision it."""
    s = get_settings()
    if s.stack_mode != "processes":
        raise click.ClickException(
            f"profile {s.profile!r} has no local processes to start "
            f"({'use docker compose up' if s.stack_mode == 'compose' else 'it runs on real AWS'})"
        )
    try:
        stack.up(s, echo=click.echo)
    except stack.StackError as exc:
        raise click.ClickException(str(exc)) from exc
    if not no_deploy:
        from shoplake.deploy import deploy

        get_settings.cache_clear()
        deploy(get_settings(), echo=click.echo)
    click.echo("stack is up: `shoplake status` shows it, `eval \"$(shoplake env)\"` points AWS tools at it")


@click.command()
@click.option("--timeout", default=20.0, show_default=True, help="Seconds between SIGTERM and SIGKILL.")
def down(timeout: float) -> None:
    """Stop every process `shoplake up` started (state is kept under .shoplake/)."""
    stack.down(get_settings(), echo=click.echo, timeout=timeout)


@click.command()
def status() -> None:
    """Show each component, its endpoint and health, and queue/DLQ depths."""
    from shoplake.status import print_status

    print_status(get_settings())


@click.command()
def env() -> None:
    """Print `export` lines that point the aws CLI, awslocal and boto3 at this profile."""
    s = get_settings()
    for key, value in sorted(s.aws_env().items()):
        click.echo(f"export {key}={shlex.quote(value)}")
    click.echo(f"export SHOPLAKE_PROFILE={shlex.quote(s.profile)}")
    if s.aws_endpoint_url:
        # awscli-local reads these
        from urllib.parse import urlparse

        u = urlparse(s.aws_endpoint_url)
        click.echo(f"export LOCALSTACK_HOST={u.hostname}:{u.port}")


COMMANDS = [up, down, status, env]
