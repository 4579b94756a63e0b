"""Requirement 6: stored data is reachable only with authentication.

Three kinds of evidence are judged. An object-storage bucket the descriptor or a page names
fails when it answers an anonymous request with a listing, and a private-looking object in one
(a data export, a dump, a backup: see `private_object_reason`) fails when it is served to an
anonymous request. A file the app's origins must not serve (`/.git/config`, `/.env`, a
database dump, a status page) fails only when its body has the file's own content and the
random-path baseline of the same origin does not: a catch-all 200 page or a soft 404 is never
taken for a leak.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

import re2

from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.content import (
    ExposedFile,
    ExposedFileEvidence,
    ObjectEvidence,
    StorageEvidence,
)
from connectguard.probes.evidence import Evidence

MAX_MATCHED_BYTES: Final = 256 * 1024
_LISTINGS: Final = (b"<ListBucketResult", b"<EnumerationResults")

FIX_FILE = (
    "Stop serving this file: deploy only the build output, and deny dotfiles, dumps and debug "
    "endpoints at the web server. Rotate any secret it held."
)
FIX_BUCKET = (
    "Turn off anonymous listing (block public access on the bucket or container) and serve "
    "customer data only through the app, after authentication."
)
FIX_OBJECT = (
    "Make the object private (block public access on the bucket or container, drop any "
    "public-read ACL) and hand it out only through the app, after authentication, or as a "
    "short-lived signed URL. Move exports and backups out of buckets that serve public assets."
)


def check_stored_data(evidence: Evidence) -> list[Judgement]:
    r6 = JudgementBuilder("6")
    for group in evidence.content.exposed:
        _judge_group(r6, group)
    for bucket in evidence.content.storage:
        _judge_bucket(r6, bucket)
    for stored in evidence.content.objects:
        _judge_object(r6, stored)
    content = evidence.content
    if not content.exposed and not content.storage and not content.objects:
        r6.note("no exposed-file, bucket or stored-object probe was sent")
    return [r6.build()]


def file_matches(file: ExposedFile, exchange: Exchange) -> bool:
    """Whether a 2xx answer is the file itself, by the file's own content."""
    if exchange.status is None or not 200 <= exchange.status < 300 or not exchange.body:
        return False
    body = exchange.body[:MAX_MATCHED_BYTES]
    if file.max_bytes is not None and len(exchange.body) > file.max_bytes:
        return False
    if file.not_html and looks_like_html(exchange.body):
        return False
    return all(_compiled(pattern).search(body) is not None for pattern in file.patterns)


# NOTE: decided by the body, not by Content-Type: servers label plain files `text/html` (a
# static server's default), and a catch-all page may be sent as `text/plain`.
_MARKUP_START: Final = (
    r"(?i)\A(?:\xef\xbb\xbf)?[ \t\r\n]*<(?:!doctype|!--|[a-z][a-z0-9\-]*[ \t\r\n/>])"
)
_DOCUMENT_TAG: Final = r"(?i)<(?:!doctype[ \t\r\n]+html|html|head|body|title)[ \t\r\n/>]"


def looks_like_html(body: bytes) -> bool:
    """Whether a body is an HTML page: it starts with markup, or an HTML document's own
    elements (doctype, `html`, `head`, `body`, `title`) open within its first 512 bytes."""
    head = body[:512]
    return _compiled(_MARKUP_START).search(head) is not None or (
        _compiled(_DOCUMENT_TAG).search(head) is not None
    )


_PATTERNS: dict[str, re2._Regexp[bytes]] = {}


def _compiled(pattern: str) -> re2._Regexp[bytes]:
    """`pattern` compiled over Latin-1, so that it matches any bytes (a body need not be UTF-8)."""
    if pattern not in _PATTERNS:
        options = re2.Options()
        options.log_errors = False
        # NOTE: google-re2-stubs types `encoding` as int and lacks `Options.Encoding`.
        options.encoding = re2.Options.Encoding.LATIN1  # type: ignore[attr-defined]
        _PATTERNS[pattern] = re2.compile(pattern.encode(), options)
    return _PATTERNS[pattern]


