"""The JSON report: validated models at the edge where data leaves, and their JSON Schema.

The schema is committed as `docs/report.schema.json`; a test keeps it equal to these models.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from connectguard import __version__
from connectguard.model import Exchange, Finding, RequirementResult, ScanResult, Verdict
from connectguard.redact import redact_headers
from connectguard.requirements import BY_NUMBER

MAX_HEADERS_SHOWN = 60

VerdictName = Literal["pass", "fail", "not_applicable", "inconclusive", "not_tested"]
LevelName = Literal["fail", "warning", "advice", "info"]
SeverityName = Literal["critical", "high", "medium", "low", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ExchangeOut(_Model):
    method: str
    url: str = Field(description="The URL requested; a jwt query parameter is shortened")
    token: str = Field(description="Which token variant the request carried (none, valid, ...)")
    request_headers: list[tuple[str, str]] = Field(description="Tokens shortened")
    status: int | None
    headers: list[tuple[str, str]] = Field(description="Response headers as received")
    error: str | None
    elapsed_ms: float


class FindingOut(_Model):
    fingerprint: str
    requirement: str
    check: str
    level: LevelName
    severity: SeverityName
    origin: str
    path: str
    method: str
    summary: str
    fix: str
    facts: dict[str, str]
    evidence: list[ExchangeOut]


class RequirementOut(_Model):
    title: str
    current_numbers: str
    verdict: VerdictName
    reason: str
    notes: list[str]
    findings: list[FindingOut]


class AppOut(_Model):
    key: str | None
    name: str | None
    base_url: str | None


class ReportOut(_Model):
    tool: dict[str, str]
    target: str
    app: AppOut
    started_at: str
    finished_at: str
    requests_sent: int
    exit_code: int
    summary: dict[VerdictName, int]
    notes: list[str]
    requirements: dict[str, RequirementOut]


def exit_code(result: ScanResult) -> int:
    """0 all pass, 1 a requirement failed, 3 incomplete (inconclusive and none failed)."""
    verdicts = set(result.verdicts.values())
    if Verdict.FAIL in verdicts:
        return 1
    if Verdict.INCONCLUSIVE in verdicts:
        return 3
    return 0


def _exchange(exchange: Exchange) -> ExchangeOut:
    return ExchangeOut(
        method=exchange.method,
        url=exchange.url,
        token=exchange.token,
        request_headers=list(exchange.request_headers),
        status=exchange.status,
        headers=list(redact_headers(exchange.headers[:MAX_HEADERS_SHOWN])),
        error=exchange.error,
        elapsed_ms=exchange.elapsed_ms,
    )


def _finding(finding: Finding) -> FindingOut:
    return FindingOut(
        fingerprint=finding.fingerprint,
        requirement=finding.requirement,
        check=finding.check,
        level=finding.level.value,
        severity=finding.severity.value,
        origin=finding.origin,
        path=finding.path,
        method=finding.method,
        summary=finding.summary,
        fix=finding.fix,
        facts=dict(finding.facts),
        evidence=[_exchange(e) for e in finding.evidence],
    )


def _requirement(result: RequirementResult) -> RequirementOut:
    requirement = BY_NUMBER[result.requirement]
    return RequirementOut(
        title=requirement.title,
        current_numbers=requirement.current,
        verdict=result.verdict.value,
        reason=result.reason,
        notes=list(result.notes),
        findings=[_finding(f) for f in result.findings],
    )


def build_report(result: ScanResult) -> ReportOut:
    summary: dict[VerdictName, int] = {v.value: 0 for v in Verdict}
    for verdict in result.verdicts.values():
        summary[verdict.value] += 1
    return ReportOut(
        tool={"name": "connectguard", "version": __version__},
        target=result.target,
        app=AppOut(key=result.app_key, name=result.app_name, base_url=result.base_url),
        started_at=result.started_at,
        finished_at=result.finished_at,
        requests_sent=result.exchanges,
        exit_code=exit_code(result),
        summary=summary,
        notes=list(result.notes),
        requirements={r.requirement: _requirement(r) for r in result.requirements},
    )


def render_json(result: ScanResult) -> str:
    return build_report(result).model_dump_json(indent=2) + "\n"


def report_schema() -> str:
    schema = ReportOut.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "connectguard scan report"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
