"""Builders for source-scan tests: git repositories made on the spot, real-shaped secrets and
look-alikes, and real-shaped OSV records and archives."""

from __future__ import annotations

import http.server
import io
import json
import os
import random
import string
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

BASE64URL = string.ascii_letters + string.digits + "-_"


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_DATE="2024-03-01T10:00:00+00:00")
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def random_text(seed: int, length: int, alphabet: str = BASE64URL) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


def atlassian_token(seed: int, valid: bool = True) -> str:
    """A token of the documented shape; `valid=False` breaks its CRC-32 (a look-alike)."""
    body = "ATATT3xFfGF0" + random_text(seed, 171) + "="
    checksum = zlib.crc32(body.encode())
    return body + format(checksum if valid else checksum ^ 0x5A5A5A5A, "08X")


def connect_jwt(secret: str) -> str:
    claims = {"iss": "jira:1234", "iat": 1700000000, "exp": 1700000180, "qsh": "a" * 64}
    return jwt.encode(claims, secret, algorithm="HS256")


def private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# OSV data: real-shaped records of public advisories.


def osv_record(
    osv_id: str,
    ecosystem: str,
    name: str,
    events: list[dict[str, str]],
    vector: str | None = None,
    aliases: tuple[str, ...] = (),
    summary: str = "",
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": osv_id,
        "modified": "2024-01-01T00:00:00Z",
        "published": "2020-01-01T00:00:00Z",
        "aliases": list(aliases),
        "summary": summary or f"Vulnerability in {name}",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }
    if vector:
        record["severity"] = [
            {"type": "CVSS_V3" if vector.startswith("CVSS:3") else "CVSS_V4", "score": vector}
        ]
    return record


HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
MEDIUM = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"

ADVISORIES: dict[str, list[dict[str, Any]]] = {
    "npm": [
        osv_record(
            "GHSA-p6mc-m468-83gw",
            "npm",
            "lodash",
            [{"introduced": "3.7.0"}, {"fixed": "4.17.19"}],
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H",
            ("CVE-2020-8203",),
            "Prototype Pollution in lodash",
        ),
        osv_record(
            "GHSA-35jh-r3h4-6jhm",
            "npm",
            "lodash",
            [{"introduced": "0"}, {"fixed": "4.17.21"}],
            "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
            ("CVE-2021-23337",),
            "Command Injection in lodash",
        ),
        osv_record(
            "GHSA-93q8-gq69-wqmw",
            "npm",
            "ansi-regex",
            [{"introduced": "3.0.0"}, {"fixed": "3.0.1"}],
            MEDIUM,
            ("CVE-2021-3807",),
            "Inefficient Regular Expression Complexity in chalk/ansi-regex",
        ),
    ],
    "PyPI": [
        osv_record(
            "GHSA-x84v-xcm2-53pg",
            "PyPI",
            "requests",
            [{"introduced": "0"}, {"fixed": "2.20.0"}],
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            ("CVE-2018-18074", "PYSEC-2018-28"),
            "Insufficiently Protected Credentials in Requests",
        ),
    ],
    "Maven": [
        osv_record(
            "GHSA-jfh8-c2jp-5v3q",
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}],
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            ("CVE-2021-44228",),
            "Remote code injection in Log4j",
        ),
    ],
    "Go": [
        osv_record(
            "GO-2022-1059",
            "Go",
            "golang.org/x/text",
            [{"introduced": "0"}, {"fixed": "0.3.8"}],
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
            ("CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"),
            "Denial of service via crafted Accept-Language header",
        ),
    ],
    "RubyGems": [
        osv_record(
            "GHSA-2rr5-8q37-2w7h",
            "RubyGems",
            "nokogiri",
            [{"introduced": "0"}, {"fixed": "1.13.4"}],
            HIGH,
            ("CVE-2022-24836",),
            "Inefficient Regular Expression Complexity in Nokogiri",
        ),
    ],
    "Packagist": [
        osv_record(
            "GHSA-w248-ffj2-4v5q",
            "Packagist",
            "guzzlehttp/guzzle",
            [{"introduced": "7.0.0"}, {"fixed": "7.4.4"}],
            HIGH,
            ("CVE-2022-31042",),
            "Failure to strip the Cookie header on change in host or HTTP downgrade",
        ),
    ],
}


def osv_archive(records: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for record in records:
            bundle.writestr(f"{record['id']}.json", json.dumps(record))
    return buffer.getvalue()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None
