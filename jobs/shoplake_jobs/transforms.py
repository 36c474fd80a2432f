"""Engine-neutral PySpark DataFrame transforms of the cleanse job.

Written against the PySpark DataFrame API only; the same code runs on Spark and on
DuckDB through sqlframe (:func:`api` picks the functions module of the DataFrame's
engine, so both engines can live in one process). No Python UDFs, no collect() of data.

Frames flow like this (internal columns start with ``_``):

    lines    (_line_no, _raw)                 one row per physical line, from the I/O layer
    records  (_line_no, _raw)                 CSV: quoted newlines joined; blank lines dropped
    parsed   (_line_no, _raw, _malformed, _malformed_detail, <raw string columns>)
    classified (_line_no, _raw, _reason, _detail, <typed columns>, <partition>)
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from shoplake_jobs.schemas import (
    DOMAINS,
    ISO_CURRENCIES,
    MAX_OFFSET,
    REASONS,
    TIMESTAMP_YEARS,
    Col,
    Dataset,
    ingest_date_of,
)

DataFrame = Any
Column = Any

#: One CSV field (RFC 4180): quoted (``""`` escapes a quote, newlines allowed) or unquoted
#: without any quote (``5" screen`` is malformed). The quoted part is an unrolled loop: Java's
#: regex engine recurses once per iteration of a group, and ``(?:[^"]|"")*`` overflowed
#: Spark's stack (a JVM crash, not a quarantined row) on a quoted field of ~5000 characters.
CSV_FIELD_RE = r'(?:^|,)("[^"]*(?:""[^"]*)*"|[^,"]*)'
INT_RE = r"^[+-]?[0-9]{1,9}$"
DECIMAL_RE = r"^[+-]?[0-9]{1,16}(\.[0-9]+)?$"
#: ISO-8601 with real clock fields and an offset within ±14:00; the calendar (Feb 30) is
#: checked by the cast and the UTC year range (TIMESTAMP_YEARS) after it.
TIMESTAMP_RE = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]" + MAX_OFFSET + r")?$"
)
#: C0 control characters and DEL, except TAB, LF and CR (quoted CSV fields may hold lines).
CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
CURRENCY_RE = r"^[A-Z]{3}$"
ISO_CURRENCY_RE = "^(" + "|".join(sorted(ISO_CURRENCIES)) + ")$"
TEXT_KINDS = ("string", "lower", "upper")
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
REPLACEMENT_CHAR = "\ufffd"
BOM = "\ufeff"
_PAD = 12  # digits of the line-number prefix used to order the lines of a record


def api(df: DataFrame) -> tuple[ModuleType, Any]:
    """``(functions, Window)`` of the engine behind ``df`` (pyspark or sqlframe)."""
    if type(df).__module__.startswith("sqlframe"):
        from sqlframe.duckdb import Window
        from sqlframe.duckdb import functions as F

        return F, Window
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return F, Window


# --- lines -> records ---------------------------------------------------------------------
def strip_bom(lines: DataFrame) -> DataFrame:
    """Remove a UTF-8 byte-order mark from the first line."""
    F, _ = api(lines)
    first = F.col("_line_no") == 1
    return lines.withColumn(
        "_raw", F.when(first, F.regexp_replace("_raw", f"^{BOM}", "")).otherwise(F.col("_raw"))
    )


def opens_quote(F: ModuleType, line: Column) -> Column:
    """Whether ``line``, read from the start of a record, ends inside a quoted field that was
    opened at the start of a field: the only way a CSV record continues onto the next line.

    Regexes without repeated groups (see :data:`CSV_FIELD_RE`): escaped quotes ``""`` are
    dropped (a run of quotes only matters by its parity), every remaining quote pair (a
    complete quoted field, in order) becomes the marker ``""``, which must stand between
    commas; what is left must be unquoted fields and one last quote at a field start.
    """
    bare = F.regexp_replace(line, '""', "")
    marked = F.regexp_replace(bare, '"[^"]*"', '""')
    misplaced = marked.rlike('[^,]""|""[^,]')
    rest = F.regexp_replace(marked, '""', "")
    return ~misplaced & rest.rlike('^([^"]*,)?"[^"]*$')


def stays_in_quote(F: ModuleType, line: Column) -> Column:
    """Whether ``line``, read from inside an open quoted field, ends inside one again: it has
    no closing quote, or it closes the field and opens another at a field start (see
    :func:`opens_quote`). Any other such line ends the record."""
    bare = F.regexp_replace(line, '""', "")
    after_close = F.regexp_extract(bare, '^[^"]*",(.*)$', 1)
    return ~bare.contains('"') | opens_quote(F, after_close)


def probe(lines: DataFrame) -> DataFrame:
    """One small row: the first non-blank line (``_first``, its text ``_header``), whether
    any line opens a quoted field that continues on the next line (``_multiline``, see
    :func:`opens_quote`) and the number of non-blank lines (``_nonblank``)."""
    F, _ = api(lines)
    opens = F.when(F.col("_raw").contains('"') & opens_quote(F, F.col("_raw")), 1).otherwise(0)
    return lines.filter(F.col("_raw") != "").agg(
        F.min("_line_no").alias("_first"),
        F.min_by("_raw", "_line_no").alias("_header"),
        F.max(opens).alias("_multiline"),
        F.count(F.lit(1)).alias("_nonblank"),
    )


def csv_records(lines: DataFrame, multiline: bool) -> DataFrame:
    """Join the physical lines of records whose quoted fields contain newlines.

    ``multiline=False`` (no line opens a quoted field it does not close) is the fast path:
    every non-blank line is a record. A record's ``_line_no`` is its first physical line.

    Otherwise each line is a step of a two-state machine (outside / inside a quoted field at
    the line's end). Read from outside, a line for which :func:`opens_quote` holds ends inside
    (``opens``); read from inside, one for which :func:`stays_in_quote` holds stays inside
    (``stays``), any other line ends the record. A quote in an unquoted field (``5" screen``)
    matches neither, so it never carries the record over: that line alone is malformed.
    The two never both hold (opening needs an odd number of quotes, staying open an even one), so each line either resets the state (neither), copies it (``_stays``
    only) or flips it (``_opens`` only): the state after a line is the parity of the flips
    since the last reset, which window sums give without a per-row loop.
    """
    F, Window = api(lines)
    if not multiline:
        return lines.filter(F.col("_raw") != "")
    has_quote = F.col("_raw").contains('"')
    opens = has_quote & opens_quote(F, F.col("_raw"))
    stays = ~has_quote | stays_in_quote(F, F.col("_raw"))
    flip = F.when(opens, 1).otherwise(0)
    reset = F.when(~opens & ~stays, 1).otherwise(0)
    order = Window.orderBy("_line_no")
    upto = order.rowsBetween(Window.unboundedPreceding, 0)
    steps = lines.select("_line_no", "_raw", flip.alias("_flip"), reset.alias("_reset"))
    steps = steps.select("*", F.sum("_reset").over(upto).alias("_seg"))
    in_seg = Window.partitionBy("_seg").orderBy("_line_no").rowsBetween(Window.unboundedPreceding, 0)
    steps = steps.select("_line_no", "_raw", (F.sum("_flip").over(in_seg) % 2).alias("_inside"))
    # a record starts at a line read from outside: the first line, or one after an outside end
    start = F.coalesce(F.lag("_inside", 1).over(order), F.lit(0)) == 0
    marked = steps.select("_line_no", "_raw", F.when(start, 1).otherwise(0).alias("_start"))
    numbered = marked.select("_line_no", "_raw", F.sum("_start").over(upto).alias("_rec"))
    keyed = F.concat(F.lpad(F.col("_line_no").cast("string"), _PAD, "0"), F.col("_raw"))
    grouped = numbered.groupBy("_rec").agg(
        F.min("_line_no").alias("_line_no"),
        F.array_join(F.sort_array(F.collect_list(keyed)), "\n").alias("_joined"),
    )
    records = grouped.select(
        "_line_no", F.regexp_replace("_joined", f"(?m)^[0-9]{{{_PAD}}}", "").alias("_raw")
    )
    return records.filter(F.col("_raw") != "")


def csv_parse(records: DataFrame, header: list[str], dataset: Dataset) -> DataFrame:
    """Split CSV records into the dataset's string columns (by header position).

    A record whose field count differs from the header's, or whose quoting is broken, is
    ``_malformed``. Header columns outside the contract are ignored. Records without a
    double quote (nearly all) take the cheap path (``split_part``); quoted ones a regex.
    """
    F, _ = api(records)
    positions = {name: header.index(name) for name in dataset.names}
    quoted = F.col("_quoted")
    step = records.select("_line_no", "_raw", F.col("_raw").contains('"').alias("_quoted"))
    fields = F.when(quoted, F.regexp_extract_all("_raw", F.lit(CSV_FIELD_RE), 1)).otherwise(
        split_plain(F, F.col("_raw"), ",")
    )
    step = step.select("*", fields.alias("_fields"))
    n = F.size("_fields")
    broken = quoted & (F.array_join("_fields", ",") != F.col("_raw"))
    malformed = (n != len(header)) | broken
    detail = F.when(
        n != len(header),
        F.concat(F.lit(f"expected {len(header)} fields, got "), n.cast("string")),
    ).otherwise(F.lit("unbalanced quotes"))

    def field(pos: int) -> Column:
        value = F.element_at("_fields", pos + 1)
        return F.when(quoted, _unquote(F, value)).otherwise(value)

    return step.select(
        "_line_no",
        "_raw",
        malformed.alias("_malformed"),
        F.when(malformed, detail).alias("_malformed_detail"),
        *[field(positions[name]).alias(name) for name in dataset.names],
    )


def split_plain(F: ModuleType, value: Column, sep: str) -> Column:
    """Split on a literal one-character separator. The one engine-specific primitive:
    Spark's ``split`` takes a regex (a plain character is its fast path); sqlframe maps it
    to DuckDB's regex split, 4x slower than DuckDB's literal ``string_split``."""
    if F.__name__.startswith("sqlframe"):
        return F.call_function("string_split", value, F.lit(sep))
    return F.split(value, sep)


def _unquote(F: ModuleType, value: Column) -> Column:
    quoted = value.rlike(r'^"(?s:.*)"$')
    inner = F.regexp_replace(F.regexp_extract(value, r'^"((?s:.*))"$', 1), '""', '"')
    return F.when(quoted, inner).otherwise(value)


# --- JSON Lines ----------------------------------------------------------------------------
#: What both engines' JSON parsers accept alike: Spark's is lenient where DuckDB's is strict
#: (trailing text, ``}{``, single quotes) and the other way round (trailing commas). Lines of
#: these shapes are malformed on both engines (a string value containing ``, '`` or ``,}``
#: is caught too: rare, and quarantined the same way everywhere).
JSON_OBJECT_RE = r'^\{\s*("|\}).*\}$'
JSON_LENIENT_RE = r"(\}\s*\{)|(,\s*[\]\}])|([:,\[]\s*')"


def strict_json(parsed: DataFrame) -> DataFrame:
    """Mark JSON lines outside the strict subset as ``malformed_row`` (see above)."""
    F, _ = api(parsed)
    text = F.trim(F.col("_raw"))
    bad = ~text.rlike(JSON_OBJECT_RE) | text.rlike(JSON_LENIENT_RE)
    return parsed.withColumn(
        "_malformed_detail",
        F.coalesce(F.col("_malformed_detail"), F.when(bad, F.lit("invalid JSON"))),
    ).withColumn("_malformed", F.col("_malformed") | bad)


# --- parsed -> classified -----------------------------------------------------------------
def classify(parsed: DataFrame, dataset: Dataset, source_object: str) -> DataFrame:
    """Type every column and give each row its first failing reason code (or NULL).

    Built as a few wide ``select``s (not a ``withColumn`` chain): sqlframe copies the whole
    expression tree per operation, so fewer, flatter steps keep planning fast.
    """
    F, _ = api(parsed)
    base = ["_line_no", "_raw", "_malformed", "_malformed_detail"]
    if "_type_error" not in parsed.columns:  # CSV: every value is text
        parsed = parsed.select("*", F.lit(None).cast("string").alias("_type_error"))
    base.append("_type_error")
    trimmed = [F.trim(F.col(c.name)) for c in dataset.columns]
    values = parsed.select(
        *base,
        *[F.when(v != "", v).alias(f"_v_{c.name}") for c, v in zip(dataset.columns, trimmed, strict=True)],
    )
    typed_cols = [_typed(F, c).alias(f"_t_{c.name}") for c in dataset.columns]
    if "line_amount" in dataset.derived:
        # Multiplied in a type wide enough for any accepted operands (9 + 16 digits), then
        # narrowed: DuckDB raises on an overflowing decimal product inside try_cast, Spark
        # gives NULL; NULL (-> bad_type) on both this way.
        typed_cols.append(
            F.expr("try_cast(try_cast(_v_quantity as decimal(10,0)) * try_cast(_v_unit_price as"
                   " decimal(20,2)) as decimal(18,2))").alias("_t_line_amount")
        )
    typed = values.select("*", *typed_cols)
    checks = _checks(F, dataset)
    flagged = typed.select("*", *[cond.alias(f"_k{i}") for i, (_, cond, _) in enumerate(checks)])
    reason = F.when(F.col("_k0"), F.lit(checks[0][0]))
    detail = F.when(F.col("_k0"), checks[0][2])
    for i, (code, _, text) in enumerate(checks[1:], start=1):
        reason = reason.when(F.col(f"_k{i}"), F.lit(code))
        detail = detail.when(F.col(f"_k{i}"), text)
    out = [F.col(f"_t_{c.name}").alias(c.name) for c in dataset.columns]
    derived = [F.col(f"_t_{d}").alias(d) for d in dataset.derived]
    if dataset.partition_from is None:  # one partition per raw object: its ingest date
        part = F.lit(ingest_date_of(source_object)).cast("date").alias(dataset.partition)
    else:
        part = F.to_date(F.col(f"_t_{dataset.partition_from}")).alias(dataset.partition)
    # the raw text is only kept for rejected rows (quarantine): valid rows do not carry it
    return flagged.select(
        "_line_no", F.when(reason.isNotNull(), F.col("_raw")).alias("_raw"),
        reason.alias("_reason"), detail.alias("_detail"), *out, *derived,
        F.lit(source_object).alias("source_object"), part,
    )


def _typed(F: ModuleType, c: Col) -> Column:
    v = F.col(f"_v_{c.name}")
    name = f"_v_{c.name}"
    if c.kind == "lower":
        return F.lower(v)
    if c.kind == "upper":
        return F.upper(v)
    if c.kind == "int":
        return F.when(v.rlike(INT_RE), F.expr(f"try_cast({name} as int)"))
    if c.kind == "decimal":
        return F.when(v.rlike(DECIMAL_RE), F.expr(f"try_cast({name} as decimal(18,2))"))
    if c.kind == "bool":
        low = F.lower(v)
        return F.when(low.isin(*TRUE_WORDS), F.lit(True)).when(
            low.isin(*FALSE_WORDS), F.lit(False)
        )
    if c.kind == "timestamp":
        ts = F.when(v.rlike(TIMESTAMP_RE), F.expr(f"try_cast({name} as timestamp)"))
        return F.when(F.year(ts).between(*TIMESTAMP_YEARS), ts)
    if c.kind == "currency":
        up = F.upper(v)
        return F.when(up.rlike(CURRENCY_RE) & up.rlike(ISO_CURRENCY_RE), up)
    return v


def _checks(F: ModuleType, ds: Dataset) -> list[tuple[str, Column, Column]]:
    """(reason, condition, detail) in the fixed precedence of :data:`REASONS`."""

    def raw(c: Col) -> Column:
        return F.col(f"_v_{c.name}")

    def typed(c: Col) -> Column:
        return F.col(f"_t_{c.name}")

    def shown(c: Col, what: str) -> Column:
        return F.concat(F.lit(f"{c.name}: {what} "), F.coalesce(raw(c), F.lit("<empty>")))

    def bad(c: Col) -> Column:
        invalid = raw(c).isNotNull() & typed(c).isNull()
        return invalid | raw(c).isNull() if c.required else invalid

    checks: list[tuple[str, Column, Column]] = [
        ("malformed_row", F.col("_malformed"), F.col("_malformed_detail")),
        ("encoding_error", F.col("_raw").contains(REPLACEMENT_CHAR),
         F.lit("invalid UTF-8 byte sequence")),
    ]
    identifiers = [*ds.key, *(c.name for c in ds.columns if c.required and c.kind == "string")]
    for name in dict.fromkeys(identifiers):
        checks.append(("missing_key", raw(ds.col(name)).isNull(), F.lit(f"{name}: empty")))
    checks.append(("bad_type", F.col("_type_error").isNotNull(), F.col("_type_error")))
    kinds = {"bad_type": ("int", "decimal", "bool"), "bad_timestamp": ("timestamp",),
             "bad_currency": ("currency",)}
    for reason, ks in kinds.items():
        for c in ds.columns:
            if c.kind in ks:
                checks.append((reason, bad(c), shown(c, f"not a valid {c.kind}:")))
        if reason == "bad_type" and "line_amount" in ds.derived:
            checks.append(("bad_type", F.col("_t_line_amount").isNull(),
                           F.lit("line_amount: overflows decimal(18,2)")))
    for c in ds.columns:
        if c.domain:
            allowed = typed(c).isin(*DOMAINS[c.domain])
            outside = ~allowed if c.required else raw(c).isNotNull() & ~allowed
            checks.append(("bad_domain", F.coalesce(outside, F.lit(True)),
                           shown(c, f"not in {c.domain}:")))
    for c in ds.columns:
        if c.kind in TEXT_KINDS:
            checks.append(("bad_domain", F.coalesce(raw(c).rlike(CONTROL_RE), F.lit(False)),
                           F.lit(f"{c.name}: control character")))
    for c in ds.columns:
        if c.positive:
            checks.append((c.positive, typed(c) <= 0, shown(c, "not > 0:")))
    order = {r: i for i, r in enumerate(REASONS)}
    return sorted(checks, key=lambda chk: order[chk[0]])  # stable: column order within a reason


# --- classified -> outputs ----------------------------------------------------------------
def ranked(classified: DataFrame, dataset: Dataset) -> DataFrame:
    """Valid rows with ``_rn`` = 1 for the row kept per business key (latest updated_at,
    then the later line of the file)."""
    F, Window = api(classified)
    w = Window.partitionBy(*dataset.key).orderBy(
        F.col("updated_at").desc(), F.col("_line_no").desc()
    )
    return classified.filter(F.col("_reason").isNull()).withColumn("_rn", F.row_number().over(w))


def curated(ranked_rows: DataFrame, dataset: Dataset) -> DataFrame:
    """The rows to write: one per business key, contract columns + the partition column."""
    F, _ = api(ranked_rows)
    return ranked_rows.filter(F.col("_rn") == 1).select(*dataset.output_columns, dataset.partition)


def quarantine(classified: DataFrame) -> DataFrame:
    """Rejected rows in the quarantine layout (docs/contracts.md "Quarantine")."""
    F, _ = api(classified)
    return classified.filter(F.col("_reason").isNotNull()).select(
        "source_object",
        F.col("_line_no").cast("long").alias("line_number"),
        F.col("_raw").alias("raw_line"),
        F.col("_reason").alias("reason"),
        F.col("_detail").alias("detail"),
    )


def reason_counts(classified: DataFrame, dataset: Dataset) -> DataFrame:
    """One small row per reason (NULL = valid): its rows ``n`` and distinct business keys
    ``keys`` (for the valid rows, ``n - keys`` = duplicates to drop)."""
    F, _ = api(classified)
    return classified.groupBy("_reason").agg(
        F.count(F.lit(1)).alias("n"), F.countDistinct(*dataset.key).alias("keys")
    )
