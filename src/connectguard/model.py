"""The data a scan produces: evidence gathered by probes, findings made by checks, verdicts.

Everything here is a frozen dataclass: probes return evidence, checks turn evidence into
findings, and `verdicts.combine` turns findings into one verdict per requirement.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    INCONCLUSIVE = "inconclusive"
    NOT_TESTED = "not_tested"


class Level(enum.StrEnum):
    """How much a finding weighs: only `fail` findings decide a verdict."""

    FAIL = "fail"
    WARNING = "warning"
    ADVICE = "advice"
    INFO = "info"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"

    @classmethod
    def from_score(cls, score: float) -> Severity:
        """SPEC's bands of a CVSS v3 base score: critical 9.0+, high 7.0+, medium 4.0+, low."""
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        return cls.LOW if score > 0.0 else cls.NONE


Headers = tuple[tuple[str, str], ...]
"""Header lines as received: order and repeats kept, names as sent."""


def header_values(headers: Headers, name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), one per header line, in order."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, the port left out when it is the scheme's default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or (scheme, port) in {("https", 443), ("http", 80)}:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Exchange:
    """One HTTP request the scan sent and what came back (or why nothing did).

    `request_headers` never holds a whole token: the probe shortens it before recording.
    `token` names the token variant sent (`none`, `valid`, `alg-none`...), for the report.
    """

    method: str
    url: str
    request_headers: Headers = ()
    token: str = "none"
    status: int | None = None
    headers: Headers = ()
    body: bytes = field(default=b"", repr=False)
    truncated: bool = False
    elapsed_ms: float = 0.0
    error: str | None = None
    purpose: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    def header(self, name: str) -> list[str]:
        return header_values(self.headers, name)

    @property
    def is_success_with_content(self) -> bool:
        """A 2xx answer that carries a body: what counts as a page served (SPEC: "2xx with
        content"). 204 and 205 never carry one; an empty 200 is not a page either."""
        return (
            self.status is not None
            and 200 <= self.status < 300
            and self.status not in (204, 205)
            and bool(self.body)
        )

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Finding:
    """Something a check saw: a failure, a warning, advice or information, with its evidence."""

    requirement: str
    check: str
    level: Level
    summary: str
    fix: str = ""
    severity: Severity = Severity.MEDIUM
    origin: str = ""
    path: str = ""
    method: str = ""
    detail: str = ""
    evidence: tuple[Exchange, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def fingerprint(self) -> str:
        """Stable across scans: the same defect at the same place gives the same value."""
        import hashlib

        key = "\x1f".join(
            [self.requirement, self.check, self.origin, self.path, self.method, self.detail]
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Judgement:
    """What a check contributes to the verdicts of one requirement.

    `judged` counts the pieces of evidence that were looked at and decided; `undecided` holds
    the reasons a piece could not be decided (a timeout, a 5xx...). `not_applicable` is the
    reason the requirement cannot apply to this app, if so. `notes` explain the verdict.
    """

    requirement: str
    findings: tuple[Finding, ...] = ()
    judged: int = 0
    undecided: tuple[str, ...] = ()
    not_applicable: str | None = None
    notes: tuple[str, ...] = ()


@dataclass
class JudgementBuilder:
    """Collects a check's findings and tallies for one requirement, then freezes them."""

    requirement: str
    findings: list[Finding] = field(default_factory=list)
    judged: int = 0
    undecided: list[str] = field(default_factory=list)
    not_applicable: str | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def count(self, n: int = 1) -> None:
        self.judged += n

    def undecide(self, reason: str) -> None:
        if reason not in self.undecided:
            self.undecided.append(reason)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def build(self) -> Judgement:
        return Judgement(
            requirement=self.requirement,
            findings=tuple(self.findings),
            judged=self.judged,
            undecided=tuple(self.undecided),
            not_applicable=self.not_applicable,
            notes=tuple(self.notes),
        )


@dataclass(frozen=True)
class RequirementResult:
    requirement: str
    verdict: Verdict
    reason: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.FAIL]


def probe_key(exchange: Exchange) -> str:
    """One asked question of a scan: the path and the token variant sent (`/board valid`)."""
    return f"{exchange.path} {exchange.token}"


@dataclass(frozen=True)
class ScanResult:
    target: str
    started_at: str
    finished_at: str
    app_key: str | None
    app_name: str | None
    base_url: str | None
    requirements: tuple[RequirementResult, ...]
    exchanges: int = 0
    notes: tuple[str, ...] = ()
    probed: frozenset[str] | None = None
    """What the scan asked and got an answer to, as `probe_key`s: a later scan that did not ask
    what a finding's evidence asked cannot tell that it was fixed. None: not recorded."""

    def requirement(self, number: str) -> RequirementResult:
        for result in self.requirements:
            if result.requirement == number:
                return result
        raise KeyError(number)

    @property
    def verdicts(self) -> dict[str, Verdict]:
        return {r.requirement: r.verdict for r in self.requirements}

    def findings(self) -> Iterable[Finding]:
        for result in self.requirements:
            yield from result.findings
