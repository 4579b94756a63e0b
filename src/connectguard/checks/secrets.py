"""Requirement 7: the Connect sharedSecret never reaches the browser or a URL.

Judged on every page and script the app serves from its origins: the install's own sharedSecret
(when the scan was given it) anywhere in the content; a secret-shaped value assigned to a
`sharedSecret` or `clientSecret` key; code that writes a token or secret to localStorage,
sessionStorage or a script-set cookie, known by the key or cookie name it is written under or by
the value written (a variable or property named for a token, `params.get("jwt")`, the parameter
of an `AP.context.getToken` callback, a JWT literal), whatever the key. The descriptor's URLs are
checked for secret query parameters and for the sharedSecret itself. A value that merely looks
random (a build hash, a public key) is not a secret unless it is the install's own or sits under
a secret's name; a name that merely contains "token" (`token-color`) is not a token's name.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import re2

from connectguard.checks.headers import looks_random
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.net.http import shorten_secret
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import is_script, page_of

MIN_SECRET_CHARS: Final = 8
MAX_URLS_IN_DESCRIPTOR: Final = 5000
MAX_DEPTH: Final = 64
MAX_EXPRESSION_CHARS: Final = 400
MAX_SHOWN_CHARS: Final = 60
MAX_ASSIGNMENTS: Final = 2000
MAX_SCOPE_CHARS: Final = 200_000  # how far a getToken callback's body is followed
# TODO: a script with more storage or cookie writes than this is judged on its first ones only, so
# a token write hidden behind that many decoys is missed; the cap keeps a hostile script cheap.
MAX_WRITES_READ: Final = 500

FIX_SECRET = (
    "Keep the sharedSecret on the server: sign and verify tokens there, and give the browser "
    "only the short-lived context token from AP.context.getToken(). Rotate the exposed secret "
    "by reinstalling the app."
)
FIX_STORAGE = (
    "Do not persist tokens or secrets in localStorage, sessionStorage or script-set cookies; "
    "ask AP.context.getToken() for a fresh token when one is needed."
)
FIX_DESCRIPTOR = "Remove secrets from descriptor URLs: the descriptor is public."


def _regex(pattern: str) -> re2._Regexp[str]:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


_SECRET_ASSIGNMENT: Final = _regex(
    r"(?i)[\"'`]?(shared[_\-]?secret|client[_\-]?secret)[\"'`]?\s*[:=]\s*"
    r"[\"'`]([A-Za-z0-9+/=_.\-]{16,512})[\"'`]"
)
_STORAGE_SET: Final = _regex(r"(localStorage|sessionStorage)\s*\.\s*setItem\s*\(")
_STORAGE_ASSIGN: Final = _regex(
    r"(localStorage|sessionStorage)\s*(?:\.\s*([A-Za-z_$][A-Za-z0-9_$]{0,80})"
    r"|\[\s*[\"'`]([^\"'`]{1,100})[\"'`]\s*\])\s*=[^=]"
)
_COOKIE_WRITE: Final = _regex(r"document\s*\.\s*cookie\s*=[^=]")
# Where a script gets a token without naming it: the parameter of an AP.context.getToken callback
# (`getToken(function (t) {...})`, `getToken(t => ...)`, `getToken().then(...)`), the result of an
# awaited getToken, and variables assigned from a token expression.
_CALLBACK: Final = (
    r"\s*(?:async\s+)?(?:function\s*[A-Za-z0-9_$]*\s*\(\s*([A-Za-z_$][A-Za-z0-9_$]*)"
    r"|\(\s*([A-Za-z_$][A-Za-z0-9_$]*)|([A-Za-z_$][A-Za-z0-9_$]*)\s*=>)"
)
_GET_TOKEN_CALLBACK: Final = _regex(r"getToken\s*\((?:\s*\)\s*\.\s*then\s*\()?" + _CALLBACK)
_AWAITED_TOKEN: Final = _regex(
    r"([A-Za-z_$][A-Za-z0-9_$]*)\s*=\s*(?:await\s+)?(?:[A-Za-z_$][A-Za-z0-9_$]*\s*\.\s*)*"
    r"getToken\s*\("
)
_DECLARATION: Final = _regex(r"(?:^|[^A-Za-z0-9_$.])([A-Za-z_$][A-Za-z0-9_$]*)\s*=[^=>]")
_TOKEN_HINT: Final = _regex(r"(?i)jwt|token|secret|bearer|eyJ")
# In the code of an expression whose string literals are numbered placeholders ("#0"): a call
# with one literal argument, a reference (a name and its properties), a JWT literal.
_LITERAL_CALL: Final = re.compile(
    r"([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*\(\s*\"#(\d+)\"\s*\)"
)
_REFERENCE: Final = re.compile(
    r"(?<![\w$.])[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\s*\[\s*\"#\d+\"\s*\])*"
)
_PROPERTY_KEY: Final = re.compile(r"\s*:")
_CALLED: Final = re.compile(r"\s*\(")
_JWT_LITERAL: Final = re.compile(r"eyJ[\w-]{4,}\.eyJ[\w-]{4,}")
_TOKEN_WORDS: Final = ("token", "tokens", "jwt", "jwts", "secret", "secrets", "bearer")
# Words after a token word that still name the token (`jwtValue`, `tokenKey`, `token_v2`).
_NAME_QUALIFIERS: Final = frozenset(
    {"key", "name", "value", "val", "str", "string", "raw", "data", "json", "b64", "base64"}
    | {"encoded", "cache", "cached", "stored", "storage", "item"}
)
# Words before "token" that make it a position in a paged list or a design value, not a
# credential: Jira's and Google's nextPageToken, sync and continuation tokens, design tokens.
_CURSOR_WORDS: Final = frozenset(
    {"next", "prev", "previous", "page", "paging", "pagination", "cursor", "continuation"}
    | {"sync", "resume", "design", "color", "colour", "theme"}
)
_PLACEHOLDERS: Final = (
    "your",
    "example",
    "changeme",
    "placeholder",
    "xxxx",
    "dummy",
    "sample",
    "redacted",
    "insert",
    "replace",
)
_SECRET_PARAMETERS: Final = ("secret", "password", "passwd", "apikey", "privatekey", "accesskey")


@lru_cache(maxsize=4096)
def is_token_name(name: str) -> bool:
    """Whether a storage key, cookie or variable name says it holds a token or secret: its last
    word (past qualifiers such as `value` or `v2`) is token, jwt, secret or bearer, so
    `connect-jwt` and `accessToken` are token names and `token-color` and `tokenExpiry` are not."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name[:200])
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    if any("csrf" in word or "xsrf" in word for word in words):
        return False
    while words and (words[-1] in _NAME_QUALIFIERS or re.fullmatch(r"v?\d+", words[-1])):
        words.pop()
    if len(words) >= 2 and words[-2] in _CURSOR_WORDS:
        return False  # nextPageToken, a sync or continuation token: a place in a list
    return bool(words) and words[-1].endswith(_TOKEN_WORDS)


