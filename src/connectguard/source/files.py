"""Reading the working tree: which files to scan and their bytes, with bad input handled.

In a git repository the files are those git would commit (tracked, plus untracked ones that are
not ignored), so a properly ignored `.env` is not reported. Elsewhere every file is walked, except
well-known dependency and cache folders. Symbolic links are never followed (so a link loop cannot
trap the walk), special files are skipped, binary files are skipped (SQLite databases excepted:
Connect apps keep their store there), and files above the size cap are skipped and listed.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

WALK_EXCLUDED_DIRS = frozenset(
    {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache"}
)
SNIFF_BYTES = 8000
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class TreeTally:
    """What the walk did not scan, and why: reported as notes of the scan."""

    scanned: int = 0
    binary: int = 0
    symlinks: int = 0
    special: int = 0
    too_large: list[tuple[str, int]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    excluded_dirs: set[str] = field(default_factory=set)
    allowlisted: int = 0

    def notes(self, cap: int) -> list[str]:
        notes = []
        if self.too_large:
            shown = ", ".join(f"{p} ({size // 1024 // 1024} MiB)" for p, size in self.too_large[:5])
            more = f" and {len(self.too_large) - 5} more" if len(self.too_large) > 5 else ""
            notes.append(
                f"{len(self.too_large)} file(s) above the {cap // 1024 // 1024} MiB cap were "
                f"skipped: {shown}{more}"
            )
        if self.unreadable:
            shown = ", ".join(f"{p} ({why})" for p, why in self.unreadable[:5])
            notes.append(f"{len(self.unreadable)} file(s) could not be read: {shown}")
        for count, what in (
            (self.binary, "binary file(s)"),
            (self.symlinks, "symbolic link(s), not followed,"),
            (self.special, "special file(s) (fifos, sockets, devices)"),
            (self.allowlisted, "file(s) matching an allowlist path"),
        ):
            if count:
                notes.append(f"{count} {what} skipped")
        if self.excluded_dirs:
            notes.append("folders not walked: " + ", ".join(sorted(self.excluded_dirs)))
        return notes


@dataclass(frozen=True)
class TreeFile:
    path: str
    data: bytes


def walk_paths(root: Path, tally: TreeTally) -> Iterator[str]:
    """Relative POSIX paths of the files under `root`, without following symbolic links."""
    for directory, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        kept = []
        for name in sorted(dirnames):
            full = os.path.join(directory, name)
            if os.path.islink(full):
                tally.symlinks += 1
            elif name in WALK_EXCLUDED_DIRS:
                tally.excluded_dirs.add(name)
            else:
                kept.append(name)
        dirnames[:] = kept
        relative_dir = os.path.relpath(directory, root)
        for name in sorted(filenames):
            relative = name if relative_dir == "." else os.path.join(relative_dir, name)
            yield Path(relative).as_posix()


def read_tree_file(root: Path, path: str, cap: int, tally: TreeTally) -> TreeFile | None:
    """The bytes of one file, or None (counted in `tally`) when it is not to be scanned."""
    full = root / path
    try:
        info = full.lstat()
    except OSError as exc:
        # Listed by git but deleted from the working tree: nothing to scan.
        if not isinstance(exc, FileNotFoundError):
            tally.unreadable.append((path, exc.strerror or type(exc).__name__))
        return None
    if stat.S_ISLNK(info.st_mode):
        tally.symlinks += 1
        return None
    if not stat.S_ISREG(info.st_mode):
        tally.special += 1
        return None
    if info.st_size > cap:
        tally.too_large.append((path, info.st_size))
        log.info("skipped %s: %d bytes is above the %d-byte cap", path, info.st_size, cap)
        return None
    try:
        with open(full, "rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        tally.unreadable.append((path, exc.strerror or type(exc).__name__))
        return None
    if len(data) > cap:
        tally.too_large.append((path, len(data)))
        return None
    if is_binary(data):
        tally.binary += 1
        return None
    tally.scanned += 1
    return TreeFile(path, data)


def is_binary(data: bytes) -> bool:
    """git's rule (a NUL byte near the start), except SQLite files, which hold app stores."""
    return b"\x00" in data[:SNIFF_BYTES] and not data.startswith(SQLITE_MAGIC)
