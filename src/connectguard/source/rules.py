"""Secret rules: the project's own, written from public token formats, and rule files in
gitleaks's TOML format (`scan-repo --rules FILE`).

Every pattern is compiled with RE2 (google-re2), whose matching time is linear in the input, so
neither a hostile pattern in a rule file nor a hostile file in the tree can stall the scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import tomllib
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from connectguard.errors import InputError
from connectguard.model import Level

Validator = Callable[[str], str | None]
"""Takes the secret, returns None to reject it or the description of what it is."""

MAX_REGEX_MEMORY = 64 << 20


def compile_pattern(pattern: str) -> Any:
    """An RE2 program for `pattern`, with a memory bound; raises `re2.error` when it is invalid."""
    options = re2.Options()
    options.max_mem = MAX_REGEX_MEMORY
    return re2.compile(pattern, options)


@dataclass(frozen=True)
class Allow:
    """Values a rule (or every rule) must not report: gitleaks's `allowlist` table."""

    regexes: tuple[Any, ...] = ()
    regex_target: str = "secret"
    paths: tuple[Any, ...] = ()
    stopwords: tuple[str, ...] = ()
    commits: frozenset[str] = frozenset()

    def allows(self, secret: str, match: str, line: str, path: str, commit: str) -> bool:
        if commit and commit in self.commits:
            return True
        if any(p.search(path) for p in self.paths):
            return True
        lowered = secret.lower()
        if any(word in lowered for word in self.stopwords):
            return True
        target = {"match": match, "line": line}.get(self.regex_target, secret)
        return any(r.search(target) for r in self.regexes)


@dataclass(frozen=True)
class Rule:
    """One kind of secret: where it is looked for and how a candidate value is judged.

    `keywords` (lower case) are a cheap pre-filter: the regex runs on a file only when one of
    them occurs in it. `requirement` is 7 for the Connect sharedSecret, 8 for tokens and keys.
    `contextual` rules rely on a name next to the value; they stay silent in test fixtures.
    `name_reject` matches names (the text of the match before the value) that say the value is
    not a secret: `tokenHash`, `publicKey`, `secretName`...
    """

    id: str
    description: str
    regex: Any | None
    requirement: str = "8"
    keywords: tuple[str, ...] = ()
    secret_group: int = 0
    min_entropy: float = 0.0
    validator: Validator | None = None
    contextual: bool = False
    check_placeholder: bool = True
    level: Level = Level.FAIL
    path: Any | None = None
    name_reject: Any | None = None
    allow: Allow = field(default_factory=Allow)
    fix: str = ""


# Validators


def atlassian_api_token(secret: str) -> str | None:
    """Real tokens end in the CRC-32 of everything before the 8 hex digits; look-alikes do not."""
    body, checksum = secret[:-8], secret[-8:]
    if zlib.crc32(body.encode("ascii")) != int(checksum, 16):
        return None
    return "an Atlassian API token"


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None


def json_web_token(secret: str) -> str | None:
    """A JWT whose header names an algorithm and whose claims are a JSON object."""
    header_part, claims_part, _signature = secret.split(".", 2)
    header, claims = _b64_json(header_part), _b64_json(claims_part)
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    if str(header.get("alg", "")).lower() == "none":
        return None
    if "qsh" in claims:
        return "a Connect JWT"
    return "a JWT"


def private_key_body(secret: str) -> str | None:
    """A PEM body with real key material, not `...` or a short placeholder."""
    body = secret.replace("\\n", "").replace("\\r", "")
    material = "".join(ch for ch in body if ch.isalnum() or ch in "+/=")
    if len(material) < 64 or "..." in body or len(set(material)) < 16:
        return None
    return "a private key"


# The project's own rules.

# A quoted value; its quotes may be escaped (`\"`), as in JSON kept inside a string or a dump.
_QUOTED = r"""\\?["'`]([^"'`\s\\]{%d,512})\\?["'`]"""
# The end of a name and its assignment (`":`, `=`, `=>`, `:=`), after the name's closing quote
# (maybe escaped) or a type annotation (`SHARED_SECRET: string =`, `val sharedSecret: String =`).
_ASSIGN = r"""(?:\\?["'])?(?:[ \t]*:[ \t]*[A-Za-z_][\w.<>\[\]?|]{0,40})?\s*(?:[:=]|=>|:=)\s*"""
# An XML element: `<sharedSecret>value</sharedSecret>`.
_ELEMENT = r""">\s*([^<\s"']{%d,512})\s*</"""