def check_secret_exposure(evidence: Evidence) -> list[Judgement]:
    r7 = JudgementBuilder("7")
    secret = evidence.shared_secret
    secret = secret if secret and len(secret) >= MIN_SECRET_CHARS else None
    found: list[Finding] = []
    judged: set[int] = set()
    for _, exchange in evidence.page_responses():
        r7.count()
        judged.add(id(exchange))
        found += content_findings(exchange, secret)
    if secret is not None:
        found += _secret_in_other_answers(evidence, secret, judged)
    found += descriptor_findings(evidence.descriptor.raw, secret)

    reported: set[tuple[str, str, str, str]] = set()
    for finding in found:
        key = (finding.check, finding.origin, finding.path, finding.detail)
        if key not in reported:
            reported.add(key)
            r7.add(finding)
    if not r7.judged:
        r7.note("no page or script answered 2xx, so client-side secrets were not looked for")
    if secret is None:
        r7.note("no sharedSecret was given, so only secret-shaped values were looked for")
    return [r7.build()]


def content_findings(exchange: Exchange, secret: str | None) -> list[Finding]:
    """Secrets in one page or script, and the storage writes of its scripts."""
    page = page_of(exchange)
    text = exchange.text
    findings: list[Finding] = []
    if secret is not None and secret in text:
        findings.append(_install_secret_finding(exchange))
    searched = html.unescape(text) if page is not None else text
    for key, value in _secret_assignments(searched):
        if value == secret:
            continue
        findings.append(_assigned_secret_finding(exchange, key, value))
    scripts = list(page.scripts) if page is not None else [text] if is_script(exchange) else []
    for script in scripts:
        findings += [_storage_finding(exchange, write) for write in storage_writes(script)]
    return findings


