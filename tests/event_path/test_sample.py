"""Acceptance: the committed sample through the event path; every file's counts equal the
generator's manifest (rows = written + quarantined by reason + duplicates dropped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoplake.ingest import ingest, wait
from shoplake.settings import ROOT, Settings

pytestmark = pytest.mark.slow
SAMPLE = ROOT / "data" / "sample"


def test_sample_counts_equal_the_generator_manifest(stack: Settings) -> None:
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    uploads = ingest([SAMPLE], stack, echo=lambda _: None)
    by_name = {Path(u.key).name: u.key for u in uploads if u.key}
    result = wait(stack, timeout=600, poll=1, echo=lambda _: None, keys=set(by_name.values()))
    assert not result.timed_out
    states = {o.key: o for o in result.objects}
    mismatches = []
    for f in manifest["files"]:
        key = by_name[Path(f["path"]).name]
        obj = states[key]
        assert obj.status == "SUCCEEDED", (key, obj.detail)
        got = obj.detail["counts"]
        exp = f["expected"]
        want = {"rows_read": f["rows"], "rows_written": exp["rows_written"],
                "duplicates_dropped": exp["duplicates_dropped"],
                "quarantined": {k: v for k, v in exp["quarantined"].items() if v}}
        have = {"rows_read": got["rows_read"], "rows_written": got["rows_written"],
                "duplicates_dropped": got["duplicates_dropped"],
                "quarantined": {k: v for k, v in (got["quarantined_by_reason"] or {}).items() if v}}
        if want != have:
            mismatches.append((f["path"], want, have))
    assert not mismatches, json.dumps(mismatches, indent=1)
