"""OSV matching: ranges per ecosystem (versions compared by univers), severity from CVSS vectors
(the `cvss` package), first fixed versions, and the local index read by a scan."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from connectguard.model import Severity
from connectguard.vulndb.osv import OsvDatabase, affected_fix, normalize_name, rate
from connectguard.vulndb.update import build_index


def record(
    ecosystem: str,
    name: str,
    events: list[dict[str, str]],
    versions: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    affected: dict[str, Any] = {
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
    }
    if versions:
        affected["versions"] = versions
    return {"id": extra.pop("id", "OSV-TEST-1"), "affected": [affected], **extra}


@pytest.mark.parametrize(
    ("ecosystem", "name", "events", "version", "expected"),
    [
        (
            "npm",
            "lodash",
            [{"introduced": "0"}, {"fixed": "4.17.21"}],
            "4.17.20",
            (True, "4.17.21"),
        ),
        ("npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}], "4.17.21", (False, None)),
        ("npm", "x", [{"introduced": "2.0.0"}, {"fixed": "2.1.0"}], "1.9.9", (False, None)),
        (
            "npm",
            "x",
            [{"introduced": "1.0.0-beta.2"}, {"fixed": "1.0.0"}],
            "1.0.0-rc.1",
            (True, "1.0.0"),
        ),
        ("PyPI", "Django", [{"introduced": "4.0"}, {"fixed": "4.2.7"}], "4.2.6", (True, "4.2.7")),
        ("PyPI", "django", [{"introduced": "4.0"}, {"fixed": "4.2.7"}], "4.2.10", (False, None)),
        (
            "PyPI",
            "pkg",
            [{"introduced": "1.0"}, {"fixed": "1.0.post1"}],
            "1.0",
            (True, "1.0.post1"),
        ),
        ("PyPI", "pkg", [{"introduced": "0"}, {"last_affected": "2.0"}], "2.0", (True, None)),
        ("PyPI", "pkg", [{"introduced": "0"}, {"last_affected": "2.0"}], "2.0.1", (False, None)),
        (
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}],
            "2.14.1",
            (True, "2.15.0"),
        ),
        ("Maven", "g:a", [{"introduced": "0"}, {"fixed": "1.10"}], "1.9", (True, "1.10")),
        (
            "Go",
            "golang.org/x/text",
            [{"introduced": "0"}, {"fixed": "0.3.8"}],
            "0.3.7",
            (True, "0.3.8"),
        ),
        (
            "Go",
            "golang.org/x/net",
            [{"introduced": "0"}, {"fixed": "0.7.0"}],
            "0.0.0-20220722155237-a158d28d115b",
            (True, "0.7.0"),
        ),
        (
            "RubyGems",
            "rack",
            [{"introduced": "2.2.0"}, {"fixed": "2.2.6.4"}],
            "2.2.6.3",
            (True, "2.2.6.4"),
        ),
        (
            "Packagist",
            "Guzzlehttp/Guzzle",
            [{"introduced": "7.0.0"}, {"fixed": "7.4.5"}],
            "7.4.4",
            (True, "7.4.5"),
        ),
    ],
)
def test_ranges_per_ecosystem(
    ecosystem: str,
    name: str,
    events: list[dict[str, str]],
    version: str,
    expected: tuple[bool, str | None],
) -> None:
    lookup_name = name.lower() if ecosystem in {"PyPI", "Packagist"} else name
    assert (
        affected_fix(record(ecosystem, name, events), ecosystem, lookup_name, version) == expected
    )


def test_several_ranges_and_reintroduced_versions() -> None:
    events = [
        {"introduced": "1.0.0"},
        {"fixed": "1.2.0"},
        {"introduced": "2.0.0"},
        {"fixed": "2.0.3"},
    ]
    item = record("npm", "x", events)
    assert affected_fix(item, "npm", "x", "1.1.0") == (True, "1.2.0")
    assert affected_fix(item, "npm", "x", "1.5.0") == (False, None)
    assert affected_fix(item, "npm", "x", "2.0.1") == (True, "2.0.3")


def test_explicit_versions_and_other_packages() -> None:
    item = record("PyPI", "pkg", [], versions=["0.9"])
    assert affected_fix(item, "PyPI", "pkg", "0.9")[0]
    assert not affected_fix(item, "PyPI", "other", "0.9")[0]
    assert not affected_fix(item, "npm", "pkg", "0.9")[0]


def test_severity_from_cvss_vectors_and_words() -> None:
    v3 = {
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
    }
    assert rate(v3).severity is Severity.CRITICAL and rate(v3).score == 9.8
    medium = {
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"}]
    }
    assert rate(medium).severity is Severity.MEDIUM
    v4 = {
        "severity": [
            {
                "type": "CVSS_V4",
                "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            }
        ]
    }
    assert rate(v4).severity is Severity.CRITICAL
    worded = {"database_specific": {"severity": "MODERATE"}}
    assert rate(worded).severity is Severity.MEDIUM
    assert rate({"id": "MAL-2024-1"}).severity is Severity.CRITICAL
    broken = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/garbage"}]}
    assert rate(broken).severity is Severity.NONE


def test_names_are_normalized_per_ecosystem() -> None:
    assert normalize_name("PyPI", "Zope.Interface") == "zope-interface"
    assert normalize_name("npm", "@Scope/Pkg") == "@Scope/Pkg"


def test_database_reads_only_matching_records(tmp_path: Path) -> None:
    records = [
        record(
            "PyPI",
            "requests",
            [{"introduced": "0"}, {"fixed": "2.20.0"}],
            id="GHSA-1",
            aliases=["CVE-1"],
        ),
        record("PyPI", "Requests", [{"introduced": "2.0"}, {"fixed": "2.31.0"}], id="GHSA-2"),
        record("PyPI", "flask", [{"introduced": "0"}, {"fixed": "2.2.5"}], id="GHSA-3"),
        {
            **record("PyPI", "requests", [{"introduced": "0"}]),
            "id": "GHSA-4",
            "withdrawn": "2024-01-01",
        },
    ]
    folder = tmp_path / "osv" / "PyPI"
    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for item in records:
            bundle.writestr(f"{item['id']}.json", json.dumps(item))
        bundle.writestr("broken.json", "{not json")
    (folder / "all.zip").write_bytes(buffer.getvalue())
    count = build_index(
        folder / "all.zip", "PyPI", folder / "index.sqlite", "test", lambda *a: None
    )
    assert count == 4
    database = OsvDatabase(tmp_path)
    try:
        assert database.has("PyPI") and not database.has("npm")
        found = database.lookup("PyPI", "requests", "2.19.0")
        assert sorted(a.id for a in found) == ["GHSA-1", "GHSA-2"]
        assert {a.fixed for a in found} == {"2.20.0", "2.31.0"}
        assert database.lookup("PyPI", "requests", "2.31.0") == []
        assert database.lookup("npm", "requests", "2.19.0") == []
    finally:
        database.close()
