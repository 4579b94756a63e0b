"""Client-side library signatures in retire.js's repository format, and the engine that reads them.

A repository maps a component name (`jquery`, `lodash`...) to `extractors` that find its version in
a script's URL, file name or content, and to `vulnerabilities` with version ranges (`atOrAbove`,
`below`), a severity and advisory identifiers. connectguard ships its own small set written from
public advisories (`data/jsrepository.json`); a user may point the scan at retire.js's own file,
and `update` downloads a refreshed one into the data dir.

Every pattern is compiled with RE2, so matching is linear in the text whatever the data file
holds; a pattern RE2 cannot run (a back-reference, a look-around) is skipped and counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, cast

import re2

from connectguard.errors import ConnectGuardError
from connectguard.settings import default_data_dir

log = logging.getLogger(__name__)

VERSION_PATTERN: Final = r"[0-9][0-9.a-z_\-]+"
PLACEHOLDER: Final = "§§version§§"
SHIPPED: Final = Path(__file__).resolve().parent / "data" / "jsrepository.json"
FILE_NAME: Final = "jsrepository.json"
DEFAULT_UPDATE_URL: Final = (
    "https://raw.githubusercontent.com/RetireJS/retire.js/master/repository/jsrepository.json"
)
ENV_REPOSITORY: Final = "CONNECTGUARD_RETIRE_REPOSITORY"
MAX_DOWNLOAD_BYTES: Final = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT: Final = 60.0
MAX_MATCHES_PER_PATTERN: Final = 5
_BUILD_SUFFIXES: Final = frozenset(
    {"min", "slim", "prod", "production", "development", "debug", "custom", "runtime", "bundle"}
)

# Scores stood in for when an advisory gives a severity word but no CVSS score: the lower bound
# of each band, so a "high" entry still fails requirement 14 (CVSS 7.0 and up).
_SEVERITY_SCORES: Final = {"critical": 9.0, "high": 7.0, "medium": 4.0, "low": 0.1, "none": 0.0}

Progress = Callable[[str, int, int], None]
"""Called as `progress(phase, done, total)`; `total` is 0 when the size is not known."""


class VulnDbError(ConnectGuardError):
    """A signature file could not be read, parsed or downloaded."""


class SignatureDownloadError(VulnDbError):
    """The signature file could not be fetched: like an OSV download, worth trying again."""

    exit_code = 3


@dataclass(frozen=True)
class Vulnerability:
    """One advisory of a component: the versions it affects and how bad it is."""

    below: str
    at_or_above: str | None
    severity: str
    cvss: float | None
    identifiers: tuple[tuple[str, str], ...]
    summary: str
    info: tuple[str, ...]

    @property
    def score(self) -> float:
        """The CVSS base score, or the lower bound of the severity band when none is given."""
        if self.cvss is not None:
            return self.cvss
        return _SEVERITY_SCORES.get(self.severity, 0.0)

    @property
    def ids(self) -> tuple[str, ...]:
        """Advisory ids, CVEs and GHSA ids first."""
        order = {"CVE": 0, "githubID": 1}
        ranked = sorted(self.identifiers, key=lambda item: order.get(item[0], 2))
        return tuple(value for _, value in ranked)

    def affects(self, version: str) -> bool:
        if is_at_or_above(version, self.below):
            return False
        return self.at_or_above is None or is_at_or_above(version, self.at_or_above)


@dataclass(frozen=True)
class Detection:
    """A component found in a script, and how: `uri`, `filename`, `filecontent` or `hash`."""

    component: str
    version: str
    how: str


@dataclass(frozen=True)
class _Pattern:
    component: str
    regex: re2._Regexp[bytes]
    group: int = 1


@dataclass(frozen=True)
class Repository:
    """A parsed signature set. Build it with `parse_repository` or `load_repository`."""

    source: str
    vulnerabilities: dict[str, tuple[Vulnerability, ...]]
    uri_patterns: tuple[_Pattern, ...] = ()
    filename_patterns: tuple[_Pattern, ...] = ()
    content_patterns: tuple[_Pattern, ...] = ()
    hashes: dict[str, tuple[str, str]] = field(default_factory=dict)
    skipped_patterns: int = 0
    content_set: re2.Set | None = field(default=None, compare=False, repr=False)

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(self.vulnerabilities)

    def detect_url(self, url: str) -> list[Detection]:
        """Components whose URL or file-name pattern matches the script's URL."""
        path = url.split("?", 1)[0].split("#", 1)[0]
        name = path.rsplit("/", 1)[-1]
        found = _scan(self.uri_patterns, path.encode("utf-8", "replace"), "uri")
        found += _scan(self.filename_patterns, name.encode("utf-8", "replace"), "filename")
        return _unique(found)

    def detect_content(self, content: bytes) -> list[Detection]:
        """Components whose content banner is in the script; else a known file hash."""
        candidates = _prefilter(self, content)
        found = _scan(candidates, content, "filecontent")
        if not found:
            digest = hashlib.sha1(content, usedforsecurity=False).hexdigest()
            if digest in self.hashes:
                component, version = self.hashes[digest]
                found.append(Detection(component, version, "hash"))
        return _unique(found)

    def affecting(self, detection: Detection) -> list[Vulnerability]:
        """The advisories of the detected component that cover the detected version."""
        vulns = self.vulnerabilities.get(detection.component, ())
        return [v for v in vulns if v.affects(detection.version)]


