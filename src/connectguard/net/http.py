"""The HTTP side of the network seam: every HTTP request a scan sends goes through `HttpClient`.

It bounds time (per request and for the whole scan), body size, redirects and concurrency,
resolves names through the configured resolver, refuses private addresses when the address
guard is on, and returns every answer or failure as an `Exchange` record. It never raises for
a network failure: the failure is the evidence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from connectguard.model import Exchange, Headers, origin_of
from connectguard.net.contexts import unverified_context
from connectguard.net.resolver import AddressGuardError, GuardedResolver, check_address
from connectguard.settings import Limits

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER = 30.0
USER_AGENT = "connectguard (+security scan of an Atlassian Connect app)"
NOT_SENT = "not sent: the scan deadline was reached"
CLEANUP_GRACE = 2.0
SPENT_BUDGET_PREFIX = 16 * 1024
"""Bytes read of each body once the scan's body budget (`Limits.max_scan_body_bytes`) is spent."""


@dataclass(frozen=True)
class Sent:
    """What to send: the token is shortened in the record, never stored whole."""

    method: str
    url: str
    headers: Mapping[str, str] | None = None
    body: bytes | None = None
    token: str = "none"
    purpose: str = ""
    max_bytes: int | None = None
    cleanup: bool = False
    """Undoes what the scan did to the app (a throw-away tenant's uninstall): it may run up to
    CLEANUP_GRACE seconds past the scan deadline rather than leave the tenant installed."""


def shorten_secret(value: str, keep: int = 10) -> str:
    """A recognisable prefix of a token or secret, safe for a log or a report."""
    if len(value) <= keep:
        return "…" if value else ""
    return f"{value[:keep]}…({len(value)} chars)"


