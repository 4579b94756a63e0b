"""Requirements 5, 9 and 13 judged from recorded exchanges: methods an app does not serve, the
positive control per method, endpoints no valid token can reach, and findings after a
trailing-slash redirect."""

from __future__ import annotations

from connectguard.checks.auth import Outcome, check_authentication, classify
from connectguard.connect.descriptor import Descriptor
from connectguard.connect.endpoints import Endpoint, EndpointPlan, Role
from connectguard.model import Exchange, RequirementResult, Verdict
from connectguard.probes.evidence import Credentials, EndpointEvidence, Evidence
from connectguard.verdicts import combine

BASE = "https://app.example.test"
PAGE = b"<html><body>content</body></html>"
FORGED = ("wrong-signature", "alg-none", "expired", "unknown-iss")
TAMPERED = ("qsh-other-path", "qsh-other-query", "qsh-other-method", "context-qsh")


def endpoint(path: str, admin: bool = False) -> Endpoint:
    return Endpoint(
        url=BASE + path,
        template=path,
        role=Role.PAGE,
        lifecycle_event=None,
        module_type="adminPages" if admin else "generalPages",
        module_key=path.strip("/") or "root",
        admin=admin,
        cacheable=False,
        external=False,
    )


def answer(path: str, token: str, method: str, status: int, purpose: str = "") -> Exchange:
    body = PAGE if 200 <= status < 300 else b""
    return Exchange(method, BASE + path, token=token, status=status, body=body, purpose=purpose)


def results(
    *items: EndpointEvidence, admin_account: str | None = None
) -> dict[str, RequirementResult]:
    descriptor = Descriptor("app", "App", BASE, "jwt", {}, {}, {"key": "app"})
    plan = EndpointPlan(tuple(i.endpoint for i in items), (BASE,), ("app.example.test",), (), 0)
    evidence = Evidence(
        target=BASE + "/atlassian-connect.json",
        scan_time=0,
        descriptor_chain=(),
        descriptor=descriptor,
        plan=plan,
        endpoints=items,
        credentials=Credentials("client-1", True, "user-1", admin_account),
    )
    judged = combine(check_authentication(evidence))
    return {r.requirement: r for r in judged if r.requirement in ("5", "9", "13")}


def post_only_page(control_get: int, forged_get: int) -> EndpointEvidence:
    """A page served on POST only, which checks tokens there."""
    exchanges = [answer("/export", "valid", "GET", control_get)]
    exchanges.append(answer("/export", "valid", "POST", 200))
    for method in ("GET", "POST"):
        exchanges.append(answer("/export", "none", method, forged_get if method == "GET" else 401))
        exchanges.extend(
            answer("/export", t, method, forged_get if method == "GET" else 401) for t in FORGED
        )
    exchanges.extend(answer("/export", t, "POST", 401) for t in TAMPERED)
    return EndpointEvidence(endpoint("/export"), tuple(exchanges))


def test_405_is_a_method_not_served() -> None:
    outcome, why = classify(answer("/p", "valid", "GET", 405), Role.PAGE)
    assert outcome is Outcome.NOT_SERVED and "405" in why


def test_a_method_not_served_is_no_rejection_of_the_valid_token() -> None:
    judged = results(post_only_page(control_get=405, forged_get=405))
    assert [judged[n].verdict for n in ("5", "9", "13")] == [Verdict.PASS] * 3
    # Only the rejections on POST, where the valid token was accepted, prove validation.
    assert judged["9"].reason.startswith(f"{len(FORGED)} pieces of evidence")


def test_a_valid_token_rejected_on_every_served_method_leaves_9_undecided() -> None:
    exchanges = [answer("/audit", "valid", "GET", 403), answer("/audit", "valid", "POST", 405)]
    exchanges += [answer("/audit", t, "GET", 401) for t in ("none", *FORGED)]
    judged = results(EndpointEvidence(endpoint("/audit"), tuple(exchanges)))
    assert judged["9"].verdict is Verdict.INCONCLUSIVE
    assert "rejected a valid token at GET /audit: answered 403" in judged["9"].reason
    assert judged["13"].verdict is Verdict.INCONCLUSIVE


