"""Content probes: files an app's origins must not serve, object-storage buckets its descriptor
and pages name, and the client-side library signatures the component check matches scripts with.

Exposed-file probes ask each app origin for a bounded list of well-known files (`/.git/config`,
`/.env`, dumps, status pages) after a request for a random path, so that the check can tell a
catch-all 200 page from a leaked file. Bucket probes ask each storage URL's bucket for an
anonymous listing, and request anonymously the named objects that the storage check's rule
calls private-looking. Every answer, and every failure, is recorded; nothing here judges.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import re2

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.endpoints import EndpointPlan
from connectguard.model import Exchange, origin_of
from connectguard.net.http import HttpClient, Sent, redact_url
from connectguard.probes.pages import MAX_RESOURCES, MAX_RESOURCES_PER_PAGE, loaded_resources
from connectguard.vulndb.retire import Repository, VulnDbError, load_repository

log = logging.getLogger(__name__)

MAX_EXPOSED_ORIGINS: Final = 4
MAX_BUCKETS: Final = 10
MAX_NAMED_OBJECTS: Final = 500
MAX_OBJECTS: Final = 10
OBJECT_BYTES: Final = 512
MAX_SCANNED_BYTES: Final = 2 * 1024 * 1024
EXPOSED_FILE_BYTES: Final = 256 * 1024


@dataclass(frozen=True)
class ExposedFile:
    """A file an app must not serve, and what its content looks like when it is the real one.

    The body must match every one of `patterns` (RE2 over Latin-1, so any byte is a character,
    searched in the first 256 KiB); `not_html` rejects a body that is an HTML page, as a
    catch-all or soft-404 page is.
    """

    name: str
    path: str
    what: str
    patterns: tuple[str, ...]
    not_html: bool = True
    max_bytes: int | None = None


_SQL_DUMP: Final = (
    r"(?im)^(?:-- MySQL dump|-- PostgreSQL database dump|CREATE TABLE |INSERT INTO )",
)
# A .env line is a variable (`KEY=value`, `export KEY="value"`, a quoted value may span lines),
# a comment or blank. The whole body must be such lines, and at least two must be variables.
_ENV_VARIABLE = r"[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.]{0,127}[ \t]*="
_ENV_VALUE = r"(?:[ \t]*(?:\"(?:[^\"\\]|\\[\s\S])*\"|'[^']*')[ \t\r]*(?:#[^\n]*)?|[^\n]*)"
_ENV_LINE = rf"(?:{_ENV_VARIABLE}{_ENV_VALUE}|[ \t\r]*(?:#[^\n]*)?)"
_DOTENV: Final = (
    rf"\A(?:\xef\xbb\xbf)?(?:{_ENV_LINE}\n)*{_ENV_LINE}\z",
    rf"(?m)^(?:\xef\xbb\xbf)?{_ENV_VARIABLE}(?s:.*)^{_ENV_VARIABLE}",
)
EXPOSED_FILES: Final[tuple[ExposedFile, ...]] = (
    ExposedFile(
        "git-config",
        "/.git/config",
        "the git repository's configuration (the whole repository can usually be downloaded)",
        (r"(?m)^\s*\[core\]\s*$", r"(?m)^\s*repositoryformatversion\s*="),
    ),
    ExposedFile(
        "git-head",
        "/.git/HEAD",
        "the git repository's HEAD (the whole repository can usually be downloaded)",
        (r"\A\s*(?:ref: refs/[A-Za-z0-9._/\-]{1,200}|[0-9a-f]{40}|[0-9a-f]{64})\s*\z",),
        max_bytes=300,
    ),
    ExposedFile(
        "dotenv",
        "/.env",
        "an environment file (typically database URLs, API keys and secrets)",
        _DOTENV,
    ),
    ExposedFile(
        "npmrc",
        "/.npmrc",
        "an npm configuration with a registry token",
        (r"(?m)^[^\n]{0,200}:?_auth(?:Token)?[ \t]*=[ \t]*\S",),
    ),
    ExposedFile(
        "aws-credentials",
        "/.aws/credentials",
        "AWS credentials",
        (r"(?im)^[ \t]*aws_secret_access_key[ \t]*=[ \t]*\S",),
    ),
    ExposedFile(
        "sql-dump-backup",
        "/backup.sql",
        "a database dump",
        _SQL_DUMP,
    ),
    ExposedFile(
        "sql-dump",
        "/dump.sql",
        "a database dump",
        _SQL_DUMP,
    ),
    ExposedFile(
        "sql-database",
        "/database.sql",
        "a database dump",
        _SQL_DUMP,
    ),
    ExposedFile(
        "server-status",
        "/server-status",
        "Apache's server status page (it lists the URLs being served, tokens included)",
        (r"Apache Server Status for ",),
        not_html=False,
    ),
    ExposedFile(
        "phpinfo",
        "/phpinfo.php",
        "a phpinfo() page (configuration and environment variables)",
        (r"(?i)<title>phpinfo\(\)</title>|<h1 class=\"p\">PHP Version [0-9]",),
        not_html=False,
    ),
    ExposedFile(
        "spring-actuator-env",
        "/actuator/env",
        "Spring Boot's environment endpoint (configuration and secrets)",
        (r"\"activeProfiles\"\s*:", r"\"propertySources\"\s*:\s*\["),
    ),
    ExposedFile(
        "go-expvar",
        "/debug/vars",
        "Go's expvar debug endpoint (the command line and memory statistics)",
        (r"\"cmdline\"\s*:\s*\[", r"\"memstats\"\s*:\s*\{"),
    ),
)


@dataclass(frozen=True)
class FileProbe:
    file: ExposedFile
    exchange: Exchange


@dataclass(frozen=True)
class ExposedFileEvidence:
    """The probes sent to one app origin (under `prefix`, the baseUrl's path, or at its root)."""

    origin: str
    prefix: str
    baselines: tuple[Exchange, ...]
    probes: tuple[FileProbe, ...]


@dataclass(frozen=True)
class StorageEvidence:
    """An object-storage bucket named by the app, and the answer to an anonymous listing."""

    service: str
    bucket: str
    found_in: str
    listing: Exchange


@dataclass(frozen=True)
class StoredObject:
    """An object in an object-storage bucket, named by its URL in the descriptor or a page.

    `key` is the object's key as it appears in the URL (percent-encoding kept); `url` is the
    object's address without any query, so that a signed link is requested unsigned.
    """

    service: str
    bucket: str
    key: str
    url: str
    found_in: str


@dataclass(frozen=True)
class ObjectEvidence:
    """A private-looking stored object, and the answer to an anonymous request for it."""

    object: StoredObject
    answer: Exchange


@dataclass(frozen=True)
class ContentEvidence:
    """What the content probes gathered. `signatures` is None when none could be loaded."""

    exposed: tuple[ExposedFileEvidence, ...] = ()
    storage: tuple[StorageEvidence, ...] = ()
    objects: tuple[ObjectEvidence, ...] = ()
    signatures: Repository | None = None
    signatures_error: str | None = None
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Object storage URLs


@dataclass(frozen=True)
class _StorageKind:
    service: str
    pattern: str
    listing: str  # format string: {base} is scheme://host[:port], {bucket} the bucket name
    object: str  # format string: as `listing`, and {key} the object's key


_HOST_PORT = r"(?::[0-9]{1,5})?"
_STORAGE_KINDS: Final = (
    _StorageKind(
        "Amazon S3",
        rf"(?i)https?://([a-z0-9][a-z0-9.\-]{{1,61}}[a-z0-9])\.s3(?:[.\-][a-z0-9\-]{{2,30}})?"
        rf"\.amazonaws\.com{_HOST_PORT}",
        "{base}/?list-type=2&max-keys=5",
        "{base}/{key}",
    ),
    _StorageKind(
        "Amazon S3",
        rf"(?i)https?://s3(?:[.\-][a-z0-9\-]{{2,30}})?\.amazonaws\.com{_HOST_PORT}"
        r"/([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])",
        "{base}/{bucket}?list-type=2&max-keys=5",
        "{base}/{bucket}/{key}",
    ),
    _StorageKind(
        "Google Cloud Storage",
        rf"(?i)https?://([a-z0-9][a-z0-9._\-]{{1,220}}[a-z0-9])\.storage\.googleapis\.com{_HOST_PORT}",
        "{base}/?max-keys=5",
        "{base}/{key}",
    ),
    _StorageKind(
        "Google Cloud Storage",
        rf"(?i)https?://storage\.googleapis\.com{_HOST_PORT}/([a-z0-9][a-z0-9._\-]{{1,220}}[a-z0-9])",
        "{base}/{bucket}?max-keys=5",
        "{base}/{bucket}/{key}",
    ),
    _StorageKind(
        "Azure Blob Storage",
        rf"(?i)https?://[a-z0-9]{{3,24}}\.blob\.core\.windows\.net{_HOST_PORT}"
        r"/(\$?[a-z0-9][a-z0-9\-]{1,62})",
        "{base}/{bucket}?restype=container&comp=list&maxresults=5",
        "{base}/{bucket}/{key}",
    ),
)


@dataclass(frozen=True)
class StorageTarget:
    service: str
    bucket: str
    listing_url: str
    found_in: str


# What may follow a bucket's address: the path of an object's key (S3 allows 1024 bytes; RE2
# counts to 1000). Quotes, brackets, whitespace, `&` (an HTML entity), `?` and `#` end it.
_OBJECT_PATH = r"(/[A-Za-z0-9._~!$*+=:@%/\-]{0,1000})?"
_TRAILING_PUNCTUATION = ".,:;!"


def _compiled(pattern: str) -> re2._Regexp[bytes]:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern.encode(), options)


