"""connectguard.toml: suppressions and CVSS overrides, and every mistake named by its line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from connectguard.checks.registry import CHECKS
from connectguard.store.severity import DEFAULT_VECTORS
from connectguard.store.suppressions import ConfigError, load_config, parse_config

GOOD = """\
# connectguard settings for this app
[cvss]
hsts = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"

[[suppress]]
fingerprint = "3F2A9C1D0B7E4A65"
reason = "Monitoring endpoint"
expires = 2025-09-30

[[suppress]]
requirement = 12
path = "/static/*"
reason = "Static help pages"
expires = "2025-12-31"
"""


def test_a_good_file() -> None:
    config = parse_config(GOOD, "connectguard.toml")
    assert config.cvss == {"hsts": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"}
    first, second = config.suppressions
    assert (first.line, first.fingerprint, first.expires) == (
        5,
        "3f2a9c1d0b7e4a65",
        dt.date(2025, 9, 30),
    )
    assert (second.line, second.requirement, second.path) == (10, "12", "/static/*")
    fields = {
        "requirement": "12",
        "check": "referrer-policy",
        "origin": "https://a",
        "path": "/static/x.css",
    }
    at = dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.UTC)
    assert config.suppression_for(("0000000000000000",), fields, at) is second
    assert config.suppression_for(("3f2a9c1d0b7e4a65",), {"path": "/"}, at) is None  # expired
    assert config.expiry_notes(at) == [
        "the suppression at connectguard.toml line 5 (fingerprint 3f2a9c1d0b7e4a65) expired on "
        "2025-09-30 and no longer applies"
    ]
    assert config.suppression_for(("x",), {**fields, "path": "/page"}, at) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[suppress]]\nfingerprint = "ab12cd34"\nreason = \n',
            "line 3: invalid value (column 10)",
        ),
        (
            '[[suppress]]\nfingerprint = "ab12cd34"\nexpires = 2025-01-01\n',
            "line 1: the suppression needs a reason",
        ),
        (
            '[[suppress]]\nfingerprint = "ab12cd34"\nreason = "  "\nexpires = 2025-01-01\n',
            "line 3: the suppression needs a reason",
        ),
        (
            '[[suppress]]\nfingerprint = "ab12cd34"\nreason = "r"\n',
            "line 1: the suppression needs an expiry date",
        ),
        (
            '[[suppress]]\nfingerprint = "ab12cd34"\nreason = "r"\nexpires = "next year"\n',
            "line 4: expires must be a date",
        ),
        (
            '[[suppress]]\nfingerprint = "xyz"\nreason = "r"\nexpires = 2025-01-01\n',
            "line 2: 'xyz' is not a fingerprint",
        ),
        (
            '[[suppress]]\nreason = "r"\nexpires = 2025-01-01\n',
            "line 1: the suppression names no finding",
        ),
        (
            '[[suppress]]\nfingerprint = "ab12cd34"\npath = "/x"\n'
            'reason = "r"\nexpires = 2025-01-01\n',
            "line 2: give a fingerprint or a pattern, not both",
        ),
        (
            '[[suppress]]\ncheck = "hsts"\nreason = "r"\nexpires = 2025-01-01\n\n'
            '[[suppress]]\ncheck = "hsts"\nreson = "r"\n',
            "line 8: unknown key 'reson'",
        ),
        ('[cvss]\nhsts = "CVSS:3.1/AV:N"\n', "line 2: 'CVSS:3.1/AV:N' is not a CVSS v3 vector"),
        (
            '[cvss]\n"cache-control" = 7.5\n',
            "line 2: the CVSS vector of 'cache-control' must be a string",
        ),
        ("[[supress]]\nreason = 'r'\n", "line 1: unknown setting 'supress'"),
        (
            '# tuned\n[cvss]\nhsts = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"\n'
            'refferer-policy = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"\n',
            "line 4: unknown check id 'refferer-policy' in [cvss] (did you mean "
            "'referrer-policy'?)",
        ),
        (
            '[cvss]\nzzzz = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"\n',
            "line 2: unknown check id 'zzzz' in [cvss] (known: accepted-alg-none, ",
        ),
        (
            '[[suppress]]\ncheck = ""\nreason = "r"\nexpires = 2025-01-01\n',
            "line 2: check must be a non-empty string",
        ),
    ],
)
def test_mistakes_name_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "connectguard.toml")
    assert caught.value.message.startswith("connectguard.toml line")
    assert message in caught.value.message


def test_every_default_vector_and_registry_check_may_be_tuned() -> None:
    vector = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"
    checks = list(dict.fromkeys([*DEFAULT_VECTORS, *(spec.id for spec in CHECKS)]))
    text = "[cvss]\n" + "".join(f'"{check}" = "{vector}"\n' for check in checks)
    assert set(parse_config(text).cvss) == set(checks)


def test_no_file_means_no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config().suppressions == ()
    (tmp_path / "connectguard.toml").write_text(GOOD, encoding="utf-8")
    assert len(load_config().suppressions) == 2
    with pytest.raises(ConfigError, match="Could not read"):
        load_config(tmp_path / "missing.toml")


# Checks that need no default vector: their findings never fail a requirement (info, advice,
# warnings), or, for vulnerable libraries and dependencies, take the advisory's own severity.
NO_DEFAULT_VECTOR = {
    "anonymous-page", "app-domain-differs", "bucket-listing-refused", "certificate",
    "certificate-expiring", "certificate-weak", "cname-no-address", "cookie-flags",
    "domain-registration", "fix-deadline", "hsts-ip-literal", "lame-delegation",
    "lockfile-unreadable", "plain-http-url", "registrable-domain", "stored-object-refused",
    "tls-cipher-suites", "vulnerable-library", "vulnerable-dependency",
}  # fmt: skip


def test_every_failing_check_has_a_default_vector() -> None:
    """A check added without a vector would be scored by a guess and refused in [cvss]."""
    source = Path(__file__).resolve().parents[2] / "src" / "connectguard"
    # check="id", _finding(x, Level.FAIL, "id", ...) and _finding("5", "id", ...)
    literal = re.compile(
        r'check="([a-z0-9-]+)"|Level\.[A-Z]+,\s*"([a-z0-9-]+)"|_finding\(\s*"\d+",\s*"([a-z0-9-]+)"'
    )
    found = {
        "".join(ids)
        for path in [*source.glob("checks/*.py"), *source.glob("source/*.py")]
        for ids in literal.findall(path.read_text(encoding="utf-8"))
    }
    assert {"hsts", "exposed-file", "dangling-cname", "credential-form"} <= found
    missing = sorted(found - set(DEFAULT_VECTORS) - NO_DEFAULT_VECTOR)
    assert not missing, f"failing checks without a default vector: {missing}"
