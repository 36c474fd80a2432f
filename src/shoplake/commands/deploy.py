"""``shoplake deploy`` and ``shoplake destroy``: the infrastructure through CloudFormation."""

from __future__ import annotations

import click

from shoplake.settings import Settings, get_settings, load_settings


def _settings(profile: str | None) -> Settings:
    return load_settings(profile=profile) if profile else get_settings()


@click.command()
@click.option("--profile", type=click.Choice(["embedded", "compose", "aws"]), default=None,
              help="Deploy to this profile instead of SHOPLAKE_PROFILE.")
@click.option("--plan", "plan_only", is_flag=True,
              help="Offline: cfn-lint, the rendered parameters and every IAM policy document; "
              "no credentials or network needed.")
@click.option("--live", is_flag=True,
              help="With --plan: also create the change sets against the endpoint and print "
              "them, without executing them.")
@click.option("--json", "as_json", is_flag=True, help="With --plan: machine-readable output.")
@click.option("--skip-warehouse", is_flag=True, help="Deploy the AWS stacks only.")
def deploy(profile: str | None, plan_only: bool, live: bool, as_json: bool, skip_warehouse: bool) -> None:
    """Deploy infra/*.yaml through CloudFormation change sets (package, change set, execute,
    wait, outputs), then the warehouse. A second deploy of the same code says "no changes"."""
    from shoplake.deploy import DeployError
    from shoplake.deploy import deploy as run_deploy

    settings = _settings(profile)
    if plan_only:
        from shoplake.deploy import plan

        p = plan.build(settings)
        click.echo(plan.render_json(p) if as_json else plan.render_text(p))
        if not p.ok:
            raise click.ClickException(f"cfn-lint: {len(p.lint)} finding(s)")
        if not live:
            return
    elif live:
        raise click.UsageError("--live needs --plan")
    settings.require_stack()  # before packaging anything
    try:
        run_deploy(settings, echo=click.echo, execute=not plan_only,
                   warehouse=not skip_warehouse)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # credentials, network: one line that says what to do
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, BotoCoreError | ClientError):
            raise click.ClickException(f"deploy failed: {exc}") from exc
        raise


@click.command()
@click.option("--profile", type=click.Choice(["embedded", "compose", "aws"]), default=None)
@click.option("--force", is_flag=True, help="Also empty and delete buckets that hold data.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(profile: str | None, force: bool, yes: bool) -> None:
    """Delete the CloudFormation stacks. Buckets that hold data are kept unless --force."""
    from shoplake.deploy import DeployError
    from shoplake.deploy import destroy as run_destroy

    settings = _settings(profile)
    settings.require_stack()  # before asking anything
    where = settings.aws_endpoint_url or f"AWS ({settings.region})"
    what = "the stacks AND every bucket with its data" if force else "the stacks (buckets with data are kept)"
    if not yes:
        click.confirm(f"delete {what} of {settings.project} on {where}?", abort=True)
    try:
        run_destroy(settings, echo=click.echo, force=force)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS = [deploy, destroy]
