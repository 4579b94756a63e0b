"""The hostile fixtures: apps that try to hang, crash, exhaust or misuse the scanner.

Each `Hostile` starts its loopback servers, runs `connectguard scan` in a child process (the
command a user runs, with small limits), and checks the outcome: the scan ended within its
deadline, its peak memory (the child's max RSS) stayed under the bound, the verdicts are
defined (or the scan was refused with one sentence and exit code 2), and what the good
endpoints served was still judged. The test suite runs every fixture; `bench/hostile.py`
runs them for the table in docs/hostile.md.

Most fixtures serve the same small app: `/good`, a page that denies every token but sets a
session cookie without `HttpOnly` and `Secure` (so requirement 11 must fail there, proof that
it was judged), and `/bad`, where the hostile behaviour lives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brotli
from hostile_servers import (
    BlackHoleDns,
    Conn,
    Handler,
    LoopbackDns,
    RawServer,
    Request,
    response,
    response_head,
    static,
)

HERE = Path(__file__).resolve().parent
CHILD = HERE / "scan_child.py"
TEST_NETWORK = "127.0.0.1/32"  # what the guard lets through in guarded fixtures
DEADLINE = 5.0
TIMEOUT = 1.0
STARTUP_ALLOWANCE = 10.0  # interpreter start, imports and report, on a loaded 2-core machine
HARD_STOP = 60.0  # a child still running this long after its deadline is killed: a hang
PEAK_MB = 200.0  # measured: a benign scan of the same app peaks at ~107 MB (docs/hostile.md)
MB = 1024 * 1024
GOOD_COOKIE = "session=8f14e45fceea167a5a36dedd4bea2543; Path=/"
DNS_SUFFIX = "hostile.test"


# --- running a scan in a child process -----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one child scan did: exit code, the JSON report if any, stderr, time, peak memory."""

    exit_code: int
    report: dict[str, Any] | None
    stderr: str
    seconds: float
    peak_mb: float

    def verdict(self, requirement: str) -> str:
        assert self.report is not None, self.stderr
        return str(self.report["requirements"][requirement]["verdict"])

    def reason(self, requirement: str) -> str:
        assert self.report is not None, self.stderr
        return str(self.report["requirements"][requirement]["reason"])

    def findings(self, requirement: str) -> list[dict[str, Any]]:
        assert self.report is not None, self.stderr
        return list(self.report["requirements"][requirement]["findings"])

    def failing_paths(self, requirement: str) -> set[str]:
        return {f["path"] for f in self.findings(requirement) if f["level"] == "fail"}

    @property
    def notes(self) -> list[str]:
        assert self.report is not None, self.stderr
        return list(self.report["notes"])

    def all_errors(self) -> list[str]:
        """Every exchange error in the evidence of every finding."""
        assert self.report is not None
        return [
            e["error"]
            for r in self.report["requirements"].values()
            for f in r["findings"]
            for e in f["evidence"]
            if e["error"]
        ]


def run_child(args: list[str], deadline: float, exempt: str | None = None) -> Outcome:
    """Run `connectguard <args> --format json -o FILE` in a child; measure its time and max RSS."""
    with tempfile.TemporaryDirectory(prefix="cg-hostile-") as folder:
        report_file = Path(folder) / "report.json"
        stderr_file = Path(folder) / "stderr.txt"
        peak_file = Path(folder) / "peak.txt"
        command = [sys.executable, str(CHILD), "--peak-file", str(peak_file)]
        if exempt is not None:
            command += ["--exempt", exempt]
        command += [*args, "--format", "json", "--output", str(report_file)]
        started = time.monotonic()
        with open(stderr_file, "wb") as err, open(os.devnull, "wb") as out:
            pid = _spawn(command, out.fileno(), err.fileno())
            status = _wait(pid, started + deadline + HARD_STOP)
        seconds = time.monotonic() - started
        text = report_file.read_text("utf-8") if report_file.exists() else ""
        peak_kb = int(peak_file.read_text("ascii")) if peak_file.exists() else -1
        return Outcome(
            exit_code=os.waitstatus_to_exitcode(status),
            report=json.loads(text) if text else None,
            stderr=stderr_file.read_text("utf-8", errors="replace"),
            seconds=round(seconds, 2),
            peak_mb=round(peak_kb / 1024, 1) if peak_kb >= 0 else float("inf"),
        )


def _spawn(command: list[str], stdout: int, stderr: int) -> int:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return os.posix_spawn(
        command[0],
        command,
        env,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ],
    )


def _wait(pid: int, kill_at: float) -> int:
    """Wait for the child, killing it at `kill_at` (a hang); its exit status."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > kill_at:
            os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.02)


# --- the fixtures ------------------------------------------------------------------------


@dataclass
class Setup:
    """A fixture's running servers and the command line to scan them."""

    target: str
    args: list[str] = field(default_factory=list)
    servers: dict[str, RawServer] = field(default_factory=dict)
    dns: LoopbackDns | None = None
    exempt: str | None = None  # a network the guard lets through (guarded fixtures only)


