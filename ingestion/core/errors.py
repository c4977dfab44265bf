"""Errors with Russian messages that name the file (and, where there is one, the row)."""

from __future__ import annotations

from pathlib import Path


class LoadError(Exception):
    """A file that cannot be loaded as a whole; the message is shown to the user as it is."""

    def __init__(self, path: Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"Файл «{self.path.name}»: {problem}")


class FileFormatError(LoadError):
    """The file cannot be read: wrong format, damaged, wrong encoding."""


class LayoutError(LoadError):
    """The file reads, but its layout is not the one expected (no header, missing columns)."""