def _secret_assignments(text: str) -> Iterator[tuple[str, str]]:
    for match in _SECRET_ASSIGNMENT.finditer(text):
        key, value = match.group(1), match.group(2)
        lowered = value.lower()
        if looks_random(value) and not any(word in lowered for word in _PLACEHOLDERS):
            yield key, value


@dataclass(frozen=True)
class StorageWrite:
    """A script statement that stores a token or secret: where, under which name, how sure.

    `value` is the token expression written when the value, not the name, made it a token write.
    """

    store: str
    name: str
    certain: bool
    value: str = ""


def storage_writes(script: str) -> list[StorageWrite]:
    """Writes of tokens or secrets to web storage or cookies in one script's text.

    `certain` when the key or cookie name says token or secret, or the value written is a token
    expression; not certain when the value only holds a token-named property (`{jwt: x}`).
    """
    names = _token_variables(script)
    writes: list[StorageWrite] = []
    # The same write repeated (a loop unrolled, a bundle that inlines a helper) says nothing new.
    seen: set[tuple[str, str, str, frozenset[str]]] = set()
    for match in islice(_STORAGE_SET.finditer(script), MAX_WRITES_READ):
        key = _expression(script, match.end(), ",)")
        after = match.end() + len(key)
        value = _expression(script, after + 1, ",)") if script[after : after + 1] == "," else ""
        tokens = names.at(match.start())
        if _first(seen, (match.group(1), key, value, tokens)):
            writes += _write(match.group(1), key, value, tokens)
    for match in islice(_STORAGE_ASSIGN.finditer(script), MAX_WRITES_READ):
        name = json.dumps(match.group(2) or match.group(3) or "")
        value = _expression(script, match.end() - 1, ";,)}")
        tokens = names.at(match.start())
        if _first(seen, (match.group(1), name, value, tokens)):
            writes += _write(match.group(1), name, value, tokens)
    for match in islice(_COOKIE_WRITE.finditer(script), MAX_WRITES_READ):
        written = _expression(script, match.end() - 1, ";,)}")
        tokens = names.at(match.start())
        if _first(seen, ("document.cookie", "", written, tokens)):
            writes += _cookie_write(written, tokens)
    return writes


def _first(
    seen: set[tuple[str, str, str, frozenset[str]]], write: tuple[str, str, str, frozenset[str]]
) -> bool:
    """True the first time this write is met (with the same token names), False for a repeat."""
    if write in seen:
        return False
    seen.add(write)
    return True


def _write(store: str, key: str, value: str, tokens: frozenset[str]) -> list[StorageWrite]:
    key_code, key_literals = _code_view(key)
    name = key_literals[0] if key_code.strip() == '"#0"' else key.strip()[:MAX_SHOWN_CHARS]
    if any(is_token_name(literal) for literal in key_literals) or (
        not key_literals and is_token_name(name)
    ):
        return [StorageWrite(store, name, certain=True)]
    shown, certain = token_expression(value, tokens)
    return [StorageWrite(store, name, certain, shown)] if shown else []


def _cookie_write(written: str, tokens: frozenset[str]) -> list[StorageWrite]:
    """`document.cookie = "name=" + value + "; path=/"`: the cookie's name is the text before the
    first `=` of the first literal; the rest is the value and its attributes."""
    code, literals = _code_view(written)
    if not re.match(r'\s*"#0"', code) or "=" not in literals[0]:
        shown, certain = token_expression(written, tokens)
        return [StorageWrite("document.cookie", "(computed)", certain, shown)] if shown else []
    name = literals[0].partition("=")[0].strip()[:MAX_SHOWN_CHARS]
    if is_token_name(name):
        return [StorageWrite("document.cookie", name, certain=True)]
    shown, certain = token_expression(written, tokens)
    return [StorageWrite("document.cookie", name, certain, shown)] if shown else []