@dataclass(frozen=True)
class Hostile:
    """One hostile app: what it does, the limit that stops it, and what the outcome must be."""

    name: str
    attack: str
    stopped_by: str
    start: Callable[[contextlib.ExitStack], Setup]
    check: Callable[[Outcome, Setup], None]
    deadline: float = DEADLINE
    peak_mb: float = PEAK_MB

    def run(self) -> tuple[Outcome, Setup]:
        with contextlib.ExitStack() as stack:
            setup = self.start(stack)
            args = [
                "scan",
                setup.target,
                "--deadline",
                f"{self.deadline:g}",
                "--timeout",
                f"{TIMEOUT:g}",
                *setup.args,
            ]
            outcome = run_child(args, self.deadline, setup.exempt)
            return outcome, setup

    def assert_bounded(self, outcome: Outcome) -> None:
        """Ended inside its deadline and its memory bound, never with a traceback."""
        assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
        assert outcome.exit_code in {0, 1, 2, 3}, (outcome.exit_code, outcome.stderr[-3000:])
        assert outcome.seconds <= self.deadline + STARTUP_ALLOWANCE, outcome.seconds
        assert outcome.peak_mb <= self.peak_mb, outcome.peak_mb


def _dns(stack: contextlib.ExitStack, answers: dict[str, tuple[str, ...]] | None = None) -> Any:
    return stack.enter_context(LoopbackDns(answers))


def _server(stack: contextlib.ExitStack, routes: dict[str, Handler] | None = None) -> RawServer:
    return stack.enter_context(RawServer(routes))


def json_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


def descriptor_route(build: Callable[[], Any]) -> Handler:
    async def handle(request: Request, conn: Conn) -> None:
        body = json_bytes(build())
        await conn.send(response(200, body, content_type="application/json"))

    return handle


def good_page() -> Handler:
    """Denies every token (401) and sets a session cookie without HttpOnly and Secure."""
    return static(
        response(
            401,
            b"<html><body>sign in through Jira</body></html>",
            [
                ("Set-Cookie", GOOD_COOKIE),
                ("Cache-Control", "no-cache, no-store"),
                ("Referrer-Policy", "no-referrer"),
            ],
        )
    )


def victim(
    stack: contextlib.ExitStack,
    bad: Handler,
    *,
    modules: dict[str, Any] | None = None,
    descriptor: Callable[[str], dict[str, Any]] | None = None,
) -> Setup:
    """The standard app on one loopback origin: /good judged, /bad hostile."""
    dns = _dns(stack)
    server = _server(stack, {"/good": good_page(), "/bad": bad})

    def build() -> dict[str, Any]:
        if descriptor is not None:
            return descriptor(server.origin)
        return victim_descriptor(server.origin, modules)

    server.routes["/atlassian-connect.json"] = descriptor_route(build)
    return Setup(
        target=server.url("/atlassian-connect.json"),
        args=["--plain-http-port", str(server.port), "--nameserver", dns.nameserver],
        servers={"app": server},
        dns=dns,
    )


def victim_descriptor(base: str, modules: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "key": "hostile-app",
        "name": "Hostile App",
        "baseUrl": base,
        "authentication": {"type": "jwt"},
        "modules": modules
        or {
            "generalPages": [
                {"key": "good", "url": "/good", "name": {"value": "Good"}},
                {"key": "bad", "url": "/bad", "name": {"value": "Bad"}},
            ]
        },
    }


# --- what the outcome must be ----------------------------------------------------------------


def good_still_judged(outcome: Outcome) -> None:
    """The good page's cookie was judged: requirement 11 fails there, whatever /bad did."""
    assert outcome.exit_code in {1, 3}, (outcome.exit_code, outcome.stderr[-2000:])
    assert outcome.verdict("11") == "fail", outcome.reason("11")
    assert "/good" in outcome.failing_paths("11")
    verdicts = {r["verdict"] for r in outcome.report["requirements"].values()}  # type: ignore[index]
    assert verdicts <= {"pass", "fail", "not_applicable", "inconclusive", "not_tested"}


def bad_undecided(*phrases: str) -> Callable[[Outcome, Setup], None]:
    """/bad could not be judged: requirement 5 is inconclusive and its reason says why."""

    def check(outcome: Outcome, setup: Setup) -> None:
        good_still_judged(outcome)
        assert outcome.verdict("5") == "inconclusive", outcome.reason("5")
        reason = outcome.reason("5")
        assert "/bad" in reason, reason
        assert any(phrase in reason for phrase in phrases), reason

    return check


def bad_judged(verdict: str) -> Callable[[Outcome, Setup], None]:
    """/bad answered something decidable despite its size: requirement 5 has `verdict`."""

    def check(outcome: Outcome, setup: Setup) -> None:
        good_still_judged(outcome)
        assert outcome.verdict("5") == verdict, outcome.reason("5")
        if verdict == "fail":
            assert outcome.failing_paths("5") == {"/bad"}

    return check


def refused(*phrases: str) -> Callable[[Outcome, Setup], None]:
    """The scan refused the app with one clear sentence and exit code 2."""

    def check(outcome: Outcome, setup: Setup) -> None:
        assert outcome.exit_code == 2, (outcome.exit_code, outcome.stderr[-2000:])
        assert outcome.report is None
        lines = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, outcome.stderr[-2000:]
        assert any(phrase in lines[0] for phrase in phrases), lines[0]
        assert len(lines[0]) < 600, lines[0]

    return check


def also(
    first: Callable[[Outcome, Setup], None], second: Callable[[Outcome, Setup], None]
) -> Callable[[Outcome, Setup], None]:
    def check(outcome: Outcome, setup: Setup) -> None:
        first(outcome, setup)
        second(outcome, setup)

    return check


