"""The warehouse SQL files (``warehouse/*.sql``): reading, sections, templating, splitting.

The files are Snowflake SQL and run unchanged on both backends. Conventions:

- ``-- name: <section>`` starts a named section (the loader runs one section at a time);
  text before the first marker is a header of comments.
- ``{{ var }}`` may appear only inside string literals; :func:`render` replaces it with a value
  restricted to :data:`SAFE_VALUE` characters, so no value can break out of the literal.
- ``?`` marks a bound parameter (qmark paramstyle, supported by snowflake-connector and fakesnow).
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path

from snowflake.connector.util_text import split_statements

from shoplake.settings import ROOT

#: Folder of the warehouse SQL files.
SQL_DIR = ROOT / "warehouse"

_SECTION = re.compile(r"^--\s*name:\s*(?P<name>[A-Za-z0-9_]+)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: Characters a rendered value may contain (S3 keys of the curated layout, bucket names).
SAFE_VALUE = re.compile(r"^[A-Za-z0-9_\-./=:]+$")


class SqlTemplateError(ValueError):
    """A template variable is missing or its value is not safe to render."""


def sql_path(name: str) -> Path:
    return SQL_DIR / name


@lru_cache(maxsize=16)
def read_sql(name: str) -> str:
    """The text of ``warehouse/<name>``."""
    return sql_path(name).read_text(encoding="utf-8")


def split(sql: str) -> list[str]:
    """Statements of ``sql`` (comments removed), split the way the Snowflake connector does."""
    statements = []
    for statement, _is_put_get in split_statements(io.StringIO(sql), remove_comments=True):
        text = statement.strip()
        if text and text != ";":
            statements.append(text)
    return statements


def sections(sql: str) -> dict[str, str]:
    """``{section name: text}`` of a file with ``-- name:`` markers."""
    markers = list(_SECTION.finditer(sql))
    out: dict[str, str] = {}
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(sql)
        name = marker.group("name")
        if name in out:
            raise ValueError(f"duplicate SQL section {name!r}")
        out[name] = sql[marker.end() : end]
    return out


def section_statements(file_name: str, section: str, **variables: str) -> list[str]:
    """Rendered statements of one section of ``warehouse/<file_name>``."""
    all_sections = sections(read_sql(file_name))
    if section not in all_sections:
        raise KeyError(f"no section {section!r} in warehouse/{file_name}")
    return split(render(all_sections[section], **variables))


def render(sql: str, **variables: str) -> str:
    """Replace ``{{ var }}`` with checked values; every placeholder must have a value."""

    def value(match: re.Match[str]) -> str:
        var = match.group("var")
        if var not in variables:
            raise SqlTemplateError(f"no value for template variable {var!r}")
        text = str(variables[var])
        if not SAFE_VALUE.match(text):
            raise SqlTemplateError(f"unsafe value for {var!r}: {text!r}")
        return text

    return _PLACEHOLDER.sub(value, sql)
