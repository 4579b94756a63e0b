"""Requirement 10: the app does not ask its users for their Atlassian credentials.

A form fails when it has a password or token field and Atlassian wording (Atlassian account,
id.atlassian.com, a Jira, Confluence or Atlassian password or API token), when it posts an
e-mail with a password or token to an Atlassian site, or when it asks for the user's Atlassian
e-mail together with a token. A module page that answers with `WWW-Authenticate: Basic` fails:
inside the product, the browser's prompt reads as the product's own. A password field with no
sign of Atlassian (a login to the vendor's own service) is advice; a search box is nothing.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from connectguard.checks.leaks import is_atlassian_host
from connectguard.connect.endpoints import Role
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import Form, FormField, page_of

MAX_FORM_SHOWN: Final = 600

# Words are matched on lower-cased text with a bounded, backtracking-free pattern each.
_TOKEN_FIELD: Final = re.compile(r"api[\s_-]?token|apitoken|access[\s_-]?token|personal[\s_-]token")
_TOKEN_WORD: Final = re.compile(r"(?<![a-z])token(?![a-z])")
_NOT_A_SECRET: Final = re.compile(r"csrf|xsrf|authenticity|captcha|one[\s_-]?time|otp|2fa|mfa")
_EMAIL_FIELD: Final = re.compile(r"e-?mail")
_ATLASSIAN_CREDENTIAL: Final = re.compile(
    r"atlassian(?: cloud)? (?:account|password|api[\s_-]?token|token|credentials|login|e-?mail"
    r"|username)|id\.atlassian\.com"
)
_PRODUCT_CREDENTIAL: Final = re.compile(
    r"(?:jira|confluence|bitbucket|atlassian)(?: cloud)?(?: account)?(?:'s)? "
    r"(?:password|api[\s_-]?token|token|credentials|login)"
)
_PRODUCT: Final = re.compile(r"(?<![a-z])(?:jira|confluence|bitbucket|atlassian)(?![a-z])")
# A field or form naming another service asks for that service's credentials, not Atlassian's.
_OTHER_SERVICE: Final = re.compile(
    r"github|gitlab|slack|salesforce|zendesk|google|microsoft|azure|aws|amazon|okta|auth0|"
    r"hubspot|servicenow|stripe|twilio|openai|figma|notion|asana|trello|zoom|dropbox|box\.com|"
    r"sentry|datadog|pagerduty|jenkins|sonar|docker|npm|heroku|shopify"
)

FIX_COLLECT = (
    "Never ask for Atlassian passwords or API tokens: use the app's Connect JWT (or OAuth 2.0 "
    "authorization with user impersonation) to act for the user."
)
FIX_BASIC = (
    "Answer unauthenticated module requests with a 401 or a page of your own, never with a "
    "WWW-Authenticate: Basic challenge."
)
FIX_ADVICE = (
    "Make sure this login is for your own service and says so, so users never type their "
    "Atlassian password into it."
)


def check_credential_collection(evidence: Evidence) -> list[Judgement]:
    r10 = JudgementBuilder("10")
    reported: set[tuple[str, str, str]] = set()
    for finding in [*_basic_challenges(evidence), *_forms(evidence, r10)]:
        key = (finding.check, finding.origin, finding.path + finding.detail)
        if key not in reported:
            reported.add(key)
            r10.add(finding)
    if not r10.judged:
        r10.note("no HTML page answered 2xx, so credential forms were not looked for")
    return [r10.build()]


def _forms(evidence: Evidence, r10: JudgementBuilder) -> list[Finding]:
    findings: list[Finding] = []
    for _, exchange in evidence.page_responses():
        page = page_of(exchange)
        if page is None:
            continue
        r10.count()
        for capped in page.capped:
            r10.note(f"{exchange.path}: {capped}")
        for form in page.forms:
            finding = judge_form(form, exchange)
            if finding is not None:
                findings.append(finding)
    return findings


def judge_form(form: Form, exchange: Exchange) -> Finding | None:
    """A failing finding for a form that collects Atlassian credentials, advice for a password
    field without Atlassian wording, None for anything else."""
    secrets = [f for f in form.fields if is_secret_field(f)]
    if not secrets:
        return None
    emails = [f for f in form.fields if is_email_field(f)]
    reason = _atlassian_reason(form, secrets, emails)
    if reason is None:
        if not any(f.type == "password" for f in secrets):
            return None
        return _form_finding(form, exchange, Level.ADVICE, "has a password field", FIX_ADVICE)
    return _form_finding(form, exchange, Level.FAIL, reason, FIX_COLLECT)


def is_secret_field(field: FormField) -> bool:
    """A password input, or a text input for an API or access token."""
    words = field.words
    if _NOT_A_SECRET.search(words):
        return False
    if field.type == "password":
        return True
    if field.type not in {"text", "textarea", ""}:
        return False
    return bool(_TOKEN_FIELD.search(words) or _TOKEN_WORD.search(words))


def is_email_field(field: FormField) -> bool:
    return field.type == "email" or bool(_EMAIL_FIELD.search(field.words))


def _atlassian_reason(form: Form, secrets: list[FormField], emails: list[FormField]) -> str | None:
    form_text = " ".join(" ".join([form.text, *(f.words for f in form.fields)]).lower().split())
    secret_words = " ".join(f.words for f in secrets)
    names_other = bool(_OTHER_SERVICE.search(secret_words))

    if emails and form.action and is_atlassian_host(form.action):
        host = urlsplit(form.action).hostname
        return f"posts an e-mail and a password or token to the Atlassian site {host}"
    if names_other:
        return None
    if _ATLASSIAN_CREDENTIAL.search(form_text):
        return "asks for a password or token next to Atlassian account wording"
    if _PRODUCT_CREDENTIAL.search(form_text) or _PRODUCT.search(secret_words):
        return "asks for a Jira, Confluence or Atlassian password or token"
    token_field = any(_TOKEN_FIELD.search(f.words) for f in secrets)
    if token_field and _PRODUCT.search(" ".join(f.words for f in emails)):
        return "asks for the user's Atlassian e-mail with an API token"
    return None


def _form_finding(form: Form, exchange: Exchange, level: Level, reason: str, fix: str) -> Finding:
    outline = form.describe()[:MAX_FORM_SHOWN]
    where = "fields outside a form" if form.loose else f"form posting to {form.action}"
    return Finding(
        requirement="10",
        check="credential-form" if level is Level.FAIL else "password-field",
        level=level,
        summary=f"{exchange.path}: {where} {reason}.",
        fix=fix,
        severity=Severity.HIGH if level is Level.FAIL else Severity.NONE,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail=form.action or "loose",
        evidence=(exchange,),
        facts=(("form", outline),),
    )


def _basic_challenges(evidence: Evidence) -> list[Finding]:
    findings: list[Finding] = []
    for item in evidence.endpoints:
        endpoint = item.endpoint
        if endpoint.external or endpoint.role is not Role.PAGE:
            continue
        for exchange in item.exchanges:
            challenge = _basic_challenge(exchange)
            if challenge is not None and exchange.method == "GET":
                findings.append(_basic_finding(exchange, challenge))
                break
    return findings


def _basic_challenge(exchange: Exchange) -> str | None:
    for value in exchange.header("WWW-Authenticate"):
        for challenge in value.split(","):
            if challenge.strip().lower().startswith("basic"):
                return value.strip()[:200]
    return None


def _basic_finding(exchange: Exchange, challenge: str) -> Finding:
    return Finding(
        requirement="10",
        check="basic-auth-prompt",
        level=Level.FAIL,
        summary=(
            f"{exchange.path} is a module page that answers {exchange.status} with "
            f"WWW-Authenticate: {challenge}: inside the product the browser's password prompt "
            "reads as Atlassian's."
        ),
        fix=FIX_BASIC,
        severity=Severity.HIGH,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        evidence=(exchange,),
        facts=(("challenge", challenge),),
    )
