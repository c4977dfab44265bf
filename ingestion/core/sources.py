"""Row-by-row reading of workbooks and text extracts; the readers live in ``ingestion.core.readers``."""

from __future__ import annotations

from ingestion.core.readers import (  # noqa: F401  (re-exported for the loader, feeds and tests)
    SUPPORTED_SUFFIXES,
    Row,
    Sheet,
    detect_delimiter,
    detect_encoding,
    is_blank,
    open_sheets,
)
