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


def readable_name(name: str) -> bool:
    """A name that is valid text: one unpacked from an archive in another encoding may not be (a surrogate
    for each undecodable byte), and could not be stored or shown."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(path: Path | str) -> str:
    """The name as it can be stored and shown, undecodable bytes as «?»."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\ufffd", "?")


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
             and not skipped_by_design(p.name) and readable_name(p.name)]
    return sorted(files, key=_arrival)


def _arrival(path: Path) -> tuple[float, str]:
    try:
        return path.stat().st_mtime, path.name
    except OSError:  # gone since the listing: its load says so
        return float("inf"), path.name


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

    def unread(path: Path, feed: str, problem: str) -> None:
        name = shown_name(path.relative_to(landing))
        result.unread.append(Unread(path, feed, f"Файл «{name}» не загружен: {problem}"))

    for entry in sorted(landing.iterdir()):
        if skipped_by_design(entry.name) or (entry.name == TRUTH_FOLDER and entry.is_dir()):
            result.ignored.append(entry.relative_to(landing))
        elif entry.is_file():
            unread(entry, UNREAD_FEED, f"он лежит прямо в папке приёма, а не в папке потока данных; {move}")
        elif entry.is_dir() and entry.name not in folders:
            for path in _files_under(entry, result, landing):
                unread(path, UNREAD_FEED, f"папка «{shown_name(entry.name)}» не является папкой потока данных; {move}")
        elif entry.is_dir():
            for path in _files_under(entry, result, landing):
                if not readable_name(path.name):
                    unread(path, entry.name, "имя файла записано не в кодировке UTF-8 (так бывает после распаковки "
                                             "архива): переименуйте файл")
                elif path.parent != entry:
                    unread(path, entry.name, f"вложенные папки внутри папки потока «{entry.name}» не читаются; "
                                             f"переложите файл прямо в папку «{entry.name}»")
                elif path.suffix.lower() not in DATA_SUFFIXES:
                    kind = f"формат «{path.suffix.lower()}»" if path.suffix else "файл без расширения"
                    unread(path, entry.name, f"{kind} не читается ни одним загрузчиком (ожидаются "
                                             f"{', '.join(sorted(DATA_SUFFIXES))})")
    return result