def token_expression(
    expression: str, tokens: frozenset[str] | set[str] = frozenset()
) -> tuple[str, bool]:
    """The part of a JavaScript expression that is a token, shown for a report, and whether it
    certainly is one; ("", False) when nothing in it is a token.

    Certain: a JWT literal; a call with a token's name (`q.get("jwt")`, `getCookie("token")`);
    a call of a token getter (`getToken()`); a name or property named for a token (`jwt`,
    `ctx.accessToken`, `data["token"]`) or a variable in `tokens`. Not certain: an object
    literal with a token-named key.
    """
    # Every certain kind above names a token word or a known token variable: most expressions of
    # a large script have neither and are passed over before they are taken apart.
    if not _TOKEN_HINT.search(expression) and not any(name in expression for name in tokens):
        return "", False
    code, found = _code_view(expression)
    for literal in found:
        jwt = _JWT_LITERAL.search(literal)
        if jwt:
            return shorten_secret(literal[jwt.start() :], 8), True
    for match in _LITERAL_CALL.finditer(code):
        argument = found[int(match.group(2))] if int(match.group(2)) < len(found) else ""
        if is_token_name(argument):
            callee = " ".join(match.group(1).split())
            return f'{callee}("{argument[:MAX_SHOWN_CHARS]}")'[:MAX_SHOWN_CHARS], True
    weak = ""
    for match in _REFERENCE.finditer(code):
        parts = [p.strip() for p in re.split(r"\s*\.\s*|\s*\[\s*", match.group(0))]
        last = parts[-1].rstrip("]").strip()
        last = found[int(last[2:-1])] if last.startswith('"#') and last[2:-1].isdigit() else last
        shown = _shown_reference(match.group(0), found)
        if _CALLED.match(code, match.end()):
            if is_token_name(last):
                return f"{shown}()", True
        elif _PROPERTY_KEY.match(code, match.end()) and len(parts) == 1:
            weak = weak or (shown if is_token_name(last) else "")
        elif is_token_name(last) or (len(parts) == 1 and last in tokens):
            return shown, True
    return weak, False


def _shown_reference(reference: str, literals: list[str]) -> str:
    shown = re.sub(r'"#(\d+)"', lambda m: json.dumps(literals[int(m.group(1))]), reference)
    return " ".join(shown.split())[:MAX_SHOWN_CHARS]


@dataclass(frozen=True)
class TokenNames:
    """Names that hold a token without saying so, and where in a script they do.

    A getToken callback's parameter, or an awaited getToken result, is a token only inside the
    function it belongs to: a minified bundle names a parameter `e` in nearly every function,
    and `e` elsewhere is something else. A variable assigned from a token expression holds a
    token wherever that expression did.
    """

    everywhere: frozenset[str] = frozenset()
    scoped: tuple[tuple[int, int, str], ...] = ()

    def at(self, position: int) -> frozenset[str]:
        inside = {name for start, end, name in self.scoped if start <= position < end}
        return self.everywhere | inside if inside else self.everywhere

    def scope_end(self, position: int) -> int | None:
        """The end of the innermost token scope around `position`, None outside every one."""
        ends = [end for start, end, _ in self.scoped if start <= position < end]
        return min(ends) if ends else None