# ---------------------------------------------------------------------------------------------
# Versions, compared the way retire.js compares them


def is_at_or_above(version: str, other: str) -> bool:
    """retire.js's comparison: parts split on `.` and `-`, numbers compared as numbers, a text
    part (a pre-release like `rc1`) sorts below a number, a missing part counts as 0."""
    left = _parts(version)
    right = _parts(other)
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else 0
        b = right[index] if index < len(right) else 0
        if isinstance(a, int) != isinstance(b, int):
            return isinstance(a, int)
        if a == b:
            continue
        return a > b  # type: ignore[operator]
    return True


def _parts(version: str) -> list[int | str]:
    parts: list[int | str] = []
    for part in version.replace("-", ".").split("."):
        parts.append(int(part) if part.isdigit() and part.isascii() else part)
    return parts


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_repository(data: bytes | str, source: str) -> Repository:
    """Read a repository in retire.js's JSON format, or raise `VulnDbError`."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise VulnDbError(f"The signature file {source} is not valid JSON ({exc}).") from None
    if not isinstance(document, dict):
        raise VulnDbError(f"The signature file {source} is not a JSON object of components.")

    builder = _Builder(source)
    for name, entry in document.items():
        if isinstance(entry, dict) and name != "retire-example":
            builder.component(str(name), entry)
    if not builder.vulnerabilities:
        raise VulnDbError(f"The signature file {source} names no component with extractors.")
    return builder.build()


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.vulnerabilities: dict[str, tuple[Vulnerability, ...]] = {}
        self.patterns: dict[str, list[_Pattern]] = {"uri": [], "filename": [], "filecontent": []}
        self.hashes: dict[str, tuple[str, str]] = {}
        self.skipped = 0

    def component(self, name: str, entry: dict[str, Any]) -> None:
        extractors = entry.get("extractors")
        if not isinstance(extractors, dict):
            return
        vulns = entry.get("vulnerabilities")
        parsed = [_vulnerability(v) for v in vulns] if isinstance(vulns, list) else []
        self.vulnerabilities[name] = tuple(v for v in parsed if v is not None)
        for kind, patterns in self.patterns.items():
            for text in _strings(extractors.get(kind)):
                self._add(patterns, name, text, 1)
        for text in _strings(extractors.get("filecontentreplace")):
            self._add_replace(name, text)
        hashes = extractors.get("hashes")
        if isinstance(hashes, dict):
            for digest, version in hashes.items():
                if isinstance(version, str):
                    self.hashes[str(digest).lower()] = (name, version)

    def _add(self, patterns: list[_Pattern], name: str, text: str, group: int) -> None:
        regex = compile_pattern(text)
        if regex is None or regex.groups < group:
            self.skipped += 1
            return
        patterns.append(_Pattern(name, regex, group))

    def _add_replace(self, name: str, text: str) -> None:
        # retire.js writes these as /regex/$N/: the version is capture group N.
        body = text[1:-1] if len(text) > 2 and text[0] == "/" and text[-1] == "/" else ""
        pattern, _, replacement = body.rpartition("/")
        if not pattern or not replacement.startswith("$") or not replacement[1:].isdigit():
            self.skipped += 1
            return
        self._add(self.patterns["filecontent"], name, pattern, int(replacement[1:]))

    def build(self) -> Repository:
        if self.skipped:
            log.info("%s: %d patterns RE2 cannot run were skipped", self.source, self.skipped)
        return Repository(
            source=self.source,
            vulnerabilities=self.vulnerabilities,
            uri_patterns=tuple(self.patterns["uri"]),
            filename_patterns=tuple(self.patterns["filename"]),
            content_patterns=tuple(self.patterns["filecontent"]),
            hashes=self.hashes,
            skipped_patterns=self.skipped,
            content_set=_content_set(self.patterns["filecontent"]),
        )


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


@cache
def compile_pattern(text: str) -> re2._Regexp[bytes] | None:
    """A retire.js pattern with its version placeholder filled, compiled by RE2; None if RE2
    cannot run it."""
    try:
        return re2.compile(text.replace(PLACEHOLDER, VERSION_PATTERN).encode(), _options())
    except re2.error:
        return None


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def _vulnerability(entry: Any) -> Vulnerability | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("below"), str):
        return None
    identifiers = entry.get("identifiers")
    identifiers = identifiers if isinstance(identifiers, dict) else {}
    ids: list[tuple[str, str]] = []
    for kind, value in identifiers.items():
        if kind == "summary":
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str | int):
                ids.append((str(kind), str(item)))
    at_or_above = entry.get("atOrAbove")
    cvss = entry.get("cvss")
    return Vulnerability(
        below=entry["below"],
        at_or_above=at_or_above if isinstance(at_or_above, str) else None,
        severity=str(entry.get("severity", "medium")).lower(),
        cvss=float(cvss) if isinstance(cvss, int | float) and 0 <= cvss <= 10 else None,
        identifiers=tuple(ids),
        summary=str(identifiers.get("summary", ""))[:300],
        info=tuple(_strings(entry.get("info")))[:5],
    )


# ---------------------------------------------------------------------------------------------
# Matching


def _scan(patterns: Iterable[_Pattern], text: bytes, how: str) -> list[Detection]:
    found: list[Detection] = []
    for pattern in patterns:
        for count, match in enumerate(pattern.regex.finditer(text)):
            if count >= MAX_MATCHES_PER_PATTERN:
                break
            version = _clean_version(match.group(pattern.group) or b"")
            if version:
                found.append(Detection(pattern.component, version, how))
    return found


def _clean_version(raw: bytes) -> str:
    """The version without a build suffix the version pattern swallowed (`1.8.3.min.js`)."""
    version = raw.decode("ascii", "replace")
    stripped = True
    while stripped:
        stripped = False
        for suffix in _BUILD_SUFFIXES:
            if version.endswith((f".{suffix}", f"-{suffix}")):
                version = version[: -len(suffix) - 1]
                stripped = True
    return version


def _prefilter(repository: Repository, content: bytes) -> tuple[_Pattern, ...]:
    """Only the content patterns that match somewhere, found in one pass with an RE2 set."""
    patterns = repository.content_patterns
    if repository.content_set is None or not content:
        return patterns
    try:
        # The stubs say bool; RE2's Set.Match returns the indices of the patterns that matched.
        hits = cast("list[int] | None", repository.content_set.Match(content))
    except re2.error:
        return patterns
    return tuple(patterns[i] for i in sorted(hits or []))


def _content_set(patterns: Iterable[_Pattern]) -> re2.Set | None:
    """One RE2 set of every content pattern, or None when RE2 cannot build it."""
    options = _options()
    options.max_mem = 256 << 20
    matcher = re2.Set.SearchSet(options)
    try:
        for pattern in patterns:
            matcher.Add(pattern.regex.pattern)
        matcher.Compile()
    except re2.error:
        return None
    return matcher


def _unique(detections: list[Detection]) -> list[Detection]:
    return list(dict.fromkeys(detections))


# ---------------------------------------------------------------------------------------------
# Where the signature file comes from


def repository_path(data_dir: Path) -> Path:
    """Where `update` keeps the downloaded signature file inside a data dir."""
    return data_dir / "retire" / FILE_NAME


def load_repository(path: Path | None = None) -> Repository:
    """The file at `path`, else `$CONNECTGUARD_RETIRE_REPOSITORY`, else the data dir's updated
    copy, else the shipped set. Raises `VulnDbError` for a file that cannot be used."""
    chosen = path
    if chosen is None and os.environ.get(ENV_REPOSITORY):
        chosen = Path(os.environ[ENV_REPOSITORY])
    if chosen is None:
        updated = repository_path(default_data_dir())
        chosen = updated if updated.is_file() else SHIPPED
    return _load_file(chosen)


@cache
def _load_cached(path: str, mtime_ns: int, size: int) -> Repository:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise VulnDbError(f"Could not read the signature file {path}: {exc.strerror}.") from None
    label = "the shipped signature set" if Path(path) == SHIPPED else path
    return parse_repository(data, label)


def _load_file(path: Path) -> Repository:
    try:
        stat = path.stat()
    except OSError as exc:
        raise VulnDbError(f"Could not read the signature file {path}: {exc.strerror}.") from None
    return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)


# ---------------------------------------------------------------------------------------------
# Refreshing the signature file


def update(base_url: str, data_dir: Path, progress: Progress | None = None) -> Path:
    """Download a signature file in retire.js's format and install it in `data_dir`.

    `base_url` is the file's URL, or a folder URL to which `jsrepository.json` is appended. The
    download is capped, must parse as a repository, and replaces the old copy atomically, so a
    failed update leaves the previous file in place. Returns the installed file's path.
    """
    url = base_url if base_url.endswith(".json") else base_url.rstrip("/") + "/" + FILE_NAME
    report = progress or (lambda phase, done, total: None)
    data = _download(url, report)
    repository = parse_repository(data, url)

    target = repository_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".jsrepository-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise VulnDbError(f"Could not write {target}: {exc.strerror}.") from None
    log.info("installed %d component signatures from %s", len(repository.components), url)
    report("signatures", len(data), len(data))
    return target


def _download(url: str, report: Progress) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise VulnDbError(f"The signature URL {url} is not an http(s) URL.")
    request = urllib.request.Request(url, headers={"User-Agent": "connectguard db update"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
            total = int(response.headers.get("Content-Length") or 0)
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(65536):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise VulnDbError(
                        f"The signature file at {url} is larger than "
                        f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MiB."
                    )
                chunks.append(chunk)
                report("signatures", size, total)
    except urllib.error.HTTPError as exc:
        raise SignatureDownloadError(
            f"Could not download {url}: the server answered {exc.code}."
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SignatureDownloadError(f"Could not download {url}: {reason}.") from None
    return b"".join(chunks)
