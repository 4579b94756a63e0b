"""Requirements 5, 9 and 13: who gets an answer from each endpoint, with which token.

A 4xx or 3xx is a denial, 2xx with content is access, a 5xx or a failed request cannot be
decided; a 405 says the method is not served, which is neither a denial of the token nor access,
and a page's 2xx without content is undecided too, except where only the token's acceptance
counts (the valid-token control, the qsh probes).
The probes already followed a redirect that only adds or drops a trailing slash; the last
exchange of each token variant and method is the one judged, and findings name the endpoint's
own path with the whole exchange chain as evidence.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from urllib.parse import urlsplit

from connectguard.connect.endpoints import Role
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import USER_JWT, EndpointEvidence, Evidence

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
    NOT_SERVED = "not served"
    """405: the app does not serve this method at all, whatever the token."""
    UNDECIDED = "undecided"


def classify(exchange: Exchange, role: Role, accepting: bool = False) -> tuple[Outcome, str]:
    """Access, denial or undecided for one answer, with a short description of it.

    A page's 2xx without content serves nothing, and denies nothing either: undecided. When the
    question is only whether the app took the token (`accepting`: the valid-token control and
    the qsh probes, where SPEC fails "any 2xx"), every 2xx is access.
    """
    if exchange.error is not None:
        return Outcome.UNDECIDED, exchange.error
    status = exchange.status or 0
    if status == 429:
        return Outcome.UNDECIDED, "answered 429: the app rate-limited the scan"
    if status == 405:
        return Outcome.NOT_SERVED, "answered 405: the method is not served"
    if 300 <= status < 500:
        return Outcome.DENIED, f"answered {status}"
    if status >= 500:
        return Outcome.UNDECIDED, f"answered {status} (a crash is not a rejection)"
    if 200 <= status < 300:
        if role is Role.PAGE and not accepting and not exchange.is_success_with_content:
            return (
                Outcome.UNDECIDED,
                f"answered {status} with no content: neither access nor a denial",
            )
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
    any_control_sent = any_control_accepted = False
    for item in _in_scope(evidence):
        for note in item.skipped:
            r5.note(f"{item.endpoint.url}: {note}")
        if item.endpoint.cacheable:
            _judge_cacheable(item, r5)
            continue
        _judge_anonymous(item, r5)
        controls = _judge_control(item, r9, has_credentials)
        accepted = Outcome.ACCESS in controls.values()
        any_control_sent |= bool(controls)
        any_control_accepted |= accepted
        _judge_forged(item, r5, r9, has_credentials, controls)
        _judge_admin(item, r5, evidence)
        if accepted:
            _judge_qsh(item, r13)

    if not has_credentials:
        r9.note("no credentials: forged tokens carried an unknown iss, so rejections prove nothing")
        r13.note(
            "qsh needs a test installation's clientKey and sharedSecret "
            "(--client-key, --shared-secret)"
        )
    elif not any_control_sent:
        r13.note(
            "no endpoint could be sent a correct token (signed-install hooks, cacheable shells, "
            "admin pages without an admin account), so qsh was not probed"
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
    exchanges = judged_exchanges(item, "none")
    for exchange in exchanges:
        outcome, why = classify(exchange, item.endpoint.role)
        if outcome is Outcome.UNDECIDED:
            r5.undecide(f"{exchange.method} {exchange.path} without a token: {why}")
        elif outcome is Outcome.ACCESS:
            accepted.append(exchange)
        elif outcome is Outcome.DENIED:
            r5.count()
    if exchanges and all(e.status == 405 for e in exchanges):
        r5.note(f"{item.endpoint.url}: answered 405 to every method probed, so it was not judged")
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
) -> dict[str, Outcome]:
    """The positive control, per method: was a correctly signed token accepted here?

    A method the app does not serve (405) rejects nothing; a valid token rejected on every
    method the app serves leaves 9 undecided, as then no rejection of a forged one proves a thing.
    """
    if not has_credentials:
        return {}
    outcomes: dict[str, Outcome] = {}
    rejected: list[str] = []
    for exchange in judged_exchanges(item, "valid"):
        outcome, why = classify(exchange, item.endpoint.role, accepting=True)
        outcomes[exchange.method] = outcome
        if outcome in (Outcome.DENIED, Outcome.UNDECIDED):
            rejected.append(f"{exchange.method} {_own_path(item)}: {why}")
    if rejected and Outcome.ACCESS not in outcomes.values():
        r9.undecide(f"the app rejected a valid token at {'; '.join(rejected)}")
    return outcomes


def _judge_forged(
    item: EndpointEvidence,
    r5: JudgementBuilder,
    r9: JudgementBuilder,
    has_credentials: bool,
    controls: dict[str, Outcome],
) -> None:
    """Forged tokens: any accepted fails 5 and 9; a rejection counts for 9 only where the same
    method accepted the valid token (or on a lifecycle hook, which no control can reach)."""
    lifecycle = item.endpoint.role is Role.LIFECYCLE
    proving = {method for method, outcome in controls.items() if outcome is Outcome.ACCESS}
    if has_credentials and item.endpoint.admin and not controls:
        r9.note(
            f"{item.endpoint.url}: no valid token could be sent (admin page without an admin "
            "account), so its rejections of forged tokens prove nothing"
        )
    for token, defect in SIGNATURE_DEFECTS.items():
        accepted = []
        for exchange in judged_exchanges(item, token):
            outcome, why = classify(exchange, item.endpoint.role)
            if outcome is Outcome.ACCESS:
                accepted.append(exchange)
            elif outcome is Outcome.UNDECIDED:
                r5.undecide(f"{exchange.method} {exchange.path} with {defect}: {why}")
                if has_credentials and (lifecycle or exchange.method in proving):
                    r9.undecide(f"{exchange.method} {exchange.path} with {defect}: {why}")
            elif outcome is Outcome.DENIED:
                r5.count()
                if has_credentials and (lifecycle or exchange.method in proving):
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
    exchanges = judged_exchanges(item, "non-admin-user") + judged_exchanges(item, USER_JWT)
    if not exchanges:
        if evidence.credentials.user_account is None:
            r5.note(
                f"{item.endpoint.url}: admin page; authorization not probed without a user account"
            )
        return
    served = []
    for exchange in exchanges:
        outcome, why = classify(exchange, item.endpoint.role)
        if outcome is Outcome.ACCESS:
            served.append(exchange)
        elif outcome is Outcome.UNDECIDED:
            r5.undecide(f"{exchange.method} {exchange.path} as a non-admin user: {why}")
        elif outcome is Outcome.DENIED and exchange.token == USER_JWT:
            # The app may have refused the token's qsh (made for another request, or
            # context-qsh), not the user: access would fail 5, a refusal proves nothing.
            r5.note(
                f"{item.endpoint.url}: the --user-jwt token was refused; its qsh binds it to "
                "another request, so that says nothing about authorization (use --user-account)"
            )
        elif outcome is Outcome.DENIED:
            r5.count()
    if served:
        r5.add(
            _finding(
                "5",
                "admin-page-open-to-user",
                Level.FAIL,
                item,
                served,
                "was served to a user who is not an administrator",
                fix="Check that the token's user is an administrator before serving admin pages.",
                severity=Severity.HIGH,
            )
        )


def _judge_qsh(item: EndpointEvidence, r13: JudgementBuilder) -> None:
    for token, defect in QSH_DEFECTS.items():
        for exchange in judged_exchanges(item, token):
            outcome, why = classify(exchange, item.endpoint.role, accepting=True)
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
            elif outcome is Outcome.DENIED:
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
    path = _own_path(item)
    methods = "/".join(sorted({e.method for e in exchanges}))
    return Finding(
        requirement=requirement,
        check=check,
        level=level,
        summary=f"The {role} {path} {what}.",
        fix=fix,
        severity=severity,
        origin=endpoint.origin,
        path=path,
        method=methods,
        detail=endpoint.module_key or endpoint.lifecycle_event or "",
        evidence=tuple(e for judged in exchanges for e in _chain(item, judged)),
    )


def _own_path(item: EndpointEvidence) -> str:
    """The path the descriptor gives the endpoint, not that of a trailing-slash redirect."""
    return urlsplit(item.endpoint.url).path or "/"


def _chain(item: EndpointEvidence, judged: Exchange) -> list[Exchange]:
    """The exchanges that led to a judged one: a trailing-slash redirect, if any, then it."""
    return item.by_token(judged.token, judged.method)
