"""Requirement 14, client side: the JavaScript libraries the app's pages load have no known high
or critical vulnerability.

Libraries are recognised by the scripts' URLs and file names (any origin: a CDN URL names its
version) and by the content banners of the scripts fetched from the app's origins, with the
signature set loaded for the scan (retire.js's format). A detected version inside an advisory's
range fails at CVSS 7.0 and up; lower scores are reported as warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity, origin_of
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import is_script, page_of
from connectguard.vulndb.retire import Detection, Repository, Vulnerability, is_at_or_above

MAX_SCRIPT_URLS_PER_PAGE: Final = 200
FAIL_SCORE: Final = 7.0
MAX_IDS_SHOWN: Final = 4


@dataclass(frozen=True)
class _Seen:
    detection: Detection
    url: str


def check_components(evidence: Evidence) -> list[Judgement]:
    r14 = JudgementBuilder("14")
    repository = evidence.content.signatures
    seen = _detections(evidence, repository, r14)
    if not r14.judged:
        # The reason a not_tested verdict shows is its first note: say first why.
        r14.note("no page or script answered 2xx, so client-side libraries were not looked for")
    if repository is None:
        error = evidence.content.signatures_error or "no signature set was loaded"
        if r14.judged:
            r14.undecide(f"client-side libraries could not be matched: {error}")
        else:
            r14.note(f"and the client-side library signatures could not be loaded: {error}")
        return [r14.build()]

    r14.note(
        f"client-side libraries matched against {repository.source} "
        f"({len(repository.components)} libraries)"
    )
    if repository.skipped_patterns:
        r14.note(f"{repository.skipped_patterns} signature patterns RE2 cannot run were skipped")
    for item in seen:
        vulnerabilities = repository.affecting(item.detection)
        if vulnerabilities:
            r14.add(_finding(item, vulnerabilities))
    return [r14.build()]


def _detections(
    evidence: Evidence, repository: Repository | None, r14: JudgementBuilder
) -> list[_Seen]:
    seen: dict[tuple[str, str, str], _Seen] = {}

    def record(detections: list[Detection], url: str) -> None:
        for detection in detections:
            key = (detection.component, detection.version, url)
            seen.setdefault(key, _Seen(detection, url))

    for _, exchange in evidence.page_responses():
        page = page_of(exchange)
        if page is not None:
            r14.count()
            scripts = page.loaded("script")
            if len(scripts) > MAX_SCRIPT_URLS_PER_PAGE:
                r14.note(
                    f"{exchange.path} loads {len(scripts)} scripts; the first "
                    f"{MAX_SCRIPT_URLS_PER_PAGE} were matched"
                )
            if repository is not None:
                for reference in scripts[:MAX_SCRIPT_URLS_PER_PAGE]:
                    record(repository.detect_url(reference.url), reference.url)
        elif is_script(exchange):
            r14.count()
            if repository is not None:
                record(repository.detect_url(exchange.url), exchange.url)
                record(repository.detect_content(exchange.body), exchange.url)
    return list(seen.values())


def _finding(item: _Seen, vulnerabilities: list[Vulnerability]) -> Finding:
    detection = item.detection
    worst = max(vulnerabilities, key=lambda v: v.score)
    ids = list(dict.fromkeys(i for v in vulnerabilities for i in v.ids[:1]))
    shown = ", ".join(ids[:MAX_IDS_SHOWN]) + (" ..." if len(ids) > MAX_IDS_SHOWN else "")
    fixed = _fixed_version(vulnerabilities)
    score = f"CVSS {worst.cvss:.1f}" if worst.cvss is not None else f"rated {worst.severity}"
    failing = worst.score >= FAIL_SCORE
    what = worst.summary or (worst.ids[0] if worst.ids else "no summary")
    return Finding(
        requirement="14",
        check="vulnerable-library",
        level=Level.FAIL if failing else Level.WARNING,
        summary=(
            f"{item.url} is {detection.component} {detection.version} (found by "
            f"{detection.how}), with {len(vulnerabilities)} known vulnerabilities: {shown}; "
            f"the worst is {score} ({what})."
        ),
        fix=(
            f"Upgrade {detection.component} to {fixed} or later (the first version outside every "
            "listed range), or replace it where no fixed release exists."
        ),
        severity=Severity.from_score(worst.score),
        origin=origin_of(item.url),
        path=_path(item.url),
        method="GET",
        detail=f"{detection.component} {detection.version}",
        facts=(
            ("library", detection.component),
            ("version", detection.version),
            ("advisories", ", ".join(ids)),
            ("fixed in", fixed),
        ),
    )


def _fixed_version(vulnerabilities: list[Vulnerability]) -> str:
    best = vulnerabilities[0].below
    for vulnerability in vulnerabilities[1:]:
        if is_at_or_above(vulnerability.below, best):
            best = vulnerability.below
    return best


def _path(url: str) -> str:
    return urlsplit(url).path or "/"