def server_sent_at_most(name: str, limit: int) -> Callable[[Outcome, Setup], None]:
    """The scanner stopped reading early: the server could not push more than `limit` bytes."""

    def check(outcome: Outcome, setup: Setup) -> None:
        sent = setup.servers[name].stats.bytes_sent
        assert sent <= limit, f"{name} sent {sent} bytes"

    return check


def never_contacted(name: str) -> Callable[[Outcome, Setup], None]:
    def check(outcome: Outcome, setup: Setup) -> None:
        assert setup.servers[name].stats.connections == 0, setup.servers[name].stats

    return check


# --- hostile handlers ------------------------------------------------------------------------


def drip(head: bytes, byte: bytes, interval: float, count: int) -> Handler:
    """Send `head`, then `byte` every `interval` seconds, `count` times at most."""

    async def handle(request: Request, conn: Conn) -> None:
        await conn.send(head)
        for _ in range(count):
            await asyncio.sleep(interval)
            await conn.send(byte)

    return handle


def silent(seconds: float = 30.0) -> Handler:
    """Read the request, then say nothing for `seconds` (the server's own bound)."""

    async def handle(request: Request, conn: Conn) -> None:
        with contextlib.suppress(TimeoutError):
            while await asyncio.wait_for(conn.reader.read(4096), seconds):
                pass  # until the scanner gives up and closes

    return handle


def stream(head: bytes, chunk: bytes, limit_bytes: int, limit_seconds: float = 30.0) -> Handler:
    """Send `head`, then `chunk` again and again, up to `limit_bytes` or `limit_seconds`."""

    async def handle(request: Request, conn: Conn) -> None:
        await conn.send(head)
        ends = time.monotonic() + limit_seconds
        sent = 0
        while sent < limit_bytes and time.monotonic() < ends:
            await conn.send(chunk)
            sent += len(chunk)

    return handle


