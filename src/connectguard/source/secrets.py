"""Finding secrets in the bytes of one file (or one commit's additions to a file).

The detector runs each rule whose keywords occur in the text, then judges every candidate value:
entropy, placeholders ("changeme", `${VAR}`) and code references (`process.env.X`,
`os.environ["X"]`), known example values, the rule's own validator (an Atlassian API token's
CRC-32, a JWT's JSON header), inline `connectguard:ignore` markers and the allowlists. It returns
hits with byte offsets; the caller turns offsets into line numbers.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import re2

from connectguard.model import Level
from connectguard.source.rules import MAX_REGEX_MEMORY, Allow, Rule

MAX_HITS_PER_RULE = 50
INLINE_MARKERS = (b"connectguard:ignore", b"gitleaks:allow")

# Values that stand in for a secret in docs, templates and tests.
_PLACEHOLDER_WORDS = re.compile(
    r"(?i)example|placeholder|change[_-]?me|your[_-]?|dummy|sample|fake|mock|test|redacted"
    r"|secret|password|passw|token|foobar|lorem|insert|replace|todo|undefined|null|none"
    r"|xxxx|\*\*\*|\.\.\.|12345|abcdef|qwerty"
)
_TEMPLATED = re.compile(r"\$\{|\$\(|\{\{|\}\}|%\(|%s|<[^>]*>|^\$[A-Za-z_]|^@[A-Za-z_]")
_CODE_REFERENCE = re.compile(
    r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*|\[[^\]]*\]|\([^)]*\))+[,;)]*$"
)
# A lookup cut at its quote by a rule whose values stop there: `os.environ[`, `ENV.fetch(`,
# `System.getenv(`, `os.environ.get(` (a dotted name), or `getenv(`, `env(`, `config(`...
_CUT_REFERENCE = re.compile(
    r"^(?:[A-Za-z_$][\w$]*(?:\.|::|->))+[A-Za-z_$][\w$]*[\[(]$"
    r"|^(?i:env|environ|getenv|config|settings?|secrets?|vars|fetch|lookup)[\[(]$"
)
_LEADING_SPACE = re.compile(r"^(?:\s|\\[nr])+")
_KNOWN_EXAMPLES = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    # The claims of the sample token on jwt.io.
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
)
_FIXTURE_DIRS = {
    "test",
    "tests",
    "__tests__",
    "spec",
    "specs",
    "fixture",
    "fixtures",
    "__fixtures__",
    "testdata",
    "test-data",
    "test_data",
    "mocks",
    "__mocks__",
}
_FIXTURE_FILE = re.compile(
    r"(?i)(^test_.*\.py$|_test\.(py|go|rb)$|\.(test|spec)\.[cm]?[jt]sx?$|_spec\.rb$|Tests?\.(java|kt)$)"
)


@dataclass(frozen=True)
class SecretHit:
    """One secret found at a byte offset of the scanned text."""

    rule: Rule
    description: str
    secret: str
    offset: int
    in_fixture: bool

    @property
    def level(self) -> Level:
        return Level.WARNING if self.in_fixture else self.rule.level

    @property
    def masked(self) -> str:
        return mask(self.secret)

    @property
    def secret_hash(self) -> str:
        return secret_hash(self.secret)


def mask(secret: str) -> str:
    """A short prefix and the length: enough to recognise a secret, never enough to use it."""
    shown = _LEADING_SPACE.sub("", secret)
    keep = 4 if len(shown) >= 16 else 2 if len(shown) >= 10 else 0
    return f"{shown[:keep]}…({len(secret)} chars)"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`: random base64 scores about 5, English words about 3."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """True for values that only stand in for a secret: templates, references, example words."""
    if is_known_example(value) or len(set(value.lower())) <= 3:
        return True
    return bool(
        _PLACEHOLDER_WORDS.search(value)
        or _TEMPLATED.search(value)
        or _CODE_REFERENCE.match(value)
        or _CUT_REFERENCE.match(value)
    )


def is_known_example(value: str) -> bool:
    """Values published in vendors' documentation as examples."""
    return any(example in value for example in _KNOWN_EXAMPLES)


def is_test_fixture(path: str) -> bool:
    """Files of a test suite, where stand-in credentials are expected."""
    parts = PurePosixPath(path).parts
    if any(part.lower() in _FIXTURE_DIRS for part in parts[:-1]):
        return True
    return bool(parts) and bool(_FIXTURE_FILE.search(parts[-1]))


