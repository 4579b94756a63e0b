"""Requirement 10: the app does not ask its users for their Atlassian credentials.

A form fails when it posts an e-mail with a password or token to an Atlassian site, asks for the
user's Atlassian e-mail together with a token, or has a password or token field that its own
context ties to Atlassian. Each such field is judged on its own, from the nearest context out:
its label, placeholder and name; the form's text (for fields outside a form, their block's); the
heading above the form. The first of these that says whose credential it is decides: a phrase
naming an owner ("Jira API token", "Acme password", "your Jira account", "sign in to Acme"),
else Atlassian wording (Atlassian, Jira, Confluence, id.atlassian.com, then "API token"), else
another service's name. So a vendor's login that names its own service stays advice under a
page heading about Jira, while a bare "Password" under "Log in with your Jira account" fails.
A module page that answers with `WWW-Authenticate: Basic` fails: inside the product, the
browser's prompt reads as the product's own. A search box is nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Final
from urllib.parse import urlsplit

from connectguard.checks.leaks import is_atlassian_host
from connectguard.connect.endpoints import Role
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import Form, FormField, page_of

MAX_FORM_SHOWN: Final = 600
MAX_CONTEXT_CHARS: Final = 20_000
MAX_PHRASE_WORDS: Final = 4

# Words are matched with a bounded, backtracking-free pattern each, on lower-cased text except
# where the case says something (a capitalised word can be a service's name).
_TOKEN_WORD: Final = re.compile(r"(?<![a-z])token(?![a-z])")
# "Token" as a quantity (a language model's token limit, a token budget), not a credential.
_TOKEN_QUANTITY: Final = re.compile(
    r"(?<![a-z])tokens?[\s_-]*(?:limit|count|budget|usage|length|size|quota|max|min|per)(?![a-z])"
    r"|(?<![a-z])(?:max(?:imum)?|min(?:imum)?|number[\s_-]of|count[\s_-]of)[\s_-]*tokens?(?![a-z])"
)
_TOKEN_FIELD: Final = re.compile(r"api[\s_-]?token|apitoken|access[\s_-]?token|personal[\s_-]token")
# What a field's own name, id or autocomplete says when it holds no reusable credential: a CSRF
# token, a captcha answer, a one-time code. Whole words only, and never from the field's help
# text: "use an API token if your site enforces 2FA" describes a password field, not an OTP one.
_NOT_A_SECRET: Final = re.compile(
    r"(?<![a-z])(?:csrf|xsrf|authenticity|captcha|one[\s_-]?time(?:[\s_-]code)?|otp|totp|2fa|mfa)"
    r"(?![a-z])"
)
_EMAIL_FIELD: Final = re.compile(r"e-?mail")
# Names that make wording Atlassian's wherever they stand. "API token" is Atlassian's name for its
# own token: it counts too, but only after any owner or other service named at the same level.
_ATLASSIAN_NAME: Final = re.compile(
    r"id\.atlassian\.com|(?<![a-z])(?:atlassian|jira|confluence|bitbucket)(?![a-z])"
)
_API_TOKEN: Final = re.compile(r"api[\s_-]?token")
# A field or form naming another service asks for that service's credentials, not Atlassian's.
_OTHER_SERVICE: Final = re.compile(
    r"(?<![a-z])(?:github|gitlab|slack|salesforce|zendesk|google|microsoft|azure|aws|amazon|okta|auth0|"
    r"hubspot|servicenow|stripe|twilio|openai|figma|notion|asana|trello|zoom|dropbox|box\.com|"
    r"sentry|datadog|pagerduty|jenkins|sonar|docker|npm|heroku|shopify)"
)
# Owner phrases: "<owner> [modifiers] <secret noun>" in a field's own words, "<owner> account"
# and "sign in to <owner>" anywhere. An owner is a run of names: capitalised words, or service
# names, that are not generic words.
_WORD: Final = re.compile(r"\w[\w&'-]*(?:\.\w[\w&'-]*)*|[^\w\s]")
_SECRET_NOUNS: Final = frozenset(
    {"password", "passwords", "passcode", "passphrase", "token", "tokens", "pat", "key", "secret"}
)
_ACCOUNT_NOUNS: Final = frozenset({"account", "accounts", "credentials", "login"})
_MODIFIERS: Final = frozenset(
    {"api", "access", "personal", "app", "account", "login", "user", "admin", "auth", "bot"}
    | {"authentication", "cloud", "secret", "private", "service", "integration", "site"}
    | {"server", "instance", "workspace", "organization", "org", "developer", "client"}
)
_GENERIC: Final = _MODIFIERS | frozenset(
    {"your", "my", "the", "a", "an", "this", "our", "their", "new", "current", "old", "confirm"}
    | {"repeat", "enter", "please", "paste", "create", "generate", "connect", "save", "e-mail"}
    | {"email", "mail", "address", "username", "name", "url", "password", "token", "id", "code"}
    | {"key", "here", "continue", "sign", "log", "in", "on", "to", "with", "and", "or", "for"}
    | {"of", "at", "by", "from", "using", "via", "required", "optional", "default", "master"}
)
_SIGN_IN: Final = frozenset({"sign", "log"})
_SIGN_IN_JOINED: Final = frozenset({"signin", "sign-in", "login", "log-in", "logon"})
_DETERMINERS: Final = frozenset({"your", "the", "my", "our", "a", "an"})

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
    pages = [(exchange, True) for _, exchange in evidence.page_responses()]
    refusals = [(exchange, False) for exchange in _refusal_pages(evidence)]
    for exchange, served in [*pages, *refusals]:
        page = page_of(exchange)
        if page is None or not (served or page.forms):
            continue  # a refusal without a form ("Unauthorized") is not a page to judge
        r10.count()
        for capped in page.capped:
            r10.note(f"{exchange.path}: {capped}")
        for form in page.forms:
            finding = judge_form(form, exchange)
            if finding is not None:
                findings.append(finding)
    return findings


def _refusal_pages(evidence: Evidence) -> list[Exchange]:
    """What module pages answer instead of the page, each distinct body once: a 401 or 403 is a
    page the user sees in the product's iframe too, and may ask for credentials."""
    bodies: set[bytes] = set()
    refusals = []
    for item in evidence.endpoints:
        if item.endpoint.external or item.endpoint.role is not Role.PAGE:
            continue
        for exchange in item.exchanges:
            status = exchange.status or 0
            if exchange.method != "GET" or not 400 <= status < 500 or not exchange.body:
                continue
            if exchange.body not in bodies:
                bodies.add(exchange.body)
                refusals.append(exchange)
    return refusals


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
    """A password input, or a text input for an API or access token; not one that holds a
    one-time code, a captcha or a CSRF token.

    A password input is exempt only by its own name, id or autocomplete: its help text may
    well mention 2FA ("use an API token if your site enforces two-step verification").
    """
    if field.type == "password":
        own = " ".join([_split_name(field.name), _split_name(field.id), field.autocomplete])
        return not _NOT_A_SECRET.search(own.lower())
    if field.type not in {"text", "textarea", ""}:
        return False
    words = field.words
    if _NOT_A_SECRET.search(words):
        return False
    if _TOKEN_FIELD.search(words):
        return True
    return bool(_TOKEN_WORD.search(words)) and not _TOKEN_QUANTITY.search(words)


