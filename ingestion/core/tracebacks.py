"""Tracebacks for the log that show where a load broke but never the data it broke on.

An exception's text may quote a cell (a name, a pupil code), and names must never reach the logs:
the log gets the frames (file, line, code) of the exception and of its causes, and only their types.
"""

from __future__ import annotations

import traceback


def code_traceback(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}"
                     f"{type(current).__module__}.{type(current).__qualname__} (текст исключения не записан)")
        current = current.__cause__ or current.__context__
    return "\n\nвызвано исключением:\n".join(reversed(parts))
