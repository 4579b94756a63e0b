"""The HTML report opened in real headless Chromium (Debian's `chromium`): the counts it shows
after rendering, the charts drawn, no request to anywhere, and a screenshot that is saved
(to $CONNECTGUARD_ARTIFACTS when set, else next to the test's temporary files)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from connectguard.report.html import render_html
from connectguard.store.queries import AppReport

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
FAIL_RED = (0xB4, 0x23, 0x18)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


class DomCounts(HTMLParser):
    """What the rendered DOM shows: data-count values, finding rows, chart marks, links."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.statuses: Counter[str] = Counter()
        self.bars: Counter[str] = Counter()
        self.points: Counter[str] = Counter()
        self.verdicts: dict[str, str] = {}
        self.external: list[str] = []
        self.scripts = 0
        self.title = ""
        self._open_count: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self._open_count = a.get("data-count")
        self._in_title = tag == "title" and not self.title  # the page's, not an SVG tooltip
        self.scripts += tag == "script"
        if "data-status" in a:
            self.statuses[a["data-status"]] += 1
        if "data-bar" in a:
            self.bars[a["data-bar"]] += 1
        if "data-point" in a:
            self.points[a["data-point"]] += 1
        if "data-requirement" in a:
            self.verdicts[a["data-requirement"]] = a["data-verdict"]
        for name in ("src", "href", "action", "srcset", "poster"):
            if name in a:
                self.external.append(f"{tag} {name}={a[name]}")

    def handle_data(self, data: str) -> None:
        if self._open_count is not None and data.strip():
            self.counts[self._open_count] = int(data.strip())
            self._open_count = None
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False if tag == "title" else self._in_title


def red_pixels(png: bytes) -> tuple[int, int, int]:
    """Width, height and the number of pixels in the fail colour of an 8-bit RGB(A) PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert depth == 8 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    data, offset = b"", 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        if kind == b"IDAT":
            data += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels
    previous = bytearray(stride)
    red = 0
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + guess) & 0xFF
        for x in range(0, stride, channels):
            red += tuple(line[x : x + 3]) == FAIL_RED
        previous = line
    return width, height, red


@pytest.fixture
def report_file(tmp_path: Path, history_report: AppReport) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(history_report), encoding="utf-8")
    return path


def test_report_counts_as_chromium_renders_them(tmp_path: Path, report_file: Path) -> None:
    dom = DomCounts()
    dom.feed(chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout)

    assert dom.counts == {
        "verdict-fail": 4,
        "verdict-inconclusive": 1,
        "verdict-pass": 10,
        "verdict-not_tested": 0,
        "verdict-not_applicable": 0,
        "unfixed": 2,
        "overdue": 1,
        "fixed": 2,
        "suppressed": 1,
    }
    assert dom.statuses == {"open": 1, "regressed": 1, "fixed": 2, "suppressed": 1}
    assert dom.verdicts["15"] == "fail" and dom.verdicts["6"] == "inconclusive"
    assert dom.bars == {"overdue": 1, "low": 1}  # the cookie is late, the referrer is not
    assert dom.points == {"open": 5, "overdue": 5}
    # The app's name and a finding's markup are text: nothing runs, nothing is fetched.
    assert dom.title == "connectguard report: Report <App>"
    assert dom.scripts == 0
    assert dom.external == []


def test_report_screenshot(tmp_path: Path, report_file: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", report_file.as_uri())
    width, height, red = red_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    # The fail tiles, badges and the overdue bar are drawn in the fail colour.
    assert red > 500
    artifacts = os.environ.get("CONNECTGUARD_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "html-report.png")


def test_report_is_self_contained(report_file: Path, hostile_summary: str) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert "<script" not in html.replace("&lt;script", "")
    assert "&lt;script&gt;document.title" in html
    assert hostile_summary not in html
    for marker in ("http://", "//fonts", "@import", "url("):
        assert marker not in html.split("<body>")[0]