def _env_pattern(name: str, upper: str, minimum: int) -> str:
    """An unquoted `NAME=value` or `name: value`: at the start of a line (after `export`, a
    Dockerfile's `ENV`/`ARG`, Windows's `set`, or a YAML list's `- `), or anywhere after a space
    or quote when the name is an upper-case environment variable and `=` follows it directly
    (`heroku config:set X=v`, `docker run -e X=v`, `- "X=v"`)."""
    line_start = (
        r"^[ \t]*(?:(?:export|env|arg|set)[ \t]+|-[ \t]+)?[\"']?[\w.-]*"
        + name
        + r"[ \t]*[=:][ \t]*"
    )
    anywhere = r"(?:^|[\s\"'])(?-i:[A-Z0-9_]*" + upper + r")="
    value = r"[\"']?([^\s\"'#,;]{" + str(minimum) + ",512})"
    return r"(?im)(?:" + line_start + "|" + anywhere + ")" + value


# Names whose values are not secrets although they contain "token", "secret" or "key".
_NOT_SECRET_NAMES = compile_pattern(
    r"(?i)hash|sha\d*\b|digest|checksum|crc|uuid|guid|id[\"'\s]*(?:[:=]|=>)|nonce|salt|version"
    r"|etag|integrity|public|url|uri|path|file|name|type|format|length|size|count|timeout"
    r"|expir|field|label|placeholder|header|param|prefix|pattern|regex|endpoint"
)

_PURGE = (
    "Load it from the environment or a secret store instead, and purge it from git history "
    "(for example with git filter-repo)."
)
_SHARED_SECRET_FIX = (
    "Treat the sharedSecret as compromised: uninstall and reinstall the app on the affected "
    "sites to rotate it, and keep it only in the app's database. " + _PURGE
)
_TOKEN_FIX = "Revoke the credential where it was issued. " + _PURGE


