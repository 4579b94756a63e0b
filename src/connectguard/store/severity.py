"""Severity of tracked findings: a CVSS v3 vector per check, scored with the `cvss` package.

Each check has a default vector here; `connectguard.toml` may override it per check. A check
missing from the table (a newer check) gets a vector typical of the severity the check itself
gave its finding. The score maps to SPEC's severities: critical 9.0+, high 7.0+, medium 4.0+,
low below.
"""

from __future__ import annotations

from dataclasses import dataclass

from cvss import CVSS3, CVSSError

from connectguard.model import Finding, Severity

# check id -> CVSS v3.1 base vector, for the checks whose findings fail a requirement.
DEFAULT_VECTORS: dict[str, str] = {
    # 1: app traffic in the clear, or HSTS too short to keep it encrypted.
    "plain-http-app-url": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "hsts": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:L/A:N",
    # 2: sensitive pages left in shared or browser caches.
    "cache-control": "CVSS:3.1/AV:L/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N",
    # 1: protocols with known attacks, or content served in the clear on port 80.
    "tls-protocols": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:L/A:N",
    "plain-http-port": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:L/A:N",
    # 3: a certificate that browsers reject invites users to click through an attacker's.
    "certificate-invalid": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N",
    # 4: a name of the app that anyone can claim and serve content under.
    "dangling-cname": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "unclaimed-provider": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    # 5 and 9: requests served without authentication or with forged tokens.
    "no-token-accepted": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N",
    "admin-page-open-to-user": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N",
    "accepted-wrong-signature": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "accepted-alg-none": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "accepted-unknown-iss": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "accepted-rs256-unknown-kid": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "accepted-hs256-install": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "accepted-expired": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N",
    # 6: customer data or secrets handed to anyone who asks.
    "exposed-file": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    "listable-bucket": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    "public-stored-object": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    # 7: the sharedSecret lets anyone forge the product's requests to the app.
    "shared-secret-in-content": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "secret-value-in-content": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "secret-in-descriptor": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    "secret-in-source": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    # 7 and 8: a token readable by scripts, or sent to another site.
    "token-in-client-storage": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:L/A:N",
    "token-in-cross-origin-url": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:L/A:N",
    "module-page-referer": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:L/A:N",
    "token-with-third-party-scripts": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:L/A:N",
    # 10: Atlassian credentials collected by the app.
    "credential-form": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "basic-auth-prompt": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "code-credential-form": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "code-password-field": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "code-basic-auth-atlassian": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "code-basic-auth-user-credentials": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    "code-reads-user-credentials": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
    # 11: a session cookie readable by scripts or sent in the clear.
    "session-cookie-flags": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N",
    # 12: page URLs (with their tokens) leaked to other sites in the Referer.
    "referrer-policy": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
    # 13: a token for one request replayed on another.
    "accepted-no-qsh": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:L/A:N",
    "accepted-qsh-other-path": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:L/A:N",
    "accepted-qsh-other-query": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:L/A:N",
    "accepted-qsh-other-method": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:L/A:N",
    "accepted-context-qsh": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:L/A:N",
}

# A vector typical of each severity, for checks the table does not know.
TYPICAL_VECTORS: dict[Severity, str] = {
    Severity.CRITICAL: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    Severity.HIGH: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    Severity.MEDIUM: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
    Severity.LOW: "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
    Severity.NONE: "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
}


@dataclass(frozen=True)
class Score:
    vector: str
    score: float
    severity: Severity


def parse_vector(vector: str) -> Score:
    """Score a CVSS v3 vector; raise ValueError with the reason if it is not one."""
    try:
        parsed = CVSS3(vector.strip())
    except CVSSError as exc:
        raise ValueError(f"{vector!r} is not a CVSS v3 vector: {exc}") from None
    score = float(parsed.scores()[0])
    return Score(parsed.clean_vector(), score, severity_of(score))


def severity_of(score: float) -> Severity:
    """SPEC's bands; a failing finding is never below low, whatever its score."""
    severity = Severity.from_score(score)
    return Severity.LOW if severity is Severity.NONE else severity


def score_finding(finding: Finding, overrides: dict[str, str] | None = None) -> Score:
    """The vector for `finding`'s check (config first, then the defaults) and its score."""
    return score_check(finding.check, TYPICAL_VECTORS[finding.severity], overrides)


def score_check(check: str, fallback: str, overrides: dict[str, str] | None = None) -> Score:
    """The vector of `check`: the config's, else the default, else `fallback`."""
    vector = (overrides or {}).get(check) or DEFAULT_VECTORS.get(check) or fallback
    return parse_vector(vector)
