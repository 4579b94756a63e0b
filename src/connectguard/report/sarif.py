"""The SARIF 2.1.0 report of any `ScanResult` (a live scan or a source scan), for GitHub code
scanning and other SARIF consumers.

Each check that produced a finding is a rule; each failing, warning or advice finding is a
result (`error`, `warning`, `note`); info findings are left out. A finding of a source scan
points at its file and line; one of a live scan at its URL. GitHub's limits are kept: at most
25,000 results and 25,000 rules per run, a stable `partialFingerprints` entry per result, and a
`security-severity` on every rule so the alert shows a severity.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from connectguard import __version__
from connectguard.model import Finding, Level, ScanResult, Severity
from connectguard.report.json_report import exit_code
from connectguard.requirements import BY_NUMBER

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://developer.atlassian.com/platform/marketplace/security-requirements/"
# Characters a URL path of a live finding keeps as they are: RFC 3986's reserved ones and `%`, so
# a path already encoded is not encoded twice.
URL_SAFE = "/:@!$&'()*+,;=?#[]%~"
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_MESSAGE = 4_000
LEVELS = {Level.FAIL: "error", Level.WARNING: "warning", Level.ADVICE: "note"}
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.NONE: "0.0",
}


def rule_id(finding: Finding) -> str:
    return f"CG{finding.requirement}/{finding.check}"


def render_sarif(result: ScanResult) -> str:
    return json.dumps(build_sarif(result), indent=2, ensure_ascii=False) + "\n"


def build_sarif(result: ScanResult) -> dict[str, Any]:
    findings = [f for f in result.findings() if f.level in LEVELS]
    shown = findings[:MAX_RESULTS]
    rules: dict[str, dict[str, Any]] = {}
    for finding in shown:
        if rule_id(finding) not in rules and len(rules) < MAX_RULES:
            rules[rule_id(finding)] = _rule(finding)
        else:
            _raise_severity(rules.get(rule_id(finding)), finding)
    index = {rid: n for n, rid in enumerate(rules)}
    results = [_result(f, index) for f in shown if rule_id(f) in index]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "connectguard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": list(rules.values()),
            }
        },
        "automationDetails": {"id": f"connectguard/{_kind(result)}/"},
        "invocations": [_invocation(result, len(findings) - len(results))],
        "results": results,
        "properties": {
            "target": result.target,
            "verdicts": {r.requirement: r.verdict.value for r in result.requirements},
        },
    }
    if _kind(result) == "source":
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": _directory_uri(result.target)}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _kind(result: ScanResult) -> str:
    return "live" if result.target.startswith(("http://", "https://")) else "source"


def _file_uri(path: str) -> str:
    """A relative URI reference for a source path (RFC 3986): every byte of the name that is not
    unreserved is percent-encoded (spaces, `#`, `%`, newlines, non-ASCII as UTF-8), so `/` is
    the only separator. Names git could not decode as UTF-8 keep their original bytes."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _directory_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri().rstrip("/") + "/"


def _rule(finding: Finding) -> dict[str, Any]:
    requirement = BY_NUMBER[finding.requirement]
    text = f"Requirement {finding.requirement} (now {requirement.current}): {requirement.title}"
    return {
        "id": rule_id(finding),
        "name": "".join(part.capitalize() for part in finding.check.split("-")),
        "shortDescription": {"text": f"{finding.check} ({requirement.title})"[:1000]},
        "fullDescription": {"text": text},
        "help": {"text": finding.fix or text},
        "helpUri": INFORMATION_URI,
        "defaultConfiguration": {"level": LEVELS[finding.level]},
        "properties": {
            "tags": ["security", f"requirement-{finding.requirement}"],
            "security-severity": SECURITY_SEVERITY[finding.severity],
        },
    }


def _raise_severity(rule: dict[str, Any] | None, finding: Finding) -> None:
    """A rule's security-severity is that of its worst result."""
    if rule is None:
        return
    current = float(rule["properties"]["security-severity"])
    if float(SECURITY_SEVERITY[finding.severity]) > current:
        rule["properties"]["security-severity"] = SECURITY_SEVERITY[finding.severity]


def _facts(finding: Finding) -> dict[str, str]:
    return dict(finding.facts)


def _line(finding: Finding) -> int | None:
    try:
        line = int(_facts(finding).get("line", ""))
    except ValueError:
        return None
    return line if line >= 1 else None


def _location(finding: Finding) -> dict[str, Any]:
    if finding.origin:
        path = quote(finding.path or "/", safe=URL_SAFE)
        artifact: dict[str, Any] = {"uri": f"{finding.origin}{path}"}
    else:
        artifact = {"uri": _file_uri(finding.path or "."), "uriBaseId": "SRCROOT"}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    line = _line(finding)
    if line is not None:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    message = finding.summary
    if finding.fix:
        message += f"\nFix: {finding.fix}"
    rid = rule_id(finding)
    properties: dict[str, Any] = {"requirement": finding.requirement, "severity": finding.severity}
    properties.update({k: v for k, v in finding.facts if k not in {"line"}})
    return {
        "ruleId": rid,
        "ruleIndex": index[rid],
        "level": LEVELS[finding.level],
        "message": {"text": message[:MAX_MESSAGE]},
        "locations": [_location(finding)],
        "partialFingerprints": {"connectguard/v1": finding.fingerprint},
        "properties": properties,
    }


def _invocation(result: ScanResult, left_out: int) -> dict[str, Any]:
    notifications = [
        {"message": {"text": note[:MAX_MESSAGE]}, "level": "note"} for note in result.notes
    ]
    if left_out:
        notifications.append(
            {
                "message": {"text": f"{left_out} result(s) left out to stay within SARIF limits"},
                "level": "warning",
            }
        )
    return {
        "executionSuccessful": True,
        "exitCode": exit_code(result),
        "startTimeUtc": _utc(result.started_at),
        "endTimeUtc": _utc(result.finished_at),
        "toolExecutionNotifications": notifications,
    }


def _utc(stamp: str) -> str:
    return stamp.replace("+00:00", "Z")
