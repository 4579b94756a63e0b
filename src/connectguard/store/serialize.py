"""Scan results and findings to JSON and back, as the store keeps them.

Response bodies are cut to `BODY_KEPT` bytes, enough to show the evidence in a report without
keeping every page the app served, and their secrets are masked (`redact`): a body that proves
a leak holds the leaked value. Everything else of a `ScanResult` round-trips.
"""

from __future__ import annotations

import json
from typing import Any

from connectguard.model import (
    Exchange,
    Finding,
    Level,
    RequirementResult,
    ScanResult,
    Severity,
    Verdict,
)
from connectguard.redact import redact_headers, redact_text

BODY_KEPT = 4096


def exchange_to_dict(exchange: Exchange) -> dict[str, Any]:
    body = exchange.body[:BODY_KEPT]
    return {
        "method": exchange.method,
        "url": exchange.url,
        "request_headers": [list(h) for h in exchange.request_headers],
        "token": exchange.token,
        "status": exchange.status,
        "headers": [list(h) for h in redact_headers(exchange.headers)],
        "body": redact_text(body.decode("utf-8", errors="replace")),
        "truncated": exchange.truncated or len(exchange.body) > BODY_KEPT,
        "elapsed_ms": exchange.elapsed_ms,
        "error": exchange.error,
        "purpose": exchange.purpose,
    }


def exchange_from_dict(data: dict[str, Any]) -> Exchange:
    return Exchange(
        method=data["method"],
        url=data["url"],
        request_headers=tuple((k, v) for k, v in data.get("request_headers", [])),
        token=data.get("token", "none"),
        status=data.get("status"),
        headers=tuple((k, v) for k, v in data.get("headers", [])),
        body=data.get("body", "").encode(),
        truncated=bool(data.get("truncated", False)),
        elapsed_ms=float(data.get("elapsed_ms", 0.0)),
        error=data.get("error"),
        purpose=data.get("purpose", ""),
    )


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "requirement": finding.requirement,
        "check": finding.check,
        "level": finding.level.value,
        "summary": finding.summary,
        "fix": finding.fix,
        "severity": finding.severity.value,
        "origin": finding.origin,
        "path": finding.path,
        "method": finding.method,
        "detail": finding.detail,
        "evidence": [exchange_to_dict(e) for e in finding.evidence],
        "facts": [list(f) for f in finding.facts],
    }


def finding_from_dict(data: dict[str, Any]) -> Finding:
    return Finding(
        requirement=data["requirement"],
        check=data["check"],
        level=Level(data["level"]),
        summary=data["summary"],
        fix=data.get("fix", ""),
        severity=Severity(data.get("severity", "medium")),
        origin=data.get("origin", ""),
        path=data.get("path", ""),
        method=data.get("method", ""),
        detail=data.get("detail", ""),
        evidence=tuple(exchange_from_dict(e) for e in data.get("evidence", [])),
        facts=tuple((k, v) for k, v in data.get("facts", [])),
    )


def result_to_json(result: ScanResult) -> str:
    return json.dumps(
        {
            "target": result.target,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "app_key": result.app_key,
            "app_name": result.app_name,
            "base_url": result.base_url,
            "exchanges": result.exchanges,
            "notes": list(result.notes),
            "probed": sorted(result.probed) if result.probed is not None else None,
            "requirements": [
                {
                    "requirement": r.requirement,
                    "verdict": r.verdict.value,
                    "reason": r.reason,
                    "notes": list(r.notes),
                    "findings": [finding_to_dict(f) for f in r.findings],
                }
                for r in result.requirements
            ],
        }
    )


def result_from_json(text: str) -> ScanResult:
    data = json.loads(text)
    return ScanResult(
        target=data["target"],
        started_at=data["started_at"],
        finished_at=data["finished_at"],
        app_key=data.get("app_key"),
        app_name=data.get("app_name"),
        base_url=data.get("base_url"),
        exchanges=int(data.get("exchanges", 0)),
        notes=tuple(data.get("notes", [])),
        probed=frozenset(data["probed"]) if data.get("probed") is not None else None,
        requirements=tuple(
            RequirementResult(
                requirement=r["requirement"],
                verdict=Verdict(r["verdict"]),
                reason=r["reason"],
                notes=tuple(r.get("notes", [])),
                findings=tuple(finding_from_dict(f) for f in r.get("findings", [])),
            )
            for r in data["requirements"]
        ),
    )
