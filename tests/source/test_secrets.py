"""The secret detector on literal text: each built-in rule, its look-alikes, and the masks."""

from __future__ import annotations

import pytest
from scanhelpers import atlassian_token, connect_jwt, private_key_pem, random_text

from connectguard.model import Level
from connectguard.source.allowlist import parse_allowlist
from connectguard.source.rules import builtin_rules
from connectguard.source.secrets import (
    SecretDetector,
    is_placeholder,
    is_test_fixture,
    mask,
    shannon_entropy,
)

DETECTOR = SecretDetector(builtin_rules())


def rules_in(text: str, path: str = "src/app.js") -> list[str]:
    return [hit.rule.id for hit in SecretDetector(builtin_rules()).scan(text.encode(), path)]


def test_atlassian_token_checksum_separates_real_from_lookalike() -> None:
    assert rules_in(f"token={atlassian_token(1)}") == ["atlassian-api-token"]
    assert rules_in(f"token={atlassian_token(1, valid=False)}") == []
    lower = atlassian_token(2)[:-8] + atlassian_token(2)[-8:].lower()
    assert rules_in(lower) == ["atlassian-api-token"]
    assert rules_in(atlassian_token(3)[:-1]) == []


def test_jwts_need_a_json_header_and_a_signature() -> None:
    (hit,) = DETECTOR.scan(f"jwt = '{connect_jwt(random_text(14, 40))}'".encode(), "a.py")
    assert hit.description == "a Connect JWT"
    unsigned = connect_jwt(random_text(15, 40)).rsplit(".", 1)[0] + "."
    assert rules_in(unsigned) == []
    not_json = "eyJub3QganNvbiBhdCBhbGw.eyJub3QganNvbiBlaXRoZXI." + "A" * 40
    assert rules_in(not_json) == []


def test_private_keys_with_material_only() -> None:
    assert rules_in(private_key_pem(), "k.pem") == ["private-key"]
    escaped = private_key_pem().replace("\n", "\\n")
    assert rules_in(f'{{"private_key": "{escaped}"}}', "sa.json") == ["private-key"]
    placeholder = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE" + "." * 80 + "\n-----END RSA PRIVATE KEY-----"
    )
    assert rules_in(placeholder) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (f'"sharedSecret": "{random_text(1, 43)}"', "connect-shared-secret"),
        (f"CONNECT_SHARED_SECRET={random_text(2, 40)}", "connect-shared-secret-env"),
        (f"shared_secret: {random_text(3, 40)}", "connect-shared-secret-env"),
        (f'client_secret = "{random_text(4, 32)}"', "oauth-client-secret"),
        ("key = 'AIza" + random_text(5, 35) + "'", "gcp-api-key"),
        ("xoxb-" + random_text(6, 40, "abcdefghijklmnop0123456789"), "slack-token"),
        ("sk_live_" + random_text(7, 30, "abcdefghijkLMNOP0123456789"), "stripe-secret-key"),
        (
            "AccountKey=" + random_text(8, 86, "abcdefghijkLMNOP0123456789+/") + "==",
            "azure-storage-account-key",
        ),
        (f'API_TOKEN="{random_text(9, 30)}"', "generic-secret"),
        (f"export API_TOKEN={random_text(9, 30)}", "generic-secret-env"),
    ],
)
def test_each_rule_finds_its_format(text: str, rule: str) -> None:
    assert rules_in(text) == [rule]


@pytest.mark.parametrize(
    "text",
    [
        '"sharedSecret": "changeme-changeme"',
        '"sharedSecret": "${SHARED_SECRET}"',
        "sharedSecret: req.body.sharedSecret,",
        "SHARED_SECRET=process.env.SHARED_SECRET",
        '"sharedSecret": "aaaaaaaaaaaaaaaaaaaaaaaaaa"',
        'password = "{{ vault_password }}"',
        'token = "<insert your token here>"',
        "AKIAIOSFODNN7EXAMPLE",
        'client_secret = "your-client-secret-here"',
        'apiKey = "0123456789012345"',
        'secret_key = "hunter2hunter2hunter2"',
    ],
)
def test_placeholders_are_not_secrets(text: str) -> None:
    assert rules_in(text) == []


def test_inline_marker_and_allowlist_regex() -> None:
    line = f'x = "{atlassian_token(4)}"  # connectguard:ignore\n'
    assert rules_in(line) == []
    allow = parse_allowlist("regex ^ATATT3xFfGF0\n").as_rule_allow()
    detector = SecretDetector(builtin_rules(), allow)
    assert detector.scan(atlassian_token(5).encode(), "a.js") == []


