"""The cleanse job and the dbt tests agree on every column's domain (issue 12, finding 4).

``DOMAINS`` in shoplake_jobs.schemas is the definition; dbt reads copies of it as vars of
dbt/dbt_project.yml (the Glue job ships without the dbt folder and dbt runs without the job
package, so neither can read the other's file at run time). This test is the link: it fails
when a copy differs, when a staging ``accepted_values`` test does not use the var of the
job's domain for that column, or when a staging ``not_null`` column comes from a raw column
the job does not require (a row the job loads must never fail a dbt test).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from shoplake_jobs.schemas import DATASETS, DOMAINS

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / "dbt"
STAGING = DBT / "models" / "staging" / "shop"
#: staging model -> dataset of the job
MODELS = {"stg_shop__orders": "orders", "stg_shop__customers": "customers",
          "stg_shop__products": "products"}
#: columns the warehouse loader adds (never empty there)
LOADER_COLUMNS = {"_loaded_at", "_source_file", "source_object"}
VAR_RE = re.compile(r"^\{\{\s*var\('(\w+)'\)\s*\}\}$")


def _select_list(sql: str) -> dict[str, set[str]]:
    """``{alias: raw columns it is computed from}`` of the ``renamed`` CTE of a staging model."""
    body = sql.split("renamed as (", 1)[1]
    body = body[body.index("select") + len("select"): body.index("from source")]
    body = re.sub(r"\{\{.*?\}\}", "t", body)  # jinja type macros
    items, depth, cur = [], 0, ""
    for ch in body:  # split on top-level commas
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    out: dict[str, set[str]] = {}
    for item in items:
        expr, alias = re.match(r"(?s)\s*(.*)\s+as\s+(\w+)\s*$", item).groups()
        out[alias] = set(re.findall(r"\w+", expr))
    return out


def _staging_tests() -> list[tuple[str, str, Any]]:
    """``(model, column, test)`` of every column test in the shop staging YAML."""
    doc = yaml.safe_load((STAGING / "_shop__models.yml").read_text())
    return [(m["name"], c["name"], t) for m in doc["models"] if m["name"] in MODELS
            for c in m.get("columns", []) for t in c.get("data_tests", [])]


def test_dbt_vars_equal_job_domains() -> None:
    dbt_vars = yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"]
    for name, values in DOMAINS.items():
        assert dbt_vars.get(name) == list(values), f"dbt var {name!r} differs from DOMAINS"


def test_accepted_values_use_the_job_domain() -> None:
    seen = set()
    for model, column, test in _staging_tests():
        if not (isinstance(test, dict) and "accepted_values" in test):
            continue
        ds = DATASETS[MODELS[model]]
        (raw,) = _select_list((STAGING / f"{model}.sql").read_text())[column] & set(ds.names)
        values = test["accepted_values"]["arguments"]["values"]
        match = VAR_RE.match(values) if isinstance(values, str) else None
        assert match, f"{model}.{column}: accepted_values must read a var of DOMAINS, not {values!r}"
        assert ds.col(raw).domain == match.group(1), f"{model}.{column}: job domain of {raw} differs"
        seen.add((ds.name, raw))
    with_domain = {(ds.name, c.name) for ds in DATASETS.values() for c in ds.columns if c.domain}
    assert seen == with_domain, "every job domain has its dbt accepted_values test"


def test_staging_not_null_columns_are_required_by_the_job() -> None:
    checked = 0
    for model, column, test in _staging_tests():
        if test != "not_null":
            continue
        ds = DATASETS[MODELS[model]]
        sources = _select_list((STAGING / f"{model}.sql").read_text())[column]
        raw = sources & set(ds.names)
        assert raw or sources & LOADER_COLUMNS, f"{model}.{column}: no raw column found"
        for name in raw:
            col = ds.col(name)
            assert col.required or name in ds.key, (
                f"{model}.{column} is not_null in dbt but {ds.name}.{name} is not required by the job"
            )
            checked += 1
    assert checked >= 10
