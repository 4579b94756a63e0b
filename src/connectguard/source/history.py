"""The git side of a source scan: is the path a repository, which files are in it, and what every
commit of its history (or the staged change) added, file by file.

History is read from one `git log -p -U0` stream, so memory stays flat however long the history
is: only the lines a commit added are kept, one file at a time, up to the size cap. The repository
is treated as untrusted: external diff drivers, textconv filters and fsmonitor hooks named in its
config are switched off, so reading it runs none of its commands, and every file is diffed as
text, so its attributes cannot hide a file; binary files are then told by their bytes (SQLite
stores excepted, as in the working tree).
"""

from __future__ import annotations

import bisect
import codecs
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from connectguard.source.files import SNIFF_BYTES, SQLITE_MAGIC

log = logging.getLogger(__name__)

COMMIT_MARK = b"\x1e"
LINE_CAP = 1 << 20
SAFE_CONFIG = (
    "-c",
    "core.quotepath=off",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "diff.external=",
    "-c",
    "color.ui=never",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    # Bound git's own memory: its default caches grow with the repository (168 MiB for a
    # 200 MB history against 42 MiB with these limits, at the same speed).
    "-c",
    "core.deltaBaseCacheLimit=8m",
    "-c",
    "core.packedGitLimit=32m",
    "-c",
    "core.packedGitWindowSize=4m",
)
DIFF_OPTIONS = (
    "-p",
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    # Diff every file as text: a `.gitattributes` of the repository (`* -diff`, `*.env binary`)
    # must not hide what was committed. Real binaries are told apart by their bytes instead.
    "--text",
    "--diff-filter=d",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")
# A hunk header, two-way (`@@ -1,2 +1,3 @@`) or combined for a merge of n parents (n + 1 `@`).
_HUNK = re.compile(rb"^(@@+) (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@")


class GitError(Exception):
    """git could not be run or refused the repository; the message says why."""


@dataclass(frozen=True)
class Repository:
    """A git work tree: its top folder, and the scanned path relative to it ("" for the top)."""

    top: Path
    prefix: str
    git: str

    def run(self, *args: str) -> bytes:
        return _run([self.git, *SAFE_CONFIG, "-C", str(self.top), *args])


@dataclass
class Additions:
    """The lines one commit (or the staged change) added to one file, joined, with their numbers."""

    path: str
    commit: str
    date: str
    data: bytearray = field(default_factory=bytearray)
    starts: list[int] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    truncated: bool = False

    def line_of(self, offset: int) -> int:
        """The file line number of the added line holding byte `offset` of `data`."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.numbers[max(index, 0)]


@dataclass
class HistoryTally:
    commits: int = 0
    binary: int = 0
    truncated: list[str] = field(default_factory=list)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_PAGER": "cat", "PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    return env


def _run(command: list[str]) -> bytes:
    try:
        done = subprocess.run(
            command, capture_output=True, env=_environment(), check=False, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git could not be run: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(reason[0] if reason else f"git exited with {done.returncode}")
    return done.stdout


def open_repository(path: Path) -> Repository:
    """The repository `path` is in; raises GitError saying why when there is none."""
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed")
    top = _run([git, *SAFE_CONFIG, "-C", str(path), "rev-parse", "--show-toplevel"])
    top_path = Path(top.decode("utf-8", "surrogateescape").strip()).resolve()
    prefix = path.resolve().relative_to(top_path).as_posix()
    return Repository(top_path, "" if prefix == "." else prefix, git)


def work_tree_files(repo: Repository) -> list[str]:
    """Paths (relative to the top) git would commit under the scanned path: tracked files and
    untracked ones that no ignore rule covers."""
    pathspec = [repo.prefix] if repo.prefix else []
    listing = repo.run(
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--full-name",
        "--",
        *pathspec,
    )
    names = listing.decode("utf-8", "surrogateescape").split("\0")
    return sorted({name for name in names if name})


def revisions(repo: Repository) -> list[str]:
    """What history is: every ref, and every stash (`--all` has only the newest, the others are
    in the reflog of refs/stash)."""
    try:
        stashes = repo.run("log", "-g", "--format=%H", "refs/stash", "--").split()
    except GitError:
        stashes = []
    return ["--all", *(sha.decode("ascii") for sha in stashes[1:])]


def commit_count(repo: Repository) -> int:
    try:
        return int(repo.run("rev-list", "--count", *revisions(repo), "--").strip() or 0)
    except (GitError, ValueError):
        return 0


def history_additions(
    repo: Repository, cap: int, tally: HistoryTally, staged: bool = False
) -> Iterator[Additions]:
    """What every commit reachable from any ref added (or, with `staged`, what the index adds to
    HEAD), one file of one commit at a time. Deleted files are included: the commit that added
    them still holds their lines.

    A merge (a stash is one too) shows the lines that are in none of its parents (`--cc`): what
    an "evil merge" or a conflict resolution added, but not again what the merged branch's
    commits added, which are read in those commits. Diffing a merge against its first parent
    instead would read every merged branch a second time, and every merge of the main line
    into a long-lived branch would repeat the main line's changes."""
    pathspec = ["--", repo.prefix] if repo.prefix else []
    if staged:
        args = ["diff", "--cached", *DIFF_OPTIONS, *pathspec]
    else:
        fmt = "--format=%x1e%H %cI"
        args = ["log", *revisions(repo), "--full-history", "--cc", fmt, *DIFF_OPTIONS, *pathspec]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [repo.git, *SAFE_CONFIG, "-C", str(repo.top), *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=_environment(),
        )
        finished = False
        try:
            assert process.stdout is not None
            yield from _parse(process.stdout, cap, tally, "staged" if staged else "")
            finished = True
        finally:
            if not finished:
                process.kill()
            code = process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if code != 0:
            errors.seek(0)
            reason = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(reason[0] if reason else f"git exited with {code}")


def _lines(stream: object) -> Iterator[bytes]:
    """Lines of the stream, each cut at LINE_CAP bytes (the rest of a longer line is dropped)."""
    readline = stream.readline  # type: ignore[attr-defined]
    continuing = False
    while True:
        line: bytes = readline(LINE_CAP)
        if not line:
            return
        complete = line.endswith(b"\n")
        if not continuing:
            yield line
        continuing = not complete


def _parse(stream: object, cap: int, tally: HistoryTally, commit: str) -> Iterator[Additions]:
    date = ""
    current: Additions | None = None
    in_hunk = False
    next_line = 0
    width, added = 1, b"+"
    for line in _lines(stream):
        if line.startswith(COMMIT_MARK):
            if _scannable(current, tally):
                yield current
            current, in_hunk = None, False
            sha, _, stamp = line[1:].strip().partition(b" ")
            commit, date = sha.decode("ascii", "replace"), stamp.decode("ascii", "replace")
            tally.commits += 1
        elif in_hunk and line.startswith(added) and current is not None:
            _add_line(current, line[width:], next_line, cap, tally)
            next_line += 1
        elif in_hunk and width > 1 and line[:1] in b" +-":
            # A merge's hunk has one column per parent: a line is added when every column is
            # `+` (above), taken from a parent when some column is ` `, gone when one is `-`.
            if b"-" not in line[:width]:
                next_line += 1
        elif line.startswith(b"@@"):
            match = _HUNK.match(line)
            in_hunk = match is not None and current is not None
            width = len(match.group(1)) - 1 if match else 1
            added = b"+" * width
            next_line = int(match.group(2)) if match else 0
        elif line.startswith((b"diff --git ", b"diff --cc ", b"diff --combined ")):
            if _scannable(current, tally):
                yield current
            current, in_hunk = None, False
        elif line.startswith(b"+++ ") and not in_hunk:
            path = _diff_path(line[4:].rstrip(b"\n").removesuffix(b"\t"))
            current = Additions(path, commit, date) if path else None
        elif line.startswith(b"Binary files ") and not in_hunk:
            tally.binary += 1
    if _scannable(current, tally):
        yield current


def _add_line(current: Additions, text: bytes, number: int, cap: int, tally: HistoryTally) -> None:
    if len(current.data) + len(text) > cap:
        if not current.truncated:
            current.truncated = True
            tally.truncated.append(f"{current.path}@{current.commit[:12]}")
        return
    current.starts.append(len(current.data))
    current.numbers.append(number)
    current.data += text if text.endswith(b"\n") else text + b"\n"


def _scannable(current: Additions | None, tally: HistoryTally) -> TypeGuard[Additions]:
    """Whether a file version's additions are worth scanning: not empty, and not binary by git's
    rule (a NUL byte near the start; counted as skipped), except SQLite stores, which Connect
    apps keep sharedSecrets in: a new store starts with the SQLite header, a changed one is known
    by its name."""
    if current is None or not current.data:
        return False
    if current.data.find(b"\0", 0, SNIFF_BYTES) == -1:
        return True
    if current.data.startswith(SQLITE_MAGIC) or current.path.lower().endswith(SQLITE_SUFFIXES):
        return True
    tally.binary += 1
    return False


def _diff_path(raw: bytes) -> str | None:
    """The new path of a `+++ b/path` header line; None for /dev/null."""
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = codecs.escape_decode(raw[1:-1])[0]
    if raw == b"/dev/null":
        return None
    if raw.startswith(b"b/"):
        raw = raw[2:]
    return raw.decode("utf-8", "surrogateescape")