# ---------------------------------------------------------------------------------------------
# Private-looking stored objects

# Served to browsers by design: never private-looking, whatever the object's name says.
_PUBLIC_ASSET_TYPES: Final = (
    frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff"})
    | frozenset({"css", "js", "mjs", "cjs", "map", "wasm", "html", "htm"})
    | frozenset({"woff", "woff2", "ttf", "otf", "eot"})
    | frozenset({"mp4", "webm", "mov", "mp3", "m4a", "ogg", "wav"})
)
_COMPRESSED_TYPES: Final = frozenset({"gz", "tgz", "bz2", "xz", "zst", "zip", "7z"})
_DATA_TYPES: Final = {
    **dict.fromkeys(("csv", "tsv", "xls", "xlsx", "jsonl", "ndjson", "parquet"), "a data export"),
    **dict.fromkeys(("sql", "dump", "pgdump"), "a database dump"),
    **dict.fromkeys(("db", "sqlite", "sqlite3", "mdb", "accdb"), "a database file"),
    **dict.fromkeys(("bak", "backup"), "a backup"),
    **dict.fromkeys(("env", "pfx", "p12", "kdbx"), "a secrets file"),
}
_PRIVATE_WORDS: Final = (
    frozenset({"export", "exports", "exported", "backup", "backups", "dump", "dumps"})
    | frozenset({"customer", "customers", "users", "tenant", "tenants", "private"})
    | frozenset({"invoice", "invoices", "billing", "payroll", "confidential"})
    | frozenset({"credentials", "secrets", "passwords"})
)
# Published on purpose for users to download: an import template, sample data.
_SAMPLE_WORDS: Final = frozenset(
    {"sample", "samples", "example", "examples", "template", "templates", "demo"}
)
_WORD: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def private_object_reason(key: str) -> str | None:
    """Why a stored object's key looks like customer data, a dump, a backup or a secret, or
    None when it does not.

    Conservative, so that a vendor's public assets raise no alarm: images, scripts,
    stylesheets, fonts, media and HTML pages are never private-looking, whatever their names,
    and neither are samples, examples or templates. Otherwise a data type (`.csv`, `.sql.gz`,
    `.sqlite`, `.bak`...) or a word of the key (export, backup, customers, tenants...) decides.
    """
    path = unquote(key)
    types = path.rsplit("/", 1)[-1].lower().split(".")[1:]
    last = types[-1] if types else ""
    if last in _PUBLIC_ASSET_TYPES:
        return None
    words = [w.lower() for w in _WORD.findall(path)]
    if _SAMPLE_WORDS.intersection(words):
        return None
    suffix = types[-2:] if last in _COMPRESSED_TYPES and len(types) > 1 else types[-1:]
    if suffix and suffix[0] in _DATA_TYPES:
        return f"{_DATA_TYPES[suffix[0]]} (.{'.'.join(suffix)})"
    word = next((w for w in words if w in _PRIVATE_WORDS), None)
    return None if word is None else f"private data (its name says {word!r})"


def looks_private(key: str) -> bool:
    """Whether a stored object is worth an anonymous request (see `private_object_reason`)."""
    return private_object_reason(key) is not None


# ---------------------------------------------------------------------------------------------
# Judging


def _judge_group(r6: JudgementBuilder, group: ExposedFileEvidence) -> None:
    where = f"{group.origin}{group.prefix}"
    failed = [p for p in group.probes if p.exchange.error is not None]
    if len(failed) == len(group.probes):
        r6.undecide(f"exposed-file probes of {where} failed: {failed[0].exchange.error}")
        return
    for probe in group.probes:
        if not file_matches(probe.file, probe.exchange):
            continue
        if any(_same_as_baseline(probe.file, probe.exchange, b) for b in group.baselines):
            r6.note(f"{where} answers any path like {probe.file.path}: not taken for a leak")
            continue
        r6.add(_file_finding(probe.file, probe.exchange))
    if failed:
        paths = ", ".join(p.file.path for p in failed[:3])
        r6.undecide(f"{len(failed)} exposed-file probes of {where} failed ({paths}...)")
    else:
        r6.count()


