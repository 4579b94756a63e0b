"""Requirement 6 on literal evidence: `.env` files by their shape, HTML told by the body and not
by Content-Type, and private-looking stored objects served to anyone."""

from __future__ import annotations

import json

import pytest

from connectguard.checks.storage import (
    check_stored_data,
    file_matches,
    looks_like_html,
    looks_private,
    private_object_reason,
)
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Level
from connectguard.probes.content import (
    EXPOSED_FILES,
    ContentEvidence,
    ExposedFileEvidence,
    FileProbe,
    ObjectEvidence,
    StoredObject,
)
from connectguard.probes.evidence import Evidence
from connectguard.verdicts import combine

URL = "https://app.example.com/atlassian-connect.json"
DOTENV = next(file for file in EXPOSED_FILES if file.name == "dotenv")
GIT_CONFIG = next(file for file in EXPOSED_FILES if file.name == "git-config")
SHELL = b"<!DOCTYPE html><html><head><title>Board</title></head><body><div id=root></div>"


def answer(
    body: bytes, ctype: str = "text/plain", status: int = 200, path: str = "/.env"
) -> Exchange:
    url = f"https://app.example.com{path}"
    return Exchange("GET", url, status=status, headers=(("Content-Type", ctype),), body=body)


def verdict(content: ContentEvidence) -> tuple[str, list[tuple[str, Level, str]]]:
    descriptor = parse_descriptor(
        json.dumps({"key": "k", "name": "n", "baseUrl": "https://app.example.com"}), URL
    )
    evidence = Evidence(
        target=URL,
        scan_time=1_700_000_000,
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan_endpoints(descriptor, URL),
        content=content,
    )
    result = next(r for r in combine(check_stored_data(evidence)) if r.requirement == "6")
    return result.verdict.value, [(f.check, f.level, f.path) for f in result.findings]


# ---------------------------------------------------------------------------------------------
# .env by its shape


@pytest.mark.parametrize(
    "body",
    [
        b"APP_KEY=base64:abc\nDB_PASSWORD=secret\n",
        b"# Database\nDATABASE_URL=postgres://u:p@db/app\n\n# Mail\nSMTP_PASSWORD=hunter2\n",
        b"DATABASE_URL=postgres://u:p@db/app\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
        b"export NODE_ENV=production\nexport API_KEY='k-123' # rotated\n",
        b'PORT = 8080\r\nSECRET="a b c"\r\n',
        b'PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----"\nX=1',
        b"\xef\xbb\xbfdb_host=localhost\nGREETING=caf\xe9\n",
    ],
    ids=["plain", "comments", "no-final-newline", "export-quoted", "crlf", "multiline", "latin1"],
)
def test_real_env_files_match(body: bytes) -> None:
    assert file_matches(DOTENV, answer(body))


@pytest.mark.parametrize(
    "body",
    [
        b"# only a comment\nPORT=8080",
        b"Configuration\nSet these before starting:\nPORT=8080\nHOST=0.0.0.0\n",
        b"User-agent: *\nDisallow: /admin\n",
        b'{"PORT": "8080", "HOST": "x"}',
        SHELL + b"\nPORT=8080\nHOST=x\n",
        b"PORT=8080\nHOST=x\n" + SHELL,
        b"[core]\nPORT=8080\nHOST=x\n",
    ],
    ids=["one-variable", "prose", "robots", "json", "html-first", "html-after", "ini-section"],
)
def test_other_bodies_are_not_env_files(body: bytes) -> None:
    assert not file_matches(DOTENV, answer(body))


# ---------------------------------------------------------------------------------------------
# HTML by the body


def test_html_is_told_by_the_body_not_the_content_type() -> None:
    env = b"DATABASE_URL=postgres://u:p@db/app\nSESSION_SECRET=9c1f\n"
    assert file_matches(DOTENV, answer(env, ctype="text/html; charset=utf-8"))
    shell = answer(b"<html>[core]\nrepositoryformatversion = 0\n</html>", path="/.git/config")
    assert not file_matches(GIT_CONFIG, shell)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (SHELL, True),
        (b"\n  <!-- soft 404 -->\n[core]", True),
        (b"<div class=error>Not found</div>", True),
        (b"Warning: deprecated\n<!doctype html><html>", True),
        (b"Oops\n<title>Not found</title>", True),
        (b"KEY=<b>bold</b>\nOTHER=1\n", False),
        (b"-- MySQL dump 10.13\nINSERT INTO posts VALUES ('<p>hi</p>');", False),
        (b"", False),
    ],
)
def test_looks_like_html(body: bytes, expected: bool) -> None:
    assert looks_like_html(body) is expected


