"""Requirements 14 (client side) and 6 on literal evidence: vulnerable libraries by URL and
banner, exposed files judged against their random-path baseline, listable buckets."""

from __future__ import annotations

import json

import pytest

from connectguard.checks.components import check_components
from connectguard.checks.storage import check_stored_data, file_matches
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Judgement, Level
from connectguard.probes.content import (
    EXPOSED_FILES,
    ContentEvidence,
    ExposedFileEvidence,
    FileProbe,
    StorageEvidence,
)
from connectguard.probes.evidence import EndpointEvidence, Evidence
from connectguard.verdicts import combine
from connectguard.vulndb.retire import SHIPPED, load_repository

URL = "https://app.example.com/atlassian-connect.json"
FILES = {file.name: file for file in EXPOSED_FILES}


def evidence(
    page: str = "", resources: tuple[Exchange, ...] = (), content: ContentEvidence | None = None
) -> Evidence:
    raw = {"key": "k", "name": "n", "baseUrl": "https://app.example.com"}
    raw["modules"] = {"generalPages": [{"key": "b", "url": "/board", "name": {"value": "B"}}]}
    descriptor = parse_descriptor(json.dumps(raw), URL)
    plan = plan_endpoints(descriptor, URL)
    exchange = Exchange(
        "GET",
        "https://app.example.com/board",
        status=200,
        headers=(("Content-Type", "text/html"),),
        body=page.encode(),
    )
    return Evidence(
        target=URL,
        scan_time=1_700_000_000,
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan,
        endpoints=(EndpointEvidence(plan.endpoints[0], (exchange,)),) if page else (),
        resources=resources,
        content=content or ContentEvidence(signatures=load_repository(SHIPPED)),
    )


def result(judgements: list[Judgement], number: str) -> tuple[str, list[tuple[str, Level, str]]]:
    res = next(r for r in combine(judgements) if r.requirement == number)
    return res.verdict.value, [(f.check, f.level, f.path) for f in res.findings]


def script(path: str, body: str) -> Exchange:
    return Exchange(
        "GET",
        f"https://app.example.com{path}",
        status=200,
        headers=(("Content-Type", "application/javascript"),),
        body=body.encode(),
    )


# ---------------------------------------------------------------------------------------------
# 14


def test_high_severity_library_by_banner_fails_and_medium_by_url_warns() -> None:
    page = (
        '<script src="/static/handlebars.js"></script>'
        '<script src="https://code.jquery.com/jquery-3.4.1.min.js"></script>'
    )
    handlebars = script("/static/handlebars.js", "/**!\n\n @license\n handlebars v4.1.2\n*/")
    verdict, findings = result(check_components(evidence(page, (handlebars,))), "14")
    assert verdict == "fail"
    assert findings == [
        ("vulnerable-library", Level.WARNING, "/jquery-3.4.1.min.js"),
        ("vulnerable-library", Level.FAIL, "/static/handlebars.js"),
    ]
    failing = check_components(evidence(page, (handlebars,)))[0].findings[1]
    assert dict(failing.facts)["fixed in"] == "4.7.7"
    assert failing.severity.value == "critical"


def test_current_libraries_and_stylesheet_banners_pass() -> None:
    page = '<script src="https://cdn.jsdelivr.net/npm/lodash@4.17.21/lodash.min.js"></script>'
    css = Exchange(
        "GET",
        "https://app.example.com/bootstrap.min.css",
        status=200,
        headers=(("Content-Type", "text/css"),),
        body=b"/*!\n * Bootstrap v3.3.7 (http://getbootstrap.com)\n */",
    )
    assert result(check_components(evidence(page, (css,))), "14") == ("pass", [])


def test_no_signatures_is_inconclusive_when_scripts_were_seen() -> None:
    content = ContentEvidence(signatures=None, signatures_error="the file is not valid JSON")
    verdict, _ = result(check_components(evidence("<p>x</p>", content=content)), "14")
    assert verdict == "inconclusive"
    assert result(check_components(evidence(content=content)), "14") == ("not_tested", [])


# ---------------------------------------------------------------------------------------------
# 6


