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
    "customers_lenient.json": (8, 2, 0, {"malformed_row": 6}),
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
    "customers_lenient.json": {i: "malformed_row" for i in (1, 2, 3, 4, 7, 8)},
}


def counts(manifest: dict[str, Any]) -> tuple[int, int, int, dict[str, int]]:
    found = {k: v for k, v in manifest["quarantined_by_reason"].items() if v}
    return manifest["rows_read"], manifest["rows_written"], manifest["duplicates_dropped"], found