_STORAGE_REGEXES: Final = tuple(
    (kind, _compiled(kind.pattern + _OBJECT_PATH)) for kind in _STORAGE_KINDS
)


def storage_targets(sources: Iterable[tuple[str, bytes]]) -> list[StorageTarget]:
    """Buckets named in (where, text) pairs, each once, in order of discovery."""
    targets: dict[str, StorageTarget] = {}
    for found in _storage_urls(sources):
        listing = found.kind.listing.format(base=found.base, bucket=found.bucket)
        targets.setdefault(
            listing, StorageTarget(found.kind.service, found.bucket, listing, found.where)
        )
    return list(targets.values())


def storage_objects(
    sources: Iterable[tuple[str, bytes]], limit: int = MAX_NAMED_OBJECTS
) -> list[StoredObject]:
    """Objects named in (where, text) pairs, each once, in order of discovery.

    At most `limit + 1` are returned, so that a caller can tell that the limit was reached.
    """
    objects: dict[str, StoredObject] = {}
    for found in _storage_urls(sources):
        if not found.key or found.key.endswith("/"):
            continue  # the bucket itself, or a folder-like prefix: the listing covers those
        kind = found.kind
        url = kind.object.format(base=found.base, bucket=found.bucket, key=found.key)
        objects.setdefault(
            url, StoredObject(kind.service, found.bucket, found.key, url, found.where)
        )
        if len(objects) > limit:
            break
    return list(objects.values())


