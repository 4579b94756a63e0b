"""`connectguard db update`: download OSV's per-ecosystem archives into the data folder.

For each ecosystem, `{base_url}/{ecosystem}/all.zip` is fetched into `osv/{ecosystem}/`:

- resumable: bytes land in `all.zip.part`; a broken transfer is resumed with a `Range` request
  (guarded by `If-Range`), both within the run and by the next run;
- conditional: an unchanged archive (same ETag) is not downloaded again;
- checked: the length, the MD5 the server states (`x-goog-hash` or `Content-MD5`), and the CRC of
  every member of the zip must hold before the archive replaces the previous one;
- indexed: an SQLite table from package name to the archive members that name it is built
  beside the archive, so a scan reads only the advisories of its own dependencies.

`download()` is generic: the client-side library data uses it too.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import ssl
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from urllib.parse import quote

from connectguard import __version__
from connectguard.errors import ConnectGuardError
from connectguard.vulndb.osv import (
    ARCHIVE,
    ECOSYSTEMS,
    INDEX,
    META,
    ecosystem_dir,
    index_names,
)

log = logging.getLogger(__name__)

DEFAULT_OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com"
CHUNK = 1 << 20
ATTEMPTS = 4
TIMEOUT = 60.0
# A mirror that trickles (each byte inside the socket timeout) must not hold the update for
# ever: a transfer that brings less than STALL_BYTES in STALL_SECONDS is broken off, and
# resumed like any broken transfer.
STALL_SECONDS = 60.0
STALL_BYTES = 64 << 10
MAX_ARCHIVE_BYTES = 4 << 30
Progress = Callable[[str, int, int], None]


class UpdateError(ConnectGuardError):
    """The vulnerability data could not be downloaded or failed its check."""

    exit_code = 3


@dataclass(frozen=True)
class Downloaded:
    path: Path
    changed: bool
    etag: str = ""
    size: int = 0


@dataclass(frozen=True)
class EcosystemUpdate:
    ecosystem: str
    changed: bool
    advisories: int
    size: int


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def _opener(ca_file: str | None) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=ca_file)
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


def _read_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def download(
    url: str,
    dest: Path,
    progress: Progress = _no_progress,
    phase: str = "download",
    ca_file: str | None = None,
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> Downloaded:
    """Fetch `url` into `dest.part` (resuming what an earlier attempt left there) and return it
    checked; `changed` is False when the server says the copy at `dest` is current. The caller
    moves the part file into place once it has checked the content."""
    part = dest.with_name(dest.name + ".part")
    state_file = dest.with_name(dest.name + ".part.json")
    current = _read_json(dest.with_name(dest.name + ".meta.json"))
    opener = _opener(ca_file)
    last_error = ""
    for attempt in range(ATTEMPTS):
        state = _read_json(state_file)
        if not part.exists() or state.get("url") != url:
            part.unlink(missing_ok=True)
            state = {"url": url}
        request = _request(url, part, state, current if dest.exists() else {})
        try:
            with contextlib.closing(opener.open(request, timeout=TIMEOUT)) as response:
                return _receive(response, url, dest, part, state_file, progress, phase, max_bytes)
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return Downloaded(dest, False, current.get("etag", ""), dest.stat().st_size)
            if exc.code == 416:
                part.unlink(missing_ok=True)
                state_file.unlink(missing_ok=True)
                last_error = "the server refused to resume"
                continue
            raise UpdateError(f"{url} answered HTTP {exc.code}.") from None
        except (urllib.error.URLError, HTTPException, OSError, TimeoutError) as exc:
            last_error = str(getattr(exc, "reason", exc)) or type(exc).__name__
            log.info("download of %s broke off (%s); resuming", url, last_error)
            time.sleep(min(0.2 * 2**attempt, 2.0))
    raise UpdateError(
        f"Could not download {url} after {ATTEMPTS} attempts: {last_error}.",
        hint="Run the command again: it resumes where the download stopped.",
    )


def _request(
    url: str, part: Path, state: dict[str, str], current: dict[str, str]
) -> urllib.request.Request:
    headers = {"User-Agent": f"connectguard/{__version__}", "Accept-Encoding": "identity"}
    have = part.stat().st_size if part.exists() else 0
    validator = state.get("etag") or state.get("last_modified")
    if have and validator:
        headers["Range"] = f"bytes={have}-"
        headers["If-Range"] = validator
    elif current.get("etag"):
        headers["If-None-Match"] = current["etag"]
    return urllib.request.Request(url, headers=headers)


def _receive(
    response: HTTPResponse,
    url: str,
    dest: Path,
    part: Path,
    state_file: Path,
    progress: Progress,
    phase: str,
    max_bytes: int,
) -> Downloaded:
    headers = response.headers
    resumed = response.status == 206
    offset = part.stat().st_size if resumed and part.exists() else 0
    length = int(headers.get("Content-Length") or 0)
    total = offset + length if length else 0
    if total > max_bytes:
        raise UpdateError(f"{url} is {total} bytes, above the {max_bytes}-byte limit.")
    state = {
        "url": url,
        "etag": headers.get("ETag", ""),
        "last_modified": headers.get("Last-Modified", ""),
        "md5": _stated_md5(headers.get_all("x-goog-hash") or [], headers.get("Content-MD5")),
        "total": str(total),
    }
    state_file.write_text(json.dumps(state), encoding="utf-8")
    done = offset
    window_start, window_bytes = time.monotonic(), 0
    with open(part, "ab" if resumed else "wb") as out:
        # read1 returns what has arrived, so a trickle is seen as one, not waited out.
        while chunk := response.read1(CHUNK):
            out.write(chunk)
            done += len(chunk)
            if done > max_bytes:
                raise UpdateError(f"{url} is larger than the {max_bytes}-byte limit.")
            progress(phase, done, total)
            window_bytes += len(chunk)
            if time.monotonic() - window_start >= STALL_SECONDS:
                if window_bytes < STALL_BYTES:
                    raise HTTPException(
                        f"the transfer stalled ({window_bytes} bytes in {STALL_SECONDS:.0f} s)"
                    )
                window_start, window_bytes = time.monotonic(), 0
    if total and done != total:
        raise HTTPException(f"the transfer ended after {done} of {total} bytes")
    _check_md5(part, state["md5"], url)
    return Downloaded(part, True, state["etag"], done)


def _stated_md5(goog_hashes: Iterable[str], content_md5: str | None) -> str:
    for header in goog_hashes:
        for item in header.split(","):
            name, _, value = item.strip().partition("=")
            if name == "md5" and value:
                return value
    return content_md5 or ""


def _check_md5(path: Path, stated: str, url: str) -> None:
    if not stated:
        return
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    if base64.b64encode(digest.digest()).decode() != stated:
        path.unlink(missing_ok=True)
        raise UpdateError(
            f"The file downloaded from {url} does not match the MD5 the server stated; "
            "it was discarded.",
            hint="Run the command again to download it afresh.",
        )


def update_osv(
    base_url: str,
    data_dir: Path,
    progress: Progress = _no_progress,
    ecosystems: Iterable[str] = ECOSYSTEMS,
    ca_file: str | None = None,
) -> list[EcosystemUpdate]:
    """Bring the local OSV copy of every named ecosystem up to date; returns what changed."""
    results = []
    for ecosystem in ecosystems:
        if ecosystem not in ECOSYSTEMS:
            raise UpdateError(
                f"Unknown ecosystem {ecosystem!r}: use one of {', '.join(ECOSYSTEMS)}."
            )
        results.append(_update_one(base_url.rstrip("/"), data_dir, ecosystem, progress, ca_file))
    return results


def _update_one(
    base_url: str, data_dir: Path, ecosystem: str, progress: Progress, ca_file: str | None
) -> EcosystemUpdate:
    folder = ecosystem_dir(data_dir, ecosystem)
    folder.mkdir(parents=True, exist_ok=True)
    archive, index = folder / ARCHIVE, folder / INDEX
    url = f"{base_url}/{quote(ecosystem)}/{ARCHIVE}"
    fetched = download(url, archive, progress, f"OSV {ecosystem}", ca_file)
    if not fetched.changed and index.is_file():
        meta = _read_json(folder / META)
        return EcosystemUpdate(ecosystem, False, int(meta.get("advisories", 0)), fetched.size)
    source = fetched.path if fetched.changed else archive
    count = build_index(source, ecosystem, index.with_suffix(".tmp"), url, progress)
    if fetched.changed:
        os.replace(fetched.path, archive)
        archive.with_name(ARCHIVE + ".part.json").unlink(missing_ok=True)
    os.replace(index.with_suffix(".tmp"), index)
    meta = {"url": url, "etag": fetched.etag, "advisories": str(count)}
    meta["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    (folder / (ARCHIVE + ".meta.json")).write_text(json.dumps(meta), encoding="utf-8")
    log.info("OSV %s: %d advisories", ecosystem, count)
    return EcosystemUpdate(ecosystem, True, count, archive.stat().st_size)


def build_index(archive: Path, ecosystem: str, out: Path, url: str, progress: Progress) -> int:
    """Check every member's CRC and build the name -> member index; returns the record count."""
    out.unlink(missing_ok=True)
    try:
        with zipfile.ZipFile(archive) as bundle:
            broken = bundle.testzip()
            if broken is not None:
                raise zipfile.BadZipFile(f"member {broken} fails its CRC check")
            count = _write_index(bundle, ecosystem, out, progress)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        archive.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        raise UpdateError(
            f"The archive downloaded from {url} is not a valid zip ({exc}); it was discarded.",
            hint="Run the command again to download it afresh.",
        ) from None
    return count


def _write_index(bundle: zipfile.ZipFile, ecosystem: str, out: Path, progress: Progress) -> int:
    members = [m for m in bundle.namelist() if m.endswith(".json")]
    connection = sqlite3.connect(out)
    try:
        connection.execute("CREATE TABLE advisories (name TEXT NOT NULL, member TEXT NOT NULL)")
        count = 0
        for number, member in enumerate(members, start=1):
            try:
                record = json.loads(bundle.read(member))
            except ValueError:
                log.warning("skipped %s of the %s archive: not valid JSON", member, ecosystem)
                continue
            names = set(index_names(record, ecosystem)) if isinstance(record, dict) else set()
            connection.executemany(
                "INSERT INTO advisories VALUES (?, ?)", [(n, member) for n in names]
            )
            count += 1
            if number % 500 == 0 or number == len(members):
                progress(f"index {ecosystem}", number, len(members))
        connection.execute("CREATE INDEX by_name ON advisories (name)")
        connection.commit()
    finally:
        connection.close()
    return count
