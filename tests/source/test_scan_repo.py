"""`connectguard scan-repo` end to end on a repository built here: planted secrets (one deleted
but still in history), vulnerable pinned dependencies in six ecosystems, code that collects
Atlassian credentials, and clean look-alikes of each. Every planted item must be found and no
look-alike flagged; the SARIF report must be valid against the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from scanhelpers import (
    atlassian_token,
    commit_all,
    connect_jwt,
    git,
    init_repo,
    private_key_pem,
    public_key_pem,
    random_text,
    write,
)
from typer.testing import CliRunner

from connectguard.cli import app

runner = CliRunner()
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# (requirement, rule, path) of every planted secret.
PLANTED_SECRETS = {
    ("8", "atlassian-api-token", "src/config.js"),
    ("7", "connect-shared-secret", "install-payload.json"),
    ("7", "connect-shared-secret-env", ".env"),
    ("7", "connect-shared-secret", "store.db"),
    ("7", "connect-shared-secret", "old-store.json"),
    ("8", "jwt", "src/auth.py"),
    ("8", "private-key", "deploy/app-key.pem"),
    ("8", "aws-access-key-id", "settings.py"),
    ("8", "aws-secret-access-key", "settings.py"),
    ("8", "google-oauth-client-secret", "oauth.json"),
    ("8", "github-token", "ci/publish.sh"),
    ("8", "generic-secret", "app/db.js"),
}
PLANTED_PACKAGES = {
    ("npm", "lodash", "4.17.15", "fail"),
    ("npm", "ansi-regex", "3.0.0", "warning"),
    ("PyPI", "requests", "2.19.0", "fail"),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "fail"),
    ("Go", "golang.org/x/text", "0.3.7", "fail"),
    ("RubyGems", "nokogiri", "1.13.0", "fail"),
    ("Packagist", "guzzlehttp/guzzle", "7.4.0", "fail"),
}
PLANTED_CREDENTIAL_CODE = {
    ("code-basic-auth-user-credentials", "server/jira.js"),
    ("code-reads-user-credentials", "server/jira.js"),
    ("code-credential-form", "views/connect.html"),
}


def plant_secrets(repo: Path) -> None:
    token = atlassian_token(1)
    shared = random_text(2, 43)
    write(repo, "src/config.js", f'module.exports = {{ jiraToken: "{token}" }};\n')
    payload = {
        "key": "my-app",
        "clientKey": "0d2a6e2b-6c3f-4d6a-9a55-3c1b0f6b2e11",
        "sharedSecret": shared,
        "baseUrl": "https://example.atlassian.net",
        "eventType": "installed",
    }
    write(repo, "install-payload.json", json.dumps(payload, indent=2))
    write(repo, ".env", f"PORT=3000\nATLASSIAN_CONNECT_SHARED_SECRET={random_text(3, 48)}\n")
    write(repo, "src/auth.py", f'SAMPLE_TOKEN = "{connect_jwt(random_text(4, 32))}"\n')
    write(repo, "deploy/app-key.pem", private_key_pem())
    aws_id = "AKIA" + random_text(5, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    aws_secret = random_text(6, 40, ALNUM + "/+")
    write(
        repo,
        "settings.py",
        f'AWS_ACCESS_KEY_ID = "{aws_id}"\naws_secret_access_key = "{aws_secret}"\n',
    )
    write(repo, "oauth.json", json.dumps({"client_secret": "GOCSPX-" + random_text(7, 28)}))
    write(repo, "ci/publish.sh", f"export GH_TOKEN=ghp_{random_text(8, 36, ALNUM)}\n")
    write(repo, "app/db.js", 'const dbPassword = "Xk9#mQ2$vL7@pR4!wZ";\n')
    store = sqlite3.connect(repo / "store.db")
    store.execute("CREATE TABLE AddonSettings (clientKey TEXT, val TEXT)")
    value = json.dumps({"clientKey": "jira:42", "sharedSecret": random_text(9, 43)})
    store.execute("INSERT INTO AddonSettings VALUES (?, ?)", ("jira:42", value))
    store.commit()
    store.close()


def plant_lookalikes(repo: Path) -> None:
    example_jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    write(
        repo,
        "docs/setup.md",
        "Tokens look like this (the checksum is wrong, so it is not one):\n"
        f"    {atlassian_token(10, valid=False)}\n"
        "AWS documents the key AKIAIOSFODNN7EXAMPLE with the secret\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        f"A JWT from jwt.io: {example_jwt}\n"
        "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"
        'Configure `"sharedSecret": "<your-shared-secret>"` in your store.\n',
    )
    write(
        repo,
        "src/handler.js",
        "function install(req) {\n  const record = {\n    sharedSecret: req.body.sharedSecret,\n"
        "    clientKey: req.body.clientKey,\n  };\n"
        "  const sharedSecret = process.env.SHARED_SECRET;\n  return record;\n}\n",
    )
    write(repo, "keys/public.pem", public_key_pem())
    write(
        repo,
        "config/default.json",
        json.dumps(
            {
                "clientKey": "7c8f4a52-1d1b-4b43-a7e3-1f1a2b3c4d5e",
                "buildHash": "3f786850e387550fdab836ed7e6dc881de23001b",
                "sharedSecret": "${SHARED_SECRET}",
            }
        ),
    )
    write(repo, ".env.example", "SHARED_SECRET=your-shared-secret-here\nCLIENT_SECRET=changeme\n")
    write(
        repo,
        "src/reviewed.js",
        f'const sample = "{atlassian_token(11)}"; // connectguard:ignore\n',
    )
    write(
        repo,
        "tests/fixtures/install.json",
        json.dumps({"sharedSecret": random_text(12, 43), "clientKey": "test"}),
    )
    write(
        repo,
        "views/login.html",
        "<h1>Sign in to Acme Analytics</h1>\n<form method='post' action='/login'>\n"
        "<input type='email' name='email'>\n<input type='password' name='password'>\n</form>\n",
    )


def plant_credential_code(repo: Path) -> None:
    write(
        repo,
        "server/jira.js",
        "app.post('/connect-jira', async (req, res) => {\n"
        "  const apiToken = req.body.apiToken;\n"
        "  const site = req.body.site;\n"
        "  const response = await fetch(`https://${site}.atlassian.net/rest/api/3/myself`, {\n"
        "    headers: { Authorization: 'Basic ' + Buffer.from(`${req.body.email}:${apiToken}`)"
        ".toString('base64') },\n"
        "  });\n"
        "  res.json(await response.json());\n"
        "});\n",
    )
    write(
        repo,
        "views/connect.html",
        "<form method='post' action='/connect-jira'>\n"
        "  <label for='token'>Your Atlassian API token</label>\n"
        "  <input type='password' id='token' name='apiToken'>\n"
        "</form>\n",
    )


def plant_dependencies(repo: Path) -> None:
    lock = {
        "name": "my-app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "my-app", "version": "1.0.0", "dependencies": {"lodash": "^4.17.0"}},
            "node_modules/lodash": {
                "version": "4.17.15",
                "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz",
                "integrity": "sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0"
                "MnmE+4xlZoumy0GPG0D0MVIQbNA1A==",
            },
            "node_modules/ansi-regex": {"version": "3.0.0", "dev": True},
            "node_modules/chalk": {"version": "4.1.2"},
        },
    }
    write(repo, "package-lock.json", json.dumps(lock, indent=2))
    write(
        repo,
        "web/yarn.lock",
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n"
        'lodash@^4.17.21:\n  version "4.17.21"\n'
        '  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c5"\n'
        "  integrity sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZ"
        "VGedAJv8XZ1tvj5FvSg==\n",
    )
    write(repo, "requirements.txt", "requests==2.19.0 \\\n    --hash=sha256:abc\nflask>=2.0\n")
    write(
        repo,
        "worker/poetry.lock",
        '[[package]]\nname = "requests"\nversion = "2.31.0"\ndescription = "HTTP"\n'
        'optional = false\npython-versions = ">=3.7"\n\n[metadata]\nlock-version = "2.0"\n',
    )
    write(
        repo,
        "java/pom.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.example</groupId>\n"
        "  <artifactId>app</artifactId>\n  <version>1.0</version>\n"
        "  <properties><log4j.version>2.14.1</log4j.version></properties>\n"
        "  <dependencies>\n    <dependency>\n"
        "      <groupId>org.apache.logging.log4j</groupId>\n"
        "      <artifactId>log4j-core</artifactId>\n"
        "      <version>${log4j.version}</version>\n    </dependency>\n  </dependencies>\n"
        "</project>\n",
    )
    write(
        repo,
        "go/go.mod",
        "module example.com/app\n\ngo 1.21\n\nrequire (\n"
        "\tgolang.org/x/text v0.3.7 // indirect\n\tgithub.com/google/uuid v1.6.0\n)\n",
    )
    write(
        repo,
        "ruby/Gemfile.lock",
        "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.0-x86_64-linux)\n"
        "      racc (~> 1.4)\n    racc (1.6.0)\n\nPLATFORMS\n  x86_64-linux\n\n"
        "DEPENDENCIES\n  nokogiri\n\nBUNDLED WITH\n   2.3.7\n",
    )
    composer = {
        "packages": [{"name": "guzzlehttp/guzzle", "version": "7.4.0", "type": "library"}],
        "packages-dev": [{"name": "phpunit/phpunit", "version": "9.5.10"}],
    }
    write(repo, "php/composer.lock", json.dumps(composer, indent=4))


@pytest.fixture(scope="module")
def planted_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = init_repo(tmp_path_factory.mktemp("planted") / "app")
    write(repo, "old-store.json", json.dumps({"sharedSecret": random_text(13, 43)}))
    write(repo, "README.md", "# My Connect app\n")
    commit_all(repo, "first version with a file store")
    git(repo, "rm", "-q", "old-store.json")
    commit_all(repo, "move the store into the database")
    plant_secrets(repo)
    plant_lookalikes(repo)
    plant_credential_code(repo)
    plant_dependencies(repo)
    commit_all(repo, "the app")
    return repo


@pytest.fixture(scope="module")
def report(planted_repo: Path, osv_data_dir: Path) -> dict[str, Any]:
    result = runner.invoke(
        app, ["scan-repo", str(planted_repo), "--format", "json", "--data-dir", str(osv_data_dir)]
    )
    assert result.exit_code == 1, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _fails(report: dict[str, Any], requirement: str) -> list[dict[str, Any]]:
    findings = report["requirements"][requirement]["findings"]
    return [f for f in findings if f["level"] == "fail"]


def test_every_planted_secret_is_found_and_no_lookalike(report: dict[str, Any]) -> None:
    found = {
        (f["requirement"], f["facts"]["rule"], f["path"])
        for n in ("7", "8")
        for f in _fails(report, n)
    }
    assert found == PLANTED_SECRETS
    assert report["requirements"]["7"]["verdict"] == "fail"
    assert report["requirements"]["8"]["verdict"] == "fail"


def test_a_deleted_secret_names_the_commit_that_added_it(
    report: dict[str, Any], planted_repo: Path
) -> None:
    first_commit = git(planted_repo, "rev-list", "--max-parents=0", "HEAD")
    (finding,) = [f for f in _fails(report, "7") if f["path"] == "old-store.json"]
    assert finding["facts"]["commit"] == first_commit
    assert finding["facts"]["date"].startswith("2024-03-01")
    assert finding["facts"]["in working tree"].startswith("no")
    assert finding["facts"]["line"] == "1"
    assert "still in git history" in finding["summary"]


def test_findings_show_the_secret_masked_never_whole(
    report: dict[str, Any], planted_repo: Path
) -> None:
    token = atlassian_token(1)
    text = json.dumps(report)
    assert token not in text and token[:40] not in text
    (finding,) = [f for f in _fails(report, "8") if f["facts"]["rule"] == "atlassian-api-token"]
    assert finding["facts"]["secret"] == "ATAT…(192 chars)"
    assert finding["facts"]["line"] == "1"


def test_vulnerable_dependencies_in_every_ecosystem(report: dict[str, Any]) -> None:
    findings = report["requirements"]["14"]["findings"]
    found = {
        (f["facts"]["ecosystem"], f["facts"]["package"], f["facts"]["version"], f["level"])
        for f in findings
        if f["check"] == "vulnerable-dependency"
    }
    assert found == PLANTED_PACKAGES
    assert report["requirements"]["14"]["verdict"] == "fail"
    (lodash,) = [f for f in findings if f["facts"].get("package") == "lodash"]
    assert lodash["facts"]["first fixed version"] == "4.17.21"
    assert "GHSA-p6mc-m468-83gw (CVE-2020-8203)" in lodash["facts"]["advisories"]
    assert "GHSA-35jh-r3h4-6jhm" in lodash["facts"]["advisories"]
    (log4j,) = [f for f in findings if "log4j" in f["facts"].get("package", "")]
    assert log4j["severity"] == "critical" and "CVSS 10.0" in log4j["summary"]
    assert log4j["path"] == "java/pom.xml"


def test_credential_collection_in_code_fails_10_and_a_plain_login_is_advice(
    report: dict[str, Any],
) -> None:
    findings = report["requirements"]["10"]["findings"]
    fails = {(f["check"], f["path"]) for f in findings if f["level"] == "fail"}
    assert fails == PLANTED_CREDENTIAL_CODE
    advice = {(f["check"], f["path"]) for f in findings if f["level"] == "advice"}
    assert ("code-password-field", "views/login.html") in advice
    assert report["requirements"]["10"]["verdict"] == "fail"


def test_requirements_outside_a_source_scan_are_not_tested(report: dict[str, Any]) -> None:
    for number, requirement in report["requirements"].items():
        if number not in {"7", "8", "10", "14"}:
            assert requirement["verdict"] == "not_tested"
            assert requirement["reason"] == "not part of a source scan"
    assert report["exit_code"] == 1


def test_sarif_report_is_valid_and_points_at_lines(planted_repo: Path, osv_data_dir: Path) -> None:
    result = runner.invoke(
        app, ["scan-repo", str(planted_repo), "-f", "sarif", "--data-dir", str(osv_data_dir)]
    )
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    results = run["results"]
    token = [
        r
        for r in results
        if r["ruleId"] == "CG8/secret-in-source" and "Atlassian" in r["message"]["text"]
    ]
    location = token[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/config.js", "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 1}
    rules = run["tool"]["driver"]["rules"]
    assert all("security-severity" in r["properties"] for r in rules)
    assert len({r["partialFingerprints"]["connectguard/v1"] for r in results}) == len(results)


def test_junit_report_has_one_case_per_requirement(
    planted_repo: Path, osv_data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.xml"
    result = runner.invoke(
        app,
        [
            "scan-repo",
            str(planted_repo),
            "-f",
            "junit",
            "-o",
            str(out),
            "--data-dir",
            str(osv_data_dir),
        ],
    )
    assert result.exit_code == 1
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 15
    failed = {c.get("name", "").split(".")[0] for c in cases if c.find("failure") is not None}
    assert failed == {"7", "8", "10", "14"}
    assert suite.get("skipped") == "11"
    assert atlassian_token(1) not in out.read_text(encoding="utf-8")
