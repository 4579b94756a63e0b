"""`connectguard db update` against OSV archives served on 127.0.0.1: a fresh download, an
unchanged archive, a transfer that breaks off and is resumed with a Range request, a file that
fails its MD5 or zip check (and leaves the previous data in place), progress reporting."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectguard.cli import app
from connectguard.vulndb import update
from connectguard.vulndb.osv import OsvDatabase
from connectguard.vulndb.update import UpdateError, download, update_osv

runner = CliRunner()


def archive(count: int, name: str = "lodash", seed: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
        for number in range(count):
            record = {
                "id": f"GHSA-test-{number}",
                "summary": f"advisory {number} {seed}",
                "affected": [
                    {
                        "package": {
                            "ecosystem": "npm",
                            "name": name if number == 0 else f"p{number}",
                        },
                        "ranges": [
                            {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "9.0.0"}]}
                        ],
                    }
                ],
                "details": "x" * 2000,
            }
            bundle.writestr(f"GHSA-test-{number}.json", json.dumps(record))
    return buffer.getvalue()


@dataclass
class Mirror:
    """What the loopback server serves, and what it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    break_after: int | None = None
    trickle: bool = False  # the first answer drips 10 bytes every 50 ms, then is cut
    lie_about_md5: bool = False
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def put(self, path: str, data: bytes, etag: str) -> None:
        self.files[path], self.etags[path] = data, etag


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mirror: Mirror

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        mirror = self.mirror
        mirror.requests.append(
            {"path": self.path, **{k.lower(): v for k, v in self.headers.items()}}
        )
        data, etag = mirror.files.get(self.path), mirror.etags.get(self.path, "")
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        start = 0
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and self.headers.get("If-Range") == etag:
            start = int(ranged[6:].split("-")[0])
        body = data[start:]
        md5 = hashlib.md5(b"lie" if mirror.lie_about_md5 else data).digest()
        self.send_response(206 if start else 200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-goog-hash", "crc32c=AAAAAA==")
        self.send_header("x-goog-hash", f"md5={base64.b64encode(md5).decode()}")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if mirror.trickle:
            mirror.trickle = False
            with contextlib.suppress(OSError):  # the client gives up first
                for offset in range(0, min(len(body), 2000), 10):  # bounded: 10 s at most
                    self.wfile.write(body[offset : offset + 10])
                    self.wfile.flush()
                    time.sleep(0.05)
            self.close_connection = True
            return
        if mirror.break_after is not None:
            cut, mirror.break_after = mirror.break_after, None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    state = Mirror()
    handler = type("Handler", (_Handler,), {"mirror": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_fresh_download_is_indexed_and_then_not_downloaded_again(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.put("/npm/all.zip", archive(30), '"v1"')
    seen: list[tuple[str, int, int]] = []
    (result,) = update_osv(mirror.url, tmp_path, lambda *a: seen.append(a), ["npm"])
    assert result.changed and result.advisories == 30
    assert any(phase == "OSV npm" and done == total for phase, done, total in seen)
    database = OsvDatabase(tmp_path)
    try:
        (advisory,) = database.lookup("npm", "lodash", "4.17.20")
        assert advisory.id == "GHSA-test-0" and advisory.fixed == "9.0.0"
    finally:
        database.close()
    (again,) = update_osv(mirror.url, tmp_path, ecosystems=["npm"])
    assert not again.changed and again.advisories == 30
    assert mirror.requests[-1]["if-none-match"] == '"v1"'


def test_a_broken_transfer_is_resumed_with_a_range_request(mirror: Mirror, tmp_path: Path) -> None:
    data = archive(200)
    mirror.put("/npm/all.zip", data, '"v2"')
    mirror.break_after = len(data) // 3
    (result,) = update_osv(mirror.url, tmp_path, ecosystems=["npm"])
    assert result.changed and result.advisories == 200
    first, second = mirror.requests
    assert "range" not in first
    assert second["range"] == f"bytes={len(data) // 3}-" and second["if-range"] == '"v2"'
    assert (tmp_path / "osv" / "npm" / "all.zip").read_bytes() == data
    assert not (tmp_path / "osv" / "npm" / "all.zip.part").exists()


def test_a_trickling_mirror_is_broken_off_and_resumed(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(update, "STALL_SECONDS", 0.3)
    monkeypatch.setattr(update, "STALL_BYTES", 10_000)
    data = archive(50)
    mirror.put("/npm/all.zip", data, '"v3"')
    mirror.trickle = True
    started = time.monotonic()
    (result,) = update_osv(mirror.url, tmp_path, ecosystems=["npm"])
    assert result.changed and result.advisories == 50
    assert time.monotonic() - started < 5
    first, second = mirror.requests
    assert "range" not in first and second["range"].startswith("bytes=")
    assert (tmp_path / "osv" / "npm" / "all.zip").read_bytes() == data


def test_a_changed_archive_restarts_the_resume(mirror: Mirror, tmp_path: Path) -> None:
    old, new = archive(50, seed="old"), archive(50, seed="new")
    dest = tmp_path / "all.zip"
    (tmp_path / "all.zip.part").write_bytes(old[:1000])
    (tmp_path / "all.zip.part.json").write_text(
        json.dumps({"url": f"{mirror.url}/npm/all.zip", "etag": '"old"'})
    )
    mirror.put("/npm/all.zip", new, '"new"')
    fetched = download(f"{mirror.url}/npm/all.zip", dest)
    assert fetched.path.read_bytes() == new
    assert mirror.requests[0]["if-range"] == '"old"'


def test_an_md5_mismatch_discards_the_file_and_keeps_the_old_data(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.put("/npm/all.zip", archive(5), '"v1"')
    update_osv(mirror.url, tmp_path, ecosystems=["npm"])
    mirror.put("/npm/all.zip", archive(6), '"v2"')
    mirror.lie_about_md5 = True
    with pytest.raises(UpdateError, match="MD5"):
        update_osv(mirror.url, tmp_path, ecosystems=["npm"])
    database = OsvDatabase(tmp_path)
    try:
        assert len(database.lookup("npm", "lodash", "1.0.0")) == 1
    finally:
        database.close()


def test_a_corrupt_zip_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    data = bytearray(archive(5))
    data[200:260] = b"\xff" * 60
    mirror.put("/npm/all.zip", bytes(data), '"bad"')
    with pytest.raises(UpdateError, match="not a valid zip"):
        update_osv(mirror.url, tmp_path, ecosystems=["npm"])
    assert not (tmp_path / "osv" / "npm" / "all.zip").exists()


def test_the_command_line(mirror: Mirror, tmp_path: Path) -> None:
    mirror.put("/PyPI/all.zip", archive(3), '"p"')
    result = runner.invoke(
        app,
        [
            "db",
            "update",
            "--osv-url",
            mirror.url,
            "-e",
            "PyPI",
            "--no-retire",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "OSV PyPI: updated, 3 advisories" in result.output
    missing = runner.invoke(
        app,
        [
            "db",
            "update",
            "--osv-url",
            mirror.url,
            "-e",
            "Go",
            "--no-retire",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert missing.exit_code == 3
    assert "HTTP 404" in missing.output
    unknown = runner.invoke(app, ["db", "update", "-e", "CRAN", "--data-dir", str(tmp_path)])
    assert unknown.exit_code == 2 and "Unknown ecosystem" in unknown.output


def test_a_failed_signature_download_does_not_hide_the_osv_update(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.put("/npm/all.zip", archive(2), '"n"')
    args = ["db", "update", "--osv-url", mirror.url, "-e", "npm", "--data-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--retire-url", f"{mirror.url}/missing/"])
    assert "OSV npm: updated, 2 advisories" in result.output
    assert "answered 404" in result.output
    assert result.exit_code == 3  # a download that failed, as for OSV: worth trying again
    assert (tmp_path / "osv" / "npm" / "all.zip").exists()


def test_bad_update_options_are_one_sentence_and_exit_2(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["--osv-url", "notaurl"], "is not an http(s) URL"),
        (["--osv-url", "ftp://mirror.example/osv"], "is not an http(s) URL"),
        (["--data-dir", str(afile)], "is a file, not a folder"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["db", "update", "--no-retire", "-e", "npm", *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
