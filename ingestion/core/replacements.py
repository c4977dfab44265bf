"""Replacements worth a look: a load that deletes far more rows of earlier loads than it brings.

A corrected file replaces its partitions whole; a file that covers only part of what it replaces (one
period's file keyed like the whole year's, a municipality's file in place of the region's) silently
shrinks the warehouse. Such a load still loads, but the ledger and the run summary say so.
"""

from __future__ import annotations

# A load is flagged when it replaced more than this many times the rows it loaded: a corrected file
# brings about as many rows as it replaces, so twice as many is already not a correction but a cut.
REPLACED_FACTOR = 2
# ...and at least this many rows: a small correction of a few rows is not worth a warning.
REPLACED_MINIMUM = 50


def is_suspicious(rows_replaced: int, rows_loaded: int) -> bool:
    return rows_replaced >= REPLACED_MINIMUM and rows_replaced > REPLACED_FACTOR * rows_loaded


def note(file: str, rows_replaced: int, rows_loaded: int, scope: str | None = None) -> str | None:
    """The Russian note on a suspicious replacement (None when the replacement looks like a correction)."""
    if not is_suspicious(rows_replaced, rows_loaded):
        return None
    return (f"файл «{file}» заменил {rows_replaced} строк прежних загрузок, принёс {rows_loaded}: проверьте, что "
            f"это полный файл за {scope or 'те же разделы, что и прежние загрузки'}")