def _token_variables(script: str) -> TokenNames:
    """The names that hold a token in `script`: getToken callback parameters and awaited
    getToken results in their own function, and variables assigned from a token expression
    (two steps deep)."""
    scoped: list[tuple[int, int, str]] = []
    for match in islice(_GET_TOKEN_CALLBACK.finditer(script), MAX_WRITES_READ):
        name = next(group for group in match.groups() if group)
        # `function (t) {...}` and `(t) => ...` close their parameter list, then the call.
        levels = 1 if match.group(3) else 2
        scoped.append((match.end(), _scope_end(script, match.end(), levels), name))
    for match in islice(_AWAITED_TOKEN.finditer(script), MAX_WRITES_READ):
        # The getToken call closes first, then the block the result was declared in.
        scoped.append((match.start(), _scope_end(script, match.end(), 2), match.group(1)))
    names = TokenNames(scoped=tuple(scoped))
    if not scoped and not _TOKEN_HINT.search(script):
        return names
    assignments: list[tuple[int, str, str]] = []
    for match in _DECLARATION.finditer(script):
        if len(assignments) >= MAX_ASSIGNMENTS:
            break
        value = _expression(script, match.end() - 1, ";,)}")
        assignments.append((match.start(1), match.group(1), value))
    everywhere: set[str] = set()
    for _ in range(2):
        judged: set[tuple[str, str, frozenset[str]]] = set()
        for position, name, value in assignments:
            here = names.at(position)
            if name in here or (name, value, here) in judged:
                continue  # a repeated assignment is judged once
            judged.add((name, value, here))
            if token_expression(value, names.everywhere)[1]:
                everywhere.add(name)
            elif token_expression(value, here)[1]:
                end = names.scope_end(position) or len(script)
                scoped.append((position, end, name))
        names = TokenNames(frozenset(everywhere), tuple(scoped))
    return names


def _scope_end(script: str, start: int, levels: int) -> int:
    """Where the code from `start` has closed `levels` brackets it did not open, or at most
    MAX_SCOPE_CHARS further."""
    return _code_end(script, start, min(len(script), start + MAX_SCOPE_CHARS), "", levels)


def _expression(script: str, start: int, stops: str) -> str:
    """The JavaScript expression that starts at `start`: up to the first of `stops` outside
    strings, template literals and brackets, or a closing bracket it did not open."""
    end = min(len(script), start + MAX_EXPRESSION_CHARS)
    return script[start : _code_end(script, start, end, stops, 1)]


def _code_end(script: str, start: int, end: int, stops: str, levels: int) -> int:
    """Where code from `start` ends: at the first of `stops` outside strings, template literals
    and brackets, or once it has closed `levels` brackets it did not open; else at `end`."""
    special = _special_characters(stops)
    depth, position = 0, start
    while (match := special.search(script, position, end)) is not None:
        char, position = match.group(0), match.start()
        if char in "\"'`":
            position = _after_quote(script, position, end)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        elif depth == 0:
            if char not in ")]}":
                return position  # one of `stops`
            levels -= 1
            if not levels:
                return position
        position += 1
    return end


@lru_cache(maxsize=8)
def _special_characters(stops: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape("\"'`()[]{}" + stops) + "]")


def _after_quote(script: str, opening: int, end: int) -> int:
    """Where the string literal that opens at `opening` ends (past its closing quote)."""
    closing = re.compile(r"\\.|" + re.escape(script[opening]), re.DOTALL)
    position = opening + 1
    while (match := closing.search(script, position, end)) is not None:
        position = match.end()
        if match.group(0) == script[opening]:
            return position
    return end


def _code_view(expression: str) -> tuple[str, list[str]]:
    """The expression with each string literal replaced by a numbered placeholder `"#n"`, and
    the literals. A template literal's `${...}` parts stay code."""
    code: list[str] = []
    literals: list[str] = []
    position, length = 0, len(expression)
    while position < length:
        char = expression[position]
        if char not in "\"'`":
            code.append(char)
            position += 1
            continue
        literal, position, inserts = _literal(expression, position)
        code.append(f'"#{len(literals)}"')
        literals.append(literal)
        for insert in inserts:
            code.append(f" + ({insert}) + ")
            code.append(f'"#{len(literals)}"')
            literals.append("")
    return "".join(code), literals


