"""The TLS side of the network seam: certificate checks by a real, verifying handshake.

`check_certificate` connects to the address the project's resolver found (so `--nameserver`
holds), sends the host name as SNI, and verifies the chain against the system store plus the
user's CA file. A second, non-verifying handshake reads the certificate for the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl

from cryptography import x509
from cryptography.x509.oid import NameOID

from connectguard.net.resolver import GuardedResolver
from connectguard.probes.evidence import CertificateEvidence


def verifying_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def _reading_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def check_certificate(
    host: str,
    port: int,
    resolver: GuardedResolver,
    ca_file: str | None,
    timeout: float,
    now: dt.datetime,
) -> CertificateEvidence:
    """Verify `host:port`'s certificate; a failed probe is recorded, never raised."""
    try:
        address = (await resolver.resolve(host, port, socket.AF_UNSPEC))[0]["host"]
        der = await _handshake(address, port, host, _reading_context(), timeout)
        verified, error = True, None
        try:
            await _handshake(address, port, host, verifying_context(ca_file), timeout)
        except ssl.SSLCertVerificationError as exc:
            verified, error = False, exc.verify_message or str(exc)
        except ssl.SSLError as exc:
            verified, error = False, exc.reason or str(exc)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        reason = str(exc) or exc.__class__.__name__
        return CertificateEvidence(host, port, verified=False, probe_error=reason)
    if der is None:
        return CertificateEvidence(host, port, False, probe_error="the server sent no certificate")
    return _describe(host, port, der, verified, error, now)


async def _handshake(
    address: str, port: int, host: str, context: ssl.SSLContext, timeout: float
) -> bytes | None:
    server_hostname = host.strip("[]")
    _, writer = await asyncio.wait_for(
        asyncio.open_connection(address, port, ssl=context, server_hostname=server_hostname),
        timeout,
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return ssl_object.getpeercert(binary_form=True) if ssl_object else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 2)


def _describe(
    host: str, port: int, der: bytes, verified: bool, error: str | None, now: dt.datetime
) -> CertificateEvidence:
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(str(name.value) for name in san)
    except x509.ExtensionNotFound:
        sans = ()
    not_after = cert.not_valid_after_utc
    return CertificateEvidence(
        host=host,
        port=port,
        verified=verified,
        error=error,
        subject=_common_name(cert.subject) or cert.subject.rfc4514_string(),
        issuer=_common_name(cert.issuer) or cert.issuer.rfc4514_string(),
        not_after=not_after.isoformat(),
        days_left=(not_after - now).days,
        sans=sans,
    )


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""
