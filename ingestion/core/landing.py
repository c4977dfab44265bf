"""The landing folder: which files the feeds read, which nobody reads, and which are skipped by design.

Layout: ``<landing>/<feed folder>/<file>``. A file with a readable extension directly in a feed folder
goes to that feed's loaders. Every other file is *unread* and recorded with a Russian message: an
unknown extension, a file directly in the landing folder, in a folder that is no feed, or in a sub-folder
of a feed folder. Skipped by design, and only counted: the demo generator's ``_truth/`` folder (never
loaded) and hidden or temporary files and folders (``.…``, ``~$…``, Excel's lock files).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Extensions a loader opens; a file of another kind in a feed folder is refused without being opened.
DATA_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt", ".tsv"})
TRUTH_FOLDER = "_truth"
UNREAD_FEED = "unread"  # ledger feed code of files outside every feed folder


def skipped_by_design(name: str) -> bool:
    return name.startswith((".", "~$"))


@dataclass
class Unread:
    path: Path
    feed: str  # the feed folder it lies in, or UNREAD_FEED
    message: str


@dataclass
class Scan:
    unread: list[Unread] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # skipped by design, relative to the landing folder


def feed_files(folder: Path) -> list[Path]:
    """A feed folder's readable files in arrival order (mtime, then name): a later correction replaces."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
             and not skipped_by_design(p.name)]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def _files_under(folder: Path, scan: Scan, landing: Path) -> Iterable[Path]:
    for path in sorted(folder.iterdir()):
        if skipped_by_design(path.name):
            scan.ignored.append(path.relative_to(landing))
        elif path.is_dir():
            yield from _files_under(path, scan, landing)
        elif path.is_file():
            yield path


def scan(landing: Path, feed_folders: Iterable[str]) -> Scan:
    """Every file under ``landing`` that no feed reads, and what is skipped by design."""
    folders = set(feed_folders)
    result = Scan()
    if not landing.is_dir():
        return result
    move = "переложите его в папку своего потока данных (папки потоков перечислены в docs/feed_layouts.md)"
    for entry in sorted(landing.iterdir()):
        relative = entry.relative_to(landing)
        if skipped_by_design(entry.name) or (entry.name == TRUTH_FOLDER and entry.is_dir()):
            result.ignored.append(relative)
        elif entry.is_file():
            result.unread.append(Unread(entry, UNREAD_FEED, (
                f"Файл «{relative}» лежит прямо в папке приёма, а не в папке потока данных, и не загружен: {move}")))
        elif entry.is_dir() and entry.name not in folders:
            for path in _files_under(entry, result, landing):
                result.unread.append(Unread(path, UNREAD_FEED, (
                    f"Файл «{path.relative_to(landing)}» не загружен: папка «{entry.name}» не является папкой "
                    f"потока данных; {move}")))
        elif entry.is_dir():
            for path in _files_under(entry, result, landing):
                if path.parent != entry:
                    problem = (f"вложенные папки внутри папки потока «{entry.name}» не читаются; переложите файл "
                               f"прямо в папку «{entry.name}»")
                elif path.suffix.lower() not in DATA_SUFFIXES:
                    kind = f"формат «{path.suffix.lower()}»" if path.suffix else "файл без расширения"
                    problem = (f"{kind} не читается ни одним загрузчиком (ожидаются "
                               f"{', '.join(sorted(DATA_SUFFIXES))})")
                else:
                    continue  # the feed's loaders read it
                result.unread.append(Unread(path, entry.name, f"Файл «{path.relative_to(landing)}» не загружен: "
                                                              f"{problem}"))
    return result