def _literal(expression: str, start: int) -> tuple[str, int, list[str]]:
    """One string or template literal from its opening quote: its text (template parts joined),
    where it ends, and the code of its `${...}` parts."""
    quote = expression[start]
    text: list[str] = []
    inserts: list[str] = []
    position = start + 1
    while position < len(expression) and expression[position] != quote:
        char = expression[position]
        if char == "\\":
            text.append(expression[position + 1 : position + 2])
            position += 2
        elif quote == "`" and expression.startswith("${", position):
            inner = _expression(expression, position + 2, "")
            inserts.append(inner)
            position += 2 + len(inner) + 1
        else:
            text.append(char)
            position += 1
    return "".join(text), position + 1, inserts


def _install_secret_finding(exchange: Exchange) -> Finding:
    return Finding(
        requirement="7",
        check="shared-secret-in-content",
        level=Level.FAIL,
        summary=f"{exchange.path} contains the install's sharedSecret.",
        fix=FIX_SECRET,
        severity=Severity.CRITICAL,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail="install secret",
        evidence=(exchange,),
    )


def _assigned_secret_finding(exchange: Exchange, key: str, value: str) -> Finding:
    return Finding(
        requirement="7",
        check="secret-value-in-content",
        level=Level.FAIL,
        summary=(
            f"{exchange.path} assigns a secret-shaped value ({shorten_secret(value, 4)}) to "
            f"{key}: a Connect sharedSecret or OAuth client secret is readable in the browser."
        ),
        fix=FIX_SECRET,
        severity=Severity.CRITICAL,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail=key,
        evidence=(exchange,),
    )


def _storage_finding(exchange: Exchange, write: StorageWrite) -> Finding:
    where = "a cookie" if write.store == "document.cookie" else write.store
    if write.value:
        what = f"{write.value} (a token) to {where} under {write.name!r}"
    else:
        what = f"{write.name!r} to {where}"
    return Finding(
        requirement="7",
        check="token-in-client-storage",
        level=Level.FAIL if write.certain else Level.WARNING,
        summary=(
            f"{exchange.path} writes {what}"
            + ("" if write.certain else ", a value that looks like it holds a token")
            + ": any script on the origin can read it back."
        ),
        fix=FIX_STORAGE,
        severity=Severity.MEDIUM,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail=f"{write.store}:{write.name}",
        evidence=(exchange,),
    )


def _secret_in_other_answers(evidence: Evidence, secret: str, judged: set[int]) -> list[Finding]:
    """Any other answer of the app that holds the secret: an API route, a webhook, an error
    page (a 401 or 500 that prints the tenant record), whatever its status."""
    findings: list[Finding] = []
    for exchange in evidence.app_exchanges():
        if id(exchange) in judged or not exchange.body:
            continue
        if secret in exchange.text:
            findings.append(_install_secret_finding(exchange))
    return findings


def descriptor_findings(raw: dict[str, Any], secret: str | None) -> list[Finding]:
    """The sharedSecret anywhere in the descriptor, and secret query parameters in its URLs."""
    findings: list[Finding] = []
    if secret is not None and secret in json.dumps(raw):
        findings.append(_descriptor_finding("the descriptor contains the install's sharedSecret"))
    for url in _strings(raw, 0):
        for name in _secret_parameters(url):
            findings.append(
                _descriptor_finding(
                    f"the descriptor URL {_shown_url(url)} carries a secret in its {name} parameter"
                )
            )
    return findings[:20]


def _strings(value: Any, depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        if "?" in value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:MAX_URLS_IN_DESCRIPTOR]:
            yield from _strings(item, depth + 1)


def _secret_parameters(url: str) -> list[str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    names = []
    for name, value in parse_qsl(query, keep_blank_values=False):
        squashed = "".join(c for c in name.lower() if c.isalnum())
        placeholder = value.startswith(("{", "${")) or len(value) < 6
        if not placeholder and any(word in squashed for word in _SECRET_PARAMETERS):
            names.append(name)
    return names


def _shown_url(url: str) -> str:
    return url.split("?", 1)[0][:120]


def _descriptor_finding(summary: str) -> Finding:
    return Finding(
        requirement="7",
        check="secret-in-descriptor",
        level=Level.FAIL,
        summary=summary[0].upper() + summary[1:] + ".",
        fix=FIX_DESCRIPTOR,
        severity=Severity.CRITICAL,
        detail=summary,
    )
