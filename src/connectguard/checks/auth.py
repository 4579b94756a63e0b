"""Requirements 5, 9 and 13: who gets an answer from each endpoint, with which token.

A 4xx or 3xx is a denial, 2xx with content is access, a 5xx or a failed request cannot be
decided. The probes already followed a redirect that only adds or drops a trailing slash; the
last exchange of each token variant and method is the one judged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from connectguard.connect.endpoints import Role
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import EndpointEvidence, Evidence

# Token variants and what accepting them breaks.
SIGNATURE_DEFECTS = {
    "wrong-signature": "a token signed with the wrong secret",
    "alg-none": "an unsigned token (alg: none)",
    "expired": "an expired token",
    "unknown-iss": "a token whose iss is not an installed tenant",
    "rs256-unknown-kid": "an RS256 install token signed by a key Atlassian never published",
    "hs256-install": "an HS256 install token where signed installs require RS256",
}
QSH_DEFECTS = {
    "no-qsh": "a token without a qsh claim",
    "qsh-other-path": "a token whose qsh is for another path",
    "qsh-other-query": "a token whose qsh is for another query",
    "qsh-other-method": "a token whose qsh is for another method",
    "context-qsh": "a context-qsh token on a URL the product signs per request",
}
ADVICE_DEFECTS = {"issued-in-future": "a token issued in the future"}


class Outcome(enum.Enum):
    ACCESS = "access"
    DENIED = "denied"
    UNDECIDED = "undecided"


def classify(exchange: Exchange, role: Role) -> tuple[Outcome, str]:
    """Access, denial or undecided for one answer, with a short description of it."""
    if exchange.error is not None:
        return Outcome.UNDECIDED, exchange.error
    status = exchange.status or 0
    if status == 429:
        return Outcome.UNDECIDED, "answered 429: the app rate-limited the scan"
    if 300 <= status < 500:
        return Outcome.DENIED, f"answered {status}"
    if status >= 500:
        return Outcome.UNDECIDED, f"answered {status} (a crash is not a rejection)"
    if 200 <= status < 300:
        if role is Role.PAGE and not exchange.is_success_with_content:
            return Outcome.DENIED, f"answered {status} with no content"
        return Outcome.ACCESS, f"answered {status}"
    return Outcome.UNDECIDED, f"answered {status}"


def judged_exchanges(item: EndpointEvidence, token: str) -> list[Exchange]:
    """The exchange to judge for each method the token was sent with."""
    last: dict[str, Exchange] = {}
    for exchange in item.exchanges:
        if exchange.token == token:
            last[exchange.method] = exchange
    return list(last.values())


def check_authentication(evidence: Evidence) -> list[Judgement]:
    """Requirements 5, 9 and 13 over every in-scope endpoint."""
    r5, r9, r13 = (JudgementBuilder(n) for n in ("5", "9", "13"))
    if evidence.descriptor.auth_type == "none":
        return _authentication_none(evidence, r5, r9, r13)

    has_credentials = evidence.credentials.has_secret
    any_control_accepted = False
    for item in _in_scope(evidence):
        for note in item.skipped:
            r5.note(f"{item.endpoint.url}: {note}")
        if item.endpoint.cacheable:
            _judge_cacheable(item, r5)
            continue
        _judge_anonymous(item, r5)
        control = _judge_control(item, r9, has_credentials)
        any_control_accepted |= control is Outcome.ACCESS
        _judge_forged(item, r5, r9, has_credentials, control)
        _judge_admin(item, r5, evidence)
        if control is Outcome.ACCESS:
            _judge_qsh(item, r13)

    if not has_credentials:
        r9.note("no credentials: forged tokens carried an unknown iss, so rejections prove nothing")
        r13.note(
            "qsh needs a test installation's clientKey and sharedSecret "
            "(--client-key, --shared-secret)"
        )
    elif not any_control_accepted:
        r13.undecide("no probed endpoint accepted a correctly signed token")
    return [r5.build(), r9.build(), r13.build()]


def _in_scope(evidence: Evidence) -> Iterable[EndpointEvidence]:
    return (item for item in evidence.endpoints if not item.endpoint.external)


def _authentication_none(
    evidence: Evidence, r5: JudgementBuilder, r9: JudgementBuilder, r13: JudgementBuilder
) -> list[Judgement]:
    reason = "the descriptor declares authentication type none"
    for builder in (r5, r9, r13):
        builder.not_applicable = reason
    for item in _in_scope(evidence):
        for exchange in judged_exchanges(item, "none"):
            if classify(exchange, item.endpoint.role)[0] is Outcome.ACCESS:
                r5.add(
                    _finding(
                        "5",
                        "anonymous-page",
                        Level.INFO,
                        item,
                        [exchange],
                        "served without authentication (the app declares none)",
                    )
                )
                break
    return [r5.build(), r9.build(), r13.build()]


def _judge_cacheable(item: EndpointEvidence, r5: JudgementBuilder) -> None:
    r5.note(f"{item.endpoint.url}: cacheable module, served to anyone by design")


def _judge_anonymous(item: EndpointEvidence, r5: JudgementBuilder) -> None:
    accepted = []
    for exchange in judged_exchanges(item, "none"):
        outcome, why = classify(exchange, item.endpoint.role)
        if outcome is Outcome.UNDECIDED:
            r5.undecide(f"{exchange.method} {exchange.path} without a token: {why}")
        elif outcome is Outcome.ACCESS:
            accepted.append(exchange)
        else:
            r5.count()
    if accepted:
        what = "an install payload" if item.endpoint.role is Role.LIFECYCLE else "a request"
        r5.add(
            _finding(
                "5",
                "no-token-accepted",
                Level.FAIL,
                item,
                accepted,
                f"accepted {what} without any token",
                fix="Verify the Connect JWT on every request to this endpoint; "
                "answer 401 without one.",
                severity=Severity.CRITICAL
                if item.endpoint.role is Role.LIFECYCLE
                else Severity.HIGH,
            )
        )


def _judge_control(
    item: EndpointEvidence, r9: JudgementBuilder, has_credentials: bool
) -> Outcome | None:
    """The positive control: was a correctly signed token accepted here?"""
    if not has_credentials:
        return None
    exchanges = judged_exchanges(item, "valid")
    if not exchanges:
        return None
    exchange = exchanges[-1]
    outcome, why = classify(exchange, item.endpoint.role)
    if outcome is not Outcome.ACCESS:
        r9.undecide(f"the app rejected a valid token at {exchange.method} {exchange.path}: {why}")
    return outcome


def _judge_forged(
    item: EndpointEvidence,
    r5: JudgementBuilder,
    r9: JudgementBuilder,
    has_credentials: bool,
    control: Outcome | None,
) -> None:
    proves_validation = has_credentials and (
        control is Outcome.ACCESS or item.endpoint.role is Role.LIFECYCLE
    )
    for token, defect in SIGNATURE_DEFECTS.items():
        accepted = []
        for exchange in judged_exchanges(item, token):
            outcome, why = classify(exchange, item.endpoint.role)
            if outcome is Outcome.ACCESS:
                accepted.append(exchange)
            elif outcome is Outcome.UNDECIDED:
                r5.undecide(f"{exchange.method} {exchange.path} with {defect}: {why}")
            else:
                r5.count()
                if proves_validation:
                    r9.count()
        if accepted:
            fix = (
                "Verify the signature with the tenant's sharedSecret, allow only HS256 "
                "(RS256 for signed installs), and check exp and iss."
            )
            for requirement in ("5", "9"):
                (r5 if requirement == "5" else r9).add(
                    _finding(
                        requirement,
                        f"accepted-{token}",
                        Level.FAIL,
                        item,
                        accepted,
                        f"accepted {defect}",
                        fix=fix,
                        severity=Severity.CRITICAL,
                    )
                )
    for token, defect in ADVICE_DEFECTS.items():
        for exchange in judged_exchanges(item, token):
            if classify(exchange, item.endpoint.role)[0] is Outcome.ACCESS:
                r9.add(
                    _finding(
                        "9",
                        f"accepted-{token}",
                        Level.ADVICE,
                        item,
                        [exchange],
                        f"accepted {defect}",
                        fix="Reject tokens whose iat is in the future.",
                    )
                )


def _judge_admin(item: EndpointEvidence, r5: JudgementBuilder, evidence: Evidence) -> None:
    if not item.endpoint.admin:
        return
    exchanges = judged_exchanges(item, "non-admin-user")
    if not exchanges:
        if evidence.credentials.user_account is None:
            r5.note(
                f"{item.endpoint.url}: admin page; authorization not probed without a user account"
            )
        return
    exchange = exchanges[-1]
    outcome, why = classify(exchange, item.endpoint.role)
    if outcome is Outcome.ACCESS:
        r5.add(
            _finding(
                "5",
                "admin-page-open-to-user",
                Level.FAIL,
                item,
                [exchange],
                "was served to a user who is not an administrator",
                fix="Check that the token's user is an administrator before serving admin pages.",
                severity=Severity.HIGH,
            )
        )
    elif outcome is Outcome.UNDECIDED:
        r5.undecide(f"{exchange.method} {exchange.path} as a non-admin user: {why}")
    else:
        r5.count()


def _judge_qsh(item: EndpointEvidence, r13: JudgementBuilder) -> None:
    for token, defect in QSH_DEFECTS.items():
        for exchange in judged_exchanges(item, token):
            outcome, why = classify(exchange, item.endpoint.role)
            if outcome is Outcome.ACCESS:
                r13.add(
                    _finding(
                        "13",
                        f"accepted-{token}",
                        Level.FAIL,
                        item,
                        [exchange],
                        f"accepted {defect}: a token for one request works on another",
                        fix="Compute the qsh of each request; compare it with the token's.",
                        severity=Severity.HIGH,
                    )
                )
            elif outcome is Outcome.UNDECIDED:
                r13.undecide(f"{exchange.method} {exchange.path} with {defect}: {why}")
            else:
                r13.count()


def _finding(
    requirement: str,
    check: str,
    level: Level,
    item: EndpointEvidence,
    exchanges: list[Exchange],
    what: str,
    fix: str = "",
    severity: Severity = Severity.NONE,
) -> Finding:
    endpoint = item.endpoint
    role = endpoint.role.value
    if endpoint.role is Role.LIFECYCLE:
        role = f"lifecycle hook {endpoint.lifecycle_event}"
    elif endpoint.role is Role.API:
        role = "API route"
    elif endpoint.admin:
        role = "admin page"
    first = exchanges[0]
    methods = "/".join(sorted({e.method for e in exchanges}))
    return Finding(
        requirement=requirement,
        check=check,
        level=level,
        summary=f"The {role} {first.path} {what}.",
        fix=fix,
        severity=severity,
        origin=first.origin,
        path=first.path,
        method=methods,
        detail=endpoint.module_key or endpoint.lifecycle_event or "",
        evidence=tuple(exchanges),
    )