def is_email_field(field: FormField) -> bool:
    return field.type == "email" or bool(_EMAIL_FIELD.search(field.words))


def _atlassian_reason(form: Form, secrets: list[FormField], emails: list[FormField]) -> str | None:
    if emails and form.action and is_atlassian_host(form.action):
        host = urlsplit(form.action).hostname
        return f"posts an e-mail and a password or token to the Atlassian site {host}"
    verdicts = [(secret, _whose(secret, form)) for secret in secrets]
    for _, verdict in verdicts:
        if verdict.owner is Owner.ATLASSIAN:
            where = f'{verdict.place} ties to Atlassian ("{verdict.term}")'
            return f"asks for a password or token that {where}"
    email_words = " ".join(f.words for f in emails)
    for secret, verdict in verdicts:
        token_field = _TOKEN_FIELD.search(secret.words)
        if token_field and verdict.owner is Owner.UNKNOWN and _ATLASSIAN_NAME.search(email_words):
            return "asks for the user's Atlassian e-mail with an API token"
    return None


class Owner(Enum):
    """Whose credential a field's context says it asks for."""

    ATLASSIAN = "atlassian"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Whose:
    owner: Owner
    place: str = ""
    term: str = ""


def _whose(secret: FormField, form: Form) -> Whose:
    """The owner the nearest context of a secret field names: its own words, the form's (or its
    block's) text, the heading above."""
    own = " ".join([secret.label, _split_name(secret.name), _split_name(secret.id)])
    contexts = [
        ("its label", own, _SECRET_NOUNS | _ACCOUNT_NOUNS),
        ("the text around it" if form.loose else "the form's text", form.text, _ACCOUNT_NOUNS),
        ("the heading above it", form.heading, _ACCOUNT_NOUNS),
    ]
    for place, text, nouns in contexts:
        whose = _owner_named(text[:MAX_CONTEXT_CHARS], nouns)
        if whose.owner is not Owner.UNKNOWN:
            return Whose(whose.owner, place, whose.term)
    return Whose(Owner.UNKNOWN)


