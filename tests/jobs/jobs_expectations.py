"""What a correct cleanse run reports for each fixture file (every engine)."""

from __future__ import annotations

from typing import Any

#: fixture -> (rows_read, rows_written, duplicates_dropped, {reason: count})
EXPECTED: dict[str, tuple[int, int, int, dict[str, int]]] = {
    "orders_empty.csv": (0, 0, 0, {}),
    "orders_header_only.csv": (0, 0, 0, {}),
    "orders_bom_crlf.csv": (3, 3, 0, {}),
    "orders_quoted.csv": (3, 3, 0, {}),
    "orders_ragged.csv": (5, 2, 0, {"malformed_row": 3}),
    "orders_wrong_types.csv": (
        12, 1, 0,
        {"missing_key": 2, "bad_type": 3, "bad_timestamp": 2, "bad_currency": 2,
         "non_positive_quantity": 1, "non_positive_price": 1},
    ),
    "orders_latin1.csv": (4, 2, 0, {"malformed_row": 1, "encoding_error": 1}),
    "orders_dupes.csv": (6, 3, 3, {}),
    "orders_timestamps.csv": (5, 5, 0, {}),
    "orders_gzip.csv.gz": (3, 2, 0, {"non_positive_quantity": 1}),
    "customers_mixed.json": (8, 3, 1, {"malformed_row": 2, "missing_key": 1, "bad_timestamp": 1}),
    "products_mixed.csv": (5, 2, 0, {"bad_type": 2, "non_positive_price": 1}),
    # line 5 has a JSON number as customer_id (and as phone, a boolean as email): bad_type
    "customers_lenient.json": (8, 1, 0, {"malformed_row": 6, "bad_type": 1}),
    # issue 12 (bad input): each bad row alone, its neighbours load
    "orders_overflow.csv": (10, 4, 0, {"bad_type": 6}),
    "orders_ts_range.csv": (29, 6, 0, {"bad_timestamp": 23}),
    "orders_stray_quotes.csv": (15, 7, 0, {"malformed_row": 8}),
    "orders_domains.csv": (20, 8, 0, {"bad_domain": 12}),
    "customers_types.json": (19, 5, 0, {"missing_key": 1, "bad_type": 13}),
    "customers_domains.json": (10, 5, 0, {"bad_domain": 5}),
}

#: fixture -> {line_number: reason} of the quarantined rows
QUARANTINED_LINES: dict[str, dict[int, str]] = {
    "orders_ragged.csv": {3: "malformed_row", 4: "malformed_row", 5: "malformed_row"},
    "orders_wrong_types.csv": {
        2: "bad_type", 3: "bad_type", 4: "bad_timestamp", 5: "bad_currency", 6: "bad_currency",
        7: "non_positive_quantity", 8: "non_positive_price", 9: "missing_key", 10: "missing_key",
        11: "bad_timestamp", 13: "bad_type",
    },
    "orders_latin1.csv": {3: "encoding_error", 4: "malformed_row"},
    "orders_gzip.csv.gz": {4: "non_positive_quantity"},
    "customers_mixed.json": {4: "malformed_row", 5: "malformed_row", 7: "missing_key", 8: "bad_timestamp"},
    "products_mixed.csv": {4: "bad_type", 5: "bad_type", 6: "non_positive_price"},
    "orders_overflow.csv": {n: "bad_type" for n in (3, 4, 5, 8, 9, 10)},
    "orders_ts_range.csv": {n: "bad_timestamp" for n in range(7, 30)},
    # line numbers of a record are its first line: M4 spans lines 19-20
    "orders_stray_quotes.csv": {n: "malformed_row" for n in (3, 5, 6, 7, 14, 18, 19, 22)},
    "orders_domains.csv": {n: "bad_domain" for n in (3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 16, 17)},
    "customers_types.json": {**{n: "bad_type" for n in range(1, 14)}, 14: "missing_key"},
    "customers_domains.json": {n: "bad_domain" for n in (2, 3, 6, 7, 9)},
    "customers_lenient.json": {**{i: "malformed_row" for i in (1, 2, 3, 4, 7, 8)}, 5: "bad_type"},
}


def counts(manifest: dict[str, Any]) -> tuple[int, int, int, dict[str, int]]:
    found = {k: v for k, v in manifest["quarantined_by_reason"].items() if v}
    return manifest["rows_read"], manifest["rows_written"], manifest["duplicates_dropped"], found


def quoting_file(path: Any, seed: int = 12, rows: int = 150) -> tuple[dict[str, str], set[int]]:
    """An orders CSV whose product_id values are random text of commas, quotes, newlines and
    spaces written by Python's csv module (valid RFC 4180), with stray-quote lines (a ``"``
    inside an unquoted field, odd or even count) in between.

    Returns ``({order_id: product_id} of the valid rows, line numbers of the stray lines)``.
    """
    import csv
    import io
    import random

    rnd = random.Random(seed)
    header = ["order_id", "line_number", "customer_id", "product_id", "quantity", "unit_price",
              "currency", "status", "order_ts", "updated_at"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    line = 2  # physical line of the next record
    valid: dict[str, str] = {}
    stray: set[int] = set()
    for i in range(rows):
        if rnd.random() < 0.2:
            text = "".join(rnd.choice(['a', 'b', ' ', '"']) for _ in range(rnd.randint(1, 6)))
            bad = f'x{text}"' if text.count('"') % 2 == 0 else f"x{text}"
            buf.write(f"S{i},1,C1,{bad},2,9.99,EUR,paid,2026-01-01T10:00:00Z,2026-01-01T10:00:00Z\n")
            stray.add(line)
            line += 1
            continue
        value = "P" + "".join(rnd.choice(['a', ',', '"', "\n", " ", '""']) for _ in range(rnd.randint(0, 8)))
        writer.writerow([f"R{i}", 1, "C1", value, 2, "9.99", "EUR", "paid", "2026-01-01T10:00:00Z",
                         "2026-01-01T10:00:00Z"])
        valid[f"R{i}"] = value.strip(" ")  # the job trims spaces
        line += 1 + value.count("\n")
    path.write_text(buf.getvalue(), encoding="utf-8")
    return valid, stray
