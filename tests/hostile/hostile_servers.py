"""Loopback servers that misbehave on purpose, byte by byte, for the hostile-target suite.

`RawServer` is `asyncio.start_server` on 127.0.0.1 in a background thread: it reads one request
(bounded in size and time), hands it to the route's handler, which writes whatever bytes it
likes, then closes the connection. Every handler loop is bounded in count and in time, and the
server cancels whatever is still running when its `with` block ends. `RebindingDns` is a dnslib
server on loopback whose answer for a name changes after the first lookups.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

LOOPBACK = "127.0.0.1"
MAX_REQUEST_HEAD = 64 * 1024  # bytes of request line and headers the server reads
MAX_REQUEST_BODY = 1024 * 1024
MAX_CONNECTION_SECONDS = 60.0  # no connection is served longer than this, whatever its handler
REQUEST_READ_SECONDS = 10.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Stats:
    """What the server saw: a test asserts on it (never connected, stopped early...)."""

    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    bytes_sent: int = 0
    local_addresses: set[str] = field(default_factory=set)
    header_names: set[str] = field(default_factory=set)  # of every request, lower-cased
    open_now: int = 0
    most_open: int = 0  # the most connections open at once

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]


@dataclass
class Conn:
    """One accepted connection: what a handler writes to, counted in the server's stats."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    stats: Stats

    closed: bool = False

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()
        self.stats.bytes_sent += len(data)

    def close(self) -> None:
        """Abort the connection and count it closed, once; in the same step as the last write,
        so that the client cannot open the next connection before this one is counted out."""
        if not self.closed:
            self.closed = True
            self.stats.open_now -= 1
            self.writer.transport.abort()


Handler = Callable[[Request, Conn], Awaitable[None]]
Connected = Callable[[Conn], Awaitable[None]]


def response_head(
    status: int = 200, headers: list[tuple[str, str]] | None = None, reason: str = "OK"
) -> bytes:
    """A status line and header block, with `Connection: close`."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(f"{name}: {value}" for name, value in headers or [])
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(
    status: int = 200,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> bytes:
    all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return response_head(status, all_headers + list(headers or [])) + body


def static(raw: bytes) -> Handler:
    """A handler that writes `raw` (a whole response) and closes."""

    async def handle(request: Request, conn: Conn) -> None:
        await conn.send(raw)

    return handle


class RawServer:
    """One loopback origin whose every byte the test controls.

    `routes` maps a path (without the query) to a handler; other paths get a 404. With
    `on_connect`, the handler sees the raw connection before any request is read (a server
    that never answers, or a TLS handshake that stalls). `tls` wraps the socket in TLS.
    """

    def __init__(
        self,
        routes: dict[str, Handler] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        on_connect: Connected | None = None,
    ) -> None:
        self.routes = dict(routes or {})
        self.tls = tls
        self.on_connect = on_connect
        self.stats = Stats()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def origin(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def __enter__(self) -> RawServer:
        self._thread.start()
        self._server = self._call(
            asyncio.start_server(self._connected, LOOPBACK, 0, ssl=self.tls, limit=MAX_REQUEST_HEAD)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            self._call(self._stop(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        with contextlib.suppress(Exception):
            self._loop.close()

    def _call(self, coroutine: Awaitable[Any], timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)  # type: ignore[arg-type]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self.stats.connections += 1
        self.stats.open_now += 1
        self.stats.most_open = max(self.stats.most_open, self.stats.open_now)
        self.stats.local_addresses.add(writer.get_extra_info("sockname")[0])
        conn = Conn(reader, writer, self.stats)
        try:
            await asyncio.wait_for(self._serve(conn), MAX_CONNECTION_SECONDS)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            conn.close()
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _serve(self, conn: Conn) -> None:
        try:
            if self.on_connect is not None:
                await self.on_connect(conn)
                return
            request = await asyncio.wait_for(read_request(conn.reader), REQUEST_READ_SECONDS)
            if request is None:
                return
            self.stats.requests.append((request.method, request.path))
            self.stats.header_names.update(name.lower() for name, _ in request.headers)
            handler = self.routes.get(request.path, not_found)
            await handler(request, conn)
            await conn.writer.drain()
        finally:
            conn.close()


async def not_found(request: Request, conn: Conn) -> None:
    await conn.send(response(404, b"not found", content_type="text/plain"))


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One HTTP/1.1 request, or None when the client sent nothing readable."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    method, target, _ = parts
    headers = tuple(
        (name.strip(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    )
    request = Request(method, target.split("?", 1)[0], target, headers, b"")
    length = request.header("Content-Length")
    if length and length.isdigit():
        body = await reader.readexactly(min(int(length), MAX_REQUEST_BODY))
        request = Request(method, request.path, target, headers, body)
    return request


@contextlib.contextmanager
def serving(*servers: RawServer) -> Iterator[tuple[RawServer, ...]]:
    with contextlib.ExitStack() as stack:
        yield tuple(stack.enter_context(server) for server in servers)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# --- DNS on loopback, whose answers may change ------------------------------------------


class _Answers(BaseResolver):  # type: ignore[misc]
    """The n-th A question about a name gets the n-th answer of its list (the last one after).

    An answer is one address or several separated by commas; unknown names are NXDOMAIN, and
    every other question type gets an empty answer.
    """

    def __init__(self, answers: dict[str, tuple[str, ...]]) -> None:
        self.answers = answers
        self.asked: dict[str, int] = {}
        self.lock = threading.Lock()

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.answers:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if QTYPE[request.q.qtype] != "A":
            return reply
        with self.lock:
            count = self.asked.get(name, 0)
            self.asked[name] = count + 1
        sequence = self.answers[name]
        for address in sequence[min(count, len(sequence) - 1)].split(","):
            reply.add_answer(RR(name, QTYPE.A, rdata=A(address), ttl=0))
        return reply


class LoopbackDns:
    """A DNS server on 127.0.0.1 (UDP). `answers` maps a name to the answers of its successive
    A lookups: `("127.0.0.1", "127.0.0.2")` rebinds the name after its first lookup."""

    def __init__(self, answers: dict[str, tuple[str, ...]] | None = None) -> None:
        self.resolver = _Answers(dict(answers or {}))
        self._server = DNSServer(
            self.resolver, address=LOOPBACK, port=0, logger=DNSLogger(logf=lambda _: None)
        )
        self._thread = threading.Thread(
            target=self._server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server.server_address[1])

    @property
    def nameserver(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def asked(self, name: str) -> int:
        with self.resolver.lock:
            return self.resolver.asked.get(name, 0)

    def __enter__(self) -> LoopbackDns:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()
        self._server.server.server_close()
        self._thread.join(5)


class BlackHoleDns:
    """A UDP socket on 127.0.0.1 that takes DNS questions and never answers one."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((LOOPBACK, 0))

    @property
    def nameserver(self) -> str:
        return f"{LOOPBACK}:{self._socket.getsockname()[1]}"

    def __enter__(self) -> BlackHoleDns:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._socket.close()
