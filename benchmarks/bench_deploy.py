"""``shoplake deploy`` on the emulator: first deploy, no-op deploy, one-Lambda change.

Starts a MiniStack of its own in a temporary home, then ``--repeat`` times on a reset
emulator: the first deploy of both stacks (change sets, create, wait), a second deploy of the
same code (two empty change sets: "no changes"), and a deploy after editing one Lambda
handler in a copy of the source (one Modify). The warehouse side is left out (it has its own
benchmark). Prints the resource count of each stack, medians and ratios.

Run: ``.venv/bin/python benchmarks/bench_deploy.py [--repeat 3]``. Wall-clock figures on a
shared machine vary: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import requests

from shoplake import aws
from shoplake import stack as stack_mod
from shoplake.deploy import deploy, package
from shoplake.settings import ROOT, load_settings


def _quiet(_: str) -> None:
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    home = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    src = home / "src"
    for folder in ("lambdas", "jobs", "src/shoplake_contract"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    settings = load_settings(home=home)
    state = stack_mod.up(settings, echo=_quiet, only={"emulator"})
    live = load_settings(home=home, aws_endpoint_url=state["endpoints"]["aws"])
    times: dict[str, list[float]] = {"first": [], "no-op": [], "one lambda": []}
    try:
        for i in range(args.repeat):
            requests.post(f"{live.aws_endpoint_url}/_ministack/reset", timeout=10).raise_for_status()
            handler = src / "lambdas" / "job_events" / "handler.py"
            t = time.perf_counter()
            first = deploy(live, echo=_quiet, warehouse=False)
            times["first"].append(time.perf_counter() - t)
            t = time.perf_counter()
            again = deploy(live, echo=_quiet, warehouse=False)
            times["no-op"].append(time.perf_counter() - t)
            assert again.changes == [], again.changes
            handler.write_text(handler.read_text() + f"\n# bench edit {i}\n")
            build = package.build
            package.build = functools.partial(build, src)
            try:
                t = time.perf_counter()
                edited = deploy(live, echo=_quiet, warehouse=False)
                times["one lambda"].append(time.perf_counter() - t)
            finally:
                package.build = build
            assert [c.logical_id for c in edited.changes] == ["JobEventsFunction"], edited.changes
        cfn = aws.client("cloudformation", live)
        counts = {n: len(cfn.list_stack_resources(StackName=n)["StackResourceSummaries"])
                  for n in (f"{live.project}-artifacts", live.stack_name)}
        print(f"resources: {counts} (total {sum(counts.values())}); first deploy: {len(first.changes)} Add")
        print("  " + ", ".join(sorted(c.logical_id for c in first.changes)))
        print(f"{'deploy':<12} {'median s':>9} {'min s':>7} {'max s':>7}")
        for name, values in times.items():
            print(f"{name:<12} {statistics.median(values):>9.2f} {min(values):>7.2f} {max(values):>7.2f}")
        m = {k: statistics.median(v) for k, v in times.items()}
        print(f"first / no-op: {m['first'] / m['no-op']:.1f}x; one lambda / no-op: {m['one lambda'] / m['no-op']:.1f}x")
    finally:
        stack_mod.down(settings, echo=_quiet)
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