def builtin_rules() -> tuple[Rule, ...]:
    """The rules connectguard applies unless `--no-builtin-rules` is given, most specific first."""
    return (
        Rule(
            "atlassian-api-token",
            "an Atlassian API token",
            compile_pattern(r"\b(ATATT3xFfGF0[A-Za-z0-9_-]{171}=[0-9A-Fa-f]{8})\b"),
            keywords=("atatt3xffgf0",),
            secret_group=1,
            validator=atlassian_api_token,
            check_placeholder=False,
            fix="Revoke the token at id.atlassian.com (Security > API tokens). " + _PURGE,
        ),
        Rule(
            "private-key",
            "a private key",
            compile_pattern(
                r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
                r"([\s\S]{64,}?)-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
            ),
            keywords=("private key",),
            secret_group=1,
            validator=private_key_body,
            check_placeholder=False,
            fix="Replace the key pair and revoke certificates issued for it. " + _PURGE,
        ),
        Rule(
            "jwt",
            "a JWT",
            compile_pattern(
                r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,})"
            ),
            keywords=("eyj",),
            secret_group=1,
            validator=json_web_token,
            check_placeholder=False,
            fix="A signed JWT grants access until it expires: revoke its signing secret. " + _PURGE,
        ),
        Rule(
            "connect-shared-secret",
            "a Connect sharedSecret",
            compile_pattern(
                r"(?i)\bshared[_-]?secret(?:" + _ASSIGN + _QUOTED % 8 + "|" + _ELEMENT % 8 + ")"
            ),
            requirement="7",
            keywords=("sharedsecret", "shared_secret", "shared-secret"),
            secret_group=0,
            min_entropy=3.0,
            contextual=True,
            fix=_SHARED_SECRET_FIX,
        ),
        Rule(
            "connect-shared-secret-env",
            "a Connect sharedSecret",
            compile_pattern(_env_pattern(r"shared[_-]?secret", r"SHARED_?SECRET", 8)),
            requirement="7",
            keywords=("sharedsecret", "shared_secret", "shared-secret"),
            secret_group=1,
            min_entropy=3.0,
            contextual=True,
            fix=_SHARED_SECRET_FIX,
        ),
        Rule(
            "aws-access-key-id",
            "an AWS access key id",
            compile_pattern(r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"),
            keywords=("akia", "asia", "abia", "acca"),
            secret_group=1,
            min_entropy=3.0,
            fix="Deactivate the key in AWS IAM. " + _PURGE,
        ),
        Rule(
            "aws-secret-access-key",
            "an AWS secret access key",
            compile_pattern(
                r"(?i)aws[_-]?secret[_-]?(?:access[_-]?)?key"
                + _ASSIGN
                + r"""["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"""
            ),
            keywords=("aws",),
            secret_group=1,
            min_entropy=4.0,
            contextual=True,
            fix="Deactivate the key in AWS IAM. " + _PURGE,
        ),
        Rule(
            "google-oauth-client-secret",
            "a Google OAuth client secret",
            compile_pattern(r"\b(GOCSPX-[A-Za-z0-9_-]{28})\b"),
            keywords=("gocspx-",),
            secret_group=1,
            fix=_TOKEN_FIX,
        ),
        Rule(
            "gcp-api-key",
            "a Google API key",
            compile_pattern(r"\b(AIza[0-9A-Za-z_-]{35})\b"),
            keywords=("aiza",),
            secret_group=1,
            min_entropy=3.5,
            level=Level.WARNING,
            fix="Google API keys shipped to browsers are public: restrict this key to its "
            "referrers and APIs, or move it server-side if it is not meant to be public.",
        ),
        Rule(
            "azure-storage-account-key",
            "an Azure storage account key",
            compile_pattern(r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)"),
            keywords=("accountkey",),
            secret_group=1,
            fix="Rotate the storage account key in Azure. " + _PURGE,
        ),
        Rule(
            "github-token",
            "a GitHub token",
            compile_pattern(r"\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{82})\b"),
            keywords=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
            secret_group=1,
            min_entropy=3.5,
            fix="Revoke the token in GitHub's settings. " + _PURGE,
        ),
        Rule(
            "slack-token",
            "a Slack token",
            compile_pattern(r"\b(xox[baprs]-[0-9A-Za-z-]{10,250})"),
            keywords=("xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"),
            secret_group=1,
            min_entropy=3.0,
            fix=_TOKEN_FIX,
        ),
        Rule(
            "stripe-secret-key",
            "a Stripe secret key",
            compile_pattern(r"\b([sr]k_live_[0-9A-Za-z]{24,99})\b"),
            keywords=("sk_live_", "rk_live_"),
            secret_group=1,
            fix=_TOKEN_FIX,
        ),
        Rule(
            "oauth-client-secret",
            "an OAuth client secret",
            compile_pattern(r"(?i)\bclient[_-]?secret" + _ASSIGN + _QUOTED % 12),
            keywords=("clientsecret", "client_secret", "client-secret"),
            secret_group=1,
            min_entropy=3.2,
            contextual=True,
            fix=_TOKEN_FIX,
        ),
        Rule(
            "oauth-client-secret-env",
            "an OAuth client secret",
            compile_pattern(_env_pattern(r"client[_-]?secret", r"CLIENT_?SECRET", 12)),
            keywords=("clientsecret", "client_secret", "client-secret"),
            secret_group=1,
            min_entropy=3.2,
            contextual=True,
            fix=_TOKEN_FIX,
        ),
        Rule(
            "generic-secret",
            "a secret assigned to a secret-like name",
            compile_pattern(
                r"(?i)(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key"
                r"|private[_-]?key|credentials?)[\w-]{0,20}" + _ASSIGN + _QUOTED % 16
            ),
            keywords=("password", "passwd", "secret", "token", "key", "credential"),
            secret_group=1,
            min_entropy=3.5,
            contextual=True,
            name_reject=_NOT_SECRET_NAMES,
            fix=_TOKEN_FIX,
        ),
        Rule(
            "generic-secret-env",
            "a secret assigned to a secret-like name",
            compile_pattern(
                _env_pattern(
                    r"(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key)"
                    r"[\w-]{0,20}",
                    r"(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|AUTH_?KEY)[A-Z0-9_]{0,20}",
                    16,
                )
            ),
            keywords=("password", "passwd", "secret", "token", "key"),
            secret_group=1,
            min_entropy=3.5,
            contextual=True,
            name_reject=_NOT_SECRET_NAMES,
            fix=_TOKEN_FIX,
        ),
    )