@dataclass(frozen=True)
class _StorageUrl:
    kind: _StorageKind
    base: str  # scheme://host[:port], lower-cased
    bucket: str
    key: str  # the object's key, empty when the URL names only the bucket
    where: str


def _storage_urls(sources: Iterable[tuple[str, bytes]]) -> Iterator[_StorageUrl]:
    for where, text in sources:
        for kind, regex in _STORAGE_REGEXES:
            for match in regex.finditer(text[:MAX_SCANNED_BYTES]):
                try:
                    parts = urlsplit(match.group(0).decode("ascii"))
                except (UnicodeDecodeError, ValueError):
                    continue
                base = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
                bucket = match.group(1).decode("ascii").lower()
                key = (match.group(2) or b"").decode("ascii").lstrip("/")
                yield _StorageUrl(kind, base, bucket, key.rstrip(_TRAILING_PUNCTUATION), where)


# ---------------------------------------------------------------------------------------------
# Gathering


async def gather_content(
    client: HttpClient,
    descriptor: Descriptor,
    plan: EndpointPlan,
    pages: list[Exchange],
    resources: list[Exchange],
    *,
    looks_private: Callable[[str], bool],
) -> ContentEvidence:
    """Probe the app's origins for exposed files, its buckets for listings and its
    private-looking stored objects for anonymous access; load signatures.

    `pages` are the 2xx answers of the module pages, `resources` what they load.
    `looks_private` tells from an object's key whether it is worth requesting (the storage
    check's rule: public images, scripts and fonts are not requested).
    """
    notes = _resource_notes(pages, resources, plan)
    sources = [("the descriptor", json.dumps(descriptor.raw).encode())]
    sources += [(e.url, e.body) for e in [*pages, *resources] if e.status and e.status < 300]
    targets = storage_targets(sources)
    if len(targets) > MAX_BUCKETS:
        notes.append(
            f"{len(targets)} object-storage buckets are named; only the first {MAX_BUCKETS} "
            "were asked for a listing"
        )
    objects = _private_objects(sources, looks_private, notes)
    exposed, storage, stored = await asyncio.gather(
        _probe_exposed_files(client, descriptor, plan, notes),
        asyncio.gather(*(_probe_bucket(client, t) for t in targets[:MAX_BUCKETS])),
        asyncio.gather(*(_probe_object(client, o) for o in objects)),
    )
    signatures, error = _signatures()
    return ContentEvidence(
        exposed=tuple(exposed),
        storage=tuple(storage),
        objects=tuple(stored),
        signatures=signatures,
        signatures_error=error,
        notes=tuple(notes),
    )


def _signatures() -> tuple[Repository | None, str | None]:
    try:
        return load_repository(), None
    except VulnDbError as exc:
        log.warning("client-side library signatures unavailable: %s", exc.message)
        return None, exc.message