class SecretDetector:
    """Applies a set of rules to text; keeps no state between calls, so one serves a whole scan."""

    def __init__(self, rules: Iterable[Rule], allow: Allow | None = None) -> None:
        self.rules = tuple(rules)
        self.allow = allow or Allow()
        self.fixture_candidates_ignored = 0
        keywords = sorted({k for rule in self.rules for k in rule.keywords})
        self._keyword_ids = {k: n for n, k in enumerate(keywords)}
        self._keywords = _keyword_set(keywords)

    def _present_keywords(self, data: bytes) -> set[int]:
        """Which rule keywords occur in `data`: one pass of an RE2 set, case-insensitive."""
        if self._keywords is None:
            return set()
        return set(self._keywords.Match(data) or ())

    def _wanted(self, rule: Rule, present: set[int]) -> bool:
        return not rule.keywords or any(self._keyword_ids[k] in present for k in rule.keywords)

    def scan(self, data: bytes, path: str, commit: str = "") -> list[SecretHit]:
        """Every secret in `data`, the text of file `path` (or what `commit` added to it)."""
        present = self._present_keywords(data)
        in_fixture = is_test_fixture(path)
        hits: list[SecretHit] = []
        taken: list[tuple[int, int]] = []
        for rule in self.rules:
            if rule.path is not None and not rule.path.search(path):
                continue
            if rule.regex is None:
                hits.append(SecretHit(rule, rule.description, path, 0, in_fixture))
                continue
            if not self._wanted(rule, present):
                continue
            hits.extend(self._rule_hits(rule, data, path, commit, in_fixture, taken))
        return hits

    def _rule_hits(
        self,
        rule: Rule,
        data: bytes,
        path: str,
        commit: str,
        in_fixture: bool,
        taken: list[tuple[int, int]],
    ) -> Iterable[SecretHit]:
        """Hits of one rule. `taken` holds the spans earlier (more specific) rules claimed,
        whether they reported them or proved them harmless (a look-alike whose checksum fails,
        a documented example, a stand-in in a test fixture): later rules skip those spans."""
        found = 0
        if rule.regex is None:
            return
        for match in rule.regex.finditer(data):
            group = _secret_group(match, rule.secret_group)
            start, end = match.span(group)
            if any(start < stop and begin < end for begin, stop in taken):
                continue
            if rule.name_reject is not None and rule.name_reject.search(
                data[match.start() : start]
            ):
                continue
            line = _line_at(data, match.start())
            if any(marker in line for marker in INLINE_MARKERS):
                continue
            secret = data[start:end].decode("utf-8", "replace")
            description, claimed = self._judge(rule, secret, in_fixture)
            if claimed:
                taken.append((start, end))
            if description is None:
                continue
            text = match.group(0).decode("utf-8", "replace")
            line_text = line.decode("utf-8", "replace")
            if rule.allow.allows(secret, text, line_text, path, commit) or self.allow.allows(
                secret, text, line_text, path, commit
            ):
                continue
            yield SecretHit(rule, description, secret, start, in_fixture)
            found += 1
            if found >= MAX_HITS_PER_RULE:
                return

    def _judge(self, rule: Rule, secret: str, in_fixture: bool) -> tuple[str | None, bool]:
        """What the value is (None: not a secret), and whether this rule claims its span."""
        if rule.min_entropy and shannon_entropy(secret) < rule.min_entropy:
            return None, False
        if is_known_example(secret):
            return None, True
        if rule.check_placeholder and is_placeholder(secret):
            return None, False
        description = rule.validator(secret) if rule.validator else rule.description
        if description is None:
            return None, True
        if in_fixture and rule.contextual:
            # A value that is only a secret because of the name next to it is a stand-in
            # in a test suite; format-proven secrets are still reported there, as warnings.
            self.fixture_candidates_ignored += 1
            return None, True
        return description, True


def _keyword_set(keywords: list[str]) -> Any:
    if not keywords:
        return None
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = MAX_REGEX_MEMORY
    keyword_set = re2.Set.SearchSet(options)
    for keyword in keywords:
        keyword_set.Add(re2.escape(keyword.encode()))
    keyword_set.Compile()
    return keyword_set


def _secret_group(match: object, wanted: int) -> int:
    groups: tuple[bytes | None, ...] = match.groups()  # type: ignore[attr-defined]
    if wanted and wanted <= len(groups):
        return wanted
    for index, value in enumerate(groups, start=1):
        if value:
            return index
    return 0


def _line_at(data: bytes, offset: int) -> bytes:
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    return data[start : end if end != -1 else len(data)]
