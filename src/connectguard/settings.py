"""Scan options and limits: every number that bounds a scan lives here, with its default."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """Bounds on what one scan may cost. All are configurable from the command line."""

    connect_timeout: float = 5.0
    request_timeout: float = 10.0
    scan_deadline: float = 300.0
    max_body_bytes: int = 2 * 1024 * 1024
    max_descriptor_bytes: int = 1024 * 1024
    max_redirects: int = 5
    max_endpoints: int = 500
    concurrency: int = 32
    per_origin_concurrency: int = 8


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
    limits: Limits = field(default_factory=Limits)
