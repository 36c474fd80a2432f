"""``shoplake deploy --plan``: what a deploy would send, offline (no credentials, no network).

cfn-lint of both templates against the AWS resource specification, the rendered parameters
of each stack (code keys computed from the working tree, exactly as a deploy uploads them)
and every IAM and resource policy document with its values filled in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shoplake.deploy import package, template
from shoplake.deploy.parameters import StackSpec, artifacts_stack, platform_stack
from shoplake.settings import ROOT, Settings

CFN_LINT_CONFIG = ROOT / ".cfnlintrc.yaml"


@dataclass
class StackPlan:
    stack: str
    template: str
    parameters: dict[str, str]
    resources: dict[str, str]  # logical id -> type
    policies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Plan:
    lint: list[str]
    stacks: list[StackPlan]

    @property
    def ok(self) -> bool:
        return not self.lint


def lint(paths: list[Path], regions: list[str] | None = None) -> list[str]:
    """cfn-lint findings (errors, warnings and informational) of ``paths``, with the
    repository's configuration; empty when clean."""
    import logging

    from cfnlint.api import ManualArgs, lint_file

    logging.getLogger("cfnlint").setLevel(logging.WARNING)  # "Run scan of template" per file

    config = yaml.safe_load(CFN_LINT_CONFIG.read_text())  # committed: .cfnlintrc.yaml
    args = ManualArgs(regions=regions or config.get("regions") or ["us-east-1"],
                      ignore_checks=list(config.get("ignore_checks") or []))
    found = []
    for path in paths:
        for match in lint_file(path, config=args):
            found.append(f"{Path(match.filename).name}:{match.linenumber}: "
                         f"{match.rule.id} {match.message}")
    return found


def stack_plan(spec: StackSpec, settings: Settings, account: str) -> StackPlan:
    rendered = template.render(template.load(spec.template), spec.parameters,
                               region=settings.region, account=account)
    return StackPlan(
        stack=spec.name,
        template=str(spec.template.relative_to(ROOT)),
        parameters=rendered.parameters,
        resources={k: r["Type"] for k, r in rendered.resources.items()},
        policies=[{"resource": res, "kind": kind, "document": doc}
                  for res, kind, doc in template.policy_documents(rendered)],
    )


def build(settings: Settings, account: str | None = None) -> Plan:
    account = account or settings.account_id
    specs = [artifacts_stack(settings), platform_stack(settings, package.keys(package.build()))]
    return Plan(lint=lint([s.template for s in specs]),
                stacks=[stack_plan(s, settings, account) for s in specs])


def render_text(plan: Plan) -> str:
    out = ["cfn-lint: " + ("no findings" if plan.ok else f"{len(plan.lint)} finding(s)")]
    out += [f"  {line}" for line in plan.lint]
    for sp in plan.stacks:
        out.append(f"\n== stack {sp.stack} ({sp.template}, {len(sp.resources)} resources)")
        out.append("parameters:")
        out += [f"  {k} = {v}" for k, v in sp.parameters.items()]
        out.append("resources:")
        out += [f"  {k:<28} {t}" for k, t in sp.resources.items()]
        out.append("policies:")
        for pol in sp.policies:
            out.append(f"  {pol['resource']} ({pol['kind']}):")
            out += ["    " + line for line in json.dumps(pol["document"], indent=2).splitlines()]
    return "\n".join(out)


def render_json(plan: Plan) -> str:
    return json.dumps(asdict(plan), indent=2)