def answer(path: str, body: bytes, status: int = 200, ctype: str = "text/plain") -> Exchange:
    headers = (("Content-Type", ctype),)
    url = f"https://app.example.com{path}"
    return Exchange("GET", url, status=status, headers=headers, body=body)


GIT_CONFIG = b"[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
SHELL = b"<!DOCTYPE html><html><body><div id=root></div></body></html>"


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("git-config", GIT_CONFIG, True),
        ("git-config", b"<html>[core]\nrepositoryformatversion = 0</html>", False),
        ("git-head", b"ref: refs/heads/main\n", True),
        ("git-head", b"ref: refs/heads/main\n" + b"x" * 400, False),
        ("dotenv", b"APP_KEY=base64:abc\nDB_PASSWORD=secret\n", True),
        ("dotenv", b"# only a comment\nPORT=8080", False),
        ("sql-dump", b"-- MySQL dump 10.13\nCREATE TABLE `users` (", True),
        ("server-status", b"<html><h1>Apache Server Status for app.example.com</h1>", True),
        ("spring-actuator-env", b'{"activeProfiles":[],"propertySources":[{"name":"x"}]}', True),
    ],
)
def test_exposed_file_content_matching(name: str, body: bytes, expected: bool) -> None:
    assert file_matches(FILES[name], answer(FILES[name].path, body)) is expected


def exposed(probes: dict[str, Exchange], baseline: Exchange) -> ContentEvidence:
    group = ExposedFileEvidence(
        origin="https://app.example.com",
        prefix="",
        baselines=(baseline,),
        probes=tuple(
            FileProbe(file, probes.get(file.name, answer(file.path, b"", 404)))
            for file in EXPOSED_FILES
        ),
    )
    return ContentEvidence(exposed=(group,))


def test_git_config_served_fails() -> None:
    content = exposed({"git-config": answer("/.git/config", GIT_CONFIG)}, answer("/r", b"", 404))
    assert result(check_stored_data(evidence(content=content)), "6") == (
        "fail",
        [("exposed-file", Level.FAIL, "/.git/config")],
    )


def test_catch_all_that_serves_the_same_body_is_not_a_leak() -> None:
    baseline = answer("/connectguard-1", GIT_CONFIG)
    content = exposed({"git-config": answer("/.git/config", GIT_CONFIG)}, baseline)
    verdict, findings = result(check_stored_data(evidence(content=content)), "6")
    assert (verdict, findings) == ("pass", [])


def test_spa_shell_everywhere_passes_and_unreachable_origin_is_inconclusive() -> None:
    shell = {f.name: answer(f.path, SHELL, ctype="text/html") for f in EXPOSED_FILES}
    content = exposed(shell, answer("/r", SHELL, ctype="text/html"))
    assert result(check_stored_data(evidence(content=content)), "6") == ("pass", [])
    down = Exchange("GET", "https://app.example.com/.env", error="could not connect: refused")
    failed = exposed({f.name: down for f in EXPOSED_FILES}, down)
    assert result(check_stored_data(evidence(content=failed)), "6")[0] == "inconclusive"


def test_listable_bucket_fails_and_refused_listing_is_info() -> None:
    listing = Exchange(
        "GET",
        "https://acme.s3.amazonaws.com/?list-type=2&max-keys=5",
        status=200,
        body=b'<?xml version="1.0"?><ListBucketResult><Name>acme</Name></ListBucketResult>',
    )
    refused = Exchange("GET", "https://private.s3.amazonaws.com/", status=403, body=b"<Error/>")
    content = ContentEvidence(
        storage=(
            StorageEvidence("Amazon S3", "acme", "the descriptor", listing),
            StorageEvidence("Amazon S3", "private", "the descriptor", refused),
        )
    )
    assert result(check_stored_data(evidence(content=content)), "6") == (
        "fail",
        [("listable-bucket", Level.FAIL, "/"), ("bucket-listing-refused", Level.INFO, "/")],
    )


def test_with_no_page_14_says_why_it_was_not_tested() -> None:
    for content in (None, ContentEvidence(signatures_error="the file is not JSON")):
        (judgement,) = check_components(evidence(content=content))
        res = next(r for r in combine([judgement]) if r.requirement == "14")
        assert res.verdict.value == "not_tested"
        assert res.reason.startswith("no page or script answered 2xx")