def _same_as_baseline(file: ExposedFile, exchange: Exchange, baseline: Exchange) -> bool:
    """A baseline for a random path that also looks like the file, or is the same body."""
    if baseline.status is None or not 200 <= baseline.status < 300:
        return False
    return baseline.body == exchange.body or file_matches(file, baseline)


def _file_finding(file: ExposedFile, exchange: Exchange) -> Finding:
    return Finding(
        requirement="6",
        check="exposed-file",
        level=Level.FAIL,
        summary=f"{exchange.path} is served to anyone: {file.what}.",
        fix=FIX_FILE,
        severity=Severity.HIGH,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail=file.name,
        evidence=(exchange,),
    )


def _judge_object(r6: JudgementBuilder, item: ObjectEvidence) -> None:
    stored, answer = item.object, item.answer
    reason = private_object_reason(stored.key)
    if reason is None:
        return
    name = f"{stored.key} in the {stored.service} bucket {stored.bucket}"
    if answer.error is not None:
        r6.undecide(f"the anonymous request for {name} failed: {answer.error}")
        return
    if answer.status is not None and answer.status >= 500:
        r6.undecide(f"the anonymous request for {name} answered {answer.status}")
        return
    r6.count()
    served = answer.is_success_with_content
    if served and not looks_like_html(answer.body):
        r6.add(_object_finding(item, reason))
        return
    refused = "an HTML page, not the object" if served else f"{answer.status}"
    r6.add(
        Finding(
            requirement="6",
            check="stored-object-refused",
            level=Level.INFO,
            summary=f"{name} (named in {stored.found_in}) was not served to an anonymous "
            f"request ({refused}).",
            severity=Severity.NONE,
            origin=answer.origin,
            path=answer.path,
            method=answer.method,
            detail=stored.key,
            evidence=(answer,),
        )
    )


def _object_finding(item: ObjectEvidence, reason: str) -> Finding:
    stored, answer = item.object, item.answer
    return Finding(
        requirement="6",
        check="public-stored-object",
        level=Level.FAIL,
        summary=f"{stored.key} in the {stored.service} bucket {stored.bucket} (named in "
        f"{stored.found_in}) is served to anyone; it looks like {reason}.",
        fix=FIX_OBJECT,
        severity=Severity.HIGH,
        origin=answer.origin,
        path=answer.path,
        method=answer.method,
        detail=stored.key,
        evidence=(answer,),
        facts=(("looks private", reason),),
    )


def _judge_bucket(r6: JudgementBuilder, bucket: StorageEvidence) -> None:
    listing = bucket.listing
    name = f"{bucket.service} bucket {bucket.bucket}"
    if listing.error is not None:
        r6.undecide(f"the anonymous listing of {name} failed: {listing.error}")
        return
    r6.count()
    listed = listing.status is not None and 200 <= listing.status < 300
    if listed and any(marker in listing.body[:4096] for marker in _LISTINGS):
        r6.add(
            Finding(
                requirement="6",
                check="listable-bucket",
                level=Level.FAIL,
                summary=f"The {name} (named in {bucket.found_in}) lists its objects to anyone.",
                fix=FIX_BUCKET,
                severity=Severity.HIGH,
                origin=listing.origin,
                path=listing.path,
                method=listing.method,
                detail=bucket.bucket,
                evidence=(listing,),
            )
        )
        return
    r6.add(
        Finding(
            requirement="6",
            check="bucket-listing-refused",
            level=Level.INFO,
            summary=f"The {name} (named in {bucket.found_in}) refused an anonymous listing "
            f"({listing.status}).",
            origin=listing.origin,
            path=listing.path,
            method=listing.method,
            detail=bucket.bucket,
            evidence=(listing,),
            severity=Severity.NONE,
        )
    )