def test_test_fixtures_drop_name_only_values_and_warn_on_real_formats() -> None:
    detector = SecretDetector(builtin_rules())
    text = f'{{"sharedSecret": "{random_text(10, 43)}", "t": "{atlassian_token(6)}"}}'
    (hit,) = detector.scan(text.encode(), "tests/fixtures/install.json")
    assert hit.rule.id == "atlassian-api-token" and hit.level is Level.WARNING
    assert detector.fixture_candidates_ignored == 1
    assert is_test_fixture("src/__tests__/api.test.ts")
    assert is_test_fixture("pkg/handler_test.go")
    assert not is_test_fixture("src/testing_utils.py")


def test_overlapping_rules_report_the_most_specific_once() -> None:
    text = f"export GITHUB_TOKEN=ghp_{random_text(11, 36, 'abcdefghijkLMNOP0123456789')}"
    assert rules_in(text) == ["github-token"]


def test_masks_and_entropy() -> None:
    assert mask(atlassian_token(7)) == "ATAT…(192 chars)"
    assert mask("short") == "…(5 chars)"
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy(random_text(12, 64)) > 5.0
    assert is_placeholder("req.body.sharedSecret")
    assert not is_placeholder(random_text(13, 43))


@pytest.mark.parametrize(
    "text",
    [
        'SHARED_SECRET = os.environ["CONNECT_SHARED_SECRET"]',
        'shared_secret = os.getenv("CONNECT_SHARED_SECRET")',
        'CLIENT_SECRET = os.environ.get("OAUTH_CLIENT_SECRET")',
        'shared_secret: ENV.fetch("SHARED_SECRET")',
        "shared_secret: ENV['SHARED_SECRET']",
        'String sharedSecret = System.getenv("CONNECT_SHARED_SECRET");',
        "'shared_secret' => env('CONNECT_SHARED_SECRET'),",
        "API_TOKEN=process.env.API_TOKEN",
        'sharedSecret := os.Getenv("SHARED_SECRET")',
    ],
)
def test_environment_lookups_are_not_secrets(text: str) -> None:
    assert rules_in(text, "src/settings.py") == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (f"ENV CONNECT_SHARED_SECRET={random_text(20, 44)}", "connect-shared-secret-env"),
        (f"ARG SHARED_SECRET={random_text(21, 44)}", "connect-shared-secret-env"),
        (f"      - CONNECT_SHARED_SECRET={random_text(22, 44)}", "connect-shared-secret-env"),
        (f'      - "GITHUB_CLIENT_SECRET={random_text(23, 44)}"', "oauth-client-secret-env"),
        (
            f"heroku config:set CONNECT_SHARED_SECRET={random_text(24, 44)} -a app",
            "connect-shared-secret-env",
        ),
        (f"set SHARED_SECRET={random_text(25, 44)}", "connect-shared-secret-env"),
        (f"docker run -e API_TOKEN={random_text(26, 44)} app", "generic-secret-env"),
    ],
)
def test_environment_assignments_inside_a_line_are_found(text: str, rule: str) -> None:
    assert rules_in(text, "deploy/Dockerfile") == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "ENV CONNECT_SHARED_SECRET=${CONNECT_SHARED_SECRET}",
        "      - CONNECT_SHARED_SECRET=$CONNECT_SHARED_SECRET",
        "heroku config:set CONNECT_SHARED_SECRET=changeme-changeme",
        "const sharedSecret = tenantKeyValue;",
        "if (shared_secret == otherValue1) {",
        "url = f'{base}?SHARED_SECRET=abcdefghijk'",
    ],
)
def test_environment_assignments_that_are_not_secrets(text: str) -> None:
    assert rules_in(text, "deploy/run.sh") == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (f'{{\\"clientKey\\": \\"ck\\", \\"sharedSecret\\": \\"{random_text(30, 44)}\\"}}', "7"),
        (f'const SHARED_SECRET: string = "{random_text(31, 44)}";', "7"),
        (f'val sharedSecret: String = "{random_text(32, 44)}"', "7"),
        (f"<sharedSecret>{random_text(33, 44)}</sharedSecret>", "7"),
        (f'private readonly clientSecret: string = "{random_text(34, 44)}";', "8"),
    ],
)
def test_escaped_annotated_and_xml_secrets_are_found(text: str, rule: str) -> None:
    (hit,) = DETECTOR.scan(text.encode(), "src/app.ts")
    assert hit.rule.requirement == rule and len(hit.secret) == 44