def redact_url(url: str) -> str:
    """The URL with a password in it masked and the value of a `jwt` query parameter
    shortened: the form of a URL that logs, errors and reports show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}:***@{hostport}")
    if "jwt=" in parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, shorten_secret(v) if k == "jwt" else v) for k, v in pairs])
        parts = parts._replace(query=query)
    return urlunsplit(parts)


def _redact_headers(headers: Mapping[str, str]) -> Headers:
    redacted = []
    for name, value in headers.items():
        if name.lower() in {"authorization", "cookie"}:
            scheme, _, credential = value.partition(" ")
            value = (
                f"{scheme} {shorten_secret(credential)}" if credential else shorten_secret(value)
            )
        redacted.append((name, value))
    return tuple(redacted)


class HttpClient:
    """One aiohttp session with the scan's limits. Use as an async context manager."""

    def __init__(
        self,
        limits: Limits,
        *,
        ca_file: str | None = None,
        nameserver: tuple[str, int] | None = None,
        proxy: str | None = None,
        allow_private: bool = False,
        deadline: float | None = None,
    ) -> None:
        self.limits = limits
        self.ca_file = ca_file
        self.proxy = proxy
        self.allow_private = allow_private
        self.deadline = (
            deadline if deadline is not None else time.monotonic() + limits.scan_deadline
        )
        self.resolver = GuardedResolver(nameserver=nameserver, allow_private=allow_private)
        self.sent = 0
        # Every body kept in the evidence counts against one budget per scan, so that an app
        # whose every answer is as large as allowed (a bomb costs it a few bytes) cannot make
        # the scan hold thousands of full bodies. The descriptor, read first, always fits.
        self.body_budget = max(limits.max_scan_body_bytes, limits.max_descriptor_bytes)
        self.cut_by_budget = 0
        self._session: aiohttp.ClientSession | None = None
        self._global = asyncio.Semaphore(limits.concurrency)

    async def __aenter__(self) -> HttpClient:
        # Probes never verify certificates: requirement 3 judges certificates on its own,
        # and every other requirement must still be judged on a host with a bad certificate.
        # Nor do they refuse old protocol versions: requirement 1 judges those.
        connector = aiohttp.TCPConnector(
            resolver=self.resolver,
            ssl=unverified_context(),
            limit=self.limits.concurrency,
            limit_per_host=self.limits.per_origin_concurrency,
            use_dns_cache=True,
        )
        limits = self.limits
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
            # Decompression is bounded too: aiohttp inflates a gzip, deflate or brotli body only
            # as fast as `_read_capped` reads it, so a bomb stops at the body cap.
            auto_decompress=True,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(
                total=limits.request_timeout,
                connect=limits.connect_timeout,
                sock_connect=limits.connect_timeout,
                sock_read=limits.read_timeout,
            ),
            max_line_size=limits.max_header_bytes,
            max_field_size=limits.max_header_bytes,
            max_headers=limits.max_headers,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def send(self, request: Sent) -> Exchange:
        """Send one request; when the app rate-limits (429), back off and retry within the deadline.

        The last answer is returned, so a request still rate-limited after the retries comes back
        as a 429 for the checks to treat as undecided.
        """
        exchange = await self.send_once(request)
        for attempt in range(RATE_LIMIT_RETRIES):
            if exchange.status != 429:
                break
            wait = _retry_after(exchange, default=0.5 * 2**attempt)
            if wait >= self.remaining() - self.limits.request_timeout:
                break
            log.info("%s rate-limited the scan; retrying in %.1f s", exchange.origin, wait)
            await asyncio.sleep(wait)
            exchange = await self.send_once(request)
        return exchange

    async def send_once(self, request: Sent) -> Exchange:
        """Send one request without following redirects; a failure becomes the record's error."""
        started = time.monotonic()
        record = _RecordBuilder(request)
        timeout = self.limits.request_timeout
        grace = min(CLEANUP_GRACE, timeout) if request.cleanup else 0.0
        if self.remaining() + grace <= 0:
            return record.failed(NOT_SENT, 0.0)
        try:
            self._guard_literal(request.url)
            async with self._global:
                # The deadline is read again once a slot is free: a request may wait its turn
                # behind thousands, and none may start, nor run, past the deadline.
                started = time.monotonic()
                timeout = min(self.limits.request_timeout, self.remaining() + grace)
                if timeout <= 0:
                    return record.failed(NOT_SENT, 0.0)
                return await asyncio.wait_for(self._exchange(request, record, started), timeout)
        except aiohttp.ConnectionTimeoutError:
            error = f"could not connect within {self.limits.connect_timeout:g} s"
            return record.failed(error, _ms_since(started))
        except aiohttp.SocketTimeoutError:
            error = f"the server sent nothing for {self.limits.read_timeout:g} s"
            return record.failed(error, _ms_since(started))
        except TimeoutError:
            return record.failed(f"timed out after {timeout:.1f} s", _ms_since(started))
        except AddressGuardError as exc:
            return record.failed(str(exc), _ms_since(started))
        except aiohttp.ClientConnectorCertificateError as exc:
            return record.failed(
                f"TLS certificate error: {exc.certificate_error}", _ms_since(started)
            )
        except aiohttp.ClientSSLError as exc:
            return record.failed(f"TLS handshake failed: {_reason(exc)}", _ms_since(started))
        except aiohttp.ClientConnectorError as exc:
            return record.failed(f"could not connect: {_reason(exc)}", _ms_since(started))
        except aiohttp.ClientResponseError as exc:
            error = f"invalid HTTP response: {_one_line(exc.message)}"
            return record.failed(error, _ms_since(started))
        except aiohttp.ServerDisconnectedError:
            error = "the server closed the connection before it had answered in full"
            return record.failed(error, _ms_since(started))
        except aiohttp.ClientPayloadError as exc:
            error = f"the body could not be read in full: {_reason(exc)}"
            return record.failed(error, _ms_since(started))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return record.failed(f"request failed: {_reason(exc)}", _ms_since(started))

    async def follow(self, request: Sent, stay_on_origin: bool = False) -> list[Exchange]:
        """Send `request` and follow redirects with GET, returning every hop in order.

        With `stay_on_origin`, a redirect to another origin ends the chain unfollowed.
        """
        chain = [await self.send(request)]
        seen = {request.url}
        while len(chain) <= self.limits.max_redirects:
            location = redirect_target(chain[-1])
            if location is None:
                break
            if stay_on_origin and origin_of(location) != origin_of(request.url):
                break
            scheme = urlsplit(location).scheme
            if location in seen or scheme not in {"http", "https"}:
                why = "a redirect loop" if location in seen else f"a {scheme}: URL"
                error = f"redirect not followed: {why}"
                chain.append(Exchange("GET", location, error=error, purpose=request.purpose))
                break
            seen.add(location)
            chain.append(await self.send(replace(request, method="GET", url=location, body=None)))
        return chain

    def _guard_literal(self, url: str) -> None:
        """Refuse an IP-literal host the guard forbids (names are checked once resolved).

        The host is read as aiohttp reads it: `①②⑦.0.0.1` is 127.0.0.1 once IDNA-normalised,
        and aiohttp connects to a literal address without asking the resolver.
        """
        if not self.allow_private:
            host = URL(url).raw_host or ""
            check_address(host, host)

    async def _exchange(self, request: Sent, record: _RecordBuilder, started: float) -> Exchange:
        assert self._session is not None, "HttpClient used outside `async with`"
        self.sent += 1
        kwargs: dict[str, Any] = {
            "allow_redirects": False,
            "headers": dict(request.headers or {}),
            "proxy": self.proxy,
        }
        if request.body is not None:
            kwargs["data"] = request.body
        async with self._session.request(request.method, request.url, **kwargs) as response:
            body, truncated = await self._read_body(
                response, request.max_bytes or self.limits.max_body_bytes
            )
            headers = tuple(
                (k.decode("latin-1"), v.decode("utf-8", "replace")) for k, v in response.raw_headers
            )
        exchange = record.answered(response.status, headers, body, truncated, _ms_since(started))
        log.debug("%s %s -> %s", request.method, redact_url(request.url), response.status)
        return exchange

    async def _read_body(self, response: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
        """The body up to `cap` while the scan's body budget lasts, then a short prefix."""
        if cap > self.body_budget:
            body, truncated = await _read_capped(response, min(cap, SPENT_BUDGET_PREFIX))
            if truncated and cap > SPENT_BUDGET_PREFIX:
                self.cut_by_budget += 1
            return body, truncated
        self.body_budget -= cap  # reserved now, so that concurrent reads cannot overshoot
        body = b""
        try:
            body, truncated = await _read_capped(response, cap)
        finally:
            self.body_budget += cap - len(body)
        return body, truncated


def _retry_after(exchange: Exchange, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds form), capped; else `default`."""
    values = exchange.header("Retry-After")
    if values and values[0].strip().isascii() and values[0].strip().isdigit():
        return min(float(values[0].strip()), MAX_RETRY_AFTER)
    return default


def redirect_target(exchange: Exchange) -> str | None:
    """The absolute URL a 3xx answer points at, if it is a redirect with a Location."""
    if exchange.status is None or not 300 <= exchange.status < 400:
        return None
    locations = exchange.header("Location")
    if not locations or not locations[0].strip():
        return None
    return urljoin(exchange.url, locations[0].strip())


class _RecordBuilder:
    def __init__(self, request: Sent) -> None:
        self.request = request

    def _base(self) -> dict[str, Any]:
        return {
            "method": self.request.method,
            "url": redact_url(self.request.url),
            "request_headers": _redact_headers(self.request.headers or {}),
            "token": self.request.token,
            "purpose": self.request.purpose,
        }

    def failed(self, error: str, elapsed_ms: float) -> Exchange:
        log.debug("%s %s failed: %s", self.request.method, redact_url(self.request.url), error)
        return Exchange(**self._base(), error=error, elapsed_ms=elapsed_ms)

    def answered(
        self, status: int, headers: Headers, body: bytes, truncated: bool, elapsed_ms: float
    ) -> Exchange:
        return Exchange(
            **self._base(),
            status=status,
            headers=headers,
            body=body,
            truncated=truncated,
            elapsed_ms=elapsed_ms,
        )


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
    """Read at most `cap` bytes of the (decompressed) body; say whether more was left."""
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = await response.content.read(min(65536, cap - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    more = await response.content.read(1)
    return b"".join(chunks), bool(more)


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, aiohttp.ClientConnectorError) and cause is not None:
        text = str(cause) or text
    return _one_line(text)


def _one_line(text: str, limit: int = 300) -> str:
    """An error message as one line of at most `limit` characters (parsers quote raw bytes)."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"