# gitleaks TOML rule files


def load_rule_file(path: Path) -> tuple[tuple[Rule, ...], Allow]:
    """The rules and the global allowlist of a gitleaks-format TOML file.

    Understood: `[[rules]]` with `id`, `description`, `regex`, `secretGroup`, `entropy`,
    `keywords`, `path`, `tags`, `allowlist`/`allowlists`, and a top-level `allowlist` or
    `allowlists`. A rule may add `requirement = "7"` (connectguard's own key); otherwise a rule
    tagged or named for a shared secret judges requirement 7 and every other rule 8.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"Could not read the rule file {path}: {exc}.") from None
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise InputError(f"The rule file {path} has a `rules` entry that is not a list of tables.")
    rules = tuple(_rule_from_toml(path, index, raw) for index, raw in enumerate(raw_rules))
    allow = _merge_allows(path, data.get("allowlist"), data.get("allowlists"))
    return rules, allow


def _rule_from_toml(path: Path, index: int, raw: Any) -> Rule:
    if not isinstance(raw, dict):
        raise InputError(f"Rule {index + 1} of {path} is not a table.")
    rule_id = str(raw.get("id") or f"rule-{index + 1}")
    regex = _compile_user(path, rule_id, raw.get("regex")) if raw.get("regex") else None
    path_regex = _compile_user(path, rule_id, raw.get("path")) if raw.get("path") else None
    if regex is None and path_regex is None:
        raise InputError(f"Rule {rule_id!r} in {path} has neither a regex nor a path.")
    tags = [str(t).lower() for t in raw.get("tags", []) if isinstance(t, str)]
    shared = "shared-secret" in rule_id.lower() or any("shared" in t for t in tags)
    requirement = str(raw.get("requirement") or ("7" if shared else "8"))
    if requirement not in {"7", "8"}:
        raise InputError(f"Rule {rule_id!r} in {path}: requirement must be 7 or 8.")
    try:
        group = int(raw.get("secretGroup", 0))
        entropy = float(raw.get("entropy", 0.0))
    except (TypeError, ValueError):
        raise InputError(f"Rule {rule_id!r} in {path} has a bad secretGroup or entropy.") from None
    return Rule(
        id=rule_id,
        description=str(raw.get("description") or rule_id),
        regex=regex,
        requirement=requirement,
        keywords=tuple(str(k).lower() for k in raw.get("keywords", []) if str(k)),
        secret_group=group,
        min_entropy=entropy,
        check_placeholder=False,
        path=path_regex,
        allow=_merge_allows(path, raw.get("allowlist"), raw.get("allowlists")),
        fix=_TOKEN_FIX,
    )


def _compile_user(path: Path, rule_id: str, pattern: Any) -> Any:
    if not isinstance(pattern, str):
        raise InputError(f"Rule {rule_id!r} in {path} has a pattern that is not a string.")
    try:
        return compile_pattern(pattern)
    except re2.error as exc:
        raise InputError(
            f"Rule {rule_id!r} in {path} has a pattern RE2 cannot compile: {exc}.",
            hint="RE2 (like gitleaks's Go regexp) has no look-around or back-references.",
        ) from None


def _merge_allows(path: Path, single: Any, many: Any) -> Allow:
    tables = [t for t in [single, *(many if isinstance(many, list) else [])] if t]
    if not tables:
        return Allow()
    if not all(isinstance(t, dict) for t in tables):
        raise InputError(f"An allowlist in {path} is not a table.")
    return Allow(
        regexes=tuple(_compile_all(path, (r for t in tables for r in t.get("regexes", [])))),
        regex_target=str(tables[0].get("regexTarget", "secret")),
        paths=tuple(_compile_all(path, (p for t in tables for p in t.get("paths", [])))),
        stopwords=tuple(str(w).lower() for t in tables for w in t.get("stopwords", [])),
        commits=frozenset(str(c) for t in tables for c in t.get("commits", [])),
    )


def _compile_all(path: Path, patterns: Iterable[Any]) -> list[Any]:
    return [_compile_user(path, "allowlist", p) for p in patterns]
