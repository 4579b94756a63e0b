"""The retire.js-format engine: parsing, detection by URL, name, banner and hash, retire.js's
version order, the shipped set, and `update` against a server on loopback."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from connectguard.vulndb import retire
from connectguard.vulndb.retire import (
    SHIPPED,
    Detection,
    VulnDbError,
    is_at_or_above,
    load_repository,
    parse_repository,
    repository_path,
    update,
)

V = "§§version§§"
SAMPLE_BODY = b"/* sample build */ var lib = 1;"
SAMPLE = {
    "retire-example": {"vulnerabilities": [], "extractors": {"filename": [f"ex-({V})\\.js"]}},
    "widget": {
        "vulnerabilities": [
            {
                "atOrAbove": "1.2.0",
                "below": "1.4.0",
                "severity": "high",
                "identifiers": {"CVE": ["CVE-2020-0001"], "summary": "XSS in render"},
                "info": ["https://example.test/advisory"],
            },
            {"below": "2.0.0-beta.1", "severity": "low", "identifiers": {"githubID": "GHSA-x"}},
        ],
        "extractors": {
            "uri": [f"/widget@({V})/"],
            "filename": [f"widget-({V})(\\.min)?\\.js"],
            "filecontent": [
                f"/\\*! Widget v({V})",
                f"(a)b\\1 Widget ({V})",  # a back-reference: RE2 cannot run it
            ],
            "filecontentreplace": [f'/widget\\.version="({V})"/$1/'],
            "hashes": {hashlib.sha1(SAMPLE_BODY).hexdigest(): "1.3.5"},
        },
    },
}


@pytest.fixture(scope="module")
def repository() -> retire.Repository:
    return parse_repository(json.dumps(SAMPLE), "sample")


def test_parse_skips_unrunnable_patterns_and_the_example_entry(
    repository: retire.Repository,
) -> None:
    assert repository.components == ("widget",)
    assert repository.skipped_patterns == 1


def test_detection_by_uri_filename_content_replace_and_hash(repository: retire.Repository) -> None:
    assert repository.detect_url("https://cdn.test/widget@1.3.0/dist/w.js?v=2") == [
        Detection("widget", "1.3.0", "uri")
    ]
    assert repository.detect_url("https://app.test/js/widget-1.2.9.min.js") == [
        Detection("widget", "1.2.9", "filename")
    ]
    assert repository.detect_content(b"x /*! Widget v1.3.1 */") == [
        Detection("widget", "1.3.1", "filecontent")
    ]
    assert repository.detect_content(b'w.widget.version="1.3.2";') == [
        Detection("widget", "1.3.2", "filecontent")
    ]
    assert repository.detect_content(SAMPLE_BODY) == [Detection("widget", "1.3.5", "hash")]
    assert repository.detect_content(b"no library here") == []


def test_vulnerability_ranges(repository: retire.Repository) -> None:
    def ids(version: str) -> list[str]:
        found = repository.affecting(Detection("widget", version, "uri"))
        return [v.ids[0] for v in found]

    assert ids("1.1.9") == ["GHSA-x"]
    assert ids("1.2.0") == ["CVE-2020-0001", "GHSA-x"]
    assert ids("1.4.0") == ["GHSA-x"]
    assert ids("2.0.0-alpha") == ["GHSA-x"]
    assert ids("2.0.0") == []
    high = repository.affecting(Detection("widget", "1.3.0", "uri"))[0]
    assert high.score == 7.0 and high.cvss is None and high.summary == "XSS in render"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.13.0", "1.13.0", True),
        ("1.13.0-rc.1", "1.13.0", False),
        ("1.13.0", "1.13.0-rc.1", True),
        ("1.9.0b1", "1.9.0", False),
        ("1.10", "1.9", True),
        ("3.4.1", "3.5.0", False),
        ("2", "1.99.99", True),
    ],
)
def test_retire_version_order(a: str, b: str, expected: bool) -> None:
    assert is_at_or_above(a, b) is expected


def test_megabyte_lines_and_hostile_patterns_stay_linear() -> None:
    hostile = {
        "evil": {
            "vulnerabilities": [],
            "extractors": {"filecontent": [f"(a+)+b ({V})", f"(x|x|x)*y({V})"]},
        }
    }
    repository = parse_repository(json.dumps(hostile), "hostile")
    assert repository.detect_content(b"a" * 2_000_000) == []
    assert repository.detect_content(b"x" * 2_000_000) == []


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"a": 1}', json.dumps({"x": {"vulnerabilities": []}}).encode()],
)
def test_unusable_files_raise_a_clear_error(data: bytes) -> None:
    with pytest.raises(VulnDbError, match=r"The signature file bad\.json"):
        parse_repository(data, "bad.json")


def test_the_shipped_set_is_valid_and_covers_the_common_libraries() -> None:
    repository = load_repository(SHIPPED)
    assert repository.skipped_patterns == 0
    assert len(repository.components) >= 15
    for name in ("jquery", "jquery-ui", "lodash", "underscore", "moment", "angularjs"):
        assert name in repository.components
    for name in ("bootstrap", "handlebars", "dompurify", "react", "vue", "knockout"):
        assert name in repository.components
    for name in ("backbone", "ember", "mustache"):
        assert name in repository.components
    for vulns in repository.vulnerabilities.values():
        for vuln in vulns:
            assert vuln.ids and vuln.severity in {"low", "medium", "high", "critical"}


@pytest.mark.parametrize(
    ("text", "component", "version"),
    [
        ("/*! jQuery v3.4.1 | (c) JS Foundation and other contributors */", "jquery", "3.4.1"),
        ("/*! jQuery UI - v1.12.1 - 2016-09-14", "jquery-ui", "1.12.1"),
        (
            "/**\n * @license\n * Lodash <https://lodash.com/>\n */\n;(function() {\n"
            "  var undefined;\n\n  /** Used as the semantic version number. */\n"
            "  var VERSION = '4.17.15';\n\n  "
            "/** Used as the size to enable large array optimizations. */",
            "lodash",
            "4.17.15",
        ),
        ("//     Underscore.js 1.9.1\n//     http://underscorejs.org", "underscore", "1.9.1"),
        ("//! moment.js\n//! version : 2.29.1\n//! authors", "moment", "2.29.1"),
        ("/*\n AngularJS v1.7.8\n (c) 2010-2018 Google, Inc.", "angularjs", "1.7.8"),
        ("/*!\n * Bootstrap v4.3.1 (https://getbootstrap.com/)", "bootstrap", "4.3.1"),
        ("/**!\n\n @license\n handlebars v4.7.6\n\nCopyright", "handlebars", "4.7.6"),
        ("/*! @license DOMPurify 2.3.3 | (c) Cure53", "dompurify", "2.3.3"),
        ("/** @license React v16.14.0\n * react.production.min.js", "react", "16.14.0"),
        ("/** @license React v16.4.1\n * react-dom.production.min.js", "react-dom", "16.4.1"),
        ("/*!\n * Vue.js v2.6.14\n * (c) 2014-2021 Evan You", "vue", "2.6.14"),
        ("/*!\n * Knockout JavaScript library v3.4.2\n", "knockout", "3.4.2"),
        ("//     Backbone.js 1.4.0\n", "backbone", "1.4.0"),
        ('var mustache = {\n    name: "mustache.js",\n    version: "2.2.0",', "mustache", "2.2.0"),
        ("/* axios v0.21.1 | (c) 2020 by Matt Zabriskie */", "axios", "0.21.1"),
    ],
)
def test_shipped_banners(text: str, component: str, version: str) -> None:
    found = load_repository(SHIPPED).detect_content(text.encode())
    assert Detection(component, version, "filecontent") in found


def test_lodash_licence_banner_is_not_underscore() -> None:
    banner = (
        b"/** @license Lodash lodash.com/license | Underscore.js 1.8.3 underscorejs.org/LICENSE */"
    )
    assert load_repository(SHIPPED).detect_content(banner) == []


# ---------------------------------------------------------------------------------------------
# Where the file comes from, and `update`


def test_load_prefers_the_env_file_then_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECTGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(retire.ENV_REPOSITORY, raising=False)
    assert load_repository().source == "the shipped signature set"

    updated = repository_path(tmp_path / "data")
    updated.parent.mkdir(parents=True)
    updated.write_text(json.dumps(SAMPLE))
    assert load_repository().components == ("widget",)

    own = tmp_path / "mine.json"
    own.write_text("{broken")
    monkeypatch.setenv(retire.ENV_REPOSITORY, str(own))
    with pytest.raises(VulnDbError, match="not valid JSON"):
        load_repository()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_update_installs_a_valid_download(server: str, tmp_path: Path) -> None:
    _Handler.files = {"/repo/jsrepository.json": json.dumps(SAMPLE).encode()}
    seen: list[tuple[str, int, int]] = []
    path = update(server + "/repo/", tmp_path, lambda *p: seen.append(p))
    assert path == repository_path(tmp_path)
    assert load_repository(path).components == ("widget",)
    size = len(_Handler.files["/repo/jsrepository.json"])
    assert seen[-1] == ("signatures", size, size)


def test_a_failed_update_keeps_the_previous_file(server: str, tmp_path: Path) -> None:
    _Handler.files = {"/ok.json": json.dumps(SAMPLE).encode(), "/bad.json": b"<html>oops</html>"}
    path = update(server + "/ok.json", tmp_path)
    before = path.read_bytes()
    with pytest.raises(VulnDbError, match="not valid JSON"):
        update(server + "/bad.json", tmp_path)
    with pytest.raises(VulnDbError, match="answered 404"):
        update(server + "/missing.json", tmp_path)
    with pytest.raises(VulnDbError, match="not an http"):
        update("file:///etc/passwd.json", tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["jsrepository.json"]


def test_update_refuses_an_oversized_download(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retire, "MAX_DOWNLOAD_BYTES", 1000)
    _Handler.files = {"/big.json": b" " * 5000}
    with pytest.raises(VulnDbError, match="larger than"):
        update(server + "/big.json", tmp_path)
    assert not repository_path(tmp_path).exists()
