"""Requirement 10 in the app's code: code that asks users for, or stores, their Atlassian
passwords or API tokens.

Looked for in code and template files, within a window of nearby lines:

- a password or token input field next to Atlassian wording (Atlassian, Jira, Confluence,
  API token, id.atlassian.com): fails; a password field without such wording is advice;
- an Atlassian REST call authenticated with basic auth whose credentials come from the user's
  request (`req.body`, `request.form`, `$_POST`...): fails; basic auth to Atlassian with no
  sign of where the credentials come from is advice (a Connect app signs its calls with JWT);
- reading an Atlassian password or API token field out of a request: fails.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from connectguard.model import Level
from connectguard.source.rules import compile_pattern

WINDOW = 8
_SUFFIXES = (
    "js mjs cjs jsx ts tsx vue svelte html htm hbs handlebars ejs pug jade njk jinja jinja2 j2 "
    "erb twig php py rb java kt kts scala groovy go cs jsp mustache liquid soy vm ftl"
)
CODE_SUFFIXES = frozenset("." + suffix for suffix in _SUFFIXES.split())
_KEYWORDS = (b"atlassian", b"jira", b"confluence", b"password", b"api_token", b"apitoken")

_ATLASSIAN_WORDING = compile_pattern(
    r"(?i)atlassian|\bjira\b|confluence|api[ _-]?token|id\.atlassian\.com"
)
_PASSWORD_FIELD = compile_pattern(
    r"(?i)<input\b[^>]*\btype\s*=\s*[\"'{]?\s*[\"']?password"
    r"|<input\b[^>]*\bname\s*=\s*[\"']?(?:api[_-]?token|atlassian[_-]?(?:password|token))"
    r"|\btype\s*[:=]\s*[\"']password[\"']"
)
_ATLASSIAN_REST = compile_pattern(
    r"(?i)\.atlassian\.net|/rest/api/(?:2|3|latest)/|/wiki/rest/api|/rest/agile/|\bJIRA\(|"
    r"\bJira\(|\bConfluence\(|JiraRestClientFactory|jira\.js|jira-client"
)
_BASIC_AUTH = compile_pattern(
    r"(?i)basic_auth\s*=|\bauth\s*=\s*\(|HTTPBasicAuth\(|[\"'`]Basic\s|\bauth\s*:\s*\{"
    r"|setBasicAuth|createWithBasicHttpAuthentication|\.basicAuth\(|\bBasicAuth\b|\bbtoa\("
    r"|\bbasic\s*:\s*\{|\bemail\s*:.*\bapiToken\s*:"
)
_USER_INPUT = compile_pattern(
    r"(?i)\breq\.(?:body|query|params)|\brequest\.(?:form|POST|GET|json|args|get_json|values"
    r"|data|body)|ctx\.request\.body|\$_(?:POST|GET|REQUEST)|\bparams\[|event\.body"
    r"|getParameter\(|formData\.get\(|\bprompt\("
)
_READS_CREDENTIAL = compile_pattern(
    r"(?i)(?:req\.(?:body|query)|request\.(?:form|POST|json|args|data|values)|ctx\.request\.body"
    r"|\$_(?:POST|GET|REQUEST)|params)\W{1,3}(?:atlassian|jira|confluence)[_-]?"
    r"(?:password|api[_-]?token|token)\b"
    r"|(?:req\.body|request\.(?:form|json)|\$_POST)\W{1,3}api[_-]?token\b"
)


@dataclass(frozen=True)
class CredentialHit:
    check: str
    level: Level
    line: int
    summary: str
    fix: str


_FIX_FORM = (
    "Do not ask users for Atlassian passwords or API tokens: call the product's REST API with "
    "the app's own JWT (or OAuth 2.0 user impersonation) instead."
)


def is_code_file(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in CODE_SUFFIXES


def find_credential_collection(data: bytes, path: str) -> list[CredentialHit]:
    """Places in one code or template file that ask for or handle Atlassian credentials."""
    lowered = data.lower()
    if not any(word in lowered for word in _KEYWORDS):
        return []
    text = _Text(data)
    hits: list[CredentialHit] = []
    for check in (_password_fields, _basic_auth_calls, _credential_reads):
        hits.extend(check(text, path))
    return hits


class _Text:
    """A file's bytes with line lookups, computed only once a pattern has matched."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._starts: list[int] | None = None

    def lines_matching(self, pattern: Any) -> list[int]:
        """0-based numbers of the lines where `pattern` matches, each once."""
        found = {self.line_of(m.start()) for m in pattern.finditer(self.data)}
        return sorted(found)

    def line_of(self, offset: int) -> int:
        if self._starts is None:
            self._starts = line_starts(self.data)
        return bisect.bisect_right(self._starts, offset) - 1

    def window(self, index: int) -> bytes:
        """The lines around line `index`: where the signs of one form or call are looked for."""
        starts = self._starts if self._starts is not None else line_starts(self.data)
        first, last = max(0, index - WINDOW), min(len(starts) - 1, index + WINDOW)
        end = starts[last + 1] if last + 1 < len(starts) else len(self.data)
        return self.data[starts[first] : end]


def line_starts(data: bytes) -> list[int]:
    """Byte offset of the start of every line of `data`."""
    return [0, *itertools.accumulate(len(line) + 1 for line in data.split(b"\n")[:-1])]


def _password_fields(text: _Text, path: str) -> list[CredentialHit]:
    hits = []
    for index in text.lines_matching(_PASSWORD_FIELD):
        if _ATLASSIAN_WORDING.search(text.window(index)):
            hits.append(
                CredentialHit(
                    "credential-form",
                    Level.FAIL,
                    index + 1,
                    f"{path} asks users for an Atlassian password or API token",
                    _FIX_FORM,
                )
            )
        else:
            hits.append(
                CredentialHit(
                    "password-field",
                    Level.ADVICE,
                    index + 1,
                    f"{path} has a password field with no Atlassian wording near it",
                    "Make sure it is not used to collect Atlassian credentials.",
                )
            )
    return hits


def _basic_auth_calls(text: _Text, path: str) -> list[CredentialHit]:
    hits = []
    for index in text.lines_matching(_BASIC_AUTH):
        window = text.window(index)
        if not _ATLASSIAN_REST.search(window):
            continue
        if _USER_INPUT.search(window):
            hits.append(
                CredentialHit(
                    "basic-auth-user-credentials",
                    Level.FAIL,
                    index + 1,
                    f"{path} calls Atlassian's REST API with basic auth built from credentials "
                    "the user supplied",
                    _FIX_FORM,
                )
            )
        else:
            hits.append(
                CredentialHit(
                    "basic-auth-atlassian",
                    Level.ADVICE,
                    index + 1,
                    f"{path} calls Atlassian's REST API with basic auth",
                    "A Connect app signs its calls with its JWT; make sure these credentials "
                    "are not a user's password or API token.",
                )
            )
    return hits


def _credential_reads(text: _Text, path: str) -> list[CredentialHit]:
    return [
        CredentialHit(
            "reads-user-credentials",
            Level.FAIL,
            index + 1,
            f"{path} reads an Atlassian password or API token from the user's request",
            _FIX_FORM,
        )
        for index in text.lines_matching(_READS_CREDENTIAL)
    ]