def test_env_catch_all_is_still_ruled_out_by_the_baseline() -> None:
    env = b"NODE_ENV=production\nPORT=8080\n"
    group = ExposedFileEvidence(
        origin="https://app.example.com",
        prefix="",
        baselines=(answer(env, ctype="text/html", path="/connectguard-1"),),
        probes=tuple(
            FileProbe(f, answer(env if f is DOTENV else b"", status=200 if f is DOTENV else 404))
            for f in EXPOSED_FILES
        ),
    )
    assert verdict(ContentEvidence(exposed=(group,))) == ("pass", [])


# ---------------------------------------------------------------------------------------------
# Private-looking stored objects


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("exports/customer-list-2024.csv", "a data export (.csv)"),
        ("2024/05/report.tsv", "a data export (.tsv)"),
        ("nightly/app.sql.gz", "a database dump (.sql.gz)"),
        ("prod.dump", "a database dump (.dump)"),
        ("data/app.sqlite3", "a database file (.sqlite3)"),
        ("db.bak", "a backup (.bak)"),
        ("events.ndjson", "a data export (.ndjson)"),
        ("Q1%20Revenue.xlsx", "a data export (.xlsx)"),
        (".env", "a secrets file (.env)"),
        ("backup-2024-05-01.tar.gz", "private data (its name says 'backup')"),
        ("tenants/acme/settings.json", "private data (its name says 'tenants')"),
        ("billing/invoices/INV-0042.pdf", "private data (its name says 'billing')"),
        ("customerExport.json", "private data (its name says 'customer')"),
        ("private/notes.txt", "private data (its name says 'private')"),
    ],
)
def test_private_looking_objects(key: str, reason: str) -> None:
    assert private_object_reason(key) == reason
    assert looks_private(key)


@pytest.mark.parametrize(
    "key",
    [
        "assets/logo.png",
        "assets/app.js",
        "static/app.min.css",
        "fonts/Inter-Regular.woff2",
        "img/customers/globex-logo.png",
        "icons/export.svg",
        "users/42/avatar.jpg",
        "private/landing.html",
        "downloads/sample-import.csv",
        "templates/customers.xlsx",
        "releases/plugin-1.2.zip",
        "docs/user-guide.pdf",
        "exporter.json",
        "README",
    ],
)
def test_public_assets_and_downloads_do_not_look_private(key: str) -> None:
    assert private_object_reason(key) is None


def stored(
    key: str, status: int | None = 200, body: bytes = b"email,name\n", **kw: str
) -> ObjectEvidence:
    url = f"https://acme-exports.s3.amazonaws.com/{key}"
    item = StoredObject("Amazon S3", "acme-exports", key, url, "https://app.example.com/board")
    return ObjectEvidence(item, Exchange("GET", url, status=status, body=body, **kw))


def test_private_object_served_to_anyone_fails() -> None:
    content = ContentEvidence(objects=(stored("exports/customers.csv"),))
    assert verdict(content) == (
        "fail",
        [("public-stored-object", Level.FAIL, "/exports/customers.csv")],
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, b"<Error><Code>AccessDenied</Code></Error>"),
        (404, b"<Error/>"),
        (200, b""),
        (301, b""),
    ],
)
def test_private_object_refused_or_empty_passes(status: int, body: bytes) -> None:
    content = ContentEvidence(objects=(stored("exports/customers.csv", status, body),))
    assert verdict(content) == (
        "pass",
        [("stored-object-refused", Level.INFO, "/exports/customers.csv")],
    )


def test_private_object_answered_with_an_html_page_is_not_the_object() -> None:
    content = ContentEvidence(objects=(stored("exports/customers.csv", body=SHELL),))
    assert verdict(content)[0] == "pass"


def test_private_object_that_could_not_be_fetched_is_inconclusive() -> None:
    down = stored("db.bak", None, b"", error="could not connect: refused")
    assert verdict(ContentEvidence(objects=(down,)))[0] == "inconclusive"
    assert verdict(ContentEvidence(objects=(stored("db.bak", 503, b"busy"),)))[0] == "inconclusive"


def test_public_object_in_the_evidence_is_not_judged() -> None:
    content = ContentEvidence(objects=(stored("assets/logo.png", body=b"\x89PNG"),))
    assert verdict(content) == ("not_tested", [])