def chunked(status: int, chunk_size: int, limit_bytes: int) -> Handler:
    """A chunked body that never ends (until `limit_bytes`)."""
    data = b"A" * chunk_size
    frame = f"{chunk_size:x}\r\n".encode() + data + b"\r\n"
    head = response_head(status, [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")])
    return stream(head, frame, limit_bytes)


def gzip_bomb(status: int, gigabytes: int = 1, encoding: str = "gzip") -> Handler:
    """A gzip (or raw deflate) body that inflates to `gigabytes` GiB of zeros, built from one
    compressed MiB repeated: ~1 MB on the wire per GiB."""
    wbits = 31 if encoding == "gzip" else -15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * MB
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    head = response_head(status, [("Content-Type", "text/html"), ("Content-Encoding", encoding)])

    async def handle(request: Request, conn: Conn) -> None:
        await conn.send(head + first)
        for _ in range(gigabytes * 1024 - 1):
            await conn.send(repeat)

    return handle


def brotli_bomb(status: int, gigabytes: int = 1) -> Handler:
    """A brotli body of a few kilobytes that inflates to `gigabytes` GiB of zeros."""
    compressor = brotli.Compressor(quality=5)
    block = b"\0" * MB
    parts = [compressor.process(block) for _ in range(gigabytes * 1024)]
    body = b"".join(parts) + compressor.finish()
    return static(response(status, body, [("Content-Encoding", "br")], content_type="text/html"))


def many_headers(count: int) -> Handler:
    async def handle(request: Request, conn: Conn) -> None:
        await conn.send(b"HTTP/1.1 401 Unauthorized\r\n")
        lines = b"".join(b"X-Hostile-%d: %d\r\n" % (i, i) for i in range(count))
        await conn.send(lines + b"Content-Length: 0\r\nConnection: close\r\n\r\n")

    return handle


def token_shaped(size: int) -> str:
    """A JWT-shaped string of `size` characters: header, a long payload, a signature."""
    header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    payload = ("eyJpc3MiOiJqaXJhOjEyMyIsInN1YiI6IjU1NTU1In0" * (size // 43 + 1))[: size - 80]
    return f"{header}.{payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


# --- the catalogue ---------------------------------------------------------------------------


def _endpoint(
    name: str, attack: str, stopped_by: str, bad: Handler, check: Any, **extra: Any
) -> Hostile:
    """A fixture where /bad of the standard app is hostile."""
    return Hostile(name, attack, stopped_by, lambda stack: victim(stack, bad), check, **extra)


BASELINE = Hostile(
    "benign-baseline",
    "nothing: /bad denies every token, like /good (the control)",
    "-",
    lambda stack: victim(stack, static(response(401, b"no"))),
    bad_judged("pass"),
)


def catalogue() -> list[Hostile]:
    return [
        BASELINE,
        *_slow(),
        *_big(),
        *_malformed(),
        *_descriptors(),
        *_redirects(),
        *_guarded(),
    ]


def _slow() -> list[Hostile]:
    ok_head = response_head(200, [("Content-Type", "text/html"), ("Content-Length", "100000")])
    return [
        _endpoint(
            "slow-drip-headers",
            "status line, then one header byte a second",
            "request timeout (--timeout)",
            drip(b"HTTP/1.1 200 OK\r\nX-Drip: ", b"a", 1.0, 30),
            bad_undecided("timed out"),
        ),
        _endpoint(
            "slow-drip-body",
            "headers, then one body byte every half second",
            "request timeout (--timeout)",
            drip(ok_head, b"a", 0.5, 60),
            bad_undecided("timed out"),
        ),
        _endpoint(
            "accept-never-answer",
            "reads the request, never answers",
            "request timeout (--timeout)",
            silent(),
            bad_undecided("timed out"),
        ),
        Hostile(
            "silent-after-headers",
            "headers, then silence (no body byte)",
            "read timeout (--read-timeout)",
            lambda stack: _with_args(
                victim(stack, drip(ok_head, b"", 30.0, 1)),
                ["--timeout", "20", "--read-timeout", "1"],
            ),
            bad_undecided("sent nothing for 1 s"),
            deadline=8,
        ),
        Hostile(
            "many-slow-endpoints",
            "400 pages that never answer (3200 probes)",
            "scan deadline (--deadline): later probes not sent",
            lambda stack: _many_slow(stack, 400),
            also(
                bad_undecided("timed out", "deadline"),
                lambda outcome, setup: _deadline_reached(outcome),
            ),
            deadline=4,
        ),
        Hostile(
            "connection-hog",
            "30 pages answering slowly, to draw many connections at once",
            "connections per origin (--per-origin)",
            lambda stack: _with_args(_slow_pages(stack, 30), ["--per-origin", "4"]),
            also(bad_judged("pass"), _per_origin_held),
            deadline=10,
        ),
        Hostile(
            "dns-never-answers",
            "the name server takes every question and answers none",
            "DNS deadline, within the scan deadline",
            _dns_black_hole,
            _dns_undecided,
            deadline=4,
        ),
        Hostile(
            "stalled-tls-handshake",
            "baseUrl origin accepts TCP, never sends a TLS byte",
            "connect timeout; TLS probe bounded by the deadline",
            _stalled_tls,
            bad_undecided("timed out", "could not connect"),
            deadline=4,
        ),
        Hostile(
            "tls-handshake-drip",
            "baseUrl origin drips a TLS record a byte every 0.5 s",
            "request timeout; TLS probe bounded by the deadline",
            _tls_drip,
            bad_undecided("timed out", "could not connect"),
            deadline=4,
        ),
        _endpoint(
            "retry-after-forever",
            "429 with Retry-After: 10^5000 seconds",
            "retry wait capped, then the deadline",
            static(response(429, b"slow down", [("Retry-After", "9" * 5000)])),
            bad_undecided("429"),
        ),
    ]


def _with_args(setup: Setup, args: list[str]) -> Setup:
    setup.args += args
    return setup


def _deadline_reached(outcome: Outcome) -> None:
    assert "not sent: the scan deadline was reached" in outcome.reason("5")


def _slow_pages(stack: contextlib.ExitStack, count: int) -> Setup:
    async def slowly(request: Request, conn: Conn) -> None:
        await asyncio.sleep(0.05)
        await conn.send(response(401, b"no"))

    pages = [{"key": "good", "url": "/good"}]
    pages += [{"key": f"slow{i}", "url": f"/bad?n={i}"} for i in range(count)]
    return victim(stack, slowly, modules={"generalPages": pages})


def _per_origin_held(outcome: Outcome, setup: Setup) -> None:
    stats = setup.servers["app"].stats
    assert stats.connections > 200
    assert stats.most_open <= 4, stats.most_open


def _dns_black_hole(stack: contextlib.ExitStack) -> Setup:
    setup = victim(stack, static(response(401)), descriptor=_named_hosts)
    hole = stack.enter_context(BlackHoleDns())
    setup.args[setup.args.index("--nameserver") + 1] = hole.nameserver
    return setup


def _named_hosts(base: str) -> dict[str, Any]:
    document = victim_descriptor(base)
    document["links"] = [f"https://docs{i}.{DNS_SUFFIX}/" for i in range(5)]
    return document


def _dns_undecided(outcome: Outcome, setup: Setup) -> None:
    good_still_judged(outcome)
    assert outcome.verdict("4") == "inconclusive", outcome.reason("4")
    assert f"docs0.{DNS_SUFFIX}" in outcome.reason("4")


def _many_slow(stack: contextlib.ExitStack, count: int) -> Setup:
    pages = [{"key": "good", "url": "/good"}]
    pages += [{"key": f"slow{i}", "url": f"/bad?n={i}"} for i in range(count)]
    setup = victim(stack, silent(), modules={"generalPages": pages})
    return setup


def _token_page(size: int) -> bytes:
    return f"<html><script>var t='{token_shaped(size)}';</script></html>".encode()


def _many_bombs(stack: contextlib.ExitStack, count: int) -> Setup:
    pages = [{"key": "good", "url": "/good"}]
    pages += [{"key": f"bomb{i}", "url": f"/bad?n={i}"} for i in range(count)]
    return victim(stack, brotli_bomb(200), modules={"generalPages": pages})


def _stalled_tls(stack: contextlib.ExitStack) -> Setup:
    async def never_hello(conn: Conn) -> None:
        await asyncio.sleep(30)

    return _split_origins(stack, RawServer(on_connect=never_hello))


def _tls_drip(stack: contextlib.ExitStack) -> Setup:
    async def drip_record(conn: Conn) -> None:
        await conn.send(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB is coming...
        for _ in range(120):
            await asyncio.sleep(0.5)
            await conn.send(b"\x02")

    return _split_origins(stack, RawServer(on_connect=drip_record))


def _split_origins(stack: contextlib.ExitStack, hostile: RawServer) -> Setup:
    """Descriptor and /good on a sane origin; the baseUrl (so /bad) on `hostile`, over https."""
    dns = _dns(stack)
    app = _server(stack, {"/good": good_page()})
    stack.enter_context(hostile)
    base = f"https://127.0.0.1:{hostile.port}"

    def build() -> dict[str, Any]:
        modules = {
            "generalPages": [
                {"key": "good", "url": app.url("/good")},
                {"key": "bad", "url": "/bad"},
            ]
        }
        return victim_descriptor(base, modules)

    app.routes["/atlassian-connect.json"] = descriptor_route(build)
    return Setup(
        app.url("/atlassian-connect.json"),
        ["--plain-http-port", str(app.port), "--nameserver", dns.nameserver],
        {"app": app, "hostile": hostile},
        dns,
    )


def _big() -> list[Hostile]:
    page = [("Content-Type", "text/html")]
    return [
        _endpoint(
            "endless-chunked-body",
            "200, chunked body that never ends",
            "body cap (--max-body-bytes)",
            chunked(200, 64 * 1024, 512 * MB),
            also(bad_judged("fail"), server_sent_at_most("app", 200 * MB)),
        ),
        _endpoint(
            "endless-body-401",
            "401 with Content-Length 1 TB",
            "body cap (--max-body-bytes)",
            stream(
                response_head(401, [*page, ("Content-Length", str(1 << 40))]),
                b"B" * 65536,
                512 * MB,
            ),
            also(bad_judged("pass"), server_sent_at_most("app", 200 * MB)),
        ),
        _endpoint(
            "gzip-bomb",
            "200, 1 MB of gzip inflating to 1 GiB",
            "body cap after decompression",
            gzip_bomb(200),
            bad_judged("fail"),
        ),
        _endpoint(
            "deflate-bomb",
            "401, raw deflate inflating to 1 GiB",
            "body cap after decompression",
            gzip_bomb(401, encoding="deflate"),
            bad_judged("pass"),
        ),
        _endpoint(
            "brotli-bomb",
            "200, 1 KB of brotli inflating to 1 GiB",
            "body cap after decompression",
            brotli_bomb(200),
            bad_judged("fail"),
        ),
        _endpoint(
            "100k-headers",
            "100,000 header lines",
            "header count (--max-headers)",
            many_headers(100_000),
            bad_undecided("invalid HTTP response", "header"),
        ),
        _endpoint(
            "10mb-token-header",
            "one 10 MB token-shaped header value",
            "header size (--max-header-bytes)",
            static(
                response_head(401, [("X-Token", token_shaped(10 * MB)), ("Content-Length", "0")])
            ),
            bad_undecided("invalid HTTP response", "header"),
        ),
        _endpoint(
            "1mb-status-line",
            "a status line with a 1 MB reason phrase",
            "header size (--max-header-bytes)",
            static(b"HTTP/1.1 200 " + b"O" * MB + b"\r\nContent-Length: 0\r\n\r\n"),
            bad_undecided("invalid HTTP response", "line"),
        ),
        Hostile(
            "10mb-token-page",
            "200 page holding a 10 MB token-shaped value (body cap raised to 16 MiB)",
            "checks are linear: judged in time",
            lambda stack: _with_args(
                victim(stack, static(response(200, _token_page(10 * MB)))),
                ["--max-body-bytes", str(16 * MB)],
            ),
            bad_judged("fail"),
            deadline=10,
            peak_mb=PEAK_MB + 100,  # four kept 10 MB bodies, with the cap raised
        ),
        Hostile(
            "bombs-everywhere",
            "40 pages, each answering every probe with a brotli bomb",
            "body budget per scan (--max-scan-body-bytes)",
            lambda stack: _many_bombs(stack, 40),
            lambda outcome, setup: _capped_note(outcome, "bodies were cut"),
            peak_mb=PEAK_MB + 200,  # the 64 MiB body budget, and the checks' working copies
        ),
        Hostile(
            "100k-script-tags",
            "200 page loading 100,000 scripts from the app origin",
            "resources per page and per scan",
            lambda stack: victim(
                stack,
                static(
                    response(
                        200,
                        b"<html>"
                        + b"".join(b'<script src="/s%d.js"></script>' % i for i in range(100_000))
                        + b"</html>",
                    )
                ),
            ),
            bad_judged("fail"),
            deadline=10,
        ),
    ]


def _malformed() -> list[Hostile]:
    return [
        _endpoint(
            "invalid-utf8-header-values",
            "401 whose cookie and policy values hold invalid UTF-8",
            "values decoded with replacement, then judged",
            static(
                b"HTTP/1.1 401 Unauthorized\r\nSet-Cookie: sid=\xff\xfe\x80abc; Path=/\r\n"
                b"Referrer-Policy: no-\xc3\x28referrer\r\nX-Odd: \xf0\x28\x8c\xbc\r\n"
                b"Content-Length: 0\r\n\r\n"
            ),
            also(bad_judged("pass"), _cookie_judged_at_bad),
        ),
        _endpoint(
            "invalid-utf8-header-name",
            "401 with a header name of invalid UTF-8",
            "parser refuses the answer",
            static(b"HTTP/1.1 401 Unauthorized\r\nX-\xe2\x82: 1\r\nContent-Length: 0\r\n\r\n"),
            bad_undecided("invalid HTTP response"),
        ),
        _endpoint(
            "nul-in-headers",
            "401 with NUL bytes in header values",
            "parser refuses the answer",
            static(
                b"HTTP/1.1 401 Unauthorized\r\nSet-Cookie: sid=a\x00b\r\n"
                b"X-Nul: \x00\x00\r\nContent-Length: 0\r\n\r\n"
            ),
            bad_undecided("invalid HTTP response"),
        ),
        _endpoint(
            "not-http",
            "answers binary garbage",
            "parser refuses the answer",
            static(bytes(range(256)) * 64),
            bad_undecided("invalid HTTP response", "request failed"),
        ),
        _endpoint(
            "length-lie",
            "401 declaring 100000 bytes, sending 10, closing",
            "payload error recorded",
            static(response_head(401, [("Content-Length", "100000")]) + b"0123456789"),
            bad_undecided("could not be read in full"),
        ),
        _endpoint(
            "reset-mid-headers",
            "half a header block, then a TCP reset",
            "connection error recorded",
            _reset_after(b"HTTP/1.1 200 OK\r\nContent-Ty"),
            bad_undecided("closed the connection before it had answered"),
        ),
        Hostile(
            "nul-and-surrogates-in-descriptor",
            "descriptor strings with \\u0000, CR LF and lone surrogates (name, key, URLs)",
            "surrogates replaced when read; NUL, CR, LF percent-encoded in requests",
            lambda stack: victim(stack, static(response(401)), descriptor=_odd_strings),
            _odd_strings_check,
        ),
    ]


def _cookie_judged_at_bad(outcome: Outcome, setup: Setup) -> None:
    assert "/bad" in outcome.failing_paths("11"), outcome.findings("11")


def _reset_after(data: bytes) -> Handler:
    async def handle(request: Request, conn: Conn) -> None:
        await conn.send(data)
        conn.writer.transport.abort()

    return handle


def _odd_strings_check(outcome: Outcome, setup: Setup) -> None:
    good_still_judged(outcome)
    assert outcome.report is not None
    assert outcome.report["app"]["name"] == "Hostile \x00 App \ufffd"
    stats = setup.servers["app"].stats
    assert "x-injected" not in stats.header_names  # CR LF in a URL never split a header
    assert "/bad%00/x" in stats.paths()


def _odd_strings(base: str) -> dict[str, Any]:
    document = victim_descriptor(base)
    document["name"] = "Hostile \x00 App \ud800"
    document["key"] = "hostile-\udfff-app"
    document["modules"]["generalPages"] += [
        {"key": "nul", "url": "/bad\x00/x"},
        {"key": "surrogate", "url": "/bad/\ud800"},
        {"key": "ctl", "url": "/bad/\r\nX-Injected: 1"},
    ]
    return document


def _descriptors() -> list[Hostile]:
    return [
        Hostile(
            "1gb-descriptor",
            "descriptor of 1 GiB (Content-Length), streamed",
            "descriptor cap (--max-descriptor-bytes)",
            lambda stack: _descriptor_app(
                stack,
                stream(
                    response_head(
                        200,
                        [("Content-Type", "application/json"), ("Content-Length", str(1 << 30))],
                    )
                    + b'{"key": "',
                    b"k" * 65536,
                    1 << 30,
                ),
            ),
            also(refused("larger than the"), server_sent_at_most("app", 64 * MB)),
        ),
        Hostile(
            "1gb-descriptor-chunked",
            "descriptor of 1 GiB, chunked, no length",
            "descriptor cap (--max-descriptor-bytes)",
            lambda stack: _descriptor_app(stack, chunked(200, 65536, 1 << 30)),
            also(refused("larger than the"), server_sent_at_most("app", 64 * MB)),
        ),
        Hostile(
            "descriptor-gzip-bomb",
            "descriptor of 1 MB gzip inflating to 1 GiB",
            "descriptor cap after decompression",
            lambda stack: _descriptor_app(stack, gzip_bomb(200)),
            refused("larger than the"),
        ),
        Hostile(
            "descriptor-never-answers",
            "descriptor origin reads the request, never answers",
            "request timeout (--timeout)",
            lambda stack: _descriptor_app(stack, silent()),
            refused("timed out"),
        ),
        Hostile(
            "nested-100k",
            "descriptor nested 100,000 arrays deep",
            "JSON nesting refused",
            lambda stack: _descriptor_app(
                stack, static(response(200, b"[" * 100_000 + b"]" * 100_000))
            ),
            refused("nests objects or arrays too deeply"),
        ),
        Hostile(
            "nested-deep-module",
            "a module entry nested 900 objects deep (readable JSON)",
            "iterative walks; report keeps depth",
            lambda stack: victim(stack, static(response(401)), descriptor=_deep_module),
            lambda outcome, setup: good_still_judged(outcome),
        ),
        Hostile(
            "invalid-utf8-descriptor",
            "descriptor bytes that are not UTF-8",
            "refused as not text",
            lambda stack: _descriptor_app(
                stack, static(response(200, b'{"key": "\xff\xfe\xc3\x28", "name": "x"}'))
            ),
            refused("not text in UTF-8"),
        ),
        Hostile(
            "nul-bytes-descriptor",
            "raw NUL bytes inside descriptor strings",
            "refused as invalid JSON",
            lambda stack: _descriptor_app(
                stack, static(response(200, b'{"key": "a\x00b", "name": "x\x00"}'))
            ),
            refused("not valid JSON"),
        ),
        Hostile(
            "200k-module-urls",
            "200,000 module URLs (descriptor cap raised to 16 MiB)",
            "endpoints per scan (--max-endpoints)",
            lambda stack: _with_args(
                victim(stack, static(response(401)), modules=_many_modules(200_000)),
                ["--max-descriptor-bytes", str(16 * MB), "--max-endpoints", "50"],
            ),
            lambda outcome, setup: _capped_note(outcome, "endpoints were not probed"),
            deadline=10,
            peak_mb=PEAK_MB + 200,  # a 16 MiB JSON document as Python objects, with the cap raised
        ),
        Hostile(
            "20k-origins",
            "20,000 distinct https origins named in the descriptor",
            "origins per scan (--max-origins)",
            lambda stack: _with_args(
                victim(stack, static(response(401)), descriptor=_many_origins),
                ["--max-descriptor-bytes", str(4 * MB), "--max-origins", "20"],
            ),
            lambda outcome, setup: _capped_note(outcome, "origins were not"),
            deadline=10,
        ),
        Hostile(
            "10mb-token-descriptor",
            "descriptor with a 10 MB token-shaped sharedSecret (cap raised to 16 MiB)",
            "checks are linear: judged in time",
            lambda stack: _with_args(
                victim(stack, static(response(401)), descriptor=_token_descriptor),
                ["--max-descriptor-bytes", str(16 * MB)],
            ),
            lambda outcome, setup: good_still_judged(outcome),
            deadline=10,
        ),
    ]


def _descriptor_app(stack: contextlib.ExitStack, handler: Handler) -> Setup:
    dns = _dns(stack)
    server = _server(stack, {"/atlassian-connect.json": handler})
    return Setup(
        server.url("/atlassian-connect.json"),
        ["--plain-http-port", str(server.port), "--nameserver", dns.nameserver],
        {"app": server},
        dns,
    )


def _deep_module(base: str) -> dict[str, Any]:
    document = victim_descriptor(base)
    deep: dict[str, Any] = {"url": "/good"}
    for _ in range(900):
        deep = {"target": deep}
    document["modules"]["webItems"] = [{"key": "deep", **deep}]
    return document


def _many_modules(count: int) -> dict[str, Any]:
    pages = [{"key": "good", "url": "/good"}]
    pages += [{"key": f"m{i}", "url": f"/bad/{i}?issue={{issue.key}}"} for i in range(count)]
    return {"generalPages": pages}


def _many_origins(base: str) -> dict[str, Any]:
    document = victim_descriptor(base)
    document["links"] = [f"https://h{i}.{DNS_SUFFIX}/icon.png" for i in range(20_000)]
    return document


def _token_descriptor(base: str) -> dict[str, Any]:
    document = victim_descriptor(base)
    document["sharedSecret"] = token_shaped(10 * MB)
    return document


def _capped_note(outcome: Outcome, phrase: str) -> None:
    good_still_judged(outcome)
    assert any(phrase in note for note in outcome.notes), outcome.notes


# --- redirects -------------------------------------------------------------------------------


def redirect(location: str, status: int = 302) -> Handler:
    return static(response_head(status, [("Location", location), ("Content-Length", "0")]))


def _redirects() -> list[Hostile]:
    return [
        Hostile(
            "redirect-loop",
            "descriptor /a -> /b -> /a",
            "loop detection",
            lambda stack: _redirecting(stack, {"/a": "/b", "/b": "/a"}),
            refused("redirect loop"),
        ),
        Hostile(
            "redirect-chain",
            "descriptor redirects to a new URL forever",
            "redirect cap (--max-redirects)",
            _endless_redirects,
            refused("too many redirects"),
        ),
        Hostile(
            "redirect-to-file",
            "descriptor redirects to file:///etc/passwd",
            "only http(s) redirects are followed",
            lambda stack: _redirecting(stack, {"/a": "file:///etc/passwd"}),
            refused("a file: URL"),
        ),
        Hostile(
            "redirect-to-gopher",
            "descriptor redirects to gopher:// on a canary origin",
            "only http(s) redirects are followed",
            _gopher,
            also(refused("a gopher: URL"), never_contacted("canary")),
        ),
    ]


def _redirecting(stack: contextlib.ExitStack, hops: dict[str, str]) -> Setup:
    dns = _dns(stack)
    server = _server(stack, {path: redirect(location) for path, location in hops.items()})
    return Setup(
        server.url("/a"),
        ["--plain-http-port", str(server.port), "--nameserver", dns.nameserver],
        {"app": server},
        dns,
    )


def _endless_redirects(stack: contextlib.ExitStack) -> Setup:
    setup = _redirecting(stack, {})
    server = setup.servers["app"]

    async def next_hop(request: Request, conn: Conn) -> None:
        number = int(request.target.rsplit("=", 1)[-1]) if "=" in request.target else 0
        await redirect(f"/a?n={number + 1}")(request, conn)

    server.routes["/a"] = next_hop
    return setup


def _gopher(stack: contextlib.ExitStack) -> Setup:
    canary = _server(stack)
    setup = _redirecting(stack, {"/a": f"gopher://127.0.0.1:{canary.port}/_GET%20/"})
    setup.servers["canary"] = canary
    return setup


# --- the address guard -----------------------------------------------------------------------

FORBIDDEN_BASES = {
    "metadata": "http://169.254.169.254",
    "private": "http://10.0.0.1",
    "loopback": "http://127.0.0.2:{port}",
    "link-local-v6": "http://[fe80::1]",
    "mapped-metadata": "http://[::ffff:169.254.169.254]",
    "unicode-digits": "http://①②⑦.0.0.2:{port}",
    "private-by-dns": "http://internal.hostile.test:{port}",
}


def _guarded_base(stack: contextlib.ExitStack, base_template: str) -> Setup:
    """Descriptor and /good on the exempt test address; baseUrl at a forbidden address."""
    dns = _dns(stack, {f"internal.{DNS_SUFFIX}": ("10.1.2.3",)})
    app = _server(stack, {"/good": good_page()})
    base = base_template.format(port=app.port)

    def build() -> dict[str, Any]:
        modules = {
            "generalPages": [
                {"key": "good", "url": app.url("/good")},
                {"key": "bad", "url": "/bad"},
            ],
            "webhooks": [{"event": "jira:issue_created", "url": "/hook"}],
        }
        document = victim_descriptor(base, modules)
        document["lifecycle"] = {"installed": "/installed"}
        document["links"] = [
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/",
            "https://100.100.100.200/",
        ]
        return document

    app.routes["/atlassian-connect.json"] = descriptor_route(build)
    return Setup(
        app.url("/atlassian-connect.json"),
        [
            "--block-private",
            "--plain-http-port",
            str(app.port),
            "--nameserver",
            dns.nameserver,
        ],
        {"app": app},
        dns,
        exempt=TEST_NETWORK,
    )


def guard_refused(outcome: Outcome, setup: Setup) -> None:
    """Every probe of the forbidden baseUrl was refused by the guard, never sent."""
    good_still_judged(outcome)
    assert outcome.verdict("5") == "inconclusive", outcome.reason("5")
    reason = outcome.reason("5")
    assert "blocked by the address guard" in reason, reason
    assert "/bad" not in setup.servers["app"].stats.paths()


def _guarded() -> list[Hostile]:
    fixtures = [
        Hostile(
            f"guard-{name}-baseurl",
            f"baseUrl at {template.format(port='P')} with the guard on",
            "address guard (--block-private)",
            lambda stack, template=template: _guarded_base(stack, template),  # type: ignore[misc]
            guard_refused,
        )
        for name, template in FORBIDDEN_BASES.items()
    ]
    fixtures += [
        Hostile(
            "guard-redirect-to-private",
            "descriptor redirects to 127.0.0.2 with the guard on",
            "address guard on every hop",
            _guarded_redirect,
            refused("blocked by the address guard"),
        ),
        Hostile(
            "dns-rebinding",
            "app name answers the test address first, 127.0.0.2 after",
            "guard checks every answer; the address connected to is the one checked",
            _rebinding,
            _rebinding_check,
        ),
    ]
    return fixtures


def _guarded_redirect(stack: contextlib.ExitStack) -> Setup:
    dns = _dns(stack)
    app = _server(stack)
    app.routes["/a"] = redirect(f"http://127.0.0.2:{app.port}/atlassian-connect.json")
    return Setup(
        app.url("/a"),
        ["--block-private", "--nameserver", dns.nameserver, "--plain-http-port", str(app.port)],
        {"app": app},
        dns,
        exempt=TEST_NETWORK,
    )


REBIND_NAME = f"rebind.{DNS_SUFFIX}"


def _rebinding(stack: contextlib.ExitStack) -> Setup:
    """The descriptor's name answers 127.0.0.1 (allowed) once, then 127.0.0.2 (forbidden).

    The baseUrl is the same name on a second server: a new (host, port) makes the HTTP client
    resolve again, so /bad is asked for after the name has rebound.
    """
    dns = _dns(stack, {REBIND_NAME: ("127.0.0.1", "127.0.0.2")})
    app = _server(stack, {"/good": good_page()})
    second = _server(stack, {"/bad": static(response(200, b"<html>secret</html>"))})
    origin = f"http://{REBIND_NAME}:{app.port}"
    base = f"http://{REBIND_NAME}:{second.port}"

    def build() -> dict[str, Any]:
        modules = {
            "generalPages": [
                {"key": "good", "url": origin + "/good"},
                {"key": "bad", "url": "/bad"},
            ]
        }
        return victim_descriptor(base, modules)

    app.routes["/atlassian-connect.json"] = descriptor_route(build)
    return Setup(
        origin + "/atlassian-connect.json",
        [
            "--block-private",
            "--nameserver",
            dns.nameserver,
            "--plain-http-port",
            str(app.port),
        ],
        {"app": app, "second": second},
        dns,
        exempt=TEST_NETWORK,
    )


def _rebinding_check(outcome: Outcome, setup: Setup) -> None:
    guard_refused_elsewhere = outcome.reason("5")
    good_still_judged(outcome)
    assert outcome.verdict("5") == "inconclusive", guard_refused_elsewhere
    assert "blocked by the address guard" in guard_refused_elsewhere
    assert "127.0.0.2" in guard_refused_elsewhere
    assert setup.servers["second"].stats.connections == 0
    # Every connection the app's server took was to the address the guard had checked.
    assert setup.servers["app"].stats.local_addresses == {"127.0.0.1"}
    assert setup.dns is not None and setup.dns.asked(REBIND_NAME) >= 2


def by_name() -> dict[str, Hostile]:
    return {fixture.name: fixture for fixture in catalogue()}
