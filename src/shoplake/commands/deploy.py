"""``shoplake deploy``: provision the platform's cloud resources."""

from __future__ import annotations

import click

from shoplake.settings import get_settings, load_settings


@click.command()
@click.option("--profile", type=click.Choice(["embedded", "compose", "aws"]), default=None,
              help="Deploy to this profile instead of SHOPLAKE_PROFILE.")
@click.option("--plan", "plan_only", is_flag=True,
              help="Print what would be created, with every IAM policy document, without calling AWS.")
@click.option("--json", "as_json", is_flag=True, help="With --plan: machine-readable output.")
def deploy(profile: str | None, plan_only: bool, as_json: bool) -> None:
    """Create or update every resource (idempotent: a second run reports no changes)."""
    from shoplake.deploy import build_plan
    from shoplake.deploy import deploy as run_deploy
    from shoplake.deploy.plan_text import as_json as plan_json
    from shoplake.deploy.plan_text import render

    settings = load_settings(profile=profile) if profile else get_settings()
    if plan_only:
        plan = build_plan(settings, settings.account_id)
        click.echo(plan_json(plan) if as_json else render(plan))
        return
    if settings.is_emulated and not settings.aws_endpoint_url:
        raise click.ClickException("no emulator endpoint: run `shoplake up` first")
    run_deploy(settings, echo=click.echo)


COMMANDS = [deploy]
