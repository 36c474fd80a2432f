"""``shoplake up | down | status | env``: the local stack's lifecycle."""

from __future__ import annotations

import shlex

import click

from shoplake import stack
from shoplake.settings import get_settings


@click.command()
@click.option("--no-deploy", is_flag=True, help="Start the processes but do not provision resources.")
def up(no_deploy: bool) -> None:
    """Start the local stack and provision it; on a running stack, restart what is down.

    Exits 0 only when every component is healthy, the event path delivers (a test event
    through the ingest queue) and the sweeper has put back on track whatever a stop or a
    crash left half-done (`shoplake wait` then follows it).
    """
    from shoplake.recovery import RecoveryError, ensure_up

    s = get_settings()
    if not s.needs_local_stack:
        raise click.ClickException(
            f"profile {s.profile!r} has no local processes to start ({s.how_to_start})"
        )
    try:
        result = ensure_up(s, echo=click.echo, deploy=not no_deploy)
    except (stack.StackError, RecoveryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if result.restarted:
        click.echo(f"started: {', '.join(result.restarted)}")
    click.echo("stack is up: `shoplake status` shows it, `eval \"$(shoplake env)\"` points AWS tools at it")


@click.command()
@click.option("--timeout", default=20.0, show_default=True, help="Seconds between SIGTERM and SIGKILL.")
def down(timeout: float) -> None:
    """Stop every process `shoplake up` started (state is kept under .shoplake/)."""
    stack.down(get_settings(), echo=click.echo, timeout=timeout)


@click.command()
def status() -> None:
    """Show each component, its endpoint and health, and queue/DLQ depths.

    Exits non-zero when a component is down or the ingest queue has no working consumer.
    """
    from shoplake.status import print_status

    if not print_status(get_settings()):
        raise SystemExit(1)


@click.command()
def doctor() -> None:
    """What is wrong and what to do: components, the event path, stuck objects, orphaned
    runs and the dead-letter queue. Exits non-zero when anything needs an operator."""
    from shoplake.recovery import diagnose

    d = diagnose(get_settings())
    for note in d.notes:
        click.echo(f"  {note}")
    for f in d.findings:
        click.echo(f"PROBLEM {f.what}: {f.detail}\n  -> {f.fix}")
    if d.ok:
        click.echo("doctor: nothing to do")
        return
    click.echo(f"doctor: {len(d.findings)} problem(s)")
    raise SystemExit(1)


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


COMMANDS = [up, down, status, doctor, env]
