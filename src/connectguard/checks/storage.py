"""Requirement 6: stored data is reachable only with authentication.

Two kinds of evidence are judged. An object-storage bucket the descriptor or a page names
fails when it answers an anonymous request with a listing. A file the app's origins must not
serve (`/.git/config`, `/.env`, a database dump, a status page) fails only when its body has
the file's own content and the random-path baseline of the same origin does not: a catch-all
200 page or a soft 404 is never taken for a leak.
"""

from __future__ import annotations

from typing import Final

import re2

from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.content import ExposedFile, ExposedFileEvidence, StorageEvidence
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


def check_stored_data(evidence: Evidence) -> list[Judgement]:
    r6 = JudgementBuilder("6")
    for group in evidence.content.exposed:
        _judge_group(r6, group)
    for bucket in evidence.content.storage:
        _judge_bucket(r6, bucket)
    if not evidence.content.exposed and not evidence.content.storage:
        r6.note("no exposed-file or bucket probe was sent")
    return [r6.build()]


def file_matches(file: ExposedFile, exchange: Exchange) -> bool:
    """Whether a 2xx answer is the file itself, by the file's own content."""
    if exchange.status is None or not 200 <= exchange.status < 300 or not exchange.body:
        return False
    body = exchange.body[:MAX_MATCHED_BYTES]
    if file.max_bytes is not None and len(exchange.body) > file.max_bytes:
        return False
    if file.not_html and _looks_like_html(exchange):
        return False
    return all(_compiled(pattern).search(body) is not None for pattern in file.patterns)


def _looks_like_html(exchange: Exchange) -> bool:
    content_type = ";".join(exchange.header("Content-Type")).lower()
    head = exchange.body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return "html" in content_type or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


_PATTERNS: dict[str, re2._Regexp[bytes]] = {}


def _compiled(pattern: str) -> re2._Regexp[bytes]:
    if pattern not in _PATTERNS:
        options = re2.Options()
        options.log_errors = False
        _PATTERNS[pattern] = re2.compile(pattern.encode(), options)
    return _PATTERNS[pattern]


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