def _owner_named(text: str, nouns: frozenset[str]) -> Whose:
    owners = _owner_phrases(text, nouns)
    atlassian = [o for o in owners if _ATLASSIAN_NAME.search(o.lower())]
    if atlassian:
        return Whose(Owner.ATLASSIAN, term=atlassian[0])
    if owners:
        return Whose(Owner.OTHER, term=owners[0])
    lowered = text.lower()
    match = _ATLASSIAN_NAME.search(lowered) or _API_TOKEN.search(lowered)
    if match:
        return Whose(Owner.ATLASSIAN, term=_matched(text, lowered, match))
    match = _OTHER_SERVICE.search(lowered)
    if match:
        return Whose(Owner.OTHER, term=_matched(text, lowered, match))
    return Whose(Owner.UNKNOWN)


def _matched(text: str, lowered: str, match: re.Match[str]) -> str:
    """The matched words as the page wrote them (lower-casing may change a text's length)."""
    same = len(text) == len(lowered)
    return text[match.start() : match.end()] if same else match.group(0)


def _owner_phrases(text: str, nouns: frozenset[str]) -> list[str]:
    """Owners named by a credential or account phrase: "Jira API token" and "your Acme account"
    (backwards from the noun, past its modifiers), "sign in to Acme" (forwards)."""
    words = _WORD.findall(text)
    owners: list[str] = []
    for index, word in enumerate(words):
        found = []
        if word.lower() in nouns:
            found.append(_names_before(words, index))
        if _signs_in(words, index):
            found.append(_names_after(words, index))
        owners += [" ".join(owner) for owner in found if owner]
    return owners


def _names_before(words: list[str], noun: int) -> list[str]:
    """The names just before a noun, past at most a few modifiers: "Jira" in "Jira API token"."""
    start = noun - 1
    limit = max(-1, noun - 1 - MAX_PHRASE_WORDS)
    while start > limit and words[start].lower() in _MODIFIERS:
        start -= 1
    end = start + 1
    limit = max(-1, end - 1 - MAX_PHRASE_WORDS)
    while start > limit and _is_name(words[start]):
        start -= 1
    return words[start + 1 : end]


def _names_after(words: list[str], verb: int) -> list[str]:
    """The names after "sign in to" or "log in with", past "your" or "the"."""
    start = verb + (1 if words[verb].lower() in _SIGN_IN_JOINED else 2)
    if start < len(words) and words[start].lower() in {"to", "into", "with", "at", "using"}:
        start += 1
    if start < len(words) and words[start].lower() in _DETERMINERS:
        start += 1
    end = start
    while end < min(len(words), start + MAX_PHRASE_WORDS) and _is_name(words[end]):
        end += 1
    return words[start:end]


def _signs_in(words: list[str], index: int) -> bool:
    lowered = words[index].lower()
    if lowered in _SIGN_IN_JOINED:
        return True
    following = words[index + 1].lower() if index + 1 < len(words) else ""
    return lowered in _SIGN_IN and following in {"in", "on", "into"}


def _is_name(word: str) -> bool:
    lowered = word.lower().removesuffix("'s")
    if lowered in _GENERIC or not word[0].isalnum():
        return False
    known = _ATLASSIAN_NAME.fullmatch(lowered) or _OTHER_SERVICE.match(lowered)
    return word[0].isupper() or word[0].isdigit() or known is not None


def _split_name(name: str) -> str:
    """A field name or id as words: `jiraApiToken` and `jira_api_token` read "jira Api Token"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name[:MAX_CONTEXT_CHARS])
    return re.sub(r"[_\-.\[\]]+", " ", spaced)


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
