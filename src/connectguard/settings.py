"""Scan options and limits: every number that bounds a scan lives here, with its default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class Limits:
    """Bounds on what one scan may cost, whatever the app serves. All are configurable from the
    command line; README.md ("Options of scan") and docs/hostile.md list them with what each
    stops."""

    connect_timeout: float = 5.0  # TCP connect and TLS handshake of one connection
    read_timeout: float = 5.0  # the longest silence while an answer is read
    request_timeout: float = 10.0  # one request from connect to the last body byte read
    scan_deadline: float = 300.0  # the whole scan: nothing is sent, nor waited for, past it
    max_body_bytes: int = 2 * 1024 * 1024  # of one response body, after decompression
    max_scan_body_bytes: int = 64 * 1024 * 1024  # bodies kept per scan; then 16 KiB each
    max_descriptor_bytes: int = 1024 * 1024  # of the descriptor, after decompression
    max_header_bytes: int = 16 * 1024  # of the status line and of any one response header
    max_headers: int = 200  # header lines of one response
    max_redirects: int = 5
    max_endpoints: int = 500  # endpoints probed per scan; a larger plan is cut with a note
    max_origins: int = 100  # origins and hosts given TLS and DNS probes per scan
    concurrency: int = 64
    per_origin_concurrency: int = 32  # connections to one origin at once
    tls_deadline: float = 60.0  # the TLS scan of one origin (sslyze and the verifying handshake)
    dns_deadline: float = 15.0  # the DNS lookups of one host, its delegation and takeover check
    plain_http_timeout: float = 3.0  # the GET of http://host/ of an app host; closed is fine


@dataclass(frozen=True)
class Credentials:
    """A test installation's clientKey and sharedSecret. Never printed whole."""

    client_key: str
    shared_secret: str = field(repr=False)

    def __repr__(self) -> str:
        hidden = f"<{len(self.shared_secret)} chars>"
        return f"Credentials(client_key={self.client_key!r}, shared_secret={hidden})"


@dataclass(frozen=True)
class ScanOptions:
    """Everything one live scan needs to know. `target` is the descriptor URL."""

    target: str
    ca_file: str | None = None
    nameserver: tuple[str, int] | None = None
    proxy: str | None = None
    credentials: Credentials | None = None
    user_account: str | None = None
    admin_account: str | None = None
    allow_private: bool = False
    api_routes: tuple[str, ...] = ()
    user_jwt: str | None = field(default=None, repr=False)
    probe_install: bool = False
    limits: Limits = field(default_factory=Limits)
    plain_http_port: int = 80  # where app hosts are asked for plain HTTP (tests use a free port)
    dns_port: int = 53  # where delegated name servers are asked whether they hold a zone
    rdap_url: str | None = None  # RDAP service for domain registration expiry; None: off
    takeover_table: str | None = None  # a user's takeover fingerprint file, added to the built-in


def default_data_dir() -> Path:
    """The data folder: `CONNECTGUARD_DATA_DIR`, or the user's data folder for connectguard
    (platformdirs). The OSV copy, the signature file and the default findings store live here."""
    configured = os.environ.get("CONNECTGUARD_DATA_DIR")
    if configured:
        return Path(configured)
    return Path(platformdirs.user_data_dir("connectguard", appauthor=False))