def test_forged_rejections_on_an_admin_page_without_admin_account_prove_nothing_for_9() -> None:
    exchanges = [answer("/admin", t, "GET", 403) for t in ("none", *FORGED)]
    exchanges.append(answer("/admin", "non-admin-user", "GET", 403))
    item = EndpointEvidence(endpoint("/admin", admin=True), tuple(exchanges))
    judged = results(item)
    assert judged["5"].verdict is Verdict.PASS
    assert judged["9"].verdict is Verdict.NOT_TESTED
    assert "prove nothing" in judged["9"].reason
    # No endpoint could be sent a valid token: 13 judged nothing, it is not undecided.
    assert judged["13"].verdict is Verdict.NOT_TESTED
    assert "qsh was not probed" in judged["13"].reason


def test_admin_page_served_to_a_user_on_post_only_fails_5() -> None:
    exchanges = [answer("/admin", "valid", "GET", 405), answer("/admin", "valid", "POST", 200)]
    exchanges += [answer("/admin", "non-admin-user", "GET", 405)]
    exchanges += [answer("/admin", "non-admin-user", "POST", 200)]
    judged = results(
        EndpointEvidence(endpoint("/admin", admin=True), tuple(exchanges)), admin_account="adm"
    )
    failing = judged["5"].failures
    assert [(f.check, f.method) for f in failing] == [("admin-page-open-to-user", "POST")]


def test_finding_after_a_trailing_slash_redirect_names_the_endpoints_own_path() -> None:
    followed = "followed a trailing-slash redirect"
    redirect = Exchange("GET", BASE + "/docs", token="none", status=301)
    served = answer("/docs/", "none", "GET", 200, purpose=followed)
    item = EndpointEvidence(endpoint("/docs"), (redirect, served))
    [finding] = results(item)["5"].failures
    assert finding.path == "/docs"
    assert finding.summary.startswith("The page /docs accepted")
    assert finding.evidence == (redirect, served)


def empty(path: str, token: str, method: str, status: int = 204) -> Exchange:
    return Exchange(method, BASE + path, token=token, status=status, body=b"")


def test_a_page_2xx_without_content_is_neither_access_nor_denial() -> None:
    for status in (204, 200):
        outcome, why = classify(empty("/p", "none", "GET", status), Role.PAGE)
        assert outcome is Outcome.UNDECIDED and "no content" in why
        assert classify(empty("/p", "valid", "GET", status), Role.PAGE, accepting=True)[0] is (
            Outcome.ACCESS
        )


def test_a_page_that_takes_any_qsh_with_204_fails_13() -> None:
    exchanges = [empty("/ping", "valid", m) for m in ("GET", "POST")]
    for method in ("GET", "POST"):
        exchanges.append(answer("/ping", "none", method, 401))
        exchanges.extend(answer("/ping", t, method, 401) for t in FORGED)
        exchanges.extend(empty("/ping", t, method) for t in TAMPERED)
    judged = results(EndpointEvidence(endpoint("/ping"), tuple(exchanges)))
    assert [judged[n].verdict for n in ("5", "9", "13")] == [
        Verdict.PASS,
        Verdict.PASS,
        Verdict.FAIL,
    ]


def test_a_crash_on_a_forged_token_leaves_9_undecided() -> None:
    exchanges = [answer("/report", "valid", "GET", 200), answer("/report", "valid", "POST", 200)]
    for method in ("GET", "POST"):
        exchanges.append(answer("/report", "none", method, 401))
        exchanges.extend(answer("/report", t, method, 500) for t in FORGED)
        exchanges.extend(answer("/report", t, method, 401) for t in TAMPERED)
    judged = results(EndpointEvidence(endpoint("/report"), tuple(exchanges)))
    assert judged["9"].verdict is Verdict.INCONCLUSIVE and "500" in judged["9"].reason
    assert judged["5"].verdict is Verdict.INCONCLUSIVE
