"""TLS client contexts shared by the network seam.

A scanner must be able to talk to the app it judges: an origin that speaks only TLS 1.0 or
offers only weak suites still gets its pages, cookies and headers read, and requirement 1 says
what is wrong with its protocols. So every client context accepts every version and suite.
"""

from __future__ import annotations

import ssl

LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
"""Without `@SECLEVEL=0` OpenSSL refuses TLS 1.0/1.1 and weak keys before a byte is sent."""


def accept_legacy(context: ssl.SSLContext) -> ssl.SSLContext:
    """Let `context` negotiate every protocol version and cipher suite the server offers."""
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers(LEGACY_CIPHERS)
    return context


def unverified_context() -> ssl.SSLContext:
    """A context for probes: no certificate or name check, every version accepted."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return accept_legacy(context)