def _resource_notes(
    pages: list[Exchange], resources: list[Exchange], plan: EndpointPlan
) -> list[str]:
    """Say so when a cap on what the scan fetched or read kept content from the checks."""
    notes: list[str] = []
    app_origins = set(plan.app_origins)
    wanted = {u for p in pages for u in loaded_resources(p) if origin_of(u) in app_origins}
    # The requests, not their redirect hops; recorded URLs have any jwt shortened.
    fetched = {redact_url(u) for u in wanted} & {e.url for e in resources}
    if len(wanted) > len(fetched):
        notes.append(
            f"the pages load {len(wanted)} scripts, stylesheets and frames from the app origins; "
            f"{len(fetched)} were fetched and checked (at most {MAX_RESOURCES_PER_PAGE} per "
            f"page and {MAX_RESOURCES} per scan)"
        )
    cut = [e for e in [*pages, *resources] if e.truncated]
    if cut:
        notes.append(
            f"{len(cut)} pages or scripts were larger than the body cap; only their first "
            f"{len(cut[0].body)} bytes were checked (raise it with --max-body-bytes)"
        )
    return notes


async def _probe_bucket(client: HttpClient, target: StorageTarget) -> StorageEvidence:
    listing = await client.send(
        Sent("GET", target.listing_url, purpose=f"anonymous listing of {target.service} bucket")
    )
    return StorageEvidence(target.service, target.bucket, target.found_in, listing)


def _private_objects(
    sources: list[tuple[str, bytes]], looks_private: Callable[[str], bool], notes: list[str]
) -> list[StoredObject]:
    """The first `MAX_OBJECTS` private-looking objects named, saying so when a cap bites."""
    named = storage_objects(sources)
    if len(named) > MAX_NAMED_OBJECTS:
        notes.append(
            f"more than {MAX_NAMED_OBJECTS} stored objects are named; only the first "
            f"{MAX_NAMED_OBJECTS} were considered for an anonymous request"
        )
        named = named[:MAX_NAMED_OBJECTS]
    private = [o for o in named if looks_private(o.key)]
    if len(private) > MAX_OBJECTS:
        notes.append(
            f"{len(private)} private-looking stored objects are named; only the first "
            f"{MAX_OBJECTS} were requested anonymously"
        )
    return private[:MAX_OBJECTS]


async def _probe_object(client: HttpClient, stored: StoredObject) -> ObjectEvidence:
    # Only the first bytes are read: enough to tell content from an error page, and no more
    # of someone's data than that.
    answer = await client.send(
        Sent(
            "GET",
            stored.url,
            purpose=f"anonymous request for an object in {stored.service} bucket",
            max_bytes=OBJECT_BYTES,
        )
    )
    return ObjectEvidence(stored, answer)


async def _probe_exposed_files(
    client: HttpClient, descriptor: Descriptor, plan: EndpointPlan, notes: list[str]
) -> list[ExposedFileEvidence]:
    groups = _exposed_groups(descriptor, plan)
    if len(plan.app_origins) > MAX_EXPOSED_ORIGINS:
        notes.append(
            f"exposed files were looked for on the first {MAX_EXPOSED_ORIGINS} of "
            f"{len(plan.app_origins)} app origins"
        )
    return list(await asyncio.gather(*(_probe_group(client, o, p) for o, p in groups)))


def _exposed_groups(descriptor: Descriptor, plan: EndpointPlan) -> list[tuple[str, str]]:
    """(origin, path prefix) pairs: each app origin's root, and the baseUrl's path if it has one."""
    groups: list[tuple[str, str]] = []
    base = urlsplit(descriptor.base_url)
    base_path = base.path.rstrip("/")
    for origin in plan.app_origins[:MAX_EXPOSED_ORIGINS]:
        groups.append((origin, ""))
        if base_path and origin == origin_of(descriptor.base_url):
            groups.append((origin, base_path))
    return groups


async def _probe_group(client: HttpClient, origin: str, prefix: str) -> ExposedFileEvidence:
    marker = secrets.token_hex(8)
    baseline_paths = [f"/connectguard-{marker}", f"/.connectguard-{marker}"]
    baselines = [
        Sent("GET", f"{origin}{prefix}{path}", purpose="random-path baseline", max_bytes=65536)
        for path in baseline_paths
    ]
    probes = [
        Sent(
            "GET",
            f"{origin}{prefix}{file.path}",
            purpose=f"exposed file {file.path}",
            max_bytes=EXPOSED_FILE_BYTES,
        )
        for file in EXPOSED_FILES
    ]
    answers = await asyncio.gather(*(client.send(s) for s in [*baselines, *probes]))
    return ExposedFileEvidence(
        origin=origin,
        prefix=prefix,
        baselines=tuple(answers[: len(baselines)]),
        probes=tuple(
            FileProbe(file, exchange)
            for file, exchange in zip(EXPOSED_FILES, answers[len(baselines) :], strict=True)
        ),
    )
